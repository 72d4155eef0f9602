// SPDX-License-Identifier: Apache-2.0
/* The addresses of an interface read from the kernel's own dump
 * (ipvsd/vip_addr.c), at once and a part per step: the loopback interface
 * in a dry run (nothing is changed), which always holds 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "ipvsd/vip_addr.h"

static int has_loopback(const struct key_set *s)
{
	struct svc_key k = { .af = AF_INET, .addr = { 127, 0, 0, 1 } };

	return key_set_has(s, &k);
}

static void test_list_at_once_and_in_steps(void **state)
{
	struct vip_addr *va = NULL;
	struct key_set once = { 0 }, steps = { 0 };
	int rc, n = 0;

	(void)state;
	assert_int_equal(vip_addr_open("lo", 1, 1, &va), 0);
	assert_int_equal(vip_addr_list(va, &once), 0);
	assert_true(has_loopback(&once));
	for (size_t i = 0; i < once.n; i++) /* only lo's, no link-local */
		assert_false(once.k[i].af == AF_INET6 && once.k[i].addr[0] == 0xfe);
	assert_int_equal(vip_addr_list_start(va, &steps), 0);
	while ((rc = vip_addr_list_step(va, 0)) == 0) /* one part per step */
		n++;
	assert_int_equal(rc, 1);
	assert_true(n < 1000);
	assert_int_equal(steps.n, once.n);
	assert_memory_equal(steps.k, once.k, once.n * sizeof(*once.k));
	/* a listing dropped half way leaves the next one whole */
	assert_int_equal(vip_addr_list_start(va, &steps), 0);
	vip_addr_list_abort(va);
	assert_int_equal(vip_addr_list_step(va, 0), -EINVAL);
	assert_int_equal(vip_addr_list(va, &steps), 0);
	assert_int_equal(steps.n, once.n);
	key_set_clear(&once);
	key_set_clear(&steps);
	vip_addr_close(va);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_at_once_and_in_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
