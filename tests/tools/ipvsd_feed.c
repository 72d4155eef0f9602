// SPDX-License-Identifier: Apache-2.0
/*
 * Stands in for vipd and overlayd in ipvsd's tests and benchmark:
 *   ipvsd_feed RUN_DIR SPEC_FILE
 * publishes the VIP table (and reachability) described in SPEC_FILE on
 * RUN_DIR/vipd.pub and overlayd.pub, with each change's VipTableDelta on
 * vipd.delta.pub as vipd does, and publishes again with the next
 * generation whenever the file changes (polled every 50 ms). SPEC_FILE lines:
 *   vip tcp|udp VIP PORT BACKEND[@AGENT][=TASK][#WEIGHT]...
 *                                             BACKEND and TASK (a port-mapped
 *                                             task's own address) are ip:port
 *                                             or [ip6]:port; WEIGHT 1 unless
 *                                             given
 *   gen NSVC NDEST [agents]                   NSVC services 11.x.y.z:80 with
 *                                             NDEST backends 10.x.y.z:8080 each;
 *                                             with "agents", backend j runs on
 *                                             node (agent) 10.0.0.(j+1)
 *   reach AGENT...                            publish reachability (else none)
 *   gap                                       publish no delta for this
 *                                             generation (readers must resync)
 *   garbage                                   publish bytes that are no
 *                                             envelope instead of the delta
 *   epoch N                                   publisher epoch (default 1)
 *   nodelta                                   close vipd.delta.pub for good
 *                                             (a vipd from before deltas)
 * Prints "published vip gen=G vips=N at=HH:MM:SS.mmm sent=HH:MM:SS.mmm" after
 * each change (the times as in the daemons' log lines, to measure snapshot ->
 * kernel): at, when the change was read (its packing counts); sent, when its
 * delta went out (ipvsd's side alone).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/daemon.h"
#include "common/log.h"

struct feed {
	struct event_base *base;
	struct ipc_pub *vpub, *rpub, *dpub;
	struct packed_vip *prev; /* the last table's VIPs, sorted by key */
	size_t nprev;
	uint64_t epoch; /* of the last table */
	const char *path;
	char *text;
	uint64_t gen;
};

struct addr {
	size_t len;
	uint8_t a[16];
};

/* One VIP packed, keyed by what identifies it. */
struct packed_vip {
	uint8_t key[1 + 16 + 4]; /* protocol, address (zero-padded), port */
	uint8_t *bytes;
	size_t len;
	L4lb__V1__Vip *v;
};

static int packed_cmp(const void *a, const void *b)
{
	return memcmp(((const struct packed_vip *)a)->key, ((const struct packed_vip *)b)->key,
		      sizeof(((const struct packed_vip *)a)->key));
}

static struct packed_vip *pack_vips(const L4lb__V1__VipTable *t)
{
	struct packed_vip *p = calloc(t->n_vips + 1, sizeof(*p));

	for (size_t i = 0; i < t->n_vips; i++) {
		L4lb__V1__Vip *v = t->vips[i];

		p[i].key[0] = (uint8_t)v->protocol;
		memcpy(p[i].key + 1, v->ip.data, v->ip.len);
		memcpy(p[i].key + 17, &v->port, 4);
		p[i].len = l4lb__v1__vip__get_packed_size(v);
		p[i].bytes = malloc(p[i].len + 1);
		l4lb__v1__vip__pack(v, p[i].bytes);
		p[i].v = v;
	}
	qsort(p, t->n_vips, sizeof(*p), packed_cmp);
	return p;
}

/* The delta from the last table to t, as vipd makes it, into out (left
 * empty for a gap). */
