// SPDX-License-Identifier: Apache-2.0
/*
 * The yajl callback parser for master responses. Every JSON value is
 * classified by a node id (where it sits in the master's schema, see
 * node_child()); values under unknown keys are SKIP and cost only the
 * tokenizer's time. Facts are collected into a scratch task and committed
 * when its object closes, into a record committed when the top-level object
 * closes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/counters.h"
#include "vipd/intern.h"
#include "vipd/mesos_parse.h"
#include "vipd/strmap.h"
#include "vipd/vip_table.h"

#define MAX_DEPTH 128
#define MAX_IPS TASK_MAX_IPS
#define MAX_MAPS TASK_MAX_MAPS
#define MAX_VIP_PORTS TASK_MAX_PORTS
#define MAX_RANGES 256
#define MAX_LABELS 64

enum node {
	N_SKIP, N_ROOT, N_TYPE, N_GS, N_SUB, N_HB, N_GT, N_TASKS, N_TASK,
	N_GA, N_AGENTS, N_AGENT, N_AINFO, N_AID, N_AHOST, N_APID, N_RAGENTS,
	N_GF, N_FWS, N_FW, N_FINFO, N_FID, N_FNAME,
	N_TADD, N_TUPD, N_TU_STATE, N_AADD, N_AREM, N_REM_ID, N_FADD, N_FREM,
	N_L_FWS, N_L_FW, N_L_FW_ID, N_L_FW_NAME, N_L_SLAVES, N_L_SLAVE, N_L_SL_ID, N_L_SL_HOST,
	N_T_ID, N_T_FID, N_T_AID, N_T_STATE, N_STATUSES, N_STATUS, N_S_TS, N_S_HEALTHY,
	N_S_TID, N_CS, N_NIS, N_NI, N_IPS, N_IPA, N_IPA_IP, N_PMS, N_PM, N_PM_H, N_PM_C,
	N_PM_P, N_T_HC, N_CONT, N_DOCKER, N_DISC, N_DPORTS, N_DPA, N_DP, N_DP_NUM, N_DP_PROTO,
	N_DP_LABELS, N_T_LABELS, N_LABELS, N_LABEL, N_L_KEY, N_L_VAL, N_RESS, N_RES, N_RES_NAME,
	N_RANGES, N_RANGEA, N_RANGE, N_R_B, N_R_E, N_LRES_PORTS,
};

/* A task's agent and framework ids as they came: interned (intern.h) only
 * when the task is kept, at its end. */
struct rawstr {
	char *s;
	size_t len, cap;
	int set;
};

struct label_kv {
	char *key;
	const char *val; /* shared (intern.h): a VIP label's value becomes the port's */
};

/* What yajl reports (see set_mode): everything, or only where a skipped
 * subtree opens and closes. */
enum cb_mode { CB_FULL, CB_SKIP };

struct mesos_parser {
	yajl_handle y;
	/* yajl reads its callback table through the pointer it was given at
	 * every event: this copy is switched between the modes. */
	yajl_callbacks cb;
	size_t skip_depth; /* open containers inside the skipped subtree */
	mesos_record_fn fn;
	void *arg;
	char err[256];
	size_t records;
	size_t max_tasks;  /* VIP-carrying tasks kept per record (a bound on memory) */
	struct model *const *live; /* where the live model is (mesos_parser_set_live) */
	size_t rec_tasks;
	/* framing */
	int mode;          /* 0 unknown, 1 JSON values, 2 RecordIO */
	char hdr[16];
	size_t hdrlen, left;
	int broken;
	/* the yajl walk */
	uint8_t stack[MAX_DEPTH];
	uint8_t is_array[MAX_DEPTH];
	int depth;
	uint8_t next; /* node of the value after the last map key */
	/* the current record */
	struct mesos_record rec;
	int legacy_seen;
	int state_seen; /* a get_state object (or legacy arrays) was in the record */
	/* scratch objects */
	struct task *task;      /* task being parsed (&scratch), or NULL */
	struct task scratch;    /* parsed into, then packed when kept */
	struct task *st;        /* status being parsed (&tst or st_heap), or NULL */
	struct task tst;        /* a status of the task being parsed */
	struct task *st_heap;   /* a status outside a task (TASK_UPDATED's: kept) */
	/* What scratch and tst hold, within the parser's bounds: 100,000
	 * tasks are parsed without an allocation each (task_rec_pack makes one
	 * for a task that is kept). */
	struct {
		struct vip_port ports[MAX_VIP_PORTS];
		struct port_mapping maps[MAX_MAPS], smaps[MAX_MAPS], st_smaps[MAX_MAPS];
		struct task_ip ips[MAX_IPS], st_ips[MAX_IPS];
	} buf;
	struct rawstr t_id, t_aid, t_fid;
	int in_status, in_dport, in_recovered;
	char *agent_id, *agent_host, *agent_pid;
	char *fw_id, *fw_name;
	/* discovery port */
	uint16_t dp_num;
	uint8_t dp_proto, dp_bad_proto, dp_host;
	struct label_kv dlabels[MAX_LABELS];
	size_t ndlabels;
	/* task labels */
	struct label_kv tlabels[MAX_LABELS];
	size_t ntlabels;
	char *lkey;
	const char *lval; /* intern.h */
	/* port mapping, ip address */
	struct port_mapping pm;
	int pm_has_proto;
	/* resources */
	uint8_t res_is_ports; /* the resource being parsed is "ports" */
	uint8_t lkey_skip;    /* the label being parsed is none of ours */
	uint32_t rng[MAX_RANGES][2];
	size_t nrng; /* ranges of the resource being parsed */
	uint32_t tports[MAX_RANGES][2];
	size_t ntports;
	uint32_t r_b, r_e;
};

static int key_is(const unsigned char *k, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(k, s, len);
}

