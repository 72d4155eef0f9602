// SPDX-License-Identifier: Apache-2.0
/* vipd: learns VIPs and their backends and publishes the VIP table. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/daemon.h"
#include "common/log.h"
#include "vipd/core.h"
#include "vipd/delta.h"
#include "vipd/from_file.h"
#include "vipd/http_views.h"
#include "vipd/master.h"
#include "vipd/options.h"
#include "vipd/show.h"
#include "vipd/vips_file.h"

int main(int argc, char **argv)
{
	struct vipd_options o;
	struct daemon d = { 0 };
	struct vip_table *statics = NULL, *t;
	struct ipc_pub *pub = NULL;
	struct delta_state delta = { 0 };
	struct master *mc = NULL;
	struct core *c = NULL;
	char url[256], err[512];
	int rc = 1;

	/* A master's reply is parsed into 100,000 small allocations at once:
	 * the heap grows (and is kept after a free at its top) in 16 MB steps,
	 * not 128 KB, which saves a third of the page faults of a full parse.
	 * (Untouched, the pad is not resident; full builds end in malloc_trim.) */
	mallopt(M_TOP_PAD, 16 << 20);
	vipd_options_defaults(&o);
	rc = daemon_options(&d, "vipd", "Learns VIPs and their backends and publishes the VIP table.",
			    argc, argv, vipd_opts, vipd_options_apply, &o);
	if (rc >= 0) {
		vipd_options_free(&o); /* --help, --version or a refused option */
		return rc;
	}
	rc = 1;
	if (o.show)
		return show_snapshot(d.opts.run_dir);
	if (o.vips_file && !(statics = vips_load(o.vips_file, err, sizeof(err)))) {
		/* configuration, like a bad option: status 2 (vipd.8) */
		log_error("--vips-file %s", err);
		vipd_options_free(&o);
		return 2;
	}
	if (o.from_file && o.print) {
		if (from_file_print(o.from_file, statics, stdout, 1, err, sizeof(err)) < 0)
			fatal("--from-file %s", err);
		vip_table_free(statics);
		vipd_options_free(&o);
		return 0;
	}
	if (o.from_file) {
		if (!(t = from_file_table(o.from_file, statics, err, sizeof(err))))
			fatal("--from-file %s", err);
		vip_table_free(statics);
		statics = t; /* serve the saved state as static VIPs */
	} else if (o.print) {
		fatal("--print needs --from-file");
	}
	if (d.opts.check_config) {
		vip_table_free(statics);
		vipd_options_free(&o);
		return 0;
	}
	if (daemon_start(&d, "vipd") < 0)
		return 1;
	if (daemon_url(&d, "vipd", "pub", url, sizeof(url)) < 0 ||
	    !(pub = ipc_pub_open(d.base, url, d.rep, 5000)) ||
	    !(c = core_new(d.base, &o, pub, statics)))
		goto done;
	/* deltas beside the snapshots; republished (no requests) so a reader
	 * that lost one notices it is behind */
	if (daemon_url(&d, "vipd", "delta.pub", url, sizeof(url)) < 0 ||
	    !(delta.pub = ipc_pub_open(d.base, url, NULL, 5000)))
		goto done;
	c->delta = &delta;
	d.info = core_status;
	d.info_arg = c;
	d.reload = core_reload;
	d.reload_arg = c;
	vipd_http_init(&d);
	/* READY=1 comes from the core: after the first publication (or a bound) */
	if (o.nmasters ? !(mc = master_new(d.base, &o, c)) : core_rebuild(c) < 0)
		goto done;
	rc = daemon_run(&d);
done:
	master_free(mc);
	core_free(c);
	ipc_pub_close(pub);
	ipc_pub_close(delta.pub);
	delta_state_clear(&delta);
	daemon_stop(&d);
	vipd_options_free(&o);
	return rc;
}
