// SPDX-License-Identifier: Apache-2.0
#include "common/opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/daemon.h"
#include "common/http.h"
#include "common/log.h"
#include "common/version.h"

enum { K_HELP = 'h', K_VERSION = 'V', K_CONFIG = 0x1000, K_CHECK, K_RUNDIR, K_LOGLEVEL, K_HTTP };

static const struct opt common_table[] = {
	{ "help", no_argument, K_HELP, NULL, "show this help and exit" },
	{ "version", no_argument, K_VERSION, NULL, "show the version and exit" },
	{ "config", required_argument, K_CONFIG, "FILE", "configuration file (default " L4LB_DEFAULT_CONFIG " if present)" },
	{ "check-config", no_argument, K_CHECK, NULL, "check the configuration and exit" },
	{ "run-dir", required_argument, K_RUNDIR, "DIR", "directory of the IPC sockets (default " L4LB_DEFAULT_RUN_DIR ")" },
	{ "log-level", required_argument, K_LOGLEVEL, "LEVEL", "error, warn, info (default) or debug" },
	{ "http-listen", required_argument, K_HTTP, "ADDR:PORT", "HTTP endpoint (/healthz, /metrics, /v1/...) or off" },
	{ NULL, 0, 0, NULL, NULL },
};

struct parse_ctx {
	const struct opt *opts;
	opt_apply_fn apply;
	void *ctx;
	struct common_opts *common;
};