static enum node node_child(struct mesos_parser *p, enum node n, const unsigned char *k,
			    size_t l)
{
#define K(s) key_is(k, l, s)
	switch (n) {
	case N_ROOT:
		if (K("type")) return N_TYPE;
		if (K("get_state")) return N_GS;
		if (K("subscribed")) return N_SUB;
		if (K("task_added")) return N_TADD;
		if (K("task_updated")) return N_TUPD;
		if (K("agent_added")) return N_AADD;
		if (K("agent_removed")) return N_AREM;
		if (K("framework_added") || K("framework_updated")) return N_FADD;
		if (K("framework_removed")) return N_FREM;
		if (K("frameworks")) return N_L_FWS;
		if (K("slaves")) return N_L_SLAVES;
		return N_SKIP;
	case N_SUB:
		if (K("get_state")) return N_GS;
		if (K("heartbeat_interval_seconds")) return N_HB;
		return N_SKIP;
	case N_GS:
		if (K("get_tasks")) return N_GT;
		if (K("get_agents")) return N_GA;
		if (K("get_frameworks")) return N_GF;
		return N_SKIP;
	case N_GT:
		/* completed_tasks and orphan_tasks are never backends */
		if (K("tasks") || K("launched_tasks")) return N_TASKS;
		return N_SKIP;
	case N_GA:
		if (K("agents")) return N_AGENTS;
		if (K("recovered_agents")) return N_RAGENTS;
		return N_SKIP;
	case N_AGENT:
		if (K("agent_info")) return N_AINFO;
		if (K("pid")) return N_APID;
		return N_SKIP;
	case N_AINFO:
		if (K("id")) return N_AID;
		if (K("hostname")) return N_AHOST;
		return N_SKIP;
	case N_GF:
		return K("frameworks") ? N_FWS : N_SKIP;
	case N_FW:
		return K("framework_info") ? N_FINFO : N_SKIP;
	case N_FINFO:
		if (K("id")) return N_FID;
		if (K("name")) return N_FNAME;
		return N_SKIP;
	case N_TADD:
		return K("task") ? N_TASK : N_SKIP;
	case N_TUPD:
		if (K("state")) return N_TU_STATE;
		if (K("status")) return N_STATUS;
		return N_SKIP;
	case N_AADD:
		return K("agent") ? N_AGENT : N_SKIP;
	case N_AREM:
		return K("agent_id") ? N_REM_ID : N_SKIP;
	case N_FADD:
		return K("framework") ? N_FW : N_SKIP;
	case N_FREM:
		return K("framework_info") ? N_FINFO : N_SKIP;
	case N_L_FW:
		if (K("id")) return N_L_FW_ID;
		if (K("name")) return N_L_FW_NAME;
		if (K("tasks")) return N_TASKS;
		return N_SKIP;
	case N_L_SLAVE:
		if (K("id")) return N_L_SL_ID;
		if (K("hostname")) return N_L_SL_HOST;
		if (K("pid")) return N_APID;
		return N_SKIP;
	case N_TASK:
		if (K("task_id") || K("id")) return N_T_ID;
		if (K("framework_id")) return N_T_FID;
		if (K("agent_id") || K("slave_id")) return N_T_AID;
		if (K("state")) return N_T_STATE;
		if (K("statuses")) return N_STATUSES;
		if (K("health_check")) return N_T_HC;
		if (K("container")) return N_CONT;
		if (K("discovery")) return N_DISC;
		if (K("labels")) return N_T_LABELS;
		if (K("resources")) return N_RESS;
		return N_SKIP;
	/* {"value": "..."} wrappers: the same node inside */
	case N_T_ID: case N_T_FID: case N_T_AID: case N_AID: case N_FID: case N_REM_ID:
	case N_S_TID:
		return K("value") ? n : N_SKIP;
	case N_STATUS:
		if (K("timestamp")) return N_S_TS;
		if (K("healthy")) return N_S_HEALTHY;
		if (K("container_status")) return N_CS;
		if (K("task_id")) return N_S_TID;
		return N_SKIP;
	case N_CS:
		return K("network_infos") ? N_NIS : N_SKIP;
	case N_NI:
		if (K("ip_addresses")) return N_IPS;
		if (K("port_mappings")) return N_PMS;
		return N_SKIP;
	case N_IPA:
		return K("ip_address") ? N_IPA_IP : N_SKIP;
	case N_PM:
		if (K("host_port")) return N_PM_H;
		if (K("container_port")) return N_PM_C;
		if (K("protocol")) return N_PM_P;
		return N_SKIP;
	case N_CONT:
		if (K("docker")) return N_DOCKER;
		if (K("network_infos")) return N_NIS;
		return N_SKIP;
	case N_DOCKER:
		return K("port_mappings") ? N_PMS : N_SKIP;
	case N_DISC:
		return K("ports") ? N_DPORTS : N_SKIP;
	case N_DPORTS:
		return K("ports") ? N_DPA : N_SKIP;
	case N_DP:
		if (K("number")) return N_DP_NUM;
		if (K("protocol")) return N_DP_PROTO;
		if (K("labels")) return N_DP_LABELS;
		return N_SKIP;
	case N_DP_LABELS: case N_T_LABELS:
		return K("labels") ? N_LABELS : N_SKIP;
	case N_LABEL:
		if (K("key")) return N_L_KEY;
		if (K("value")) return N_L_VAL;
		return N_SKIP;
	case N_RESS: /* state.json: {"ports": "[31000-31001]", ...} */
		return K("ports") ? N_LRES_PORTS : N_SKIP;
	case N_RES:
		if (K("name")) return N_RES_NAME;
		if (K("ranges")) return N_RANGES;
		return N_SKIP;
	case N_RANGES:
		return K("range") ? N_RANGEA : N_SKIP;
	case N_RANGE:
		if (K("begin")) return N_R_B;
		if (K("end")) return N_R_E;
		return N_SKIP;
	default:
		(void)p;
		return N_SKIP;
	}
#undef K
}

