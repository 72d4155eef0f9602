// SPDX-License-Identifier: Apache-2.0
/* vipd's option table and its apply function. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/mesos_parse.h"
#include "vipd/options.h"

enum {
	O_MASTER = 300, O_FROM_FILE, O_PRINT, O_VIPS_FILE, O_MODE, O_API, O_POLL, O_TOKEN,
	O_CA, O_CONNECT_TO, O_REQUEST_TO, O_GRACE, O_COALESCE, O_SHOW, O_BACKOFF_MIN, O_BACKOFF_MAX,
	O_MAX_TASKS,
};

const struct opt vipd_opts[] = {
	{ "master", required_argument, O_MASTER, "URL",
	  "Mesos master (http or https), repeatable: tried in order" },
	{ "from-file", required_argument, O_FROM_FILE, "FILE",
	  "read a saved master response instead of a master (\"-\": stdin)" },
	{ "print", no_argument, O_PRINT, NULL, "print the VIP table as JSON and exit" },
	{ "show", no_argument, O_SHOW, NULL, "print the running vipd's published table and exit" },
	{ "vips-file", required_argument, O_VIPS_FILE, "FILE", "static VIPs (JSON, --print shape)" },
	{ "mode", required_argument, O_MODE, "stream|poll", "SUBSCRIBE stream (default) or polling" },
	{ "api", required_argument, O_API, "auto|v1|legacy",
	  "operator API v1 or legacy /state (default: detect)" },
	{ "poll-interval", required_argument, O_POLL, "MS", "polling interval (default 2000)" },
	{ "token-file", required_argument, O_TOKEN, "FILE",
	  "service token for Authorization: token=... (else $L4LB_MASTER_TOKEN)" },
	{ "ca-file", required_argument, O_CA, "FILE", "CA bundle for https masters" },
	{ "connect-timeout", required_argument, O_CONNECT_TO, "S", "connect timeout (default 5)" },
	{ "request-timeout", required_argument, O_REQUEST_TO, "S", "request timeout (default 30)" },
	{ "recovered-grace", required_argument, O_GRACE, "S",
	  "keep recovered agents' tasks this long after a failover (default 600)" },
	{ "coalesce", required_argument, O_COALESCE, "MS",
	  "publish a change at once, what follows within MS after it together (default 5)" },
	{ "backoff-min", required_argument, O_BACKOFF_MIN, "MS",
	  "first reconnect delay after a failure, doubling, 25 % jitter (default 2000)" },
	{ "backoff-max", required_argument, O_BACKOFF_MAX, "MS",
	  "reconnect delay cap, jitter included (default 30000)" },
	{ "max-tasks", required_argument, O_MAX_TASKS, "N",
	  "bound on tasks with VIPs, per reply and in the model (default 1000000)" },
	{ NULL, 0, 0, NULL, NULL },
};

void vipd_options_defaults(struct vipd_options *o)
{
	memset(o, 0, sizeof(*o));
	o->poll_interval_ms = 2000;
	o->connect_timeout_s = 5;
	o->request_timeout_s = 30;
	o->recovered_grace_s = 600;
	o->coalesce_ms = 5;
	o->backoff_min_ms = 2000;
	o->backoff_max_ms = 30000;
	o->max_tasks = MESOS_MAX_TASKS;
	o->max_agents = MESOS_MAX_AGENTS;
}

static char *keep(const char *v)
{
	/* Option values live for the whole process. */
	return strdup(v);
}

/* Numeric options: the field they set and the range they accept. */
static const struct {
	int key;
	unsigned long min, max;
	size_t offset;
} numeric[] = {
	{ O_POLL, 10, 3600000, offsetof(struct vipd_options, poll_interval_ms) },
	{ O_CONNECT_TO, 1, 600, offsetof(struct vipd_options, connect_timeout_s) },
	{ O_REQUEST_TO, 1, 3600, offsetof(struct vipd_options, request_timeout_s) },
	{ O_GRACE, 0, 86400, offsetof(struct vipd_options, recovered_grace_s) },
	{ O_COALESCE, 0, 10000, offsetof(struct vipd_options, coalesce_ms) },
	{ O_BACKOFF_MIN, 10, 600000, offsetof(struct vipd_options, backoff_min_ms) },
	{ O_BACKOFF_MAX, 10, 3600000, offsetof(struct vipd_options, backoff_max_ms) },
	{ O_MAX_TASKS, 1, 100000000, offsetof(struct vipd_options, max_tasks) },
};

/* Options that pick one of a few words: the word's index is the value. */
static const struct {
	int key;
	const char *words[4]; /* in enum order, NULL-terminated */
	const char *why;
	size_t offset;
} choice[] = {
	{ O_MODE, { "stream", "poll" }, "must be stream or poll",
	  offsetof(struct vipd_options, mode) },
	{ O_API, { "auto", "v1", "legacy" }, "must be auto, v1 or legacy",
	  offsetof(struct vipd_options, api) },
};

_Static_assert(sizeof(enum vipd_mode) == sizeof(int) && sizeof(enum vipd_api) == sizeof(int),
	       "choice values are stored as int");

static const char *apply_choice(size_t c, const char *value, struct vipd_options *o)
{
	for (int w = 0; choice[c].words[w]; w++)
		if (!strcmp(value, choice[c].words[w])) {
			*(int *)(void *)((char *)o + choice[c].offset) = w;
			return NULL;
		}
	return choice[c].why;
}

const char *vipd_options_apply(int key, const char *value, void *ctx)
{
	struct vipd_options *o = ctx;
	unsigned long n;
	const char *why;

	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
		if (numeric[i].key != key)
			continue;
		why = opt_uint(value, numeric[i].min, numeric[i].max, &n);
		if (!why)
			*(unsigned *)((char *)o + numeric[i].offset) = (unsigned)n;
		return why;
	}
	for (size_t i = 0; i < sizeof(choice) / sizeof(choice[0]); i++)
		if (choice[i].key == key)
			return apply_choice(i, value, o);
	switch (key) {
	case O_MASTER:
		if (strncmp(value, "http://", 7) && strncmp(value, "https://", 8))
			return "must start with http:// or https://";
		if (o->nmasters >= VIPD_MAX_MASTERS)
			return "too many masters";
		o->masters[o->nmasters++] = keep(value);
		return NULL;
	case O_FROM_FILE:
		o->from_file = keep(value);
		return NULL;
	case O_PRINT:
		o->print = 1;
		return NULL;
	case O_SHOW:
		o->show = 1;
		return NULL;
	case O_VIPS_FILE:
		o->vips_file = keep(value);
		return NULL;
	case O_TOKEN:
		o->token_file = keep(value);
		return NULL;
	case O_CA:
		o->ca_file = keep(value);
		return NULL;
	default:
		return "unknown option";
	}
}

void vipd_options_free(struct vipd_options *o)
{
	for (int i = 0; i < o->nmasters; i++)
		free((char *)o->masters[i]);
	free((char *)o->from_file);
	free((char *)o->vips_file);
	free((char *)o->token_file);
	free((char *)o->ca_file);
	o->nmasters = 0;
	o->from_file = o->vips_file = o->token_file = o->ca_file = NULL;
}
