// SPDX-License-Identifier: Apache-2.0
/* l4lbctl ipvs lists what a service's definition has beyond ipvsd's own, so
 * a service edited behind ipvsd's back does not look like the one it wants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "contrib/l4lbctl/l4lbctl.h"

static void test_definition(void **state)
{
	uint8_t v4[4] = { 11, 0, 0, 1 }, v6[16] = { 0xfd, 0x01, 0, 0xc };
	L4lb__V1__IpvsService s = L4LB__V1__IPVS_SERVICE__INIT;
	char buf[96];

	(void)state;
	s.ip = (ProtobufCBinaryData){ 4, v4 };
	/* an older ipvsd (no fields) and ipvsd's own definition: nothing */
	assert_string_equal(ipvs_definition(&s, buf, sizeof(buf)), "");
	s.has_flags = s.has_persistence_timeout = s.has_netmask = 1;
	s.netmask = 0xffffffffu;
	assert_string_equal(ipvs_definition(&s, buf, sizeof(buf)), "");
	s.flags = 1;
	s.persistence_timeout = 300;
	s.netmask = 0xffffff00u;
	assert_string_equal(ipvs_definition(&s, buf, sizeof(buf)),
			    " persistent 300 s netmask 0xffffff00 flags 0x1");
	s.ip = (ProtobufCBinaryData){ 16, v6 };
	s.flags = 0;
	s.persistence_timeout = 60;
	s.netmask = 64;
	assert_string_equal(ipvs_definition(&s, buf, sizeof(buf)), " persistent 60 s netmask /64");
	s.netmask = 128;
	s.persistence_timeout = 0;
	s.flags = 4; /* one-packet scheduling */
	assert_string_equal(ipvs_definition(&s, buf, sizeof(buf)), " flags 0x4");
	/* a short buffer is cut, never overrun */
	s.persistence_timeout = 4000000000u;
	assert_int_equal(strlen(ipvs_definition(&s, buf, 12)), 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_definition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
