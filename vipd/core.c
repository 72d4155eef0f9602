// SPDX-License-Identifier: Apache-2.0
/* Applying records, coalescing rebuilds, publishing changed tables. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/metrics.h"
#include "vipd/apply.h"
#include "vipd/core.h"
#include "vipd/delta.h"
#include "vipd/incr.h"
#include "vipd/model_diff.h"
#include "vipd/named_vip.h"
#include "vipd/publish.h"
#include "vipd/rules.h"
#include "vipd/vips_file.h"

static int core_publish(struct core *c, struct vip_table *t);

int core_flush(struct core *c)
{
	if (c->full || !c->table)
		return core_rebuild(c);
	if (c->patched)
		return core_publish(c, c->table);
	c->dirty_since_us = 0;
	counter_inc("rebuilds_unchanged");
	return 0;
}

static void core_coalesce_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *c = arg;

	(void)fd;
	(void)what;
	c->flushed_us = clock_mono_us();
	core_flush(c);
}

/*
 * Leading edge: a change after a quiet window is published as soon as the
 * records read with it are applied (the next loop turn); what follows
 * within --coalesce of that publication waits for the window's end, so a
 * burst still becomes one or two publications.
 */
static void core_coalesce_arm(struct core *c)
{
	uint64_t now = clock_mono_us(), win = (uint64_t)c->o->coalesce_ms * 1000, wait = 0;
	struct timeval tv;

	if (evtimer_pending(c->coalesce, NULL))
		return;
	if (c->flushed_us && now - c->flushed_us < win)
		wait = win - (now - c->flushed_us);
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	evtimer_add(c->coalesce, &tv);
}

/*
 * The task a record changes, when it changes nothing else (a TASK_UPDATED,
 * or a TASK_ADDED of one task): 1 and its id in *id (NULL: no task kept,
 * e.g. one without VIPs), or 0.
 */
static int core_one_task(const struct mesos_record *rec, const char **id)
{
	const struct model *m = rec->m;
	size_t i = 0;

	*id = NULL;
	if (rec->type == REC_TASK_UPDATED) {
		*id = rec->upd_task_id;
		return *id != NULL;
	}
	if (rec->type != REC_TASK_ADDED || (m && (m->agents.n || m->frameworks.n)))
		return 0;
	if (!m || !m->tasks.n)
		return 1;
	return m->tasks.n == 1 && strmap_next(&m->tasks, &i, id, NULL);
}

/*
 * Before such a record is applied: the task's part of the table (and a
 * copy of its id, which the record may free), if the table can be patched
 * at all (NULL otherwise).
 */
static struct vip_table *core_task_before(struct core *c, const struct mesos_record *rec,
					  char **id, int *held)
{
	const char *tid;
	struct vip_table *part;

	*id = NULL;
	*held = 0;
	if (!c->table || c->full || !core_one_task(rec, &tid))
		return NULL;
	if (tid && !(*id = strdup(tid)))
		return NULL;
	part = rules_task_vips(c->m, tid ? strmap_get(&c->m->tasks, tid) : NULL, held);
	if (!part) {
		free(*id);
		*id = NULL;
	}
	return part;
}

/* After it: patch the table, or leave the work to a full rebuild. */
static void core_task_after(struct core *c, const char *id, struct vip_table *before,
			    int held_before)
{
	int held, rc = -ENOMEM;
	struct vip_table *after = rules_task_vips(c->m, id ? strmap_get(&c->m->tasks, id) : NULL,
						  &held);

	if (after)
		rc = incr_apply(c->table, before, after);
	vip_table_free(after);
	if (rc == -ENOMEM) {
		/* Half patched: it no longer says what was published. */
		vip_table_free(c->table);
		c->table = NULL;
	}
	if (rc < 0) {
		c->full = 1;
		counter_inc("table_patch_fallbacks");
		return;
	}
	c->held_tasks = c->held_tasks + (size_t)held - (size_t)held_before;
	if (rc)
		c->patched = 1;
	counter_inc("table_patches");
}

/* systemd's READY=1: once the first table is published (after the first
 * complete sync with a master), or when the bound passes without one, so
 * that a boot with the master away is not held up. */
