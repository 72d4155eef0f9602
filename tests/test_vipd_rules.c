// SPDX-License-Identifier: Apache-2.0
/*
 * Every rule of vip-discovery.md, end to end through the real parser, the
 * model and the rules: small master documents in, the printed table out.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/counters.h"
#include "vipd/apply.h"
#include "vipd/mesos_parse.h"
#include "vipd/named_vip.h"
#include "vipd/rules.h"

static uint64_t now_ms = 1000;

static void on_rec(struct mesos_record *rec, void *arg)
{
	apply_record(arg, rec, now_ms, 60000);
}

/* Feeds one or more documents (one per line) into *m. */
static void feed(struct model **m, const char *json)
{
	struct mesos_parser *p = mesos_parser_new(on_rec, m);

	assert_non_null(p);
	assert_int_equal(mesos_parser_feed(p, json, strlen(json)), 0);
	assert_int_equal(mesos_parser_finish(p), 0);
	mesos_parser_free(p);
}

static char *table_json(struct model *m)
{
	struct vip_table *t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(t);
	vip_table_print_json(t, f);
	fclose(f);
	vip_table_free(t);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

#define STATE_HEAD \
	"{\"type\":\"GET_STATE\",\"get_state\":{\"get_agents\":{\"agents\":[{\"agent_info\":" \
	"{\"id\":{\"value\":\"a1\"},\"hostname\":\"10.0.0.1\"}}]},\"get_frameworks\":" \
	"{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"},\"name\":\"marathon\"}}]}," \
	"\"get_tasks\":{\"tasks\":["
#define STATE_TAIL "]}}}"
#define TASK(id, st) \
	"{\"task_id\":{\"value\":\"" id "\"},\"framework_id\":{\"value\":\"f1\"},\"agent_id\":" \
	"{\"value\":\"a1\"},\"state\":\"" st "\""
#define DPORT(num, proto, key, val, extra) \
	"{\"number\":" num ",\"protocol\":\"" proto "\",\"labels\":{\"labels\":[{\"key\":\"" key \
	"\",\"value\":\"" val "\"}" extra "]}}"
#define DISC(...) ",\"discovery\":{\"ports\":{\"ports\":[" __VA_ARGS__ "]}}"
#define IPSTATUS(ts, ip, more) \
	"{\"state\":\"TASK_RUNNING\",\"timestamp\":" ts ",\"container_status\":{\"network_infos\":" \
	"[{\"ip_addresses\":[" ip "]}]}" more "}"
#define IP(a) "{\"ip_address\":\"" a "\"}"

static void expect(const char *doc, const char *want)
{
	struct model *m = model_new();
	char *got;

	feed(&m, doc);
	got = table_json(m);
	if (strcmp(got, want))
		fail_msg("table\n got: %s\nwant: %s", got, want);
	free(got);
	model_free(m);
}

static const char *app_ip = "11.171.172.93"; /* app.marathon */

static void test_host_networking_named(void **state)
{
	char want[512];

	(void)state;
	snprintf(want, sizeof(want), "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"%s\",\"port\":80,"
		 "\"name\":\"app.marathon\",\"labels\":[\"/app:80\"],\"backends\":[{\"ip\":"
		 "\"10.0.0.1\",\"port\":31000,\"agent_ip\":\"10.0.0.1\",\"weight\":1}]}]}", app_ip);
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("31000", "tcp", "VIP_0", "/app:80", ""))
	       "}" STATE_TAIL, want);
	/* The agent's own IP as the task IP is still host networking. */
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("31000", "tcp", "VIP_0", "/app:80", ""))
	       ",\"statuses\":[" IPSTATUS("1.0", IP("10.0.0.1"), "") "]}" STATE_TAIL, want);
}

static void test_states_and_weights(void **state)
{
	(void)state;
	expect(STATE_HEAD TASK("t1", "TASK_STAGING") DISC(DPORT("1", "tcp", "VIP_0", "/app:80", ""))
	       "}" STATE_TAIL, "{\"vips\":[]}");
	expect(STATE_HEAD TASK("t1", "TASK_FINISHED") DISC(DPORT("1", "tcp", "VIP_0", "/app:80", ""))
	       "}" STATE_TAIL, "{\"vips\":[]}");
	expect(STATE_HEAD TASK("t1", "TASK_UNREACHABLE") DISC(DPORT("1", "tcp", "VIP_0", "/app:80", ""))
	       "}" STATE_TAIL, "{\"vips\":[]}");
	/* killing: drained */
	struct model *m = model_new();
	char *got;

	feed(&m, STATE_HEAD TASK("t1", "TASK_KILLING") DISC(DPORT("1", "tcp", "VIP_0", "/app:80", ""))
	     "}" STATE_TAIL);
	got = table_json(m);
	assert_non_null(strstr(got, "\"weight\":0"));
	free(got);
	model_free(m);
}

