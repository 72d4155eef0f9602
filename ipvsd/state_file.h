/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvsd's state file, <state-dir>/ipvsd.state: what ipvsd must remember
 * across restarts because the kernel cannot tell it —
 *   the IP VIPs outside the owned ranges it programmed (one removed from
 *   the VIP table while ipvsd was down is still its own to remove, and
 *   --cleanup knows it), and
 *   whether it created the dummy interface (--cleanup deletes it then).
 * Text, one fact per line:
 *   interface minuteman created
 *   vip tcp 10.1.2.3 80
 * Written atomically (temporary file, fsync, rename) and only on change.
 */
#ifndef IPVSD_STATE_FILE_H
#define IPVSD_STATE_FILE_H

#include "ipvsd/plan.h"

#define STATE_FILE_NAME "ipvsd.state"

struct ipvsd_state {
	struct key_set vips; /* sorted */
	char made_if[16];    /* the interface ipvsd created, or "" */
};

void ipvsd_state_clear(struct ipvsd_state *st);

/* Pure: text -> state. Bad lines are reported (report_bad_input
 * "state_file") and skipped. 0 or -ENOMEM. */
int ipvsd_state_parse(const char *text, struct ipvsd_state *st);
/* Pure: state -> text (malloc'd, NUL-terminated). 0 or -ENOMEM. */
int ipvsd_state_format(const struct ipvsd_state *st, char **out);

/* Reads dir/ipvsd.state: a missing file is an empty state. 0 or -errno. */
int ipvsd_state_load(const char *dir, struct ipvsd_state *st);
/* Writes it atomically, creating dir if needed. 0 or -errno (logged). */
int ipvsd_state_save(const char *dir, const struct ipvsd_state *st);
/* Removes the file (--cleanup). 0 or -errno; a missing file is fine. */
int ipvsd_state_remove(const char *dir);

#endif
