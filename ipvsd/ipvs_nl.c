// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/ipvs_nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/counters.h"
#include "common/log.h"
#include "ipvsd/nl_batch.h"
#include "ipvsd/nl_dump.h"

struct ipvs_nl {
	struct nl_sock *sk;
	int family;
	uint64_t writes;
	struct nl_dump *list; /* the service list being read, if any */
	struct ipvs_dump_ctx list_ctx;
};

static int nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND: return -ESRCH;
	case NLE_PERM: return -EPERM;
	case NLE_NOACCESS: return -EACCES;
	case NLE_NOMEM: return -ENOBUFS; /* recv ENOBUFS maps to NLE_NOMEM */
	case NLE_DUMP_INTR: return -EINTR;
	case NLE_INVAL: return -EINVAL;
	case NLE_AGAIN: return -EAGAIN;
	default: return -EIO;
	}
}

static int info_ok(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

int ipvs_nl_open(struct ipvs_nl **out)
{
	struct ipvs_nl *nl = calloc(1, sizeof(*nl));
	struct nl_cb *cb = NULL;
	int rc;

	*out = NULL;
	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = genl_connect(nl->sk)) < 0) {
		log_error("ipvs: netlink socket: %s", nl_geterror(rc));
		rc = -EIO;
		goto fail;
	}
	nl_batch_tune(nl->sk);
	/* no ACK unless asked for (changes): a stray ACK left in the socket
	 * would end the next dump early, empty */
	nl_socket_disable_auto_ack(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, IPVS_GENL_NAME);
	if (nl->family < 0) {
		log_error("ipvs: the kernel has no IPVS (generic netlink family \"%s\" not found): "
			  "load it with `modprobe ip_vs`", IPVS_GENL_NAME);
		rc = -ENOENT;
		goto fail;
	}
	/* every IPVS command needs CAP_NET_ADMIN: find out now, not at the
	 * first change */
	rc = genl_send_simple(nl->sk, nl->family, IPVS_CMD_GET_INFO, IPVS_GENL_VERSION, 0);
	if (rc >= 0) {
		cb = nl_cb_alloc(NL_CB_DEFAULT);
		nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, info_ok, NULL);
		rc = nl_recvmsgs(nl->sk, cb);
		nl_cb_put(cb);
	}
	if (rc < 0) {
		if (rc == -NLE_PERM || rc == -NLE_NOACCESS) {
			log_error("ipvs: permission denied: ipvsd needs CAP_NET_ADMIN "
				  "(run as root or grant the capability)");
			rc = -EPERM;
		} else {
			log_error("ipvs: GET_INFO failed: %s", nl_geterror(rc));
			rc = nl_to_errno(rc);
		}
		goto fail;
	}
	*out = nl;
	return 0;
fail:
	ipvs_nl_close(nl);
	return rc;
}

void ipvs_nl_close(struct ipvs_nl *nl)
{
	if (!nl)
		return;
	nl_dump_free(nl->list);
	nl_socket_free(nl->sk);
	free(nl);
}

uint64_t ipvs_nl_writes(const struct ipvs_nl *nl)
{
	return nl->writes;
}

static int put_svc(struct nl_msg *msg, const struct svc_key *k, const char *sched)
{
	struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
	/* ipvsd's own definition (ipvs_svc_own_def): mask ~0 clears every
	 * flag someone else set, persistence included */
	struct ip_vs_flags fl = { .flags = 0, .mask = ~0u };

	if (!nest || nla_put_u16(msg, IPVS_SVC_ATTR_AF, k->af) < 0 ||
	    nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, k->proto) < 0 ||
	    nla_put(msg, IPVS_SVC_ATTR_ADDR, 16, k->addr) < 0 ||
	    nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(k->port)) < 0)
		return -ENOMEM;
	/* NEW/SET need all of these or the kernel answers EINVAL */
	if (sched && (nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, sched) < 0 ||
		      nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl) < 0 ||
		      nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, 0) < 0 ||
		      nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, ipvs_own_netmask(k->af)) < 0))
		return -ENOMEM;
	nla_nest_end(msg, nest);
	return 0;
}

static int put_dest(struct nl_msg *msg, int af, const struct ipvs_dest *d, int full)
{
	struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);

	if (!nest || nla_put(msg, IPVS_DEST_ATTR_ADDR, 16, d->addr) < 0 ||
	    nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(d->port)) < 0 ||
	    nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, (uint16_t)af) < 0)
		return -ENOMEM;
	if (full && (nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ) < 0 ||
		     nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, d->weight) < 0 ||
		     nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, 0) < 0 ||
		     nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, 0) < 0))
		return -ENOMEM;
	nla_nest_end(msg, nest);
	return 0;
}

