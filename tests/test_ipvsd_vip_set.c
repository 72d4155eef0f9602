// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvsd/vip_set.h"

static void test_parse_members(void **state)
{
	struct svc_key k;

	(void)state;
	assert_int_equal(vip_set_parse_member("add l4lb-vips4 11.0.0.1,tcp:80", &k), 0);
	assert_int_equal(k.af, AF_INET);
	assert_int_equal(k.proto, IPPROTO_TCP);
	assert_int_equal(k.port, 80);
	assert_int_equal(k.addr[0], 11);
	assert_int_equal(k.addr[3], 1);
	assert_int_equal(vip_set_parse_member("add l4lb-vips6 fd01:c::1,udp:53", &k), 0);
	assert_int_equal(k.af, AF_INET6);
	assert_int_equal(k.proto, IPPROTO_UDP);
	assert_int_equal(k.port, 53);
	assert_int_equal(k.addr[0], 0xfd);
	assert_int_equal(k.addr[15], 1);
}

static void test_parse_rejects(void **state)
{
	struct svc_key k;
	const char *bad[] = {
		"create l4lb-vips4 hash:ip,port family inet",
		"add other-set 11.0.0.1,tcp:80",
		"add l4lb-vips4 11.0.0.1,sctp:80",
		"add l4lb-vips4 11.0.0.1,tcp:0",
		"add l4lb-vips4 11.0.0.1,tcp:65536",
		"add l4lb-vips4 11.0.0.1,tcp:",
		"add l4lb-vips4 11.0.0.1:80",
		"add l4lb-vips4 nonsense,tcp:80",
		"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vip_set_parse_member(bad[i], &k), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_members),
		cmocka_unit_test(test_parse_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
