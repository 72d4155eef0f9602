// SPDX-License-Identifier: Apache-2.0
/* The /metrics IPVS cache: a scrape reads the services and the destinations
 * of a bounded slice of them, in turn, new ones first; the source is an
 * in-memory kernel that counts the dumps asked of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipvsd/ipvs_stats_cache.h"

/* The kernel: services 0..n-1 present unless gone[i], 2 destinations each,
 * every counter equal to `tick` when read. */
struct kern {
	size_t n;
	uint8_t *gone;
	uint64_t tick;
	size_t svc_dumps, dest_dumps;
	int fail_dests; /* dests fail after this many more (-1: never) */
	int fail_second; /* dests fail after the first destination */
};

static struct svc_key key(size_t i)
{
	struct svc_key k = { .af = AF_INET, .proto = IPPROTO_TCP, .port = 80 };

	k.addr[0] = 11;
	k.addr[1] = (uint8_t)(i >> 16);
	k.addr[2] = (uint8_t)(i >> 8);
	k.addr[3] = (uint8_t)i;
	return k;
}

static size_t index_of(const struct svc_key *k)
{
	return (size_t)k->addr[1] << 16 | (size_t)k->addr[2] << 8 | k->addr[3];
}

static int k_services(void *arg, struct stats_svc **out, size_t *n)
{
	struct kern *kn = arg;
	struct stats_svc *s = calloc(kn->n + 1, sizeof(*s));
	size_t o = 0;

	kn->svc_dumps++;
	/* in reverse: the cache must not rely on the kernel's order */
	for (size_t i = kn->n; i-- > 0;) {
		if (kn->gone[i])
			continue;
		s[o].key = key(i);
		s[o].c.conns = kn->tick;
		o++;
	}
	*out = s;
	*n = o;
	return 0;
}

static int k_dests(void *arg, struct stats_svc *s)
{
	struct kern *kn = arg;

	if (kn->fail_dests == 0)
		return -EIO;
	if (kn->fail_dests > 0)
		kn->fail_dests--;
	kn->dest_dumps++;
	s->n_dests = 0;
	for (int j = 0; j < 2; j++) {
		if (j == 1 && kn->fail_second) /* part way: the netlink source empties first */
			return -EIO;
		struct stats_dest d = { .af = AF_INET, .port = 8080, .has_active = 1 };

		d.addr[0] = 10;
		d.addr[3] = (uint8_t)(j + 1);
		d.c.conns = kn->tick;
		d.active = (uint32_t)index_of(&s->key);
		assert_int_equal(stats_svc_add_dest(s, &d), 0);
	}
	return 0;
}

static void kern_init(struct kern *kn, size_t n)
{
	memset(kn, 0, sizeof(*kn));
	kn->n = n;
	kn->gone = calloc(n, 1);
	kn->fail_dests = -1;
}

/* 10,000 services: a scrape reads the destinations of 128 only; after 79
 * scrapes every one was read once; then the rotation goes on in turn, each
 * read again within the next 79. */
static void test_bounded_slices_cover_all(void **state)
{
	struct kern kn;
	struct stats_source src = { k_services, k_dests, &kn };
	struct stats_cache c = { 0 };
	uint64_t *last = calloc(10000, sizeof(*last));

	(void)state;
	kern_init(&kn, 10000);
	for (int scrape = 1; scrape <= 79; scrape++) {
		size_t before = kn.dest_dumps;

		kn.tick = (uint64_t)scrape;
		assert_int_equal(stats_cache_refresh(&c, &src, 128), 0);
		assert_true(kn.dest_dumps - before <= 128);
		assert_int_equal(c.n, 10000);
		assert_int_equal(stats_cache_read(&c), scrape < 79 ? (size_t)scrape * 128 : 10000);
		/* the services' own counters are fresh at every scrape */
		assert_int_equal(c.svcs[9999].c.conns, (uint64_t)scrape);
	}
	assert_int_equal(kn.svc_dumps, 79);
	/* (the 79th read the last 16 new ones, then 112 in turn) */
	assert_int_equal(c.dest_dumps, 79 * 128);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(c.svcs[i].n_dests, 2);
		assert_int_equal(c.svcs[i].dests[0].active, i);
		last[i] = c.svcs[i].dests[0].c.conns;
	}
	/* the next round: each service's destinations are read again, in turn */
	for (int scrape = 80; scrape <= 158; scrape++) {
		kn.tick = (uint64_t)scrape;
		assert_int_equal(stats_cache_refresh(&c, &src, 128), 0);
	}
	for (size_t i = 0; i < c.n; i++)
		assert_true(c.svcs[i].dests[0].c.conns > last[i]);
	assert_int_equal(c.dest_dumps, 158 * 128);
	stats_cache_clear(&c);
	free(kn.gone);
	free(last);
}

