// SPDX-License-Identifier: Apache-2.0
/* overlayd: watches node reachability and publishes it. */
#include <stdlib.h>

#include "common/daemon.h"
#include "common/log.h"
#include "overlayd/config.h"
#include "overlayd/http_views.h"
#include "overlayd/service.h"

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	struct overlayd_cfg cfg;
	struct ipc_pub *pub;
	struct service *svc;
	const char *why;
	char url[256];
	int rc;

	overlayd_cfg_init(&cfg);
	rc = daemon_options(&d, "overlayd",
			    "Watches which nodes are reachable and publishes the reachability set.",
			    argc, argv, overlayd_opts, overlayd_cfg_apply, &cfg);
	if (rc >= 0)
		return rc;
	if ((why = overlayd_cfg_finish(&cfg))) {
		log_error("overlayd: %s", why);
		return 2;
	}
	if (d.opts.check_config)
		return 0;
	if (daemon_start(&d, "overlayd") < 0)
		return 1;
	if (daemon_url(&d, "overlayd", "pub", url, sizeof(url)) < 0 ||
	    !(pub = ipc_pub_open(d.base, url, d.rep, 5000)))
		return 1;
	if (!(svc = service_new(&d, pub, &cfg)))
		return 1;
	overlayd_http_init(&d); /* READY=1 comes with the first published reachability */
	rc = daemon_run(&d);
	service_free(svc);
	overlayd_cfg_free(&cfg);
	ipc_pub_close(pub);
	daemon_stop(&d);
	return rc;
}