static void make_delta(struct feed *f, const L4lb__V1__VipTable *t, int gap, struct ipc_buf *out)
{
	uint64_t epoch = t->publisher_epoch;
	L4lb__V1__VipTableDelta d = L4LB__V1__VIP_TABLE_DELTA__INIT;
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	struct packed_vip *next = pack_vips(t);
	/* as vipd: a delta from the last table of the same epoch, else (the
	 * first table, a new epoch) a heartbeat, base = generation, that
	 * carries nothing (readers fetch the snapshot) */
	int based = f->prev && f->epoch == epoch;
	size_t i = 0, j = 0;

	d.upserted = calloc(t->n_vips + 1, sizeof(*d.upserted));
	d.removed = calloc(f->nprev + 1, sizeof(*d.removed));
	while (based && (i < f->nprev || j < t->n_vips)) {
		int c = i == f->nprev ? 1 : j == t->n_vips ? -1 : packed_cmp(&f->prev[i], &next[j]);

		if (c < 0) {
			L4lb__V1__VipKey *k = calloc(1, sizeof(*k));

			l4lb__v1__vip_key__init(k);
			k->has_protocol = k->has_ip = k->has_port = 1;
			k->protocol = f->prev[i].v->protocol;
			k->ip = f->prev[i].v->ip;
			k->port = f->prev[i].v->port;
			d.removed[d.n_removed++] = k;
		} else if (c > 0 || f->prev[i].len != next[j].len ||
			   memcmp(f->prev[i].bytes, next[j].bytes, next[j].len)) {
			d.upserted[d.n_upserted++] = next[j].v;
		}
		i += c <= 0;
		j += c >= 0;
	}
	d.has_publisher_epoch = d.has_base_generation = d.has_generation = 1;
	d.publisher_epoch = epoch;
	d.generation = f->gen;
	d.base_generation = based ? f->gen - 1 : f->gen;
	f->epoch = epoch;
	f->prev = next; /* (leaked, as the tables are) */
	f->nprev = t->n_vips;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE_DELTA;
	env.vip_table_delta = &d;
	if (gap || envelope_pack(&env, out) < 0)
		*out = (struct ipc_buf){ 0 };
}

static int parse_ip(const char *s, struct addr *out)
{
	if (inet_pton(AF_INET, s, out->a) == 1)
		out->len = 4;
	else if (inet_pton(AF_INET6, s, out->a) == 1)
		out->len = 16;
	else
		return -1;
	return 0;
}

/* "10.0.0.1:80" or "[fd00::1]:80" into ip and *port (s is cut up). */
static int parse_ip_port(char *s, struct addr *ip, uint32_t *port)
{
	char *colon;

	if (*s == '[') {
		char *end = strchr(s, ']');

		if (!end)
			return -1;
		*end = 0;
		colon = end + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (colon)
			*colon = 0;
	}
	if (!colon || parse_ip(s, ip) < 0)
		return -1;
	if (*colon == 0)
		colon++;
	if (*colon == ':')
		colon++;
	*port = (uint32_t)atoi(colon);
	return 0;
}

/* "10.0.0.1:80" or "[fd00::1]:80", optionally "@agent", then optionally
 * "=task_ip:task_port" (a port-mapped task's own address), then "#weight". */
static int parse_backend(char *s, L4lb__V1__Backend *b)
{
	char *hash = strchr(s, '#'), *task, *at;
	struct addr *ip = calloc(3, sizeof(*ip));

	if (hash)
		*hash++ = 0;
	task = strchr(s, '=');
	if (task)
		*task++ = 0;
	at = strchr(s, '@');
	if (at)
		*at++ = 0;
	l4lb__v1__backend__init(b);
	if (parse_ip_port(s, &ip[0], &b->port) < 0)
		return -1;
	b->has_ip = b->has_port = b->has_weight = 1;
	b->ip = (ProtobufCBinaryData){ ip[0].len, ip[0].a };
	b->weight = hash ? (uint32_t)atoi(hash) : 1;
	if (at && parse_ip(at, &ip[1]) == 0) {
		b->has_agent_ip = 1;
		b->agent_ip = (ProtobufCBinaryData){ ip[1].len, ip[1].a };
	}
	if (task && parse_ip_port(task, &ip[2], &b->task_port) == 0) {
		b->has_task_ip = b->has_task_port = 1;
		b->task_ip = (ProtobufCBinaryData){ ip[2].len, ip[2].a };
	}
	return 0;
}

static L4lb__V1__Vip *new_vip(int proto, const struct addr *ip, unsigned port)
{
	L4lb__V1__Vip *v = calloc(1, sizeof(*v));
	uint8_t *a = malloc(16);

	l4lb__v1__vip__init(v);
	memcpy(a, ip->a, 16);
	v->has_protocol = v->has_ip = v->has_port = v->has_family = 1;
	v->protocol = proto;
	v->family = ip->len == 4 ? L4LB__V1__FAMILY__INET : L4LB__V1__FAMILY__INET6;
	v->ip = (ProtobufCBinaryData){ ip->len, a };
	v->port = port;
	return v;
}

