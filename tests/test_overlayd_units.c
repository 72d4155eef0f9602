// SPDX-License-Identifier: Apache-2.0
/* overlayd's pure parts one by one: node ids, the RTT window and timeout,
 * record versioning and dedup, reachability, the epoch and key files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <netinet/in.h>

#include "overlayd/adjacency.h"
#include "overlayd/config.h"
#include "overlayd/net.h"
#include "overlayd/node.h"
#include "overlayd/rtt.h"
#include "tests/overlayd_test_node.h"

static void test_node_parse(void **state)
{
	struct node_id n;
	char b[NODE_STR_MAX];

	(void)state;
	assert_int_equal(node_parse("10.1.2.3", 61420, &n), 0);
	assert_string_equal(node_str(&n, b), "10.1.2.3:61420");
	assert_int_equal(node_parse("10.1.2.3:99", 61420, &n), 0);
	assert_int_equal(n.port, 99);
	assert_int_equal(node_parse("[fd00::1]:7", 1, &n), 0);
	assert_int_equal(n.len, 16);
	assert_string_equal(node_str(&n, b), "[fd00::1]:7");
	assert_int_equal(node_parse("fd00::2", 5, &n), 0);
	assert_int_equal(n.port, 5);
	assert_int_equal(node_parse("10.1.2.3:0", 1, &n), -EINVAL);
	assert_int_equal(node_parse("10.1.2.3:70000", 1, &n), -EINVAL);
	assert_int_equal(node_parse("host.example", 1, &n), -EINVAL);
	assert_int_equal(node_parse("", 1, &n), -EINVAL);
	assert_int_equal(node_parse("[fd00::1", 1, &n), -EINVAL);
}

static void test_node_pb_validation(void **state)
{
	PbNodeId pb = L4LB__OVERLAY__V1__NODE_ID__INIT;
	uint8_t ip[5] = { 1, 2, 3, 4, 5 };
	struct node_id n;

	(void)state;
	assert_int_equal(node_from_pb(NULL, &n), -EINVAL);
	pb.has_ip = 1;
	pb.ip.data = ip;
	pb.ip.len = 5;
	pb.has_port = 1;
	pb.port = 1;
	assert_int_equal(node_from_pb(&pb, &n), -EINVAL);
	pb.ip.len = 4;
	assert_int_equal(node_from_pb(&pb, &n), 0);
	pb.port = 70000;
	assert_int_equal(node_from_pb(&pb, &n), -EINVAL);
}

/* The open-mode identity comparison: a node's identity is one address,
 * and an IPv4-mapped form of an IPv4 address is that IPv4 node. */
static void test_node_identity_forms(void **state)
{
	struct node_id v4, mapped, v6, ll, src;
	PbNodeId pb;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	char b[NODE_STR_MAX];

	(void)state;
	assert_int_equal(node_parse("10.1.2.3", 61420, &v4), 0);
	/* --node-ip ::ffff:10.1.2.3 is the IPv4 node (a dual-stack socket
	 * reports its peers that way) */
	assert_int_equal(node_parse("[::ffff:10.1.2.3]:61420", 1, &mapped), 0);
	assert_int_equal(mapped.len, 4);
	assert_true(node_eq(&mapped, &v4));
	assert_string_equal(node_str(&mapped, b), "10.1.2.3:61420");
	assert_int_equal(node_identity_check(&mapped, &v4), 0);
	/* the same from a peer's message */
	mapped.len = 16;
	memset(mapped.ip, 0, 10);
	mapped.ip[10] = mapped.ip[11] = 0xff;
	memcpy(mapped.ip + 12, v4.ip, 4);
	node_to_pb(&mapped, &pb);
	assert_int_equal(node_from_pb(&pb, &src), 0);
	assert_int_equal(src.len, 4);
	assert_true(node_eq(&src, &v4));
	/* and from a dual-stack socket's peer address */
	memcpy(&s6.sin6_addr, mapped.ip, 16);
	assert_int_equal(node_from_sockaddr((struct sockaddr *)&s6, sizeof(s6), &src), 0);
	assert_int_equal(node_identity_check(&v4, &src), 0);
	/* another address, or the other family, is refused, and told apart */
	assert_int_equal(node_parse("10.1.2.4", 1, &src), 0);
	assert_int_equal(node_identity_check(&v4, &src), -EADDRNOTAVAIL);
	assert_int_equal(node_parse("fd00::3", 1, &v6), 0);
	assert_int_equal(node_identity_check(&v6, &v4), -EAFNOSUPPORT);
	assert_int_equal(node_identity_check(&v4, &v6), -EAFNOSUPPORT);
	/* only fe80::/10 needs a scope */
	assert_int_equal(node_parse("fe80::1", 1, &ll), 0);
	assert_true(node_is_link_local(&ll));
	assert_int_equal(node_parse("febf::1", 1, &ll), 0);
	assert_true(node_is_link_local(&ll));
	assert_int_equal(node_parse("fec0::1", 1, &ll), 0);
	assert_false(node_is_link_local(&ll));
	assert_false(node_is_link_local(&v6));
	assert_false(node_is_link_local(&v4));
}

