// SPDX-License-Identifier: Apache-2.0
/*
 * A fake Mesos master for the VM's cluster (tests/vm/cluster/cluster.sh), in
 * C because python3 (tests/fakemaster/fakemaster.py) takes seconds to start
 * under TCG and competes for the emulated CPUs while it runs:
 *   fake_master PORTFILE
 * binds 127.0.0.1:0, writes the port to PORTFILE (atomically) and serves,
 * in one thread, until killed:
 *   POST /api/v1 {"type":"GET_STATE"}   {"type":"GET_STATE","get_state":STATE}
 *   POST /api/v1 {"type":"SUBSCRIBE"}   a RecordIO stream: SUBSCRIBED with STATE
 *                                       and the heartbeat interval, then each
 *                                       event as it is posted, HEARTBEAT when idle
 *   POST /ctl                           commands, one per line, in order:
 *     state JSON        STATE from now on (the get_state object: the caller keeps
 *                       the cluster's state, this program never parses JSON)
 *     event JSON        JSON sent as a record on every open stream
 *     heartbeat S       heartbeat interval in seconds (for new streams too)
 *     mode M            how /api/v1 is answered from now on: ok, 500, truncate
 *                       (half the reply, then the connection closed), malformed
 *     drop              closes every open stream
 * Every reply is HTTP/1.0 with the connection closed after it; a stream ends
 * when the connection does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define MAX_REQ (4 << 20) /* a request (headers and body) at most */

struct conn {
	int fd;
	int stream; /* a SUBSCRIBE stream: only written to from now on */
	char *buf;
	size_t len, cap;
};

static struct conn conns[MAX_CONNS];
static char *state; /* the get_state object, as the caller sent it */
static char mode[32] = "ok";
static double heartbeat_s = 1.0;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whole buffer, or the connection is given up (a stream that cannot take a
 * record is as good as gone). */
static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int reply(struct conn *c, int code, const char *body, size_t len, size_t claimed)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %d %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 code, code == 200 ? "OK" : "Error", claimed);

	return send_all(c->fd, head, (size_t)n) < 0 ? -1 : send_all(c->fd, body, len);
}

/* A RecordIO record: the length in decimal, a newline, the bytes. */
static int record(int fd, const char *head, const char *body, const char *tail, size_t cut)
{
	size_t n = strlen(head) + strlen(body) + strlen(tail);
	char len[32];
	char *rec;
	int l, rc;

	l = snprintf(len, sizeof(len), "%zu\n", n);
	rec = malloc((size_t)l + n + 1);
	if (!rec)
		return -1;
	snprintf(rec, (size_t)l + n + 1, "%s%s%s%s", len, head, body, tail);
	rc = send_all(fd, rec, cut ? cut : (size_t)l + n);
	free(rec);
	return rc;
}

static void api(struct conn *c, const char *body)
{
	static const char bad[] = "{\"type\":\"GET_STATE\",\"get_state\":{\"get_tasks\":{\"tasks\":[}}";
	const char *st = state ? state : "{}";
	char hb[64];
	char *doc;
	size_t n;

	if (strcmp(mode, "500") == 0) {
		reply(c, 500, "internal error", 14, 14);
		return;
	}
	if (strcmp(mode, "malformed") == 0) {
		reply(c, 200, bad, sizeof(bad) - 1, sizeof(bad) - 1);
		return;
	}
	if (strstr(body, "\"SUBSCRIBE\"")) {
		static const char head[] = "HTTP/1.0 200 OK\r\nContent-Type: application/recordio\r\n"
					   "Connection: close\r\n\r\n";
		size_t whole;

		snprintf(hb, sizeof(hb), ",\"heartbeat_interval_seconds\":%g}}", heartbeat_s);
		whole = strlen("{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":") +
			strlen(st) + strlen(hb);
		if (send_all(c->fd, head, sizeof(head) - 1) < 0 ||
		    record(c->fd, "{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":", st, hb,
			   strcmp(mode, "truncate") == 0 ? whole / 2 : 0) < 0 ||
		    strcmp(mode, "truncate") == 0)
			return;
		c->stream = 1;
		return;
	}
	if (!strstr(body, "\"GET_STATE\"")) {
		reply(c, 400, "bad request", 11, 11);
		return;
	}
	n = strlen(st) + 64;
	doc = malloc(n);
	if (!doc) {
		reply(c, 500, "out of memory", 13, 13);
		return;
	}
	n = (size_t)snprintf(doc, n, "{\"type\":\"GET_STATE\",\"get_state\":%s}", st);
	reply(c, 200, doc, strcmp(mode, "truncate") == 0 ? n / 2 : n, n);
	free(doc);
}

static void broadcast(const char *ev)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd >= 0 && conns[i].stream && record(conns[i].fd, "", ev, "", 0) < 0)
			conn_close(&conns[i]);
}

