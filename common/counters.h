/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Named counters of one daemon, reported in its status reply and metrics.
 * Names are static strings in snake_case ("ipc_rx_malformed").
 */
#ifndef L4LB_COUNTERS_H
#define L4LB_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#define COUNTERS_MAX 256

/* The counter's storage (created at 0 on first use); stable for the life
 * of the process, so hot paths may keep the pointer. NULL only when the
 * table is full. */
uint64_t *counter(const char *name);
void counter_add(const char *name, uint64_t n);
static inline void counter_inc(const char *name) { counter_add(name, 1); }
uint64_t counter_value(const char *name);

size_t counters_count(void);
/* The i-th counter, in creation order. */
const char *counters_name(size_t i);
uint64_t counters_get(size_t i);

/*
 * Bad input from outside (master JSON, IPC, peers, config): count it under
 * `kind`, remember it as the daemon's last error and log it: each distinct
 * problem once (again only while it recurs, once an hour at the default
 * interval), at most a few lines per kind and interval (common/problem_log.h).
 * The caller then drops the input and keeps its last good state.
 */
void report_bad_input(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Last error for the status reply ("" when none) and its wall-clock time. */
const char *last_error(uint64_t *when_unix);
void set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