static const char *weight_of(const char *doc)
{
	struct model *m = model_new();
	char *got;
	const char *w;

	feed(&m, doc);
	got = table_json(m);
	w = strstr(got, "\"weight\":1") ? "1" : strstr(got, "\"weight\":0") ? "0" : "none";
	free(got);
	model_free(m);
	return w;
}

static void test_health(void **state)
{
	(void)state;
	/* healthy false */
	assert_string_equal(weight_of(STATE_HEAD TASK("t", "TASK_RUNNING")
		DISC(DPORT("1", "tcp", "VIP_0", "/a:1", "")) ",\"statuses\":["
		IPSTATUS("1.0", IP("10.0.0.1"), ",\"healthy\":false") "]}" STATE_TAIL), "0");
	/* a health check and no report yet */
	assert_string_equal(weight_of(STATE_HEAD TASK("t", "TASK_RUNNING")
		DISC(DPORT("1", "tcp", "VIP_0", "/a:1", "")) ",\"health_check\":{\"type\":\"HTTP\"}}"
		STATE_TAIL), "0");
	/* a health check reported healthy */
	assert_string_equal(weight_of(STATE_HEAD TASK("t", "TASK_RUNNING")
		DISC(DPORT("1", "tcp", "VIP_0", "/a:1", "")) ",\"health_check\":{},\"statuses\":["
		IPSTATUS("1.0", IP("10.0.0.1"), ",\"healthy\":true") "]}" STATE_TAIL), "1");
	/* the latest status by timestamp wins, whatever the array order */
	assert_string_equal(weight_of(STATE_HEAD TASK("t", "TASK_RUNNING")
		DISC(DPORT("1", "tcp", "VIP_0", "/a:1", "")) ",\"health_check\":{},\"statuses\":["
		IPSTATUS("2.0", IP("10.0.0.1"), ",\"healthy\":false") ","
		IPSTATUS("1.0", IP("10.0.0.1"), ",\"healthy\":true") "]}" STATE_TAIL), "0");
}

static void test_container_ip(void **state)
{
	char want[512];

	(void)state;
	snprintf(want, sizeof(want), "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"%s\",\"port\":80,"
		 "\"name\":\"app.marathon\",\"labels\":[\"/app:80\"],\"backends\":[{\"ip\":"
		 "\"9.0.0.5\",\"port\":8080,\"agent_ip\":\"10.0.0.1\",\"weight\":1}]}]}", app_ip);
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("8080", "tcp", "VIP_0", "/app:80",
	       ",{\"key\":\"network-scope\",\"value\":\"container\"}"))
	       ",\"statuses\":[" IPSTATUS("1.0", IP("9.0.0.5"), "") "]}" STATE_TAIL, want);
}

