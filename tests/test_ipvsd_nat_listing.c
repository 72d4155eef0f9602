// SPDX-License-Identifier: Apache-2.0
/* The judge of ipvsd's nat pieces from one `iptables -w -t nat -S`, on
 * listings captured from iptables 1.8.9 in the test VM (nft and legacy print
 * the same), IPv4 and IPv6, and on edits of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipvsd/nat_listing.h"
#include "ipvsd/nat_rules.h"

#define WARN4 "# Warning: iptables-legacy tables present, use iptables-legacy to see them\n"
#define WARN6 "# Warning: ip6tables-legacy tables present, use ip6tables-legacy to see them\n"
#define POLICIES "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n"
#define MASQ "-A L4LB-MASQ -m ipvs --vdir ORIGINAL --vmethod MASQ -m comment " \
	"--comment \"l4lb: IPVS masquerade\" -j MASQUERADE\n"
#define VIPS(set) "-A L4LB-VIPS -m set --match-set " set " dst,dst -m comment " \
	"--comment \"l4lb: VIP traffic skips port-mapping DNAT\" -j ACCEPT\n"

/* iptables-nft -S after ipvsd's first check, legacy tables present */
static const char nft4_ours[] =
	WARN4 POLICIES "-N L4LB-MASQ\n-N L4LB-VIPS\n"
	"-A PREROUTING -j L4LB-VIPS\n-A OUTPUT -j L4LB-VIPS\n-A POSTROUTING -j L4LB-MASQ\n"
	MASQ VIPS("l4lb-vips4");

/* ip6tables-legacy -S: docker-like rules inserted above ipvsd's jumps, and a
 * second ACCEPT in L4LB-VIPS that differs from ipvsd's only in its comment */
static const char legacy6_foreign[] =
	POLICIES "-N DOCKER\n-N L4LB-MASQ\n-N L4LB-VIPS\n"
	"-A PREROUTING -j L4LB-VIPS\n"
	"-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER\n-A OUTPUT -j L4LB-VIPS\n"
	"-A POSTROUTING -m comment --comment \"no masq\" -j RETURN\n-A POSTROUTING -j L4LB-MASQ\n"
	"-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80\n"
	MASQ VIPS("l4lb-vips6")
	"-A L4LB-VIPS -m set --match-set l4lb-vips6 dst,dst -m comment "
	"--comment \"other comment\" -j ACCEPT\n";

/* iptables-legacy -S of a fresh node: the policies only */
static const char legacy4_empty[] = POLICIES;

static struct nat_step steps[NAT_STEPS_MAX];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(nat_rules_steps(steps, NAT_STEPS_MAX), 14);
	return 0;
}

/* The family's 7 steps: chains MASQ, VIPS; the rules in them; the jumps
 * from POSTROUTING, OUTPUT, PREROUTING. */
static const struct nat_step *fam(int v6)
{
	return &steps[v6 ? 7 : 0];
}

static void expect_all(const char *text, int v6, const enum nat_verdict want[7])
{
	assert_int_equal(nat_listing_whole(text, strlen(text)), 0);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(fam(v6)[i].v6, v6);
		if (nat_listing_judge(text, &fam(v6)[i]) != want[i])
			fail_msg("step %d (%s): %s, wanted %s", i, fam(v6)[i].name,
				 nat_verdict_name(nat_listing_judge(text, &fam(v6)[i])),
				 nat_verdict_name(want[i]));
	}
}

static void test_in_place(void **state)
{
	static const enum nat_verdict all[7] = { NAT_IN_PLACE, NAT_IN_PLACE, NAT_IN_PLACE,
						 NAT_IN_PLACE, NAT_IN_PLACE, NAT_IN_PLACE,
						 NAT_IN_PLACE };
	char *v6;

	(void)state;
	expect_all(nft4_ours, 0, all);
	/* the same for IPv6 (its own set, its own warning) */
	v6 = strdup(WARN6 POLICIES "-N L4LB-MASQ\n-N L4LB-VIPS\n"
		    "-A PREROUTING -j L4LB-VIPS\n-A OUTPUT -j L4LB-VIPS\n"
		    "-A POSTROUTING -j L4LB-MASQ\n" MASQ VIPS("l4lb-vips6"));
	expect_all(v6, 1, all);
	/* the IPv4 set's rule is not the IPv6 one */
	assert_int_equal(nat_listing_judge(nft4_ours, &fam(1)[3]), NAT_UNTOLD);
	free(v6);
}

/* A fresh node: every chain missing, so is every jump; the rules' chains
 * are not listed, so their own check decides (their chain step makes it) */
static void test_fresh(void **state)
{
	static const enum nat_verdict want[7] = { NAT_MISSING, NAT_MISSING, NAT_UNTOLD,
						  NAT_UNTOLD, NAT_MISSING, NAT_MISSING,
						  NAT_MISSING };

	(void)state;
	expect_all(legacy4_empty, 0, want);
}

