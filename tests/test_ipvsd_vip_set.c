// SPDX-License-Identifier: Apache-2.0
/* The VIP ipsets against this machine's kernel, in a network namespace of
 * the test's own (skipped where that, or ip_set, is not available): members
 * changed through libipset's data API and read back straight from the
 * kernel (ipset_list.c) are the same, in both families and protocols. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/counters.h"
#include "ipvsd/ipset_list.h"
#include "ipvsd/vip_set.h"

#define N 3000

static struct plan_op ops[N + 1];
static int errs[N + 1];

static struct svc_key member(size_t i)
{
	struct svc_key k = { .af = AF_INET, .port = (uint16_t)(80 + i % 7 + (i % 5) * 1000) };

	k.proto = i % 3 ? IPPROTO_TCP : IPPROTO_UDP;
	k.addr[0] = 11;
	k.addr[2] = (uint8_t)(i >> 8);
	k.addr[3] = (uint8_t)i;
	if (i == N) { /* one IPv6 member */
		k.af = AF_INET6;
		memset(k.addr, 0, sizeof(k.addr));
		k.addr[0] = 0xfd;
		k.addr[1] = 0x01;
		k.addr[3] = 0x0c;
		k.addr[15] = 1;
		k.port = 53;
	}
	return k;
}

static void expect(struct vip_set *vs, size_t from, size_t step)
{
	struct key_set got = { 0 }, want = { 0 };

	for (size_t i = from; i <= N; i += step) {
		struct svc_key k = member(i);

		assert_int_equal(key_set_add(&want, &k), 0);
	}
	key_set_sort(&want);
	assert_int_equal(vip_set_list(vs, &got), 0);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.k, want.k, want.n * sizeof(*want.k));
	key_set_clear(&got);
	key_set_clear(&want);
}

static void test_members_round_trip(void **state)
{
	struct vip_set *vs;
	struct key_set none = { 0 };
	size_t m = 0;

	(void)state;
	if (unshare(CLONE_NEWNET) < 0)
		skip(); /* not root */
	if (vip_set_open(0, &vs) < 0)
		skip(); /* no ip_set in this kernel */
	for (size_t i = 0; i <= N; i++)
		ops[i] = (struct plan_op){ .type = OP_ADD_MEMBER, .key = member(i) };
	assert_int_equal(vip_set_apply(vs, ops, N + 1, errs), 0);
	for (size_t i = 0; i <= N; i++)
		assert_int_equal(errs[i], 0);
	expect(vs, 0, 1);
	/* again: already there is fine */
	assert_int_equal(vip_set_apply(vs, ops, N + 1, errs), 0);
	for (size_t i = 0; i <= N; i++)
		assert_int_equal(errs[i], 0);
	/* every even one goes, and one that was never there */
	for (size_t i = 0; i <= N; i += 2)
		ops[m++] = (struct plan_op){ .type = OP_DEL_MEMBER, .key = member(i) };
	ops[m] = (struct plan_op){ .type = OP_DEL_MEMBER, .key = member(1) };
	ops[m++].key.port = 9;
	assert_int_equal(vip_set_apply(vs, ops, m, errs), 0);
	for (size_t i = 0; i < m; i++)
		assert_int_equal(errs[i], 0);
	expect(vs, 1, 2);
	assert_int_equal(ipset_list_members("l4lb-no-such-set", &none), -ENOENT);
	assert_int_equal(vip_set_destroy(vs), 0);
	vip_set_close(vs);
}

/* A set destroyed behind ipvsd's back is created again at the next listing
 * (not in a dry run); a listing that fails keeps the last members read. */