static enum node node_elem(enum node arr)
{
	switch (arr) {
	case N_TASKS: return N_TASK;
	case N_AGENTS: return N_AGENT;
	case N_RAGENTS: return N_AINFO;
	case N_FWS: return N_FW;
	case N_L_FWS: return N_L_FW;
	case N_L_SLAVES: return N_L_SLAVE;
	case N_STATUSES: return N_STATUS;
	case N_NIS: return N_NI;
	case N_IPS: return N_IPA;
	case N_PMS: return N_PM;
	case N_DPA: return N_DP;
	case N_LABELS: case N_T_LABELS: return N_LABEL;
	case N_RESS: return N_RES;
	case N_RANGEA: return N_RANGE;
	default: return N_SKIP;
	}
}

static void set_err(struct mesos_parser *p, const char *fmt, const char *a)
{
	if (!p->err[0])
		snprintf(p->err, sizeof(p->err), fmt, a);
}

static char *dupn(const unsigned char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static void setstr(char **dst, const unsigned char *s, size_t len)
{
	free(*dst);
	*dst = dupn(s, len);
}

static int rawstr_set(struct rawstr *r, const unsigned char *s, size_t len)
{
	if (len >= r->cap) {
		size_t cap = len < 64 ? 64 : len + 1;
		char *ns = realloc(r->s, cap);

		if (!ns)
			return r->set = 0, -ENOMEM;
		r->s = ns;
		r->cap = cap;
	}
	memcpy(r->s, s, len);
	r->s[len] = '\0';
	r->len = len;
	r->set = 1;
	return 0;
}

static void labels_clear(struct label_kv *l, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(l[i].key);
		intern_drop(l[i].val);
	}
	*n = 0;
}

/* A status scratch again as new. */
static void status_reset(struct task *st)
{
	free(st->ips);
	free(st->smaps);
	memset(st, 0, sizeof(*st));
	st->healthy = -1;
}

static void rec_reset(struct mesos_parser *p)
{
	model_free(p->rec.m);
	free(p->rec.upd_task_id);
	task_free(p->rec.upd_status);
	free(p->rec.removed_id);
	memset(&p->rec, 0, sizeof(p->rec));
	p->rec_tasks = 0;
	p->legacy_seen = 0;
	p->state_seen = 0;
}

/* The scratch task (or status) empty, its arrays the parser's buffers. */
static void scratch_task_begin(struct mesos_parser *p)
{
	struct task *t = &p->scratch;

	task_clear(t);
	t->borrowed = 1;
	t->ports = p->buf.ports;
	t->maps = p->buf.maps;
	t->smaps = p->buf.smaps;
	t->ips = p->buf.ips;
}

static void scratch_status_begin(struct mesos_parser *p)
{
	struct task *st = &p->tst;

	task_clear(st);
	st->borrowed = 1;
	st->smaps = p->buf.st_smaps;
	st->ips = p->buf.st_ips;
}

static void scratch_reset(struct mesos_parser *p)
{
	scratch_task_begin(p);
	scratch_status_begin(p);
	task_free(p->st_heap);
	p->task = p->st = p->st_heap = NULL;
	p->t_aid.set = p->t_fid.set = 0;
	free(p->agent_id);
	free(p->agent_host);
	free(p->agent_pid);
	free(p->fw_id);
	free(p->fw_name);
	p->agent_id = p->agent_host = p->agent_pid = p->fw_id = p->fw_name = NULL;
	free(p->lkey);
	intern_drop(p->lval);
	p->lkey = NULL;
	p->lval = NULL;
	p->res_is_ports = p->lkey_skip = 0;
	labels_clear(p->dlabels, &p->ndlabels);
	labels_clear(p->tlabels, &p->ntlabels);
	p->in_status = p->in_dport = p->in_recovered = 0;
}

static int is_vip_key(const char *k)
{
	return (k[0] == 'V' || k[0] == 'v') && (k[1] == 'I' || k[1] == 'i') &&
	       (k[2] == 'P' || k[2] == 'p');
}

/* label: from intern(); the port takes a reference of its own. */
static void task_add_port(struct mesos_parser *p, uint8_t proto, int host, uint16_t num,
			  const char *label)
{
	struct task *t = p->task;
	struct vip_port *np;

	if (t->nports >= MAX_VIP_PORTS) {
		report_bad_input("task_too_many_vips", "task %s: more than %d VIP ports",
				 t->id ? t->id : "?", MAX_VIP_PORTS);
		return;
	}
	np = t->ports; /* (the scratch task's: room for MAX_VIP_PORTS) */
	np[t->nports].proto = proto;
	np[t->nports].host_scope = (uint8_t)host;
	np[t->nports].number = num;
	if (!(np[t->nports].label = intern_ref(label)))
		return;
	t->nports++;
}

/* A discovery port closed: its VIP labels become VIP ports of the task. */
static void dport_end(struct mesos_parser *p)
{
	size_t nvip = 0;

	p->dp_host = 0;
	for (size_t i = 0; i < p->ndlabels; i++) {
		if (!strcmp(p->dlabels[i].key, "network-scope"))
			p->dp_host = !strcmp(p->dlabels[i].val, "host");
		else if (is_vip_key(p->dlabels[i].key))
			nvip++;
	}
	if (nvip && p->task) {
		if (!p->dp_proto) {
			report_bad_input("vip_protocol", "task %s: VIP on a port with protocol "
					 "other than tcp/udp", p->task->id ? p->task->id : "?");
		} else if (!p->dp_num) {
			report_bad_input("vip_port_zero", "task %s: VIP on port number 0",
					 p->task->id ? p->task->id : "?");
		} else {
			for (size_t i = 0; i < p->ndlabels; i++)
				if (is_vip_key(p->dlabels[i].key))
					task_add_port(p, p->dp_proto, p->dp_host, p->dp_num,
						      p->dlabels[i].val);
		}
	}
	labels_clear(p->dlabels, &p->ndlabels);
	p->in_dport = 0;
}

