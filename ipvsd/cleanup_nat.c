// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/cleanup_nat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const chains[] = { "L4LB-VIPS", "L4LB-MASQ" };
/* the jumps ipvsd makes, as iptables-save prints them */
static const char *const jumps[] = { "-A OUTPUT -j L4LB-VIPS", "-A PREROUTING -j L4LB-VIPS",
				     "-A POSTROUTING -j L4LB-MASQ" };
#define NCHAINS (sizeof(chains) / sizeof(chains[0]))
#define NJUMPS (sizeof(jumps) / sizeof(jumps[0]))

/* Whether line (len bytes, no newline) declares chain: ":NAME POLICY [p:b]". */
static int declares(const char *line, size_t len, const char *chain)
{
	size_t n = strlen(chain);

	return len > n + 1 && line[0] == ':' && !strncmp(line + 1, chain, n) &&
	       line[n + 1] == ' ';
}

/* Appends s to out at *used; -E2BIG when it does not fit. */
static int put(char *out, size_t size, size_t *used, const char *s)
{
	size_t n = strlen(s);

	if (*used + n + 1 > size)
		return -E2BIG;
	memcpy(out + *used, s, n + 1);
	*used += n;
	return 0;
}

int cleanup_nat_script(const char *save, char *out, size_t size, struct cleanup_nat *found)
{
	unsigned has[NCHAINS] = { 0 }, copies[NJUMPS] = { 0 };
	size_t used = 0;
	int in_nat = 0, rc = 0;
	char line[64];

	memset(found, 0, sizeof(*found));
	if (size)
		out[0] = 0;
	for (const char *p = save; *p;) {
		size_t len = strcspn(p, "\n");

		/* "*nat" opens the table, COMMIT ends it: lines elsewhere
		 * (another table, a warning) are not the nat table's */
		if (len == 4 && !strncmp(p, "*nat", 4))
			in_nat = 1;
		else if (len == 6 && !strncmp(p, "COMMIT", 6))
			in_nat = 0;
		for (size_t c = 0; in_nat && c < NCHAINS; c++)
			has[c] |= declares(p, len, chains[c]);
		for (size_t j = 0; in_nat && j < NJUMPS; j++)
			if (len == strlen(jumps[j]) && !strncmp(p, jumps[j], len) &&
			    copies[j] < CLEANUP_NAT_COPIES_MAX)
				copies[j]++;
		p += len + (p[len] == '\n');
	}
	for (size_t c = 0; c < NCHAINS; c++)
		found->chains += has[c];
	if (!found->chains)
		return 0;
	rc = put(out, size, &used, "*nat\n");
	/* the jumps, then every chain flushed, then deleted: a chain may only
	 * go once nothing jumps to it */
	for (size_t j = 0; j < NJUMPS && !rc; j++) {
		for (unsigned k = 0; k < copies[j] && !rc; k++) {
			snprintf(line, sizeof(line), "-D%s\n", jumps[j] + 2);
			rc = put(out, size, &used, line);
			found->jumps++;
		}
	}
	for (int x = 0; x < 2; x++) {
		for (size_t c = 0; c < NCHAINS && !rc; c++) {
			if (!has[c])
				continue;
			snprintf(line, sizeof(line), "%s %s\n", x ? "-X" : "-F", chains[c]);
			rc = put(out, size, &used, line);
		}
	}
	if (!rc)
		rc = put(out, size, &used, "COMMIT\n");
	if (rc && size)
		out[0] = 0;
	return rc;
}
