// SPDX-License-Identifier: Apache-2.0
/*
 * ipvsd's metrics, read from what ipvsd already shows (the status facts,
 * its counters) plus the kernel's IPVS statistics (ipvs_stats.c), dumped on
 * the reconciler's IPVS socket between two of its own requests.
 */
#include "ipvsd/http_views.h"


#include "common/counters.h"
#include "common/metrics.h"
#include "ipvsd/ipvs_stats.h"
#include "ipvsd/reconcile.h"

static const struct metrics_info status_metrics[] = {
	{ "services", "services", "IPVS services ipvsd wants (one per VIP).", 0 },
	{ "destinations", "backends", "IPVS destinations ipvsd wants (programmed backends).", 0 },
	{ "withheld", "withheld_backends",
	  "Backends not programmed because their node is unreachable.", 0 },
	{ "draining", "draining_backends", "TCP backends at weight 0 until their connections end.",
	  0 },
	{ "last_changes", "last_reconcile_changes", "Kernel changes of the last reconcile.", 0 },
	{ "vip_generation", "vip_table_generation", "Generation of the VIP table in use.", 0 },
	{ "reach_generation", "reachability_generation", "Generation of the reachability in use.",
	  0 },
	{ "last_full_us", "last_full_reconcile_seconds",
	  "Duration of the last full pass (kernel dump, diff, changes applied).", 1e-6 },
	{ "failed_passes", "failed_reconcile_passes",
	  "Reconcile passes failed in a row (the retry backs off up to 30 s).", 0 },
	{ NULL, NULL, NULL, 0 },
};

/* counters.h counters that are kernel writes, by kind */
static const struct {
	const char *counter, *kind;
} writes[] = {
	{ "ipvs_nl_writes", "ipvs" },   { "addr_writes", "address" },
	{ "ipset_writes", "ipset" },    { "nat_rule_writes", "nat_rule" },
	{ "sysctl_writes", "sysctl" },
};

static const struct {
	const char *counter, *help;
} counter_helps[] = {
	{ "changes_applied", "Kernel changes applied." },
	{ "changes_failed", "Kernel changes the kernel refused (retried)." },
	{ "full_reconciles", "Periodic full reconciles against the kernel's own dumps." },
	{ "reconcile_repairs",
	  "Kernel changes made by periodic full reconciles and snapshot checks (drift repaired)." },
	{ "ipvs_dumps", "IPVS dumps read from the kernel." },
	{ "ipvs_dump_errors", "IPVS dumps that failed." },
	{ "ipc_snapshots_applied", "VIP table and reachability snapshots applied." },
	{ "ipc_snapshots_skipped",
	  "VIP table snapshots left alone: the deltas had already brought a newer table." },
	{ "vip_deltas_applied", "VIP table deltas applied (the per-change path)." },
	{ "vip_delta_resyncs",
	  "Deltas that did not follow the table held (gap, new epoch, malformed): a snapshot asked for." },
	{ "vip_deltas_left_over",
	  "Deltas of a restarted vipd's previous run read after the new run's snapshot: ignored." },
	{ "nat_check_fallbacks",
	  "Nat rule pieces checked by their own iptables command: the nat table's listing could not "
	  "tell (another print form), or failed, was over 4 MiB or was not whole." },
};

static struct {
	struct daemon *d;
	struct reconciler *r;
} views;

static void collect(void *arg)
{
	struct daemon *d = views.d;

	(void)arg;
	if (d->info)
		d->info(metrics_info_kv, (void *)status_metrics, d->info_arg);
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		const char *labels[] = { "kind", writes[i].kind, NULL };

		metrics_counter_set("kernel_writes_total", "Writes to the kernel, by kind.", labels,
				    (double)counter_value(writes[i].counter));
	}
	ipvs_stats_collect(reconcile_ipvs_nl(views.r));
}

int ipvsd_http_init(struct daemon *d, struct reconciler *r)
{
	static const double buckets[] = METRICS_DEFAULT_BUCKETS;

	for (size_t i = 0; i < sizeof(counter_helps) / sizeof(counter_helps[0]); i++)
		metrics_counter_help(counter_helps[i].counter, counter_helps[i].help);
	metrics_histogram_new("reconcile_duration_seconds",
			      "Reconciles that changed the kernel: from input to changes applied.",
			      buckets, sizeof(buckets) / sizeof(buckets[0]));
	views.d = d;
	views.r = r;
	return metrics_add_collector(collect, NULL);
}
