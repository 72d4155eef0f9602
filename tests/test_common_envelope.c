// SPDX-License-Identifier: Apache-2.0
/* The envelope codec: round trips, and refusal of broken input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/envelope.h"

static void test_round_trip(void **state)
{
	Envelope env = L4LB__V1__ENVELOPE__INIT, *out;
	L4lb__V1__VipTable t = L4LB__V1__VIP_TABLE__INIT;
	L4lb__V1__Vip v = L4LB__V1__VIP__INIT, *vp = &v;
	uint8_t ip[4] = { 11, 1, 2, 3 };
	struct ipc_buf b;
	const char *why;

	(void)state;
	v.has_ip = v.has_port = 1;
	v.ip = (ProtobufCBinaryData){ 4, ip };
	v.port = 80;
	t.has_generation = 1;
	t.generation = 42;
	t.n_vips = 1;
	t.vips = &vp;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &t;
	assert_int_equal(envelope_pack(&env, &b), 0);
	out = envelope_unpack(b.data, b.len, &why);
	assert_non_null(out);
	assert_int_equal(out->vip_table->generation, 42);
	assert_int_equal(out->vip_table->n_vips, 1);
	assert_memory_equal(out->vip_table->vips[0]->ip.data, ip, 4);
	assert_int_equal(out->vip_table->vips[0]->port, 80);
	envelope_free(out);
	ipc_buf_free(&b);
}

static void test_refuses_garbage(void **state)
{
	uint8_t junk[64];
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 0xff);
	assert_null(envelope_unpack(junk, sizeof(junk), &why));
	assert_non_null(why);
}

static void test_refuses_type_without_body(void **state)
{
	const uint8_t msg[] = { 0x08, 0x04 }; /* type = VIP_TABLE, no vip_table */
	const char *why = NULL;

	(void)state;
	assert_null(envelope_unpack(msg, sizeof(msg), &why));
	assert_string_equal(why, "envelope body missing for its type");
}

static void test_refuses_unknown_type(void **state)
{
	const uint8_t unknown[] = { 0x08, 0x3f };
	const uint8_t none[] = { 0x52, 0x00 }; /* a body but no type */
	const char *why = NULL;

	(void)state;
	assert_null(envelope_unpack(unknown, sizeof(unknown), &why));
	assert_string_equal(why, "unknown envelope type");
	assert_null(envelope_unpack(none, sizeof(none), &why));
	assert_string_equal(why, "unknown envelope type");
}

static void test_refuses_oversize_before_unpacking(void **state)
{
	const char *why = NULL;

	(void)state;
	/* The data pointer is never read for an oversize length. */
	assert_null(envelope_unpack("", (size_t)ENVELOPE_MAX_SIZE + 1, &why));
	assert_string_equal(why, "message too large");
}

static void test_accepts_unknown_fields(void **state)
{
	/* status request + an unknown field 99 (varint): a newer writer. */
	const uint8_t msg[] = { 0x08, 0x01, 0x52, 0x00, 0x98, 0x06, 0x07 };
	const char *why = NULL;
	Envelope *env;

	(void)state;
	env = envelope_unpack(msg, sizeof(msg), &why);
	assert_non_null(env);
	assert_int_equal(env->type, L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST);
	envelope_free(env);
}

static void test_error_envelope(void **state)
{
	struct ipc_buf b;
	const char *why;
	Envelope *env;

	(void)state;
	assert_int_equal(envelope_pack_error(&b, "no snapshot yet"), 0);
	env = envelope_unpack(b.data, b.len, &why);
	assert_non_null(env);
	assert_string_equal(envelope_type_name(env->type), "error");
	assert_string_equal(env->error->message, "no snapshot yet");
	envelope_free(env);
	ipc_buf_free(&b);
}

/* Every request type packs with its empty body and decodes as itself; a
 * type that is not a request is refused. */
static void test_pack_request(void **state)
{
	static const int types[] = { L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST,
				     L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST,
				     L4LB__V1__ENVELOPE__TYPE__IPVS_STATE_REQUEST,
				     L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE_REQUEST };
	struct ipc_buf b = { 0 };
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		Envelope *env;

		assert_int_equal(envelope_pack_request(types[i], &b), 0);
		env = envelope_unpack(b.data, b.len, &why);
		assert_non_null(env);
		assert_int_equal(env->type, types[i]);
		envelope_free(env);
		ipc_buf_free(&b);
	}
	assert_int_equal(envelope_pack_request(L4LB__V1__ENVELOPE__TYPE__VIP_TABLE, &b), -EINVAL);
	assert_null(b.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refuses_garbage),
		cmocka_unit_test(test_refuses_type_without_body),
		cmocka_unit_test(test_refuses_unknown_type),
		cmocka_unit_test(test_refuses_oversize_before_unpacking),
		cmocka_unit_test(test_accepts_unknown_fields),
		cmocka_unit_test(test_error_envelope),
		cmocka_unit_test(test_pack_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
