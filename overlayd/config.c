// SPDX-License-Identifier: Apache-2.0
#include "overlayd/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

enum {
	K_NODE_IP = 256, K_LISTEN, K_SEEDS, K_STATE_DIR, K_ACTIVE, K_PASSIVE, K_PING,
	K_TMIN, K_TMAX, K_SHUFFLE, K_GRACE, K_LINGER, K_KEY, K_TRUST_IDS, K_ARWL, K_PRWL,
	K_EXPIRY, K_SHUF_KA, K_SHUF_KP, K_SHUF_WALK, K_PROBE_K, K_DIGEST, K_GOSSIP_TTL,
};

const struct opt overlayd_opts[] = {
	{ "node-ip", required_argument, K_NODE_IP, "IP",
	  "this node's identity (default: the --listen address)" },
	{ "listen", required_argument, K_LISTEN, "IP:PORT",
	  "TCP address for peers (default 0.0.0.0:61420)" },
	{ "seeds", required_argument, K_SEEDS, "IP[:PORT],...", "nodes to join through (repeatable)" },
	{ "state-dir", required_argument, K_STATE_DIR, "DIR", "where the start epoch is kept" },
	{ "active-size", required_argument, K_ACTIVE, "N", "HyParView active view size (default 5)" },
	{ "passive-size", required_argument, K_PASSIVE, "N", "passive view size (default 30)" },
	{ "active-walk-length", required_argument, K_ARWL, "N",
	  "hops a JOIN's random walk takes before the node is added to an active view "
	  "(HyParView ARWL, 1-16, default 6)" },
	{ "passive-walk-length", required_argument, K_PRWL, "N",
	  "at this many hops left the walk also adds the node to a passive view (PRWL, "
	  "0-16, at most the active walk length, default 3)" },
	{ "shuffle-active", required_argument, K_SHUF_KA, "N",
	  "active view ids a SHUFFLE carries (HyParView ka, 0-6, default 3)" },
	{ "shuffle-passive", required_argument, K_SHUF_KP, "N",
	  "passive view ids a SHUFFLE carries (kp, 0-8, default 4)" },
	{ "shuffle-walk-length", required_argument, K_SHUF_WALK, "N",
	  "hops a SHUFFLE's random walk takes (1-16, default 6)" },
	{ "probe-count", required_argument, K_PROBE_K, "N",
	  "other neighbours asked to ping a suspected peer before its link is severed "
	  "(0-8, default 3)" },
	{ "digest-interval-ms", required_argument, K_DIGEST, "MS",
	  "anti-entropy period: a digest of every record to one neighbour "
	  "(1000-3600000, default 30000)" },
	{ "gossip-ttl", required_argument, K_GOSSIP_TTL, "N",
	  "hops an adjacency record is flooded (1-64, default 32; at least the "
	  "cluster's diameter)" },
	{ "record-expiry-s", required_argument, K_EXPIRY, "S",
	  "forget a node unreachable and unheard of this long (10-604800, default 600)" },
	{ "ping-interval-ms", required_argument, K_PING, "MS",
	  "ping period per link and side (default 100)" },
	{ "ping-timeout-min-ms", required_argument, K_TMIN, "MS", "timeout floor (default 120)" },
	{ "ping-timeout-max-ms", required_argument, K_TMAX, "MS", "timeout ceiling (default 2000)" },
	{ "shuffle-interval-ms", required_argument, K_SHUFFLE, "MS", "shuffle period (default 10000)" },
	{ "orphan-grace-ms", required_argument, K_GRACE, "MS",
	  "keep a pathless node nobody accuses reachable this long (default 500)" },
	{ "linger-ms", required_argument, K_LINGER, "MS",
	  "keep advertising a live peer dropped from the view until it relinks, while it answers "
	  "pings, at most this long (default 2000)" },
	{ "cluster-key-file", required_argument, K_KEY, "FILE",
	  "shared secret every peer must prove it holds (default: none, open)" },
	{ "trust-peer-ids", no_argument, K_TRUST_IDS, NULL,
	  "without a cluster key, accept peers whose identity is not their source address "
	  "(NAT between nodes; default: refused)" },
	{ NULL, 0, 0, NULL, NULL },
};

