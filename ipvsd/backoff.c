// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/backoff.h"

unsigned backoff_ms(unsigned failures)
{
	unsigned ms = BACKOFF_FIRST_MS;

	/* doubling stops at the cap, so no shift ever overflows */
	for (unsigned i = 1; i < failures && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}
