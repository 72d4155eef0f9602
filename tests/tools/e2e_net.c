// SPDX-License-Identifier: Apache-2.0
/*
 * The traffic side of the VM tests (tests/vm/cluster/cluster.sh, tests/vm/lib.sh),
 * one small program because every process start is slow in the emulated VM
 * (python3 takes seconds there):
 *   e2e_net serve NAME PORT         backend: HTTP "GET /" answers NAME, "GET /stream"
 *                                   sends "NAME <n>" every 100 ms until closed; UDP
 *                                   datagrams are answered with NAME
 *   e2e_net udpserve NAME PORT      only the UDP side of serve
 *   e2e_net echoserve NAME PORT     TCP: each line received is sent back as "NAME <line>"
 *   e2e_net httpserve NAME PORT     only the HTTP side of serve
 *   e2e_net get IP PORT N           N HTTP requests, prints "<answer> <count>" lines
 *   e2e_net udp IP PORT N           N datagrams, same output
 *   e2e_net udpeach IP PORT N       N datagrams, each from a new socket; prints each
 *                                   answer on a line of its own, stops at the first failure
 *   e2e_net geteach URL N           N GETs of URL (http://HOST[:PORT][/PATH], HOST an IP,
 *                                   IPv6 in brackets), each on a new connection; prints
 *                                   the first line of each 200 answer's body, says why on
 *                                   stderr for any other, goes on with the next
 *   e2e_net echofirst IP PORT N     N connections to an echoserve; prints the first
 *                                   answer of each
 *   e2e_net echostream IP PORT      one connection to an echoserve: sends "<i>" every
 *                                   100 ms and prints each answer, until one fails
 *   e2e_net loop IP PORT STOPFILE   HTTP requests until STOPFILE exists, prints "ok bad"
 *                                   (each failure's time and reason on stderr)
 *   e2e_net post PORT PATH BODY     POST BODY to 127.0.0.1:PORT/PATH, prints the reply body
 *   e2e_net ticker MS               for each byte read on stdin, waits MS ms, then writes
 *                                   a line: a sleep for a shell without starting a process
 *                                   (tests/vm/lib.sh's wait_until); ends with its parent;
 *                                   MS from 1 to 60000
 *   e2e_net unix PATH FILE          FILE's bytes straight into a unix stream socket (below
 *                                   nanomsg's framing: a hostile local peer), then reads
 *                                   until the peer hangs up or 1 s passes
 * IP is IPv4 or IPv6; the servers listen on both. Every request has a 1 s
 * deadline (E2E_TIMEOUT_MS in the environment sets another); a failed one
 * counts as "FAILED". get, udp, udpeach, geteach and echofirst exit 1 if a
 * request failed. With E2E_DETACH=1 a server goes on in the background once
 * it listens, and the command returns 0: a script knows it can be reached
 * without polling for it (each poll is a process start, slow in the VM).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define MAX_ANSWERS 64

static struct {
	char name[64];
	int n;
} answers[MAX_ANSWERS];
static int n_answers;

/* An IPv4 or IPv6 address with its port. */
struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static void tally(const char *a)
{
	for (int i = 0; i < n_answers; i++) {
		if (strcmp(answers[i].name, a) == 0) {
			answers[i].n++;
			return;
		}
	}
	if (n_answers < MAX_ANSWERS) {
		size_t l = strnlen(a, sizeof(answers[0].name) - 1);

		memcpy(answers[n_answers].name, a, l);
		answers[n_answers].name[l] = 0;
		answers[n_answers++].n = 1;
	}
}

static int addr_of(const char *ip, int port, struct addr *a)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		a->len = sizeof(*v4);
		return 0;
	}
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		a->len = sizeof(*v6);
		return 0;
	}
	fprintf(stderr, "e2e_net: not an IP address: %s\n", ip);
	return -EINVAL;
}

static int timeout_ms(void)
{
	const char *e = getenv("E2E_TIMEOUT_MS");
	int ms = e ? atoi(e) : 0;

	return ms > 0 ? ms : 1000;
}