static void test_port_mappings(void **state)
{
	char want[512];

	(void)state;
	snprintf(want, sizeof(want), "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"%s\",\"port\":80,"
		 "\"name\":\"app.marathon\",\"labels\":[\"/app:80\"],\"backends\":[{\"ip\":"
		 "\"10.0.0.1\",\"port\":31000,\"agent_ip\":\"10.0.0.1\",\"weight\":1,"
		 "\"task_ip\":\"172.17.0.2\",\"task_port\":8080}]}]}", app_ip);
	/* docker bridge, container-scope number */
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("8080", "tcp", "VIP_0", "/app:80", ""))
	       ",\"container\":{\"type\":\"DOCKER\",\"docker\":{\"network\":\"BRIDGE\",\"port_mappings\":"
	       "[{\"host_port\":31000,\"container_port\":8080,\"protocol\":\"tcp\"}]}}"
	       ",\"statuses\":[" IPSTATUS("1.0", IP("172.17.0.2"), "") "]}" STATE_TAIL, want);
	/* UCR bridge, host-scope number */
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("31000", "tcp", "VIP_0", "/app:80",
	       ",{\"key\":\"network-scope\",\"value\":\"host\"}"))
	       ",\"container\":{\"type\":\"MESOS\",\"network_infos\":[{\"port_mappings\":"
	       "[{\"host_port\":31000,\"container_port\":8080}]}]}"
	       ",\"statuses\":[" IPSTATUS("1.0", IP("172.17.0.2"), "") "]}" STATE_TAIL, want);
	/* a pod: the mappings come with the status */
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("31000", "tcp", "VIP_0", "/app:80",
	       ",{\"key\":\"network-scope\",\"value\":\"host\"}"))
	       ",\"statuses\":[{\"state\":\"TASK_RUNNING\",\"timestamp\":1,\"container_status\":"
	       "{\"network_infos\":[{\"ip_addresses\":[" IP("172.17.0.2") "],\"port_mappings\":"
	       "[{\"host_port\":31000,\"container_port\":8080,\"protocol\":\"tcp\"}]}]}}]}"
	       STATE_TAIL, want);
	/* a udp mapping does not serve a tcp port: task address, no mapping */
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("8080", "tcp", "VIP_0", "1.1.1.1:80", ""))
	       ",\"container\":{\"docker\":{\"port_mappings\":"
	       "[{\"host_port\":31000,\"container_port\":8080,\"protocol\":\"udp\"}]}}"
	       ",\"statuses\":[" IPSTATUS("1.0", IP("172.17.0.2"), "") "]}" STATE_TAIL,
	       "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.1.1.1\",\"port\":80,\"labels\":"
	       "[\"1.1.1.1:80\"],\"backends\":[{\"ip\":\"172.17.0.2\",\"port\":8080,\"agent_ip\":"
	       "\"10.0.0.1\",\"weight\":1}]}]}");
}

static void test_ip_vips_own_family(void **state)
{
	(void)state;
	/* a dual-stack task: the IPv4 VIP takes the IPv4 address only */
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("80", "tcp", "VIP_0", "1.2.3.4:5000",
	       ",{\"key\":\"VIP_1\",\"value\":\"[fd01::1]:80\"}"))
	       ",\"statuses\":[" IPSTATUS("1.0", IP("9.0.0.5") "," IP("fd00::5"), "") "]}" STATE_TAIL,
	       "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.2.3.4\",\"port\":5000,\"labels\":"
	       "[\"1.2.3.4:5000\"],\"backends\":[{\"ip\":\"9.0.0.5\",\"port\":80,\"agent_ip\":"
	       "\"10.0.0.1\",\"weight\":1}]},{\"protocol\":\"tcp\",\"ip\":\"fd01::1\",\"port\":80,"
	       "\"labels\":[\"[fd01::1]:80\"],\"backends\":[{\"ip\":\"fd00::5\",\"port\":80,"
	       "\"agent_ip\":\"10.0.0.1\",\"weight\":1}]}]}");
	/* an IPv6 VIP of a host-networked task has no backend: no VIP */
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("80", "tcp", "VIP_0", "fd01::1:80", ""))
	       "}" STATE_TAIL, "{\"vips\":[]}");
}

static void test_named_dual_family(void **state)
{
	struct model *m = model_new();
	char *got;

	(void)state;
	feed(&m, STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("80", "tcp", "vip_x", "/app:80", ""))
	     ",\"statuses\":[" IPSTATUS("1.0", IP("9.0.0.5") "," IP("fd00::5"), "") "]}" STATE_TAIL);
	got = table_json(m);
	/* two VIPs of the same name: 11.x for IPv4, fd01:c:: for IPv6 */
	assert_non_null(strstr(got, "\"ip\":\"11.171.172.93\",\"port\":80,\"name\":\"app.marathon\""));
	assert_non_null(strstr(got, "\"ip\":\"fd01:c::"));
	assert_non_null(strstr(got, "{\"ip\":\"fd00::5\",\"port\":80"));
	free(got);
	model_free(m);
}

static void test_dropped_ports(void **state)
{
	unsigned long before = counter_value("vip_port_zero") + counter_value("vip_protocol");

	(void)state;
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("0", "tcp", "VIP_0", "/app:80", "") ","
	       DPORT("5", "sctp", "VIP_0", "/app:80", "") "," DPORT("6", "tcp", "NOTVIP", "/app:80", ""))
	       "}" STATE_TAIL, "{\"vips\":[]}");
	assert_int_equal(counter_value("vip_port_zero") + counter_value("vip_protocol"), before + 2);
}

