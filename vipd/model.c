// SPDX-License-Identifier: Apache-2.0
/* The cluster model: agents, frameworks and VIP-carrying tasks. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/intern.h"
#include "vipd/model.h"

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

/* Frees an array or id of t unless borrowed or in t's own allocation
 * (apart: that one was allocated on its own later). */
static void free_own(const struct task *t, void *p, int apart)
{
	if (!t->borrowed && (!t->packed || apart))
		free(p);
}

void task_clear(struct task *t)
{
	free_own(t, t->id, 0);
	intern_drop(t->framework_id);
	intern_drop(t->agent_id);
	free_own(t, t->ips, t->ips_apart);
	free_own(t, t->maps, 0);
	free_own(t, t->smaps, t->smaps_apart);
	for (size_t i = 0; i < t->nports; i++)
		intern_drop(t->ports[i].label);
	free_own(t, t->ports, 0);
	memset(t, 0, sizeof(*t));
	t->healthy = -1;
}

void task_free(struct task *t)
{
	if (!t)
		return;
	if (t->extra) { /* (another model still holds it) */
		t->extra--;
		return;
	}
	task_clear(t);
	free(t);
}

/* Copies n bytes of src to *at (moved on), returns where they went. */
static void *place(char **at, const void *src, size_t n)
{
	void *d = *at;

	if (n)
		memcpy(d, src, n);
	*at += n;
	return n ? d : NULL;
}

struct task *task_pack(struct task *t)
{
	/* Pointers first (vip_port holds one), then the byte-aligned rest. */
	size_t np = t->nports * sizeof(*t->ports), nm = t->nmaps * sizeof(*t->maps);
	size_t ns = t->nsmaps * sizeof(*t->smaps), ni = t->nips * sizeof(*t->ips);
	size_t nid = strlen(t->id) + 1, tail = np + nm + ns + ni + nid;
	struct task *n;
	char *at;

	_Static_assert(sizeof(struct task) % sizeof(void *) == 0, "ports follow aligned");
	if (!(n = malloc(sizeof(*n) + tail)))
		return NULL;
	*n = *t;
	n->borrowed = n->extra = n->ips_apart = n->smaps_apart = 0;
	n->packed = 1;
	at = (char *)(n + 1);
	n->ports = place(&at, t->ports, np);
	n->maps = place(&at, t->maps, nm);
	n->smaps = place(&at, t->smaps, ns);
	n->ips = place(&at, t->ips, ni);
	n->id = place(&at, t->id, nid);
	/* The labels' references move with the ports. */
	t->nports = 0;
	intern_ref(t->framework_id);
	intern_ref(t->agent_id);
	task_clear(t);
	return n;
}

static void task_free_v(void *p) { task_free(p); }

static const char *task_key(const void *t)
{
	return ((const struct task *)t)->id;
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
	strmap_clear(&m->tasks, task_free_v);
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

int model_put_task(struct model *m, struct task *t)
{
	int err;
	struct task *old = strmap_put(&m->tasks, t->id, t, &err);

	if (err) {
		task_free(t);
		return err;
	}
	if (old != t)
		task_free(old);
	return 0;
}

int task_same(const struct task *a, const struct task *b)
{
	if (strcmp(a->id, b->id) || a->framework_id != b->framework_id ||
	    a->agent_id != b->agent_id || a->ts != b->ts || a->health_ts != b->health_ts ||
	    a->nips != b->nips || a->nmaps != b->nmaps || a->nsmaps != b->nsmaps ||
	    a->nports != b->nports || a->state != b->state || a->healthy != b->healthy ||
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
	task_free(strmap_del(&m->tasks, id));
}

void model_del_agent(struct model *m, const char *id)
{
	agent_free_v(strmap_del(&m->agents, id));
}

void model_del_framework(struct model *m, const char *id)
{
	free(strmap_del(&m->frameworks, id));
}

/* Health and time from st; 1 if st is the latest status (its addresses and
 * mappings then replace t's). */
static int status_newer(struct task *t, const struct task *st)
{
	if (st->healthy >= 0 && st->ts >= t->health_ts) {
		t->healthy = st->healthy;
		t->health_ts = st->ts;
	}
	if (st->ts < t->ts)
		return 0;
	t->ts = st->ts;
	return 1;
}

void task_copy_status(struct task *t, const struct task *st)
{
	if (!status_newer(t, st))
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

void task_merge_status(struct task *t, struct task *st)
{
	if (!status_newer(t, st))
		return;
	/* An update without addresses keeps the ones we know. */
	if (st->nips) {
		free_own(t, t->ips, t->ips_apart);
		t->ips = st->ips;
		t->ips_apart = 1;
		t->nips = st->nips;
		st->ips = NULL;
		st->nips = 0;
	}
	if (st->nsmaps) {
		free_own(t, t->smaps, t->smaps_apart);
		t->smaps = st->smaps;
		t->smaps_apart = 1;
		t->nsmaps = st->nsmaps;
		st->smaps = NULL;
		st->nsmaps = 0;
	}
}

int model_update_task(struct model *m, const char *id, enum task_state state, struct task *st)
{
	struct task *t = strmap_get(&m->tasks, id);

	if (!t)
		return 0;
	if (state == TS_TERMINAL) {
		model_del_task(m, id);
		return 1;
	}
	if (state != TS_UNKNOWN)
		t->state = state;
	t->carried = 0;
	task_merge_status(t, st);
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
		struct task *t = v;
		struct agent *a = t->agent_id ? strmap_get(&m->agents, t->agent_id) : NULL, *o;

		if (!a || !a->recovered || strmap_get(&m->tasks, id))
			continue;
		/* A snapshot repeated during the grace (polling, a reconnect)
		 * keeps the deadline the first one set. */
		if (!a->carry_until_ms)
			a->carry_until_ms = t->carried && (o = strmap_get(&old->agents, t->agent_id)) &&
					    o->carry_until_ms ? o->carry_until_ms : now_ms + grace_ms;
		/* Move the task over: the old model is freed by the caller. */
		strmap_del(&old->tasks, id);
		t->carried = 1;
		model_put_task(m, t); /* deleting leaves a tombstone: i stays valid */
	}
}

size_t model_expire_carried(struct model *m, uint64_t now_ms)
{
	const char *id;
	void *v;
	size_t i = 0, n = 0;

	while (strmap_next(&m->tasks, &i, &id, &v)) {
		struct task *t = v;
		struct agent *a = t->agent_id ? strmap_get(&m->agents, t->agent_id) : NULL;

		if (!t->carried || (a && a->carry_until_ms > now_ms))
			continue;
		task_free(strmap_del(&m->tasks, id));
		n++;
	}
	return n;
}
