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

/* The bounds of one task's facts (the parser's, see mesos_parse.c). */
#define TASK_MAX_IPS 16
#define TASK_MAX_MAPS 64
#define TASK_MAX_PORTS 64

/* A task's facts as the parser collects them, and a status update: the
 * live model keeps them packed (struct task_rec). */
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
	uint8_t state;        /* enum task_state */
	int8_t healthy;       /* -1 never reported, 0, 1 */
	uint8_t has_health_check;
	uint8_t carried;      /* kept from before a master failover */
	/* Its arrays and id are someone else's (the parser's scratch buffers,
	 * with room for the bounds above): never freed, copied by task_rec_pack. */
	uint8_t borrowed;
};

struct task *task_new(void);
void task_free(struct task *t);
/* Frees what t holds and makes it as new (for a scratch task). */
void task_clear(struct task *t);

/* A label of a task record's port: its string as an intern id. */
struct rec_port {
	uint8_t proto;
	uint8_t host_scope;
	uint16_t number;
	uint32_t label;
};

/*
 * One per VIP-carrying task in the live model (100,000 in a big cluster):
 * one allocation, a 32-byte header and its facts after it, 4-byte intern
 * ids for the strings many tasks share, addresses in 5 or 17 bytes. After
 * the header: rec_port[nports], port_mapping[nmaps] then [nsmaps] (the
 * status's), the id and its NUL, then nips addresses (a family byte, 4 or
 * 16 bytes). Read through task_rec_view. Only the header changes in place:
 * a status with new addresses or mappings makes a new record.
 */
struct task_rec {
	double ts, health_ts;
	uint32_t framework, agent; /* intern ids */
	uint8_t nips, nmaps, nsmaps, nports;
	/* How many more models hold it: a snapshot that repeats it unchanged
	 * shares it with the live model while it is parsed (task_rec_free
	 * drops one holder; the last frees it). */
	uint8_t extra;
	uint8_t state;  /* enum task_state */
	int8_t healthy; /* -1 never reported, 0, 1 */
	uint8_t has_health_check : 1;
	uint8_t carried : 1;
};

static inline const struct rec_port *task_rec_ports(const struct task_rec *r)
{
	return (const struct rec_port *)(const void *)(r + 1);
}

static inline const char *task_rec_id(const struct task_rec *r)
{
	return (const char *)(task_rec_ports(r) + r->nports) +
	       (r->nmaps + r->nsmaps) * sizeof(struct port_mapping);
}

/* A record read as a struct task (borrowed: its arrays in here or in the
 * record, valid while the record is unchanged). */
struct task_view {
	struct task t;
	struct vip_port ports[TASK_MAX_PORTS];
	struct task_ip ips[TASK_MAX_IPS];
};

void task_rec_view(const struct task_rec *r, struct task_view *v);
/* A record of t's facts; t is left cleared (its references move). NULL on
 * ENOMEM or counts past the bounds (t kept). */
struct task_rec *task_rec_pack(struct task *t);
void task_rec_free(struct task_rec *r);
/* Its bytes, header and facts (for the benchmark's breakdown). */
size_t task_rec_size(const struct task_rec *r);

struct agent {
	char *hostname;
	uint8_t ip[4];
	uint8_t has_ip;
	uint8_t recovered;   /* in recovered_agents, not yet re-registered */
	uint64_t carry_until_ms; /* its carried tasks are dropped after this */
};

struct model {
	struct strmap tasks;      /* id -> struct task_rec */
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
int model_put_rec(struct model *m, struct task_rec *r);
/* The same for t's facts, packed (t is freed). */
int model_put_task(struct model *m, struct task *t);
int model_put_agent(struct model *m, const char *id, const char *hostname, const char *pid,
		    int recovered);
int model_put_framework(struct model *m, const char *id, const char *name);
void model_del_task(struct model *m, const char *id);
void model_del_agent(struct model *m, const char *id);
void model_del_framework(struct model *m, const char *id);

/*
 * A status update of a known task (TASK_UPDATED): `st` holds the new
 * status facts (ips, smaps, ts, healthy), copied. Terminal states remove
 * the task. Returns 1 if the task was known, 0 if not.
 */
int model_update_task(struct model *m, const char *id, enum task_state state,
		      const struct task *st);

/* Whether a record holds t's facts (interned strings compared as
 * pointers): a snapshot's task then shares the live model's record. */
int task_same(const struct task_rec *a, const struct task *t);

/* Folds a status into a borrowed task (t->borrowed: room for st's arrays):
 * the latest status by timestamp wins. */
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