static void test_rtt_window_percentile_and_timeout(void **state)
{
	struct rtt_window w = { 0 };
	struct rtt_params p = { .floor_us = 100000, .ceil_us = 2000000, .initial_us = 500000,
				.margin_us = 20000, .factor = 4, .pct = 99 };
	uint32_t s[RTT_WINDOW];

	(void)state;
	assert_int_equal(rtt_timeout(&w, &p, 1), 500000);
	for (int i = 1; i <= 100; i++)
		rtt_add(&w, (uint32_t)i * 1000);
	/* only the last 32 samples (69..100 ms) remain */
	assert_int_equal(rtt_samples(&w, s), RTT_WINDOW);
	assert_int_equal(s[0], 69000);
	assert_int_equal(s[RTT_WINDOW - 1], 100000);
	assert_int_equal(rtt_percentile(&w, 50), 84000);
	assert_int_equal(rtt_percentile(&w, 99), 100000);
	assert_int_equal(rtt_timeout(&w, &p, 1), 4 * 100000 + 20000);
	/* scaled by local health, capped by the ceiling */
	assert_int_equal(rtt_timeout(&w, &p, 8), 2000000);
	/* one slow sample among fast ones does not move p50, the floor holds */
	struct rtt_window f = { 0 };

	for (int i = 0; i < 31; i++)
		rtt_add(&f, 100);
	assert_int_equal(rtt_timeout(&f, &p, 1), 100000);
	rtt_add(&f, 50000);
	assert_int_equal(rtt_percentile(&f, 50), 100);
	assert_int_equal(rtt_timeout(&f, &p, 1), 4 * 50000 + 20000);
}

static void test_adjacency_versions_and_dedup(void **state)
{
	struct adj_table *t = adj_table_new();
	struct node_id a = N(1), v1[2] = { N(2), N(3) }, v2[1] = { N(3) }, removed[4];
	size_t nr;

	(void)state;
	assert_int_equal(adj_update(t, &a, 1, 1, v1, 2, 0, removed, 4, &nr), ADJ_NEWER);
	/* the same version again: a duplicate, nothing to forward */
	assert_int_equal(adj_update(t, &a, 1, 1, v2, 1, 0, removed, 4, &nr), ADJ_SAME);
	assert_int_equal(adj_find(t, &a)->n_active, 2);
	assert_int_equal(adj_update(t, &a, 1, 0, v2, 1, 0, removed, 4, &nr), ADJ_OLDER);
	assert_int_equal(adj_update(t, &a, 1, 2, v2, 1, 0, removed, 4, &nr), ADJ_NEWER);
	assert_int_equal(nr, 1);
	assert_memory_equal(&removed[0], &v1[0], sizeof(removed[0]));
	/* a new epoch wins over any clock of the old one */
	assert_int_equal(adj_update(t, &a, 2, 0, v1, 2, 0, NULL, 0, NULL), ADJ_NEWER);
	assert_int_equal(adj_update(t, &a, 1, 99, v1, 2, 0, NULL, 0, NULL), ADJ_OLDER);
	/* named nodes are known (without a record) */
	assert_non_null(adj_find(t, &v1[0]));
	assert_false(adj_find(t, &v1[0])->have);
	adj_table_free(t);
	adj_table_free(NULL);
}

