/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What vipd knows about the cluster: agents, frameworks and the tasks that
 * carry VIPs (tasks without VIP ports are never kept: the state of a big
 * cluster must not be held in memory). Pure data; rules.c turns it into
 * the VIP table.
 */
#ifndef VIPD_MODEL_H
#define VIPD_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "vipd/strmap.h"

enum task_state {
	TS_UNKNOWN = 0, TS_STAGING, TS_STARTING, TS_RUNNING, TS_KILLING, TS_TERMINAL,
	TS_UNREACHABLE,
};

/* "TASK_RUNNING" etc. */
enum task_state task_state_parse(const char *s, size_t len);

struct task_ip {
	uint8_t family;
	uint8_t ip[16];
};

struct port_mapping {
	uint16_t host_port, container_port;
	uint8_t protos; /* bit 0 tcp, bit 1 udp */
};

/* One VIP label on one port. */
struct vip_port {
	uint8_t proto;
	uint8_t host_scope; /* number is a host port */
	uint16_t number;
	const char *label; /* the label value, e.g. "/app:80" (intern.h) */
};

/* One per VIP-carrying task (100,000 of them in a big cluster): compact,
 * counts are small (the parser caps them, see mesos_parse.c). */
struct task {
	char *id;
	const char *framework_id, *agent_id; /* shared: intern.h */
	double ts;            /* timestamp of the latest status */
	double health_ts;     /* timestamp of the latest status with `healthy` */
	struct task_ip *ips;  /* from the latest status */
	struct port_mapping *maps; /* container's own mappings */
	struct port_mapping *smaps; /* from the latest status (pods) */
	struct vip_port *ports;
	uint8_t nips, nmaps, nsmaps, nports;
	/* How many more models hold it: a snapshot that repeats it unchanged
	 * shares it with the live model while it is parsed (task_free drops
	 * one holder; the last frees it). */
	uint8_t extra;
	/* (Bit fields: the struct is 80 bytes, not 88, for 100,000 tasks.) */
	unsigned state : 3;   /* enum task_state */
	signed healthy : 2;   /* -1 never reported, 0, 1 */
	unsigned has_health_check : 1;
	unsigned carried : 1; /* kept from before a master failover */
	/* Its arrays and id are someone else's (the parser's scratch buffers,
	 * with room for the parser's bounds): never freed, copied by task_pack. */
	unsigned borrowed : 1;
	/* Its arrays and id lie after the struct in its allocation (task_pack),
	 * except ips / smaps when a later status replaced them (*_apart: then
	 * allocated on their own). */
	unsigned packed : 1;
	unsigned ips_apart : 1;
	unsigned smaps_apart : 1;
};

struct task *task_new(void);
void task_free(struct task *t);
/* Frees what t holds and makes it as new (for a scratch task). */
void task_clear(struct task *t);
/* A right-sized copy of t with its arrays and id inside the same
 * allocation (one allocation per kept task); t is left cleared. NULL on
 * ENOMEM (t kept). */
struct task *task_pack(struct task *t);

struct agent {
	char *hostname;
	uint8_t ip[4];
	uint8_t has_ip;
	uint8_t recovered;   /* in recovered_agents, not yet re-registered */
	uint64_t carry_until_ms; /* its carried tasks are dropped after this */
};

struct model {
	struct strmap tasks;      /* id -> struct task */
	struct strmap agents;     /* id -> struct agent */
	struct strmap frameworks; /* id -> framework name (char *) */
};

struct model *model_new(void);
void model_free(struct model *m);

/*
 * An agent's IPv4 address: its hostname when that is an IP literal or
 * "localhost", else the address in its pid ("slave(1)@10.0.0.1:5051");
 * -ENOENT if neither. Never a DNS query: vipd's loop must not block.
 */
int agent_resolve(const char *hostname, const char *pid, uint8_t out[4]);

/* Adds or replaces; the model takes ownership. 0 or -ENOMEM. */
int model_put_task(struct model *m, struct task *t);
int model_put_agent(struct model *m, const char *id, const char *hostname, const char *pid,
		    int recovered);
int model_put_framework(struct model *m, const char *id, const char *name);
void model_del_task(struct model *m, const char *id);
void model_del_agent(struct model *m, const char *id);
void model_del_framework(struct model *m, const char *id);

/*
 * A status update of a known task (TASK_UPDATED): `st` holds the new
 * status facts (ips, smaps, ts, healthy). Terminal states remove the task.
 * Returns 1 if the task was known, 0 if not.
 */
int model_update_task(struct model *m, const char *id, enum task_state state, struct task *st);

/* Whether two tasks hold the same facts (interned strings compared as
 * pointers): a snapshot's task then shares the live model's record. */
int task_same(const struct task *a, const struct task *b);

/* Folds a status into a task: the latest status by timestamp wins (its
 * arrays move to t). */
void task_merge_status(struct task *t, struct task *st);
/* The same into a borrowed task (t->borrowed: room for st's arrays), which
 * copies them. */
void task_copy_status(struct task *t, const struct task *st);

/*
 * After a master failover: keeps the tasks of `old` running on agents that
 * `m` lists as recovered (not yet re-registered), marked carried, until
 * now_ms + grace_ms. An agent `m` has no address for (a host name, no pid)
 * keeps the one `old` had under the same name.
 */
void model_carry_recovered(struct model *m, struct model *old, uint64_t now_ms, uint64_t grace_ms);
/* Drops carried tasks whose agent's deadline passed; returns how many. */
size_t model_expire_carried(struct model *m, uint64_t now_ms);

#endif