static void add_backend(L4lb__V1__Vip *v, L4lb__V1__Backend *b)
{
	v->backends = realloc(v->backends, (v->n_backends + 1) * sizeof(*v->backends));
	v->backends[v->n_backends++] = b;
}

static void gen_table(L4lb__V1__VipTable *t, size_t nsvc, size_t ndest, int agents)
{
	t->vips = realloc(t->vips, (t->n_vips + nsvc) * sizeof(*t->vips));
	for (size_t i = 0; i < nsvc; i++) {
		struct addr vip = { .len = 4, .a = { 11, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
						     (uint8_t)i } };
		L4lb__V1__Vip *v = new_vip(L4LB__V1__PROTOCOL__TCP, &vip, 80);

		for (size_t j = 0; j < ndest; j++) {
			L4lb__V1__Backend *b = calloc(1, sizeof(*b));
			uint8_t *ip = malloc(4);

			l4lb__v1__backend__init(b);
			ip[0] = 10;
			ip[1] = (uint8_t)(j + 1);
			ip[2] = (uint8_t)(i >> 8);
			ip[3] = (uint8_t)i;
			b->has_ip = b->has_port = b->has_weight = 1;
			b->ip = (ProtobufCBinaryData){ 4, ip };
			b->port = 8080;
			b->weight = 1;
			if (agents) {
				uint8_t *ag = malloc(4);

				ag[0] = 10, ag[1] = 0, ag[2] = 0, ag[3] = (uint8_t)(j + 1);
				b->has_agent_ip = 1;
				b->agent_ip = (ProtobufCBinaryData){ 4, ag };
			}
			add_backend(v, b);
		}
		t->vips[t->n_vips++] = v;
	}
}

