/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vipd's state between the master client and the publisher: the live
 * model, static VIPs, the last published table and its generation. Records
 * are applied at once; the table is rebuilt and published on the next loop
 * turn, or at the end of a short coalescing window when it was published
 * within one, and only when it changed.
 */
#ifndef VIPD_CORE_H
#define VIPD_CORE_H

#include <event2/event.h>
#include <stdint.h>

#include "common/daemon.h"
#include "vipd/mesos_parse.h"
#include "vipd/model.h"
#include "vipd/options.h"
#include "vipd/vip_table.h"

struct delta_state;

struct core {
	struct event_base *base;
	const struct vipd_options *o;
	struct ipc_pub *pub;
	struct delta_state *delta; /* NULL: no delta socket (main.c sets it) */
	struct model *m;
	struct vip_table *statics, *table;
	struct event *coalesce, *expire, *ready_bound;
	uint64_t generation, epoch;
	int synced;           /* a complete master snapshot has been applied */
	int need_master;      /* masters configured: publish only once synced */
	int connected;        /* the master answers: a complete record since the last failure */
	uint64_t last_sync_unix_ms;    /* the last complete state */
	uint64_t last_success_unix_ms; /* the last complete record (state, event, heartbeat) */
	uint64_t events;
	uint64_t dirty_since_us; /* when the first unpublished change came */
	uint64_t flushed_us;     /* when the coalescing timer last fired */
	char master[512];     /* the master in use */
	const char *mode;     /* "stream", "poll", "static" */
	size_t held_tasks;
	int full;             /* the next publish needs a full rebuild */
	int patched;          /* table was patched in place since it was published */
	int ready;            /* READY=1 sent to systemd */
	uint64_t rebuilt_ms;  /* the last full rebuild (clock_mono_ms) */
};

struct core *core_new(struct event_base *base, const struct vipd_options *o, struct ipc_pub *pub,
		      struct vip_table *statics);
void core_free(struct core *c);

/* How long vipd waits for the master's first complete state before it
 * tells systemd READY=1 anyway (nothing published yet, the master still
 * tried): one connect and request timeout, at most this. */
#define CORE_READY_MAX_S 60

/* A complete record from the master (mesos_record_fn). */
void core_record(struct mesos_record *rec, void *arg);
/* Rebuilds now and publishes if changed. 0 or -ENOMEM (table kept).
 * (TASK_UPDATED and TASK_ADDED events patch the table in place instead
 * when they can, see incr.h; the coalescing timer then only publishes.) */
int core_rebuild(struct core *c);
/* What the coalescing timer does: publishes the table patched by the
 * records since the last publish, or rebuilds if one of them needs it. */
int core_flush(struct core *c);
/* SIGHUP (daemon_reload_fn): re-reads --vips-file; a bad file is logged
 * and the static VIPs in use are kept. */
void core_reload(void *arg);
/* Status facts for the daemon's status reply (status_info_fn). */
void core_status(status_kv_fn kv, void *kvarg, void *arg);

#endif
