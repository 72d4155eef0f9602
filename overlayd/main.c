// SPDX-License-Identifier: Apache-2.0
/* overlayd: watches node reachability and publishes it. */
#include <stdlib.h>

#include "common/daemon.h"
#include "common/log.h"

static const struct opt overlayd_opts[] = {
	{ NULL, 0, 0, NULL, NULL },
};

static const char *overlayd_apply(int key, const char *value, void *ctx)
{
	(void)key;
	(void)value;
	(void)ctx;
	return "unknown option";
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	struct ipc_pub *pub;
	char url[256];
	int rc;

	log_init("overlayd", LOG_LVL_INFO);
	switch (opts_parse(argc, argv, "overlayd", "Watches which nodes are reachable and publishes the reachability set.",
			   overlayd_opts, overlayd_apply, NULL, &d.opts)) {
	case OPTS_EXIT_OK:
		return 0;
	case OPTS_EXIT_ERROR:
		return 2;
	case OPTS_RUN:
		break;
	}
	if (d.opts.check_config)
		return 0;
	if (daemon_start(&d, "overlayd") < 0)
		return 1;
	if (daemon_url(&d, "overlayd", "pub", url, sizeof(url)) < 0 ||
	    !(pub = ipc_pub_open(d.base, url, d.rep, 5000)))
		return 1;
	daemon_notify("READY=1");
	rc = daemon_run(&d);
	ipc_pub_close(pub);
	daemon_stop(&d);
	return rc;
}
