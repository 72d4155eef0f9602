// SPDX-License-Identifier: Apache-2.0
/*
 * Waits for a line in a daemon's log (the end-to-end VM suites):
 *   log_wait FILE OFFSET TIMEOUT_MS TEXT
 * reads FILE from byte OFFSET on, as it grows, until a whole line holds
 * TEXT; prints that line, exit status 0. Exit status 1 after TIMEOUT_MS
 * without one, 2 on errors. The file is read every 20 ms by this one
 * process: a shell loop of tail and grep per try started two processes
 * every 100 ms, each costing tens of milliseconds in the emulated VM, CPU
 * taken from the daemon being waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define LINE_MAX_LEN 8192

int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	static char line[LINE_MAX_LEN + 1];
	size_t len = 0;
	uint64_t end;
	int fd;

	if (argc != 5 || atol(argv[3]) <= 0 || !argv[4][0]) {
		fprintf(stderr, "usage: log_wait FILE OFFSET TIMEOUT_MS TEXT\n");
		return 2;
	}
	end = clock_mono_ms() + (uint64_t)atol(argv[3]);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || lseek(fd, atol(argv[2]), SEEK_SET) < 0) {
		fprintf(stderr, "log_wait: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	for (;;) {
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "log_wait: %s: %s\n", argv[1], strerror(errno));
			return 2;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				/* a longer line is judged on its first LINE_MAX_LEN bytes */
				if (len < LINE_MAX_LEN)
					line[len++] = buf[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			if (strstr(line, argv[4])) {
				printf("%s\n", line);
				return 0;
			}
		}
		if (n > 0)
			continue; /* more may be there already */
		if (clock_mono_ms() >= end)
			break;
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "log_wait: no line with '%s' in %s after byte %s in %s ms\n", argv[4],
		argv[1], argv[2], argv[3]);
	return 1;
}