/* Legacy VIP_PORT<n> labels: n indexes the task's ports, host ports. */
static void legacy_labels(struct mesos_parser *p)
{
	for (size_t i = 0; i < p->ntlabels; i++) {
		const char *k = p->tlabels[i].key, *v = p->tlabels[i].val, *label;
		char *end;
		unsigned long idx, seen = 0;
		uint8_t proto;
		uint16_t port = 0;

		if (strncasecmp(k, "VIP_PORT", 8) || !isdigit((unsigned char)k[8]))
			continue;
		idx = strtoul(k + 8, &end, 10);
		if (*end || strlen(v) < 6 || strncmp(v + 3, "://", 3) ||
		    !(proto = vip_proto_parse(v, 3))) {
			report_bad_input("vip_port_label", "task %s: bad label %s=%s",
					 p->task->id ? p->task->id : "?", k, v);
			continue;
		}
		for (size_t r = 0; r < p->ntports && !port; r++) {
			uint32_t b = p->tports[r][0], e = p->tports[r][1];

			if (e >= b && idx - seen <= e - b)
				port = (uint16_t)(b + (idx - seen));
			else if (e >= b)
				seen += e - b + 1;
		}
		if (!port) {
			report_bad_input("vip_port_label", "task %s: %s indexes no port",
					 p->task->id ? p->task->id : "?", k);
			continue;
		}
		if ((label = intern_str(v + 6))) {
			task_add_port(p, proto, 1, port, label);
			intern_drop(label);
		}
	}
	labels_clear(p->tlabels, &p->ntlabels);
}

/* The record being parsed is a whole state (as far as it tells yet). */
static int in_snapshot(const struct mesos_parser *p)
{
	return mesos_rec_is_snapshot(p->rec.type) || p->legacy_seen;
}

/*
 * The live model's record of t when a snapshot repeats it unchanged (most
 * of every poll): shared instead of copied, so that parsing the next
 * snapshot beside the live model costs only what changed (and the map).
 * Not for other records (their tasks move into the live model), nor for a
 * task the record already holds (a repeated id), nor past the count's
 * range.
 */
static struct task_rec *live_same(struct mesos_parser *p, const struct task *t)
{
	struct task_rec *l;

	if (!p->live || !*p->live || !in_snapshot(p))
		return NULL;
	l = strmap_get(&(*p->live)->tasks, t->id);
	if (!l || l->extra == UINT8_MAX || !task_same(l, t) || strmap_get(&p->rec.m->tasks, t->id))
		return NULL;
	return l;
}

/* 0 when the record holds more VIP-carrying tasks than the bound: the whole
 * reply is refused (a master that never ends a reply, or a hostile one,
 * must not grow vipd without limit) and the last good table stays. */
static int task_end(struct mesos_parser *p)
{
	struct task *t = p->task;
	struct task_rec *kept;

	legacy_labels(p);
	p->task = NULL;
	p->ntports = 0;
	/* Most tasks of a cluster carry no VIP: dropped, nothing allocated. */
	if (!t->id || !t->nports || t->state == TS_TERMINAL || t->state == TS_UNREACHABLE) {
		task_clear(t);
		return 1;
	}
	if (p->rec_tasks >= p->max_tasks) {
		report_bad_input("master_too_many_tasks",
				 "a master reply holds more than %zu tasks with VIPs: refused",
				 p->max_tasks);
		set_err(p, "%s", "more tasks with VIPs than --max-tasks allows");
		task_clear(t);
		return 0;
	}
	if (!p->t_aid.set || !p->t_fid.set) {
		report_bad_input("task_incomplete", "task %s: no agent_id or framework_id", t->id);
		task_clear(t);
		return 1;
	}
	if (!(t->agent_id = intern(p->t_aid.s, p->t_aid.len)) ||
	    !(t->framework_id = intern(p->t_fid.s, p->t_fid.len)) ||
	    (!p->rec.m && !(p->rec.m = model_new()))) {
		task_clear(t);
		return 1;
	}
	/* A snapshot brings about as many tasks as the live model has (an
	 * event, one or two). */
	if (!p->rec.m->tasks.cap && in_snapshot(p) && p->live && *p->live)
		strmap_presize(&p->rec.m->tasks, (*p->live)->tasks.n);
	if ((kept = live_same(p, t))) {
		kept->extra++;
		task_clear(t);
	} else if (!(kept = task_rec_pack(t))) {
		task_clear(t);
		return 1;
	}
	model_put_rec(p->rec.m, kept);
	p->rec_tasks++;
	return 1;
}

static struct model *rec_model(struct mesos_parser *p)
{
	if (!p->rec.m)
		p->rec.m = model_new();
	return p->rec.m;
}

static void record_end(struct mesos_parser *p)
{
	if (p->rec.type == REC_OTHER && p->legacy_seen)
		p->rec.type = REC_LEGACY;
	if (mesos_rec_is_snapshot(p->rec.type) && !p->state_seen && !p->legacy_seen) {
		/* {"type":"GET_STATE"} alone would be an empty cluster: never apply it. */
		report_bad_input("master_no_state", "%s without a get_state object: ignored",
				 mesos_rec_name(p->rec.type));
		p->records++;
		rec_reset(p);
		return;
	}
	if (mesos_rec_is_snapshot(p->rec.type))
		rec_model(p);
	p->records++;
	p->fn(&p->rec, p->arg);
	rec_reset(p);
}

/* --- yajl callbacks --- */

static void set_mode(struct mesos_parser *p, enum cb_mode m);

/* A value vipd ignores opens: the whole subtree goes by without a callback
 * for its keys and scalars (most of a master's reply; yajl only checks it). */
static int skip_open(struct mesos_parser *p)
{
	if (p->depth + p->skip_depth >= MAX_DEPTH) {
		set_err(p, "%s", "JSON nested too deep");
		return 0;
	}
	if (!p->skip_depth++)
		set_mode(p, CB_SKIP);
	return 1;
}