static void core_ready(struct core *c, const char *why)
{
	if (c->ready)
		return;
	c->ready = 1;
	if (c->ready_bound)
		evtimer_del(c->ready_bound);
	log_debug("ready: %s", why);
	daemon_notify("READY=1");
}

static void core_ready_bound_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	log_warn("no complete state from the master yet: telling systemd ready anyway, with "
		 "nothing published");
	core_ready(arg, "no complete state from the master yet; nothing published");
}

/*
 * A snapshot that changes few tasks (most polls change none) is patched in
 * task by task like events, instead of rebuilt: no second table beside the
 * first (the daemon's peak), a few ms instead of ~100 at 100,000 tasks.
 * More changes, other agents or frameworks, or a failover: a rebuild. And
 * a rebuild at least every CORE_REBUILD_EVERY_MS at a snapshot: the safety
 * net under patching (whatever a patch got wrong is republished right).
 */
#define CORE_SNAPSHOT_PATCH_MAX 64
#define CORE_REBUILD_EVERY_MS (10 * 60 * 1000)

struct snap_patch {
	size_t n;
	char *id[CORE_SNAPSHOT_PATCH_MAX];
	struct vip_table *before[CORE_SNAPSHOT_PATCH_MAX];
	int held[CORE_SNAPSHOT_PATCH_MAX];
};

static void snap_patch_free(struct snap_patch *sp)
{
	if (!sp)
		return;
	for (size_t i = 0; i < sp->n; i++) {
		free(sp->id[i]);
		vip_table_free(sp->before[i]);
	}
	free(sp);
}

/* Before a snapshot is applied: the changed tasks' parts of the table, or
 * NULL (rebuild). */
static struct snap_patch *core_snapshot_before(struct core *c, const struct mesos_record *rec)
{
	const char *ids[CORE_SNAPSHOT_PATCH_MAX];
	struct snap_patch *sp;
	long n;

	if (!c->table || c->full || !c->m || !rec->m || rec->recovered_agents ||
	    clock_mono_ms() - c->rebuilt_ms >= CORE_REBUILD_EVERY_MS ||
	    !model_same_nodes(c->m, rec->m) ||
	    (n = model_diff_tasks(c->m, rec->m, ids, CORE_SNAPSHOT_PATCH_MAX)) < 0 ||
	    !(sp = calloc(1, sizeof(*sp))))
		return NULL;
	for (sp->n = 0; sp->n < (size_t)n; sp->n++) {
		size_t i = sp->n;

		if (!(sp->id[i] = strdup(ids[i])) ||
		    !(sp->before[i] = rules_task_vips(c->m, strmap_get(&c->m->tasks, ids[i]),
						      &sp->held[i]))) {
			free(sp->id[i]);
			snap_patch_free(sp);
			return NULL;
		}
	}
	return sp;
}

/* Once a second: withdraw carried tasks whose grace ran out. */
static void core_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *c = arg;
	size_t n;

	(void)fd;
	(void)what;
	n = model_expire_carried(c->m, clock_mono_ms());
	if (n) {
		log_info("withdrew %zu tasks of recovered agents that did not re-register", n);
		counter_add("carried_tasks_expired", n);
		core_rebuild(c);
	}
}

struct core *core_new(struct event_base *base, const struct vipd_options *o, struct ipc_pub *pub,
		      struct vip_table *statics)
{
	struct core *c = calloc(1, sizeof(*c));
	struct timeval sec = { 1, 0 };

	if (!c)
		return NULL;
	c->base = base;
	c->o = o;
	c->pub = pub;
	c->statics = statics;
	c->epoch = ipc_new_epoch();
	c->need_master = o->nmasters > 0;
	c->mode = o->nmasters ? (o->mode == MODE_POLL ? "poll" : "stream") : "static";
	c->m = model_new();
	c->coalesce = evtimer_new(base, core_coalesce_cb, c);
	c->expire = event_new(base, -1, EV_PERSIST, core_expire_cb, c);
	c->ready_bound = evtimer_new(base, core_ready_bound_cb, c);
	if (!c->m || !c->coalesce || !c->expire || !c->ready_bound) {
		core_free(c);
		return NULL;
	}
	event_add(c->expire, &sec);
	if (c->need_master) {
		unsigned s = o->connect_timeout_s + o->request_timeout_s;
		struct timeval bound = { s < CORE_READY_MAX_S ? s : CORE_READY_MAX_S, 0 };

		evtimer_add(c->ready_bound, &bound);
	}
	return c;
}

