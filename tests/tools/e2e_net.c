// SPDX-License-Identifier: Apache-2.0
/*
 * The traffic side of the end-to-end cluster (tests/vm/cluster/cluster.sh),
 * one small program because every process start is slow in the emulated VM:
 *   e2e_net serve NAME PORT         backend: HTTP "GET /" answers NAME, "GET /stream"
 *                                   sends "NAME <n>" every 100 ms until closed; UDP
 *                                   datagrams are answered with NAME
 *   e2e_net get IP PORT N           N HTTP requests, prints "<answer> <count>" lines
 *   e2e_net udp IP PORT N           N datagrams, same output
 *   e2e_net loop IP PORT STOPFILE   HTTP requests until STOPFILE exists, prints "ok bad"
 *                                   (each failure's time and reason on stderr)
 *   e2e_net post PORT PATH BODY     POST BODY to 127.0.0.1:PORT/PATH, prints the reply body
 *   e2e_net unix PATH FILE          FILE's bytes straight into a unix stream socket (below
 *                                   nanomsg's framing: a hostile local peer), then reads
 *                                   until the peer hangs up or 1 s passes
 * Every request has a 1 s deadline; a failed one counts as "FAILED". get and
 * udp exit 1 if any request failed.
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

#define MAX_ANSWERS 64

static struct {
	char name[64];
	int n;
} answers[MAX_ANSWERS];
static int n_answers;

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

static int addr_of(const char *ip, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static void set_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* One HTTP exchange; the body (first line) goes to out. 0 or -errno. */
static int http(const struct sockaddr_in *sa, const char *req, char *out, size_t outsz)
{
	char buf[4096];
	size_t len = 0;
	ssize_t r;
	char *body, *nl;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -EIO;

	if (fd < 0)
		return -errno;
	set_timeout(fd, 1000);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		rc = errno ? -errno : -EIO;
		goto done;
	}
	while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += r;
	if (r < 0) {
		rc = -errno;
		goto done;
	}
	buf[len] = 0;
	if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0)
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

static int udp_ask(const struct sockaddr_in *sa, char *out, size_t outsz)
{
	char buf[64];
	ssize_t r;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc = -EIO;

	if (fd < 0)
		return -errno;
	set_timeout(fd, 1000);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || send(fd, "?\n", 2, 0) != 2)
		goto done;
	r = recv(fd, buf, sizeof(buf) - 1, 0);
	if (r <= 0)
		goto done;
	buf[r] = 0;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(out, outsz, "%s", buf);
	rc = 0;
done:
	close(fd);
	return rc;
}

static int requests(const char *mode, const char *ip, int port, int n)
{
	struct sockaddr_in sa;
	char a[4096];
	int failed = 0;

	if (addr_of(ip, port, &sa) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		int r = strcmp(mode, "udp") == 0 ? udp_ask(&sa, a, sizeof(a))
						 : http(&sa, "GET / HTTP/1.0\r\n\r\n", a, sizeof(a));
		if (r < 0) {
			failed++;
			snprintf(a, sizeof(a), "FAILED");
		}
		tally(a);
	}
	for (int i = 0; i < n_answers; i++)
		printf("%s %d\n", answers[i].name, answers[i].n);
	return failed ? 1 : 0;
}

static int loop(const char *ip, int port, const char *stopfile)
{
	struct sockaddr_in sa;
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
	struct sockaddr_in sa;
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

static void serve_conn(int c, const char *name)
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

static int serve(const char *name, int port)
{
	struct sockaddr_in sa;
	int one = 1, t, u;
	pid_t p;

	addr_of("0.0.0.0", port, &sa);
	signal(SIGCHLD, SIG_IGN); /* connection children are reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	t = socket(AF_INET, SOCK_STREAM, 0);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (t < 0 || u < 0 || bind(t, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    bind(u, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(t, 128) < 0) {
		perror("e2e_net serve");
		return 1;
	}
	p = fork();
	if (p == 0) {
		char buf[2048];
		struct sockaddr_storage peer;
		socklen_t pl;

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* ends with the server */
		for (;;) {
			pl = sizeof(peer);
			if (recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl) < 0)
				continue;
			snprintf(buf, sizeof(buf), "%s\n", name);
			sendto(u, buf, strlen(buf), 0, (struct sockaddr *)&peer, pl);
		}
	}
	for (;;) {
		int c = accept(t, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			close(t);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			serve_conn(c, name);
			_exit(0);
		}
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], atoi(argv[3]));
	if (argc == 5 && (strcmp(argv[1], "get") == 0 || strcmp(argv[1], "udp") == 0))
		return requests(argv[1], argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 5 && strcmp(argv[1], "loop") == 0)
		return loop(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 4 && strcmp(argv[1], "unix") == 0)
		return unix_raw(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "post") == 0)
		return post(atoi(argv[2]), argv[3], argv[4]);
	fprintf(stderr, "usage: see tests/tools/e2e_net.c\n");
	return 2;
}