static void test_reachability_bfs(void **state)
{
	struct adj_table *t = adj_table_new();
	struct node_id s = N(1), b = N(2), c = N(3), d = N(4);
	struct node_id vs[] = { b }, vb[] = { s, c }, vc[] = { b }, vd[] = { c };

	(void)state;
	adj_update(t, &s, 1, 1, vs, 1, 0, NULL, 0, NULL);
	adj_update(t, &b, 1, 1, vb, 2, 0, NULL, 0, NULL);
	adj_update(t, &c, 1, 1, vc, 1, 0, NULL, 0, NULL);
	/* d claims c, but nobody reachable names d: unreachable */
	adj_update(t, &d, 1, 1, vd, 1, 0, NULL, 0, NULL);
	adj_reach(t, &s, 10, 0);
	assert_true(adj_find(t, &s)->reachable);
	assert_true(adj_find(t, &c)->reachable);
	assert_int_equal(adj_find(t, &c)->hops, 2);
	assert_memory_equal(&adj_find(t, &c)->via, &b, sizeof(b));
	assert_false(adj_find(t, &d)->reachable);
	/* b drops c: c (which still names b) is accused and unreachable at
	 * once, grace or not */
	adj_update(t, &b, 1, 2, vs /* {b}: anything without c */, 0, 20, NULL, 0, NULL);
	struct node_id vb2[] = { s };

	adj_update(t, &b, 1, 3, vb2, 1, 20, NULL, 0, NULL);
	adj_reach(t, &s, 30, 5000);
	assert_false(adj_find(t, &c)->reachable);
	assert_true(adj_find(t, &c)->flipped);
	adj_table_free(t);
}

static void test_reachability_grace_for_orphans(void **state)
{
	struct adj_table *t = adj_table_new();
	struct node_id s = N(1), b = N(2), x = N(3), l = N(4);
	struct node_id vs[] = { b, x }, vb[] = { s }, vx[] = { s, l }, vl[] = { x };
	struct node_id vs2[] = { b };

	(void)state;
	adj_update(t, &s, 1, 1, vs, 2, 0, NULL, 0, NULL);
	adj_update(t, &b, 1, 1, vb, 1, 0, NULL, 0, NULL);
	adj_update(t, &x, 1, 1, vx, 2, 0, NULL, 0, NULL);
	adj_update(t, &l, 1, 1, vl, 1, 0, NULL, 0, NULL);
	adj_reach(t, &s, 0, 2000);
	assert_true(adj_find(t, &l)->reachable);
	/* s severs x (x died): x is accused by s; l, orphaned, only lists
	 * x, which is unreachable now: nobody accuses l, it keeps its grace */
	adj_update(t, &s, 1, 2, vs2, 1, 100, NULL, 0, NULL);
	adj_reach(t, &s, 100, 2000);
	assert_false(adj_find(t, &x)->reachable);
	assert_true(adj_find(t, &l)->reachable);
	adj_reach(t, &s, 1500, 2000);
	assert_true(adj_find(t, &l)->reachable);
	adj_reach(t, &s, 2200, 2000);
	assert_false(adj_find(t, &l)->reachable);
	adj_table_free(t);
}

/*
 * A new link races its records: l (in its grace, no path shown) now names
 * b, whose record naming l has not arrived yet. b's record is older than
 * l's claim, so it does not accuse l; a view of b's formed after l's
 * claim that still lacks l does.
 */
