// SPDX-License-Identifier: Apache-2.0
/* ipvsd: programs the kernel (IPVS, VIP addresses, ipset, NAT) from the
 * VIP table and the reachability set. The work is in reconcile.c. */
#include <stdlib.h>

#include "common/daemon.h"
#include "common/log.h"
#include "ipvsd/cleanup.h"
#include "ipvsd/http_views.h"
#include "ipvsd/options.h"
#include "ipvsd/reconcile.h"

/* pub NULL: snapshots only when asked for (stale_ms: when nothing came). */
static struct ipc_sub *subscribe(struct daemon *d, const char *peer, const char *pub, int type,
				 unsigned stale_ms, ipc_snapshot_fn fn, void *arg)
{
	char pub_url[256], rep[256];

	if ((pub && daemon_url(d, peer, pub, pub_url, sizeof(pub_url)) < 0) ||
	    daemon_url(d, peer, "rep", rep, sizeof(rep)) < 0)
		return NULL;
	return ipc_sub_open(d->base, pub ? pub_url : NULL, rep, type, stale_ms, fn, arg);
}

/* The VIP table: deltas on vipd.delta.pub, snapshots asked of vipd.rep at
 * start, when a delta does not fit and every reconcile period. */
static struct ipc_feed *follow_vips(struct daemon *d, struct reconciler *r,
				    const struct reconcile_cfg *cfg, struct ipc_sub **snaps)
{
	char url[256];

	*snaps = subscribe(d, "vipd", NULL, L4LB__V1__ENVELOPE__TYPE__VIP_TABLE,
			   (cfg->interval_s + 5) * 1000, reconcile_on_vip_table, r);
	if (!*snaps || daemon_url(d, "vipd", "delta.pub", url, sizeof(url)) < 0)
		return NULL;
	ipc_sub_set_raw(*snaps, reconcile_vip_peek, reconcile_vip_apply);
	reconcile_set_vip_source(r, *snaps);
	return ipc_feed_open(d->base, url, reconcile_on_vip_delta, r);
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	struct reconcile_cfg cfg;
	struct reconciler *r = NULL;
	struct ipc_sub *vips = NULL, *reach = NULL;
	struct ipc_feed *deltas;
	int rc;

	ipvsd_options_defaults(&cfg);
	rc = daemon_options(&d, "ipvsd",
			    "Programs IPVS, the VIP addresses, ipset and NAT rules from the VIP table.",
			    argc, argv, ipvsd_opts, ipvsd_options_apply, &cfg);
	if (rc >= 0)
		return rc;
	ipvsd_options_finish(&cfg);
	if (d.opts.check_config)
		return 0;
	if (cfg.cleanup)
		return ipvsd_cleanup(&cfg, d.opts.run_dir);
	if (daemon_start(&d, "ipvsd") < 0)
		return 1;
	if (reconcile_new(d.base, &cfg, &r) < 0) {
		daemon_stop(&d);
		return 1;
	}
	d.info = reconcile_status;
	d.info_arg = r;
	ipvsd_http_init(&d, r);
	ipc_server_handle(d.rep, L4LB__V1__ENVELOPE__TYPE__IPVS_STATE_REQUEST,
			  reconcile_state_reply, r);
	deltas = follow_vips(&d, r, &cfg, &vips);
	reach = subscribe(&d, "overlayd", "pub", L4LB__V1__ENVELOPE__TYPE__REACHABILITY, 0,
			  reconcile_on_reachability, r);
	rc = 1;
	if (deltas && reach)
		rc = daemon_run(&d); /* READY=1 follows the first reconcile */
	ipc_feed_close(deltas);
	ipc_sub_close(vips);
	ipc_sub_close(reach);
	reconcile_free(r); /* flushes nothing: the kernel keeps serving */
	daemon_stop(&d);
	return rc;
}