static void test_tcp_udp_not_merged(void **state)
{
	struct model *m = model_new();
	char *got;

	(void)state;
	feed(&m, STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("53", "UDP", "VIP_0", "/dns:53", "") ","
	     DPORT("53", "tcp", "VIP_0", "/dns:53", "")) "}" STATE_TAIL);
	got = table_json(m);
	assert_non_null(strstr(got, "{\"protocol\":\"tcp\""));
	assert_non_null(strstr(got, "{\"protocol\":\"udp\""));
	free(got);
	model_free(m);
}

static void test_legacy_vip_port_label(void **state)
{
	(void)state;
	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") ",\"labels\":{\"labels\":[{\"key\":\"VIP_PORT1\","
	       "\"value\":\"tcp://1.2.3.4:5000\"},{\"key\":\"vip_port9\",\"value\":\"tcp://1.2.3.4:1\"}]},"
	       "\"resources\":[{\"name\":\"cpus\",\"scalar\":{\"value\":1}},{\"ranges\":{\"range\":["
	       "{\"begin\":31000,\"end\":31000},{\"begin\":31005,\"end\":31006}]},\"name\":\"ports\"}]}"
	       STATE_TAIL,
	       "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.2.3.4\",\"port\":5000,\"labels\":"
	       "[\"1.2.3.4:5000\"],\"backends\":[{\"ip\":\"10.0.0.1\",\"port\":31005,\"agent_ip\":"
	       "\"10.0.0.1\",\"weight\":1}]}]}");
}

static void test_label_values(void **state)
{
	struct vip_label l;
	const char *why;

	(void)state;
	assert_int_equal(vip_label_parse("/app:80", &l, &why), 0);
	assert_int_equal(l.family, 0);
	assert_string_equal(l.host, "/app");
	assert_int_equal(l.port, 80);
	assert_int_equal(vip_label_parse("fd01::1:80", &l, &why), 0);
	assert_int_equal(l.family, 6);
	assert_int_equal(l.port, 80);
	assert_int_equal(vip_label_parse("[fd01::2]:8080", &l, &why), 0);
	assert_int_equal(l.family, 6);
	assert_int_equal(vip_label_parse("1.2.3.4:1", &l, &why), 0);
	assert_int_equal(l.family, 4);
	assert_true(vip_label_parse("app", &l, &why) < 0);
	assert_true(vip_label_parse("app:0", &l, &why) < 0);
	assert_true(vip_label_parse("app:65536", &l, &why) < 0);
	assert_true(vip_label_parse("app:80x", &l, &why) < 0);
	assert_true(vip_label_parse(":80", &l, &why) < 0);
	/* a bad label is dropped and counted, the rest of the task still applies */
	unsigned long before = counter_value("vip_label");

	expect(STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("31000", "tcp", "VIP_0", "bad",
	       ",{\"key\":\"VIP_1\",\"value\":\"1.1.1.1:1\"}")) "}" STATE_TAIL,
	       "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"1.1.1.1\",\"port\":1,\"labels\":"
	       "[\"1.1.1.1:1\"],\"backends\":[{\"ip\":\"10.0.0.1\",\"port\":31000,\"agent_ip\":"
	       "\"10.0.0.1\",\"weight\":1}]}]}");
	assert_int_equal(counter_value("vip_label"), before + 1);
}

#define EV_AGENT(id, host) \
	"{\"type\":\"AGENT_ADDED\",\"agent_added\":{\"agent\":{\"agent_info\":{\"id\":{\"value\":\"" \
	id "\"},\"hostname\":\"" host "\"}}}}\n"
#define EV_TASK(body) "{\"type\":\"TASK_ADDED\",\"task_added\":{\"task\":" body "}}\n"
#define EV_UPD(id, st, status) \
	"{\"type\":\"TASK_UPDATED\",\"task_updated\":{\"framework_id\":{\"value\":\"f1\"},\"state\":\"" \
	st "\",\"status\":" status "}}\n"
#define EMPTY_SUB \
	"{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"heartbeat_interval_seconds\":15,\"get_state\":" \
	"{\"get_frameworks\":{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"}," \
	"\"name\":\"marathon\"}}]}}}}\n"

