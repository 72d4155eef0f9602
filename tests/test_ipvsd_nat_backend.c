// SPDX-License-Identifier: Apache-2.0
/* Which iptables backend holds ipvsd's nat chains (ipvsd/nat_backend.h):
 * the option's values, auto's rule, and that the nat steps use the chosen
 * binaries. auto's counting of real rules runs in the VM
 * (tests/vm/test_ipvsd_portmap.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
}

/* Every step's check and fix run the backend's binary for its family. */
static void assert_steps_use(const char *ipt4, const char *ipt6)
{
	struct nat_step st[NAT_STEPS_MAX];
	size_t n = nat_rules_steps(st, NAT_STEPS_MAX), v4 = 0, v6 = 0;

	assert_int_equal(n, 14);
	for (size_t i = 0; i < n; i++) {
		int six = !strcmp(st[i].check[0], ipt6);

		assert_true(six || !strcmp(st[i].check[0], ipt4));
		assert_string_equal(st[i].fix[0], st[i].check[0]);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_auto_follows_the_rules),
		cmocka_unit_test(test_steps_use_the_chosen_binaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
