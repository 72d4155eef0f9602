// SPDX-License-Identifier: Apache-2.0
#include "common/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/counters.h"
#include "common/version.h"

#define MAX_FAMILIES 256
#define MAX_COLLECTORS 8

enum family_type { FAM_GAUGE, FAM_COUNTER, FAM_HISTOGRAM };

struct series {
	char *labels; /* rendered and escaped: `a="x",b="y"`, or "" */
	double value;
};

struct family {
	char *name; /* without the prefix */
	char *help;
	enum family_type type;
	struct series *series;
	size_t nseries, cap;
	/* histograms */
	double bounds[METRICS_MAX_BUCKETS];
	unsigned long long buckets[METRICS_MAX_BUCKETS]; /* not cumulative */
	size_t nbounds;
	unsigned long long count;
	double sum;
};

static char prefix[64] = "l4lb_";
static struct family families[MAX_FAMILIES];
static size_t nfamilies;
static struct {
	const char *name, *help;
} counter_helps[COUNTERS_MAX];
static size_t ncounter_helps;
static struct {
	metrics_collect_fn fn;
	void *arg;
} collectors[MAX_COLLECTORS];
static size_t ncollectors;

void metrics_init(const char *daemon)
{
	snprintf(prefix, sizeof(prefix), "l4lb_%s_", daemon);
}

void metrics_reset(void)
{
	for (size_t i = 0; i < nfamilies; i++) {
		struct family *f = &families[i];

		for (size_t j = 0; j < f->nseries; j++)
			free(f->series[j].labels);
		free(f->series);
		free(f->name);
		free(f->help);
	}
	memset(families, 0, sizeof(families));
	nfamilies = 0;
	ncounter_helps = 0;
	ncollectors = 0;
}

