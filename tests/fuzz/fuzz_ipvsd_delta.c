// SPDX-License-Identifier: Apache-2.0
/*
 * A VipTableDelta as ipvsd takes it (reconcile_on_vip_delta's work): an
 * envelope from arbitrary bytes, judged by vip_follow_check against a held
 * table (epoch 7, generation 10: tcp 11.0.0.1:80 and 11.0.0.2:80), then
 * applied to that table's candidates whatever the verdict. A refused delta
 * must leave them exactly as they were; an applied one must hold every
 * service it upserted and none it removed, and only valid services.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/envelope.h"
#include "ipvsd/vip_follow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ipvs_table *base(void)
{
	struct ipvs_table *t = ipvs_table_new();
	struct ipvs_dest d = { .addr = { 10, 0, 0, 9 }, .port = 8080, .weight = 1,
			       .agent_len = 4, .agent = { 10, 0, 0, 2 } };

	for (uint8_t i = 1; t && i <= 2; i++) {
		struct svc_key k = { AF_INET, IPPROTO_TCP, 80, { 11, 0, 0, i } };
		struct ipvs_svc *s = ipvs_table_insert(t, &k, "wlc");

		if (!s || !ipvs_svc_insert_dest(s, &d)) {
			ipvs_table_free(t);
			return NULL;
		}
	}
	return t;
}

static int same(const struct ipvs_table *a, const struct ipvs_table *b)
{
	struct svc_key k;

	return ipvs_table_diff_keys(a, b, &k, 1) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct desired_cfg cfg = { .sched = "wlc", .node_ip = { 10, 0, 0, 1 },
					 .node_ip_len = 4 };
	const char *why = NULL;
	Envelope *env = envelope_unpack(data, size, &why);
	struct ipvs_table *cand = NULL, *orig = NULL;
	const L4lb__V1__VipTableDelta *d;
	struct svc_key keys[8], k;
	size_t n = 0;
	int rc;

	if (!env || env->type != L4LB__V1__ENVELOPE__TYPE__VIP_TABLE_DELTA)
		goto done;
	d = env->vip_table_delta;
	(void)vip_follow_check(1, 7, 10, d);
	if (!(cand = base()) || !(orig = base()))
		goto done;
	rc = vip_follow_apply(cand, d, &cfg, keys, 8, &n);
	if (rc == -EPROTO || rc == -ESRCH) {
		if (!same(cand, orig))
			abort();
		goto done;
	}
	if (rc < 0)
		goto done; /* ENOMEM */
	if (n > 9)
		abort();
	for (size_t i = 0; i < d->n_removed; i++) {
		L4lb__V1__Vip v = L4LB__V1__VIP__INIT;

		v.has_protocol = v.has_ip = v.has_port = 1;
		v.protocol = d->removed[i]->protocol;
		v.ip = d->removed[i]->ip;
		v.port = d->removed[i]->port;
		if (desired_vip_key(&v, &k) < 0 || ipvs_table_find(cand, &k))
			abort();
	}
	for (size_t i = 0; i < d->n_upserted; i++)
		if (desired_vip_key(d->upserted[i], &k) < 0 || !ipvs_table_find(cand, &k))
			abort();
	for (size_t i = 0; i < cand->n; i++) {
		const struct svc_key *s = &cand->svcs[i].key;

		if ((s->af != AF_INET && s->af != AF_INET6) || s->port == 0 ||
		    (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP))
			abort();
	}
done:
	ipvs_table_free(cand);
	ipvs_table_free(orig);
	envelope_free(env);
	return 0;
}
