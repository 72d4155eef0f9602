// SPDX-License-Identifier: Apache-2.0
/*
 * vipd's benchmark driver (built by bench/vipd_bench.sh against vipd's own
 * objects): streams a state file through the parser into the model, builds
 * the table, then applies TASK_UPDATED events one at a time and measures
 * each apply + rebuild + pack (what vipd does before ipc_pub_set), once
 * by full rebuild and once through vipd's core (core_record + core_flush:
 * the table patched in place, only changed VIPs packed again, and the
 * snapshot handed to a real ipc_pub); then new VIPs (TASK_ADDED with a new
 * name) and their ends (TASK_KILLED), through the core too; last, new names
 * that would move a name in use, which the core leaves to a full rebuild;
 * and a TASK_UPDATED after a quiet moment through the event loop and the
 * core's coalescing timer, as in the daemon: event -> publication.
 *   vipd_update STATE_FILE [UPDATES]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/ipc.h"
#include "vipd/apply.h"
#include "vipd/core.h"
#include "vipd/delta.h"
#include "vipd/mesos_parse.h"
#include "vipd/named_set.h"
#include "vipd/named_vip.h"
#include "vipd/publish.h"
#include "vipd/rules.h"
#include "vipd/slab.h"

/* Resident memory now (VmRSS) or at its peak (VmHWM), from /proc (-1 if
 * unknown). */
static long status_kib(const char *field)
{
	char line[256], fmt[32];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(fmt, sizeof(fmt), "%s: %%ld kB", field);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static long rss_kib(void)
{
	return status_kib("VmRSS");
}

/* Bytes malloc holds for the program (in-use chunks, headers included). */
static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * What one task (one VIP backend here) costs, by part: its record as
 * packed and as malloc holds it, its share of the task map, of the rest of
 * the model (agents, frameworks, shared strings), of the table and of the
 * table's packed bytes (publish.c's cache).
 */
static void breakdown(const struct model *m, size_t model_bytes, const struct vip_table *t,
		      size_t table_bytes, size_t cache_bytes)
{
	size_t n = m->tasks.n, rec = 0, held = 0, i = 0, map = m->tasks.cap * 12;
	double nb = (double)vip_table_backends(t), d = (double)n;
	void *v;

	while (strmap_next(&m->tasks, &i, NULL, &v))
		rec += task_rec_size(v);
	held = slab_held(); /* (all of it here: the model's records only) */
	if (!n || !nb)
		return;
	printf("per task (%zu tasks, %.0f backends): record %.1f B packed, %.1f B as malloc holds"
	       " it (slab.h); task map %.1f B; agents, frameworks, strings %.1f B; table %.1f B per"
	       " backend, its packed cache %.1f B; all %.1f B per backend\n", n, nb, rec / d,
	       held / d, map / d, (double)(model_bytes - held - map) / d, table_bytes / nb,
	       cache_bytes / nb, (model_bytes + table_bytes + cache_bytes) / nb);
}

static void on_rec(struct mesos_record *rec, void *arg)
{
	apply_record(arg, rec, 0, 1000);
}

/* CPU time of this thread: on a loaded machine, wall time includes waiting
 * for a core; this does not. */
static uint64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_core_rec(struct mesos_record *rec, void *arg)
{
	core_record(rec, arg);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A label "/aa-<k>:80" whose named VIP would take the address of a name in
 * use (every "aa-" name sorts before the generated "app-" ones, so that
 * name would move): the rare case patching leaves to a full rebuild. k is
 * the first such from *k on (*k moved past it); 0, or -1 if none.
 */
static int colliding_label(const struct named_set *s, size_t *k, char *label, size_t size)
{
	uint32_t *used = calloc(s->n + 1, sizeof(*used));
	char name[256];
	int rc = -1;

	for (size_t i = 0; used && i < s->n; i++)
		used[i] = s->e[i].addr4;
	if (used)
		qsort(used, s->n, sizeof(*used), cmp_u32);
	for (; used && rc < 0 && *k < 10000000; (*k)++) {
		uint32_t base;

		snprintf(label, size, "/aa-%zu", *k);
		if (named_vip_name(label, "marathon", name, sizeof(name)) < 0)
			continue;
		base = named_vip4_base(name, NAMED_VIP4_MIN, NAMED_VIP4_MAX);
		if (bsearch(&base, used, s->n, sizeof(*used), cmp_u32))
			rc = 0;
	}
	free(used);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *lat, size_t done)
{
	size_t slow = 0;

	qsort(lat, done, sizeof(*lat), cmp_u64);
	for (size_t i = 0; i < done; i++)
		slow += lat[i] >= 1000;
	if (done)
		printf("%s: median %.3f ms, p99 %.3f ms, max %.3f ms over %zu"
		       " (%zu took >= 1 ms)\n", what, lat[done / 2] / 1e3, lat[done * 99 / 100] / 1e3,
		       lat[done - 1] / 1e3, done, slow);
}

static int feed_file(const char *path, struct mesos_parser *p)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (mesos_parser_feed(p, buf, n) < 0)
			return -1;
	fclose(f);
	return mesos_parser_finish(p);
}

