// SPDX-License-Identifier: Apache-2.0
/* Static VIPs: the --print shape read back, bad entries with their position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/vips_file.h"

static char *print(const struct vip_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	vip_table_print_json(t, f);
	fclose(f);
	return buf;
}

static void test_round_trip(void **state)
{
	const char *in = "{\"vips\":[{\"protocol\":\"udp\",\"ip\":\"fd01:c::1\",\"port\":53,"
			 "\"name\":\"dns.x\",\"labels\":[\"/dns:53\"],\"backends\":[{\"ip\":\"fd02::1\","
			 "\"port\":5353,\"agent_ip\":\"10.0.0.1\",\"weight\":1}]},{\"protocol\":\"tcp\","
			 "\"ip\":\"10.1.0.1\",\"port\":80,\"labels\":[],\"backends\":[{\"ip\":\"10.0.0.3\","
			 "\"port\":81,\"agent_ip\":\"10.0.0.3\",\"weight\":0},{\"ip\":\"10.0.0.2\",\"port\":"
			 "80,\"agent_ip\":\"10.0.0.9\",\"weight\":1,\"task_ip\":\"172.17.0.2\","
			 "\"task_port\":8080}]}]}";
	char err[256];
	struct vip_table *t = vips_parse(in, strlen(in), err, sizeof(err));
	char *out;

	(void)state;
	assert_non_null(t);
	out = print(t);
	/* sorted: tcp before udp, backends by ip */
	assert_string_equal(out, "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"10.1.0.1\",\"port\":80,"
		"\"labels\":[],\"backends\":[{\"ip\":\"10.0.0.2\",\"port\":80,\"agent_ip\":\"10.0.0.9\","
		"\"weight\":1,\"task_ip\":\"172.17.0.2\",\"task_port\":8080},{\"ip\":\"10.0.0.3\","
		"\"port\":81,\"agent_ip\":\"10.0.0.3\",\"weight\":0}]},{\"protocol\":\"udp\",\"ip\":"
		"\"fd01:c::1\",\"port\":53,\"name\":\"dns.x\",\"labels\":[\"/dns:53\"],\"backends\":"
		"[{\"ip\":\"fd02::1\",\"port\":5353,\"agent_ip\":\"10.0.0.1\",\"weight\":1}]}]}\n");
	/* what --print writes, --vips-file reads back identically */
	struct vip_table *t2 = vips_parse(out, strlen(out), err, sizeof(err));

	assert_non_null(t2);
	assert_true(vip_table_equal(t, t2));
	vip_table_free(t2);
	free(out);
	vip_table_free(t);
}

static void bad(const char *in, const char *want)
{
	char err[256] = "";
	struct vip_table *t = vips_parse(in, strlen(in), err, sizeof(err));

	assert_null(t);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_bad_entries(void **state)
{
	(void)state;
	bad("{\"vips\":[", "malformed JSON");
	bad("[]", "top level");
	bad("{\"vips\":[{\"protocol\":\"sctp\",\"ip\":\"1.1.1.1\",\"port\":1}]}", "vips[0].protocol");
	bad("{\"vips\":[{},{\"protocol\":\"tcp\"}]}", "vips[0].protocol");
	bad("{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.1.1.1\",\"port\":1},"
	    "{\"protocol\":\"tcp\",\"ip\":\"nope\",\"port\":1}]}", "vips[1].ip");
	bad("{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.1.1.1\",\"port\":70000}]}", "vips[0].port");
	bad("{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.1.1.1\",\"port\":1,\"backends\":["
	    "{\"ip\":\"2.2.2.2\",\"port\":1},{\"ip\":\"fd00::1\",\"port\":1}]}]}",
	    "vips[0].backends[1].ip: not the VIP's address family");
	bad("{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.1.1.1\",\"port\":1,\"backends\":["
	    "{\"ip\":\"2.2.2.2\",\"port\":1,\"weight\":5}]}]}", "vips[0].backends[0].weight");
	bad("{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.1.1.1\",\"port\":1,\"labels\":[1]}]}",
	    "vips[0].labels");
}

static void test_load_file_errors(void **state)
{
	char err[512];

	(void)state;
	assert_null(vips_load("tests/fixtures/vipd/no-such-file.json", err, sizeof(err)));
	assert_non_null(strstr(err, "no-such-file.json: No such file"));
	assert_null(vips_load("tests/fixtures/vipd/bad-port.json", err, sizeof(err)));
	assert_non_null(strstr(err, "bad-port.json: vips[0].backends[0].port"));
	struct vip_table *t = vips_load("tests/fixtures/vipd/static.json", err, sizeof(err));

	assert_non_null(t);
	assert_int_equal(t->n, 2);
	vip_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_load_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