static void test_held_until_agent_known(void **state)
{
	struct model *m = model_new();
	char *got;

	(void)state;
	feed(&m, EMPTY_SUB EV_TASK("{\"task_id\":{\"value\":\"t9\"},\"framework_id\":{\"value\":"
	     "\"f1\"},\"agent_id\":{\"value\":\"a9\"},\"state\":\"TASK_RUNNING\""
	     DISC(DPORT("4000", "tcp", "VIP_0", "/h:1", "")) "}"));
	got = table_json(m);
	assert_string_equal(got, "{\"vips\":[]}");
	free(got);
	feed(&m, EV_AGENT("a9", "10.9.9.9"));
	got = table_json(m);
	assert_non_null(strstr(got, "{\"ip\":\"10.9.9.9\",\"port\":4000"));
	free(got);
	/* the agent goes away: its backends go */
	feed(&m, "{\"type\":\"AGENT_REMOVED\",\"agent_removed\":{\"agent_id\":{\"value\":\"a9\"}}}");
	got = table_json(m);
	assert_string_equal(got, "{\"vips\":[]}");
	free(got);
	model_free(m);
}

/* An agent's address: its hostname if that is an IP literal, else the
 * address in its pid; never a DNS query (that would block vipd's loop). */
static void test_agent_address(void **state)
{
	static const char *const head =
		"{\"type\":\"GET_STATE\",\"get_state\":{\"get_agents\":{\"agents\":[{\"agent_info\":"
		"{\"id\":{\"value\":\"a1\"},\"hostname\":\"%s\"}%s}]},\"get_frameworks\":"
		"{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"},\"name\":"
		"\"marathon\"}}]},\"get_tasks\":{\"tasks\":[" TASK("t1", "TASK_RUNNING")
		DISC(DPORT("31000", "tcp", "VIP_0", "/app:80", "")) "}" STATE_TAIL;
	char doc[2048], host[256] = "", *got;
	uint8_t ip[4];
	uint64_t bad;
	struct model *m;

	(void)state;
	assert_int_equal(agent_resolve("10.1.2.3", NULL, ip), 0);
	assert_memory_equal(ip, ((uint8_t[]){ 10, 1, 2, 3 }), 4);
	assert_int_equal(agent_resolve("localhost", NULL, ip), 0);
	assert_memory_equal(ip, ((uint8_t[]){ 127, 0, 0, 1 }), 4);
	assert_int_equal(agent_resolve("agent7.example", "slave(1)@10.0.0.7:5051", ip), 0);
	assert_memory_equal(ip, ((uint8_t[]){ 10, 0, 0, 7 }), 4);
	assert_int_equal(agent_resolve("agent7.example", "slave(1)@[fd00::7]:5051", ip), -ENOENT);
	assert_int_equal(agent_resolve("agent7.example", "garbage", ip), -ENOENT);
	assert_int_equal(agent_resolve(NULL, NULL, ip), -ENOENT);
	/* This machine's own name resolves through /etc/hosts, but not here. */
	gethostname(host, sizeof(host) - 1);
	assert_int_equal(agent_resolve(host, NULL, ip), -ENOENT);

	/* Through the parser: the pid beside agent_info. */
	m = model_new();
	snprintf(doc, sizeof(doc), head, "agent1.example", ",\"pid\":\"slave(1)@10.0.0.7:5051\"");
	feed(&m, doc);
	got = table_json(m);
	assert_non_null(strstr(got, "\"backends\":[{\"ip\":\"10.0.0.7\",\"port\":31000,"
				     "\"agent_ip\":\"10.0.0.7\""));
	free(got);
	model_free(m);
	/* The same in a legacy state.json: the slave's own pid. */
	m = model_new();
	feed(&m, "{\"frameworks\":[{\"id\":\"f1\",\"name\":\"marathon\",\"tasks\":[{\"id\":"
	     "\"t1\",\"framework_id\":\"f1\",\"slave_id\":\"a1\",\"state\":\"TASK_RUNNING\""
	     DISC(DPORT("31000", "tcp", "VIP_0", "/app:80", "")) "}]}],\"slaves\":[{\"id\":\"a1\","
	     "\"hostname\":\"agent1.example\",\"pid\":\"slave(1)@10.0.0.8:5051\"}]}");
	got = table_json(m);
	assert_non_null(strstr(got, "\"agent_ip\":\"10.0.0.8\""));
	free(got);
	model_free(m);
	/* A name and no pid: held, and counted as an unresolvable agent. */
	m = model_new();
	bad = counter_value("agent_hostname");
	snprintf(doc, sizeof(doc), head, host, "");
	feed(&m, doc);
	got = table_json(m);
	assert_string_equal(got, "{\"vips\":[]}");
	assert_true(counter_value("agent_hostname") > bad);
	free(got);
	model_free(m);
}