static const struct opt *find_opt(const struct opt *t, const char *name)
{
	for (; t && t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static const char *apply_common(int key, const char *value, struct common_opts *c)
{
	char host[64];
	uint16_t port;
	int lvl;

	switch (key) {
	case K_RUNDIR:
		if (*value != '/')
			return "must be an absolute path";
		c->run_dir = value;
		return NULL;
	case K_LOGLEVEL:
		lvl = log_level_parse(value);
		if (lvl < 0)
			return "expected error, warn, info or debug";
		c->log_level = lvl;
		log_set_level(lvl);
		return NULL;
	case K_CHECK:
		c->check_config = 1;
		return NULL;
	case K_HTTP:
		if (strcmp(value, "off") != 0 && http_parse_listen(value, host, sizeof(host), &port))
			return "expected IP:PORT, [IPv6]:PORT or off";
		c->http_listen = value;
		return NULL;
	}
	return NULL;
}

static const char *bool_value(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
		*out = 0;
	else
		return "expected yes or no";
	return NULL;
}

/* Config file keys go through the same apply functions as flags. Values
 * must outlive parsing (options keep pointers), so they are duplicated. */
static const char *config_kv(const char *key, const char *value, void *arg)
{
	struct parse_ctx *p = arg;
	const struct opt *o = find_opt(p->opts, key);
	const struct opt *c = find_opt(common_table, key);
	char *copy;
	int on = 1;

	if (c && (c->key == K_RUNDIR || c->key == K_LOGLEVEL || c->key == K_HTTP)) {
		if (!(copy = strdup(value)))
			return "out of memory";
		return apply_common(c->key, copy, p->common);
	}
	if (!o)
		return "unknown option";
	if (o->has_arg == no_argument) {
		const char *why = bool_value(value, &on);

		if (why)
			return why;
		return on ? p->apply(o->key, "1", p->ctx) : NULL;
	}
	if (!(copy = strdup(value)))
		return "out of memory";
	return p->apply(o->key, copy, p->ctx);
}

static void usage(const char *prog, const char *summary, const struct opt *opts)
{
	const struct opt *tables[] = { opts, common_table };

	printf("Usage: %s [OPTION]...\n%s\n\nOptions:\n", prog, summary);
	for (int t = 0; t < 2; t++) {
		for (const struct opt *o = tables[t]; o && o->name; o++) {
			char left[64];

			snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
			if (o->key < 256 && o->key > ' ')
				printf("  -%c, %-26s %s", o->key, left, o->help);
			else
				printf("      %-26s %s", left, o->help);
			/* each daemon has its own port */
			if (t == 1 && o->key == K_HTTP)
				printf(" (default %s)", opts_http_default(prog));
			printf("\n");
		}
	}
	printf("\nEvery option can also be set in the [%s] section of the configuration file.\n", prog);
}

static size_t count(const struct opt *t)
{
	size_t n = 0;

	while (t && t[n].name)
		n++;
	return n;
}

enum opts_result opts_parse(int argc, char **argv, const char *prog, const char *summary,
			    const struct opt *opts, opt_apply_fn apply, void *ctx,
			    struct common_opts *common)
{
	size_t n = count(opts), nc = count(common_table), i = 0;
	struct option *lo = calloc(n + nc + 1, sizeof(*lo));
	char shorts[128] = "", err[600];
	struct parse_ctx p = { opts, apply, ctx, common };
	enum opts_result res = OPTS_EXIT_ERROR;
	const char *config = NULL;
	int c, idx;

	if (!lo)
		return OPTS_EXIT_ERROR;
	common->run_dir = L4LB_DEFAULT_RUN_DIR;
	for (const struct opt *t = opts; t && t->name; t++, i++)
		lo[i] = (struct option){ t->name, t->has_arg, NULL, t->key };
	for (const struct opt *t = common_table; t->name; t++, i++)
		lo[i] = (struct option){ t->name, t->has_arg, NULL, t->key };
	for (size_t j = 0; j < i; j++) {
		if (lo[j].val > ' ' && lo[j].val < 128) {
			size_t l = strlen(shorts);

			shorts[l] = (char)lo[j].val;
			shorts[l + 1] = '\0';
			if (lo[j].has_arg)
				strcat(shorts, ":");
		}
	}

	/* First pass: --help, --version and --config only. */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, lo, &idx)) != -1) {
		if (c == K_HELP) {
			usage(prog, summary, opts);
			res = OPTS_EXIT_OK;
			goto done;
		}
		if (c == K_VERSION) {
			printf("%s (l4lb) %s\n", prog, L4LB_VERSION);
			res = OPTS_EXIT_OK;
			goto done;
		}
		if (c == K_CONFIG)
			config = optarg;
	}
	if (!config && access(L4LB_DEFAULT_CONFIG, R_OK) == 0)
		config = L4LB_DEFAULT_CONFIG;
	common->config = config;
	if (config && config_load(config, prog, config_kv, &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto done;
	}

	/* Second pass: the command line, applied after the file. */
	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, lo, &idx)) != -1) {
		const struct opt *o = NULL;
		const char *why;

		if (c == '?' || c == ':') {
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			goto done;
		}
		if (c == K_CONFIG)
			continue;
		for (const struct opt *t = common_table; t->name && !o; t++)
			if (t->key == c)
				o = t;
		why = o ? apply_common(c, optarg ? optarg : "1", common)
			: apply(c, optarg ? optarg : "1", ctx);
		if (why) {
			for (const struct option *l = lo; l->name; l++)
				if (l->val == c)
					fprintf(stderr, "%s: --%s %s: %s\n", prog, l->name,
						optarg ? optarg : "", why);
			goto done;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		goto done;
	}
	res = OPTS_RUN;
done:
	free(lo);
	return res;
}

const char *opts_http_default(const char *prog)
{
	if (strcmp(prog, "vipd") == 0)
		return L4LB_HTTP_VIPD;
	if (strcmp(prog, "overlayd") == 0)
		return L4LB_HTTP_OVERLAYD;
	if (strcmp(prog, "ipvsd") == 0)
		return L4LB_HTTP_IPVSD;
	return "off";
}

const char *opt_uint(const char *value, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*value < '0' || *value > '9')
		return "expected a number";
	v = strtoul(value, &end, 10);
	if (errno || *end)
		return "expected a number";
	if (v < min || v > max)
		return "out of range";
	*out = v;
	return NULL;
}