void core_free(struct core *c)
{
	if (!c)
		return;
	if (c->coalesce)
		event_free(c->coalesce);
	if (c->expire)
		event_free(c->expire);
	if (c->ready_bound)
		event_free(c->ready_bound);
	model_free(c->m);
	vip_table_free(c->table);
	vip_table_free(c->statics);
	free(c);
}

/* Keys of `add` that `have` (NULL: empty) lacks. */
static size_t new_keys(const struct strmap *have, const struct strmap *add)
{
	const char *k;
	size_t i = 0, n = 0;

	while (strmap_next(add, &i, &k, NULL))
		n += !have || !strmap_get(have, k);
	return n;
}

/* Whether adding `add` to `have` (NULL: empty) would pass max entries. */
static int over(const struct strmap *have, const struct strmap *add, size_t max)
{
	return add->n && (have ? have->n : 0) + new_keys(have, add) > max;
}

/*
 * Whether an event (TASK_ADDED, AGENT_ADDED, FRAMEWORK_ADDED...) would grow
 * the model past --max-tasks tasks or max_agents agents or frameworks. A
 * snapshot is bounded by the parser; events are not, and a hostile or
 * broken master could stream new ids without end: such an event is dropped
 * and counted, and the model keeps what it has.
 */
static int core_over_bound(const struct core *c, const struct mesos_record *rec)
{
	const struct model *add = rec->m, *have = c->m;

	if (!add || mesos_rec_is_snapshot(rec->type))
		return 0;
	if (over(have ? &have->tasks : NULL, &add->tasks, c->o->max_tasks)) {
		report_bad_input("master_too_many_tasks", "%s event would hold more than %u "
				 "tasks with VIPs: dropped", mesos_rec_name(rec->type),
				 c->o->max_tasks);
		return 1;
	}
	if (over(have ? &have->agents : NULL, &add->agents, c->o->max_agents) ||
	    over(have ? &have->frameworks : NULL, &add->frameworks, c->o->max_agents)) {
		report_bad_input("master_too_many_agents", "%s event would hold more than %u "
				 "agents or frameworks: dropped", mesos_rec_name(rec->type),
				 c->o->max_agents);
		return 1;
	}
	return 0;
}

void core_record(struct mesos_record *rec, void *arg)
{
	struct core *c = arg;
	int held_before;
	char *id;
	struct vip_table *before;
	struct snap_patch *snap = NULL;

	/* A complete record of a kind the master sends, even one dropped
	 * below, proves the master answers. */
	if (rec->type != REC_OTHER) {
		c->connected = 1;
		c->last_success_unix_ms = clock_real_ms();
	}
	if (core_over_bound(c, rec))
		return;
	before = core_task_before(c, rec, &id, &held_before);
	if (mesos_rec_is_snapshot(rec->type))
		snap = core_snapshot_before(c, rec);
	if (!apply_record(&c->m, rec, clock_mono_ms(), (uint64_t)c->o->recovered_grace_s * 1000)) {
		vip_table_free(before);
		free(id);
		snap_patch_free(snap);
		return;
	}
	if (before) {
		core_task_after(c, id, before, held_before);
	} else if (snap) {
		/* (a patch that fails leaves the rest to the rebuild it asks for) */
		for (size_t i = 0; i < snap->n && !c->full; i++)
			core_task_after(c, snap->id[i], snap->before[i], snap->held[i]);
		counter_inc(c->full ? "snapshot_patch_fallbacks" : "snapshot_patches");
	} else {
		c->full = 1;
	}
	vip_table_free(before);
	free(id);
	snap_patch_free(snap);
	if (mesos_rec_is_snapshot(rec->type)) {
		c->synced = 1;
		c->last_sync_unix_ms = clock_real_ms();
		if (rec->recovered_agents)
			log_info("master failover: keeping tasks of %zu recovered agents for %u s",
				 rec->recovered_agents, c->o->recovered_grace_s);
	} else {
		c->events++;
	}
	if (!c->dirty_since_us)
		c->dirty_since_us = clock_mono_us();
	core_coalesce_arm(c);
}

