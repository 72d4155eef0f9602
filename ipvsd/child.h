/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running the iptables binaries: started with posix_spawnp (safe in a
 * process with threads, unlike fork), stdin from /dev/null (or a short
 * text: an iptables-restore script), stdout and stderr into one pipe so a
 * failure can be logged with what it said.
 */
#ifndef IPVSD_CHILD_H
#define IPVSD_CHILD_H

#include <stddef.h>
#include <sys/types.h>

/* Starts argv (looked up in PATH). *out_fd: the read end of its output,
 * non-blocking, close-on-exec. 0, or -errno (-ENOENT: no such program). */
int child_spawn(const char *const *argv, pid_t *pid, int *out_fd);
/* The same with input (NULL: /dev/null) on its stdin: at most CHILD_INPUT_MAX
 * bytes, so that it fits in the pipe and is written without blocking
 * (-E2BIG otherwise). */
#define CHILD_INPUT_MAX 4096
int child_spawn_in(const char *const *argv, const char *input, pid_t *pid, int *out_fd);

/* Appends what is readable on fd to buf (keeping at most size - 1 bytes,
 * NUL-terminated, the rest read and dropped). 1 at end of file, 0 when
 * more may come, -errno. */
int child_read(int fd, char *buf, size_t size, size_t *len);

/* Exit status of a wait status: the exit code, or 128 + the signal. */
int child_status(int wstatus);

/* Runs argv to the end (blocking: only for one-shot modes such as
 * --cleanup). Its exit status, or -errno; its output in buf. */
int child_run(const char *const *argv, char *buf, size_t size);
/* The same with input on its stdin (see child_spawn_in). */
int child_run_in(const char *const *argv, const char *input, char *buf, size_t size);

#endif
