// SPDX-License-Identifier: Apache-2.0
/* Named VIP names and addresses: the reference's test vectors, collisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/named_vip.h"

#define TEST_MIN 0x0b000000u /* 11.0.0.0 */
#define TEST_MAX 0x0b0000feu /* 11.0.0.254: Q = 254 */

static void test_frag(void **state)
{
	char buf[300];

	(void)state;
	assert_int_equal(named_vip_name("/abc", "marathon", buf, sizeof(buf)), 12);
	assert_string_equal(buf, "abc.marathon");
	named_vip_name("/api.hello-world", "marathon", buf, sizeof(buf));
	assert_string_equal(buf, "api.hello-world.marathon");
	/* lowercase, leading junk skipped, '_' mapped, other chars dropped, '-' trimmed */
	named_vip_name("/My_App--", "Group/Sub_Fw!", buf, sizeof(buf));
	assert_string_equal(buf, "my-app.groupsub-fw");
	named_vip_name("..a..b.", "-_x", buf, sizeof(buf));
	assert_string_equal(buf, "a.b.x");
	/* a part is capped at 63 characters */
	char longp[100];

	memset(longp, 'a', 80);
	longp[80] = '\0';
	assert_int_equal(named_vip_frag(longp, 80, buf, sizeof(buf)), 63);
	/* nothing left after cleaning: no name */
	assert_true(named_vip_name("/!!!", "marathon", buf, sizeof(buf)) < 0);
	assert_true(named_vip_name("app", "", buf, sizeof(buf)) < 0);
}

static void test_lookup2_vectors(void **state)
{
	(void)state;
	assert_int_equal(named_vip4_base("foo.bar", TEST_MIN, TEST_MAX), TEST_MIN + 37);
	assert_int_equal(named_vip4_base("baz.qux", TEST_MIN, TEST_MAX), TEST_MIN + 39);
	assert_int_equal(named_vip4_base("foo.marathon", TEST_MIN, TEST_MAX), TEST_MIN + 35);
	/* full range: abc.marathon → 11.159.183.148 */
	assert_int_equal(named_vip4_base("abc.marathon", NAMED_VIP4_MIN, NAMED_VIP4_MAX),
			 (11u << 24) | (159u << 16) | (183u << 8) | 148u);
}

static void test_sha1(void **state)
{
	static const uint8_t abc[20] = { 0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
					 0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d };
	static const uint8_t two_blocks[20] = { 0x84, 0x98, 0x3e, 0x44, 0x1c, 0x3b, 0xd2, 0x6e, 0xba, 0xae,
						0x4a, 0xa1, 0xf9, 0x51, 0x29, 0xe5, 0xe5, 0x46, 0x70, 0xf1 };
	uint8_t d[20];

	(void)state;
	sha1_digest("abc", 3, d);
	assert_memory_equal(d, abc, 20);
	sha1_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	assert_memory_equal(d, two_blocks, 20);
}

static void test_ipv6_vector(void **state)
{
	/* qux.ipv6 → fd01:c::6d6d:9c64:fd19:f251 */
	static const uint8_t want[16] = { 0xfd, 0x01, 0x00, 0x0c, 0, 0, 0, 0,
					  0x6d, 0x6d, 0x9c, 0x64, 0xfd, 0x19, 0xf2, 0x51 };
	uint8_t a[16];

	(void)state;
	named_vip6_base("qux.ipv6", a);
	assert_memory_equal(a, want, 16);
}

/* Two names with the same hash: the first in sorted order keeps its
 * address, the other probes to the next one, whatever the input order. */
static void test_collision_fixed_order(void **state)
{
	char names[300][16];
	const char *pair[2] = { NULL, NULL };
	int first[TEST_MAX - TEST_MIN + 1];
	uint32_t a[2], b[2];

	(void)state;
	memset(first, -1, sizeof(first));
	for (int i = 0; i < 300 && !pair[1]; i++) {
		uint32_t base;

		snprintf(names[i], sizeof(names[i]), "n%d.fw", i);
		base = named_vip4_base(names[i], TEST_MIN, TEST_MAX) - TEST_MIN;
		if (first[base] >= 0) {
			pair[0] = names[first[base]];
			pair[1] = names[i];
		}
		first[base] = i;
	}
	assert_non_null(pair[1]); /* 300 names in 254 addresses must collide */
	const char *fwd[2] = { pair[0], pair[1] }, *rev[2] = { pair[1], pair[0] };

	assert_int_equal(named_vip_alloc(fwd, 2, TEST_MIN, TEST_MAX, a, NULL), 0);
	assert_int_equal(named_vip_alloc(rev, 2, TEST_MIN, TEST_MAX, b, NULL), 0);
	assert_int_equal(a[0], b[1]);
	assert_int_equal(a[1], b[0]);
	assert_int_not_equal(a[0], a[1]);
	uint32_t base = named_vip4_base(pair[0], TEST_MIN, TEST_MAX);
	int lo = strcmp(pair[0], pair[1]) < 0 ? 0 : 1;

	assert_int_equal(a[lo], base);
	assert_int_equal(a[1 - lo], base == TEST_MAX ? TEST_MIN : base + 1);
}

/* Probing wraps from max to min; all 255 addresses of the small range. */
static void test_collision_wrap_and_full(void **state)
{
	static char names[255][16];
	const char *ptr[255];
	uint32_t out[255];
	int seen[255] = { 0 };

	(void)state;
	for (int i = 0; i < 254; i++) {
		snprintf(names[i], sizeof(names[i]), "w%d.fw", i);
		ptr[i] = names[i];
	}
	/* 254 names in 255 addresses [min, max]: every address distinct. */
	assert_int_equal(named_vip_alloc(ptr, 254, TEST_MIN, TEST_MAX, out, NULL), 0);
	for (int i = 0; i < 254; i++) {
		assert_true(out[i] >= TEST_MIN && out[i] <= TEST_MAX);
		assert_int_equal(seen[out[i] - TEST_MIN]++, 0);
	}
	/* more names than addresses is refused, not looped on */
	assert_int_equal(named_vip_alloc(ptr, 254, TEST_MIN, TEST_MIN + 10, out, NULL), -ENOSPC);
}

static void test_ipv6_alloc_distinct(void **state)
{
	const char *n[3] = { "b.x", "a.x", "c.x" };
	uint8_t a6[3][16], base[16];

	(void)state;
	assert_int_equal(named_vip_alloc(n, 3, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL, a6), 0);
	named_vip6_base("a.x", base);
	assert_memory_equal(a6[1], base, 16);
	assert_memory_not_equal(a6[0], a6[1], 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frag),
		cmocka_unit_test(test_lookup2_vectors),
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_ipv6_vector),
		cmocka_unit_test(test_collision_fixed_order),
		cmocka_unit_test(test_collision_wrap_and_full),
		cmocka_unit_test(test_ipv6_alloc_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
