/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small HTTP endpoint on libevent's evhttp for operators and Prometheus:
 * /healthz, /metrics (common/metrics.h) and the JSON routes a daemon
 * registers (/v1/vips, /v1/nodes). Off unless the daemon is given an
 * address; meant for loopback ("127.0.0.1:9090"). GET and HEAD only (405
 * otherwise), unknown paths 404, requests bounded in size and time.
 */
#ifndef L4LB_HTTP_H
#define L4LB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define HTTP_MAX_HEADERS_SIZE 8192 /* request line + headers, bytes */
#define HTTP_TIMEOUT_S 10	   /* read/write timeout of a connection */
#define HTTP_MAX_ROUTES 16

struct http_server;

/*
 * Writes the body of a route into `body` and returns the HTTP status (200,
 * or 500/503 with a short text body). *content_type starts as
 * "application/json"; the handler may point it to a static string.
 */
typedef int (*http_route_fn)(struct evbuffer *body, const char **content_type, void *arg);

/*
 * Parses "HOST:PORT" or "[V6]:PORT" (PORT 0..65535, 0 = any free port)
 * into host (without brackets) and port. 0 or -EINVAL.
 */
int http_parse_listen(const char *spec, char *host, size_t hostlen, uint16_t *port);

/* Binds spec (see http_parse_listen) on base and serves /healthz and
 * /metrics. NULL on error (logged). timeout_s 0 means HTTP_TIMEOUT_S. */
struct http_server *http_server_new(struct event_base *base, const char *spec, int timeout_s);
void http_server_free(struct http_server *s);

/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *s);

/* Serves `path` (exact match, query ignored) with fn. 0, -EINVAL or
 * -ENOSPC. A later registration of the same path replaces the earlier. */
int http_route(struct http_server *s, const char *path, http_route_fn fn, void *arg);

/* How a request is dispatched (pure; the fuzz harness's entry): method is
 * libevent's enum evhttp_cmd_type, path the request URI's path without the
 * query (NULL: none). 0 with the route's fn and arg; -EPERM for a method
 * other than GET and HEAD (405); -ENOENT for no such route (404). */
int http_route_match(const struct http_server *s, int method, const char *path,
		     http_route_fn *fn, void **arg);

/* JSON pieces for route bodies: a quoted, escaped string (NULL as ""); an
 * address from raw network-order bytes ("10.0.0.1", "fd00::1"), null
 * unless 4 or 16 bytes; `{"error":"why"}` for a failed route. */
void http_json_string(struct evbuffer *b, const char *s);
void http_json_ip(struct evbuffer *b, const uint8_t *ip, size_t len);
void http_json_error(struct evbuffer *b, const char *why);

#endif