/* --- dumps --- */

static int seq_any(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int attr_u16(struct nlattr *a, uint16_t *v)
{
	if (!a || nla_len(a) < 2)
		return -1;
	*v = nla_get_u16(a);
	return 0;
}

static int attr_u32(struct nlattr *a, uint32_t *v)
{
	if (!a || nla_len(a) < 4)
		return -1;
	*v = nla_get_u32(a);
	return 0;
}

int ipvs_nl_on_svc(struct nl_msg *msg, void *arg)
{
	struct ipvs_dump_ctx *c = arg;
	struct nlattr *top[IPVS_CMD_ATTR_MAX + 1], *a[IPVS_SVC_ATTR_MAX + 1];
	struct svc_key k = { 0 };
	uint16_t af, proto, port;
	char sched[IPVS_SCHED_MAX] = "";
	struct ipvs_svc *s;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, top, IPVS_CMD_ATTR_MAX, NULL) < 0 ||
	    !top[IPVS_CMD_ATTR_SERVICE] ||
	    nla_parse_nested(a, IPVS_SVC_ATTR_MAX, top[IPVS_CMD_ATTR_SERVICE], NULL) < 0)
		return NL_SKIP;
	if (a[IPVS_SVC_ATTR_FWMARK] || attr_u16(a[IPVS_SVC_ATTR_AF], &af) < 0 ||
	    attr_u16(a[IPVS_SVC_ATTR_PROTOCOL], &proto) < 0 ||
	    attr_u16(a[IPVS_SVC_ATTR_PORT], &port) < 0 || !a[IPVS_SVC_ATTR_ADDR] ||
	    (af != AF_INET && af != AF_INET6))
		return NL_SKIP; /* fwmark services are never ipvsd's */
	k.af = (uint8_t)af;
	k.proto = (uint8_t)proto;
	k.port = ntohs(port);
	memcpy(k.addr, nla_data(a[IPVS_SVC_ATTR_ADDR]),
	       nla_len(a[IPVS_SVC_ATTR_ADDR]) < (int)af_len(af) ? (size_t)nla_len(a[IPVS_SVC_ATTR_ADDR])
								 : af_len(af));
	if (a[IPVS_SVC_ATTR_SCHED_NAME])
		nla_strlcpy(sched, a[IPVS_SVC_ATTR_SCHED_NAME], sizeof(sched));
	if (!(s = ipvs_table_add(c->out, &k, sched))) {
		c->err = -ENOMEM;
		return NL_OK;
	}
	/* what is there, so that a change behind ipvsd's back shows */
	if (a[IPVS_SVC_ATTR_FLAGS] &&
	    nla_len(a[IPVS_SVC_ATTR_FLAGS]) >= (int)sizeof(struct ip_vs_flags)) {
		struct ip_vs_flags fl;

		memcpy(&fl, nla_data(a[IPVS_SVC_ATTR_FLAGS]), sizeof(fl));
		s->flags = fl.flags & ~(uint32_t)IP_VS_SVC_F_HASHED;
	}
	attr_u32(a[IPVS_SVC_ATTR_TIMEOUT], &s->timeout);
	attr_u32(a[IPVS_SVC_ATTR_NETMASK], &s->netmask);
	return NL_OK;
}

int ipvs_nl_on_dest(struct nl_msg *msg, void *arg)
{
	struct ipvs_dump_ctx *c = arg;
	struct nlattr *top[IPVS_CMD_ATTR_MAX + 1], *a[IPVS_DEST_ATTR_MAX + 1];
	struct ipvs_dest d = { 0 };
	uint16_t port, af = c->svc->key.af;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, top, IPVS_CMD_ATTR_MAX, NULL) < 0 ||
	    !top[IPVS_CMD_ATTR_DEST] ||
	    nla_parse_nested(a, IPVS_DEST_ATTR_MAX, top[IPVS_CMD_ATTR_DEST], NULL) < 0)
		return NL_SKIP;
	if (!a[IPVS_DEST_ATTR_ADDR] || attr_u16(a[IPVS_DEST_ATTR_PORT], &port) < 0)
		return NL_SKIP;
	attr_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY], &af);
	memcpy(d.addr, nla_data(a[IPVS_DEST_ATTR_ADDR]),
	       nla_len(a[IPVS_DEST_ATTR_ADDR]) < (int)af_len(af) ? (size_t)nla_len(a[IPVS_DEST_ATTR_ADDR])
								   : af_len(af));
	d.port = ntohs(port);
	attr_u32(a[IPVS_DEST_ATTR_WEIGHT], &d.weight);
	attr_u32(a[IPVS_DEST_ATTR_FWD_METHOD], &d.fwd);
	d.fwd &= IP_VS_CONN_F_FWD_MASK;
	attr_u32(a[IPVS_DEST_ATTR_ACTIVE_CONNS], &d.active);
	attr_u32(a[IPVS_DEST_ATTR_INACT_CONNS], &d.inactive);
	if (ipvs_svc_add_dest(c->svc, &d) < 0)
		c->err = -ENOMEM;
	return NL_OK;
}

