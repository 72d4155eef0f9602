// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int child_spawn(const char *const *argv, pid_t *pid, int *out_fd)
{
	return child_spawn_in(argv, NULL, pid, out_fd);
}

/* A pipe already holding input, closed for writing: the read end, or -errno. */
static int input_pipe(const char *input)
{
	size_t len = strlen(input);
	int p[2], rc;

	if (len > CHILD_INPUT_MAX)
		return -E2BIG;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* an empty pipe holds at least a page: this write never blocks */
	rc = write(p[1], input, len) == (ssize_t)len ? p[0] : -EIO;
	close(p[1]);
	if (rc < 0)
		close(p[0]);
	return rc;
}

int child_spawn_in(const char *const *argv, const char *input, pid_t *pid, int *out_fd)
{
	posix_spawn_file_actions_t fa;
	int p[2], rc, in = -1;

	if (input && (in = input_pipe(input)) < 0)
		return in;
	/* only the parent's end is non-blocking: the child writes as it likes */
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail_in;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		close(p[0]);
		close(p[1]);
		goto fail_in;
	}
	posix_spawn_file_actions_init(&fa);
	if (in >= 0)
		posix_spawn_file_actions_adddup2(&fa, in, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	/* argv is never written to by the child: the cast only meets the API */
	rc = posix_spawnp(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (in >= 0)
		close(in);
	if (rc != 0) {
		close(p[0]);
		return -rc;
	}
	*out_fd = p[0];
	return 0;
fail_in:
	if (in >= 0)
		close(in);
	return rc;
}

int child_read(int fd, char *buf, size_t size, size_t *len)
{
	char tmp[512];

	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));

		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN ? 0 : errno == EINTR ? 0 : -errno;
		if (*len + 1 < size) {
			size_t k = (size_t)n < size - 1 - *len ? (size_t)n : size - 1 - *len;

			memcpy(buf + *len, tmp, k);
			*len += k;
			buf[*len] = 0;
		}
	}
}

int child_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : 255;
}

int child_run(const char *const *argv, char *buf, size_t size)
{
	return child_run_in(argv, NULL, buf, size);
}

int child_run_in(const char *const *argv, const char *input, char *buf, size_t size)
{
	size_t len = 0;
	pid_t pid;
	int fd, rc, st;

	buf[0] = 0;
	if ((rc = child_spawn_in(argv, input, &pid, &fd)) < 0)
		return rc;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		rc = child_read(fd, buf, size, &len);
		if (rc != 0)
			break;
		poll(&pfd, 1, -1);
	}
	close(fd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return child_status(st);
}
