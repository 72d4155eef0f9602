// SPDX-License-Identifier: Apache-2.0
/* The string map: copied (boxed) and borrowed keys, tombstones, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/strmap.h"

#define N 10000

static int freed;

static void count_free(void *p)
{
	(void)p;
	freed++;
}

/* Keys copied by the map: every one found, replaced, removed, iterated. */
static void test_owned_keys(void **state)
{
	struct strmap m;
	char k[32];
	int err;
	size_t i = 0, seen = 0;
	const char *key;
	void *v;

	(void)state;
	strmap_init(&m);
	for (uintptr_t j = 1; j <= N; j++) {
		snprintf(k, sizeof(k), "key-%lu", (unsigned long)j);
		assert_null(strmap_put(&m, k, (void *)j, &err));
		assert_int_equal(err, 0);
	}
	assert_int_equal(m.n, N);
	/* The map's own copies: the caller's buffer is reused above. */
	for (uintptr_t j = 1; j <= N; j++) {
		snprintf(k, sizeof(k), "key-%lu", (unsigned long)j);
		assert_ptr_equal(strmap_get(&m, k), (void *)j);
	}
	assert_ptr_equal(strmap_getn(&m, "key-12xyz", 6), (void *)12);
	assert_null(strmap_getn(&m, "key-12xyz", 5 + 4));
	assert_ptr_equal(strmap_put(&m, "key-7", (void *)70, &err), (void *)7);
	assert_ptr_equal(strmap_get(&m, "key-7"), (void *)70);
	for (uintptr_t j = 2; j <= N; j += 2) {
		snprintf(k, sizeof(k), "key-%lu", (unsigned long)j);
		assert_ptr_equal(strmap_del(&m, k), (void *)j);
		assert_null(strmap_get(&m, k));
	}
	assert_null(strmap_del(&m, "key-2"));
	assert_int_equal(m.n, N / 2);
	while (strmap_next(&m, &i, &key, &v)) {
		uintptr_t want = strtoul(key + 4, NULL, 10);

		assert_true(want % 2);
		assert_ptr_equal(v, (void *)(want == 7 ? 70 : want));
		seen++;
	}
	assert_int_equal(seen, N / 2);
	freed = 0;
	strmap_clear(&m, count_free);
	assert_int_equal(freed, N / 2);
	assert_int_equal(m.n, 0);
	assert_null(strmap_get(&m, "key-1"));
}

struct item {
	char *id;
	int v;
};

static const char *item_key(const void *p)
{
	return ((const struct item *)p)->id;
}

/* Keys borrowed from the values: a replacing value owns the key after. */
static void test_borrowed_keys(void **state)
{
	struct strmap m = { .key_of = item_key };
	struct item *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	const char *key;
	void *v;
	size_t i = 0;
	int err;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	a->id = strdup("task-1");
	a->v = 1;
	b->id = strdup("task-1");
	b->v = 2;
	assert_null(strmap_put(&m, a->id, a, &err));
	assert_ptr_equal(strmap_put(&m, b->id, b, &err), a);
	/* a and its id gone: the map must now read b's (ASan would see it) */
	free(a->id);
	free(a);
	assert_ptr_equal(strmap_get(&m, "task-1"), b);
	assert_true(strmap_next(&m, &i, &key, &v));
	assert_ptr_equal(key, b->id);
	assert_ptr_equal(v, b);
	assert_false(strmap_next(&m, &i, &key, &v));
	assert_ptr_equal(strmap_del(&m, "task-1"), b);
	assert_int_equal(m.n, 0);
	free(b->id);
	free(b);
	strmap_clear(&m, NULL);
	assert_ptr_equal(m.key_of, item_key);
}

/* Keys put and removed without end: tombstones are rehashed away at the
 * same size, the table does not grow with the churn. */
static void test_churn_stays_small(void **state)
{
	struct strmap m;
	char k[32];
	int err;

	(void)state;
	strmap_init(&m);
	for (unsigned long j = 0; j < 200000; j++) {
		snprintf(k, sizeof(k), "churn-%lu", j);
		assert_null(strmap_put(&m, k, (void *)1, &err));
		assert_int_equal(err, 0);
		if (j >= 10)
			snprintf(k, sizeof(k), "churn-%lu", j - 10);
		if (j >= 10)
			assert_ptr_equal(strmap_del(&m, k), (void *)1);
	}
	assert_int_equal(m.n, 10);
	assert_true(m.cap <= 64);
	strmap_clear(&m, NULL);
}

/* A presized map fills without growing; slot values are what iteration
 * gives. */
static void test_presize_and_slots(void **state)
{
	struct strmap m;
	char k[32];
	size_t cap, i = 0, inslots = 0, iterated = 0;
	void *v;
	int err;

	(void)state;
	strmap_init(&m);
	assert_int_equal(strmap_presize(&m, 1000), 0);
	cap = m.cap;
	assert_true(cap * 3 > 1001 * 4);
	for (uintptr_t j = 1; j <= 1000; j++) {
		snprintf(k, sizeof(k), "p%lu", (unsigned long)j);
		strmap_put(&m, k, (void *)j, &err);
		assert_int_equal(err, 0);
	}
	assert_int_equal(m.cap, cap);
	for (size_t s = 0; s < m.cap + 8; s++)
		inslots += (uintptr_t)strmap_slot_val(&m, s);
	while (strmap_next(&m, &i, NULL, &v))
		iterated += (uintptr_t)v;
	assert_int_equal(inslots, 1000 * 1001 / 2);
	assert_int_equal(iterated, inslots);
	strmap_clear(&m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owned_keys),
		cmocka_unit_test(test_borrowed_keys),
		cmocka_unit_test(test_churn_stays_small),
		cmocka_unit_test(test_presize_and_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
