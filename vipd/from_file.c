// SPDX-License-Identifier: Apache-2.0
/* Reads a saved master response in chunks: the file is never held whole. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "vipd/apply.h"
#include "vipd/from_file.h"
#include "vipd/mesos_parse.h"
#include "vipd/named_vip.h"
#include "vipd/rules.h"

struct loading {
	struct model *m;
	size_t known; /* records of a kind a master sends */
};

static void on_record(struct mesos_record *rec, void *arg)
{
	struct loading *l = arg;

	l->known += rec->type != REC_OTHER;
	/* A recorded stream: recovered agents keep their tasks (no clock runs). */
	apply_record(&l->m, rec, clock_mono_ms(), UINT32_MAX);
}

/* The table of the file, and the model it came from (*mp). */
static struct vip_table *load(const char *path, const struct vip_table *statics, char *err,
			      size_t errlen, struct model **mp)
{
	static char buf[1 << 16];
	struct loading l = { model_new(), 0 };
	struct mesos_parser *p = mesos_parser_new(on_record, &l);
	struct vip_table *t = NULL;
	FILE *f = NULL;
	size_t n;

	if (!l.m || !p) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (mesos_parser_feed(p, buf, n) < 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto done;
	}
	if (mesos_parser_finish(p) < 0) {
		snprintf(err, errlen, "%s: not a Mesos master response: %s", path,
			 mesos_parser_error(p));
		goto done;
	}
	/* JSON, but no state or event in it ({"foo":1}): an empty table
	 * printed from it would pass for an empty cluster. */
	if (!l.known) {
		snprintf(err, errlen, "%s: not a Mesos master response: no state or event in it",
			 path);
		goto done;
	}
	t = rules_build(l.m, statics, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	if (!t)
		snprintf(err, errlen, "out of memory");
done:
	if (f && f != stdin)
		fclose(f);
	mesos_parser_free(p);
	*mp = l.m;
	return t;
}

struct vip_table *from_file_table(const char *path, const struct vip_table *statics, char *err,
				  size_t errlen)
{
	struct model *m;
	struct vip_table *t = load(path, statics, err, errlen, &m);

	model_free(m);
	/* The parse's freed memory lies between what stays: give it back. */
	malloc_trim(0);
	return t;
}

/* What a process about to exit keeps (from_file_print's `exiting`): still
 * referenced, so that leak checkers see no leak. */
static struct model *kept_model;
static struct vip_table *kept_table;

int from_file_print(const char *path, const struct vip_table *statics, FILE *out, int exiting,
		    char *err, size_t errlen)
{
	struct model *m;
	struct vip_table *t = load(path, statics, err, errlen, &m);
	int rc = -EINVAL;

	if (t) {
		rc = vip_table_print_json(t, out) < 0 || fflush(out) ? -EIO : 0;
		if (rc < 0)
			snprintf(err, errlen, "writing the table: %s", strerror(errno));
	}
	if (exiting) {
		/* 100,000 tasks freed one by one would cost the one-shot
		 * --print 3-4 % of its time; the kernel takes them back at once. */
		model_free(kept_model);
		vip_table_free(kept_table);
		kept_model = m;
		kept_table = t;
		return rc;
	}
	vip_table_free(t);
	model_free(m);
	return rc;
}
