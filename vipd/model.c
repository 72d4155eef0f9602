// SPDX-License-Identifier: Apache-2.0
/* The cluster model: agents, frameworks and VIP-carrying tasks. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "vipd/intern.h"
#include "vipd/model.h"
#include "vipd/slab.h"

enum task_state task_state_parse(const char *s, size_t len)
{
	static const struct {
		const char *name;
		enum task_state st;
	} tab[] = {
		{ "TASK_STAGING", TS_STAGING }, { "TASK_STARTING", TS_STARTING },
		{ "TASK_RUNNING", TS_RUNNING }, { "TASK_KILLING", TS_KILLING },
		{ "TASK_FINISHED", TS_TERMINAL }, { "TASK_FAILED", TS_TERMINAL },
		{ "TASK_KILLED", TS_TERMINAL }, { "TASK_LOST", TS_TERMINAL },
		{ "TASK_ERROR", TS_TERMINAL }, { "TASK_DROPPED", TS_TERMINAL },
		{ "TASK_GONE", TS_TERMINAL }, { "TASK_GONE_BY_OPERATOR", TS_TERMINAL },
		{ "TASK_UNREACHABLE", TS_UNREACHABLE }, { "TASK_UNKNOWN", TS_UNREACHABLE },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].name) == len && !memcmp(tab[i].name, s, len))
			return tab[i].st;
	return TS_UNKNOWN;
}

struct task *task_new(void)
{
	struct task *t = calloc(1, sizeof(*t));

	if (t)
		t->healthy = -1;
	return t;
}

void task_clear(struct task *t)
{
	if (!t->borrowed) {
		free(t->id);
		free(t->ips);
		free(t->maps);
		free(t->smaps);
	}
	intern_drop(t->framework_id);
	intern_drop(t->agent_id);
	for (size_t i = 0; i < t->nports; i++)
		intern_drop(t->ports[i].label);
	if (!t->borrowed)
		free(t->ports);
	memset(t, 0, sizeof(*t));
	t->healthy = -1;
}

void task_free(struct task *t)
{
	if (!t)
		return;
	task_clear(t);
	free(t);
}

_Static_assert(sizeof(struct task_rec) == 32, "a task record's header is 32 bytes");
_Static_assert(sizeof(struct rec_port) == 8, "a record's port is 8 bytes");

static size_t ip_size(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

void task_rec_view(const struct task_rec *r, struct task_view *v)
{
	struct task *t = &v->t;
	const struct rec_port *rp = task_rec_ports(r);
	const uint8_t *at;

	memset(t, 0, sizeof(*t));
	t->id = (char *)task_rec_id(r);
	t->framework_id = intern_at(r->framework);
	t->agent_id = intern_at(r->agent);
	t->ts = r->ts;
	t->health_ts = r->health_ts;
	t->nips = r->nips;
	t->nmaps = r->nmaps;
	t->nsmaps = r->nsmaps;
	t->nports = r->nports;
	t->state = r->state;
	t->healthy = r->healthy;
	t->has_health_check = r->has_health_check;
	t->carried = r->carried;
	t->borrowed = 1;
	t->ports = v->ports;
	for (size_t i = 0; i < r->nports; i++) {
		v->ports[i].proto = rp[i].proto;
		v->ports[i].host_scope = rp[i].host_scope;
		v->ports[i].number = rp[i].number;
		v->ports[i].label = intern_at(rp[i].label);
	}
	/* (port mappings are 2-byte aligned in the record: read in place) */
	t->maps = (struct port_mapping *)(void *)(rp + r->nports);
	t->smaps = t->maps + r->nmaps;
	t->ips = v->ips;
	at = (const uint8_t *)t->id + strlen(t->id) + 1;
	for (size_t i = 0; i < r->nips; i++) {
		size_t n = ip_size(*at);

		memset(&v->ips[i], 0, sizeof(v->ips[i]));
		v->ips[i].family = *at++;
		memcpy(v->ips[i].ip, at, n);
		at += n;
	}
}

struct task_rec *task_rec_pack(struct task *t)
{
	size_t nid = strlen(t->id) + 1, nip = 0, nmap = (size_t)t->nmaps + t->nsmaps;
	struct rec_port *rp;
	struct task_rec *r;
	uint8_t *at;

