// SPDX-License-Identifier: Apache-2.0
/* The HTTP endpoint's own request handling (common/http.c), not libevent's
 * parser: the request target is split by libevent's URI parser as evhttp
 * does, then our dispatch decision (http_route_match), the route's body,
 * the JSON escaping of the path, and the listen-address parser on the same
 * bytes. Input: one byte picking the method, then the request target.
 * Checked: only GET and HEAD are served; a path is served exactly when it
 * is a registered route (the query never matters); escaped strings are
 * valid JSON strings; an accepted listen address is numeric and reparses
 * to the same host and port. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "common/http.h"
#include "common/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static struct http_server *srv;
static const char *const routes[] = { "/healthz", "/metrics", "/v1/vips", "/v1/nodes" };

static int route_echo(struct evbuffer *body, const char **ctype, void *arg)
{
	(void)ctype;
	http_json_string(body, arg);
	return 200;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_http", LOG_LVL_ERROR);
	base = event_base_new();
	srv = base ? http_server_new(base, "127.0.0.1:0", 0) : NULL;
	if (!srv || http_route(srv, "/v1/vips", route_echo, (void *)"vips \"x\"\n") < 0 ||
	    http_route(srv, "/v1/nodes", route_echo, (void *)"\x7f\x01") < 0)
		abort();
	return 0;
}

/* A JSON string literal: quoted, no raw control byte, escapes complete. */
static void assert_json_string(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	const unsigned char *s = evbuffer_pullup(b, -1);

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		abort();
	for (size_t i = 1; i < n - 1; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"')
			abort();
		if (s[i] == '\\') {
			if (i + 1 >= n - 1)
				abort();
			if (s[i + 1] == 'u')
				i += 5;
			else if (s[i + 1] == '"' || s[i + 1] == '\\')
				i++;
			else
				abort();
			if (i >= n - 1)
				abort();
		}
	}
}

static void check_listen(const char *spec)
{
	char host[64], again[80], host2[64];
	unsigned char a[16];
	uint16_t port, port2;

	if (http_parse_listen(spec, host, sizeof(host), &port) < 0)
		return;
	if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
		abort();
	snprintf(again, sizeof(again), spec[0] == '[' ? "[%s]:%u" : "%s:%u", host, port);
	if (http_parse_listen(again, host2, sizeof(host2), &port2) < 0 || strcmp(host, host2) ||
	    port != port2)
		abort();
}

static void check_dispatch(int method, const char *target)
{
	struct evhttp_uri *uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *ctype = "application/json";
	http_route_fn fn = NULL;
	void *arg = NULL;
	int rc = http_route_match(srv, method, path, &fn, &arg), known = 0;

	for (size_t i = 0; path && i < sizeof(routes) / sizeof(routes[0]); i++)
		known |= !strcmp(path, routes[i]);
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		if (rc != -EPERM)
			abort();
	} else if (rc != (known ? 0 : -ENOENT)) {
		abort();
	}
	if (rc == 0) {
		struct evbuffer *body = evbuffer_new();
		int code = fn(body, &ctype, arg);

		if (code != 200 || !ctype || evbuffer_get_length(body) == 0)
			abort();
		evbuffer_free(body);
	}
	if (path) {
		struct evbuffer *b = evbuffer_new();

		http_json_string(b, path);
		assert_json_string(b);
		evbuffer_free(b);
	}
	if (uri)
		evhttp_uri_free(uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 4096)
		return 0;
	s = strndup((const char *)data + 1, size - 1); /* up to a NUL, as a C string */
	if (!s)
		return 0;
	/* libevent's methods are bits; 1 << 0 is GET, 1 << 2 HEAD */
	check_dispatch(1 << (data[0] % 12), s);
	check_listen(s);
	{
		struct evbuffer *b = evbuffer_new();

		http_json_string(b, s);
		assert_json_string(b);
		evbuffer_free(b);
	}
	free(s);
	return 0;
}