/* Whatever is left on the socket before a dump request: normally nothing,
 * as every call reads its answers in full; but a batch whose ACKs overran
 * (nl_batch_send stops at ENOBUFS) leaves the rest of them queued, and a
 * dump would end at the first of them (libnl stops at a lone ACK), its own
 * answer then read as the answer to the next request: a service's
 * destinations taken for another's. */
static void drop_stale(struct ipvs_nl *nl)
{
	size_t n = nl_drop_pending(nl->sk);

	if (n) {
		counter_add("ipvs_nl_stale_dropped", n);
		log_limited(LOG_LVL_WARN, "ipvs_stale", "ipvs: %zu stale netlink messages "
			    "dropped before a dump", n);
	}
}

int ipvs_nl_dump_with(struct ipvs_nl *nl, int cmd, const struct svc_key *k,
		      int (*fn)(struct nl_msg *msg, void *arg), void *arg)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int rc = -ENOMEM;

	if (!msg || !cb)
		goto done;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, NLM_F_DUMP, cmd,
			 IPVS_GENL_VERSION) ||
	    (k && put_svc(msg, k, NULL) < 0))
		goto done;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, fn, arg);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_any, NULL);
	drop_stale(nl);
	rc = nl_send_auto(nl->sk, msg);
	/* a dump failing part way (an overrun) may still send the rest */
	if (rc >= 0 && (rc = nl_recvmsgs(nl->sk, cb)) < 0)
		nl_drop_pending(nl->sk);
	rc = rc < 0 ? nl_to_errno(rc) : 0;
done:
	nlmsg_free(msg);
	nl_cb_put(cb);
	return rc;
}

/* The destinations of service k, a dump on the main socket (one round trip,
 * a few destinations: not worth a socket of its own). */
static int dump_dests(struct ipvs_nl *nl, const struct svc_key *k, struct ipvs_dump_ctx *c)
{
	int rc = ipvs_nl_dump_with(nl, IPVS_CMD_GET_DEST, k, ipvs_nl_on_dest, c);

	return rc < 0 ? rc : c->err;
}

int ipvs_nl_list_start(struct ipvs_nl *nl, struct ipvs_table *out)
{
	struct nl_msg *msg = nlmsg_alloc();
	int rc = -ENOMEM;

	ipvs_nl_list_abort(nl);
	ipvs_table_clear(out);
	nl->list_ctx = (struct ipvs_dump_ctx){ .out = out };
	if (msg && genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, NLM_F_DUMP,
			       IPVS_CMD_GET_SERVICE, IPVS_GENL_VERSION))
		rc = nl_dump_start(NETLINK_GENERIC, msg, ipvs_nl_on_svc, &nl->list_ctx, &nl->list);
	nlmsg_free(msg);
	return rc;
}

int ipvs_nl_list_step(struct ipvs_nl *nl, uint64_t budget_us)
{
	int rc = nl->list ? nl_dump_step(nl->list, budget_us) : -EINVAL;

	if (rc == 1 && nl->list_ctx.err < 0)
		rc = nl->list_ctx.err;
	if (rc == 1)
		ipvs_table_sort(nl->list_ctx.out);
	if (rc != 0)
		ipvs_nl_list_abort(nl); /* done with, either way */
	return rc;
}

void ipvs_nl_list_abort(struct ipvs_nl *nl)
{
	nl_dump_free(nl->list);
	nl->list = NULL;
}

