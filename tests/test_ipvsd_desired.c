// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "ipvsd/desired.h"

static uint8_t A[8][4] = {
	{ 10, 0, 0, 1 }, { 10, 0, 0, 2 }, { 10, 0, 0, 3 }, { 172, 17, 0, 5 },
	{ 11, 0, 0, 1 }, { 192, 168, 0, 1 }, { 192, 168, 0, 2 }, { 192, 168, 0, 3 },
};

/* A 4-byte address padded to the model's 16 bytes. */
static const uint8_t *a16(int i)
{
	static uint8_t buf[4][16];
	static int next;
	uint8_t *b = buf[next++ % 4];

	memset(b, 0, 16);
	memcpy(b, A[i], 4);
	return b;
}

static void set_bytes(ProtobufCBinaryData *b, protobuf_c_boolean *has, uint8_t *a, size_t len)
{
	b->data = a;
	b->len = len;
	if (has)
		*has = 1;
}

static void backend(L4lb__V1__Backend *b, int ip, unsigned port, int agent)
{
	l4lb__v1__backend__init(b);
	set_bytes(&b->ip, &b->has_ip, A[ip], 4);
	b->has_port = 1;
	b->port = port;
	if (agent >= 0)
		set_bytes(&b->agent_ip, &b->has_agent_ip, A[agent], 4);
}

static void vip(L4lb__V1__Vip *v, L4lb__V1__Backend **bs, size_t n)
{
	l4lb__v1__vip__init(v);
	v->has_protocol = 1;
	v->protocol = L4LB__V1__PROTOCOL__TCP;
	set_bytes(&v->ip, &v->has_ip, A[4], 4);
	v->has_port = 1;
	v->port = 80;
	v->backends = bs;
	v->n_backends = n;
}

static const struct desired_cfg cfg = { .sched = "wlc", .node_ip = { 192, 168, 0, 1 },
					.node_ip_len = 4 };

static struct reach_set *reach(int *idx, size_t n)
{
	L4lb__V1__Reachability r;
	ProtobufCBinaryData b[8];

	l4lb__v1__reachability__init(&r);
	for (size_t i = 0; i < n; i++)
		set_bytes(&b[i], NULL, A[idx[i]], 4);
	r.reachable = b;
	r.n_reachable = n;
	return reach_set_from_pb(&r);
}

/* A snapshot with the same nodes in another order is the same set (ipvsd
 * skips its plan); one node more or less, or none, is not. */
static void test_reach_set_equal(void **state)
{
	int ab[] = { 0, 1 }, ba[] = { 1, 0 }, abc[] = { 0, 1, 2 }, ac[] = { 0, 2 };
	struct reach_set *x = reach(ab, 2), *y = reach(ba, 2), *z = reach(abc, 3),
			 *w = reach(ac, 2), *e = reach(ab, 0);

	(void)state;
	assert_true(reach_set_equal(x, y));
	assert_false(reach_set_equal(x, z));
	assert_false(reach_set_equal(z, x));
	assert_false(reach_set_equal(x, w));
	assert_false(reach_set_equal(x, e));
	assert_false(reach_set_equal(NULL, e));
	assert_true(reach_set_equal(NULL, NULL));
	reach_set_free(x);
	reach_set_free(y);
	reach_set_free(z);
	reach_set_free(w);
	reach_set_free(e);
}