static void set_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A socket of TYPE connected to a, with the request deadline; fd or -errno. */
static int connect_to(const struct addr *a, int type)
{
	int fd = socket(a->ss.ss_family, type, 0), rc;

	if (fd < 0)
		return -errno;
	set_timeout(fd, timeout_ms());
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* One HTTP exchange; the body (first line) goes to out. 0 or -errno. */
static int http(const struct addr *sa, const char *req, char *out, size_t outsz)
{
	char buf[4096];
	size_t len = 0;
	ssize_t r = 0;
	char *body, *nl;
	/* the deadline is the whole exchange's: a server sending a byte at a
	 * time must not stretch it by the timeout per read */
	uint64_t end = clock_mono_ms() + (uint64_t)timeout_ms(), now;
	int fd = connect_to(sa, SOCK_STREAM), rc = -EIO;

	if (fd < 0)
		return fd;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		rc = errno ? -errno : -EIO;
		goto done;
	}
	while (len < sizeof(buf) - 1) {
		now = clock_mono_ms();
		if (now >= end) {
			rc = -ETIMEDOUT;
			goto done;
		}
		set_timeout(fd, (int)(end - now));
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += r;
	}
	if (r < 0) {
		rc = -errno;
		goto done;
	}
	buf[len] = 0;
	/* anything but a whole 200 answer is the server's fault, not the network's */
	rc = -EPROTO;
	/* len first: a shorter answer leaves buf[8..11] unwritten */
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0)
		goto done;
	body = strstr(buf, "\r\n\r\n");
	if (!body)
		goto done;
	body += 4;
	nl = strchr(body, '\n');
	if (nl)
		*nl = 0;
	snprintf(out, outsz, "%s", body);
	rc = 0;
done:
	close(fd);
	return rc;
}

static int udp_ask(const struct addr *sa, char *out, size_t outsz)
{
	char buf[64];
	ssize_t r;
	int fd = connect_to(sa, SOCK_DGRAM), rc = -EIO;

	if (fd < 0)
		return fd;
	if (send(fd, "?\n", 2, 0) != 2)
		goto done;
	r = recv(fd, buf, sizeof(buf) - 1, 0);
	if (r <= 0) {
		rc = r < 0 ? -errno : -EIO;
		goto done;
	}
	buf[r] = 0;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(out, outsz, "%s", buf);
	rc = 0;
done:
	close(fd);
	return rc;
}

/* Sends "<line>\n" on fd and reads one answer line into out. 0 or -errno. */
static int echo_once(int fd, long line, char *out, size_t outsz)
{
	char req[32];
	size_t len = 0;
	int l = snprintf(req, sizeof(req), "%ld\n", line);

	if (write(fd, req, l) != l)
		return errno ? -errno : -EIO;
	while (len < outsz - 1) {
		ssize_t r = read(fd, out + len, 1);

		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		if (out[len] == '\n')
			break;
		len++;
	}
	out[len] = 0;
	return 0;
}

/* get, udp, udpeach, echofirst: n requests, each on a new connection or socket. */
static int requests(const char *mode, const char *ip, int port, int n)
{
	int each = strcmp(mode, "udpeach") == 0, failed = 0;
	struct addr sa;
	char a[4096];

	if (addr_of(ip, port, &sa) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		int r, fd;

		if (strcmp(mode, "get") == 0) {
			r = http(&sa, "GET / HTTP/1.0\r\n\r\n", a, sizeof(a));
		} else if (strcmp(mode, "echofirst") == 0) {
			fd = connect_to(&sa, SOCK_STREAM);
			r = fd < 0 ? fd : echo_once(fd, 0, a, sizeof(a));
			if (fd >= 0)
				close(fd);
		} else {
			r = udp_ask(&sa, a, sizeof(a));
		}
		if (r < 0) {
			failed++;
			fprintf(stderr, "e2e_net %s: request %d: %s\n", mode, i + 1, strerror(-r));
			if (each)
				return 1;
			snprintf(a, sizeof(a), "FAILED");
		}
		if (each || strcmp(mode, "echofirst") == 0) {
			printf("%s\n", a);
			fflush(stdout);
		} else {
			tally(a);
		}
	}
	for (int i = 0; i < n_answers; i++)
		printf("%s %d\n", answers[i].name, answers[i].n);
	return failed ? 1 : 0;
}

/*
 * geteach: n GETs of url, each on a new connection (so IPVS schedules each
 * afresh), as curl does with the URL given n times: every answer is printed,
 * a failure is told on stderr and the next request made all the same.
 */
