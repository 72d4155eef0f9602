// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/nat_listing.h"

#include <errno.h>
#include <string.h>

/* The next line of *p (without its newline) into *line, *n; 0 at the end. */
static int line_next(const char **p, const char **line, size_t *n)
{
	const char *nl;

	if (**p == 0)
		return 0;
	nl = strchr(*p, '\n');
	*line = *p;
	*n = nl ? (size_t)(nl - *p) : strlen(*p);
	*p = nl ? nl + 1 : *p + *n;
	return 1;
}

/* Whether the line is "OP NAME" followed by a space (rest = 1) or ends
 * there (rest = 0). */
static int line_of(const char *l, size_t n, const char *op, const char *name, int rest)
{
	size_t o = strlen(op), k = strlen(name);

	if (n < o + 1 + k || memcmp(l, op, o) || l[o] != ' ' || memcmp(l + o + 1, name, k))
		return 0;
	return rest ? n > o + 1 + k && l[o + 1 + k] == ' ' : n == o + 1 + k;
}

static int line_is(const char *l, size_t n, const char *want)
{
	return strlen(want) == n && !memcmp(l, want, n);
}

/* Whether word appears in the line as a whole word (between spaces, or at
 * an end, or in quotes: a comment naming it counts too). */
static int line_has_word(const char *l, size_t n, const char *word)
{
	size_t k = strlen(word);

	for (size_t i = 0; i + k <= n; i++) {
		if (memcmp(l + i, word, k))
			continue;
		if ((i == 0 || l[i - 1] == ' ' || l[i - 1] == '"') &&
		    (i + k == n || l[i + k] == ' ' || l[i + k] == '"'))
			return 1;
	}
	return 0;
}

/* Whether the line's double quotes are closed (a backslash escapes the next
 * character, as iptables prints a '"' or '\\' inside a quoted string).
 * iptables prints a comment's newline as it is: an open quote means the next
 * lines are that comment's text, which may read like any rule ("x\n-A
 * POSTROUTING -j L4LB-MASQ\n-A OUTPUT" looks like ipvsd's jump in place). */
static int line_quotes_closed(const char *l, size_t n)
{
	int open = 0;

	for (size_t i = 0; i < n; i++) {
		if (l[i] == '\\')
			i++;
		else if (l[i] == '"')
			open = !open;
	}
	return !open;
}

int nat_listing_whole(const char *text, size_t len)
{
	static const char *const builtin[] = { "PREROUTING", "OUTPUT", "POSTROUTING" };
	unsigned seen = 0;
	const char *p = text, *l;
	size_t n;

	/* a NUL inside, or a last line cut short (no newline) */
	if (strlen(text) != len || len == 0 || text[len - 1] != '\n')
		return -EBADMSG;
	while (line_next(&p, &l, &n)) {
		if (n > 0 && l[0] == '#')
			continue;
		if (n < 4 || l[0] != '-' || !strchr("PNA", l[1]) || l[2] != ' ' ||
		    !line_quotes_closed(l, n))
			return -EBADMSG;
		for (unsigned i = 0; i < 3; i++)
			if (line_of(l, n, "-P", builtin[i], 1))
				seen |= 1u << i;
	}
	return seen == 7 ? 0 : -EBADMSG;
}

/* A chain of ipvsd's: there or not; its name cannot be printed otherwise. */
static enum nat_verdict judge_chain(const char *text, const struct nat_step *s)
{
	const char *p = text, *l;
	size_t n;

	while (line_next(&p, &l, &n))
		if (line_of(l, n, "-N", s->name, 0))
			return NAT_IN_PLACE;
	return NAT_MISSING;
}

/* A rule anywhere in ipvsd's own chain (what -C finds). Missing only when
 * the chain holds no rule at all: another rule there may be ours printed
 * in another form. A chain not listed is left to the check: the chain's
 * own step has just put it in, or failed to. */
static enum nat_verdict judge_rule(const char *text, const struct nat_step *s)
{
	const char *p = text, *l;
	size_t n;
	int chain = 0, others = 0;

	while (line_next(&p, &l, &n)) {
		if (line_of(l, n, "-N", s->name, 0))
			chain = 1;
		else if (line_is(l, n, s->listed))
			return NAT_IN_PLACE;
		else if (line_of(l, n, "-A", s->name, 1))
			others = 1;
	}
	return !chain || others ? NAT_UNTOLD : NAT_MISSING;
}

/* A jump that must be the first rule of a built-in chain (what -S NAME 1
 * shows). Found first: in place; found lower: misplaced. Not found, it is
 * missing only when no rule of the chain names the chain it jumps to. */
static enum nat_verdict judge_first(const char *text, const struct nat_step *s)
{
	const char *p = text, *l, *target = strrchr(s->listed, ' ');
	size_t n;
	int first = 1, named = 0, policy = 0;

	if (!target)
		return NAT_UNTOLD;
	target++;
	while (line_next(&p, &l, &n)) {
		if (line_of(l, n, "-P", s->name, 1))
			policy = 1;
		if (!line_of(l, n, "-A", s->name, 1))
			continue;
		if (line_is(l, n, s->listed))
			return first ? NAT_IN_PLACE : NAT_MISPLACED;
		first = 0;
		named |= line_has_word(l, n, target);
	}
	return !policy || named ? NAT_UNTOLD : NAT_MISSING;
}

enum nat_verdict nat_listing_judge(const char *text, const struct nat_step *s)
{
	switch (s->kind) {
	case NAT_KIND_CHAIN:
		return judge_chain(text, s);
	case NAT_KIND_RULE:
		return s->listed ? judge_rule(text, s) : NAT_UNTOLD;
	case NAT_KIND_FIRST:
		return s->listed ? judge_first(text, s) : NAT_UNTOLD;
	}
	return NAT_UNTOLD;
}

const char *nat_verdict_name(enum nat_verdict v)
{
	switch (v) {
	case NAT_IN_PLACE:
		return "in place";
	case NAT_MISSING:
		return "missing";
	case NAT_MISPLACED:
		return "misplaced";
	case NAT_UNTOLD:
		break;
	}
	return "cannot tell";
}
