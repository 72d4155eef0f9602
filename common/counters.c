// SPDX-License-Identifier: Apache-2.0
#include "common/counters.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

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

void report_bad_input(const char *kind, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	counter_inc(kind);
	set_last_error("%s: %s", kind, msg);
	log_limited(LOG_LVL_WARN, kind, "%s: %s", kind, msg);
}