static void test_reachability_new_link_is_no_accusation(void **state)
{
	struct adj_table *t = adj_table_new();
	struct node_id s = N(1), b = N(2), x = N(3), l = N(4);
	struct node_id vs[] = { b, x }, vb[] = { s }, vx[] = { s, l }, vl[] = { x };
	struct node_id vs2[] = { b }, vl2[] = { b };

	(void)state;
	adj_update(t, &s, 1, 1, vs, 2, 0, NULL, 0, NULL);
	adj_update(t, &b, 1, 1, vb, 1, 0, NULL, 0, NULL);
	adj_update(t, &x, 1, 1, vx, 2, 0, NULL, 0, NULL);
	adj_update(t, &l, 1, 1, vl, 1, 0, NULL, 0, NULL);
	adj_reach(t, &s, 0, 2000);
	assert_int_equal(t->n_pathless, 0);
	adj_update(t, &s, 1, 2, vs2, 1, 100, NULL, 0, NULL);
	adj_reach(t, &s, 100, 2000);
	assert_true(adj_find(t, &l)->reachable);
	assert_int_equal(t->n_pathless, 1);
	/* l links to b; its record comes first */
	adj_update(t, &l, 1, 2, vl2, 1, 200, NULL, 0, NULL);
	adj_reach(t, &s, 200, 2000);
	assert_true(adj_find(t, &l)->reachable);
	/* b's next view, formed after l's claim, still lacks l */
	adj_update(t, &b, 1, 2, vb, 1, 300, NULL, 0, NULL);
	adj_reach(t, &s, 300, 2000);
	assert_false(adj_find(t, &l)->reachable);
	assert_int_equal(t->n_pathless, 0);
	adj_table_free(t);
}

static void test_epoch_bumped_and_persisted(void **state)
{
	char dir[] = "/tmp/ovl_epoch_XXXXXX", path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(overlayd_epoch_bump(dir), 1);
	assert_int_equal(overlayd_epoch_bump(dir), 2);
	assert_int_equal(overlayd_epoch_bump(dir), 3);
	/* an epoch taken over from an earlier life: the next start is past it */
	assert_int_equal(overlayd_epoch_save(dir, 41), 0);
	assert_int_equal(overlayd_epoch_bump(dir), 42);
	/* a damaged file near the version bound: no start with an epoch that
	 * every peer would refuse */
	assert_int_equal(overlayd_epoch_save(dir, ADJ_VERSION_MAX / 2), 0);
	assert_int_equal(overlayd_epoch_bump(dir), 0);
	snprintf(path, sizeof(path), "%s/epoch", dir);
	unlink(path);
	rmdir(dir);
	/* an unwritable dir: 0, which the daemon refuses to start with */
	assert_int_equal(overlayd_epoch_bump("/nonexistent/dir"), 0);
}