void overlayd_cfg_init(struct overlayd_cfg *c)
{
	memset(c, 0, sizeof(*c));
	node_parse("0.0.0.0", OVERLAY_DEFAULT_PORT, &c->listen);
	overlay_params_default(&c->p);
}

static const char *add_seeds(struct overlayd_cfg *c, const char *value)
{
	char *copy = strdup(value), *save = NULL, *tok;
	const char *why = NULL;

	if (!copy)
		return "out of memory";
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (c->n_seeds >= OVERLAY_MAX_SEEDS) {
			why = "too many seeds";
			break;
		}
		if (node_parse(tok, OVERLAY_DEFAULT_PORT, &c->seeds[c->n_seeds]) < 0) {
			why = "not an IP[:PORT] list";
			break;
		}
		c->n_seeds++;
	}
	free(copy);
	return why;
}

/* An unsigned option within [lo, hi] into *out; NULL or why not. */
static const char *uint_param(const char *value, unsigned long lo, unsigned long hi, unsigned *out)
{
	unsigned long v;
	const char *why = opt_uint(value, lo, hi, &v);

	if (!why)
		*out = (unsigned)v;
	return why;
}

const char *overlayd_cfg_apply(int key, const char *value, void *ctx)
{
	struct overlayd_cfg *c = ctx;
	unsigned long v;
	const char *why;

	switch (key) {
	case K_NODE_IP:
		return node_parse(value, 0, &c->self) < 0 ? "not an IP address" : NULL;
	case K_LISTEN:
		return node_parse(value, OVERLAY_DEFAULT_PORT, &c->listen) < 0 ? "not IP[:PORT]" : NULL;
	case K_SEEDS:
		return add_seeds(c, value);
	case K_STATE_DIR:
		c->state_dir = value;
		return NULL;
	case K_ACTIVE:
		if ((why = opt_uint(value, 1, OVERLAY_MAX_ACTIVE, &v)))
			return why;
		c->p.active_max = (unsigned)v;
		return NULL;
	case K_PASSIVE:
		if ((why = opt_uint(value, 0, OVERLAY_MAX_PASSIVE, &v)))
			return why;
		c->p.passive_max = (unsigned)v;
		return NULL;
	case K_PING:
		if ((why = opt_uint(value, 10, 60000, &v)))
			return why;
		c->p.ping_ms = (unsigned)v;
		return NULL;
	case K_TMIN:
		if ((why = opt_uint(value, 10, 60000, &v)))
			return why;
		c->p.rtt.floor_us = (uint32_t)v * 1000;
		return NULL;
	case K_TMAX:
		if ((why = opt_uint(value, 10, 600000, &v)))
			return why;
		c->p.rtt.ceil_us = (uint32_t)v * 1000;
		return NULL;
	case K_SHUFFLE:
		if ((why = opt_uint(value, 100, 3600000, &v)))
			return why;
		c->p.shuffle_ms = (unsigned)v;
		return NULL;
	case K_KEY:
		frame_key_free(c->key);
		c->key = NULL;
		return overlayd_key_load(value, &c->key);
	case K_GRACE:
		if ((why = opt_uint(value, 0, 600000, &v)))
			return why;
		c->p.grace_ms = (unsigned)v;
		return NULL;
	case K_LINGER:
		if ((why = opt_uint(value, 0, 60000, &v)))
			return why;
		c->p.linger_ms = (unsigned)v;
		return NULL;
	case K_TRUST_IDS:
		c->trust_ids = 1;
		return NULL;
	case K_ARWL:
		if ((why = opt_uint(value, 1, 16, &v)))
			return why;
		c->p.arwl = (unsigned)v;
		return NULL;
	case K_PRWL:
		if ((why = opt_uint(value, 0, 16, &v)))
			return why;
		c->p.prwl = (unsigned)v;
		return NULL;
	case K_EXPIRY:
		if ((why = opt_uint(value, 10, 604800, &v)))
			return why;
		c->p.expire_ms = (unsigned)v * 1000;
		return NULL;
	case K_SHUF_KA:
		return uint_param(value, 0, 6, &c->p.ka);
	case K_SHUF_KP:
		return uint_param(value, 0, 8, &c->p.kp);
	case K_SHUF_WALK:
		return uint_param(value, 1, 16, &c->p.shuffle_walk);
	case K_PROBE_K:
		return uint_param(value, 0, 8, &c->p.probe_k);
	case K_DIGEST:
		return uint_param(value, 1000, 3600000, &c->p.digest_ms);
	case K_GOSSIP_TTL:
		return uint_param(value, 1, 64, &c->p.gossip_ttl);
	}
	return "unknown option";
}

