// SPDX-License-Identifier: Apache-2.0
#include "common/counters.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/problem_log.h"

static struct {
	const char *name;
	uint64_t value;
} table[COUNTERS_MAX];
static size_t ncounters;
static char last_err[512];
static uint64_t last_err_when;

uint64_t *counter(const char *name)
{
	for (size_t i = 0; i < ncounters; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i].value;
	if (ncounters == COUNTERS_MAX)
		return NULL;
	table[ncounters].name = name;
	return &table[ncounters++].value;
}

void counter_add(const char *name, uint64_t n)
{
	uint64_t *c = counter(name);

	if (c)
		*c += n;
}

uint64_t counter_value(const char *name)
{
	for (size_t i = 0; i < ncounters; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].value;
	return 0;
}

size_t counters_count(void) { return ncounters; }
const char *counters_name(size_t i) { return i < ncounters ? table[i].name : NULL; }
uint64_t counters_get(size_t i) { return i < ncounters ? table[i].value : 0; }

static void vset_last_error(const char *fmt, va_list ap)
{
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	last_err_when = (uint64_t)time(NULL);
}

void set_last_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_last_error(fmt, ap);
	va_end(ap);
}

const char *last_error(uint64_t *when_unix)
{
	if (when_unix)
		*when_unix = last_err_when;
	return last_err;
}

/* Which bad inputs get a line: each distinct one once, a few per kind. */
static struct problem_log bad_input_log;

void report_bad_input(const char *kind, const char *fmt, ...)
{
	char msg[512], repeats[64] = "", held[96] = "";
	uint64_t interval_ms = (uint64_t)log_limited_interval_seconds() * 1000;
	struct problem_verdict v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	counter_inc(kind);
	set_last_error("%s: %s", kind, msg);
	v = problem_log_admit(&bad_input_log, kind, msg, clock_mono_ms(),
			      interval_ms ? interval_ms : 1);
	if (!v.log)
		return;
	if (v.repeats)
		snprintf(repeats, sizeof(repeats), " (seen %llu more times since logged)",
			 (unsigned long long)v.repeats);
	if (v.held_back)
		snprintf(held, sizeof(held), " (%llu other %s lines held back)",
			 (unsigned long long)v.held_back, kind);
	log_warn("%s: %s%s%s", kind, msg, repeats, held);
}
