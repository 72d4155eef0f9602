// SPDX-License-Identifier: Apache-2.0
/*
 * vipd's benchmark driver (built by bench/vipd_bench.sh against vipd's own
 * objects): streams a state file through the parser into the model, builds
 * the table, then applies TASK_UPDATED events one at a time and measures
 * each apply + rebuild + pack (what vipd does before ipc_pub_set).
 *   vipd_update STATE_FILE [UPDATES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "vipd/apply.h"
#include "vipd/mesos_parse.h"
#include "vipd/named_vip.h"
#include "vipd/publish.h"
#include "vipd/rules.h"

static void on_rec(struct mesos_record *rec, void *arg)
{
	apply_record(arg, rec, 0, 1000);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	struct model *m = model_new();
	struct mesos_parser *p = mesos_parser_new(on_rec, &m);
	struct vip_table *t;
	FILE *f;
	size_t n, updates = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
	uint64_t t0, t1, t2, *lat = calloc(updates, sizeof(uint64_t));
	struct snapshot_meta meta = { 1, 1, 0, "bench" };
	struct ipc_buf pk = { 0 };
	const char *id;
	void *v;
	size_t it = 0, done = 0;

	if (argc < 2 || !(f = fopen(argv[1], "r")))
		return 2;
	t0 = clock_mono_us();
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (mesos_parser_feed(p, buf, n) < 0)
			return 1;
	if (mesos_parser_finish(p) < 0)
		return 1;
	t1 = clock_mono_us();
	t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	t2 = clock_mono_us();
	printf("parse %.1f ms, build %.1f ms: %zu VIPs, %zu backends, %zu tasks kept\n",
	       (t1 - t0) / 1e3, (t2 - t1) / 1e3, t->n, vip_table_backends(t), m->tasks.n);
	vip_table_free(t);
	/* Flip tasks between RUNNING and KILLING: each is a real change. */
	while (done < updates && strmap_next(&m->tasks, &it, &id, &v)) {
		struct mesos_record rec = { .type = REC_TASK_UPDATED };
		struct task st = { .healthy = -1, .ts = 1e10 + (double)done };

		rec.upd_task_id = (char *)id;
		rec.upd_state = done % 2 ? TS_RUNNING : TS_KILLING;
		rec.upd_status = &st;
		t0 = clock_mono_us();
		apply_record(&m, &rec, 0, 1000);
		t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
		publish_pack(t, &meta, &pk);
		lat[done++] = clock_mono_us() - t0;
		ipc_buf_free(&pk);
		vip_table_free(t);
	}
	qsort(lat, done, sizeof(*lat), cmp_u64);
	if (done)
		printf("TASK_UPDATED apply+rebuild+pack: median %.2f ms, p99 %.2f ms over %zu\n",
		       lat[done / 2] / 1e3, lat[done * 99 / 100] / 1e3, done);
	mesos_parser_free(p);
	model_free(m);
	free(lat);
	fclose(f);
	return 0;
}