/* A new service is read at the next scrape; a removed one drops out with its
 * destinations; the others keep what was read. */
static void test_new_first_removed_dropped(void **state)
{
	struct kern kn;
	struct stats_source src = { k_services, k_dests, &kn };
	struct stats_cache c = { 0 };
	struct svc_key k7 = key(7);

	(void)state;
	kern_init(&kn, 300);
	kn.gone[7] = 1;
	for (int i = 0; i < 3; i++)
		assert_int_equal(stats_cache_refresh(&c, &src, 100), 0);
	assert_int_equal(c.n, 299);
	assert_int_equal(stats_cache_read(&c), 299);
	kn.gone[7] = 0; /* a new VIP */
	kn.gone[100] = 1; /* one removed */
	assert_int_equal(stats_cache_refresh(&c, &src, 100), 0);
	assert_int_equal(c.n, 299);
	assert_int_equal(stats_cache_read(&c), 299);
	assert_int_equal(svc_key_cmp(&c.svcs[7].key, &k7), 0);
	assert_int_equal(c.svcs[7].n_dests, 2);
	assert_int_equal(c.svcs[7].read, c.refreshes);
	stats_cache_clear(&c);
	free(kn.gone);
}

/* A dump failing part way: an error, and what was read stays. */
static void test_failure_keeps_cache(void **state)
{
	struct kern kn;
	struct stats_source src = { k_services, k_dests, &kn };
	struct stats_cache c = { 0 };

	(void)state;
	kern_init(&kn, 50);
	assert_int_equal(stats_cache_refresh(&c, &src, 20), 0);
	kn.fail_dests = 5;
	assert_int_equal(stats_cache_refresh(&c, &src, 20), -EIO);
	assert_int_equal(stats_cache_read(&c), 25);
	kn.fail_dests = -1;
	assert_int_equal(stats_cache_refresh(&c, &src, 20), 0);
	assert_int_equal(stats_cache_read(&c), 45);
	stats_cache_clear(&c);
	stats_cache_clear(&c); /* cleared twice: harmless */
	free(kn.gone);
}

/* A destination dump failing after it read one destination: the service
 * keeps both destinations last read, with their old counters. */
static void test_partial_failure_keeps_dests(void **state)
{
	struct kern kn;
	struct stats_source src = { k_services, k_dests, &kn };
	struct stats_cache c = { 0 };

	(void)state;
	kern_init(&kn, 3);
	kn.tick = 1;
	assert_int_equal(stats_cache_refresh(&c, &src, 3), 0);
	kn.tick = 2;
	kn.fail_second = 1;
	assert_int_equal(stats_cache_refresh(&c, &src, 3), -EIO);
	assert_int_equal(c.n, 3);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(c.svcs[i].n_dests, 2);
		assert_int_equal(c.svcs[i].dests[0].c.conns, 1);
		assert_int_equal(c.svcs[i].dests[1].c.conns, 1);
	}
	assert_int_equal(c.svcs[0].c.conns, 2); /* the services' own counters are new */
	kn.fail_second = 0;
	assert_int_equal(stats_cache_refresh(&c, &src, 3), 0);
	assert_int_equal(c.svcs[0].dests[0].c.conns, 2);
	stats_cache_clear(&c);
	free(kn.gone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded_slices_cover_all),
		cmocka_unit_test(test_new_first_removed_dropped),
		cmocka_unit_test(test_failure_keeps_cache),
		cmocka_unit_test(test_partial_failure_keeps_dests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
