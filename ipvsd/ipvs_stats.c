// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/ipvs_stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/metrics.h"
#include "ipvsd/ipvs_nl.h"
#include "ipvsd/model.h"

/* One dump being received: services into svcs, or destinations into svc. */
struct dump {
	struct stats_svc *svcs;
	size_t n, cap;
	struct stats_svc *svc;
	int err;
};

static uint64_t next_ms; /* no dump before this (cache, or retry after failure) */
static struct stats_cache cache;

int ipvs_counts_parse(struct nlattr *stats64, struct nlattr *stats32, struct ipvs_counts *out)
{
	static const int ids[] = { IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_INPKTS,
				   IPVS_STATS_ATTR_OUTPKTS, IPVS_STATS_ATTR_INBYTES,
				   IPVS_STATS_ATTR_OUTBYTES };
	uint64_t *dst[] = { &out->conns, &out->inpkts, &out->outpkts, &out->inbytes,
			    &out->outbytes };
	struct nlattr *a[IPVS_STATS_ATTR_MAX + 1];
	int wide = stats64 != NULL;

	memset(out, 0, sizeof(*out));
	if (nla_parse_nested(a, IPVS_STATS_ATTR_MAX, wide ? stats64 : stats32, NULL) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct nlattr *v = a[ids[i]];

		if (!v)
			continue;
		/* the old layout has u32 counts and u64 bytes */
		if (nla_len(v) >= 8)
			*dst[i] = nla_get_u64(v);
		else if (nla_len(v) >= 4)
			*dst[i] = nla_get_u32(v);
	}
	return 0;
}

static int svc_key_from(struct nlattr **a, struct svc_key *k)
{
	int len;

	if (a[IPVS_SVC_ATTR_FWMARK] || !a[IPVS_SVC_ATTR_AF] || !a[IPVS_SVC_ATTR_PROTOCOL] ||
	    !a[IPVS_SVC_ATTR_PORT] || !a[IPVS_SVC_ATTR_ADDR])
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->af = (uint8_t)nla_get_u16(a[IPVS_SVC_ATTR_AF]);
	if (k->af != AF_INET && k->af != AF_INET6)
		return -EINVAL;
	k->proto = (uint8_t)nla_get_u16(a[IPVS_SVC_ATTR_PROTOCOL]);
	k->port = ntohs(nla_get_u16(a[IPVS_SVC_ATTR_PORT]));
	len = nla_len(a[IPVS_SVC_ATTR_ADDR]);
	memcpy(k->addr, nla_data(a[IPVS_SVC_ATTR_ADDR]),
	       len < (int)af_len(k->af) ? (size_t)len : af_len(k->af));
	return 0;
}

static int on_service(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;
	struct nlattr *top[IPVS_CMD_ATTR_MAX + 1], *a[IPVS_SVC_ATTR_MAX + 1];
	struct stats_svc s = { 0 };

	if (genlmsg_parse(nlmsg_hdr(msg), 0, top, IPVS_CMD_ATTR_MAX, NULL) < 0 ||
	    !top[IPVS_CMD_ATTR_SERVICE] ||
	    nla_parse_nested(a, IPVS_SVC_ATTR_MAX, top[IPVS_CMD_ATTR_SERVICE], NULL) < 0 ||
	    svc_key_from(a, &s.key) < 0 ||
	    ipvs_counts_parse(a[IPVS_SVC_ATTR_STATS64], a[IPVS_SVC_ATTR_STATS], &s.c) < 0)
		return NL_SKIP;
	/* NL_SKIP, not NL_STOP, on failure: the dump is read to its end, as
	 * the shared socket needs (ipvs_nl_dump_with) */
	if (d->err || array_grow((void **)&d->svcs, &d->cap, d->n + 1, sizeof(*d->svcs), 64) < 0) {
		d->err = -ENOMEM;
		return NL_SKIP;
	}
	d->svcs[d->n++] = s;
	return NL_OK;
}

static const char *proto_name(int p)
{
	return p == IPPROTO_UDP ? "udp" : p == IPPROTO_TCP ? "tcp" : "other";
}

static void put_counts(const char *what, const char *const *labels, const struct ipvs_counts *c)
{
	static const char *const suffix[] = { "connections_total", "in_packets_total",
					      "out_packets_total", "in_bytes_total",
					      "out_bytes_total" };
	static const char *const help[] = { "Connections IPVS scheduled (kernel counter).",
					    "Packets in (kernel counter).",
					    "Packets out (kernel counter).",
					    "Bytes in (kernel counter).", "Bytes out (kernel counter)." };
	const uint64_t v[] = { c->conns, c->inpkts, c->outpkts, c->inbytes, c->outbytes };
	char name[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(name, sizeof(name), "%s_%s", what, suffix[i]);
		metrics_append(name, help[i], labels, (double)v[i]);
	}
}

