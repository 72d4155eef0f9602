// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/counters.h"
#include "ipvsd/state_file.h"

static void test_parse_format_roundtrip(void **state)
{
	struct ipvsd_state st = { 0 }, back = { 0 };
	char *text = NULL, *text2 = NULL;

	(void)state;
	assert_int_equal(ipvsd_state_parse("# comment\n\n"
					   "vip udp fd00::1 53\n"
					   "interface minuteman created\n"
					   "vip tcp 10.1.2.3 80\n"
					   "vip tcp 10.1.2.3 80\n",
					   &st),
			 0);
	assert_int_equal(st.vips.n, 2); /* sorted, duplicates merged */
	assert_string_equal(st.made_if, "minuteman");
	assert_int_equal(st.vips.k[0].af, AF_INET);
	assert_int_equal(st.vips.k[0].proto, IPPROTO_TCP);
	assert_int_equal(st.vips.k[0].port, 80);
	assert_int_equal(st.vips.k[0].addr[3], 3);
	assert_int_equal(st.vips.k[1].af, AF_INET6);
	assert_int_equal(st.vips.k[1].proto, IPPROTO_UDP);
	assert_int_equal(ipvsd_state_format(&st, &text), 0);
	assert_non_null(strstr(text, "interface minuteman created\n"));
	assert_non_null(strstr(text, "vip tcp 10.1.2.3 80\nvip udp fd00::1 53\n"));
	assert_int_equal(ipvsd_state_parse(text, &back), 0);
	assert_int_equal(ipvsd_state_format(&back, &text2), 0);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	ipvsd_state_clear(&st);
	ipvsd_state_clear(&back);
}

static void test_parse_bad_lines(void **state)
{
	struct ipvsd_state st = { 0 };
	uint64_t before = counter_value("state_file");

	(void)state;
	assert_int_equal(ipvsd_state_parse("vip sctp 10.0.0.1 80\n"
					   "vip tcp 10.0.0.300 80\n"
					   "vip tcp 10.0.0.1 0\n"
					   "vip tcp 10.0.0.1 65536\n"
					   "vip tcp 10.0.0.1 80x\n"
					   "interface waytoolongforaninterfacename created\n"
					   "bogus\n"
					   "vip tcp 10.0.0.1 80\n",
					   &st),
			 0);
	assert_int_equal(st.vips.n, 1);
	assert_string_equal(st.made_if, "");
	assert_int_equal(counter_value("state_file"), before + 7);
	ipvsd_state_clear(&st);
}

static void test_save_load(void **state)
{
	char dir[] = "/tmp/l4lb-state.XXXXXX", sub[64], path[128], cmd[128];
	struct ipvsd_state st = { 0 }, back = { 0 };
	struct svc_key k = { .af = AF_INET, .proto = IPPROTO_TCP, .port = 80,
			     .addr = { 10, 0, 0, 1 } };
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a/b", dir); /* created as needed */
	assert_int_equal(ipvsd_state_load(sub, &back), 0); /* missing: empty */
	assert_int_equal(back.vips.n, 0);
	assert_int_equal(key_set_insert(&st.vips, &k), 0);
	snprintf(st.made_if, sizeof(st.made_if), "l4lb0");
	assert_int_equal(ipvsd_state_save(sub, &st), 0);
	snprintf(path, sizeof(path), "%s/%s.tmp", sub, STATE_FILE_NAME);
	assert_int_not_equal(stat(path, &sb), 0); /* renamed into place */
	assert_int_equal(ipvsd_state_load(sub, &back), 0);
	assert_int_equal(back.vips.n, 1);
	assert_int_equal(svc_key_cmp(&back.vips.k[0], &k), 0);
	assert_string_equal(back.made_if, "l4lb0");
	assert_int_equal(ipvsd_state_remove(sub), 0);
	assert_int_equal(ipvsd_state_remove(sub), 0);
	ipvsd_state_clear(&back);
	assert_int_equal(ipvsd_state_load(sub, &back), 0);
	assert_int_equal(back.vips.n, 0);
	/* a file that is not text is ignored, not trusted */
	snprintf(path, sizeof(path), "%s/%s", sub, STATE_FILE_NAME);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fwrite("vip tcp 10.0.0.1 80\n\0\x01", 1, 23, f);
	fclose(f);
	assert_int_equal(ipvsd_state_load(sub, &back), 0);
	assert_int_equal(back.vips.n, 0);
	/* a huge file is refused by its size, without reading it */
	{
		uint64_t c0 = counter_value("state_file");
		int fd = open(path, O_WRONLY | O_TRUNC);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "vip tcp 10.0.0.1 80\n", 20), 20);
		assert_int_equal(ftruncate(fd, (off_t)1 << 31), 0); /* 2 GiB, sparse */
		close(fd);
		assert_int_equal(ipvsd_state_load(sub, &back), 0);
		assert_int_equal(back.vips.n, 0);
		assert_true(counter_value("state_file") > c0);
	}
	/* an unwritable place: an error, no crash */
	assert_true(ipvsd_state_save("/proc/l4lb-no-such-dir", &st) < 0);
	ipvsd_state_clear(&st);
	ipvsd_state_clear(&back);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format_roundtrip),
		cmocka_unit_test(test_parse_bad_lines),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
