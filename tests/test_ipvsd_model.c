// SPDX-License-Identifier: Apache-2.0
/* Reads from the kernel taken aside (ipvsd/model.c): a fake kernel that
 * fails part way through a dump leaves the model as ipvsd knew it (the
 * drain tick's and the full pass's destinations, the first pass's table),
 * and a read that goes through replaces it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvsd/model.h"

static struct svc_key key(uint8_t last)
{
	struct svc_key k = { .af = AF_INET, .proto = IPPROTO_TCP, .port = 80 };

	k.addr[0] = 11;
	k.addr[3] = last;
	return k;
}

static struct ipvs_dest dest(uint8_t last, uint32_t weight)
{
	struct ipvs_dest d = { .port = 8080, .weight = weight };

	d.addr[0] = 10;
	d.addr[3] = last;
	return d;
}

/* The fake kernel: what a dump would list, and after how many entries it
 * fails (0: never), as a netlink dump failing in its second part. */
struct fake {
	struct ipvs_table *kernel;
	size_t fail_after;
};

static int fake_dests(struct ipvs_svc *into, void *arg)
{
	struct fake *f = arg;
	const struct ipvs_svc *s = ipvs_table_find(f->kernel, &into->key);

	for (size_t i = 0; s && i < s->n_dests; i++) {
		if (f->fail_after && i == f->fail_after)
			return -EIO;
		assert_int_equal(ipvs_svc_add_dest(into, &s->dests[i]), 0);
	}
	return 0;
}

static int fake_table(struct ipvs_table *into, void *arg)
{
	struct fake *f = arg;

	for (size_t i = 0; i < f->kernel->n; i++) {
		if (f->fail_after && i == f->fail_after)
			return -EINTR;
		assert_non_null(ipvs_table_add(into, &f->kernel->svcs[i].key, "wlc"));
	}
	ipvs_table_sort(into);
	return 0;
}

static void test_dests_failing_part_way_keep_the_model(void **state)
{
	struct ipvs_table *model = ipvs_table_new(), *kernel = ipvs_table_new();
	struct fake f = { .kernel = kernel, .fail_after = 2 };
	struct svc_key k = key(1);
	struct ipvs_svc *m, *s;
	struct ipvs_dest d;

	(void)state;
	m = ipvs_table_insert(model, &k, "wlc");
	d = dest(1, 1);
	assert_non_null(ipvs_svc_insert_dest(m, &d));
	d = dest(2, 0); /* draining: the model must not lose it */
	assert_non_null(ipvs_svc_insert_dest(m, &d));
	d = dest(3, 5);
	assert_non_null(ipvs_svc_insert_dest(m, &d));
	s = ipvs_table_insert(kernel, &k, "wlc");
	for (uint8_t i = 1; i <= 3; i++) {
		d = dest(i, 7);
		assert_non_null(ipvs_svc_insert_dest(s, &d));
	}
	/* the dump fails after two of three destinations */
	assert_int_equal(ipvs_svc_read_aside(m, fake_dests, &f), -EIO);
	assert_int_equal(m->n_dests, 3);
	assert_int_equal(m->dests[0].weight, 1);
	assert_int_equal(m->dests[1].weight, 0);
	assert_int_equal(m->dests[2].weight, 5);
	/* whole: the kernel's */
	f.fail_after = 0;
	assert_int_equal(ipvs_svc_read_aside(m, fake_dests, &f), 0);
	assert_int_equal(m->n_dests, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(m->dests[i].weight, 7);
	/* and a service with none left in the kernel reads as empty */
	s->n_dests = 0;
	assert_int_equal(ipvs_svc_read_aside(m, fake_dests, &f), 0);
	assert_int_equal(m->n_dests, 0);
	ipvs_table_free(model);
	ipvs_table_free(kernel);
}

static void test_table_failing_part_way_keeps_the_model(void **state)
{
	struct ipvs_table *model = ipvs_table_new(), *kernel = ipvs_table_new();
	struct ipvs_table *before;
	struct fake f = { .kernel = kernel, .fail_after = 3 };
	struct ipvs_dest d = dest(9, 4);

	(void)state;
	for (uint8_t i = 1; i <= 4; i++) {
		struct svc_key k = key(i);

		assert_non_null(ipvs_svc_insert_dest(ipvs_table_insert(model, &k, "wlc"), &d));
	}
	for (uint8_t i = 1; i <= 6; i++) {
		struct svc_key k = key((uint8_t)(10 + i));

		assert_non_null(ipvs_table_insert(kernel, &k, "wlc"));
	}
	before = model;
	assert_int_equal(ipvs_table_read_aside(&model, fake_table, &f), -EINTR);
	assert_ptr_equal(model, before);
	assert_int_equal(model->n, 4);
	assert_int_equal(model->svcs[3].dests[0].weight, 4);
	f.fail_after = 0;
	assert_int_equal(ipvs_table_read_aside(&model, fake_table, &f), 0);
	assert_int_equal(model->n, 6);
	assert_int_equal(model->svcs[0].key.addr[3], 11);
	ipvs_table_free(model);
	ipvs_table_free(kernel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dests_failing_part_way_keep_the_model),
		cmocka_unit_test(test_table_failing_part_way_keeps_the_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