static int geteach(const char *url, int n)
{
	char host[INET6_ADDRSTRLEN], req[1024], a[4096];
	const char *auth, *end, *path, *colon;
	struct addr sa;
	int port = 80, failed = 0;
	size_t hl;

	if (n < 1) {
		fprintf(stderr, "e2e_net geteach: not a number of requests: %d\n", n);
		return 2;
	}
	if (strncmp(url, "http://", 7) != 0)
		goto bad;
	auth = url + 7;
	path = strchr(auth, '/');
	end = path ? path : auth + strlen(auth);
	if (*auth == '[') {
		const char *rb = memchr(auth, ']', end - auth);

		if (!rb)
			goto bad;
		hl = rb - auth - 1;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 != end && !colon)
			goto bad;
		auth++;
	} else {
		colon = memchr(auth, ':', end - auth);
		hl = (colon ? colon : end) - auth;
	}
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, auth, hl);
	host[hl] = 0;
	if (colon) {
		/* digits up to the path, nothing else: atoi took "80x", overflowed on 20 digits */
		char *pe;
		long p;

		errno = 0;
		p = strtol(colon + 1, &pe, 10);
		if (errno || pe != end || p <= 0 || p > 65535 || colon[1] < '0' || colon[1] > '9')
			goto bad;
		port = p;
	}
	/* a space or control byte would be sent in the request line as it is */
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			goto bad;
	if (addr_of(host, port, &sa) < 0)
		return 2;
	/* Host as the URL spells it (brackets kept); HTTP/1.0: the server closes */
	if (snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %.*s\r\n\r\n", path ? path : "/",
		     (int)(end - url - 7), url + 7) >= (int)sizeof(req))
		goto bad;
	for (int i = 0; i < n; i++) {
		int r = http(&sa, req, a, sizeof(a));

		if (r < 0) {
			failed++;
			fprintf(stderr, "e2e_net geteach: request %d to %s: %s\n", i + 1, url,
				strerror(-r));
			continue;
		}
		printf("%s\n", a);
		fflush(stdout);
	}
	return failed ? 1 : 0;
bad:
	fprintf(stderr, "e2e_net geteach: not a URL it can get: %s\n", url);
	return 2;
}

static int echostream(const char *ip, int port)
{
	struct addr sa;
	char a[256];
	int fd, rc;

	if (addr_of(ip, port, &sa) < 0)
		return 2;
	fd = connect_to(&sa, SOCK_STREAM);
	if (fd < 0) {
		fprintf(stderr, "e2e_net echostream: %s\n", strerror(-fd));
		return 1;
	}
	for (long i = 0;; i++) {
		rc = echo_once(fd, i, a, sizeof(a));
		if (rc < 0) {
			fprintf(stderr, "e2e_net echostream: line %ld: %s\n", i, strerror(-rc));
			close(fd);
			return 1;
		}
		printf("%s\n", a);
		fflush(stdout);
		usleep(100000);
	}
}

static int loop(const char *ip, int port, const char *stopfile)
{
	struct addr sa;
	char a[4096];
	long ok = 0, bad = 0;

	if (addr_of(ip, port, &sa) < 0)
		return 2;
	while (access(stopfile, F_OK) != 0) {
		struct timespec ts;
		int rc = http(&sa, "GET / HTTP/1.0\r\n\r\n", a, sizeof(a));

		if (rc == 0) {
			ok++;
		} else {
			/* when and why, to match against the daemons' logs */
			clock_gettime(CLOCK_REALTIME, &ts);
			fprintf(stderr, "e2e_net loop: request failed at %ld.%03ld: %s\n",
				(long)ts.tv_sec, ts.tv_nsec / 1000000, strerror(-rc));
			bad++;
		}
		usleep(20000);
	}
	printf("%ld %ld\n", ok, bad);
	return 0;
}

static int post(int port, const char *path, const char *body)
{
	struct addr sa;
	char *req, a[4096];
	int rc;

	addr_of("127.0.0.1", port, &sa);
	if (asprintf(&req, "POST %s HTTP/1.0\r\nContent-Type: application/json\r\n"
			   "Content-Length: %zu\r\n\r\n%s", path, strlen(body), body) < 0)
		return 2;
	rc = http(&sa, req, a, sizeof(a));
	free(req);
	if (rc < 0)
		return 1;
	printf("%s\n", a);
	return 0;
}

static int ticker(int ms)
{
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* the script that asked is gone */
	while (read(0, &c, 1) == 1) {
		usleep(ms * 1000);
		if (write(1, "\n", 1) != 1)
			return 1;
	}
	return 0;
}

static int unix_raw(const char *path, const char *file)
{
	static char buf[1 << 20];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	FILE *f = fopen(file, "rb");
	size_t len;
	int fd, rc = 1;

	if (!f || strlen(path) >= sizeof(sa.sun_path))
		return 2;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	strcpy(sa.sun_path, path);
	signal(SIGPIPE, SIG_IGN);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("e2e_net unix");
		goto done;
	}
	set_timeout(fd, 1000);
	/* a peer that hangs up or stops reading is the right answer, not an error */
	if (write(fd, buf, len) < 0)
		perror("e2e_net unix: write (the peer hung up)");
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	return rc;
}

