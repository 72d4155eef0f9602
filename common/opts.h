/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command-line options of every l4lb program, with the options all of them
 * share (--help, --version, --config, --check-config, --run-dir,
 * --log-level, --http-listen). A program lists its own options in a table; the same names
 * are the keys of its section in the configuration file.
 */
#ifndef L4LB_OPTS_H
#define L4LB_OPTS_H

#include <getopt.h>

#define L4LB_DEFAULT_RUN_DIR "/run/l4lb"
#define L4LB_DEFAULT_CONFIG "/etc/l4lb/l4lb.conf"

struct opt {
	const char *name; /* long option and config key */
	int has_arg;      /* no_argument or required_argument */
	int key;          /* passed to the apply function; > 255 unless a short option */
	const char *arg;  /* argument name shown by --help */
	const char *help;
};

/* Applies one option; value is "1" for flags. NULL, or a reason it is bad. */
typedef const char *(*opt_apply_fn)(int key, const char *value, void *ctx);

struct common_opts {
	const char *run_dir;
	const char *config; /* NULL: no file unless the default exists */
	int log_level;
	int check_config;
	const char *http_listen; /* --http-listen; NULL: the daemon's default */
};

enum opts_result { OPTS_RUN = 0, OPTS_EXIT_OK = 1, OPTS_EXIT_ERROR = 2 };

/*
 * Reads the configuration file (--config, or the default if present) and
 * then argv. Prints --help/--version itself (OPTS_EXIT_OK) and a clear error
 * for a bad option (OPTS_EXIT_ERROR, exit status 2).
 */
enum opts_result opts_parse(int argc, char **argv, const char *prog, const char *summary,
			    const struct opt *opts, opt_apply_fn apply, void *ctx,
			    struct common_opts *common);

/* The HTTP endpoint of a program without --http-listen: its own port for
 * each daemon, "off" for any other program. */
const char *opts_http_default(const char *prog);

/* Helpers for apply functions: parse an unsigned number in [min, max]. */
const char *opt_uint(const char *value, unsigned long min, unsigned long max, unsigned long *out);

#endif
