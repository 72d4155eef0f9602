// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/vip_set.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libipset/ipset.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/log.h"
#include "ipvsd/ipset_list.h"

static const char *const set_names[] = { VIP_SET4, VIP_SET6 };

struct vip_set {
	struct ipset *ipset;
	int dry_run;         /* a set found missing is not created */
	struct key_set next; /* a listing in progress (swapped in when whole) */
	char *out; /* output of the current command */
	size_t len, cap;
	char err[256];
};

static int on_out(struct ipset_session *s, void *p, const char *fmt, ...)
{
	struct vip_set *vs = p;
	va_list ap;
	int n;

	(void)s;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(vs->out + vs->len, vs->cap - vs->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < vs->cap - vs->len)
			break;
		size_t cap = (vs->cap + (size_t)n + 1) * 2;
		char *o = realloc(vs->out, cap);
		if (!o)
			return -1;
		vs->out = o;
		vs->cap = cap;
	}
	vs->len += (size_t)n;
	return 0;
}

/* libipset's messages end in a newline: not in a log line */
static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '\n')
		s[--n] = 0;
}

static int on_err(struct ipset *ipset, void *p, int status, const char *msg, ...)
{
	struct vip_set *vs = p;
	va_list ap;

	(void)ipset;
	va_start(ap, msg);
	vsnprintf(vs->err, sizeof(vs->err), msg, ap);
	va_end(ap);
	chomp(vs->err);
	return status;
}

static int on_std_err(struct ipset *ipset, void *p)
{
	struct vip_set *vs = p;
	struct ipset_session *s = ipset_session(ipset);

	snprintf(vs->err, sizeof(vs->err), "%s",
		 ipset_session_report_msg(s) ? ipset_session_report_msg(s) : "error");
	chomp(vs->err);
	ipset_session_report_reset(s);
	return -1;
}

/* Runs one ipset command line ("add l4lb-vips4 ... -exist"); a failure is
 * logged unless quiet. */
static int vrun(struct vip_set *vs, int quiet, const char *fmt, va_list ap)
{
	char line[256];
	int rc;

	vsnprintf(line, sizeof(line), fmt, ap);
	vs->len = 0;
	if (vs->out)
		vs->out[0] = 0;
	vs->err[0] = 0;
	rc = ipset_parse_line(vs->ipset, line);
	ipset_session_report_reset(ipset_session(vs->ipset));
	if (rc < 0) {
		if (!quiet)
			log_warn("ipset: `%s`: %s", line, vs->err[0] ? vs->err : "failed");
		return -EIO;
	}
	return 0;
}

