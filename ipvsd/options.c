// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/options.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipvsd/nat_backend.h"

enum {
	OPT_DRY_RUN = 0x100,
	OPT_SCHEDULER,
	OPT_INTERFACE,
	OPT_NODE_IP,
	OPT_VIP_RANGE,
	OPT_INTERVAL,
	OPT_GRACE,
	OPT_STATE_DIR,
	OPT_CLEANUP,
	OPT_ANY_IF,
	OPT_REACH_WAIT,
	OPT_IPTABLES,
	OPT_SLICE,
};

const struct opt ipvsd_opts[] = {
	{ "dry-run", no_argument, OPT_DRY_RUN, NULL,
	  "print the kernel changes (in order) instead of making them (own --run-dir)" },
	{ "scheduler", required_argument, OPT_SCHEDULER, "NAME",
	  "IPVS scheduler: rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos (default wlc)" },
	{ "interface", required_argument, OPT_INTERFACE, "NAME",
	  "dummy interface holding the VIPs (default minuteman)" },
	{ "any-interface", no_argument, OPT_ANY_IF, NULL,
	  "allow an existing --interface that is not a dummy (only VIP addresses are removed)" },
	{ "node-ip", required_argument, OPT_NODE_IP, "IP",
	  "this node's agent IP: its port-mapped backends use the task address" },
	{ "vip-range", required_argument, OPT_VIP_RANGE, "CIDR",
	  "VIP range ipvsd owns (repeatable; default 11.0.0.0/8 and fd01:c::/64; any given "
	  "range replaces both defaults)" },
	{ "reconcile-interval", required_argument, OPT_INTERVAL, "SECONDS",
	  "full reconcile against the kernel every SECONDS (default 30)" },
	{ "full-pass-slice-ms", required_argument, OPT_SLICE, "MS",
	  "the full reconcile reads destinations for about MS ms at a time, then lets "
	  "snapshots through (default 2; 0: all at once)" },
	{ "drain-grace", required_argument, OPT_GRACE, "SECONDS",
	  "delete a draining TCP backend after SECONDS at the latest (default 300)" },
	{ "reachability-wait", required_argument, OPT_REACH_WAIT, "MS",
	  "at start, wait up to MS ms for overlayd's reachability before the first plan "
	  "(default 2000)" },
	{ "state-dir", required_argument, OPT_STATE_DIR, "DIR",
	  "where ipvsd.state is kept (default /var/lib/l4lb)" },
	{ "cleanup", no_argument, OPT_CLEANUP, NULL,
	  "remove what ipvsd created (services, addresses, ipsets, nat chains), exit" },
	{ "iptables", required_argument, OPT_IPTABLES, "auto|system|nft|legacy",
	  "iptables backend for the nat chains (default auto: the one holding more nat rules)" },
	{ NULL, 0, 0, NULL, NULL },
};

/* The schedulers of Linux's IPVS (net/netfilter/ipvs/ip_vs_<name>.c). A name
 * outside this list would make every add-service fail while the VIP
 * addresses still went in, so it is refused at start. */
static int sched_known(const char *name)
{
	static const char *const known[] = { "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
					     "sh", "sed", "nq", "fo", "ovf", "mh", "twos" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name, known[i]))
			return 1;
	return 0;
}

void ipvsd_options_defaults(struct reconcile_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dcfg.sched = "wlc";
	cfg->ifname = "minuteman";
	cfg->interval_s = 30;
	cfg->grace_s = 300;
	cfg->reach_wait_ms = 2000;
	cfg->slice_ms = 2;
	cfg->state_dir = "/var/lib/l4lb";
	cfg->iptables = NAT_BACKEND_AUTO;
}

const char *ipvsd_options_apply(int key, const char *value, void *ctx)
{
	struct reconcile_cfg *cfg = ctx;
	unsigned long n;
	const char *why;

	switch (key) {
	case OPT_DRY_RUN:
		cfg->dry_run = 1;
		return NULL;
	case OPT_SCHEDULER:
		if (!sched_known(value))
			return "not an IPVS scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf "
			       "mh twos)";
		cfg->dcfg.sched = strdup(value); /* the config file text goes away */
		return NULL;
	case OPT_INTERFACE:
		if (!*value || strlen(value) >= IFNAMSIZ || strchr(value, '/'))
			return "not an interface name";
		cfg->ifname = strdup(value);
		return NULL;
	case OPT_NODE_IP:
		if (inet_pton(AF_INET, value, cfg->dcfg.node_ip) == 1)
			cfg->dcfg.node_ip_len = 4;
		else if (inet_pton(AF_INET6, value, cfg->dcfg.node_ip) == 1)
			cfg->dcfg.node_ip_len = 16;
		else
			return "not an IP address";
		return NULL;
	case OPT_VIP_RANGE:
		if (cfg->n_ranges >= RECONCILE_MAX_RANGES)
			return "too many ranges";
		if (vip_range_parse(value, &cfg->ranges[cfg->n_ranges]) < 0)
			return "not a CIDR range";
		cfg->n_ranges++;
		return NULL;
	case OPT_INTERVAL:
		if ((why = opt_uint(value, 1, 86400, &n)))
			return why;
		cfg->interval_s = (unsigned)n;
		return NULL;
	case OPT_GRACE:
		if ((why = opt_uint(value, 0, 86400, &n)))
			return why;
		cfg->grace_s = (unsigned)n;
		return NULL;
	case OPT_STATE_DIR:
		if (value[0] != '/')
			return "not an absolute path";
		cfg->state_dir = strdup(value);
		return NULL;
	case OPT_CLEANUP:
		cfg->cleanup = 1;
		return NULL;
	case OPT_REACH_WAIT:
		if ((why = opt_uint(value, 0, 60000, &n)))
			return why;
		cfg->reach_wait_ms = (unsigned)n;
		return NULL;
	case OPT_SLICE:
		if ((why = opt_uint(value, 0, 1000, &n)))
			return why;
		cfg->slice_ms = (unsigned)n;
		return NULL;
	case OPT_ANY_IF:
		cfg->any_if = 1;
		return NULL;
	case OPT_IPTABLES:
		if (nat_backend_parse(value) < 0)
			return "not auto, system, nft or legacy";
		cfg->iptables = nat_backend_parse(value);
		return NULL;
	}
	return "unknown option";
}

void ipvsd_options_finish(struct reconcile_cfg *cfg)
{
	if (cfg->n_ranges)
		return;
	vip_range_parse("11.0.0.0/8", &cfg->ranges[0]);
	vip_range_parse("fd01:c::/64", &cfg->ranges[1]);
	cfg->n_ranges = 2;
}