static int cb_skip_open(void *ctx)
{
	return skip_open(ctx);
}

static int cb_skip_close(void *ctx)
{
	struct mesos_parser *p = ctx;

	if (!--p->skip_depth)
		set_mode(p, CB_FULL);
	return 1;
}

static enum node value_node(struct mesos_parser *p)
{
	if (p->depth == 0)
		return N_ROOT;
	if (p->is_array[p->depth - 1])
		return node_elem((enum node)p->stack[p->depth - 1]);
	return (enum node)p->next;
}

static int push(struct mesos_parser *p, enum node n, int array)
{
	if (p->depth >= MAX_DEPTH) {
		set_err(p, "%s", "JSON nested too deep");
		return 0;
	}
	p->stack[p->depth] = (uint8_t)n;
	p->is_array[p->depth] = (uint8_t)array;
	p->depth++;
	return 1;
}

static int cb_start_map(void *ctx)
{
	struct mesos_parser *p = ctx;
	enum node n = value_node(p);

	switch (n) {
	case N_SKIP:
		return skip_open(p);
	case N_GS:
		p->state_seen = 1;
		break;
	case N_TASK:
		scratch_task_begin(p);
		p->task = &p->scratch;
		p->ntports = 0;
		p->t_aid.set = p->t_fid.set = 0;
		labels_clear(p->tlabels, &p->ntlabels);
		break;
	case N_STATUS:
		if (p->task) {
			scratch_status_begin(p);
			p->st = &p->tst;
		} else {
			/* (one scratch status for all until a record takes it) */
			if (!p->st_heap)
				p->st_heap = task_new();
			else
				status_reset(p->st_heap);
			p->st = p->st_heap;
		}
		p->in_status = 1;
		break;
	case N_DP:
		p->in_dport = 1;
		p->dp_num = 0;
		p->dp_proto = 0;
		labels_clear(p->dlabels, &p->ndlabels);
		break;
	case N_PM:
		memset(&p->pm, 0, sizeof(p->pm));
		p->pm_has_proto = 0;
		break;
	case N_LABEL:
		free(p->lkey);
		intern_drop(p->lval);
		p->lkey = NULL;
		p->lval = NULL;
		p->lkey_skip = 0;
		break;
	case N_RES:
		p->res_is_ports = 0;
		p->nrng = 0;
		break;
	case N_RANGE:
		p->r_b = p->r_e = 0;
		break;
	case N_AGENT: case N_L_SLAVE: case N_AINFO:
		/* (an agent's pid sits beside its agent_info, not inside) */
		if (n != N_AINFO) {
			free(p->agent_pid);
			p->agent_pid = NULL;
		}
		free(p->agent_id);
		free(p->agent_host);
		p->agent_id = p->agent_host = NULL;
		break;
	case N_FINFO: case N_L_FW:
		free(p->fw_id);
		free(p->fw_name);
		p->fw_id = p->fw_name = NULL;
		break;
	case N_T_HC:
		/* that it is there is all that matters: its content is skipped */
		if (p->task)
			p->task->has_health_check = 1;
		return skip_open(p);
	default:
		break;
	}
	return push(p, n, 0);
}

/* Into a borrowed task's buffer (room for MAX_MAPS), else grown. */
static void add_map(const struct task *owner, struct port_mapping **arr, uint8_t *n,
		    const struct port_mapping *pm)
{
	struct port_mapping *na;

	if (*n >= MAX_MAPS) {
		report_bad_input("task_too_many_mappings", "more than %d port mappings on a task",
				 MAX_MAPS);
		return;
	}
	na = owner->borrowed ? *arr : realloc(*arr, (*n + 1) * sizeof(*na));
	if (!na)
		return;
	*arr = na;
	na[(*n)++] = *pm;
}

static void add_label(struct label_kv *l, size_t *n, char **k, const char **v)
{
	if (!*k || !*v)
		return;
	/* (only VIP and network-scope labels get here: the others are not kept) */
	if (*n >= MAX_LABELS) {
		report_bad_input("task_too_many_labels", "more than %d VIP labels on a task or "
				 "port: the rest dropped", MAX_LABELS);
		return;
	}
	l[*n].key = *k;
	l[*n].val = *v;
	*k = NULL;
	*v = NULL;
	(*n)++;
}

/* VIP_PORT<n> labels index the ranges: one past the bound finds no port. */
static void ranges_dropped(void)
{
	report_bad_input("task_too_many_ranges", "more than %d port ranges: the rest dropped",
			 MAX_RANGES);
}

