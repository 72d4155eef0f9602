// SPDX-License-Identifier: Apache-2.0
/*
 * Shared strings (intern.c) and the pointer-keyed cache (ptrmap.c): equal
 * strings share one copy while referenced, a string goes with its last
 * reference, strings with a NUL inside stay apart, and the map finds what
 * was put under the same pointers and tag only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/intern.h"
#include "vipd/ptrmap.h"

static void test_intern_shares_and_counts(void **state)
{
	size_t base = intern_count();
	const char *a = intern("agent-1x", 7), *b, *c, *d;
	char buf[32];

	(void)state;
	assert_string_equal(a, "agent-1");
	/* equal content, another buffer: the same copy */
	snprintf(buf, sizeof(buf), "agent-%d", 1);
	b = intern_str(buf);
	assert_ptr_equal(a, b);
	assert_int_equal(intern_count(), base + 1);
	/* past the few recent ones: still found through the map */
	for (int i = 0; i < 8; i++) {
		snprintf(buf, sizeof(buf), "other-%d", i);
		intern_drop(intern_str(buf));
	}
	assert_int_equal(intern_count(), base + 1);
	c = intern_str("agent-1");
	assert_ptr_equal(a, c);
	assert_ptr_equal(intern_ref(a), a);
	/* four references: the string stays until the last goes */
	intern_drop(a);
	intern_drop(b);
	intern_drop(c);
	assert_int_equal(intern_count(), base + 1);
	assert_string_equal(a, "agent-1");
	intern_drop(a);
	assert_int_equal(intern_count(), base);
	/* and comes back as a new one (not a stale recent entry) */
	d = intern_str("agent-1");
	assert_string_equal(d, "agent-1");
	assert_int_equal(intern_count(), base + 1);
	intern_drop(d);
	intern_drop(NULL);
	assert_int_equal(intern_count(), base);
}

static void test_intern_nul_inside(void **state)
{
	size_t base = intern_count();
	const char *p = intern_str("ab"), *q = intern("ab\0c", 4), *r;

	(void)state;
	/* "ab\0c" is not "ab": its own copy, outside the map */
	assert_ptr_not_equal(p, q);
	assert_memory_equal(q, "ab\0c", 4);
	assert_int_equal(intern_count(), base + 1);
	r = intern("ab", 2);
	assert_ptr_equal(p, r);
	intern_drop(q);
	intern_drop(r);
	assert_string_equal(p, "ab");
	intern_drop(p);
	assert_int_equal(intern_count(), base);
}

static void test_ptrmap(void **state)
{
	struct ptrmap m = { 0 };
	static int keys[1000], other;

	(void)state;
	assert_null(ptrmap_get(&m, &keys[0], NULL, 1));
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ptrmap_put(&m, &keys[i], i % 2 ? &other : NULL, 1,
					    &keys[(i + 1) % 1000]), 0);
	assert_int_equal(m.n, 1000);
	for (int i = 0; i < 1000; i++) {
		assert_ptr_equal(ptrmap_get(&m, &keys[i], i % 2 ? &other : NULL, 1),
				 &keys[(i + 1) % 1000]);
		/* another second pointer or tag: another key */
		assert_null(ptrmap_get(&m, &keys[i], i % 2 ? NULL : &other, 1));
		assert_null(ptrmap_get(&m, &keys[i], i % 2 ? &other : NULL, 2));
	}
	assert_int_equal(ptrmap_put(&m, &keys[5], &other, 1, &other), 0);
	assert_int_equal(m.n, 1000);
	assert_ptr_equal(ptrmap_get(&m, &keys[5], &other, 1), &other);
	ptrmap_clear(&m);
	assert_null(ptrmap_get(&m, &keys[5], &other, 1));
}

/* Ids stand for their strings while held; 0 is NULL; a dropped string's
 * id serves the next new one. */
static void test_intern_ids(void **state)
{
	const char *a = intern_str("id-a"), *b = intern_str("id-b"), *c;
	uint32_t ia = intern_id(a), ib = intern_id(b);

	(void)state;
	assert_int_equal(intern_id(NULL), 0);
	assert_null(intern_at(0));
	assert_true(ia && ib && ia != ib);
	assert_ptr_equal(intern_at(ia), a);
	assert_ptr_equal(intern_at(ib), b);
	/* another reference: the same id */
	assert_int_equal(intern_id(intern_str("id-a")), ia);
	intern_drop(a);
	assert_ptr_equal(intern_at(ia), a);
	intern_drop(a);
	c = intern_str("id-c");
	assert_int_equal(intern_id(c), ia);
	assert_string_equal(intern_at(ia), "id-c");
	/* a string with a NUL inside (not pooled) has an id too */
	{
		const char *d = intern("x\0y", 3);

		assert_ptr_equal(intern_at(intern_id(d)), d);
		intern_drop(d);
	}
	intern_drop(b);
	intern_drop(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intern_shares_and_counts),
		cmocka_unit_test(test_intern_nul_inside),
		cmocka_unit_test(test_ptrmap),
		cmocka_unit_test(test_intern_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