	if (t->nports > TASK_MAX_PORTS || t->nips > TASK_MAX_IPS || t->nmaps > TASK_MAX_MAPS ||
	    t->nsmaps > TASK_MAX_MAPS)
		return NULL;
	for (size_t i = 0; i < t->nips; i++)
		nip += 1 + ip_size(t->ips[i].family);
	r = slab_alloc(sizeof(*r) + t->nports * sizeof(*rp) + nmap * sizeof(struct port_mapping) +
		       nid + nip);
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->ts = t->ts;
	r->health_ts = t->health_ts;
	r->framework = intern_id(t->framework_id);
	r->agent = intern_id(t->agent_id);
	r->nips = t->nips;
	r->nmaps = t->nmaps;
	r->nsmaps = t->nsmaps;
	r->nports = t->nports;
	r->state = t->state;
	r->healthy = t->healthy;
	r->has_health_check = t->has_health_check & 1;
	r->carried = t->carried & 1;
	rp = (struct rec_port *)(void *)(r + 1);
	for (size_t i = 0; i < t->nports; i++) {
		rp[i].proto = t->ports[i].proto;
		rp[i].host_scope = t->ports[i].host_scope;
		rp[i].number = t->ports[i].number;
		rp[i].label = intern_id(t->ports[i].label);
	}
	at = (uint8_t *)(rp + t->nports);
	if (t->nmaps) /* (no array at all when empty: memcpy wants one) */
		memcpy(at, t->maps, t->nmaps * sizeof(struct port_mapping));
	at += t->nmaps * sizeof(struct port_mapping);
	if (t->nsmaps)
		memcpy(at, t->smaps, t->nsmaps * sizeof(struct port_mapping));
	at += t->nsmaps * sizeof(struct port_mapping);
	memcpy(at, t->id, nid);
	at += nid;
	for (size_t i = 0; i < t->nips; i++) {
		*at++ = t->ips[i].family;
		memcpy(at, t->ips[i].ip, ip_size(t->ips[i].family));
		at += ip_size(t->ips[i].family);
	}
	/* The references (agent, framework, labels) move to the record. */
	t->framework_id = t->agent_id = NULL;
	t->nports = 0;
	task_clear(t);
	return r;
}

size_t task_rec_size(const struct task_rec *r)
{
	const char *id = task_rec_id(r);
	const uint8_t *at = (const uint8_t *)id + strlen(id) + 1;

	for (size_t i = 0; i < r->nips; i++)
		at += 1 + ip_size(*at);
	return (size_t)(at - (const uint8_t *)r);
}

void task_rec_free(struct task_rec *r)
{
	const struct rec_port *rp;

	if (!r)
		return;
	if (r->extra) { /* (another model still holds it) */
		r->extra--;
		return;
	}
	rp = task_rec_ports(r);
	intern_drop(intern_at(r->framework));
	intern_drop(intern_at(r->agent));
	for (size_t i = 0; i < r->nports; i++)
		intern_drop(intern_at(rp[i].label));
	slab_free(r, task_rec_size(r));
}

static void task_rec_free_v(void *p) { task_rec_free(p); }

static const char *task_key(const void *r)
{
	return task_rec_id(r);
}

static void agent_free_v(void *p)
{
	struct agent *a = p;

	if (a)
		free(a->hostname);
	free(a);
}

struct model *model_new(void)
{
	struct model *m = calloc(1, sizeof(struct model));

	if (m)
		m->tasks.key_of = task_key; /* keyed by the task's own id */
	return m;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	strmap_clear(&m->tasks, task_rec_free_v);
	strmap_clear(&m->agents, agent_free_v);
	strmap_clear(&m->frameworks, free);
	free(m);
}

int agent_resolve(const char *hostname, const char *pid, uint8_t out[4])
{
	const char *at, *colon;
	char buf[INET_ADDRSTRLEN];

	if (hostname && inet_pton(AF_INET, hostname, out) == 1)
		return 0;
	if (hostname && !strcmp(hostname, "localhost")) {
		out[0] = 127, out[1] = 0, out[2] = 0, out[3] = 1;
		return 0;
	}
	/* A name: the address the agent registered from ("slave(1)@IP:port"),
	 * never a DNS query, which would block the event loop. */
	if (!pid || !(at = strrchr(pid, '@')) || !(colon = strrchr(at, ':')) ||
	    (size_t)(colon - at - 1) >= sizeof(buf))
		return -ENOENT;
	memcpy(buf, at + 1, (size_t)(colon - at - 1));
	buf[colon - at - 1] = '\0';
	return inet_pton(AF_INET, buf, out) == 1 ? 0 : -ENOENT;
}

