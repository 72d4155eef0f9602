// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/cleanup.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/array.h"
#include "common/log.h"
#include "ipvsd/child.h"
#include "ipvsd/cleanup_nat.h"
#include "ipvsd/ipvs_nl.h"
#include "ipvsd/nat_backend.h"
#include "ipvsd/state_file.h"
#include "ipvsd/vip_addr.h"
#include "ipvsd/vip_set.h"

int ipvsd_running(const char *run_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, up;

	/* nanomsg's ipc:// is a Unix stream socket: a stale file refuses */
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ipvsd.rep", run_dir) >=
	    sizeof(sa.sun_path))
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

static int no_dests(const struct svc_key *k, void *arg)
{
	(void)k;
	(void)arg;
	return 0; /* deleting a service deletes its destinations */
}

/* The largest nat table read (kube-proxy's can hold tens of thousands of
 * rules): the buffer is only touched as far as the output goes. */
#define NAT_SAVE_MAX (16u << 20)

/* Removes ipvsd's nat chains and its jumps to them from one backend
 * (ipt: "iptables-legacy"...): one `<ipt>-save -t nat`, then, if a chain is
 * there, one `<ipt>-restore -w --noflush` transaction. 0, or -EIO.
 * quiet: a missing binary is no warning (not every host has both backends) */
static int nat_remove(const char *ipt, int quiet)
{
	char save[48], restore[48], script[CHILD_INPUT_MAX], out[256];
	const char *save_argv[] = { save, "-t", "nat", NULL };
	const char *restore_argv[] = { restore, "-w", "--noflush", NULL };
	struct cleanup_nat found;
	char *table = malloc(NAT_SAVE_MAX);
	int rc;

	if (!table)
		return -EIO;
	snprintf(save, sizeof(save), "%s-save", ipt);
	snprintf(restore, sizeof(restore), "%s-restore", ipt);
	rc = child_run(save_argv, table, NAT_SAVE_MAX);
	if (rc == -ENOENT) {
		if (!quiet)
			log_warn("cleanup: %s not found: no nat rules of its to remove", save);
		rc = 0;
		goto done;
	}
	if (rc != 0) {
		/* as `iptables -S CHAIN` failing was before: no table, no chain */
		log_info("cleanup: %s -t nat: %.200s: nothing to remove there", save,
			 rc < 0 ? strerror(-rc) : table);
		rc = 0;
		goto done;
	}
	if (strlen(table) >= NAT_SAVE_MAX - 1) {
		log_error("cleanup: %s -t nat printed over %u MiB: not read", save,
			  NAT_SAVE_MAX >> 20);
		rc = -EIO;
		goto done;
	}
	if (cleanup_nat_script(table, script, sizeof(script), &found) < 0) {
		rc = -EIO; /* cannot happen: the script's size is bounded */
		goto done;
	}
	if (!found.chains)
		goto done;
	rc = child_run_in(restore_argv, script, out, sizeof(out));
	if (rc != 0) {
		for (char *nl = out; (nl = strchr(nl, '\n'));)
			*nl = ' '; /* one log line: iptables-restore says "...:\nline N failed" */
		log_error("cleanup: %s -w --noflush (%u chains, %u jumps): %s", restore,
			  found.chains, found.jumps, rc < 0 ? strerror(-rc) : out);
		rc = -EIO;
		goto done;
	}
	log_info("cleanup: %s: removed %u nat chains and %u jumps to them", ipt, found.chains,
		 found.jumps);
done:
	free(table);
	return rc;
}

static int push_op(struct plan *p, const struct plan_op *op)
{
	if (array_grow((void **)&p->ops, &p->cap, p->n + 1, sizeof(*op), 16) < 0)
		return -ENOMEM;
	p->ops[p->n++] = *op;
	return 0;
}

/* Addresses, then services: no client meets an address without a service. */
static int kernel_remove(const struct reconcile_cfg *cfg, const struct ipvsd_state *st,
			 struct vip_addr *va, size_t *nsvc, size_t *naddr)
{
	struct owned owned = { .ranges = (struct vip_range *)cfg->ranges, .n = cfg->n_ranges,
			       .recorded = &st->vips };
	struct ipvs_table *t = ipvs_table_new();
	struct key_set addrs = { 0 };
	struct plan p = { 0 };
	struct ipvs_nl *nl = NULL;
	int *errs = NULL, rc;

