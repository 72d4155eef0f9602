// SPDX-License-Identifier: Apache-2.0
#include "common/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

static const char *log_ident = "l4lb";
static enum log_level log_level = LOG_LVL_INFO;
static int log_journal;
static unsigned limit_interval_s = 60;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int level_prio[] = { 3, 4, 6, 7 };

void log_init(const char *ident, enum log_level level)
{
	log_ident = ident;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }
void log_limited_interval(unsigned seconds) { limit_interval_s = seconds; }
unsigned log_limited_interval_seconds(void) { return limit_interval_s; }

int log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	return -1;
}

static void log_vline(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s%s\n", level_prio[level], level_names[level], msg, suffix);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%d] %s: %s%s\n", when, ts.tv_nsec / 1000000, log_ident,
			(int)getpid(), level_names[level], msg, suffix);
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vline(level, "", fmt, ap);
	va_end(ap);
}

/* A small fixed table: keys are few (one per kind of problem); when it is
 * full the least recently logged slot is reused, which at worst logs a
 * line more than needed. */
#define LIMIT_SLOTS 64
static struct limit_slot {
	uint64_t hash;
	uint64_t last_ms;
	uint64_t suppressed;
} limit_slots[LIMIT_SLOTS];

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h | 1;
}

void log_limited(enum log_level level, const char *key, const char *fmt, ...)
{
	uint64_t h = hash_str(key), now = clock_mono_ms();
	struct limit_slot *slot = NULL, *oldest = &limit_slots[0];
	char suffix[64] = "";
	va_list ap;

	if (level > log_level)
		return;
	for (int i = 0; i < LIMIT_SLOTS; i++) {
		if (limit_slots[i].hash == h) {
			slot = &limit_slots[i];
			break;
		}
		if (limit_slots[i].last_ms < oldest->last_ms)
			oldest = &limit_slots[i];
	}
	if (slot && now - slot->last_ms < (uint64_t)limit_interval_s * 1000) {
		slot->suppressed++;
		return;
	}
	if (!slot) {
		slot = oldest;
		slot->hash = h;
		slot->suppressed = 0;
	}
	if (slot->suppressed)
		snprintf(suffix, sizeof(suffix), " (%llu similar suppressed)",
			 (unsigned long long)slot->suppressed);
	slot->suppressed = 0;
	slot->last_ms = now ? now : 1;
	va_start(ap, fmt);
	log_vline(level, suffix, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LVL_ERROR, "", fmt, ap);
	va_end(ap);
	exit(1);
}
