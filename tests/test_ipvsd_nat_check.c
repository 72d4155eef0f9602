// SPDX-License-Identifier: Apache-2.0
/* The nat rules check against stand-in iptables/ip6tables scripts (put
 * first on PATH) that keep their rules in a file: the runner, its order,
 * repairs, failures and the one-at-a-time rule, through a real event loop
 * and real child processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/counters.h"
#include "ipvsd/child.h"
#include "ipvsd/nat_check.h"
#include "ipvsd/nat_rules.h"

/* $0 -w -t nat OP CHAIN SPEC...: rules live in $NAT_DIR/<program>.db, in
 * order (a chain's rule 1 is its first line); a line in $NAT_DIR/fail makes
 * the matching "OP CHAIN" write fail. `$0 -w -t nat -S` lists the table as
 * iptables 1.8.9 does (the legacy warning first, the policies, the chains,
 * the rules with the ipvs match's "--ipvs" dropped and the comment quoted);
 * it fails when $NAT_DIR/list_fail exists, hangs after a line when
 * $NAT_DIR/list_slow exists, and prints $NAT_DIR/list_extra
 * (a big table of other rules) before the rules. */
static const char fake[] =
	"#!/bin/sh\n"
	"PATH=/usr/bin:/bin\n"
	"db=$NAT_DIR/$(basename $0).db; touch $db\n"
	"shift 3; op=$1; shift; echo \"$op $*\" >>$NAT_DIR/calls\n"
	"sleep 0.02\n"
	"case $op in\n"
	"-S) if [ $# = 0 ]; then [ -e $NAT_DIR/list_fail ] && { echo 'cannot list'; exit 1; }\n"
	"	[ -e $NAT_DIR/list_slow ] && { echo '-P PREROUTING ACCEPT'; exec sleep 30; }\n"
	"	echo '# Warning: iptables-legacy tables present, use iptables-legacy"
	" to see them' >&2\n"
	"	for c in PREROUTING INPUT OUTPUT POSTROUTING; do echo \"-P $c ACCEPT\"; done\n"
	"	sed -n 's/^:/-N /p' $db; cat $NAT_DIR/list_extra 2>/dev/null\n"
	"	grep -v '^:' $db | sed -e 's/^/-A /' -e 's/ --ipvs / /' \\\n"
	"		-e 's/--comment \\(.*\\) -j/--comment \"\\1\" -j/'; exit 0; fi\n"
	"	if [ $# = 2 ]; then echo '# Warning: a warning first, as iptables-nft gives';\n"
	"	grep -m1 \"^$1 \" $db | sed 's/^/-A /'; exit 0; fi\n"
	"	grep -qxF \":$1\" $db ;;\n"
	"-N) echo \":$1\" >>$db ;;\n"
	"-C) grep -qxF \"$*\" $db ;;\n"
	"-A|-I) if grep -qxF -e \"$op $1\" $NAT_DIR/fail 2>/dev/null; then\n"
	"	echo \"no chain $1\"; exit 1; fi\n"
	"	if [ $op = -A ]; then echo \"$*\" >>$db; exit 0; fi\n"
	"	c=$1; shift; [ \"$1\" = 1 ] && shift\n"
	"	{ echo \"$c $*\"; cat $db; } >$db.t; mv $db.t $db ;;\n"
	"*) exit 2 ;;\n"
	"esac\n";

/* $0 -w --noflush < script (kept in $NAT_DIR/<program>.in): its :CHAIN,
 * -A, -D (the first copy) and -I CHAIN [1] lines (quotes dropped, as the
 * db holds rules) applied as one transaction, nothing changed if one
 * fails: a -A or -I that $NAT_DIR/fail names, or any line when
 * $NAT_DIR/restore_fail exists. With $NAT_DIR/restore_late it exits 137
 * after applying all (as one killed just after its commit). */
