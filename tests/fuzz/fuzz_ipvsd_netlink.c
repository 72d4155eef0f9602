// SPDX-License-Identifier: Apache-2.0
/*
 * ipvsd's parsers of IPVS dump replies on arbitrary bytes, walked as a
 * stream of netlink messages the way libnl's receive loop does: every
 * message goes to the service parser and then to the destination parser
 * (under a service of each family), and the resulting table is sorted and
 * diffed as the reconciler would.
 */
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netlink/msg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipvsd/ipvs_nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an aligned copy with the padding a received buffer would have */
	unsigned char *buf = calloc(1, size + NLMSG_ALIGNTO + 1);
	struct ipvs_table *t = ipvs_table_new(), *k = ipvs_table_new();
	struct svc_key k4 = { AF_INET, IPPROTO_TCP, 80, { 11, 0, 0, 1 } };
	struct svc_key k6 = { AF_INET6, IPPROTO_UDP, 53, { 0xfd, 1, 0, 0xc, [15] = 1 } };
	struct ipvs_svc *s4, *s6;
	struct svc_key diff[8];
	struct nlmsghdr *h;
	int left = (int)(size > 1 << 20 ? 1 << 20 : size);

	if (!buf || !t || !k)
		goto done;
	memcpy(buf, data, size);
	s4 = ipvs_table_insert(k, &k4, "wlc");
	s6 = ipvs_table_insert(k, &k6, "wlc");
	if (!s4 || !s6)
		goto done;
	for (h = (struct nlmsghdr *)buf; nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
		struct nl_msg *m;
		struct ipvs_dump_ctx cs = { .out = t }, c4 = { .svc = s4 }, c6 = { .svc = s6 };

		if (h->nlmsg_type == NLMSG_DONE)
			break;
		if (!(m = nlmsg_convert(h)))
			continue;
		ipvs_nl_on_svc(m, &cs);
		ipvs_nl_on_dest(m, &c4);
		ipvs_nl_on_dest(m, &c6);
		nlmsg_free(m);
	}
	ipvs_table_sort(t);
	ipvs_table_sort(k);
	ipvs_table_diff_keys(t, k, diff, 8);
	for (size_t i = 0; i < t->n; i++) {
		char b[80];

		svc_key_format(&t->svcs[i].key, b, sizeof(b));
		if (!ipvs_table_find(t, &t->svcs[i].key))
			abort(); /* sorted: every service must be found */
	}
done:
	ipvs_table_free(t);
	ipvs_table_free(k);
	free(buf);
	return 0;
}