static void test_withheld_and_fail_open(void **state)
{
	L4lb__V1__Backend b[3], *bp[3] = { &b[0], &b[1], &b[2] };
	L4lb__V1__Vip v, *vp = &v;
	L4lb__V1__VipTable vt;
	struct ipvs_table *cand, *d;
	struct reach_set *r;
	size_t withheld;
	int only6[] = { 6 }, none[] = { 7 };

	(void)state;
	backend(&b[0], 0, 8080, 5);
	backend(&b[1], 1, 8080, 6);
	backend(&b[2], 2, 8080, -1); /* agent unknown: always kept */
	vip(&v, bp, 3);
	l4lb__v1__vip_table__init(&vt);
	vt.vips = &vp;
	vt.n_vips = 1;
	cand = desired_candidates(&vt, &cfg);
	assert_non_null(cand);
	assert_int_equal(cand->n, 1);
	assert_int_equal(cand->svcs[0].n_dests, 3);
	assert_string_equal(cand->svcs[0].sched, "wlc");

	/* before the first reachability snapshot nothing is withheld */
	d = desired_build(cand, NULL, &withheld);
	assert_int_equal(d->svcs[0].n_dests, 3);
	assert_int_equal(withheld, 0);
	ipvs_table_free(d);

	r = reach(only6, 1);
	d = desired_build(cand, r, &withheld);
	assert_int_equal(d->svcs[0].n_dests, 2);
	assert_int_equal(withheld, 1);
	assert_null(ipvs_svc_find_dest(&d->svcs[0], a16(0), 8080));
	assert_non_null(ipvs_svc_find_dest(&d->svcs[0], a16(1), 8080));
	ipvs_table_free(d);
	reach_set_free(r);

	/* none of the known agents reachable, but one unknown: keep the unknown */
	r = reach(none, 1);
	d = desired_build(cand, r, &withheld);
	assert_int_equal(d->svcs[0].n_dests, 1);
	ipvs_table_free(d);

	/* all unreachable: fail open, keep them all */
	v.n_backends = 2;
	ipvs_table_free(cand);
	cand = desired_candidates(&vt, &cfg);
	d = desired_build(cand, r, &withheld);
	assert_int_equal(d->svcs[0].n_dests, 2);
	assert_int_equal(withheld, 0);
	ipvs_table_free(d);
	reach_set_free(r);
	ipvs_table_free(cand);
}

static void test_local_port_mapped(void **state)
{
	L4lb__V1__Backend b[2], *bp[2] = { &b[0], &b[1] };
	L4lb__V1__Vip v, *vp = &v;
	L4lb__V1__VipTable vt;
	struct ipvs_table *cand;

	(void)state;
	backend(&b[0], 0, 31000, 5); /* on this node */
	set_bytes(&b[0].task_ip, &b[0].has_task_ip, A[3], 4);
	b[0].has_task_port = 1;
	b[0].task_port = 80;
	backend(&b[1], 1, 31001, 6); /* elsewhere: agent address and host port */
	set_bytes(&b[1].task_ip, &b[1].has_task_ip, A[3], 4);
	b[1].has_task_port = 1;
	b[1].task_port = 80;
	vip(&v, bp, 2);
	l4lb__v1__vip_table__init(&vt);
	vt.vips = &vp;
	vt.n_vips = 1;
	cand = desired_candidates(&vt, &cfg);
	assert_non_null(ipvs_svc_find_dest(&cand->svcs[0], a16(3), 80));
	assert_non_null(ipvs_svc_find_dest(&cand->svcs[0], a16(1), 31001));
	assert_null(ipvs_svc_find_dest(&cand->svcs[0], a16(0), 31000));
	ipvs_table_free(cand);
}

static void test_invalid_skipped(void **state)
{
	L4lb__V1__Backend b[3], *bp[3] = { &b[0], &b[1], &b[2] };
	L4lb__V1__Vip v[3], *vp[3] = { &v[0], &v[1], &v[2] };
	L4lb__V1__VipTable vt;
	struct ipvs_table *cand;
	uint8_t v6[16] = { 0xfd, 1, 0, 0xc };

	(void)state;
	backend(&b[0], 0, 8080, -1);
	backend(&b[1], 1, 0, -1);     /* port 0 */
	backend(&b[2], 2, 70000, -1); /* port too big */
	vip(&v[0], bp, 3);
	vip(&v[1], bp, 1);
	v[1].port = 0; /* invalid VIP */
	vip(&v[2], bp, 1);
	set_bytes(&v[2].ip, &v[2].has_ip, v6, 16); /* v6 VIP with a v4 backend */
	l4lb__v1__vip_table__init(&vt);
	vt.vips = vp;
	vt.n_vips = 3;
	cand = desired_candidates(&vt, &cfg);
	assert_int_equal(cand->n, 2);
	assert_int_equal(cand->svcs[0].n_dests, 1);
	assert_int_equal(cand->svcs[1].key.af, 10);
	assert_int_equal(cand->svcs[1].n_dests, 0);
	ipvs_table_free(cand);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reach_set_equal),
		cmocka_unit_test(test_withheld_and_fail_open),
		cmocka_unit_test(test_local_port_mapped),
		cmocka_unit_test(test_invalid_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