/* Metric and label names: [a-zA-Z_][a-zA-Z0-9_]* (we never use ':'). */
static int valid_name(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* Writes s with the escapes of a label value (\\, \", \n) or of a help text
 * (\\, \n). */
static void put_escaped(FILE *out, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '"' && quote)
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* `a="x",b="y"` for a NULL-terminated list of pairs; NULL if invalid. */
static char *render_labels(const char *const *labels)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int ok = 1;

	if (!out)
		return NULL;
	for (size_t i = 0; labels && labels[i]; i += 2) {
		if (!valid_name(labels[i]) || !labels[i + 1] || strcmp(labels[i], "le") == 0) {
			ok = 0;
			break;
		}
		fprintf(out, "%s%s=\"", i ? "," : "", labels[i]);
		put_escaped(out, labels[i + 1], 1);
		fputc('"', out);
	}
	if (fclose(out) != 0 || !ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

static struct family *family_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < nfamilies; i++)
		if (strcmp(families[i].name, name) == 0)
			return &families[i];
	return NULL;
}

/* The family `name` of `type`, created if needed. */
static int family_get(const char *name, const char *help, enum family_type type,
		      struct family **out)
{
	struct family *f = family_find(name);

	if (f) {
		if (f->type != type)
			return -EINVAL;
		*out = f;
		return 0;
	}
	if (!valid_name(name))
		return -EINVAL;
	if (nfamilies == MAX_FAMILIES)
		return -ENOSPC;
	f = &families[nfamilies];
	f->name = strdup(name);
	f->help = strdup(help && *help ? help : "(no help text)");
	if (!f->name || !f->help) {
		free(f->name);
		free(f->help);
		memset(f, 0, sizeof(*f));
		return -ENOMEM;
	}
	f->type = type;
	nfamilies++;
	*out = f;
	return 0;
}

static enum family_type series_type_of(const char *name)
{
	size_t n = strlen(name);

	return n >= 6 && strcmp(name + n - 6, "_total") == 0 ? FAM_COUNTER : FAM_GAUGE;
}

static int series_set(const char *name, const char *help, enum family_type type,
		      const char *const *labels, double value, int lookup)
{
	struct family *f;
	char *l;
	int rc;

	if (type == FAM_COUNTER) {
		size_t n = name ? strlen(name) : 0;

		if (n < 6 || strcmp(name + n - 6, "_total") != 0)
			return -EINVAL;
	}
	rc = family_get(name, help, type, &f);
	if (rc < 0)
		return rc;
	l = render_labels(labels);
	if (!l)
		return -EINVAL;
	for (size_t i = 0; lookup && i < f->nseries; i++) {
		if (strcmp(f->series[i].labels, l) == 0) {
			f->series[i].value = value;
			free(l);
			return 0;
		}
	}
	if (array_grow((void **)&f->series, &f->cap, f->nseries + 1, sizeof(*f->series), 8) < 0) {
		free(l);
		return -ENOMEM;
	}
	f->series[f->nseries].labels = l;
	f->series[f->nseries++].value = value;
	return 0;
}

int metrics_gauge_set(const char *name, const char *help, const char *const *labels, double value)
{
	return series_set(name, help, FAM_GAUGE, labels, value, 1);
}

int metrics_counter_set(const char *name, const char *help, const char *const *labels,
			double value)
{
	return series_set(name, help, FAM_COUNTER, labels, value, 1);
}

int metrics_append(const char *name, const char *help, const char *const *labels, double value)
{
	if (!name)
		return -EINVAL;
	return series_set(name, help, series_type_of(name), labels, value, 0);
}

void metrics_clear(const char *name)
{
	struct family *f = family_find(name);

	if (!f || f->type == FAM_HISTOGRAM)
		return;
	for (size_t i = 0; i < f->nseries; i++)
		free(f->series[i].labels);
	f->nseries = 0;
}

int metrics_counter_help(const char *counter_name, const char *help)
{
	/* a documented counter is exported from the start, at 0: an absent
	 * series and a zero one differ for rate() and alerts */
	(void)counter(counter_name);
	for (size_t i = 0; i < ncounter_helps; i++) {
		if (strcmp(counter_helps[i].name, counter_name) == 0) {
			counter_helps[i].help = help;
			return 0;
		}
	}
	if (ncounter_helps == COUNTERS_MAX)
		return -ENOSPC;
	counter_helps[ncounter_helps].name = counter_name;
	counter_helps[ncounter_helps++].help = help;
	return 0;
}

int metrics_histogram_new(const char *name, const char *help, const double *bounds,
			  size_t nbounds)
{
	struct family *f;
	int rc;

	if (family_find(name))
		return -EEXIST;
	if (nbounds == 0 || nbounds > METRICS_MAX_BUCKETS)
		return -EINVAL;
	for (size_t i = 0; i < nbounds; i++)
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			return -EINVAL;
	rc = family_get(name, help, FAM_HISTOGRAM, &f);
	if (rc < 0)
		return rc;
	memcpy(f->bounds, bounds, nbounds * sizeof(bounds[0]));
	f->nbounds = nbounds;
	return 0;
}

int metrics_histogram_observe(const char *name, double seconds)
{
	static const double defaults[] = METRICS_DEFAULT_BUCKETS;
	struct family *f = family_find(name);
	size_t i;

	if (!f) {
		int rc = metrics_histogram_new(name, "", defaults,
					       sizeof(defaults) / sizeof(defaults[0]));

		if (rc < 0)
			return rc;
		f = family_find(name);
	}
	if (f->type != FAM_HISTOGRAM || isnan(seconds))
		return -EINVAL;
	/* Bucket i counts bounds[i-1] < v <= bounds[i]; index nbounds is +Inf. */
	for (i = 0; i < f->nbounds && seconds > f->bounds[i]; i++)
		;
	if (i < f->nbounds)
		f->buckets[i]++; /* +Inf is the count itself */
	f->count++;
	f->sum += seconds;
	return 0;
}

void metrics_info_kv(const char *key, const char *value, void *table)
{
	const struct metrics_info *m = table;
	double v;
	char *end;

	for (; m && m->key; m++)
		if (strcmp(m->key, key) == 0)
			break;
	if (!m || !m->key || !value)
		return;
	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
		v = value[0] == 'y';
	} else {
		v = strtod(value, &end);
		if (end == value || *end)
			return;
	}
	v *= m->scale != 0 ? m->scale : 1;
	if (series_type_of(m->name) == FAM_COUNTER)
		metrics_counter_set(m->name, m->help, NULL, v);
	else
		metrics_gauge_set(m->name, m->help, NULL, v);
}