static void test_gone_and_wrong(void **state)
{
	struct vip_set *vs, *dry, *again;
	struct key_set got = { 0 }, none = { 0 };
	struct svc_key k1 = member(1), k6 = { 0 };
	uint64_t before = counter_value("ipset_recreated");

	(void)state;
	if (unshare(CLONE_NEWNET) < 0)
		skip();
	if (vip_set_open(0, &vs) < 0)
		skip();
	ops[0] = (struct plan_op){ .type = OP_ADD_MEMBER, .key = k1 };
	assert_int_equal(vip_set_apply(vs, ops, 1, errs), 0);
	assert_int_equal(vip_set_list(vs, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(vip_set_open(1, &dry), 0);
	assert_int_equal(vip_set_destroy(vs), 0);

	/* dry run: not created; the last members stand */
	assert_int_equal(vip_set_list(dry, &got), -ENOENT);
	assert_int_equal(got.n, 1);
	assert_int_equal(ipset_list_members(VIP_SET4, &none), -ENOENT);
	assert_int_equal(counter_value("ipset_recreated"), before);
	/* otherwise both made again, empty, and usable */
	assert_int_equal(vip_set_list(vs, &got), 0);
	assert_int_equal(got.n, 0);
	assert_int_equal(counter_value("ipset_recreated"), before + 2);
	assert_int_equal(vip_set_apply(vs, ops, 1, errs), 0);
	assert_int_equal(errs[0], 0);
	assert_int_equal(vip_set_list(vs, &got), 0);
	assert_int_equal(got.n, 1);
	assert_memory_equal(&got.k[0], &k1, sizeof(k1));

	/* a set of that name of another type (someone else's): an error, not
	 * an empty set, its family's last members kept while the other family
	 * is still read (and made again); and no start on it */
	vip_set_destroy(vs);
	if (system("ipset create l4lb-vips6 hash:ip family inet6 2>/dev/null") != 0) {
		vip_set_close(dry);
		vip_set_close(vs);
		key_set_clear(&got);
		skip(); /* no ipset(8) here */
	}
	k6.af = AF_INET6;
	assert_int_equal(key_set_insert(&got, &k6), 0);
	assert_int_equal(vip_set_list(vs, &got), -EMEDIUMTYPE);
	assert_int_equal(got.n, 1); /* v4: made again, empty; v6: as it was */
	assert_int_equal(got.k[0].af, AF_INET6);
	assert_int_equal(vip_set_apply(vs, ops, 1, errs), 0);
	assert_int_equal(vip_set_list(vs, &got), -EMEDIUMTYPE);
	assert_int_equal(got.n, 2);
	assert_memory_equal(&got.k[0], &k1, sizeof(k1));
	assert_int_equal(vip_set_open(0, &again), -EMEDIUMTYPE);
	assert_null(again);
	key_set_clear(&got);
	vip_set_close(dry);
	vip_set_close(vs);
}

/* Past maxelem (65,536 by default; here a set made beforehand with 3, used
 * as it is): those members fail one by one, the others go in. */
static void test_beyond_maxelem(void **state)
{
	struct vip_set *vs;
	struct key_set got = { 0 };
	int failed = 0;

	(void)state;
	if (unshare(CLONE_NEWNET) < 0)
		skip();
	if (system("ipset create l4lb-vips4 hash:ip,port family inet maxelem 3 2>/dev/null"))
		skip(); /* no ip_set or no ipset(8) here */
	assert_int_equal(vip_set_open(0, &vs), 0);
	for (size_t i = 0; i < 5; i++)
		ops[i] = (struct plan_op){ .type = OP_ADD_MEMBER, .key = member(i + 1) };
	assert_int_equal(vip_set_apply(vs, ops, 5, errs), 0);
	for (size_t i = 0; i < 5; i++)
		failed += errs[i] != 0;
	assert_int_equal(failed, 2);
	assert_int_equal(vip_set_list(vs, &got), 0);
	assert_int_equal(got.n, 3);
	key_set_clear(&got);
	assert_int_equal(vip_set_destroy(vs), 0);
	vip_set_close(vs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_round_trip),
		cmocka_unit_test(test_gone_and_wrong),
		cmocka_unit_test(test_beyond_maxelem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
