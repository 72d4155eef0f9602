// SPDX-License-Identifier: Apache-2.0
/*
 * What a subscriber does with the snapshots it receives (common/ipc.c,
 * through ipc_sub_receive, the receive path without sockets): with the raw
 * hooks, a snapshot the reader applies is counted ipc_snapshots_applied;
 * one it leaves alone because it already holds a newer table (ipvsd, whose
 * deltas overtook the snapshot) is counted ipc_snapshots_skipped instead and
 * never reaches the snapshot callback; one the hooks refuse is unpacked and
 * delivered. Older, repeated and malformed messages are never delivered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/counters.h"
#include "common/ipc.h"

#define EPOCH 7

static struct {
	int apply_rc;      /* what the raw apply returns */
	unsigned applied;  /* raw applies that returned 0 */
	unsigned delivered;
	uint64_t last_gen; /* of the last delivery to the snapshot fn */
} st;

static void pack_table(uint64_t gen, struct ipc_buf *out)
{
	L4lb__V1__VipTable vt = L4LB__V1__VIP_TABLE__INIT;
	Envelope env = L4LB__V1__ENVELOPE__INIT;

	vt.has_generation = vt.has_publisher_epoch = 1;
	vt.generation = gen;
	vt.publisher_epoch = EPOCH;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &vt;
	assert_int_equal(envelope_pack(&env, out), 0);
}

/* The version as a walker would read it: here by unpacking. */
static int peek(const void *data, size_t len, uint64_t *epoch, uint64_t *gen, void *arg)
{
	const char *why;
	Envelope *env = envelope_unpack(data, len, &why);

	(void)arg;
	if (!env || !env->vip_table) {
		envelope_free(env);
		return -1;
	}
	*epoch = env->vip_table->publisher_epoch;
	*gen = env->vip_table->generation;
	envelope_free(env);
	return 0;
}

static int apply(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(void)arg;
	st.applied += st.apply_rc == 0;
	return st.apply_rc;
}

static void on_snapshot(const Envelope *env, void *arg)
{
	(void)arg;
	st.delivered++;
	st.last_gen = env->vip_table->generation;
}

/* Receives table `gen` (as a publication) with the raw apply returning rc. */
static void receive(struct ipc_sub *sub, uint64_t gen, int rc)
{
	struct ipc_buf b;

	pack_table(gen, &b);
	st.apply_rc = rc;
	ipc_sub_receive(sub, b.data, b.len, 0);
	ipc_buf_free(&b);
}

static void test_skipped_not_counted_as_applied(void **state)
{
	struct ipc_sub *sub = ipc_sub_detached(L4LB__V1__ENVELOPE__TYPE__VIP_TABLE, on_snapshot,
					       NULL);
	uint64_t applied0 = counter_value("ipc_snapshots_applied");
	uint64_t skipped0 = counter_value("ipc_snapshots_skipped");
	uint64_t rx0 = counter_value("ipc_rx_messages");

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_non_null(sub);
	ipc_sub_set_raw(sub, peek, apply);

	receive(sub, 1, 0); /* applied raw */
	assert_int_equal(st.applied, 1);
	assert_int_equal(counter_value("ipc_snapshots_applied"), applied0 + 1);
	assert_int_equal(counter_value("ipc_snapshots_skipped"), skipped0);

	receive(sub, 2, IPC_RAW_SKIPPED); /* the reader holds a newer table */
	assert_int_equal(counter_value("ipc_snapshots_applied"), applied0 + 1);
	assert_int_equal(counter_value("ipc_snapshots_skipped"), skipped0 + 1);
	assert_int_equal(st.delivered, 0); /* not unpacked and delivered either */

	/* it still counts as received: the same version again is not handed on */
	receive(sub, 2, 0);
	assert_int_equal(st.applied, 1);

	receive(sub, 3, -1); /* the hooks refuse it: unpacked and delivered */
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.last_gen, 3);
	assert_int_equal(counter_value("ipc_snapshots_applied"), applied0 + 2);
	assert_int_equal(counter_value("ipc_snapshots_skipped"), skipped0 + 1);

	receive(sub, 1, 0); /* older: dropped before the hooks */
	assert_int_equal(st.applied, 1);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(counter_value("ipc_snapshots_applied"), applied0 + 2);

	/* every message is counted as received, whatever became of it */
	assert_int_equal(counter_value("ipc_rx_messages"), rx0 + 5);
	ipc_sub_close(sub);
}

/* Without raw hooks: delivered in order, each counted applied once. */
static void test_without_hooks(void **state)
{
	struct ipc_sub *sub = ipc_sub_detached(L4LB__V1__ENVELOPE__TYPE__VIP_TABLE, on_snapshot,
					       NULL);
	uint64_t applied0 = counter_value("ipc_snapshots_applied");
	uint64_t bad0 = counter_value("ipc_rx_malformed");

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_non_null(sub);
	receive(sub, 4, 0);
	receive(sub, 4, 0);
	receive(sub, 3, 0);
	ipc_sub_receive(sub, "\xff\xff", 2, 0);
	receive(sub, 5, 0);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.last_gen, 5);
	assert_int_equal(counter_value("ipc_snapshots_applied"), applied0 + 2);
	assert_int_equal(counter_value("ipc_rx_malformed"), bad0 + 1);
	ipc_sub_close(sub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skipped_not_counted_as_applied),
		cmocka_unit_test(test_without_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
