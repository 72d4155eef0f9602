/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Judging ipvsd's nat pieces from one listing of the nat table
 * (`iptables -w -t nat -S`, nat_rules_listing()) instead of one process
 * per piece. Pure: text in, verdict out.
 *
 * The listing only ever says "missing" when that cannot put in a second
 * copy: a listing that is not whole is refused as a whole, and a piece
 * whose text may just be printed differently (another iptables version) is
 * "cannot tell", for its own check command to decide.
 */
#ifndef IPVSD_NAT_LISTING_H
#define IPVSD_NAT_LISTING_H

#include <stddef.h>

#include "ipvsd/nat_rules.h"

enum nat_verdict {
	NAT_IN_PLACE,
	NAT_MISSING,   /* not there at all: put it in */
	NAT_MISPLACED, /* a jump found below another rule: move it */
	NAT_UNTOLD,    /* cannot tell from the listing: run the step's check */
};

/* 0 when text (len bytes, NUL-terminated) reads as a whole listing of a
 * nat table: every line ends with a newline and is a "-P", "-N" or "-A"
 * line with its quotes closed (a comment holding a newline would print
 * lines of its own) or a '#' warning (iptables-nft's "# Warning:
 * iptables-legacy tables present"), and the built-in chains PREROUTING,
 * OUTPUT and POSTROUTING are there. -EBADMSG otherwise. */
int nat_listing_whole(const char *text, size_t len);

/* The step's verdict from a listing nat_listing_whole() accepted. */
enum nat_verdict nat_listing_judge(const char *text, const struct nat_step *s);

/* "in place", "missing", "misplaced" or "cannot tell", for logs. */
const char *nat_verdict_name(enum nat_verdict v);

#endif
