// SPDX-License-Identifier: Apache-2.0
/* The IpvsState reply: withheld backends are listed with their reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipvsd/desired.h"
#include "ipvsd/state_msg.h"

static void add_dest(struct ipvs_svc *s, uint8_t last, uint8_t agent)
{
	struct ipvs_dest d = { .port = 8080, .weight = 1, .agent_len = 4 };

	d.addr[0] = 10;
	d.addr[3] = last;
	d.agent[0] = 10;
	d.agent[3] = agent;
	assert_non_null(ipvs_svc_insert_dest(s, &d));
}

static void test_withheld_reason(void **state)
{
	struct svc_key k = { .af = AF_INET, .proto = IPPROTO_TCP, .port = 80,
			     .addr = { 11, 0, 0, 1 } };
	struct ipvs_table *cand = ipvs_table_new(), *want;
	uint8_t a1[4] = { 10, 0, 0, 1 };
	ProtobufCBinaryData nodes[] = { { 4, a1 } };
	L4lb__V1__Reachability pb = L4LB__V1__REACHABILITY__INIT;
	struct reach_set *reach;
	struct plan none = { 0 };
	struct ipc_buf buf = { 0 };
	const char *why = NULL;
	Envelope *env;
	struct ipvs_svc *s;
	size_t withheld;

	(void)state;
	s = ipvs_table_insert(cand, &k, "wlc");
	add_dest(s, 11, 1);
	add_dest(s, 13, 3); /* its agent 10.0.0.3 is not reachable */
	pb.n_reachable = 1;
	pb.reachable = nodes;
	reach = reach_set_from_pb(&pb);
	want = desired_build(cand, reach, &withheld);
	assert_int_equal(withheld, 1);
	assert_int_equal(state_msg_pack(want, cand, NULL, &none, 7, 9, &buf), 0);
	env = envelope_unpack(buf.data, buf.len, &why);
	assert_non_null(env);
	assert_non_null(env->ipvs_state);
	assert_int_equal(env->ipvs_state->n_desired, 1);
	L4lb__V1__IpvsService *m = env->ipvs_state->desired[0];
	assert_int_equal(m->n_dests, 2);
	assert_int_equal(m->dests[0]->ip.data[3], 11);
	assert_int_equal(m->dests[0]->weight, 1);
	assert_null(m->dests[0]->withheld);
	assert_int_equal(m->dests[1]->ip.data[3], 13);
	assert_int_equal(m->dests[1]->weight, 0);
	assert_string_equal(m->dests[1]->withheld, "agent 10.0.0.3 unreachable");
	envelope_free(env);
	ipc_buf_free(&buf);

	/* without candidates (or with none withheld) nothing is added */
	buf = (struct ipc_buf){ 0 };
	assert_int_equal(state_msg_pack(want, NULL, NULL, &none, 7, 9, &buf), 0);
	env = envelope_unpack(buf.data, buf.len, &why);
	assert_non_null(env);
	assert_int_equal(env->ipvs_state->desired[0]->n_dests, 1);
	envelope_free(env);
	ipc_buf_free(&buf);
	ipvs_table_free(want);
	ipvs_table_free(cand);
	reach_set_free(reach);
}

/* The whole definition is in the reply: a service changed behind ipvsd's
 * back (ipvsadm -E -p 300 -M 64) does not look like the one it wants. */
static void test_definition_listed(void **state)
{
	struct svc_key k = { .af = AF_INET6, .proto = IPPROTO_TCP, .port = 80,
			     .addr = { 0xfd, 0x01, 0, 0xc } };
	struct ipvs_table *kernel = ipvs_table_new(), *want = ipvs_table_new();
	struct plan none = { 0 };
	struct ipc_buf buf = { 0 };
	const char *why = NULL;
	struct ipvs_svc *s;
	Envelope *env;

	(void)state;
	ipvs_svc_own_def(ipvs_table_insert(want, &k, "wlc"));
	s = ipvs_table_insert(kernel, &k, "wlc");
	s->flags = 1;
	s->timeout = 300;
	s->netmask = 64;
	assert_int_equal(state_msg_pack(want, NULL, kernel, &none, 1, 1, &buf), 0);
	env = envelope_unpack(buf.data, buf.len, &why);
	assert_non_null(env);
	L4lb__V1__IpvsService *w = env->ipvs_state->desired[0], *h = env->ipvs_state->kernel[0];
	assert_true(w->has_flags && w->has_persistence_timeout && w->has_netmask);
	assert_int_equal(w->flags, 0);
	assert_int_equal(w->persistence_timeout, 0);
	assert_int_equal(w->netmask, 128);
	assert_int_equal(h->flags, 1);
	assert_int_equal(h->persistence_timeout, 300);
	assert_int_equal(h->netmask, 64);
	envelope_free(env);
	ipc_buf_free(&buf);
	ipvs_table_free(want);
	ipvs_table_free(kernel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_withheld_reason),
		cmocka_unit_test(test_definition_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