static int cb_end_map(void *ctx)
{
	struct mesos_parser *p = ctx;
	enum node n;

	if (p->depth <= 0)
		return 0;
	n = (enum node)p->stack[--p->depth];
	switch (n) {
	case N_ROOT:
		record_end(p);
		break;
	case N_TASK:
		if (p->task && !task_end(p))
			return 0;
		break;
	case N_STATUS:
		p->in_status = 0;
		if (!p->st)
			break;
		if (p->task) {
			task_copy_status(p->task, p->st);
		} else {
			task_free(p->rec.upd_status);
			p->rec.upd_status = p->st;
			p->st_heap = NULL;
		}
		p->st = NULL;
		break;
	case N_DP:
		dport_end(p);
		break;
	case N_PM:
		if (!p->pm_has_proto)
			p->pm.protos = 1; /* Mesos defaults a mapping to tcp */
		if (!p->pm.host_port || !p->pm.container_port || !p->pm.protos)
			break;
		if (p->in_status && p->st)
			add_map(p->st, &p->st->smaps, &p->st->nsmaps, &p->pm);
		else if (!p->in_status && p->task)
			add_map(p->task, &p->task->maps, &p->task->nmaps, &p->pm);
		break;
	case N_LABEL:
		if (p->in_dport)
			add_label(p->dlabels, &p->ndlabels, &p->lkey, &p->lval);
		else if (p->task)
			add_label(p->tlabels, &p->ntlabels, &p->lkey, &p->lval);
		break;
	case N_RES:
		/* Only the "ports" resource's ranges index VIP_PORT<n> labels. */
		for (size_t i = 0; p->res_is_ports && i < p->nrng; i++) {
			if (p->ntports == MAX_RANGES) {
				ranges_dropped();
				break;
			}
			p->tports[p->ntports][0] = p->rng[i][0];
			p->tports[p->ntports][1] = p->rng[i][1];
			p->ntports++;
		}
		p->nrng = 0;
		break;
	case N_RANGE:
		if (p->nrng == MAX_RANGES) {
			ranges_dropped();
			break;
		}
		p->rng[p->nrng][0] = p->r_b;
		p->rng[p->nrng][1] = p->r_e;
		p->nrng++;
		break;
	case N_AINFO: case N_AGENT: case N_L_SLAVE: {
		int recovered = p->depth >= 1 && p->stack[p->depth - 1] == N_RAGENTS;

		/* A registered agent is complete when its object closes (its pid
		 * may follow agent_info); a recovered one is agent_info alone. */
		if (n == N_AINFO && !recovered)
			break;
		if (p->agent_id && rec_model(p)) {
			model_put_agent(p->rec.m, p->agent_id, p->agent_host, p->agent_pid, recovered);
			if (recovered)
				p->rec.recovered_agents++;
		}
		free(p->agent_id);
		p->agent_id = NULL;
		break;
	}
	case N_FINFO: case N_L_FW:
		if (!p->fw_id)
			break;
		if (p->depth >= 1 && p->stack[p->depth - 1] == N_FREM) {
			free(p->rec.removed_id);
			p->rec.removed_id = p->fw_id;
			p->fw_id = NULL;
		} else if (rec_model(p)) {
			model_put_framework(p->rec.m, p->fw_id, p->fw_name);
		}
		break;
	default:
		break;
	}
	return 1;
}

static int cb_start_array(void *ctx)
{
	struct mesos_parser *p = ctx;
	enum node n = value_node(p);

	if (n == N_SKIP)
		return skip_open(p);
	if (n == N_L_FWS || n == N_L_SLAVES)
		p->legacy_seen = 1;
	return push(p, n, 1);
}

static int cb_end_array(void *ctx)
{
	struct mesos_parser *p = ctx;

	if (p->depth <= 0)
		return 0;
	p->depth--;
	return 1;
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct mesos_parser *p = ctx;
	enum node top = (enum node)p->stack[p->depth - 1];

	p->next = (uint8_t)node_child(p, top, k, len);
	return 1;
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct mesos_parser *p = ctx;
	struct task *t = p->task;
	enum node n;
	uint8_t ip[16];
	int fam;

	n = value_node(p);
	switch (n) {
	case N_TYPE: {
		static const struct {
			const char *name;
			enum mesos_rec t;
		} types[] = {
			{ "GET_STATE", REC_GET_STATE }, { "SUBSCRIBED", REC_SUBSCRIBED },
			{ "HEARTBEAT", REC_HEARTBEAT }, { "TASK_ADDED", REC_TASK_ADDED },
			{ "TASK_UPDATED", REC_TASK_UPDATED }, { "AGENT_ADDED", REC_AGENT_ADDED },
			{ "AGENT_REMOVED", REC_AGENT_REMOVED },
			{ "FRAMEWORK_ADDED", REC_FRAMEWORK_ADDED },
			{ "FRAMEWORK_UPDATED", REC_FRAMEWORK_UPDATED },
			{ "FRAMEWORK_REMOVED", REC_FRAMEWORK_REMOVED },
		};
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (key_is(s, len, types[i].name))
				p->rec.type = types[i].t;
		break;
	}
	case N_T_ID:
		if (!t)
			break;
		/* (a task id with a NUL inside ends there, as it always did) */
		t->id = rawstr_set(&p->t_id, s, len) == 0 ? p->t_id.s : NULL;
		/* the task is put into the model when its object closes */
		if (p->rec.m)
			strmap_prefetch(&p->rec.m->tasks, (const char *)s, len);
		break;
	case N_T_FID: case N_T_AID:
		/* interned at the task's end; its place is loaded meanwhile */
		if (t && rawstr_set(n == N_T_FID ? &p->t_fid : &p->t_aid, s, len) == 0)
			intern_prefetch((const char *)s, len);
		break;
	case N_T_STATE:
		if (t)
			t->state = task_state_parse((const char *)s, len);
		break;
	case N_TU_STATE:
		p->rec.upd_state = task_state_parse((const char *)s, len);
		break;
	case N_S_TID:
		if (!t)
			setstr(&p->rec.upd_task_id, s, len);
		break;
	case N_IPA_IP:
		if (!p->in_status || !p->st)
			break;
		if (p->st->nips >= MAX_IPS) {
			report_bad_input("task_too_many_ips", "more than %d IPs in a task status",
					 MAX_IPS);
			break;
		}
		fam = vip_ip_parse((const char *)s, len, ip);
		if (!fam) {
			report_bad_input("task_ip", "bad task IP address '%.*s'", (int)len, s);
			break;
		} else {
			struct task_ip *ni = p->st->borrowed ? p->st->ips :
					     realloc(p->st->ips, (p->st->nips + 1) * sizeof(*ni));

			if (!ni)
				break;
			p->st->ips = ni;
			ni[p->st->nips].family = (uint8_t)fam;
			memset(ni[p->st->nips].ip, 0, 16);
			memcpy(ni[p->st->nips].ip, ip, (size_t)vip_ip_len((uint8_t)fam));
			p->st->nips++;
		}
		break;
	case N_PM_P:
		p->pm_has_proto = 1;
		p->pm.protos = 0;
		for (size_t i = 0; i + 3 <= len; i++) {
			uint8_t pr = vip_proto_parse((const char *)s + i, 3);

			p->pm.protos |= pr == VIP_TCP ? 1 : pr == VIP_UDP ? 2 : 0;
		}
		break;
	case N_DP_PROTO:
		p->dp_proto = vip_proto_parse((const char *)s, len);
		break;
	case N_L_KEY:
		/* Only VIP labels, network-scope and VIP_PORT<n> matter: the
		 * others (most) are not copied at all. */
		p->lkey_skip = !(len >= 3 && is_vip_key((const char *)s)) &&
			       !key_is(s, len, "network-scope");
		if (!p->lkey_skip)
			setstr(&p->lkey, s, len);
		break;
	case N_L_VAL:
		/* (the key comes first in every master's output) */
		if (p->lkey_skip)
			break;
		intern_drop(p->lval);
		p->lval = intern((const char *)s, len);
		break;
	case N_RES_NAME:
		p->res_is_ports = key_is(s, len, "ports");
		break;
	case N_LRES_PORTS: {
		/* "[31000-31001, 31005-31005]" */
		char buf[4096], *q, *end;

		if (len >= sizeof(buf)) {
			ranges_dropped();
			break;
		}
		memcpy(buf, s, len);
		buf[len] = '\0';
		p->ntports = 0;
		for (q = buf; *q;) {
			unsigned long b, e;

			while (*q && !isdigit((unsigned char)*q))
				q++;
			if (!*q)
				break;
			if (p->ntports == MAX_RANGES) {
				ranges_dropped();
				break;
			}
			b = strtoul(q, &end, 10);
			e = b;
			q = end;
			if (*q == '-') {
				e = strtoul(q + 1, &end, 10);
				q = end;
			}
			p->tports[p->ntports][0] = (uint32_t)b;
			p->tports[p->ntports][1] = (uint32_t)e;
			p->ntports++;
		}
		break;
	}
	case N_AID: case N_L_SL_ID:
		setstr(&p->agent_id, s, len);
		break;
	case N_AHOST: case N_L_SL_HOST:
		setstr(&p->agent_host, s, len);
		break;
	case N_APID:
		setstr(&p->agent_pid, s, len);
		break;
	case N_FID: case N_L_FW_ID:
		setstr(&p->fw_id, s, len);
		break;
	case N_FNAME: case N_L_FW_NAME:
		setstr(&p->fw_name, s, len);
		break;
	case N_REM_ID:
		setstr(&p->rec.removed_id, s, len);
		break;
	default:
		break;
	}
	return 1;
}

