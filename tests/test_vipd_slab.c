// SPDX-License-Identifier: Apache-2.0
/*
 * The task records' blocks (slab.c): aligned, apart from each other (their
 * bytes survive the others' writes), a freed block serves the next of its
 * size, big blocks and the accounting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/slab.h"

#define N 20000

static void test_blocks_apart(void **state)
{
	static uint8_t *b[N];
	static size_t sz[N];
	size_t base = slab_in_use();

	(void)state;
	srandom(7);
	for (size_t i = 0; i < N; i++) {
		sz[i] = 1 + (size_t)random() % 300;
		assert_non_null(b[i] = slab_alloc(sz[i]));
		assert_int_equal((uintptr_t)b[i] % 8, 0);
		memset(b[i], (int)(i & 255), sz[i]);
	}
	/* Every block still holds its own bytes: none overlaps another. */
	for (size_t i = 0; i < N; i++)
		for (size_t k = 0; k < sz[i]; k++)
			assert_int_equal(b[i][k], i & 255);
	assert_true(slab_in_use() >= base + N);
	assert_true(slab_held() >= slab_in_use() - base);
	/* Every other one freed and allocated again: the same sizes come back
	 * without new chunks. */
	for (size_t i = 0; i < N; i += 2)
		slab_free(b[i], sz[i]);
	{
		size_t held = slab_held();
		/* (under ASan blocks are malloc's: held is what is in use) */
		int slabs = held != slab_in_use();

		for (size_t i = 0; i < N; i += 2) {
			assert_non_null(b[i] = slab_alloc(sz[i]));
			memset(b[i], (int)(i & 255), sz[i]);
		}
		if (slabs)
			assert_int_equal(slab_held(), held);
	}
	for (size_t i = 0; i < N; i++)
		for (size_t k = 0; k < sz[i]; k++)
			assert_int_equal(b[i][k], i & 255);
	for (size_t i = 0; i < N; i++)
		slab_free(b[i], sz[i]);
	assert_int_equal(slab_in_use(), base);
}

static void test_big_and_null(void **state)
{
	size_t base = slab_in_use();
	uint8_t *p = slab_alloc(100000);

	(void)state;
	assert_non_null(p);
	memset(p, 1, 100000);
	slab_free(p, 100000);
	slab_free(NULL, 64);
	assert_int_equal(slab_in_use(), base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_apart),
		cmocka_unit_test(test_big_and_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