static void publish(struct feed *f, char *text)
{
	L4lb__V1__VipTable t = L4LB__V1__VIP_TABLE__INIT;
	L4lb__V1__Reachability r = L4LB__V1__REACHABILITY__INIT;
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	struct ipc_buf buf = { 0 }, delta = { 0 };
	int have_reach = 0, gap = 0, garbage = 0;
	uint64_t epoch = 1;
	char *line, *save = NULL, when[32], sent_when[32];
	struct timespec ts, sent;
	struct tm tm;

	f->gen++;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *s2 = NULL, *w[256];
		int n = 0;

		for (tok = strtok_r(line, " \t", &s2); tok && n < 256; tok = strtok_r(NULL, " \t", &s2))
			w[n++] = tok;
		if (n == 1 && !strcmp(w[0], "gap")) {
			gap = 1;
		} else if (n == 1 && !strcmp(w[0], "nodelta")) {
			ipc_pub_close(f->dpub); /* NULL-safe */
			f->dpub = NULL;
		} else if (n == 1 && !strcmp(w[0], "garbage")) {
			garbage = 1;
		} else if (n == 2 && !strcmp(w[0], "epoch")) {
			epoch = strtoull(w[1], NULL, 10);
		} else if (n >= 3 && !strcmp(w[0], "gen")) {
			gen_table(&t, (size_t)atol(w[1]), (size_t)atol(w[2]),
				  n >= 4 && !strcmp(w[3], "agents"));
		} else if (n >= 1 && !strcmp(w[0], "reach")) {
			have_reach = 1;
			for (int i = 1; i < n; i++) {
				struct addr *a = calloc(1, sizeof(*a));

				if (parse_ip(w[i], a) < 0)
					continue;
				r.reachable = realloc(r.reachable,
						      (r.n_reachable + 1) * sizeof(*r.reachable));
				r.reachable[r.n_reachable++] = (ProtobufCBinaryData){ a->len, a->a };
			}
		} else if (n >= 4 && !strcmp(w[0], "vip")) {
			struct addr ip;
			L4lb__V1__Vip *v;

			if (parse_ip(w[2], &ip) < 0)
				continue;
			v = new_vip(!strcmp(w[1], "udp") ? L4LB__V1__PROTOCOL__UDP
							 : L4LB__V1__PROTOCOL__TCP,
				    &ip, (unsigned)atoi(w[3]));
			for (int i = 4; i < n; i++) {
				L4lb__V1__Backend *b = calloc(1, sizeof(*b));

				if (parse_backend(w[i], b) == 0)
					add_backend(v, b);
			}
			t.vips = realloc(t.vips, (t.n_vips + 1) * sizeof(*t.vips));
			t.vips[t.n_vips++] = v;
		}
	}
	/* (the test tool leaks its tables: it lives for one test) */
	/* taken before packing: the latency measured includes it */
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	t.has_generation = t.has_publisher_epoch = 1;
	t.generation = f->gen;
	t.publisher_epoch = epoch;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &t;
	/* all the packing first, then the delta: in the (emulated, busy) VM the
	 * reader's apply is not slowed by the feeder's work */
	make_delta(f, &t, gap, &delta);
	if (garbage && delta.data) /* a length-delimited field 15 of no Envelope */
		memcpy(delta.data, "\x7a\x7f\x01", delta.len < 3 ? delta.len : 3);
	if (envelope_pack(&env, &buf) < 0)
		buf = (struct ipc_buf){ 0 };
	/* the delta goes out now: what ipvsd's side of a change is timed from */
	clock_gettime(CLOCK_REALTIME, &sent);
	if (delta.data && f->dpub)
		ipc_pub_set(f->dpub, &delta);
	else
		free(delta.data);
	if (buf.data)
		ipc_pub_set(f->vpub, &buf);
	if (have_reach) {
		r.has_generation = r.has_publisher_epoch = 1;
		r.generation = f->gen;
		r.publisher_epoch = 1;
		env = (Envelope)L4LB__V1__ENVELOPE__INIT;
		env.has_type = 1;
		env.type = L4LB__V1__ENVELOPE__TYPE__REACHABILITY;
		env.reachability = &r;
		buf = (struct ipc_buf){ 0 };
		if (envelope_pack(&env, &buf) == 0)
			ipc_pub_set(f->rpub, &buf);
	}
	localtime_r(&sent.tv_sec, &tm);
	strftime(sent_when, sizeof(sent_when), "%H:%M:%S", &tm);
	printf("published vip gen=%llu vips=%zu at=%s.%03ld sent=%s.%03ld\n",
	       (unsigned long long)f->gen, t.n_vips, when, ts.tv_nsec / 1000000, sent_when,
	       sent.tv_nsec / 1000000);
	fflush(stdout);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	FILE *in = fopen(f->path, "r");
	char *text = NULL;
	size_t cap = 0;
	ssize_t n;

	(void)fd;
	(void)what;
	if (!in)
		return;
	n = getdelim(&text, &cap, 0, in);
	fclose(in);
	if (n < 0 || (f->text && !strcmp(f->text, text))) {
		free(text);
		return;
	}
	free(f->text);
	f->text = strdup(text);
	publish(f, text);
	free(text);
}

int main(int argc, char **argv)
{
	struct feed f = { 0 };
	char url[256];
	struct ipc_server *vrep, *rrep;
	struct event *ev;
	struct timeval tv = { 0, 50000 };

	if (argc != 3) {
		fprintf(stderr, "usage: %s RUN_DIR SPEC_FILE\n", argv[0]);
		return 2;
	}
	log_init("ipvsd_feed", LOG_LVL_WARN);
	f.path = argv[2];
	f.base = event_base_new();
	daemon_make_run_dir(argv[1]);
	ipc_url(url, sizeof(url), argv[1], "vipd", "rep");
	vrep = ipc_server_open(f.base, url);
	ipc_url(url, sizeof(url), argv[1], "vipd", "pub");
	f.vpub = vrep ? ipc_pub_open(f.base, url, vrep, 1000) : NULL;
	ipc_url(url, sizeof(url), argv[1], "vipd", "delta.pub");
	f.dpub = ipc_pub_open(f.base, url, NULL, 1000);
	ipc_url(url, sizeof(url), argv[1], "overlayd", "rep");
	rrep = ipc_server_open(f.base, url);
	ipc_url(url, sizeof(url), argv[1], "overlayd", "pub");
	f.rpub = rrep ? ipc_pub_open(f.base, url, rrep, 1000) : NULL;
	if (!f.vpub || !f.rpub || !f.dpub)
		return 1;
	ev = event_new(f.base, -1, EV_PERSIST, on_poll, &f);
	event_add(ev, &tv);
	event_base_dispatch(f.base);
	return 0;
}