/* A plain non-negative integer of up to 9 digits (ports and ranges, nearly
 * always): its value, else -1 (then strtod decides). */
static long small_uint(const char *s, size_t len)
{
	long v = 0;

	if (!len || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Status timestamps (200,000 in a large state) are plain decimals such as
 * "1540582619.254188": their digits fit in 53 bits and the power of ten is
 * an exact double, so one IEEE division rounds exactly as strtod would
 * (Clinger's fast path).
 */
int mesos_decimal(const char *s, size_t len, double *out)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
				      1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };
	uint64_t mant = 0;
	int frac = -1, digits = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || ++digits > 18)
			return -1;
		mant = mant * 10 + (uint64_t)(s[i] - '0');
		if (frac >= 0)
			frac++;
	}
	if (!digits || frac == 0 || mant > (1ull << 53))
		return -1;
	*out = frac > 0 ? (double)mant / p10[frac] : (double)mant;
	return 0;
}

static int cb_number(void *ctx, const char *s, size_t len)
{
	struct mesos_parser *p = ctx;
	enum node n = value_node(p);
	long quick;
	char buf[64];
	double d;

	if (n != N_S_TS && n != N_HB && n != N_PM_H && n != N_PM_C && n != N_DP_NUM &&
	    n != N_R_B && n != N_R_E)
		return 1; /* (most numbers: cpus, mem, nanoseconds...) */
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	quick = small_uint(s, len);
	switch (n) {
	case N_S_TS:
		if (p->st && mesos_decimal(s, len, &p->st->ts) < 0)
			p->st->ts = strtod(buf, NULL);
		break;
	case N_HB:
		p->rec.heartbeat_s = strtod(buf, NULL);
		break;
	case N_PM_H: case N_PM_C: case N_DP_NUM:
		d = quick >= 0 ? (double)quick : strtod(buf, NULL);
		if (d < 0 || d > 65535 || d != (double)(long)d) {
			report_bad_input("port_number", "port number %s out of range", buf);
			d = 0;
		}
		if (n == N_PM_H)
			p->pm.host_port = (uint16_t)d;
		else if (n == N_PM_C)
			p->pm.container_port = (uint16_t)d;
		else
			p->dp_num = (uint16_t)d;
		break;
	case N_R_B: case N_R_E:
		d = quick >= 0 ? (double)quick : strtod(buf, NULL);
		if (d < 0 || d > 65535)
			d = 0;
		if (n == N_R_B)
			p->r_b = (uint32_t)d;
		else
			p->r_e = (uint32_t)d;
		break;
	default:
		break;
	}
	return 1;
}

static int cb_boolean(void *ctx, int b)
{
	struct mesos_parser *p = ctx;

	if (value_node(p) == N_S_HEALTHY && p->st)
		p->st->healthy = (int8_t)!!b;
	return 1;
}

static int cb_null(void *ctx)
{
	(void)ctx;
	return 1;
}

static const yajl_callbacks mode_callbacks[] = {
	[CB_FULL] = {
		.yajl_null = cb_null,
		.yajl_boolean = cb_boolean,
		.yajl_number = cb_number,
		.yajl_string = cb_string,
		.yajl_start_map = cb_start_map,
		.yajl_map_key = cb_map_key,
		.yajl_end_map = cb_end_map,
		.yajl_start_array = cb_start_array,
		.yajl_end_array = cb_end_array,
	},
	[CB_SKIP] = {
		.yajl_start_map = cb_skip_open,
		.yajl_end_map = cb_skip_close,
		.yajl_start_array = cb_skip_open,
		.yajl_end_array = cb_skip_close,
	},
};