static int run(struct vip_set *vs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(struct vip_set *vs, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vrun(vs, 0, fmt, ap);
	va_end(ap);
	return rc;
}

static int run_quiet(struct vip_set *vs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int run_quiet(struct vip_set *vs, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vrun(vs, 1, fmt, ap);
	va_end(ap);
	return rc;
}

/* Creates set i (0: IPv4, 1: IPv6) if missing. A set of that name made with
 * other options (a larger maxelem, docs/limits.md) is used as it is, if it is
 * of the right type: `create -exist` refuses any difference. */
static int set_create(struct vip_set *vs, int i)
{
	struct key_set probe = { 0 };
	int rc;

	if (run_quiet(vs, "create %s hash:ip,port family %s -exist", set_names[i],
		      i ? "inet6" : "inet") == 0)
		return 0;
	rc = ipset_list_members(set_names[i], &probe);
	key_set_clear(&probe);
	if (rc == -EMEDIUMTYPE) {
		log_error("ipset: %s exists and is not of type hash:ip,port (someone else's "
			  "set of that name?)", set_names[i]);
		return rc;
	}
	if (rc < 0) {
		log_error("ipset: cannot create %s: %s (kernel without ip_set and "
			  "ip_set_hash_ipport, or no CAP_NET_ADMIN?)", set_names[i],
			  vs->err[0] ? vs->err : "failed");
		return -EIO;
	}
	log_info("ipset: %s exists with options of its own: used as it is", set_names[i]);
	return 0;
}

int vip_set_open(int dry_run, struct vip_set **out)
{
	struct vip_set *vs = calloc(1, sizeof(*vs));
	int rc = -ENOMEM;

	*out = NULL;
	if (!vs)
		return -ENOMEM;
	vs->dry_run = dry_run;
	ipset_load_types();
	vs->ipset = ipset_init();
	if (!vs->ipset)
		goto fail;
	ipset_custom_printf(vs->ipset, on_err, on_std_err, on_out, vs);
	for (int i = 0; i < 2 && dry_run; i++) {
		struct key_set probe = { 0 };

		/* what a real start would make, said rather than done */
		if (ipset_list_members(set_names[i], &probe) == -ENOENT)
			log_info("dry-run: would create ipset %s (hash:ip,port family %s)",
				 set_names[i], i ? "inet6" : "inet");
		key_set_clear(&probe);
	}
	if (!dry_run) {
		if ((rc = set_create(vs, 0)) < 0 || (rc = set_create(vs, 1)) < 0)
			goto fail;
	}
	*out = vs;
	return 0;
fail:
	vip_set_close(vs);
	return rc;
}

void vip_set_close(struct vip_set *vs)
{
	if (!vs)
		return;
	if (vs->ipset)
		ipset_fini(vs->ipset);
	key_set_clear(&vs->next);
	free(vs->out);
	free(vs);
}

/* Set i's members into vs->next; a set that is gone is made again. */
static int list_one(struct vip_set *vs, int i)
{
	/* straight from the kernel: libipset's "save" text costs a lookup in
	 * /etc/protocols per member (ipset_list.h) */
	int rc = ipset_list_members(set_names[i], &vs->next);

	if (rc != -ENOENT || vs->dry_run)
		return rc;
	/* destroyed behind ipvsd's back (a firewall reload flushed the rules
	 * using it, then `ipset destroy`): made again, empty; the plan puts the
	 * members back and the rules check its ACCEPT */
	counter_inc("ipset_recreated");
	log_limited(LOG_LVL_WARN, "ipset_recreated", "ipset: %s is gone: created again",
		    set_names[i]);
	return set_create(vs, i);
}

int vip_set_list(struct vip_set *vs, struct key_set *out)
{
	struct key_set t;
	int rc = 0;

	vs->next.n = 0;
	for (int i = 0; i < 2; i++) {
		size_t mark = vs->next.n;
		int af = i ? AF_INET6 : AF_INET, r = list_one(vs, i);

		if (r == 0)
			continue;
		/* unread: that family's last members stand, the other's are new */
		vs->next.n = mark;
		for (size_t j = 0; j < out->n; j++)
			if (out->k[j].af == af && key_set_add(&vs->next, &out->k[j]) < 0)
				return -ENOMEM; /* out untouched */
		if (rc == 0)
			rc = r;
	}
	key_set_sort(&vs->next);
	t = *out;
	*out = vs->next;
	vs->next = t;
	return rc;
}

int vip_set_destroy(struct vip_set *vs)
{
	int rc = 0;

	for (int i = 0; i < 2; i++) {
		/* "save" fails only for a set that is not there: nothing to do */
		if (run_quiet(vs, "save %s", set_names[i]) < 0)
			continue;
		if (run(vs, "destroy %s", set_names[i]) < 0)
			rc = -EIO;
	}
	return rc;
}

static int member_line(const struct plan_op *op, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(op->key.af, op->key.addr, a, sizeof(a));
	return snprintf(buf, size, "%s %s %s,%s:%u -exist\n",
			op->type == OP_ADD_MEMBER ? "add" : "del",
			op->key.af == AF_INET ? VIP_SET4 : VIP_SET6, a,
			op->key.proto == IPPROTO_UDP ? "udp" : "tcp", op->key.port);
}

/* One member change into the session's batch, set through libipset's data
 * API rather than as a text line: the text parser resolves "tcp" through
 * /etc/protocols and the address through the resolver, several file system
 * calls per member (minutes for 10,000 members on the VM's 9p root). */
static int queue_member(struct vip_set *vs, const struct plan_op *op, uint32_t lineno)
{
	struct ipset_session *s = ipset_session(vs->ipset);
	enum ipset_cmd cmd = op->type == OP_ADD_MEMBER ? IPSET_CMD_ADD : IPSET_CMD_DEL;
	union nf_inet_addr ip;
	uint8_t family = op->key.af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	uint8_t proto = op->key.proto;
	uint16_t port = op->key.port; /* host order: libipset converts it */

	memset(&ip, 0, sizeof(ip));
	memcpy(&ip, op->key.addr, af_len(op->key.af));
	if (ipset_session_data_set(s, IPSET_SETNAME, op->key.af == AF_INET ? VIP_SET4 : VIP_SET6) <
		    0 ||
	    !ipset_type_get(s, cmd) || ipset_session_data_set(s, IPSET_OPT_FAMILY, &family) < 0 ||
	    ipset_session_data_set(s, IPSET_OPT_IP, &ip) < 0 ||
	    ipset_session_data_set(s, IPSET_OPT_PROTO, &proto) < 0 ||
	    ipset_session_data_set(s, IPSET_OPT_PORT, &port) < 0)
		return -EIO;
	ipset_envopt_set(s, IPSET_ENV_EXIST); /* adding what is there, deleting what is not: ok */
	/* a line number makes libipset aggregate consecutive commands on one
	 * set into one message until its buffer is full */
	return ipset_cmd(s, cmd, lineno) < 0 ? -EIO : 0;
}

int vip_set_apply(struct vip_set *vs, const struct plan_op *ops, size_t n, int *errs)
{
	struct ipset_session *s = ipset_session(vs->ipset);
	int rc = 0;

	counter_add("ipset_writes", n);
	vs->err[0] = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = queue_member(vs, &ops[i], (uint32_t)i + 1);
	if (rc == 0 && ipset_commit(s) < 0)
		rc = -EIO;
	if (rc < 0 && !vs->err[0] && ipset_session_report_msg(s)) {
		snprintf(vs->err, sizeof(vs->err), "%s", ipset_session_report_msg(s));
		chomp(vs->err);
	}
	ipset_session_report_reset(s);
	ipset_data_reset(ipset_session_data(s));
	if (rc < 0) {
		char line[160], first[448] = "";
		size_t failed = 0;

		/* find out which ones failed, one by one; logged once, not per
		 * member (past maxelem that is every pass, for each one left out) */
		log_limited(LOG_LVL_WARN, "ipset_batch", "ipset: batch of %zu failed (%s): "
			    "retrying one by one", n, vs->err);
		for (size_t i = 0; i < n; i++) {
			member_line(&ops[i], line, sizeof(line));
			line[strlen(line) - 1] = 0;
			errs[i] = run_quiet(vs, "%s", line);
			if (errs[i] < 0 && failed++ == 0)
				snprintf(first, sizeof(first), "`%s`: %s", line, vs->err);
		}
		if (failed)
			log_limited(LOG_LVL_WARN, "ipset_member", "ipset: %zu of %zu member "
				    "changes failed, the first %s", failed, n, first);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		errs[i] = 0;
	return 0;
}