static int on_dest(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;
	struct nlattr *top[IPVS_CMD_ATTR_MAX + 1], *a[IPVS_DEST_ATTR_MAX + 1];
	struct stats_dest x = { .af = d->svc->key.af };
	int len;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, top, IPVS_CMD_ATTR_MAX, NULL) < 0 ||
	    !top[IPVS_CMD_ATTR_DEST] ||
	    nla_parse_nested(a, IPVS_DEST_ATTR_MAX, top[IPVS_CMD_ATTR_DEST], NULL) < 0 ||
	    !a[IPVS_DEST_ATTR_ADDR] || !a[IPVS_DEST_ATTR_PORT] ||
	    ipvs_counts_parse(a[IPVS_DEST_ATTR_STATS64], a[IPVS_DEST_ATTR_STATS], &x.c) < 0)
		return NL_SKIP;
	if (a[IPVS_DEST_ATTR_ADDR_FAMILY])
		x.af = (uint8_t)nla_get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY]);
	len = nla_len(a[IPVS_DEST_ATTR_ADDR]);
	memcpy(x.addr, nla_data(a[IPVS_DEST_ATTR_ADDR]),
	       len < (int)af_len(x.af) ? (size_t)len : af_len(x.af));
	x.port = ntohs(nla_get_u16(a[IPVS_DEST_ATTR_PORT]));
	if ((x.has_active = a[IPVS_DEST_ATTR_ACTIVE_CONNS] != NULL))
		x.active = nla_get_u32(a[IPVS_DEST_ATTR_ACTIVE_CONNS]);
	if ((x.has_inactive = a[IPVS_DEST_ATTR_INACT_CONNS] != NULL))
		x.inactive = nla_get_u32(a[IPVS_DEST_ATTR_INACT_CONNS]);
	if (d->err || stats_svc_add_dest(d->svc, &x) < 0) {
		d->err = -ENOMEM;
		return NL_SKIP;
	}
	return NL_OK;
}

static const char *const families[] = {
	"vip_connections_total",      "vip_in_packets_total",         "vip_out_packets_total",
	"vip_in_bytes_total",	      "vip_out_bytes_total",          "backend_connections_total",
	"backend_in_packets_total",   "backend_out_packets_total",    "backend_in_bytes_total",
	"backend_out_bytes_total",    "backend_active_connections",   "backend_inactive_connections",
};

/* rc of ipvs_nl_dump_with, or what the parser ran into */
static int dumped(int rc, const struct dump *d)
{
	return rc < 0 ? rc : d->err;
}

static int src_services(void *arg, struct stats_svc **out, size_t *n)
{
	struct dump d = { 0 };
	int rc = ipvs_nl_dump_with(arg, IPVS_CMD_GET_SERVICE, NULL, on_service, &d);

	if ((rc = dumped(rc, &d)) < 0) {
		free(d.svcs);
		return rc;
	}
	*out = d.svcs;
	*n = d.n;
	return 0;
}

static int src_dests(void *arg, struct stats_svc *s)
{
	struct dump d = { .svc = s };

	s->n_dests = 0;
	return dumped(ipvs_nl_dump_with(arg, IPVS_CMD_GET_DEST, &s->key, on_dest, &d), &d);
}

/* Every series from the cache (the backends up to IPVS_STATS_MAX_DESTS). */
static void emit(void)
{
	size_t dests = 0;

	for (size_t i = 0; i < cache.n; i++) {
		const struct stats_svc *s = &cache.svcs[i];
		const struct svc_key *k = &s->key;
		char vip[64], be[64];
		const char *labels[] = { "vip", vip, "protocol", proto_name(k->proto), "backend", be,
					 NULL };

		addr_port_format(k->af, k->addr, k->port, vip, sizeof(vip));
		labels[4] = NULL; /* the VIP's own series: no backend label */
		put_counts("vip", labels, &s->c);
		labels[4] = "backend";
		for (size_t j = 0; j < s->n_dests && dests < IPVS_STATS_MAX_DESTS; j++, dests++) {
			const struct stats_dest *x = &s->dests[j];

			addr_port_format(x->af, x->addr, x->port, be, sizeof(be));
			put_counts("backend", labels, &x->c);
			if (x->has_active)
				metrics_append("backend_active_connections",
					       "Established connections to the backend (kernel).",
					       labels, x->active);
			if (x->has_inactive)
				metrics_append("backend_inactive_connections",
					       "Connections to the backend in other states "
					       "(kernel).", labels, x->inactive);
		}
	}
}

void ipvs_stats_collect(struct ipvs_nl *nl)
{
	const struct stats_source src = { src_services, src_dests, nl };
	uint64_t now = clock_mono_ms();
	int rc;

	if (now < next_ms)
		return;
	next_ms = now + IPVS_STATS_CACHE_MS;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		metrics_clear(families[i]);
	if (!nl) /* a dry run where the kernel has no IPVS */
		return;
	uint64_t dumps = cache.dest_dumps;

	rc = stats_cache_refresh(&cache, &src, IPVS_STATS_SLICE);
	counter_add("ipvs_stats_dest_dumps", cache.dest_dumps - dumps);
	if (rc < 0) {
		counter_inc("ipvs_stats_errors");
		log_limited(LOG_LVL_WARN, "ipvs_stats", "ipvs stats: dump failed: %s",
			    strerror(-rc));
	} else {
		counter_inc("ipvs_stats_dumps");
	}
	emit(); /* what was read, even after a failure part way */
}