int model_put_rec(struct model *m, struct task_rec *r)
{
	int err;
	struct task_rec *old = strmap_put(&m->tasks, task_rec_id(r), r, &err);

	if (err) {
		task_rec_free(r);
		return err;
	}
	if (old != r)
		task_rec_free(old);
	return 0;
}

int model_put_task(struct model *m, struct task *t)
{
	struct task_rec *r = task_rec_pack(t);

	task_free(t);
	return r ? model_put_rec(m, r) : -ENOMEM;
}

int task_same(const struct task_rec *r, const struct task *b)
{
	struct task_view v;
	const struct task *a = &v.t;

	if (r->nips != b->nips || r->nmaps != b->nmaps || r->nsmaps != b->nsmaps ||
	    r->nports != b->nports || r->ts != b->ts)
		return 0;
	task_rec_view(r, &v);
	if (strcmp(a->id, b->id) || a->framework_id != b->framework_id ||
	    a->agent_id != b->agent_id || a->ts != b->ts || a->health_ts != b->health_ts ||
	    a->state != b->state || a->healthy != b->healthy ||
	    a->has_health_check != b->has_health_check || a->carried != b->carried)
		return 0;
	for (size_t i = 0; i < a->nips; i++)
		if (a->ips[i].family != b->ips[i].family || memcmp(a->ips[i].ip, b->ips[i].ip, 16))
			return 0;
	for (size_t i = 0; i < a->nmaps + a->nsmaps; i++) {
		const struct port_mapping *x = i < a->nmaps ? &a->maps[i] : &a->smaps[i - a->nmaps];
		const struct port_mapping *y = i < a->nmaps ? &b->maps[i] : &b->smaps[i - a->nmaps];

		if (x->host_port != y->host_port || x->container_port != y->container_port ||
		    x->protos != y->protos)
			return 0;
	}
	for (size_t i = 0; i < a->nports; i++)
		if (a->ports[i].proto != b->ports[i].proto ||
		    a->ports[i].host_scope != b->ports[i].host_scope ||
		    a->ports[i].number != b->ports[i].number || a->ports[i].label != b->ports[i].label)
			return 0;
	return 1;
}

int model_put_agent(struct model *m, const char *id, const char *hostname, const char *pid,
		    int recovered)
{
	struct agent *a = calloc(1, sizeof(*a)), *old;
	int err;

	if (!a || !(a->hostname = strdup(hostname ? hostname : ""))) {
		agent_free_v(a);
		return -ENOMEM;
	}
	a->has_ip = agent_resolve(hostname, pid, a->ip) == 0;
	a->recovered = (uint8_t)!!recovered;
	old = strmap_put(&m->agents, id, a, &err);
	if (err) {
		agent_free_v(a);
		return err;
	}
	agent_free_v(old);
	return 0;
}

int model_put_framework(struct model *m, const char *id, const char *name)
{
	char *n = strdup(name ? name : "");
	int err;

	if (!n)
		return -ENOMEM;
	free(strmap_put(&m->frameworks, id, n, &err));
	if (err) {
		free(n);
		return err;
	}
	return 0;
}

void model_del_task(struct model *m, const char *id)
{
	task_rec_free(strmap_del(&m->tasks, id));
}

void model_del_agent(struct model *m, const char *id)
{
	agent_free_v(strmap_del(&m->agents, id));
}

void model_del_framework(struct model *m, const char *id)
{
	free(strmap_del(&m->frameworks, id));
}

/* Health and time from st into the header fields; 1 if st is the latest
 * status (its addresses and mappings then replace the task's). */
static int status_newer(double *ts, double *health_ts, int8_t *healthy, const struct task *st)
{
	if (st->healthy >= 0 && st->ts >= *health_ts) {
		*healthy = st->healthy;
		*health_ts = st->ts;
	}
	if (st->ts < *ts)
		return 0;
	*ts = st->ts;
	return 1;
}