/* Docker's jump above ipvsd's in OUTPUT, a RETURN above the masquerade's:
 * misplaced (moved back); the ACCEPT with another comment beside ipvsd's
 * changes nothing */
static void test_foreign_above(void **state)
{
	static const enum nat_verdict want[7] = { NAT_IN_PLACE, NAT_IN_PLACE, NAT_IN_PLACE,
						  NAT_IN_PLACE, NAT_MISPLACED, NAT_MISPLACED,
						  NAT_IN_PLACE };

	(void)state;
	expect_all(legacy6_foreign, 1, want);
}

/* Edits of a captured listing (a copy: edit(text)): `cut` removed (every
 * copy), or `line` inserted before `before`. Both take the text over. */
static char *edit(const char *text)
{
	return strdup(text);
}

static char *without(char *s, const char *cut)
{
	char *p;

	while ((p = strstr(s, cut)))
		memmove(p, p + strlen(cut), strlen(p + strlen(cut)) + 1);
	return s;
}

static char *with(char *text, const char *before, const char *line)
{
	const char *p = strstr(text, before);
	char *s = malloc(strlen(text) + strlen(line) + 1);

	assert_non_null(p);
	memcpy(s, text, (size_t)(p - text));
	strcpy(s + (p - text), line);
	strcat(s, p);
	free(text);
	return s;
}

static void test_missing(void **state)
{
	char *t;

	(void)state;
	/* a chain missing, with its rule and its jump */
	t = without(without(without(edit(nft4_ours), "-N L4LB-MASQ\n"), MASQ),
		    "-A POSTROUTING -j L4LB-MASQ\n");
	assert_int_equal(nat_listing_whole(t, strlen(t)), 0);
	assert_int_equal(nat_listing_judge(t, &fam(0)[0]), NAT_MISSING);
	assert_int_equal(nat_listing_judge(t, &fam(0)[1]), NAT_IN_PLACE);
	assert_int_equal(nat_listing_judge(t, &fam(0)[4]), NAT_MISSING);
	free(t);
	/* the rule missing from its empty chain: missing */
	t = without(edit(nft4_ours), MASQ);
	assert_int_equal(nat_listing_judge(t, &fam(0)[2]), NAT_MISSING);
	assert_int_equal(nat_listing_judge(t, &fam(0)[3]), NAT_IN_PLACE);
	free(t);
	/* the jump missing from a chain that holds docker's: missing */
	t = without(edit(legacy6_foreign), "-A OUTPUT -j L4LB-VIPS\n");
	assert_int_equal(nat_listing_judge(t, &fam(1)[5]), NAT_MISSING);
	assert_int_equal(nat_listing_judge(t, &fam(1)[6]), NAT_IN_PLACE);
	free(t);
}

/* What the listing cannot tell is left to the piece's own check. */
static void test_cannot_tell(void **state)
{
	char *t;

	(void)state;
	/* ipvsd's ACCEPT gone, one that differs only in its comment left:
	 * -C decides (it finds it missing) */
	t = without(edit(legacy6_foreign), VIPS("l4lb-vips6"));
	assert_int_equal(nat_listing_judge(t, &fam(1)[3]), NAT_UNTOLD);
	free(t);
	/* the masquerade printed in another form (an iptables printing
	 * "--ipvs"): maybe ipvsd's, so -C decides, never a second copy */
	t = with(without(edit(nft4_ours), MASQ), "-A L4LB-VIPS",
		 "-A L4LB-MASQ -m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -m comment "
		 "--comment \"l4lb: IPVS masquerade\" -j MASQUERADE\n");
	assert_int_equal(nat_listing_judge(t, &fam(0)[2]), NAT_UNTOLD);
	free(t);
	/* a jump to L4LB-VIPS in another form in OUTPUT (a goto, a comment):
	 * not ipvsd's exact rule, yet -S OUTPUT 1 decides */
	t = with(without(edit(nft4_ours), "-A OUTPUT -j L4LB-VIPS\n"), "-A POSTROUTING",
		 "-A OUTPUT -m comment --comment \"x\" -g L4LB-VIPS\n");
	assert_int_equal(nat_listing_judge(t, &fam(0)[5]), NAT_UNTOLD);
	free(t);
	/* a jump to a chain whose name only starts like ipvsd's: missing */
	t = with(without(edit(nft4_ours), "-A OUTPUT -j L4LB-VIPS\n"), "-A POSTROUTING",
		 "-A OUTPUT -j L4LB-VIPS-OLD\n");
	assert_int_equal(nat_listing_judge(t, &fam(0)[5]), NAT_MISSING);
	free(t);
}

