// SPDX-License-Identifier: Apache-2.0
/* l4lbctl: inspect and operate the l4lb daemons of this node. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opts.h"
#include "common/version.h"
#include "contrib/l4lbctl/l4lbctl.h"
#include "contrib/l4lbctl/nodes.h"

static const struct {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const char *help;
} commands[] = {
	{ "status", cmd_status, "which daemons are up, their versions and uptime" },
	{ "vips", cmd_vips, "the VIP table vipd publishes, with every backend" },
	{ "nodes", cmd_nodes, "overlayd: views, links and which nodes are reachable" },
	{ "ipvs", cmd_ipvs, "what ipvsd programmed, what it wants, and the difference" },
	{ "cleanup", cmd_cleanup, "remove everything l4lb put in the kernel (ipvsd stopped)" },
	{ "diag", cmd_diag, "collect a support archive (tar.gz) on stdout or -o FILE" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: l4lbctl [--run-dir DIR] [--timeout MS] COMMAND [--json]\n"
		   "       l4lbctl [--run-dir DIR] cleanup [--config FILE] [--ipvsd PROGRAM] [--json]\n"
		   "       l4lbctl [--run-dir DIR] diag [-o FILE]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nOptions:\n"
		   "  --run-dir DIR   the daemons' socket directory (default " L4LB_DEFAULT_RUN_DIR ")\n"
		   "  --timeout MS    how long to wait for a daemon's answer (default 2000)\n"
		   "  --json          machine-readable output\n"
		   "  --config FILE   cleanup: the configuration ipvsd is started with\n"
		   "  --ipvsd PROGRAM cleanup: the ipvsd to run (default: installed with l4lbctl)\n"
		   "  -o, --output FILE  diag: write the archive there (default stdout)\n"
		   "  -h, --help      show this help\n  -V, --version   show the version\n"
		   "\nExit status: 0 success, 1 a daemon is down or reports a problem, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "run-dir", required_argument, NULL, 'r' }, { "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },	     { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	     { "config", required_argument, NULL, 'c' },
		{ "ipvsd", required_argument, NULL, 'i' },  { "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { L4LB_DEFAULT_RUN_DIR, 2000, 0, NULL, NULL, NULL };
	unsigned long ms;
	int opt;

	/* Options may come before or after the command ("status --json"). */
	while ((opt = getopt_long(argc, argv, "hVo:", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			c.run_dir = optarg;
			break;
		case 't':
			if (opt_uint(optarg, 1, 600000, &ms)) {
				fprintf(stderr, "l4lbctl: --timeout %s: expected 1..600000 ms\n", optarg);
				return CTL_USAGE;
			}
			c.timeout_ms = (int)ms;
			break;
		case 'j':
			c.json = 1;
			break;
		case 'c':
			c.config = optarg;
			break;
		case 'i':
			c.ipvsd = optarg;
			break;
		case 'o':
			c.output = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			printf("l4lbctl (l4lb) %s\n", L4LB_VERSION);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].fn(&c, argc - optind, argv + optind);
	fprintf(stderr, "l4lbctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return CTL_USAGE;
}