int ipvs_nl_dump(struct ipvs_nl *nl, ipvs_svc_filter_fn want, void *arg, struct ipvs_table *out)
{
	struct ipvs_dump_ctx c = { .out = out };
	int rc;

	if ((rc = ipvs_nl_list_start(nl, out)) < 0 ||
	    (rc = ipvs_nl_list_step(nl, UINT64_MAX)) < 0)
		goto fail;
	for (size_t i = 0; i < out->n; i++) {
		if (want && !want(&out->svcs[i].key, arg))
			continue;
		c.svc = &out->svcs[i];
		if ((rc = dump_dests(nl, &out->svcs[i].key, &c)) < 0)
			goto fail;
	}
	ipvs_table_sort(out);
	counter_inc("ipvs_dumps");
	return 0;
fail:
	counter_inc("ipvs_dump_errors");
	log_warn("ipvs: dump failed: %s", strerror(-rc));
	ipvs_table_clear(out);
	return rc;
}

/* --- batched changes --- */

int ipvs_nl_handles(enum plan_op_type t)
{
	return t == OP_ADD_SVC || t == OP_SET_SVC || t == OP_DEL_SVC || t == OP_ADD_DEST ||
	       t == OP_SET_DEST || t == OP_DEL_DEST;
}

static struct nl_msg *op_msg(struct ipvs_nl *nl, const struct plan_op *op)
{
	struct nl_msg *msg = nlmsg_alloc();
	int cmd, rc = 0;

	if (!msg)
		return NULL;
	switch (op->type) {
	case OP_ADD_SVC: cmd = IPVS_CMD_NEW_SERVICE; break;
	case OP_SET_SVC: cmd = IPVS_CMD_SET_SERVICE; break;
	case OP_DEL_SVC: cmd = IPVS_CMD_DEL_SERVICE; break;
	case OP_ADD_DEST: cmd = IPVS_CMD_NEW_DEST; break;
	case OP_SET_DEST: cmd = IPVS_CMD_SET_DEST; break;
	default: cmd = IPVS_CMD_DEL_DEST; break;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, NLM_F_ACK, cmd,
			 IPVS_GENL_VERSION))
		goto fail;
	if (op->type == OP_ADD_SVC || op->type == OP_SET_SVC)
		rc = put_svc(msg, &op->key, op->sched);
	else
		rc = put_svc(msg, &op->key, NULL);
	if (rc == 0 && (op->type == OP_ADD_DEST || op->type == OP_SET_DEST))
		rc = put_dest(msg, op->key.af, &op->dest, 1);
	else if (rc == 0 && op->type == OP_DEL_DEST)
		rc = put_dest(msg, op->key.af, &op->dest, 0);
	if (rc < 0)
		goto fail;
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

static int send_batch(struct ipvs_nl *nl, const struct plan_op *ops, size_t n, int *errs)
{
	struct nl_msg *msgs[NL_BATCH_MAX];
	size_t m = 0;
	int rc = 0;

	for (; m < n; m++) {
		msgs[m] = op_msg(nl, &ops[m]);
		if (!msgs[m]) {
			rc = -ENOMEM;
			goto done;
		}
	}
	rc = nl_batch_send(nl->sk, msgs, n, errs);
	nl->writes += n;
	counter_add("ipvs_nl_writes", n);
	for (size_t i = 0; i < n; i++) {
		enum plan_op_type t = ops[i].type;

		/* idempotence: already there for an add, already gone for a delete */
		if ((errs[i] == -EEXIST && (t == OP_ADD_SVC || t == OP_ADD_DEST)) ||
		    ((errs[i] == -ESRCH || errs[i] == -ENOENT) &&
		     (t == OP_DEL_SVC || t == OP_DEL_DEST)))
			errs[i] = 0;
	}
done:
	for (size_t i = 0; i < m; i++)
		nlmsg_free(msgs[i]);
	return rc;
}

int ipvs_nl_apply(struct ipvs_nl *nl, const struct plan_op *ops, size_t n, int *errs)
{
	size_t i = 0;
	int rc = 0;

	while (i < n && rc == 0) {
		size_t m = n - i < NL_BATCH_MAX ? n - i : NL_BATCH_MAX;

		rc = send_batch(nl, ops + i, m, errs + i);
		i += m;
	}
	for (; i < n; i++)
		errs[i] = rc;
	return rc;
}

int ipvs_nl_dump_dests(struct ipvs_nl *nl, struct ipvs_svc *s)
{
	struct ipvs_dump_ctx c = { .svc = s };
	struct svc_key k = s->key;
	int rc;

	s->n_dests = 0;
	rc = dump_dests(nl, &k, &c);
	if (rc == 0)
		ipvs_table_sort(&(struct ipvs_table){ .svcs = s, .n = 1, .cap = 1 });
	return rc;
}