static void serve_http(int c, const char *name)
{
	char buf[2048], line[128];
	size_t len = 0;
	ssize_t r;

	set_timeout(c, 5000);
	while (len < sizeof(buf) - 1 && (r = read(c, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += r;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	buf[len] = 0;
	if (strncmp(buf, "GET /stream", 11) == 0) {
		const char *h = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n";

		if (write(c, h, strlen(h)) < 0)
			return;
		for (long n = 0;; n++) {
			int l = snprintf(line, sizeof(line), "%s %ld\n", name, n);

			if (write(c, line, l) != l)
				return;
			usleep(100000);
		}
	}
	snprintf(buf, sizeof(buf), "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n%s\n",
		 strlen(name) + 1, name);
	if (write(c, buf, strlen(buf)) < 0)
		return;
}

/* Each line read is answered with "NAME <line>", until the peer closes. */
static void serve_echo(int c, const char *name)
{
	FILE *f = fdopen(c, "r+");
	char line[256];

	if (!f)
		return;
	setvbuf(f, NULL, _IONBF, 0);
	while (fgets(line, sizeof(line), f)) {
		char out[sizeof(line) + 80];
		int l = snprintf(out, sizeof(out), "%s %s", name, line);

		if (write(c, out, l) != l)
			break;
	}
	fclose(f);
}

/* A socket of TYPE bound to PORT on every IPv4 and IPv6 address; fd or -1. */
static int listen_any(int type, int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int one = 1, zero = 0, fd = socket(AF_INET6, type, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void udp_loop(int u, const char *name)
{
	char buf[2048];
	struct sockaddr_storage peer;
	socklen_t pl;

	for (;;) {
		pl = sizeof(peer);
		if (recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl) < 0)
			continue;
		snprintf(buf, sizeof(buf), "%s\n", name);
		/* a client it cannot reach must not stop the server: no check */
		sendto(u, buf, strlen(buf), 0, (struct sockaddr *)&peer, pl);
	}
}

/* serve (mode 's'), udpserve ('u'), echoserve ('e') or httpserve ('h') NAME on PORT. */
static int serve(int mode, const char *name, int port)
{
	const char *detach = getenv("E2E_DETACH");
	int t = -1, u = -1;
	pid_t pid;

	signal(SIGCHLD, SIG_IGN); /* connection children are reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	if ((mode != 'u' && (t = listen_any(SOCK_STREAM, port)) < 0) ||
	    (mode != 'e' && mode != 'h' && (u = listen_any(SOCK_DGRAM, port)) < 0)) {
		perror("e2e_net serve");
		return 1;
	}
	if (detach && strcmp(detach, "1") == 0) {
		/* the sockets listen already: the caller may go on */
		pid = fork();
		if (pid < 0) {
			perror("e2e_net serve: fork");
			return 1;
		}
		if (pid > 0)
			_exit(0);
		/* nothing goes to stdout: a caller reading it to its end must not wait */
		if (!freopen("/dev/null", "w", stdout))
			return 1;
	}
	if (mode == 'u')
		udp_loop(u, name);
	if (u >= 0 && fork() == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* ends with the server */
		udp_loop(u, name);
	}
	for (;;) {
		int c = accept(t, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			close(t);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (mode == 'e')
				serve_echo(c, name);
			else
				serve_http(c, name);
			_exit(0);
		}
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve('s', argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "udpserve") == 0)
		return serve('u', argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "echoserve") == 0)
		return serve('e', argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "httpserve") == 0)
		return serve('h', argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "geteach") == 0)
		return geteach(argv[2], atoi(argv[3]));
	if (argc == 5 && (strcmp(argv[1], "get") == 0 || strcmp(argv[1], "udp") == 0 ||
			  strcmp(argv[1], "udpeach") == 0 || strcmp(argv[1], "echofirst") == 0))
		return requests(argv[1], argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "echostream") == 0)
		return echostream(argv[2], atoi(argv[3]));
	if (argc == 5 && strcmp(argv[1], "loop") == 0)
		return loop(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 3 && strcmp(argv[1], "ticker") == 0) {
		char *end;
		long ms = strtol(argv[2], &end, 10);

		/* a typo must not become a ticker that never waits (atoi: 0) */
		if (end != argv[2] && !*end && ms >= 1 && ms <= 60000)
			return ticker((int)ms);
	}
	if (argc == 4 && strcmp(argv[1], "unix") == 0)
		return unix_raw(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "post") == 0)
		return post(atoi(argv[2]), argv[3], argv[4]);
	fprintf(stderr, "usage: see tests/tools/e2e_net.c\n");
	return 2;
}