int metrics_add_collector(metrics_collect_fn fn, void *arg)
{
	if (ncollectors == MAX_COLLECTORS)
		return -ENOSPC;
	collectors[ncollectors].fn = fn;
	collectors[ncollectors++].arg = arg;
	return 0;
}

/* Values as Prometheus parses them: integers exactly, +Inf/-Inf/NaN. */
static void put_value(FILE *out, double v)
{
	if (isnan(v))
		fputs("NaN", out);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", out);
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(out, "%.0f", v);
	else {
		/* the shortest form that reads back as the same double */
		char b[32];

		snprintf(b, sizeof(b), "%.15g", v);
		if (strtod(b, NULL) != v)
			snprintf(b, sizeof(b), "%.17g", v);
		fputs(b, out);
	}
}

static void put_header(FILE *out, const char *name, const char *suffix, const char *help,
		       const char *type)
{
	fprintf(out, "# HELP %s%s%s ", prefix, name, suffix);
	put_escaped(out, help, 0);
	fprintf(out, "\n# TYPE %s%s%s %s\n", prefix, name, suffix, type);
}

static void put_counters(FILE *out)
{
	for (size_t i = 0; i < counters_count(); i++) {
		const char *c = counters_name(i), *help = NULL;
		char name[128];
		size_t n;

		for (n = 0; c[n] && n < sizeof(name) - 1; n++) {
			int ok = (c[n] >= 'a' && c[n] <= 'z') || (c[n] >= 'A' && c[n] <= 'Z') ||
				 (c[n] >= '0' && c[n] <= '9') || c[n] == '_';
			name[n] = ok ? c[n] : '_';
		}
		name[n] = '\0';
		for (size_t j = 0; j < ncounter_helps; j++)
			if (strcmp(counter_helps[j].name, c) == 0)
				help = counter_helps[j].help;
		if (help) {
			put_header(out, name, "_total", help, "counter");
		} else {
			char h[192];

			snprintf(h, sizeof(h), "Count of %s (the status reply's counter).", c);
			put_header(out, name, "_total", h, "counter");
		}
		fprintf(out, "%s%s_total %llu\n", prefix, name,
			(unsigned long long)counters_get(i));
	}
}

static void put_histogram(FILE *out, const struct family *f)
{
	unsigned long long cum = 0;

	put_header(out, f->name, "", f->help, "histogram");
	for (size_t i = 0; i < f->nbounds; i++) {
		cum += f->buckets[i];
		fprintf(out, "%s%s_bucket{le=\"", prefix, f->name);
		put_value(out, f->bounds[i]);
		fprintf(out, "\"} %llu\n", cum);
	}
	fprintf(out, "%s%s_bucket{le=\"+Inf\"} %llu\n", prefix, f->name, f->count);
	fprintf(out, "%s%s_sum ", prefix, f->name);
	put_value(out, f->sum);
	fprintf(out, "\n%s%s_count %llu\n", prefix, f->name, f->count);
}

char *metrics_render(size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *out;

	for (size_t i = 0; i < ncollectors; i++)
		collectors[i].fn(collectors[i].arg);
	out = open_memstream(&buf, &n);
	if (!out)
		return NULL;
	put_header(out, "build_info", "", "l4lb version of this daemon (always 1).", "gauge");
	fprintf(out, "%sbuild_info{version=\"", prefix);
	put_escaped(out, L4LB_VERSION, 1);
	fputs("\"} 1\n", out);
	put_counters(out);
	for (size_t i = 0; i < nfamilies; i++) {
		const struct family *f = &families[i];

		if (f->type == FAM_HISTOGRAM) {
			put_histogram(out, f);
			continue;
		}
		if (f->nseries == 0)
			continue;
		put_header(out, f->name, "", f->help, f->type == FAM_GAUGE ? "gauge" : "counter");
		for (size_t j = 0; j < f->nseries; j++) {
			fprintf(out, "%s%s", prefix, f->name);
			if (f->series[j].labels[0])
				fprintf(out, "{%s}", f->series[j].labels);
			fputc(' ', out);
			put_value(out, f->series[j].value);
			fputc('\n', out);
		}
	}
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}