void task_copy_status(struct task *t, const struct task *st)
{
	if (!status_newer(&t->ts, &t->health_ts, &t->healthy, st))
		return;
	/* An update without addresses keeps the ones we know. */
	if (st->nips) {
		memcpy(t->ips, st->ips, st->nips * sizeof(*st->ips));
		t->nips = st->nips;
	}
	if (st->nsmaps) {
		memcpy(t->smaps, st->smaps, st->nsmaps * sizeof(*st->smaps));
		t->nsmaps = st->nsmaps;
	}
}

int model_update_task(struct model *m, const char *id, enum task_state state,
		      const struct task *st)
{
	struct task_rec *r = strmap_get(&m->tasks, id), *n;
	struct task_view v;
	struct task *t = &v.t;

	if (!r)
		return 0;
	if (state == TS_TERMINAL) {
		model_del_task(m, id);
		return 1;
	}
	if (state != TS_UNKNOWN)
		r->state = (uint8_t)state;
	r->carried = 0;
	if (!status_newer(&r->ts, &r->health_ts, &r->healthy, st) || (!st->nips && !st->nsmaps))
		return 1;
	/* New addresses or mappings: a new record, the others' facts with the
	 * status's (an update without addresses keeps the ones we know). */
	task_rec_view(r, &v);
	if (st->nips) {
		t->ips = st->ips;
		t->nips = st->nips;
	}
	if (st->nsmaps) {
		t->smaps = st->smaps;
		t->nsmaps = st->nsmaps;
	}
	/* (the view's references are the record's: the new one takes its own;
	 * its id is read from r, which stays until n replaces it) */
	intern_ref(t->framework_id);
	intern_ref(t->agent_id);
	for (size_t i = 0; i < t->nports; i++)
		intern_ref(t->ports[i].label);
	if (!(n = task_rec_pack(t))) {
		log_limited(LOG_LVL_ERROR, "task_update", "task %s: out of memory; its last "
			    "addresses are kept", id);
		task_clear(t); /* (borrowed: drops only those references) */
		return 1;
	}
	model_put_rec(m, n);
	return 1;
}

void model_carry_recovered(struct model *m, struct model *old, uint64_t now_ms, uint64_t grace_ms)
{
	const char *id;
	void *v;
	size_t i = 0;

	if (!old)
		return;
	/* A recovered agent comes without its pid: one named by a host name
	 * keeps the address it had, the same name, in the old model. */
	while (strmap_next(&m->agents, &i, &id, &v)) {
		struct agent *a = v, *o;

		if (!a->has_ip && (o = strmap_get(&old->agents, id)) && o->has_ip &&
		    !strcmp(o->hostname, a->hostname)) {
			memcpy(a->ip, o->ip, 4);
			a->has_ip = 1;
		}
	}
	i = 0;
	while (strmap_next(&old->tasks, &i, &id, &v)) {
		struct task_rec *t = v;
		const char *aid = intern_at(t->agent);
		struct agent *a = aid ? strmap_get(&m->agents, aid) : NULL, *o;

		if (!a || !a->recovered || strmap_get(&m->tasks, id))
			continue;
		/* A snapshot repeated during the grace (polling, a reconnect)
		 * keeps the deadline the first one set. */
		if (!a->carry_until_ms)
			a->carry_until_ms = t->carried && (o = strmap_get(&old->agents, aid)) &&
					    o->carry_until_ms ? o->carry_until_ms : now_ms + grace_ms;
		/* Move the task over: the old model is freed by the caller. */
		strmap_del(&old->tasks, id);
		t->carried = 1;
		model_put_rec(m, t); /* deleting leaves a tombstone: i stays valid */
	}
}

size_t model_expire_carried(struct model *m, uint64_t now_ms)
{
	const char *id;
	void *v;
	size_t i = 0, n = 0;

	while (strmap_next(&m->tasks, &i, &id, &v)) {
		struct task_rec *t = v;
		const char *aid = intern_at(t->agent);
		struct agent *a = aid ? strmap_get(&m->agents, aid) : NULL;

		if (!t->carried || (a && a->carry_until_ms > now_ms))
			continue;
		task_rec_free(strmap_del(&m->tasks, id));
		n++;
	}
	return n;
}
