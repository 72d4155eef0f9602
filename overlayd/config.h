/* SPDX-License-Identifier: Apache-2.0 */
/* overlayd's options (flags and [overlayd] keys of the config file). */
#ifndef OVERLAYD_CONFIG_H
#define OVERLAYD_CONFIG_H

#include "common/opts.h"
#include "overlayd/frame.h"
#include "overlayd/overlay.h"

struct overlayd_cfg {
	struct node_id self;   /* --node-ip (port from --listen) */
	struct node_id listen; /* --listen, default 0.0.0.0:61420 */
	const char *state_dir; /* --state-dir: the epoch file lives there */
	struct node_id seeds[OVERLAY_MAX_SEEDS];
	size_t n_seeds;
	struct frame_key *key; /* --cluster-key-file; NULL: open */
	int trust_ids;         /* --trust-peer-ids */
	struct overlay_params p;
};

extern const struct opt overlayd_opts[];

void overlayd_cfg_init(struct overlayd_cfg *c);
const char *overlayd_cfg_apply(int key, const char *value, void *ctx);
void overlayd_cfg_free(struct overlayd_cfg *c);
/* Cross-option checks after parsing; NULL or the reason. */
const char *overlayd_cfg_finish(struct overlayd_cfg *c);

/* Reads the cluster key: the file's bytes without trailing white space,
 * FRAME_KEY_MIN..FRAME_KEY_MAX of them. NULL, or why not. */
const char *overlayd_key_load(const char *path, struct frame_key **out);

/* Reads <dir>/epoch, writes back one more and returns it (0 on error,
 * logged). Without a dir the wall clock in ms serves (also increasing
 * across restarts). */
uint64_t overlayd_epoch_bump(const char *dir);
/* Writes epoch to <dir>/epoch (atomically, synced): the epoch the node
 * took over from its own earlier life when the file was lost (gossip.c),
 * so that the next start bumps past that one. 0 or -errno (logged). */
int overlayd_epoch_save(const char *dir, uint64_t epoch);

#endif