static void test_task_updates(void **state)
{
	struct model *m = model_new();
	char *got;

	(void)state;
	feed(&m, EMPTY_SUB EV_AGENT("a1", "10.0.0.1")
	     EV_TASK(TASK("t1", "TASK_STAGING") DISC(DPORT("8080", "tcp", "VIP_0", "/app:80", "")) "}"));
	got = table_json(m);
	assert_string_equal(got, "{\"vips\":[]}");
	free(got);
	/* running with an address of its own */
	feed(&m, EV_UPD("t1", "TASK_RUNNING", "{\"task_id\":{\"value\":\"t1\"},\"state\":"
	     "\"TASK_RUNNING\",\"timestamp\":5,\"container_status\":{\"network_infos\":[{"
	     "\"ip_addresses\":[" IP("9.0.0.7") "]}]}}"));
	got = table_json(m);
	assert_non_null(strstr(got, "{\"ip\":\"9.0.0.7\",\"port\":8080,\"agent_ip\":"
			       "\"10.0.0.1\",\"weight\":1}"));
	free(got);
	/* an older status (by timestamp) does not undo the newer one */
	feed(&m, EV_UPD("t1", "TASK_RUNNING", "{\"task_id\":{\"value\":\"t1\"},\"timestamp\":4,"
	     "\"container_status\":{\"network_infos\":[{\"ip_addresses\":[" IP("9.0.0.8") "]}]}}"));
	got = table_json(m);
	assert_non_null(strstr(got, "9.0.0.7"));
	free(got);
	/* killing drains, killed removes */
	feed(&m, EV_UPD("t1", "TASK_KILLING", "{\"task_id\":{\"value\":\"t1\"},\"timestamp\":6}"));
	got = table_json(m);
	assert_non_null(strstr(got, "\"weight\":0"));
	free(got);
	feed(&m, EV_UPD("t1", "TASK_KILLED", "{\"task_id\":{\"value\":\"t1\"},\"timestamp\":7}"));
	got = table_json(m);
	assert_string_equal(got, "{\"vips\":[]}");
	free(got);
	/* the framework goes away: held (no name for its VIPs) */
	feed(&m, EV_TASK(TASK("t2", "TASK_RUNNING") DISC(DPORT("1", "tcp", "VIP_0", "/b:1", "")) "}"));
	got = table_json(m);
	assert_non_null(strstr(got, "b.marathon"));
	free(got);
	feed(&m, "{\"type\":\"FRAMEWORK_REMOVED\",\"framework_removed\":{\"framework_info\":"
	     "{\"id\":{\"value\":\"f1\"},\"name\":\"marathon\"}}}");
	got = table_json(m);
	assert_string_equal(got, "{\"vips\":[]}");
	free(got);
	model_free(m);
}

static void test_deterministic_order(void **state)
{
	struct model *a = model_new(), *b = model_new();
	char *ja, *jb;
#define T1 TASK("t1", "TASK_RUNNING") DISC(DPORT("1", "tcp", "VIP_0", "/x:1", "")) "}"
#define T2 TASK("t2", "TASK_RUNNING") DISC(DPORT("2", "tcp", "VIP_0", "/y:1", "")) "}"
#define T3 TASK("t3", "TASK_RUNNING") DISC(DPORT("3", "tcp", "VIP_0", "/x:1", "")) "}"

	(void)state;
	feed(&a, STATE_HEAD T1 "," T2 "," T3 STATE_TAIL);
	feed(&b, STATE_HEAD T3 "," T2 "," T1 STATE_TAIL);
	ja = table_json(a);
	jb = table_json(b);
	assert_string_equal(ja, jb);
	free(ja);
	free(jb);
	model_free(a);
	model_free(b);
}