/* A full build frees its working maps, the old table and (after a
 * snapshot) the old model between what stays: megabytes of heap holes at
 * scale, given back here (a few ms at 100,000 tasks, next to the build's
 * hundred). */
static void core_trim(void)
{
	malloc_trim(0);
}

/* Whether the delta publisher remembers the published table (c->table,
 * unpatched): its bytes then stand for that table in a rebuild. */
static int core_delta_has_table(const struct core *c)
{
	const struct delta_state *d = c->delta;

	return d && d->have && d->epoch == c->epoch && d->gen == c->generation;
}

/* Whether t (every VIP packed) packs VIP by VIP as the remembered table
 * (a packed Vip holds its protocol, address and port: its key too). */
static int core_delta_same(const struct delta_state *d, const struct vip_table *t)
{
	if (d->n != t->n)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (d->k[i].len != t->v[i].packed_len ||
		    memcmp(d->bytes + d->k[i].off, t->v[i].packed, d->k[i].len))
			return 0;
	return 1;
}

/* A rebuild's new table against the published one, slim (vip_table_slim)
 * or gone (the delta's bytes): 1 if they pack the same (then t replaces
 * it, unpublished), else 0. */
static int core_same_as_published(struct core *c, struct vip_table *t)
{
	struct snapshot_meta meta = { 0, 0, 0, "" };
	struct ipc_buf buf = { 0 };
	int rc = publish_pack_cached(t, &meta, &buf); /* (packs every VIP of t) */

	ipc_buf_free(&buf);
	if (rc < 0 || !(c->table ? vip_table_packed_equal(c->table, t) :
			core_delta_same(c->delta, t)))
		return 0;
	vip_table_free(c->table);
	c->table = t;
	return 1;
}

int core_rebuild(struct core *c)
{
	struct rules_stats st;
	struct vip_table *t;
	int rc, slim = 0;

	if (c->need_master && !c->synced)
		return 0; /* fail static: nothing complete to publish yet */
	/*
	 * A table published as it is needs only its packed bytes to be
	 * compared with the new one, and the delta publisher has those: the
	 * table goes (or all but its bytes, without deltas) before the new one
	 * is built, not to hold two whole tables at the daemon's peak. The
	 * subscribers keep the last snapshot whatever happens here.
	 */
	if (c->table && !c->patched && vip_table_packed_all(c->table)) {
		slim = 1;
		if (core_delta_has_table(c)) {
			vip_table_free(c->table);
			c->table = NULL;
		} else {
			vip_table_slim(c->table);
		}
	}
	t = rules_build(c->m, c->statics, NAMED_VIP4_MIN, NAMED_VIP4_MAX, &st);
	if (!t) {
		log_error("rebuilding the VIP table: out of memory; keeping the last one published");
		if (slim) { /* (no longer one to patch) */
			vip_table_free(c->table);
			c->table = NULL;
		}
		c->full = 1;
		return -ENOMEM;
	}
	c->held_tasks = st.held;
	c->full = 0;
	c->rebuilt_ms = clock_mono_ms();
	/* A patched table is not what was published: compare only an intact one. */
	if (slim ? core_same_as_published(c, t) :
	    c->table && !c->patched && vip_table_equal(c->table, t)) {
		if (!slim)
			vip_table_free(t);
		c->dirty_since_us = 0;
		counter_inc("rebuilds_unchanged");
		core_trim();
		return 0;
	}
	if (c->table && !slim)
		vip_table_take_packed(t, c->table);
	if ((rc = core_publish(c, t)) < 0) {
		c->full = 1;
		if (slim) {
			vip_table_free(c->table);
			c->table = NULL;
		}
	}
	core_trim();
	return rc;
}