/* One command line of POST /ctl; 0 or -1 (unknown, or bad argument). */
static int command(char *line)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	if (strcmp(line, "state") == 0 && arg) {
		char *s = strdup(arg);

		if (!s)
			return -1;
		free(state);
		state = s;
	} else if (strcmp(line, "event") == 0 && arg) {
		broadcast(arg);
	} else if (strcmp(line, "heartbeat") == 0 && arg && atof(arg) > 0) {
		heartbeat_s = atof(arg);
	} else if (strcmp(line, "mode") == 0 && arg && strlen(arg) < sizeof(mode)) {
		snprintf(mode, sizeof(mode), "%s", arg);
	} else if (strcmp(line, "drop") == 0) {
		for (int i = 0; i < MAX_CONNS; i++)
			if (conns[i].fd >= 0 && conns[i].stream)
				conn_close(&conns[i]);
	} else if (line[0]) {
		return -1;
	}
	return 0;
}

static void ctl(struct conn *c, char *body)
{
	int bad = 0;

	for (char *line = body, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (command(line) < 0)
			bad = 1;
	}
	if (bad)
		reply(c, 400, "{\"error\":\"bad command\"}", 23, 23);
	else
		reply(c, 200, "{}", 2, 2);
}

/* A whole request is in c->buf: answered; the connection then closes
 * unless it became a stream. */
static void request(struct conn *c, char *body)
{
	if (strncmp(c->buf, "POST /ctl ", 10) == 0)
		ctl(c, body);
	else if (strncmp(c->buf, "POST /api/v1 ", 13) == 0)
		api(c, body);
	else
		reply(c, 404, "", 0, 0);
	if (!c->stream)
		conn_close(c);
}

/* Reads what arrived; answers once the headers and Content-Length bytes of
 * body are in. */
static void on_readable(struct conn *c)
{
	char *end, *cl;
	size_t want;
	ssize_t r;

	if (c->stream) { /* the client hung up (or sent what it should not) */
		char sink[256];

		if (recv(c->fd, sink, sizeof(sink), 0) <= 0)
			conn_close(c);
		return;
	}
	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 8192;
		char *b = cap <= MAX_REQ ? realloc(c->buf, cap + 1) : NULL;

		if (!b) {
			conn_close(c);
			return;
		}
		c->buf = b;
		c->cap = cap;
	}
	r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (r <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)r;
	c->buf[c->len] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return;
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	want = (size_t)(end + 4 - c->buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
	if (want > MAX_REQ) {
		conn_close(c);
		return;
	}
	if (c->len >= want) {
		c->buf[want] = '\0';
		request(c, end + 4);
	}
}

static int listen_port(const char *portfile)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	char tmp[4096];
	FILE *f;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		perror("fake_master: listen");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
	    rename(tmp, portfile) < 0) {
		perror(portfile);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[MAX_CONNS + 1];
	double next_hb;
	int lfd;

	if (argc != 2) {
		fprintf(stderr, "usage: fake_master PORTFILE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	lfd = listen_port(argv[1]);
	if (lfd < 0)
		return 1;
	next_hb = now_s() + heartbeat_s;
	for (;;) {
		int n = 1, wait_ms = (int)((next_hb - now_s()) * 1000) + 1;

		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CONNS; i++)
			pfd[n++] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, wait_ms < 0 ? 0 : wait_ms) < 0 && errno != EINTR) {
			perror("fake_master: poll");
			return 1;
		}
		if (now_s() >= next_hb) {
			broadcast("{\"type\":\"HEARTBEAT\"}");
			next_hb = now_s() + heartbeat_s;
		}
		for (int i = 0; i < MAX_CONNS; i++)
			if (pfd[i + 1].fd >= 0 && pfd[i + 1].fd == conns[i].fd &&
			    (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				on_readable(&conns[i]);
		if (pfd[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);
			int i = 0;

			while (i < MAX_CONNS && conns[i].fd >= 0)
				i++;
			if (fd >= 0 && i < MAX_CONNS)
				conns[i].fd = fd;
			else if (fd >= 0)
				close(fd);
		}
	}
}