	if (!t)
		return -ENOMEM;
	rc = ipvs_nl_open(&nl);
	if (rc == -ENOENT) {
		log_info("cleanup: no IPVS in this kernel: no services to remove");
		rc = 0;
	} else if (rc == 0) {
		rc = ipvs_nl_dump(nl, no_dests, NULL, t);
	}
	if (rc < 0 || (va && (rc = vip_addr_list(va, &addrs)) < 0))
		goto done;
	for (size_t i = 0; i < addrs.n; i++) {
		struct plan_op op = { .type = OP_DEL_ADDR, .key = addrs.k[i] };

		if (owned_addr(&owned, &op.key) && (rc = push_op(&p, &op)) < 0)
			goto done;
	}
	*naddr = p.n;
	for (size_t i = 0; i < t->n; i++) {
		struct plan_op op = { .type = OP_DEL_SVC, .key = t->svcs[i].key };

		if (owned_contains(&owned, &op.key) && (rc = push_op(&p, &op)) < 0)
			goto done;
	}
	*nsvc = p.n - *naddr;
	errs = calloc(p.n + 1, sizeof(*errs));
	if (!errs) {
		rc = -ENOMEM;
		goto done;
	}
	if (*naddr && (rc = vip_addr_apply(va, p.ops, *naddr, errs)) < 0)
		goto done;
	if (*nsvc && (rc = ipvs_nl_apply(nl, p.ops + *naddr, *nsvc, errs + *naddr)) < 0)
		goto done;
	for (size_t i = 0; i < p.n; i++) {
		char buf[160];

		if (errs[i] < 0) {
			log_error("cleanup: %s: %s", plan_op_format(&p.ops[i], buf, sizeof(buf)),
				  strerror(-errs[i]));
			rc = -EIO;
		}
	}
done:
	free(errs);
	plan_free_ops(&p);
	key_set_clear(&addrs);
	ipvs_table_free(t);
	ipvs_nl_close(nl);
	return rc;
}

int ipvsd_cleanup(const struct reconcile_cfg *cfg, const char *run_dir)
{
	struct ipvsd_state st = { 0 };
	struct vip_addr *va = NULL;
	struct vip_set *vs = NULL;
	size_t nsvc = 0, naddr = 0;
	int rc, failed = 0, has_if = if_nametoindex(cfg->ifname) != 0;

	if (ipvsd_running(run_dir)) {
		log_error("cleanup: an ipvsd is running on %s: stop it first", run_dir);
		return 1;
	}
	if ((rc = ipvsd_state_load(cfg->state_dir, &st)) < 0) {
		log_error("cleanup: cannot read the state file in %s: %s", cfg->state_dir,
			  strerror(-rc));
		return 1;
	}
	/* an existing interface is only opened, never created here */
	if (has_if && (rc = vip_addr_open(cfg->ifname, 0, cfg->any_if, &va)) < 0)
		failed = 1;
	if ((rc = kernel_remove(cfg, &st, va, &nsvc, &naddr)) < 0) {
		log_error("cleanup: IPVS services and VIP addresses: %s", strerror(-rc));
		failed = 1;
	}
	/* the rules before the sets they match on (a set in use cannot go) */
	/* both families, even when the first fails; every backend an earlier
	 * start may have chosen (the legacy one only where it is in use) */
	for (int v6 = 0; v6 < 2; v6++) {
		if (nat_remove(nat_backend_name(NAT_BACKEND_SYSTEM, v6), 0) < 0)
			failed = 1;
		if (nat_remove(nat_backend_name(NAT_BACKEND_NFT, v6), 1) < 0)
			failed = 1;
		if (nat_backend_legacy_loaded(v6) &&
		    nat_remove(nat_backend_name(NAT_BACKEND_LEGACY, v6), 1) < 0)
			failed = 1;
	}
	if (vip_set_open(1, &vs) < 0 || vip_set_destroy(vs) < 0)
		failed = 1;
	if (va && !strcmp(st.made_if, cfg->ifname)) {
		if (vip_addr_delete_link(va) < 0)
			failed = 1;
		else
			log_info("cleanup: deleted interface %s (created by ipvsd)", cfg->ifname);
	}
	if (!failed && (rc = ipvsd_state_remove(cfg->state_dir)) < 0) {
		log_error("cleanup: cannot remove the state file: %s", strerror(-rc));
		failed = 1;
	}
	log_info("cleanup: %s: %zu services, %zu VIP addresses, nat chains, ipsets",
		 failed ? "incomplete" : "done", nsvc, naddr);
	vip_set_close(vs);
	vip_addr_close(va);
	ipvsd_state_clear(&st);
	return failed;
}