/* Publishes t (c->table itself, or a new table that replaces it). */
static int core_publish(struct core *c, struct vip_table *t)
{
	struct snapshot_meta meta;
	struct ipc_buf buf = { 0 };
	char src[600];
	int rc;

	snprintf(src, sizeof(src), "%s%s", c->need_master ? "master " : "file",
		 c->need_master ? c->master : "");
	meta.generation = c->generation + 1;
	meta.epoch = c->epoch;
	meta.updated_unix_ms = clock_real_ms();
	meta.source = src;
	/* Only VIPs changed since the last publish are packed again. */
	rc = publish_pack_cached(t, &meta, &buf);
	if (rc < 0) {
		/* too large for one IPC message (ENVELOPE_MAX_SIZE), or no memory */
		counter_inc("table_publish_failures");
		log_limited(LOG_LVL_ERROR, "table_pack", "packing the VIP table: %s; keeping the "
			    "last one", strerror(-rc));
		if (t != c->table)
			vip_table_free(t);
		return rc;
	}
	c->generation++;
	if (c->delta) /* every VIP of t is packed now: the delta reuses the bytes */
		delta_publish(c->delta, t, &meta);
	if (c->pub)
		ipc_pub_set(c->pub, &buf);
	ipc_buf_free(&buf);
	if (t != c->table) {
		vip_table_free(c->table);
		c->table = t;
	}
	c->patched = 0;
	counter_inc("tables_published");
	if (c->dirty_since_us)
		metrics_histogram_observe("table_publish_delay_seconds",
					  (double)(clock_mono_us() - c->dirty_since_us) / 1e6);
	if (c->dirty_since_us)
		log_debug("published generation %" PRIu64 " (%zu VIPs) %" PRIu64 " us after the change",
			  c->generation, t->n, clock_mono_us() - c->dirty_since_us);
	c->dirty_since_us = 0;
	core_ready(c, c->need_master ? "the master's state is published" : "static VIPs published");
	return 0;
}

void core_reload(void *arg)
{
	struct core *c = arg;
	struct vip_table *t;
	char err[512];

	if (!c->o->vips_file)
		return;
	if (!(t = vips_load(c->o->vips_file, err, sizeof(err)))) {
		report_bad_input("vips_file", "--vips-file %s; keeping the static VIPs in use", err);
		return;
	}
	vip_table_free(c->statics);
	c->statics = t;
	log_info("reloaded %zu static VIPs from %s", t->n, c->o->vips_file);
	core_rebuild(c);
}

void core_status(status_kv_fn kv, void *kvarg, void *arg)
{
	struct core *c = arg;
	char b[64];

	kv("mode", c->mode, kvarg);
	kv("master", c->master[0] ? c->master : "none", kvarg);
	kv("synced", c->need_master ? (c->synced ? "yes" : "no") : "n/a", kvarg);
	kv("master_connected", c->need_master ? (c->connected ? "yes" : "no") : "n/a", kvarg);
	snprintf(b, sizeof(b), "%" PRIu64, c->last_sync_unix_ms);
	kv("last_sync_unix_ms", b, kvarg);
	snprintf(b, sizeof(b), "%" PRIu64, c->last_success_unix_ms);
	kv("last_success_unix_ms", b, kvarg);
	snprintf(b, sizeof(b), "%" PRIu64, c->events);
	kv("events_applied", b, kvarg);
	snprintf(b, sizeof(b), "%" PRIu64, c->generation);
	kv("generation", b, kvarg);
	snprintf(b, sizeof(b), "%zu", c->table ? c->table->n : 0);
	kv("vips", b, kvarg);
	snprintf(b, sizeof(b), "%zu", c->table ? vip_table_backends(c->table) : 0);
	kv("backends", b, kvarg);
	snprintf(b, sizeof(b), "%zu", c->m ? c->m->tasks.n : 0);
	kv("tasks", b, kvarg);
	snprintf(b, sizeof(b), "%zu", c->held_tasks);
	kv("held_tasks", b, kvarg);
}