/* The jump below another rule, and ipvsd's twice (first and lower). */
static void test_jump_below(void **state)
{
	char *t;

	(void)state;
	t = with(edit(nft4_ours), "-A PREROUTING -j L4LB-VIPS",
		 "-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.9:80\n");
	assert_int_equal(nat_listing_judge(t, &fam(0)[6]), NAT_MISPLACED);
	assert_int_equal(nat_listing_judge(t, &fam(0)[5]), NAT_IN_PLACE);
	free(t);
	t = with(edit(legacy6_foreign), "-A OUTPUT -m addrtype", "-A OUTPUT -j L4LB-VIPS\n");
	assert_int_equal(nat_listing_judge(t, &fam(1)[5]), NAT_IN_PLACE);
	free(t);
}

/* Anything but a whole listing is refused as a whole. */
static void test_not_whole(void **state)
{
	char buf[4096];
	size_t n = strlen(nft4_ours);

	(void)state;
	/* cut in the middle of a line (a listing over the size cap) */
	memcpy(buf, nft4_ours, n - 10);
	buf[n - 10] = 0;
	assert_int_equal(nat_listing_whole(buf, n - 10), -EBADMSG);
	/* cut before a built-in chain's policy */
	memcpy(buf, nft4_ours, strlen(WARN4) + 21);
	buf[strlen(WARN4) + 21] = 0;
	assert_string_equal(buf + strlen(WARN4), "-P PREROUTING ACCEPT\n");
	assert_int_equal(nat_listing_whole(buf, strlen(buf)), -EBADMSG);
	/* an error message with exit 0, nothing, a NUL inside */
	assert_int_equal(nat_listing_whole("iptables: No chain/target/match by that name.\n", 46),
			 -EBADMSG);
	assert_int_equal(nat_listing_whole("", 0), -EBADMSG);
	assert_int_equal(nat_listing_whole(nft4_ours, n + 1), -EBADMSG);
	/* a line no listing has, in the middle */
	snprintf(buf, sizeof(buf), "%sgarbage\n%s", POLICIES, MASQ);
	assert_int_equal(nat_listing_whole(buf, strlen(buf)), -EBADMSG);
	assert_int_equal(nat_listing_whole(legacy4_empty, strlen(legacy4_empty)), 0);
}

/* iptables-nft 1.8.9 prints a comment's newline as it is (captured: `-A
 * OUTPUT -m comment --comment "$(printf 'x\n-A POSTROUTING -j L4LB-MASQ\n-A
 * OUTPUT')" -j RETURN`, then a RETURN alone in POSTROUTING): the comment's
 * lines read like ipvsd's jump first in POSTROUTING, which is not there. Not
 * a whole listing: each piece's own check decides. A quote escaped inside a
 * comment is no such line. */
static void test_newline_in_comment(void **state)
{
	static const char t[] =
		POLICIES "-N L4LB-MASQ\n-N L4LB-VIPS\n"
		"-A OUTPUT -m comment --comment \"x\n-A POSTROUTING -j L4LB-MASQ\n"
		"-A OUTPUT\" -j RETURN\n-A POSTROUTING -j RETURN\n" MASQ;
	static const char escaped[] =
		POLICIES "-A OUTPUT -m comment --comment \"say \\\"hi\\\" \\\\\" -j RETURN\n";

	(void)state;
	assert_int_equal(nat_listing_whole(t, strlen(t)), -EBADMSG);
	assert_int_equal(nat_listing_whole(escaped, strlen(escaped)), 0);
}

/* A big table (kube-proxy's thousands of rules around ipvsd's) is judged
 * the same. */
static void test_big_table(void **state)
{
	size_t cap = 200000 * 96, len = 0;
	char *t = malloc(cap);

	(void)state;
	len += (size_t)snprintf(t, cap, "%s-N KUBE-SVC\n", nft4_ours);
	for (int i = 0; i < 20000; i++)
		len += (size_t)snprintf(t + len, cap - len,
					"-A KUBE-SVC -d 10.%d.%d.1/32 -p tcp -m tcp --dport %d "
					"-j DNAT --to-destination 172.17.0.%d:80\n",
					i / 256, i % 256, 1000 + i, i % 250);
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(t + len, cap - len,
					"-A OUTPUT -d 10.9.%d.%d/32 -j KUBE-SVC\n", i / 256, i % 256);
	assert_int_equal(nat_listing_whole(t, len), 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(nat_listing_judge(t, &fam(0)[i]), NAT_IN_PLACE);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_place),     cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_foreign_above), cmocka_unit_test(test_missing),
		cmocka_unit_test(test_cannot_tell),  cmocka_unit_test(test_jump_below),
		cmocka_unit_test(test_not_whole),    cmocka_unit_test(test_big_table),
		cmocka_unit_test(test_newline_in_comment),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
