/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPVS over generic netlink (libnl-3 genl): one socket, the family resolved
 * once, dumps of services and destinations, and changes sent in batches of
 * many requests per sendmsg, each with its own ACK.
 * Every call here sends its requests and reads every answer before it
 * returns (nothing stays in flight across event loop turns), which is what
 * lets the metrics' counter dumps (ipvs_stats.c) share the socket: they
 * run between two calls, never inside one. The one exception is the full
 * pass's service list (ipvs_nl_list_*): read over several loop turns, it
 * has a short-lived socket of its own (nl_dump.h), closed when read.
 */
#ifndef IPVSD_IPVS_NL_H
#define IPVSD_IPVS_NL_H

#include "ipvsd/model.h"
#include "ipvsd/plan.h"

struct ipvs_nl;
struct nl_msg;

/*
 * Opens the socket and checks that IPVS is there and usable: -ENOENT when
 * the kernel has no IPVS (logged: "modprobe ip_vs"), -EPERM without
 * CAP_NET_ADMIN (logged), other -errno.
 */
int ipvs_nl_open(struct ipvs_nl **out);
void ipvs_nl_close(struct ipvs_nl *nl);

/* Decides whether the destinations of a dumped service are wanted. */
typedef int (*ipvs_svc_filter_fn)(const struct svc_key *k, void *arg);

/*
 * Dumps every service into `out` (cleared first; fwmark services are left
 * out) and the destinations of those `want` accepts (all if NULL). Sorted.
 * 0, or -errno (-ENOBUFS: messages were lost, dump again). Drops a service
 * list being read by ipvs_nl_list_*.
 */
int ipvs_nl_dump(struct ipvs_nl *nl, ipvs_svc_filter_fn want, void *arg, struct ipvs_table *out);

/*
 * The service list alone (no destinations; fwmark services left out), read
 * a few parts at a time (nl_dump.h) so that 10,000 services never hold the
 * event loop: start (out is cleared), then step until it returns 1 (out is
 * complete and sorted; -errno: failed, out is partial). One at a time; a
 * new start or abort drops the one being read. out must live until then.
 */
int ipvs_nl_list_start(struct ipvs_nl *nl, struct ipvs_table *out);
int ipvs_nl_list_step(struct ipvs_nl *nl, uint64_t budget_us);
void ipvs_nl_list_abort(struct ipvs_nl *nl);

/* Whether the op is an IPVS change (not an address or ipset member). */
int ipvs_nl_handles(enum plan_op_type t);

/*
 * Sends the IPVS ops (all must pass ipvs_nl_handles) in batches and waits
 * for every ACK. errs[i] gets each op's result: 0 (including "already
 * there" for adds and "already gone" for deletes) or -errno. Returns 0
 * when every ACK came back, -ENOBUFS when some were lost (resync), or
 * another -errno for the socket.
 */
int ipvs_nl_apply(struct ipvs_nl *nl, const struct plan_op *ops, size_t n, int *errs);

/* Write requests sent since start (to prove a no-op restart). */
uint64_t ipvs_nl_writes(const struct ipvs_nl *nl);

/*
 * One dump with the caller's parser of each reply message (the metrics'
 * counters): cmd IPVS_CMD_GET_SERVICE (k NULL) or IPVS_CMD_GET_DEST (of
 * service k). fn must read the dump to its end (NL_OK or NL_SKIP, never
 * NL_STOP): what it left would be in the way of the next request. 0, or
 * -errno for the socket.
 */
int ipvs_nl_dump_with(struct ipvs_nl *nl, int cmd, const struct svc_key *k,
		      int (*fn)(struct nl_msg *msg, void *arg), void *arg);

/* Dumps the destinations of one service into s (emptied first). */
int ipvs_nl_dump_dests(struct ipvs_nl *nl, struct ipvs_svc *s);

/* The parsers of one dump reply message (libnl callbacks; exported for the
 * fuzzer): a service into c->out, a destination into c->svc. */
struct ipvs_dump_ctx {
	struct ipvs_table *out;
	struct ipvs_svc *svc; /* GET_DEST: the service being filled */
	int err;
};
int ipvs_nl_on_svc(struct nl_msg *msg, void *arg);
int ipvs_nl_on_dest(struct nl_msg *msg, void *arg);
#endif
