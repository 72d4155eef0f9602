// SPDX-License-Identifier: Apache-2.0
/*
 * ipvsd's state file (<state-dir>/ipvsd.state, read at start and by
 * --cleanup) from arbitrary text: bad lines are skipped, and whatever is
 * accepted formats back to text that parses to the same state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ipvsd/state_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipvsd_state a = { 0 }, b = { 0 };
	char *text = strndup((const char *)data, size), *out = NULL;

	log_init("fuzz", LOG_LVL_ERROR);
	if (!text)
		return 0;
	if (ipvsd_state_parse(text, &a) == 0 && ipvsd_state_format(&a, &out) == 0) {
		/* a round trip changes nothing */
		if (ipvsd_state_parse(out, &b) != 0 || a.vips.n != b.vips.n ||
		    strcmp(a.made_if, b.made_if) != 0 ||
		    (a.vips.n && memcmp(a.vips.k, b.vips.k, a.vips.n * sizeof(*a.vips.k)) != 0))
			abort();
	}
	free(out);
	free(text);
	ipvsd_state_clear(&a);
	ipvsd_state_clear(&b);
	return 0;
}