const char *overlayd_key_load(const char *path, struct frame_key **out)
{
	static char why[160];
	unsigned char buf[FRAME_KEY_MAX + 2];
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(why, sizeof(why), "cannot open %.100s: %s", path, strerror(errno));
		return why;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		log_warn("overlayd: %s is readable by others than its owner", path);
	while (len < sizeof(buf) && (r = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, sizeof(why), "cannot read %.100s: %s", path, strerror(errno));
			close(fd);
			return why;
		}
		len += (size_t)r;
	}
	close(fd);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		len--;
	if (len < FRAME_KEY_MIN || len > FRAME_KEY_MAX) {
		snprintf(why, sizeof(why), "%.100s: the key must be %d to %d bytes", path,
			 FRAME_KEY_MIN, FRAME_KEY_MAX);
		return why;
	}
	*out = frame_key_new(buf, len);
	memset(buf, 0, sizeof(buf));
	return *out ? NULL : "out of memory";
}

void overlayd_cfg_free(struct overlayd_cfg *c)
{
	frame_key_free(c->key);
	c->key = NULL;
}

/* The first IPv4 address of an interface that is up and not loopback
 * (127.0.0.1 when there is none): the identity when none is configured. */
static void guess_node_ip(struct node_id *out)
{
	struct ifaddrs *ifa, *i;

	node_parse("127.0.0.1", 0, out);
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		memcpy(out->ip, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		out->len = 4;
		break;
	}
	freeifaddrs(ifa);
}

const char *overlayd_cfg_finish(struct overlayd_cfg *c)
{
	static const uint8_t zero[16];

	if (!c->self.len) {
		if (!memcmp(c->listen.ip, zero, c->listen.len)) {
			guess_node_ip(&c->self);
			/* peers refuse a node whose identity is not the address
			 * it connects from: a wrong guess must be easy to spot */
			log_warn("no --node-ip: guessed this node's identity %s (the first up "
				 "non-loopback IPv4 address); set node-ip in [overlayd]",
				 node_ip_str(&c->self, (char[NODE_STR_MAX]){ 0 }));
		} else
			c->self = c->listen;
	}
	c->self.port = c->listen.port;
	if (c->p.rtt.floor_us > c->p.rtt.ceil_us)
		return "--ping-timeout-min-ms is above --ping-timeout-max-ms";
	/* the passive step is taken on the way down the active walk */
	if (c->p.prwl > c->p.arwl)
		return "--passive-walk-length is above --active-walk-length";
	c->p.seed = (uint32_t)(clock_mono_us() ^ ((uint64_t)getpid() << 16) ^ c->self.ip[3]);
	return NULL;
}

int overlayd_epoch_save(const char *dir, uint64_t epoch)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/epoch", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w"))) {
		log_error("epoch: cannot write %s: %s", tmp, strerror(errno));
		return -errno;
	}
	fprintf(f, "%llu\n", (unsigned long long)epoch);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;

		log_error("epoch: cannot write %s: %s", tmp, strerror(e));
		fclose(f);
		return -e;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		log_error("epoch: cannot rename %s: %s", tmp, strerror(errno));
		return -errno;
	}
	return 0;
}

uint64_t overlayd_epoch_bump(const char *dir)
{
	char path[4096], buf[32] = { 0 };
	unsigned long long e = 0;
	FILE *f;

	if (!dir)
		return clock_real_ms();
	snprintf(path, sizeof(path), "%s/epoch", dir);
	if ((f = fopen(path, "r"))) {
		if (fgets(buf, sizeof(buf), f))
			e = strtoull(buf, NULL, 10);
		fclose(f);
	}
	/* Only a forged record taken over or a damaged file gets here (gossip.c
	 * takes over none this high); past ADJ_VERSION_MAX every peer would
	 * refuse our records without a word, so say it and do not start. */
	if (e >= ADJ_VERSION_MAX / 2) {
		log_error("epoch: %s holds %llu, beyond any real count of starts: remove it",
			  path, e);
		return 0;
	}
	e++;
	return overlayd_epoch_save(dir, e) < 0 ? 0 : e;
}
