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

int retry_fail(struct retry *t, unsigned *ms)
{
	if (t->in_pass) {
		t->pass_failed = 1;
		return 0;
	}
	if (t->failures < ~0u)
		t->failures++;
	*ms = backoff_ms(t->failures);
	return 1;
}

void retry_pass_begin(struct retry *t)
{
	t->in_pass = 1;
	t->pass_failed = 0;
}

int retry_pass_end(struct retry *t, unsigned *ms)
{
	int failed = t->pass_failed;

	t->in_pass = 0;
	t->pass_failed = 0;
	if (!failed) {
		t->failures = 0;
		return 0;
	}
	return retry_fail(t, ms);
}