static void test_recovered_agents(void **state)
{
	struct model *m = model_new();
	char *got;

	(void)state;
	now_ms = 1000;
	feed(&m, STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("31000", "tcp", "VIP_0", "/app:80", ""))
	     "}" STATE_TAIL);
	/* a new leader knows a1 only as recovered, and none of its tasks yet */
	feed(&m, "{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":{\"get_agents\":"
	     "{\"recovered_agents\":[{\"id\":{\"value\":\"a1\"},\"hostname\":\"10.0.0.1\"}]},"
	     "\"get_frameworks\":{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"},"
	     "\"name\":\"marathon\"}}]}}}}");
	got = table_json(m);
	assert_non_null(strstr(got, "{\"ip\":\"10.0.0.1\",\"port\":31000"));
	free(got);
	assert_int_equal(model_expire_carried(m, 1000 + 59000), 0);
	assert_int_equal(model_expire_carried(m, 1000 + 60001), 1);
	got = table_json(m);
	assert_string_equal(got, "{\"vips\":[]}");
	free(got);
	model_free(m);
}

/* A recovered agent named by a host name (no pid in recovered_agents)
 * keeps the address its pid gave before the failover. */
static void test_recovered_agent_by_name(void **state)
{
	struct model *m = model_new();
	char *got;

	(void)state;
	now_ms = 1000;
	feed(&m, "{\"type\":\"GET_STATE\",\"get_state\":{\"get_agents\":{\"agents\":[{"
	     "\"agent_info\":{\"id\":{\"value\":\"a1\"},\"hostname\":\"agent1.example\"},"
	     "\"pid\":\"slave(1)@10.0.0.7:5051\"}]},\"get_frameworks\":{\"frameworks\":[{"
	     "\"framework_info\":{\"id\":{\"value\":\"f1\"},\"name\":\"marathon\"}}]},"
	     "\"get_tasks\":{\"tasks\":[" TASK("t1", "TASK_RUNNING")
	     DISC(DPORT("31000", "tcp", "VIP_0", "/app:80", "")) "}" STATE_TAIL);
	feed(&m, "{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":{\"get_agents\":"
	     "{\"recovered_agents\":[{\"id\":{\"value\":\"a1\"},\"hostname\":"
	     "\"agent1.example\"}]},\"get_frameworks\":{\"frameworks\":[{\"framework_info\":"
	     "{\"id\":{\"value\":\"f1\"},\"name\":\"marathon\"}}]}}}}");
	got = table_json(m);
	assert_non_null(strstr(got, "{\"ip\":\"10.0.0.7\",\"port\":31000"));
	free(got);
	model_free(m);
}

static void test_recovered_agent_reregisters(void **state)
{
	struct model *m = model_new();
	char *got;

	(void)state;
	now_ms = 1000;
	feed(&m, STATE_HEAD TASK("t1", "TASK_RUNNING") DISC(DPORT("31000", "tcp", "VIP_0", "/app:80", ""))
	     "}" STATE_TAIL);
	feed(&m, "{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":{\"get_agents\":"
	     "{\"recovered_agents\":[{\"id\":{\"value\":\"a1\"},\"hostname\":\"10.0.0.1\"}]},"
	     "\"get_frameworks\":{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"},"
	     "\"name\":\"marathon\"}}]}}}}");
	/* it re-registers and its task is re-added: no longer carried */
	feed(&m, EV_AGENT("a1", "10.0.0.1")
	     EV_TASK(TASK("t1", "TASK_RUNNING") DISC(DPORT("31000", "tcp", "VIP_0", "/app:80", "")) "}"));
	assert_int_equal(model_expire_carried(m, 1000 + 3600000), 0);
	got = table_json(m);
	assert_non_null(strstr(got, "\"port\":31000"));
	free(got);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_networking_named),
		cmocka_unit_test(test_states_and_weights),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_container_ip),
		cmocka_unit_test(test_port_mappings),
		cmocka_unit_test(test_ip_vips_own_family),
		cmocka_unit_test(test_named_dual_family),
		cmocka_unit_test(test_dropped_ports),
		cmocka_unit_test(test_tcp_udp_not_merged),
		cmocka_unit_test(test_legacy_vip_port_label),
		cmocka_unit_test(test_label_values),
		cmocka_unit_test(test_held_until_agent_known),
		cmocka_unit_test(test_agent_address),
		cmocka_unit_test(test_task_updates),
		cmocka_unit_test(test_deterministic_order),
		cmocka_unit_test(test_recovered_agents),
		cmocka_unit_test(test_recovered_agent_reregisters),
		cmocka_unit_test(test_recovered_agent_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