static const char fake_restore[] =
	"#!/bin/sh\n"
	"PATH=/usr/bin:/bin\n"
	"db=$NAT_DIR/$(basename $0 -restore).db; touch $db; cp $db $db.n\n"
	"echo \"restore $*\" >>$NAT_DIR/calls\n"
	"in=$NAT_DIR/$(basename $0).in; cat >$in\n"
	"[ -e $NAT_DIR/restore_fail ] && { echo 'restore refused'; exit 1; }\n"
	"while read -r op c rest; do rest=$(printf '%s\\n' \"$rest\" | tr -d '\"')\n"
	"if grep -qxF -e \"$op $c\" $NAT_DIR/fail 2>/dev/null; then\n"
	"	echo \"line failed: $op $c\"; exit 1; fi\n"
	"case $op in\n"
	"-D) l=\"$c $rest\"; grep -qxF -- \"$l\" $db.n || { echo \"line failed\"; exit 1; }\n"
	"	awk -v l=\"$l\" '!d && $0 == l { d = 1; next } 1' $db.n >$db.t ;;\n"
	"-I) { echo \"$c ${rest#1 }\"; cat $db.n; } >$db.t ;;\n"
	"-A) { cat $db.n; echo \"$c $rest\"; } >$db.t ;;\n"
	":*) { cat $db.n; echo \"$op\"; } >$db.t ;;\n"
	"*) continue ;;\n"
	"esac; mv $db.t $db.n; done <$in\n"
	"mv $db.n $db\n"
	"[ -e $NAT_DIR/restore_late ] && { echo 'killed'; exit 137; }; exit 0\n";

/* What ipvsd's restore puts in place on a fresh table (set: 4 or 6). */
#define BATCH(set)                                                                          \
	"*nat\n"                                                                           \
	":L4LB-MASQ - [0:0]\n"                                                             \
	":L4LB-VIPS - [0:0]\n"                                                             \
	"-A L4LB-MASQ -m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -m comment --comment " \
	"\"l4lb: IPVS masquerade\" -j MASQUERADE\n"                                        \
	"-I L4LB-VIPS -m set --match-set l4lb-vips" set " dst,dst -m comment --comment "    \
	"\"l4lb: VIP traffic skips port-mapping DNAT\" -j ACCEPT\n"                        \
	"-I POSTROUTING 1 -j L4LB-MASQ\n"                                                  \
	"-I OUTPUT 1 -j L4LB-VIPS\n"                                                       \
	"-I PREROUTING 1 -j L4LB-VIPS\n"                                                   \
	"COMMIT\n"

static char dir[64];

static void sh(const char *cmd)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "cd %s && %s", dir, cmd);
	assert_int_equal(system(buf), 0);
}

