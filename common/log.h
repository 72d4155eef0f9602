/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: plain lines on stderr. Under systemd (JOURNAL_STREAM set) each
 * line starts with a <N> syslog priority so journald keeps the level; on a
 * terminal it starts with a timestamp instead.
 */
#ifndef L4LB_LOG_H
#define L4LB_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *ident, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; -1 on anything else. */
int log_level_parse(const char *s);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Rate-limited logging for problems caused by outside input: the first
 * line for a key is logged, repeats of the same key within the interval
 * are only counted and reported with the next line that gets through.
 */
void log_limited(enum log_level level, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_limited_interval(unsigned seconds);
unsigned log_limited_interval_seconds(void);

/* Logs and exits(1): only for start-up errors and broken invariants. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (log_get_level() >= LOG_LVL_DEBUG) \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