/* Flip tasks between RUNNING and KILLING: each is a real change. */
static void flip(struct mesos_record *rec, struct task *st, const char *id, size_t k)
{
	memset(rec, 0, sizeof(*rec));
	memset(st, 0, sizeof(*st));
	rec->type = REC_TASK_UPDATED;
	st->healthy = -1;
	st->ts = 1e10 + (double)k;
	rec->upd_task_id = (char *)id;
	rec->upd_state = k % 2 ? TS_RUNNING : TS_KILLING;
	rec->upd_status = st;
}

/* An isolated event, applied by core_record and published by the core's
 * own timer in the event loop: what the daemon's publication delay is. */
static void timer_path(struct core *c, struct event_base *base, uint64_t *lat, uint64_t *cpu,
		       size_t max)
{
	size_t it = 0, done = 0;
	const char *id;
	void *v;

	while (done < 20 && done < max && strmap_next(&c->m->tasks, &it, &id, &v)) {
		struct mesos_record rec;
		struct task st;
		uint64_t gen = c->generation, t0, c0;

		/* quiet for longer than --coalesce, and no timer left armed */
		usleep(c->o->coalesce_ms * 1000 + 2000);
		event_base_loop(base, EVLOOP_NONBLOCK);
		flip(&rec, &st, id, done + 1);
		t0 = clock_mono_us();
		c0 = cpu_us();
		core_record(&rec, c);
		while (c->generation == gen && clock_mono_us() - t0 < 5000000)
			event_base_loop(base, EVLOOP_ONCE);
		cpu[done] = cpu_us() - c0;
		lat[done++] = clock_mono_us() - t0;
	}
	report("TASK_UPDATED after a quiet moment, event -> published by the core's timer", lat, done);
	report("  same, CPU time only", cpu, done);
}

