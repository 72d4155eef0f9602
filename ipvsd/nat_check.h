/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nat rules check, off the event loop: one child process at a time,
 * each watched through libevent (its output pipe, then its exit), so a slow
 * iptables (seconds per call in an emulated VM, or waiting for the xtables
 * lock) never delays a snapshot on its way to the kernel. Per family, one
 * listing of the nat table judges the steps of nat_rules.c (nat_listing.h);
 * then only the repairs run, and the checks of what the listing could not
 * tell; a family with none of its pieces there is put in place by one
 * iptables-restore (falling back to one repair per piece if it fails), so
 * a first start runs 4 processes, not 16. A check that finds a piece
 * missing puts it back. Never more than
 * one check at a time; a call taking over a minute is killed.
 */
#ifndef IPVSD_NAT_CHECK_H
#define IPVSD_NAT_CHECK_H

#include <event2/event.h>
#include <stdint.h>

struct nat_check;

/* Called when a check has finished (ok or not). */
typedef void (*nat_check_done_fn)(void *arg);

/* done may be NULL. */
int nat_check_new(struct event_base *base, nat_check_done_fn done, void *arg,
		  struct nat_check **out);
/* Kills a call still running (iptables commits each change atomically). */
void nat_check_free(struct nat_check *c);

/* Starts a check: 0, -EBUSY while one runs, or -errno when the first
 * command cannot be started (-ENOENT: iptables is not installed). */
int nat_check_start(struct nat_check *c);

/* "never", "running", "ok" or "failed" (the last finished check). */
const char *nat_check_state(const struct nat_check *c);
/* Duration of the last finished check in milliseconds. */
uint64_t nat_check_last_ms(const struct nat_check *c);

#endif
