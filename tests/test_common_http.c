// SPDX-License-Identifier: Apache-2.0
/* The HTTP endpoint's listen address parser and route table (the served
 * behaviour is tested end to end by tests/it_ops_http.sh with curl). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/http.h"

static void test_parse_listen(void **state)
{
	char host[64];
	uint16_t port = 1;

	(void)state;
	assert_int_equal(http_parse_listen("127.0.0.1:9090", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9090);
	assert_int_equal(http_parse_listen("[::1]:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(http_parse_listen("0.0.0.0:65535", host, sizeof(host), &port), 0);
	assert_int_equal(port, 65535);
}

static void test_parse_listen_rejects(void **state)
{
	static const char *bad[] = {
		"",		  "127.0.0.1",	    "127.0.0.1:",      "127.0.0.1:65536",
		"127.0.0.1:-1",	  "127.0.0.1:80x",  ":80",	       "localhost:80",
		"::1:80",	  "[::1]80",	    "[::1",	       "[127.0.0.1]:80",
		"[]:80",	  "1.2.3.4.5:80",   "127.0.0.1:8 0",
	};
	char host[64], tiny[4];
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (http_parse_listen(bad[i], host, sizeof(host), &port) != -EINVAL) {
			print_error("accepted \"%s\"\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(http_parse_listen(NULL, host, sizeof(host), &port), -EINVAL);
	/* a host that does not fit is an error, never truncated */
	assert_int_equal(http_parse_listen("10.0.0.1:80", tiny, sizeof(tiny), &port), -EINVAL);
}

static int route(struct evbuffer *body, const char **ctype, void *arg)
{
	(void)body;
	(void)ctype;
	(void)arg;
	return 200;
}

static void test_routes(void **state)
{
	struct event_base *base = event_base_new();
	struct http_server *s;
	char path[32];
	int rc = 0;

	(void)state;
	assert_non_null(base);
	assert_null(http_server_new(base, "nonsense", 0));
	s = http_server_new(base, "127.0.0.1:0", 0);
	assert_non_null(s);
	assert_true(http_server_port(s) > 0);
	assert_int_equal(http_route(s, "v1/vips", route, NULL), -EINVAL);
	assert_int_equal(http_route(s, "/v1/vips", NULL, NULL), -EINVAL);
	assert_int_equal(http_route(s, "/v1/vips", route, NULL), 0);
	assert_int_equal(http_route(s, "/v1/vips", route, NULL), 0); /* replaces */
	/* /healthz, /metrics and /v1/vips are there: the table fills up */
	for (int i = 0; rc == 0; i++) {
		snprintf(path, sizeof(path), "/r%d", i);
		rc = http_route(s, path, route, NULL);
		assert_true(i < HTTP_MAX_ROUTES);
	}
	assert_int_equal(rc, -ENOSPC);
	http_server_free(s);
	http_server_free(NULL);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_parse_listen_rejects),
		cmocka_unit_test(test_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
