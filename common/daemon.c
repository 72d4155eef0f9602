// SPDX-License-Identifier: Apache-2.0
#include "common/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/version.h"

static uint64_t start_ms;

int daemon_make_run_dir(const char *dir)
{
	char path[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	/* Socket permissions decide who may talk to the daemons: keep others out. */
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int daemon_url(const struct daemon *d, const char *daemon, const char *kind, char *buf, size_t size)
{
	return ipc_url(buf, size, d->opts.run_dir, daemon, kind);
}

void daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_debug("sd_notify: %s", strerror(errno));
	close(fd);
}

struct kv_list {
	L4lb__V1__KeyValue *items;
	L4lb__V1__KeyValue **ptrs;
	char **strings;
	size_t n, cap;
};

static void kv_add(const char *key, const char *value, void *arg)
{
	struct kv_list *l = arg;

	if (l->n == l->cap)
		return;
	l4lb__v1__key_value__init(&l->items[l->n]);
	l->strings[2 * l->n] = strdup(key);
	l->strings[2 * l->n + 1] = strdup(value);
	l->items[l->n].key = l->strings[2 * l->n];
	l->items[l->n].value = l->strings[2 * l->n + 1];
	l->ptrs[l->n] = &l->items[l->n];
	l->n++;
}

static int on_status(const Envelope *req, struct ipc_buf *reply, void *arg)
{
	struct daemon *d = arg;
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	L4lb__V1__StatusReply st = L4LB__V1__STATUS_REPLY__INIT;
	size_t nc = counters_count();
	L4lb__V1__Counter *cs = calloc(nc + 1, sizeof(*cs));
	L4lb__V1__Counter **cp = calloc(nc + 1, sizeof(*cp));
	struct kv_list kv = { 0 };
	uint64_t err_when;
	int rc = -ENOMEM;

	(void)req;
	kv.cap = 64;
	kv.items = calloc(kv.cap, sizeof(*kv.items));
	kv.ptrs = calloc(kv.cap, sizeof(*kv.ptrs));
	kv.strings = calloc(2 * kv.cap, sizeof(*kv.strings));
	if (!cs || !cp || !kv.items || !kv.ptrs || !kv.strings)
		goto done;
	for (size_t i = 0; i < nc; i++) {
		l4lb__v1__counter__init(&cs[i]);
		cs[i].name = (char *)counters_name(i);
		cs[i].has_value = 1;
		cs[i].value = counters_get(i);
		cp[i] = &cs[i];
	}
	if (d->http) {
		char port[8];

		snprintf(port, sizeof(port), "%u", http_server_port(d->http));
		kv_add("http_port", port, &kv);
	}
	if (d->info)
		d->info(kv_add, &kv, d->info_arg);
	st.daemon = (char *)d->name;
	st.version = (char *)L4LB_VERSION;
	st.has_uptime_seconds = 1;
	st.uptime_seconds = (clock_mono_ms() - start_ms) / 1000;
	st.has_pid = 1;
	st.pid = (uint32_t)getpid();
	st.n_counters = nc;
	st.counters = cp;
	st.last_error = (char *)last_error(&err_when);
	st.has_last_error_unix = err_when != 0;
	st.last_error_unix = err_when;
	st.n_info = kv.n;
	st.info = kv.ptrs;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__STATUS_REPLY;
	env.status_reply = &st;
	rc = envelope_pack(&env, reply);
done:
	for (size_t i = 0; kv.strings && i < 2 * kv.n; i++)
		free(kv.strings[i]);
	free(kv.strings);
	free(kv.items);
	free(kv.ptrs);
	free(cs);
	free(cp);
	return rc;
}

/* log-level is the one common setting a running daemon takes live; any
 * other changed key is named so the operator knows to restart. */
static void on_changed(const char *key, const char *value, void *arg)
{
	struct daemon *d = arg;
	int lvl;

	if (!strcmp(key, "log-level") && (lvl = log_level_parse(value ? value : "info")) >= 0) {
		log_set_level(lvl);
		d->opts.log_level = lvl;
		log_info("SIGHUP: log-level is now %s", value ? value : "info");
		return;
	}
	log_warn("SIGHUP: %s %s in %s: takes effect when %s restarts", key,
		 value ? "changed" : "removed", d->opts.config, d->name);
}

static void reload(struct daemon *d)
{
	struct conf_snap cur;
	char err[600];

	log_info("SIGHUP: reloading configuration");
	if (d->opts.config) {
		if (conf_snap_load(&cur, d->opts.config, d->name, err, sizeof(err)) < 0) {
			report_bad_input("config", "SIGHUP: %s; running configuration unchanged", err);
			return;
		}
		log_info("SIGHUP: %s re-read, %zu setting(s) changed", d->opts.config,
			 conf_snap_diff(&d->conf, &cur, on_changed, d));
		conf_snap_free(&d->conf);
		d->conf = cur;
	}
	/* what the daemon re-reads on its own (vipd: the --vips-file) */
	if (d->reload)
		d->reload(d->reload_arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		reload(d);
		return;
	}
	log_info("%s: exiting", strsignal((int)sig));
	daemon_notify("STOPPING=1");
	event_base_loopexit(d->base, NULL);
}

int daemon_options(struct daemon *d, const char *name, const char *summary, int argc,
		   char **argv, const struct opt *opts, opt_apply_fn apply, void *ctx)
{
	log_init(name, LOG_LVL_INFO);
	char err[600];

	switch (opts_parse(argc, argv, name, summary, opts, apply, ctx, &d->opts)) {
	case OPTS_EXIT_OK:
		return 0;
	case OPTS_EXIT_ERROR:
		return 2;
	case OPTS_RUN:
		break;
	}
	/* what SIGHUP compares against (the file was just read without error) */
	if (d->opts.config && !d->opts.check_config &&
	    conf_snap_load(&d->conf, d->opts.config, name, err, sizeof(err)) < 0)
		log_warn("config: %s", err);
	return -1;
}

static int is_loopback(const char *spec)
{
	return strncmp(spec, "127.", 4) == 0 || strncmp(spec, "[::1]:", 6) == 0;
}

static void http_start(struct daemon *d)
{
	const char *spec = d->opts.http_listen ? d->opts.http_listen
					       : opts_http_default(d->name);

	metrics_init(d->name);
	if (strcmp(spec, "off") == 0)
		return;
	/* The endpoint has no authentication: only an address the operator
	 * wrote down may expose it beyond this host. */
	if (!is_loopback(spec))
		log_warn("http: %s is not a loopback address: anyone who reaches it can read "
			 "the VIP table and metrics", spec);
	d->http = http_server_new(d->base, spec, 0);
	if (!d->http)
		log_warn("http: endpoint disabled; load balancing goes on without it");
}

int daemon_start(struct daemon *d, const char *name)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	char url[256];
	int rc;

	d->name = name;
	start_ms = clock_mono_ms();
	signal(SIGPIPE, SIG_IGN);
	umask(0007);
	rc = daemon_make_run_dir(d->opts.run_dir);
	if (rc < 0) {
		log_error("cannot create run directory %s: %s", d->opts.run_dir, strerror(-rc));
		return rc;
	}
	d->base = event_base_new();
	if (!d->base)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		d->sig[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		if (!d->sig[i] || evsignal_add(d->sig[i], NULL) < 0)
			return -ENOMEM;
	}
	rc = daemon_url(d, name, "rep", url, sizeof(url));
	if (rc < 0) {
		log_error("run directory path too long: %s", d->opts.run_dir);
		return rc;
	}
	d->rep = ipc_server_open(d->base, url);
	if (!d->rep)
		return -EADDRINUSE;
	ipc_server_handle(d->rep, L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST, on_status, d);
	http_start(d);
	log_info("%s %s started, control socket %s", name, L4LB_VERSION, url);
	return 0;
}

int daemon_run(struct daemon *d)
{
	return event_base_dispatch(d->base) < 0 ? 1 : 0;
}

void daemon_stop(struct daemon *d)
{
	for (size_t i = 0; i < sizeof(d->sig) / sizeof(d->sig[0]); i++)
		if (d->sig[i])
			event_free(d->sig[i]);
	memset(d->sig, 0, sizeof(d->sig));
	http_server_free(d->http);
	d->http = NULL;
	ipc_server_close(d->rep);
	d->rep = NULL;
	if (d->base)
		event_base_free(d->base);
	d->base = NULL;
	conf_snap_free(&d->conf);
}
