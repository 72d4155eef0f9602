/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming parser of Mesos master responses: GET_STATE replies, legacy
 * state.json, and SUBSCRIBE streams (RecordIO-framed, or one JSON event per
 * line). Built on yajl's callback parser: only the facts vipd needs are
 * kept (see model.h), never a document tree. Input may arrive in any
 * chunks; each complete record is handed to a callback, so a record that
 * is cut short is never applied.
 */
#ifndef VIPD_MESOS_PARSE_H
#define VIPD_MESOS_PARSE_H

#include <stddef.h>

#include "vipd/model.h"

enum mesos_rec {
	REC_OTHER = 0, REC_GET_STATE, REC_SUBSCRIBED, REC_LEGACY, REC_HEARTBEAT,
	REC_TASK_ADDED, REC_TASK_UPDATED, REC_AGENT_ADDED, REC_AGENT_REMOVED,
	REC_FRAMEWORK_ADDED, REC_FRAMEWORK_UPDATED, REC_FRAMEWORK_REMOVED,
};

struct mesos_record {
	enum mesos_rec type;
	struct model *m;          /* tasks, agents, frameworks in the record */
	char *upd_task_id;        /* TASK_UPDATED */
	enum task_state upd_state;
	struct task *upd_status;
	char *removed_id;         /* AGENT_REMOVED, FRAMEWORK_REMOVED */
	double heartbeat_s;       /* SUBSCRIBED */
	size_t recovered_agents;
};

static inline int mesos_rec_is_snapshot(enum mesos_rec t)
{
	return t == REC_GET_STATE || t == REC_SUBSCRIBED || t == REC_LEGACY;
}

/* Called once per complete record; may take rec->m (set it to NULL). */
typedef void (*mesos_record_fn)(struct mesos_record *rec, void *arg);

struct mesos_parser;

/* Default bound on the tasks with VIPs one record may carry (10x the
 * largest cluster the benchmark models; ~110 bytes each in the model:
 * its record and its slots in the task map). */
#define MESOS_MAX_TASKS 1000000
/* Bound on the agents and frameworks stream events may add to the model
 * (a snapshot's are bounded by its size and the request timeout). */
#define MESOS_MAX_AGENTS 1000000

struct mesos_parser *mesos_parser_new(mesos_record_fn fn, void *arg);
void mesos_parser_free(struct mesos_parser *p);
/* A record with more tasks with VIPs than n is refused (-EBADMSG). */
void mesos_parser_set_max_tasks(struct mesos_parser *p, size_t n);
/*
 * Where the model records are applied to lives (*live, read at each task;
 * NULL: none): a snapshot's tasks that *live holds unchanged are shared
 * with it, not copied (task_rec.extra counts the holders). Records must be
 * applied in order, and *live must not change a task in place while a
 * snapshot is being parsed (records are applied one after the other).
 */
void mesos_parser_set_live(struct mesos_parser *p, struct model *const *live);
/* 0, or -EBADMSG (the input is broken: see mesos_parser_error). */
int mesos_parser_feed(struct mesos_parser *p, const void *buf, size_t len);
/* End of input: -EBADMSG when a record is incomplete or nothing came. */
int mesos_parser_finish(struct mesos_parser *p);
const char *mesos_parser_error(const struct mesos_parser *p);
size_t mesos_parser_records(const struct mesos_parser *p);
/* A JSON number made of up to 18 digits and a '.', read exactly as strtod
 * reads it, only faster: 0, or -1 for any other (then use strtod). */
int mesos_decimal(const char *s, size_t len, double *out);

const char *mesos_rec_name(enum mesos_rec t);

#endif
