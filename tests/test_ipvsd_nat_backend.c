// SPDX-License-Identifier: Apache-2.0
/* Which iptables backend holds ipvsd's nat chains (ipvsd/nat_backend.h):
 * the option's values, auto's rule, and that the nat steps use the chosen
 * binaries. auto's counting of real rules runs in the VM
 * (tests/vm/test_ipvsd_portmap.sh). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipvsd/nat_backend.h"
#include "ipvsd/nat_rules.h"

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(nat_backend_parse("auto"), NAT_BACKEND_AUTO);
	assert_int_equal(nat_backend_parse("system"), NAT_BACKEND_SYSTEM);
	assert_int_equal(nat_backend_parse("nft"), NAT_BACKEND_NFT);
	assert_int_equal(nat_backend_parse("legacy"), NAT_BACKEND_LEGACY);
	assert_int_equal(nat_backend_parse(""), -1);
	assert_int_equal(nat_backend_parse("Legacy"), -1);
	assert_int_equal(nat_backend_parse("nftables"), -1);
}

static void test_auto_follows_the_rules(void **state)
{
	(void)state;
	/* docker on legacy while `iptables` is nft: legacy */
	assert_int_equal(nat_backend_choose(12, 0), NAT_BACKEND_LEGACY);
	assert_int_equal(nat_backend_choose(0, 12), NAT_BACKEND_NFT);
	/* a fresh node, or both in use as much: the system's own */
	assert_int_equal(nat_backend_choose(0, 0), NAT_BACKEND_SYSTEM);
	assert_int_equal(nat_backend_choose(5, 5), NAT_BACKEND_SYSTEM);
	/* a backend that cannot be asked (-1) counts as empty */
	assert_int_equal(nat_backend_choose(-1, 3), NAT_BACKEND_NFT);
	assert_int_equal(nat_backend_choose(2, -1), NAT_BACKEND_LEGACY);
	assert_int_equal(nat_backend_choose(-1, -1), NAT_BACKEND_SYSTEM);
	/* a fresh node (legacy table not loaded: 0) whose iptables-nft-save is
	 * missing or timed out: the system's, not a legacy binary that may not
	 * exist (an iptables without the -legacy/-nft variants) */
	assert_int_equal(nat_backend_choose(0, -1), NAT_BACKEND_SYSTEM);
	assert_int_equal(nat_backend_choose(-1, 0), NAT_BACKEND_SYSTEM);
}

/* Every step's check and fix run the backend's binary for its family (a
 * move, its iptables-restore). */
static void assert_steps_use(const char *ipt4, const char *ipt6)
{
	struct nat_step st[NAT_STEPS_MAX];
	size_t n = nat_rules_steps(st, NAT_STEPS_MAX), v4 = 0, v6 = 0;

	assert_int_equal(n, 14);
	for (size_t i = 0; i < n; i++) {
		int six = !strcmp(st[i].check[0], ipt6);

		assert_true(six || !strcmp(st[i].check[0], ipt4));
		if (st[i].fix_input) {
			char restore[64];

			snprintf(restore, sizeof(restore), "%s-restore", st[i].check[0]);
			assert_string_equal(st[i].fix[0], restore);
			assert_string_equal(st[i].fix2[0], st[i].check[0]);
		} else {
			assert_string_equal(st[i].fix[0], st[i].check[0]);
		}
		six ? v6++ : v4++;
	}
	assert_int_equal(v4, 7);
	assert_int_equal(v6, 7);
}

static void test_steps_use_the_chosen_binaries(void **state)
{
	(void)state;
	assert_string_equal(nat_backend_ipt(0), "iptables");
	assert_steps_use("iptables", "ip6tables");
	nat_backend_resolve(NAT_BACKEND_LEGACY);
	assert_steps_use("iptables-legacy", "ip6tables-legacy");
	nat_backend_resolve(NAT_BACKEND_NFT);
	assert_steps_use("iptables-nft", "ip6tables-nft");
	nat_backend_resolve(NAT_BACKEND_SYSTEM);
	assert_steps_use("iptables", "ip6tables");
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * auto with a stand-in iptables-nft-save on PATH (the only -save tool
 * there) that answers after 300 ms, while a signal arrives at 100 ms:
 * the count goes on (poll's EINTR is not the deadline) and nft is chosen.
 * Its long first rule (longer than the line buffer) and ipvsd's own jump
 * count as one and none.
 */
static void test_auto_counts_through_a_signal(void **state)
{
	char dir[] = "/tmp/l4lb-natbe-XXXXXX", path[64];
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	char *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/iptables-nft-save", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n/bin/sleep 0.3\necho '*nat'\n"
		   "echo '-A DOCKER -d 10.0.0.0/8 -m comment --comment %0300d -j DNAT'\n"
		   "echo '-A OUTPUT -j L4LB-VIPS'\necho COMMIT\n", 0);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	setenv("PATH", dir, 1);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	nat_backend_resolve(NAT_BACKEND_AUTO);
	signal(SIGALRM, SIG_DFL);
	assert_string_equal(nat_backend_ipt(0), "iptables-nft");
	assert_string_equal(nat_backend_ipt(1), "ip6tables-nft");
	nat_backend_resolve(NAT_BACKEND_SYSTEM);
	if (old_path)
		setenv("PATH", old_path, 1);
	free(old_path);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_auto_follows_the_rules),
		cmocka_unit_test(test_steps_use_the_chosen_binaries),
		cmocka_unit_test(test_auto_counts_through_a_signal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