/* Applies option NAME of overlayd's table (by name, not by its key). */
static const char *cfg_set(struct overlayd_cfg *c, const char *name, const char *value)
{
	for (const struct opt *o = overlayd_opts; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return overlayd_cfg_apply(o->key, value, c);
	fail_msg("no option %s", name);
	return NULL;
}

static void test_cfg_options(void **state)
{
	struct overlayd_cfg c;

	(void)state;
	overlayd_cfg_init(&c);
	/* wildcard listen, no node-ip: an address of this host is guessed */
	assert_null(overlayd_cfg_finish(&c));
	assert_int_equal(c.self.len, 4);
	overlayd_cfg_init(&c);
	assert_null(overlayd_cfg_apply(256 /* node-ip */, "10.0.0.7", &c));
	assert_null(overlayd_cfg_apply(258 /* seeds */, "10.0.0.1, 10.0.0.2:7", &c));
	assert_non_null(overlayd_cfg_apply(258, "nope", &c));
	assert_null(overlayd_cfg_finish(&c));
	assert_int_equal(c.n_seeds, 2);
	assert_int_equal(c.seeds[1].port, 7);
	assert_int_equal(c.self.port, 61420);
	/* the random-walk lengths and the record expiry (defaults 6, 3, 600 s) */
	assert_int_equal(c.p.arwl, 6);
	assert_int_equal(c.p.prwl, 3);
	assert_int_equal(c.p.expire_ms, 600000);
	assert_null(cfg_set(&c, "active-walk-length", "4"));
	assert_null(cfg_set(&c, "passive-walk-length", "2"));
	assert_null(cfg_set(&c, "record-expiry-s", "30"));
	assert_null(overlayd_cfg_finish(&c));
	assert_int_equal(c.p.arwl, 4);
	assert_int_equal(c.p.prwl, 2);
	assert_int_equal(c.p.expire_ms, 30000);
	assert_non_null(cfg_set(&c, "active-walk-length", "0"));
	assert_non_null(cfg_set(&c, "active-walk-length", "17"));
	assert_non_null(cfg_set(&c, "record-expiry-s", "9"));
	assert_non_null(cfg_set(&c, "record-expiry-s", "x"));
	assert_null(cfg_set(&c, "passive-walk-length", "5")); /* above the active walk */
	assert_non_null(overlayd_cfg_finish(&c));
}

/* The HyParView and dissemination parameters that were constants: their
 * defaults unchanged, each set within its range, refused outside it. */
static void test_cfg_protocol_parameters(void **state)
{
	static const struct {
		const char *name;
		unsigned lo, hi, def;
		size_t off;
	} t[] = {
		{ "shuffle-active", 0, 6, 3, offsetof(struct overlay_params, ka) },
		{ "shuffle-passive", 0, 8, 4, offsetof(struct overlay_params, kp) },
		{ "shuffle-walk-length", 1, 16, 6, offsetof(struct overlay_params, shuffle_walk) },
		{ "probe-count", 0, 8, 3, offsetof(struct overlay_params, probe_k) },
		{ "digest-interval-ms", 1000, 3600000, 30000,
		  offsetof(struct overlay_params, digest_ms) },
		{ "gossip-ttl", 1, 64, 32, offsetof(struct overlay_params, gossip_ttl) },
	};
	struct overlayd_cfg c;
	char v[24];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned *p = (unsigned *)((char *)&c.p + t[i].off);

		overlayd_cfg_init(&c);
		assert_int_equal(*p, t[i].def);
		snprintf(v, sizeof(v), "%u", t[i].lo);
		assert_null(cfg_set(&c, t[i].name, v));
		assert_int_equal(*p, t[i].lo);
		snprintf(v, sizeof(v), "%u", t[i].hi);
		assert_null(cfg_set(&c, t[i].name, v));
		assert_int_equal(*p, t[i].hi);
		/* out of range or not a number: refused, the value kept */
		snprintf(v, sizeof(v), "%u", t[i].hi + 1);
		assert_non_null(cfg_set(&c, t[i].name, v));
		if (t[i].lo) {
			snprintf(v, sizeof(v), "%u", t[i].lo - 1);
			assert_non_null(cfg_set(&c, t[i].name, v));
		}
		assert_non_null(cfg_set(&c, t[i].name, "-1"));
		assert_non_null(cfg_set(&c, t[i].name, "x"));
		assert_int_equal(*p, t[i].hi);
		assert_null(overlayd_cfg_finish(&c));
		overlayd_cfg_free(&c);
	}
}

static void test_cluster_key_file(void **state)
{
	char path[] = "/tmp/test_overlayd_keyXXXXXX";
	struct frame_key *k = NULL;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	/* trailing newline stripped: 15 bytes of key are too few */
	assert_int_equal(write(fd, "0123456789abcde\n", 16), 16);
	assert_non_null(overlayd_key_load(path, &k));
	assert_null(k);
	assert_int_equal(write(fd, "f\n", 2), 2);
	close(fd);
	assert_non_null(overlayd_key_load(path, &k) == NULL ? "" : NULL);
	assert_non_null(k);
	frame_key_free(k);
	unlink(path);
	assert_non_null(overlayd_key_load(path, &k));
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_parse),
		cmocka_unit_test(test_node_pb_validation),
		cmocka_unit_test(test_node_identity_forms),
		cmocka_unit_test(test_rtt_window_percentile_and_timeout),
		cmocka_unit_test(test_adjacency_versions_and_dedup),
		cmocka_unit_test(test_reachability_bfs),
		cmocka_unit_test(test_reachability_grace_for_orphans),
		cmocka_unit_test(test_reachability_new_link_is_no_accusation),
		cmocka_unit_test(test_epoch_bumped_and_persisted),
		cmocka_unit_test(test_cfg_options),
		cmocka_unit_test(test_cfg_protocol_parameters),
		cmocka_unit_test(test_cluster_key_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