int main(int argc, char **argv)
{
	struct model *m = model_new();
	struct mesos_parser *p = mesos_parser_new(on_rec, &m);
	struct vip_table *t;
	size_t updates = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
	uint64_t t0, t1, t2, c0, *lat = calloc(updates + 5, sizeof(uint64_t));
	uint64_t *cpu = calloc(updates + 5, sizeof(uint64_t));
	struct snapshot_meta meta = { 1, 1, 0, "bench" };
	struct ipc_buf pk = { 0 };
	const char *id;
	void *v;
	size_t it = 0, done = 0, h0, h1, h2;
	struct vipd_options o;
	struct event_base *base;
	struct core *c;
	struct ipc_pub *pub;
	struct delta_state delta = { 0 };
	char url[64];
	FILE *f;

	if (argc < 2)
		return 2;
	h0 = heap_used();
	t0 = cpu_us();
	if (feed_file(argv[1], p) < 0)
		return 1;
	t1 = cpu_us();
	h1 = heap_used();
	t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	t2 = cpu_us();
	h2 = heap_used();
	printf("CPU time: parse %.1f ms, build %.1f ms: %zu VIPs, %zu backends, %zu tasks kept\n",
	       (t1 - t0) / 1e3, (t2 - t1) / 1e3, t->n, vip_table_backends(t), m->tasks.n);
	/* What the published table weighs: the floor of vipd's memory. */
	if (publish_pack(t, &meta, &pk) == 0 && vip_table_backends(t))
		printf("packed table: %zu bytes, %.1f bytes per backend\n", pk.len,
		       (double)pk.len / (double)vip_table_backends(t));
	ipc_buf_free(&pk);
	{
		size_t h3 = heap_used();

		if (publish_pack_cached(t, &meta, &pk) == 0)
			breakdown(m, h1 - h0, t, h2 - h1, heap_used() - h3 - pk.len);
		ipc_buf_free(&pk);
	}
	vip_table_free(t);
	/* The old way: every change rebuilds and packs everything (few: slow). */
	while (done < updates / 10 && strmap_next(&m->tasks, &it, &id, &v)) {
		struct mesos_record rec;
		struct task st;

		flip(&rec, &st, id, done);
		t0 = clock_mono_us();
		apply_record(&m, &rec, 0, 1000);
		t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
		publish_pack(t, &meta, &pk);
		lat[done++] = clock_mono_us() - t0;
		ipc_buf_free(&pk);
		vip_table_free(t);
	}
	report("TASK_UPDATED full rebuild+pack", lat, done);
	mesos_parser_free(p);
	model_free(m);

	/* vipd's way, through its core and a real publisher socket (no
	 * subscriber): what ipc_pub_set costs is included. */
	vipd_options_defaults(&o);
	base = event_base_new();
	snprintf(url, sizeof(url), "ipc:///tmp/vipd_bench_%d.pub", (int)getpid());
	pub = base ? ipc_pub_open(base, url, NULL, 60000) : NULL;
	c = pub ? core_new(base, &o, pub, NULL) : NULL;
	if (!c)
		return 1;
	c->delta = &delta; /* (as in vipd: its memory counts; no socket here) */
	p = mesos_parser_new(on_core_rec, c);
	mesos_parser_set_live(p, &c->m);
	if (feed_file(argv[1], p) < 0 || core_flush(c) < 0)
		return 1;
	printf("RSS after the core's full build: %ld MiB (heap holes given back)\n",
	       rss_kib() / 1024);
	/* The next snapshot (a poll, a reconnect) is parsed while the current
	 * model and table stay: the daemon's peak (from here: "5" resets it). */
	f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
	mesos_parser_free(p);
	p = mesos_parser_new(on_core_rec, c);
	mesos_parser_set_live(p, &c->m); /* (as vipd's master does) */
	if (feed_file(argv[1], p) < 0 || core_flush(c) < 0)
		return 1;
	printf("RSS after a second snapshot: %ld MiB; peak while it was parsed and applied"
	       " beside the first: %ld MiB (patched in: %llu snapshot patches)\n", rss_kib() / 1024,
	       status_kib("VmHWM") / 1024, (unsigned long long)counter_value("snapshot_patches"));
	/* The same with one agent moved since: every table is rebuilt then
	 * (core.c), beside the one published. */
	it = 0;
	if (strmap_next(&c->m->agents, &it, &id, &v))
		model_put_agent(c->m, id, "10.255.255.254", NULL, 0);
	f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
	mesos_parser_free(p);
	p = mesos_parser_new(on_core_rec, c);
	mesos_parser_set_live(p, &c->m);
	if (feed_file(argv[1], p) < 0 || core_flush(c) < 0)
		return 1;
	printf("RSS after a third snapshot that moves an agent back: %ld MiB; peak while it was"
	       " parsed, applied and the table rebuilt beside the first: %ld MiB\n",
	       rss_kib() / 1024, status_kib("VmHWM") / 1024);
	it = done = 0;
	while (done < updates && strmap_next(&c->m->tasks, &it, &id, &v)) {
		struct mesos_record rec;
		struct task st;

		flip(&rec, &st, id, done);
		t0 = clock_mono_us();
		c0 = cpu_us();
		core_record(&rec, c);
		core_flush(c);
		cpu[done] = cpu_us() - c0;
		lat[done++] = clock_mono_us() - t0;
	}
	report("TASK_UPDATED apply+patch+pack+publish (vipd core)", lat, done);
	report("  same, CPU time only", cpu, done);
	printf("generation %llu after %zu updates\n", (unsigned long long)c->generation, done);
	/* A new VIP (TASK_ADDED of a task with a new name): parsed, applied,
	 * patched in (a new name placed), packed and published. */
	mesos_parser_free(p);
	p = mesos_parser_new(on_core_rec, c);
	for (done = 0; done < 5; done++) {
		char ev[1024];
		int n = snprintf(ev, sizeof(ev),
			"{\"type\":\"TASK_ADDED\",\"task_added\":{\"task\":{\"task_id\":{\"value\":"
			"\"bench-new-%zu\"},\"framework_id\":{\"value\":\"fw-0001\"},\"agent_id\":"
			"{\"value\":\"agent-00000000-S0\"},\"state\":\"TASK_RUNNING\",\"discovery\":"
			"{\"ports\":{\"ports\":[{\"number\":40000,\"protocol\":\"tcp\",\"labels\":"
			"{\"labels\":[{\"key\":\"VIP_0\",\"value\":\"/bench-new-%zu:80\"}]}}]}}}}}\n",
			done, done);

		t0 = clock_mono_us();
		c0 = cpu_us();
		if (mesos_parser_feed(p, ev, (size_t)n) < 0)
			return 1;
		core_flush(c);
		cpu[done] = cpu_us() - c0;
		lat[done] = clock_mono_us() - t0;
	}
	report("new VIP (TASK_ADDED, patched in)", lat, done);
	report("  same, CPU time only", cpu, done);
	printf("patches %llu, fallbacks to a rebuild %llu\n",
	       (unsigned long long)counter_value("table_patches"),
	       (unsigned long long)counter_value("table_patch_fallbacks"));
	printf("generation %llu, %zu VIPs\n", (unsigned long long)c->generation, c->table->n);
	/* Their ends: each VIP and its name leave the table again. */
	for (done = 0; done < 5; done++) {
		char ev[512];
		int n = snprintf(ev, sizeof(ev),
			"{\"type\":\"TASK_UPDATED\",\"task_updated\":{\"framework_id\":{\"value\":"
			"\"fw-0001\"},\"state\":\"TASK_KILLED\",\"status\":{\"task_id\":{\"value\":"
			"\"bench-new-%zu\"},\"state\":\"TASK_KILLED\",\"timestamp\":2e9}}}\n", done);

		t0 = clock_mono_us();
		c0 = cpu_us();
		if (mesos_parser_feed(p, ev, (size_t)n) < 0)
			return 1;
		core_flush(c);
		cpu[done] = cpu_us() - c0;
		lat[done] = clock_mono_us() - t0;
	}
	report("VIP gone (TASK_KILLED of its only task, patched out)", lat, done);
	report("  same, CPU time only", cpu, done);
	done = 0;
	printf("patches %llu, fallbacks to a rebuild %llu; generation %llu, %zu VIPs\n",
	       (unsigned long long)counter_value("table_patches"),
	       (unsigned long long)counter_value("table_patch_fallbacks"),
	       (unsigned long long)c->generation, c->table->n);
	/* A new name that would move one in use: a full rebuild, measured. */
	for (size_t k = 0, before; done < 3 && c->table->names; done++) {
		char label[64], ev[1024];
		int n;

		if (colliding_label(c->table->names, &k, label, sizeof(label)) < 0)
			break;
		n = snprintf(ev, sizeof(ev),
			"{\"type\":\"TASK_ADDED\",\"task_added\":{\"task\":{\"task_id\":{\"value\":"
			"\"bench-coll-%zu\"},\"framework_id\":{\"value\":\"fw-0001\"},"
			"\"agent_id\":{\"value\":\"agent-00000000-S0\"},\"state\":\"TASK_RUNNING\","
			"\"discovery\":"
			"{\"ports\":{\"ports\":[{\"number\":40001,\"protocol\":\"tcp\",\"labels\":"
			"{\"labels\":[{\"key\":\"VIP_0\",\"value\":\"%s:80\"}]}}]}}}}}\n",
			done, label);
		before = counter_value("table_patch_fallbacks");
		t0 = clock_mono_us();
		c0 = cpu_us();
		if (mesos_parser_feed(p, ev, (size_t)n) < 0)
			return 1;
		core_flush(c);
		cpu[done] = cpu_us() - c0;
		lat[done] = clock_mono_us() - t0;
		if (counter_value("table_patch_fallbacks") != before + 1) {
			printf("%s: patched in, not rebuilt (no collision?)\n", label);
			break;
		}
	}
	if (done) {
		report("new name moving one in use (TASK_ADDED, full rebuild)", lat, done);
		report("  same, CPU time only", cpu, done);
	}
	timer_path(c, base, lat, cpu, updates + 5);
	mesos_parser_free(p);
	core_free(c);
	delta_state_clear(&delta);
	ipc_pub_close(pub);
	unlink(url + strlen("ipc://"));
	event_base_free(base);
	free(lat);
	free(cpu);
	return 0;
}
