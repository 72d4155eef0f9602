/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus metrics of one daemon, rendered in the text exposition format
 * 0.0.4 (what /metrics serves). Names, all prefixed "l4lb_<daemon>_":
 *   - every counter of common/counters.h: l4lb_<daemon>_<name>_total
 *     (characters outside [a-zA-Z0-9_] become '_');
 *   - gauges and labelled counters the daemon sets (metrics_gauge_set,
 *     metrics_counter_set): l4lb_<daemon>_<name>; a counter's name must end
 *     in "_total", a duration's in "_seconds" (Prometheus conventions);
 *   - histograms of durations (metrics_histogram_observe), in seconds;
 *   - l4lb_<daemon>_build_info{version="..."} 1.
 * Label values are escaped as the format requires. A daemon that must
 * refresh values at scrape time (kernel IPVS statistics) registers a
 * collector, called before each rendering.
 */
#ifndef L4LB_METRICS_H
#define L4LB_METRICS_H

#include <stddef.h>

/* The daemon's name in every metric ("vipd"); before any other call. */
void metrics_init(const char *daemon);
/* Forgets every gauge, labelled counter, histogram and collector. */
void metrics_reset(void);

/*
 * Sets one series. labels: NULL or a NULL-terminated list of name, value
 * pairs ({ "vip", "10.0.0.1:80", "protocol", "tcp", NULL }). help is kept
 * from the first call. 0, -EINVAL (bad name, bad label name, name already
 * used with another type) or -ENOMEM.
 */
int metrics_gauge_set(const char *name, const char *help, const char *const *labels, double value);
int metrics_counter_set(const char *name, const char *help, const char *const *labels,
			double value);
/* Adds one series without looking for an existing one with the same
 * labels: for collectors that metrics_clear and then add thousands of
 * distinct series (one per IPVS backend) in linear time. A counter or gauge
 * by its name, as metrics_info. 0 or -EINVAL/-ENOMEM. */
int metrics_append(const char *name, const char *help, const char *const *labels, double value);
/* Drops every series of a gauge or counter (e.g. before re-adding the VIPs
 * that still exist). */
void metrics_clear(const char *name);

/* Help text of a counters.h counter (shown in # HELP); the counter is
 * created at 0 if needed, so it is exported before it first moves. name
 * stays owned by the caller and must live as long as the process. */
int metrics_counter_help(const char *counter_name, const char *help);

/* Default buckets of histograms, in seconds. */
#define METRICS_DEFAULT_BUCKETS                                                              \
	{ 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 }
#define METRICS_MAX_BUCKETS 32

/* Creates a histogram with its own upper bounds (strictly increasing, at
 * most METRICS_MAX_BUCKETS; +Inf is implied). 0 or -EINVAL/-EEXIST/-ENOMEM. */
int metrics_histogram_new(const char *name, const char *help, const double *bounds,
			  size_t nbounds);
/* Records one observation; creates the histogram with the default buckets
 * when it does not exist yet. 0 or -EINVAL/-ENOMEM. */
int metrics_histogram_observe(const char *name, double seconds);

/*
 * A daemon's status facts (the status reply's info key/values) as metrics:
 * a table ending with a NULL key. A name ending in "_total" is a counter,
 * any other a gauge; scale converts units (0.001 for ms to seconds; 0
 * means 1).
 */
struct metrics_info {
	const char *key;
	const char *name;
	const char *help;
	double scale;
};

/* Matches status_kv_fn (common/daemon.h), with the table as kvarg: pass it
 * to a daemon's status_info_fn from a collector. Keys not in the table and
 * values that are not numbers are skipped ("yes"/"no" count as 1/0). */
void metrics_info_kv(const char *key, const char *value, void *table);

typedef void (*metrics_collect_fn)(void *arg);
int metrics_add_collector(metrics_collect_fn fn, void *arg);

/* The whole exposition, NUL-terminated, malloc'd (the caller frees it);
 * NULL on allocation failure. Runs the collectors first. */
char *metrics_render(size_t *len);

#endif
