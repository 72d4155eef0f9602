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
	assert_true(vip_set_list(vs, &none) < 0);
	vip_set_close(vs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
