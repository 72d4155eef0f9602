// SPDX-License-Identifier: Apache-2.0
/*
 * The steady request load of the soak (tests/vm/soak.sh):
 *   soak_load IP PORT INTERVAL_MS STOPFILE
 * sends one HTTP GET / every INTERVAL_MS (each with a 2 s deadline: the
 * emulated VM on a busy host can take a second to answer; a dropped SYN
 * still fails, its retry comes after 3 s) until
 * STOPFILE exists, and prints one line per second:
 *   <unix ms> <ok> <failed> [<answer>=<n>...]
 * so that failures can be matched with what the churn did at that time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 32

static long long now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000LL + tv.tv_usec / 1000;
}

/* One request; the answer's first body line into out. 0 or -1. */
static int get(const struct sockaddr_in *sa, char *out, size_t outsz)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	struct timeval tv = { 2, 0 };
	char buf[1024], *body;
	size_t len = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		goto done;
	while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = 0;
	if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0 ||
	    !(body = strstr(buf, "\r\n\r\n")))
		goto done;
	body += 4;
	body[strcspn(body, "\r\n")] = 0;
	snprintf(out, outsz, "%s", body);
	rc = 0;
done:
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct {
		char name[48];
		int n;
	} names[MAX_NAMES];
	int n_names = 0, ok = 0, bad = 0, interval;
	long long second;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: soak_load IP PORT INTERVAL_MS STOPFILE\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	interval = atoi(argv[3]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	second = now_ms();
	while (access(argv[4], F_OK) != 0) {
		long long t0 = now_ms(), left;
		char a[48];

		if (get(&sa, a, sizeof(a)) == 0) {
			int i;

			ok++;
			for (i = 0; i < n_names && strcmp(names[i].name, a) != 0; i++)
				;
			if (i == n_names && n_names < MAX_NAMES) {
				snprintf(names[n_names].name, sizeof(names[0].name), "%s", a);
				names[n_names++].n = 0;
			}
			if (i < n_names)
				names[i].n++;
		} else {
			bad++;
		}
		if (now_ms() - second >= 1000) {
			printf("%lld %d %d", now_ms(), ok, bad);
			for (int i = 0; i < n_names; i++)
				printf(" %s=%d", names[i].name, names[i].n);
			printf("\n");
			ok = bad = n_names = 0;
			second = now_ms();
		}
		left = interval - (now_ms() - t0);
		if (left > 0)
			usleep((useconds_t)left * 1000);
	}
	printf("%lld %d %d\n", now_ms(), ok, bad);
	return 0;
}
