// SPDX-License-Identifier: Apache-2.0
/* ipvsd: programs the kernel (IPVS, VIP addresses, ipset, NAT) from the
 * VIP table and the reachability set. */
#include <stdlib.h>

#include "common/daemon.h"
#include "common/log.h"

enum { OPT_DRY_RUN = 0x100 };

struct ipvsd_cfg {
	int dry_run;
};

static const struct opt ipvsd_opts[] = {
	{ "dry-run", no_argument, OPT_DRY_RUN, NULL, "log the kernel changes instead of making them" },
	{ NULL, 0, 0, NULL, NULL },
};

static const char *ipvsd_apply(int key, const char *value, void *ctx)
{
	struct ipvsd_cfg *cfg = ctx;

	(void)value;
	switch (key) {
	case OPT_DRY_RUN:
		cfg->dry_run = 1;
		return NULL;
	}
	return "unknown option";
}

static void on_vip_table(const Envelope *env, void *arg)
{
	(void)arg;
	log_info("VIP table generation %llu: %zu VIPs",
		 (unsigned long long)env->vip_table->generation, env->vip_table->n_vips);
}

static void on_reachability(const Envelope *env, void *arg)
{
	(void)arg;
	log_info("reachability generation %llu: %zu nodes reachable",
		 (unsigned long long)env->reachability->generation, env->reachability->n_reachable);
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	struct ipvsd_cfg cfg = { 0 };
	struct ipc_sub *vips = NULL, *reach = NULL;
	char pub[256], rep[256];
	int rc;

	log_init("ipvsd", LOG_LVL_INFO);
	switch (opts_parse(argc, argv, "ipvsd",
			   "Programs IPVS, the VIP addresses, ipset and NAT rules from the VIP table.",
			   ipvsd_opts, ipvsd_apply, &cfg, &d.opts)) {
	case OPTS_EXIT_OK:
		return 0;
	case OPTS_EXIT_ERROR:
		return 2;
	case OPTS_RUN:
		break;
	}
	if (d.opts.check_config)
		return 0;
	if (!cfg.dry_run)
		fatal("kernel programming is not implemented yet: run with --dry-run");
	if (daemon_start(&d, "ipvsd") < 0)
		return 1;
	if (daemon_url(&d, "vipd", "pub", pub, sizeof(pub)) == 0 &&
	    daemon_url(&d, "vipd", "rep", rep, sizeof(rep)) == 0)
		vips = ipc_sub_open(d.base, pub, rep, L4LB__V1__ENVELOPE__TYPE__VIP_TABLE, 0,
				    on_vip_table, NULL);
	if (daemon_url(&d, "overlayd", "pub", pub, sizeof(pub)) == 0 &&
	    daemon_url(&d, "overlayd", "rep", rep, sizeof(rep)) == 0)
		reach = ipc_sub_open(d.base, pub, rep, L4LB__V1__ENVELOPE__TYPE__REACHABILITY, 0,
				     on_reachability, NULL);
	if (!vips || !reach)
		return 1;
	daemon_notify("READY=1");
	rc = daemon_run(&d);
	ipc_sub_close(vips);
	ipc_sub_close(reach);
	daemon_stop(&d);
	return rc;
}
