// SPDX-License-Identifier: Apache-2.0
#include "common/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/opts.h"

struct route {
	char *path;
	http_route_fn fn;
	void *arg;
};

struct http_server {
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	uint16_t port;
	struct route routes[HTTP_MAX_ROUTES];
	size_t nroutes;
};

int http_parse_listen(const char *spec, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon, *h = spec;
	size_t n;
	unsigned long p;
	unsigned char addr[16];

	if (!spec)
		return -EINVAL;
	if (*spec == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = spec + 1;
		n = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || strchr(spec, ':') != colon)
			return -EINVAL; /* a bare IPv6 address needs brackets */
		n = (size_t)(colon - spec);
	}
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	/* numeric addresses only: a name would need a blocking resolve */
	if (inet_pton(*spec == '[' ? AF_INET6 : AF_INET, host, addr) != 1)
		return -EINVAL;
	if (opt_uint(colon + 1, 0, 65535, &p))
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static void send_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; charset=utf-8");
	if (b)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static int route_healthz(struct evbuffer *body, const char **ctype, void *arg)
{
	(void)arg;
	*ctype = "text/plain; charset=utf-8";
	return evbuffer_add(body, "ok\n", 3) == 0 ? 200 : 500;
}

static int route_metrics(struct evbuffer *body, const char **ctype, void *arg)
{
	size_t len;
	char *text;
	int rc;

	(void)arg;
	*ctype = "text/plain; version=0.0.4; charset=utf-8";
	text = metrics_render(&len);
	if (!text)
		return 500;
	rc = evbuffer_add(body, text, len) == 0 ? 200 : 500;
	free(text);
	return rc;
}

static const char *reason_of(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

int http_route_match(const struct http_server *s, int method, const char *path,
		     http_route_fn *fn, void **arg)
{
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
		return -EPERM;
	for (size_t i = 0; path && i < s->nroutes; i++) {
		if (strcmp(path, s->routes[i].path) == 0) {
			*fn = s->routes[i].fn;
			*arg = s->routes[i].arg;
			return 0;
		}
	}
	return -ENOENT;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
	struct http_server *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *ctype = "application/json";
	struct evbuffer *body;
	http_route_fn fn = NULL;
	void *fn_arg = NULL;
	int code, rc;

	counter_inc("http_requests");
	rc = http_route_match(s, (int)evhttp_request_get_command(req), path, &fn, &fn_arg);
	if (rc == -EPERM) {
		counter_inc("http_bad_method");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		send_text(req, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	if (rc < 0) {
		counter_inc("http_not_found");
		send_text(req, 404, "Not Found", "not found");
		return;
	}
	body = evbuffer_new();
	if (!body) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	code = fn(body, &ctype, fn_arg);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason_of(code), body);
	evbuffer_free(body);
}

int http_route(struct http_server *s, const char *path, http_route_fn fn, void *arg)
{
	char *p;

	if (!s || !path || path[0] != '/' || !fn)
		return -EINVAL;
	for (size_t i = 0; i < s->nroutes; i++) {
		if (strcmp(s->routes[i].path, path) == 0) {
			s->routes[i].fn = fn;
			s->routes[i].arg = arg;
			return 0;
		}
	}
	if (s->nroutes == HTTP_MAX_ROUTES)
		return -ENOSPC;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	s->routes[s->nroutes++] = (struct route){ p, fn, arg };
	return 0;
}

struct http_server *http_server_new(struct event_base *base, const char *spec, int timeout_s)
{
	struct http_server *s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port;

	if (http_parse_listen(spec, host, sizeof(host), &port) < 0) {
		log_error("http: bad listen address \"%s\" (expected IP:PORT or [IPv6]:PORT)",
			  spec ? spec : "");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->http = evhttp_new(base)))
		goto fail;
	/* Let every known method through to dispatch(), which answers 405 with
	 * an Allow header; evhttp itself would answer 501 Not Implemented. */
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(s->http, HTTP_MAX_HEADERS_SIZE);
	/* GET and HEAD carry no body worth reading */
	evhttp_set_max_body_size(s->http, 1024);
	evhttp_set_timeout(s->http, timeout_s > 0 ? timeout_s : HTTP_TIMEOUT_S);
	evhttp_set_gencb(s->http, dispatch, s);
	s->sock = evhttp_bind_socket_with_handle(s->http, host, port);
	if (!s->sock) {
		log_error("http: cannot listen on %s: %s", spec, strerror(errno));
		goto fail;
	}
	if (getsockname(evhttp_bound_socket_get_fd(s->sock), (struct sockaddr *)&ss, &sl) == 0)
		s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	if (http_route(s, "/healthz", route_healthz, NULL) < 0 ||
	    http_route(s, "/metrics", route_metrics, NULL) < 0)
		goto fail;
	log_info("http: serving on %s (port %u)", spec, s->port);
	return s;
fail:
	http_server_free(s);
	return NULL;
}

uint16_t http_server_port(const struct http_server *s)
{
	return s ? s->port : 0;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	if (s->http)
		evhttp_free(s->http);
	for (size_t i = 0; i < s->nroutes; i++)
		free(s->routes[i].path);
	free(s);
}

void http_json_string(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			evbuffer_add_printf(b, "\\u%04x", *p);
		else
			evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

void http_json_ip(struct evbuffer *b, const uint8_t *ip, size_t len)
{
	char buf[INET6_ADDRSTRLEN];

	if (!ip || (len != 4 && len != 16) ||
	    !inet_ntop(len == 4 ? AF_INET : AF_INET6, ip, buf, sizeof(buf))) {
		evbuffer_add_printf(b, "null");
		return;
	}
	evbuffer_add_printf(b, "\"%s\"", buf);
}

void http_json_error(struct evbuffer *b, const char *why)
{
	evbuffer_add_printf(b, "{\"error\":");
	http_json_string(b, why);
	evbuffer_add_printf(b, "}\n");
}
