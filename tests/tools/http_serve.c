// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP endpoint in a real process, for tests/it_ops_http.sh:
 *   http_serve ADDRESS TIMEOUT_S
 * serves /healthz, /metrics (with a counter, labelled gauges and a
 * histogram set here) and /v1/vips (a fixed JSON document), prints
 * "port=N" once listening and runs until SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/counters.h"
#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"

static int vips(struct evbuffer *body, const char **ctype, void *arg)
{
	(void)ctype;
	(void)arg;
	evbuffer_add_printf(body, "[{\"vip\":\"10.0.0.1:80\",\"protocol\":\"tcp\","
				  "\"backend\":[{\"ip\":\"192.168.0.2\",\"port\":8080}]}]\n");
	return 200;
}

static void on_term(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	const char *l1[] = { "vip", "10.0.0.1:80", "protocol", "tcp", NULL };
	const char *l2[] = { "vip", "odd \"name\"\\\n", "protocol", "udp", NULL };
	struct event_base *base;
	struct http_server *s;
	struct event *term;

	if (argc != 3) {
		fprintf(stderr, "usage: http_serve ADDRESS TIMEOUT_S\n");
		return 2;
	}
	log_init("http_serve", LOG_LVL_INFO);
	metrics_init("test");
	counter_add("ipc_rx", 7);
	metrics_gauge_set("backends", "Backends of a VIP.", l1, 3);
	metrics_gauge_set("backends", NULL, l2, 0);
	metrics_histogram_observe("sync_duration_seconds", 0.004);
	metrics_histogram_observe("sync_duration_seconds", 0.2);
	base = event_base_new();
	if (!base)
		return 1;
	s = http_server_new(base, argv[1], atoi(argv[2]));
	if (!s)
		return 1;
	http_route(s, "/v1/vips", vips, NULL);
	term = evsignal_new(base, SIGTERM, on_term, base);
	event_add(term, NULL);
	printf("port=%u\n", http_server_port(s));
	fflush(stdout);
	event_base_dispatch(base);
	event_free(term);
	http_server_free(s);
	event_base_free(base);
	return 0;
}
