/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every l4lb daemon does the same way: its run directory and control
 * socket, the status reply, signals (SIGTERM/SIGINT exit cleanly, SIGHUP
 * reloads) and systemd readiness.
 */
#ifndef L4LB_DAEMON_H
#define L4LB_DAEMON_H

#include <event2/event.h>

#include "common/http.h"
#include "common/ipc.h"
#include "common/conf_snap.h"
#include "common/opts.h"

/* Adds daemon-specific facts to the status reply: call kv once per fact. */
typedef void (*status_kv_fn)(const char *key, const char *value, void *kvarg);
typedef void (*status_info_fn)(status_kv_fn kv, void *kvarg, void *arg);
typedef void (*daemon_reload_fn)(void *arg);

struct daemon {
	const char *name;
	struct event_base *base;
	struct ipc_server *rep; /* <run-dir>/<name>.rep */
	struct common_opts opts;
	status_info_fn info;
	void *info_arg;
	daemon_reload_fn reload;
	void *reload_arg;
	struct event *sig[4];
	struct http_server *http; /* NULL when off or not bound */
	struct conf_snap conf;    /* the configuration file as last read (SIGHUP) */
};

/* Default --http-listen of each daemon: loopback only, one port each. */
#define L4LB_HTTP_VIPD "127.0.0.1:61421"
#define L4LB_HTTP_OVERLAYD "127.0.0.1:61422"
#define L4LB_HTTP_IPVSD "127.0.0.1:61423"

/*
 * Starts logging as `name` and reads the configuration file and the command
 * line into d->opts and ctx. Returns -1 when the daemon should go on, or the
 * status main() should exit with: 0 after --help or --version, 2 on a bad
 * option or configuration (already reported). --check-config is left to the
 * daemon, which checks what it derives from the options first.
 */
int daemon_options(struct daemon *d, const char *name, const char *summary, int argc,
		   char **argv, const struct opt *opts, opt_apply_fn apply, void *ctx);

/* Creates the run directory (mode 0750) and the event loop, binds the
 * control socket and answers STATUS_REQUEST on it. 0 or -errno (logged).
 * Also starts the HTTP endpoint (d->http); when it cannot bind, that is
 * logged and the daemon runs without it: it never stops load balancing. */
int daemon_start(struct daemon *d, const char *name);

/* Runs the loop until SIGTERM/SIGINT: 0, or 1 if the loop failed. */
int daemon_run(struct daemon *d);
/* Frees what daemon_start made; the daemon frees its own events first. */
void daemon_stop(struct daemon *d);

/* mkdir -p with mode 0750 for the last component. 0 or -errno. */
int daemon_make_run_dir(const char *dir);

/* The URL of a daemon's socket in this run directory. */
int daemon_url(const struct daemon *d, const char *daemon, const char *kind, char *buf, size_t size);

/* sd_notify protocol written directly: no-op outside systemd. */
void daemon_notify(const char *state);

#endif