static int count(const char *cmd)
{
	char buf[512];
	FILE *f;
	int n = -1;

	snprintf(buf, sizeof(buf), "cd %s && %s", dir, cmd);
	f = popen(buf, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

/* The whole of file name in dir, into buf. */
static const char *slurp(const char *name, char *buf, size_t size)
{
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	char path[4096];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/l4lb-natcheck.XXXXXX");
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, i % 2 ? "ip6tables" : "iptables",
			 i > 1 ? "-restore" : "");
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(i > 1 ? fake_restore : fake, f);
		fclose(f);
		chmod(path, 0755);
	}
	snprintf(path, sizeof(path), "%s:/usr/bin:/bin", dir);
	setenv("PATH", path, 1);
	setenv("NAT_DIR", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void on_poll(evutil_socket_t fd, short what, void *arg);

struct loop {
	struct event_base *base;
	struct nat_check *c;
	struct event *poll;
};

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	(void)fd;
	(void)what;
	if (strcmp(nat_check_state(l->c), "running") != 0)
		event_base_loopbreak(l->base);
}

/* Runs the loop until the check is over (10 s at most). */
static void run_check(struct event_base *base, struct nat_check *c)
{
	struct loop l = { base, c, NULL };
	struct event *dl = evtimer_new(base, on_deadline, base);
	struct timeval ten = { 10, 0 }, tick = { 0, 5000 };

	l.poll = event_new(base, -1, EV_PERSIST, on_poll, &l);
	evtimer_add(dl, &ten);
	event_add(l.poll, &tick);
	event_base_dispatch(base);
	event_free(l.poll);
	event_free(dl);
}

/* One check, its calls alone in `calls`, run to its end in state ("ok",
 * "failed"). */
static void check_ends(struct event_base *base, struct nat_check *c, const char *state)
{
	sh(": >calls");
	assert_int_equal(nat_check_start(c), 0);
	run_check(base, c);
	assert_string_equal(nat_check_state(c), state);
}

static void check_once(struct event_base *base, struct nat_check *c)
{
	check_ends(base, c, "ok");
}

static void on_done(void *arg)
{
	(*(int *)arg)++;
}

static void test_steps(void **state)
{
	struct nat_step s[NAT_STEPS_MAX];
	size_t n = nat_rules_steps(s, NAT_STEPS_MAX);
	char buf[256];

	(void)state;
	assert_int_equal(n, 14);
	/* chains first, the jumps into them last; the VIP rule at the top */
	assert_string_equal(nat_argv_format(s[0].check, buf, sizeof(buf)),
			    "iptables -w -t nat -S L4LB-MASQ");
	assert_string_equal(nat_argv_format(s[0].fix, buf, sizeof(buf)),
			    "iptables -w -t nat -N L4LB-MASQ");
	/* the jumps into L4LB-VIPS: checked to be rule 1, moved there by a
	 * restore (one transaction), inserted at 1 when missing */
	assert_string_equal(nat_argv_format(s[5].check, buf, sizeof(buf)),
			    "iptables -w -t nat -S OUTPUT 1");
	assert_string_equal(s[5].expect, "-A OUTPUT -j L4LB-VIPS");
	assert_string_equal(nat_argv_format(s[5].fix, buf, sizeof(buf)),
			    "iptables-restore -w --noflush");
	assert_string_equal(s[5].fix_input, "*nat\n-D OUTPUT -j L4LB-VIPS\n"
			    "-I OUTPUT 1 -j L4LB-VIPS\nCOMMIT\n");
	assert_string_equal(nat_argv_format(s[5].fix2, buf, sizeof(buf)),
			    "iptables -w -t nat -I OUTPUT 1 -j L4LB-VIPS");
	assert_string_equal(nat_argv_format(s[13].fix2, buf, sizeof(buf)),
			    "ip6tables -w -t nat -I PREROUTING 1 -j L4LB-VIPS");
	assert_null(s[2].fix2[0]);
	/* the jump into L4LB-MASQ: rule 1 of POSTROUTING, moved there too */
	assert_string_equal(nat_argv_format(s[4].check, buf, sizeof(buf)),
			    "iptables -w -t nat -S POSTROUTING 1");
	assert_string_equal(s[4].expect, "-A POSTROUTING -j L4LB-MASQ");
	assert_string_equal(s[4].fix_input, "*nat\n-D POSTROUTING -j L4LB-MASQ\n"
			    "-I POSTROUTING 1 -j L4LB-MASQ\nCOMMIT\n");
	assert_string_equal(nat_argv_format(s[4].fix2, buf, sizeof(buf)),
			    "iptables -w -t nat -I POSTROUTING 1 -j L4LB-MASQ");
	assert_string_equal(nat_argv_format(s[11].fix2, buf, sizeof(buf)),
			    "ip6tables -w -t nat -I POSTROUTING 1 -j L4LB-MASQ");
	assert_false(nat_step_output_ok(&s[4], "-A POSTROUTING -d 10.0.0.0/8 -j RETURN\n"));
	assert_non_null(strstr(nat_argv_format(s[10].check, buf, sizeof(buf)),
			       "ip6tables -w -t nat -C L4LB-VIPS -m set --match-set l4lb-vips6"));
	/* ACCEPT, inserted first: a RETURN in ipvsd's own chain would go back
	 * to OUTPUT, on to the port mapping's DNAT (test_ipvsd_portmap) */
	assert_non_null(strstr(nat_argv_format(s[3].fix, buf, sizeof(buf)),
			       "iptables -w -t nat -I L4LB-VIPS -m set --match-set l4lb-vips4"));
	assert_non_null(strstr(buf, "-j ACCEPT"));
	/* the first rule read past iptables-nft's warning; only the whole line */
	assert_true(nat_step_output_ok(&s[5], "# Warning: legacy\n-A OUTPUT -j L4LB-VIPS\n"));
	assert_true(nat_step_output_ok(&s[5], "-A OUTPUT -j L4LB-VIPS"));
	assert_false(nat_step_output_ok(&s[5], "-A OUTPUT -j PORTMAP\n-A OUTPUT -j L4LB-VIPS\n"));
	assert_false(nat_step_output_ok(&s[5], "-A OUTPUT -j L4LB-VIPS-X\n"));
	assert_false(nat_step_output_ok(&s[5], ""));
	assert_false(nat_step_output_ok(&s[5], "# Warning: cut"));
	assert_true(nat_step_output_ok(&s[2], "")); /* no expect: exit status only */
	/* one listing of the whole table per family judges the steps */
	const char *list[NAT_ARGV_MAX];

	nat_rules_listing(0, list);
	assert_string_equal(nat_argv_format(list, buf, sizeof(buf)), "iptables -w -t nat -S");
	nat_rules_listing(1, list);
	assert_string_equal(nat_argv_format(list, buf, sizeof(buf)), "ip6tables -w -t nat -S");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s[i].v6, i >= 7);
	assert_int_equal(s[1].kind, NAT_KIND_CHAIN);
	assert_string_equal(s[1].name, "L4LB-VIPS");
	assert_int_equal(s[2].kind, NAT_KIND_RULE);
	assert_int_equal(s[6].kind, NAT_KIND_FIRST);
	assert_string_equal(s[6].name, "PREROUTING");
	assert_string_equal(s[6].listed, "-A PREROUTING -j L4LB-VIPS");
	/* a short buffer is cut, never overrun */
	assert_int_equal(strlen(nat_argv_format(s[10].check, buf, 10)), 9);
}