static void set_mode(struct mesos_parser *p, enum cb_mode m)
{
	p->cb = mode_callbacks[m];
}

/* --- framing --- */

static int parser_restart(struct mesos_parser *p)
{
	if (p->y)
		yajl_free(p->y);
	p->cb = mode_callbacks[CB_FULL];
	p->skip_depth = 0;
	p->y = yajl_alloc(&p->cb, NULL, p);
	if (!p->y)
		return -ENOMEM;
	yajl_config(p->y, yajl_allow_multiple_values, 1);
	p->depth = 0;
	scratch_reset(p);
	rec_reset(p);
	return 0;
}

struct mesos_parser *mesos_parser_new(mesos_record_fn fn, void *arg)
{
	struct mesos_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fn = fn;
	p->arg = arg;
	p->max_tasks = MESOS_MAX_TASKS;
	if (parser_restart(p) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

void mesos_parser_set_max_tasks(struct mesos_parser *p, size_t n)
{
	p->max_tasks = n;
}

void mesos_parser_set_live(struct mesos_parser *p, struct model *const *live)
{
	p->live = live;
}

void mesos_parser_free(struct mesos_parser *p)
{
	if (!p)
		return;
	if (p->y)
		yajl_free(p->y);
	scratch_reset(p);
	rec_reset(p);
	free(p->t_id.s);
	free(p->t_aid.s);
	free(p->t_fid.s);
	free(p);
}

static int json_feed(struct mesos_parser *p, const unsigned char *buf, size_t len)
{
	if (yajl_parse(p->y, buf, len) != yajl_status_ok) {
		unsigned char *e = yajl_get_error(p->y, 0, buf, len);

		set_err(p, "malformed JSON: %s", e ? (const char *)e : "?");
		if (e)
			yajl_free_error(p->y, e);
		if (!p->err[0])
			set_err(p, "%s", "malformed JSON");
		p->broken = 1;
		return -EBADMSG;
	}
	return 0;
}

static int record_finish(struct mesos_parser *p)
{
	size_t before = p->records;

	if (yajl_complete_parse(p->y) != yajl_status_ok || p->depth || p->skip_depth) {
		set_err(p, "%s", "RecordIO record is not one complete JSON object");
		p->broken = 1;
		return -EBADMSG;
	}
	(void)before;
	return parser_restart(p);
}

int mesos_parser_feed(struct mesos_parser *p, const void *data, size_t len)
{
	const unsigned char *buf = data;
	size_t i = 0;

	if (p->broken)
		return -EBADMSG;
	if (!p->mode) {
		while (i < len && isspace(buf[i]))
			i++;
		if (i == len)
			return 0;
		if (isdigit(buf[i]))
			p->mode = 2;
		else if (buf[i] == '{')
			p->mode = 1;
		else {
			set_err(p, "%s", "not a Mesos master response (expected JSON or RecordIO)");
			p->broken = 1;
			return -EBADMSG;
		}
	}
	if (p->mode == 1)
		return json_feed(p, buf + i, len - i);
	while (i < len) {
		if (!p->left) {
			/* header: decimal length and '\n' */
			unsigned char c = buf[i++];

			if (c == '\n') {
				char *end;
				unsigned long long n;

				if (!p->hdrlen)
					continue; /* tolerate blank lines between records */
				p->hdr[p->hdrlen] = '\0';
				n = strtoull(p->hdr, &end, 10);
				p->hdrlen = 0;
				if (*end || n == 0 || n > (1ull << 34)) {
					set_err(p, "bad RecordIO length '%s'", p->hdr);
					p->broken = 1;
					return -EBADMSG;
				}
				p->left = (size_t)n;
				continue;
			}
			if (c == '\r' && p->hdrlen)
				continue;
			if (!isdigit(c) || p->hdrlen >= 12) {
				set_err(p, "%s", "bad RecordIO header");
				p->broken = 1;
				return -EBADMSG;
			}
			p->hdr[p->hdrlen++] = (char)c;
			continue;
		}
		size_t take = len - i < p->left ? len - i : p->left;

		if (json_feed(p, buf + i, take) < 0)
			return -EBADMSG;
		i += take;
		p->left -= take;
		if (!p->left && record_finish(p) < 0)
			return -EBADMSG;
	}
	return 0;
}

int mesos_parser_finish(struct mesos_parser *p)
{
	if (p->broken)
		return -EBADMSG;
	if (p->mode == 2) {
		if (p->left || p->hdrlen) {
			set_err(p, "%s", "input ends in the middle of a RecordIO record");
			return -EBADMSG;
		}
	} else if (p->mode == 1) {
		if (yajl_complete_parse(p->y) != yajl_status_ok || p->depth || p->skip_depth) {
			set_err(p, "%s", "input ends in the middle of a JSON document");
			return -EBADMSG;
		}
	}
	if (!p->records) {
		set_err(p, "%s", "no master response in the input");
		return -EBADMSG;
	}
	return 0;
}

const char *mesos_parser_error(const struct mesos_parser *p)
{
	return p->err[0] ? p->err : "no error";
}

size_t mesos_parser_records(const struct mesos_parser *p)
{
	return p->records;
}

const char *mesos_rec_name(enum mesos_rec t)
{
	static const char *const names[] = {
		"OTHER", "GET_STATE", "SUBSCRIBED", "LEGACY_STATE", "HEARTBEAT", "TASK_ADDED",
		"TASK_UPDATED", "AGENT_ADDED", "AGENT_REMOVED", "FRAMEWORK_ADDED",
		"FRAMEWORK_UPDATED", "FRAMEWORK_REMOVED",
	};

	return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}
