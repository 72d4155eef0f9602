// SPDX-License-Identifier: Apache-2.0
/*
 * A VIP label value ("VIP_0" = "/name:80", "10.0.0.1:80", "[fd00::1]:53")
 * and its framework name, from arbitrary bytes: the label parser, the name
 * cleaning of named VIPs and their address allocation. What the parser
 * accepts must be self-consistent (a port, a family or a name that fits).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/named_vip.h"
#include "vipd/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* label NUL framework: a copy, so the parser may not read past it */
	const uint8_t *nul = memchr(data, '\0', size);
	size_t llen = nul ? (size_t)(nul - data) : size;
	char *label = strndup((const char *)data, llen);
	char *fw = nul ? strndup((const char *)nul + 1, size - llen - 1) : strdup("marathon");
	char name[512];
	const char *why = NULL;
	struct vip_label l;
	int n;

	if (!label || !fw)
		goto done;
	if (vip_label_parse(label, &l, &why) < 0) {
		if (!why)
			abort(); /* a refusal always says why */
		goto done;
	}
	if (!l.port || (l.family != 0 && l.family != 4 && l.family != 6) ||
	    (!l.family && (!l.host[0] || strlen(l.host) >= sizeof(l.host))))
		abort();
	if (l.family)
		goto done;
	n = named_vip_name(l.host, fw, name, sizeof(name));
	if (n >= 0) {
		const char *names[1] = { name };
		uint32_t a4;
		uint8_t a6[1][16];

		if ((size_t)n != strlen(name))
			abort();
		if (named_vip_alloc(names, 1, NAMED_VIP4_MIN, NAMED_VIP4_MAX, &a4, a6) == 0 &&
		    (a4 < NAMED_VIP4_MIN || a4 > NAMED_VIP4_MAX))
			abort();
	}
done:
	free(label);
	free(fw);
	return 0;
}