static void test_child_run(void **state)
{
	const char *ok[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *none[] = { "l4lb-no-such-program", NULL };
	char buf[64];

	(void)state;
	assert_int_equal(child_run(ok, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "out\nerr\n");
	assert_int_equal(child_run(none, buf, sizeof(buf)), -ENOENT);
}

/* A restore script reaches the child's stdin whole; too long is refused. */
static void test_child_input(void **state)
{
	const char *cat[] = { "cat", NULL };
	char buf[64], big[CHILD_INPUT_MAX + 2];
	size_t len = 0;
	pid_t pid;
	int fd, st, rc;

	(void)state;
	assert_int_equal(child_spawn_in(cat, "*nat\nCOMMIT\n", &pid, &fd), 0);
	while ((rc = child_read(fd, buf, sizeof(buf), &len)) == 0)
		usleep(1000);
	assert_int_equal(rc, 1);
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(child_status(st), 0);
	assert_string_equal(buf, "*nat\nCOMMIT\n");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(child_spawn_in(cat, big, &pid, &fd), -E2BIG);
}

static void test_check_repairs(void **state)
{
	struct event_base *base = event_base_new();
	struct nat_check *c;
	int done = 0;
	uint64_t writes = counter_value("nat_rule_writes");
	char in[2048];

	(void)state;
	assert_int_equal(nat_check_new(base, on_done, &done, &c), 0);
	assert_string_equal(nat_check_state(c), "never");
	/* nothing in place: the start returns at once, the work is in the loop */
	assert_int_equal(nat_check_start(c), 0);
	assert_string_equal(nat_check_state(c), "running");
	assert_int_equal(nat_check_start(c), -EBUSY);
	run_check(base, c);
	assert_string_equal(nat_check_state(c), "ok");
	assert_int_equal(done, 1); /* told once, when it finished */
	assert_int_equal(count("wc -l <iptables.db"), 7);
	assert_int_equal(count("wc -l <ip6tables.db"), 7);
	/* one listing per family shows none of ipvsd's pieces: the family's 7
	 * go in with one restore, 4 processes instead of 16; each counts */
	assert_int_equal(count("wc -l <calls"), 4);
	assert_int_equal(count("grep -cx -- '-S ' calls"), 2);
	assert_int_equal(count("grep -cx 'restore -w --noflush' calls"), 2);
	assert_int_equal(counter_value("nat_rule_writes"), writes + 14);
	assert_string_equal(slurp("iptables-restore.in", in, sizeof(in)), BATCH("4"));
	assert_string_equal(slurp("ip6tables-restore.in", in, sizeof(in)), BATCH("6"));
	/* the jumps first, the VIP rule at the top of its chain */
	sh("grep -m1 '^OUTPUT ' ip6tables.db | grep -qxF 'OUTPUT -j L4LB-VIPS'");
	sh("grep -qxF 'L4LB-MASQ -m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -m comment"
	   " --comment l4lb: IPVS masquerade -j MASQUERADE' iptables.db");
	/* what the piece-by-piece path is to leave too (test_batch_fallbacks) */
	sh("cp iptables.db batch4.db && cp ip6tables.db batch6.db");

	/* all in place: two processes, one listing per family, and nothing
	 * the listing could not tell */
	uint64_t fallbacks = counter_value("nat_check_fallbacks");

	check_once(base, c);
	assert_int_equal(count("wc -l <calls"), 2);
	assert_int_equal(count("grep -cx -- '-S ' calls"), 2);
	assert_int_equal(counter_value("nat_check_fallbacks"), fallbacks);

	/* one jump deleted behind its back: exactly that one is put back */
	sh("grep -vxF 'OUTPUT -j L4LB-VIPS' ip6tables.db >x; mv x ip6tables.db");
	check_once(base, c);
	/* (no rule of OUTPUT names L4LB-VIPS: inserted at once, no restore) */
	assert_int_equal(count("grep -c '^-[NAI] ' calls"), 1);
	assert_int_equal(count("grep -c '^restore ' calls || true"), 0);
	assert_int_equal(count("wc -l <calls"), 3);
	assert_int_equal(count("grep -c '^-I OUTPUT 1 -j L4LB-VIPS' calls"), 1);
	assert_int_equal(count("grep -cxF 'OUTPUT -j L4LB-VIPS' ip6tables.db"), 1);
	assert_int_equal(count("grep -m1 -n '^OUTPUT ' ip6tables.db | cut -d: -f1"),
			 count("grep -n -xF 'OUTPUT -j L4LB-VIPS' ip6tables.db | cut -d: -f1"));

	/* a DNAT jump put above ipvsd's in OUTPUT (docker restarting): ipvsd's
	 * is moved back to rule 1 in one restore, the other rule kept, one copy */
	sh("{ echo 'OUTPUT -m addrtype --dst-type LOCAL -j PORTMAP';"
	   " cat iptables.db; } >x; mv x iptables.db");
	check_once(base, c);
	assert_int_equal(count("grep -c '^restore ' calls"), 1);
	assert_int_equal(count("grep -c '^-[NAI] ' calls || true"), 0);
	assert_int_equal(count("grep -cxF 'OUTPUT -j L4LB-VIPS' iptables.db"), 1);
	assert_int_equal(count("grep -c PORTMAP iptables.db"), 1);
	sh("grep -m1 '^OUTPUT ' iptables.db | grep -qxF 'OUTPUT -j L4LB-VIPS'");
	sh("grep -m1 '^PREROUTING ' iptables.db | grep -qxF 'PREROUTING -j L4LB-VIPS'");
	/* ... and stays put: the next check writes nothing */
	check_once(base, c);
	assert_int_equal(count("grep -c '^restore \\|^-[NAI] ' calls || true"), 0);

	/* a RETURN put above ipvsd's masquerade jump in POSTROUTING (an
	 * ip-masq-agent-style "no masquerade inside the cluster"): the jump is
	 * moved back to rule 1 in one restore, the RETURN kept below it */
	sh("{ echo 'POSTROUTING -d 10.0.0.0/8 -j RETURN'; cat iptables.db; } >x;"
	   " mv x iptables.db");
	check_once(base, c);
	assert_int_equal(count("grep -c '^restore ' calls"), 1);
	assert_int_equal(count("grep -c '^-[NAI] ' calls || true"), 0);
	assert_int_equal(count("grep -cxF 'POSTROUTING -j L4LB-MASQ' iptables.db"), 1);
	assert_int_equal(count("grep -c RETURN iptables.db"), 1);
	sh("grep -m1 '^POSTROUTING ' iptables.db | grep -qxF 'POSTROUTING -j L4LB-MASQ'");

	/* a chain gone with its rule and its jump (v6 masquerade): those three are
	 * put back, the rule and the jump unchecked; the v6 VIP chain's are checked */
	sh("grep -vxF -e ':L4LB-MASQ' -e 'POSTROUTING -j L4LB-MASQ' ip6tables.db |"
	   " grep -v '^L4LB-MASQ ' >x; mv x ip6tables.db");
	check_once(base, c);
	assert_int_equal(count("grep -c '^-[NAI] ' calls"), 3);
	/* everything else judged from the two listings */
	assert_int_equal(count("wc -l <calls"), 5);
	assert_int_equal(count("wc -l <ip6tables.db"), 7);

	/* a write that fails: counted, the rest still done, state "failed" */
	uint64_t before = counter_value("nat_rule_failures");

	sh("grep -vxF 'PREROUTING -j L4LB-VIPS' iptables.db >x; mv x iptables.db");
	sh("grep -vxF 'POSTROUTING -j L4LB-MASQ' ip6tables.db >x; mv x ip6tables.db");
	sh("echo '-I PREROUTING' >fail");
	check_ends(base, c, "failed");
	assert_int_equal(counter_value("nat_rule_failures"), before + 1);
	assert_int_equal(count("grep -cxF 'POSTROUTING -j L4LB-MASQ' ip6tables.db"), 1);
	nat_check_free(c);
	event_base_free(base);
}

/* Without iptables-restore a misplaced jump is still put first (inserted at
 * 1: a second copy below does no harm). PATH holds only the stand-ins, so
 * that no real iptables-restore is found instead. */
static void test_move_without_restore(void **state)
{
	struct event_base *base = event_base_new();
	struct nat_check *c;
	char *saved = strdup(getenv("PATH"));

	(void)state;
	sh("rm -f fail && mv iptables-restore no-restore && : >calls && "
	   "{ echo 'OUTPUT -j PORTMAP'; cat iptables.db; } >x; mv x iptables.db");
	setenv("PATH", dir, 1);
	assert_int_equal(nat_check_new(base, NULL, NULL, &c), 0);
	assert_int_equal(nat_check_start(c), 0);
	run_check(base, c);
	setenv("PATH", saved, 1);
	free(saved);
	assert_string_equal(nat_check_state(c), "ok");
	assert_int_equal(count("grep -c '^-I OUTPUT 1 -j L4LB-VIPS' calls"), 1);
	sh("grep -m1 '^OUTPUT ' iptables.db | grep -qxF 'OUTPUT -j L4LB-VIPS'");
	sh("mv no-restore iptables-restore");
	nat_check_free(c);
	event_base_free(base);
}

/* A listing that cannot be trusted is never read as "missing": each piece
 * is checked by its own command again, and nothing is put in twice. */
static void test_listing_fallbacks(void **state)
{
	struct event_base *base = event_base_new();
	struct nat_check *c;
	uint64_t before;

	(void)state;
	sh("rm -f fail list_fail list_extra");
	assert_int_equal(nat_check_new(base, NULL, NULL, &c), 0);
	check_once(base, c); /* whatever the tests before left: all in place */
	check_once(base, c);
	assert_int_equal(count("wc -l <calls"), 2);

	/* the listing fails: the 14 checks of before, no write */
	before = counter_value("nat_check_fallbacks");
	sh("touch list_fail");
	check_once(base, c);
	assert_int_equal(count("grep -c '^-[SC] .' calls"), 14);
	assert_int_equal(count("grep -c '^-[NAI] \\|^restore' calls || true"), 0);
	assert_int_equal(counter_value("nat_check_fallbacks"), before + 14);
	sh("rm list_fail");

	/* a table of 60,000 other rules (about 5 MiB, over the cap) printed
	 * before ipvsd's: the listing is cut, so ipvsd's rules are not in what
	 * was kept; each piece is checked by itself and nothing is added */
	sh("awk 'BEGIN { print \"-N KUBE-SVC\"; for (i = 0; i < 60000; i++)"
	   " printf \"-A KUBE-SVC -d 10.%d.%d.1/32 -p tcp -m tcp --dport %d"
	   " -j DNAT --to-destination 172.17.0.%d:80\\n\", i / 256, i % 256, i, i % 250 }'"
	   " >list_extra && test $(wc -c <list_extra) -gt 4300000");
	check_once(base, c);
	assert_int_equal(count("grep -c '^-[SC] .' calls"), 14);
	assert_int_equal(count("grep -c '^-[NAI] \\|^restore' calls || true"), 0);
	assert_int_equal(count("grep -c L4LB-MASQ iptables.db"), 3);

	/* 20,000 of them: judged from the listing, two processes */
	sh("head -n 20001 list_extra >x && mv x list_extra");
	check_once(base, c);
	assert_int_equal(count("wc -l <calls"), 2);
	/* ... and a DNAT jump put above ipvsd's among them is moved back */
	sh("{ echo 'PREROUTING -j KUBE-SVC'; cat ip6tables.db; } >x; mv x ip6tables.db");
	check_once(base, c);
	assert_int_equal(count("wc -l <calls"), 3);
	assert_int_equal(count("grep -c '^restore ' calls"), 1);
	sh("grep -m1 '^PREROUTING ' ip6tables.db | grep -qxF 'PREROUTING -j L4LB-VIPS'");
	sh("rm list_extra");

	/* ipvsd's ACCEPT replaced by one with another comment: the listing
	 * cannot tell, -C says missing, it is put in (at the top) */
	before = counter_value("nat_check_fallbacks");
	sh("sed -i 's/skips port-mapping DNAT/other/' iptables.db");
	check_once(base, c);
	assert_int_equal(counter_value("nat_check_fallbacks"), before + 1);
	assert_int_equal(count("grep -c '^-C L4LB-VIPS ' calls"), 1);
	assert_int_equal(count("grep -c '^-I L4LB-VIPS ' calls"), 1);
	assert_int_equal(count("wc -l <calls"), 4);
	sh("grep -m1 '^L4LB-VIPS ' iptables.db | grep -q 'skips port-mapping DNAT'");
	check_once(base, c);
	assert_int_equal(count("wc -l <calls"), 2);
	nat_check_free(c);
	event_base_free(base);
}

/* The restore text: the per-piece repairs' own argv, quoted as
 * iptables-restore splits a line; too long or unquotable is refused. */
static void test_batch_text(void **state)
{
	struct nat_step s[NAT_STEPS_MAX];
	size_t n = nat_rules_steps(s, NAT_STEPS_MAX);
	char buf[2048];

	(void)state;
	assert_int_equal(nat_rules_batch(s, n, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, BATCH("4"));
	assert_int_equal(nat_rules_batch(s, n, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, BATCH("6"));
	assert_true(strlen(buf) < CHILD_INPUT_MAX);
	assert_int_equal(nat_rules_batch(s, n, 1, buf, strlen(BATCH("6"))), -ENOSPC);
	assert_int_equal(nat_rules_batch(s, n, 1, buf, 0), -ENOSPC);
	s[9].fix[9] = "a \"quoted\" comment";
	assert_int_equal(nat_rules_batch(s, n, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(nat_rules_batch(s, n, 0, buf, sizeof(buf)), 0);
}

/* Clears the stand-ins' tables and their failures. */
static void fresh_tables(void)
{
	sh("rm -f fail list_fail list_slow list_extra restore_fail restore_late && "
	   ": >iptables.db && "
	   ": >ip6tables.db");
}

/* Only a table without any of ipvsd's pieces is put in place by a restore;
 * when it fails, piece by piece as before (test_check_repairs' end state). */
static void test_batch_fallbacks(void **state)
{
	struct event_base *base = event_base_new();
	struct nat_check *c;
	uint64_t writes, failures;

	(void)state;
	assert_int_equal(nat_check_new(base, NULL, NULL, &c), 0);

	/* the restore fails (nothing changed): the family listed again, then
	 * the 14 pieces one by one, no check (the new listing said missing),
	 * the same tables as the batch's */
	fresh_tables();
	sh("touch restore_fail");
	writes = counter_value("nat_rule_writes");
	check_once(base, c);
	assert_int_equal(count("grep -c '^restore ' calls"), 2);
	assert_int_equal(count("grep -c '^-[NAI] ' calls"), 14);
	assert_int_equal(count("grep -cx -- '-S ' calls"), 4);
	assert_int_equal(count("wc -l <calls"), 20);
	assert_int_equal(counter_value("nat_rule_writes"), writes + 14);
	sh("cmp iptables.db batch4.db && cmp ip6tables.db batch6.db");

	/* a rule the kernel refuses fails the whole restore; piece by piece,
	 * that one fails by itself, the other six are put in */
	fresh_tables();
	sh("echo '-I PREROUTING' >fail");
	failures = counter_value("nat_rule_failures");
	check_ends(base, c, "failed");
	assert_int_equal(count("grep -c '^restore ' calls"), 2);
	assert_int_equal(count("grep -c '^-[NAI] ' calls"), 14);
	assert_int_equal(counter_value("nat_rule_failures"), failures + 2);
	assert_int_equal(count("wc -l <iptables.db"), 6);
	assert_int_equal(count("grep -c PREROUTING ip6tables.db || true"), 0);

	/* one piece there (v4's masquerade chain): v4 as before, each missing
	 * piece by itself; v6, fresh, by one restore */
	fresh_tables();
	sh("echo :L4LB-MASQ >iptables.db");
	check_once(base, c);
	assert_int_equal(count("grep -cx 'restore -w --noflush' calls"), 1);
	assert_int_equal(count("grep -c '^-[NAI] ' calls"), 6);
	assert_int_equal(count("grep -c '^-N L4LB-VIPS$' calls"), 1);
	assert_int_equal(count("grep -c '^-A L4LB-MASQ ' calls"), 1);
	assert_int_equal(count("wc -l <calls"), 9);
	sh("cmp iptables.db batch4.db && cmp ip6tables.db batch6.db");
	/* ... and then all is in place: the two listings only */
	check_once(base, c);
	assert_int_equal(count("wc -l <calls"), 2);

	/* the restore reports a failure but its commit went through (killed
	 * just after it): the table is listed again before any piece by
	 * itself, so nothing goes in twice; the next pass finds all there */
	fresh_tables();
	sh("touch restore_late");
	check_once(base, c);
	assert_int_equal(count("grep -c '^restore ' calls"), 2);
	assert_int_equal(count("grep -cx -- '-S ' calls"), 4);
	assert_int_equal(count("grep -c '^-[NAI] ' calls"), 0);
	sh("cmp iptables.db batch4.db && cmp ip6tables.db batch6.db");
	sh("rm restore_late");
	check_once(base, c);
	assert_int_equal(count("wc -l <calls"), 2);

	/* no iptables-restore (PATH: only the stand-ins): v4 piece by piece */
	char *saved = strdup(getenv("PATH"));

	fresh_tables();
	sh("mv iptables-restore no-restore");
	setenv("PATH", dir, 1);
	writes = counter_value("nat_rule_writes");
	check_once(base, c);
	setenv("PATH", saved, 1);
	free(saved);
	sh("mv no-restore iptables-restore");
	assert_int_equal(count("grep -c '^restore ' calls"), 1);
	assert_int_equal(count("grep -c '^-[NAI] ' calls"), 7);
	assert_int_equal(counter_value("nat_rule_writes"), writes + 14);
	sh("cmp iptables.db batch4.db && cmp ip6tables.db batch6.db");
	nat_check_free(c);
	event_base_free(base);
}

static int open_fds(void)
{
	return count("ls /proc/$PPID/fd | wc -l");
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Freed while its listing runs (hung half-way): the child killed and
 * reaped, its pipe closed, the listing's buffer freed (ASan), at once. */
static void test_free_while_listing(void **state)
{
	struct event_base *base = event_base_new();
	struct event *stop = evtimer_new(base, on_stop, base);
	struct timeval half = { 0, 500000 };
	struct nat_check *c;
	int fds = open_fds();
	time_t t0;

	(void)state;
	sh("touch list_slow");
	assert_int_equal(nat_check_new(base, NULL, NULL, &c), 0);
	assert_int_equal(nat_check_start(c), 0);
	evtimer_add(stop, &half);
	event_base_dispatch(base);
	assert_string_equal(nat_check_state(c), "running");
	assert_int_equal(open_fds(), fds + 1);
	t0 = time(NULL);
	nat_check_free(c);
	assert_true(time(NULL) - t0 <= 2);
	assert_int_equal(open_fds(), fds);
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	sh("rm list_slow");
	event_free(stop);
	event_base_free(base);
}

static void test_check_without_iptables(void **state)
{
	struct event_base *base = event_base_new();
	struct nat_check *c;
	const char *path = getenv("PATH");
	char *saved = strdup(path);

	(void)state;
	setenv("PATH", "/nonexistent", 1);
	assert_int_equal(nat_check_new(base, NULL, NULL, &c), 0);
	assert_int_equal(nat_check_start(c), -ENOENT);
	assert_string_equal(nat_check_state(c), "failed");
	setenv("PATH", saved, 1);
	free(saved);
	nat_check_free(c);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_child_run),
		cmocka_unit_test(test_child_input),
		cmocka_unit_test(test_check_repairs),
		cmocka_unit_test(test_move_without_restore),
		cmocka_unit_test(test_listing_fallbacks),
		cmocka_unit_test(test_batch_text),
		cmocka_unit_test(test_batch_fallbacks),
		cmocka_unit_test(test_free_while_listing),
		cmocka_unit_test(test_check_without_iptables),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
