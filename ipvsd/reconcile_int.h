/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the reconciler (reconcile.c, reconcile_pass.c): its state, and the
 * steps the full pass in slices shares with the event path. Not for other
 * modules: they use reconcile.h.
 */
#ifndef IPVSD_RECONCILE_INT_H
#define IPVSD_RECONCILE_INT_H

#include "ipvsd/backoff.h"
#include "ipvsd/full_pass.h"
#include "ipvsd/ipset_list.h"
#include "ipvsd/reconcile.h"
#include "ipvsd/state_file.h"
#include "ipvsd/vip_addr.h"
#include "ipvsd/vip_set.h"
#include "ipvsd/vipwalk.h"

/* Up to this many changed services, a new VIP table is diffed for those
 * services only (O(changed)); more, and the whole table is diffed. */
#define RECONCILE_FAST_MAX 64

struct reconciler {
	struct reconcile_cfg cfg;
	struct event_base *base;
	struct event *periodic, *soon, *drain_timer, *feed_timer, *reach_timer;
	struct ipvs_nl *nl;      /* NULL only in a dry run without IPVS */
	struct vip_addr *va;
	struct vip_set *vs;
	struct nat_check *nat; /* NULL in a dry run */
	int nat_ready;           /* the first rules check has finished */
	int addrs_waiting;       /* ... and VIP addresses wait for it */
	struct owned owned;
	struct ipvsd_state state; /* what the state file holds */
	int state_dirty;          /* its last write failed: write again */
	struct ipvs_table *cand; /* the VIP table's services; NULL until the first */
	struct reach_set *reach; /* NULL until the first snapshot */
	int reach_waited;        /* ... and no longer waited for (cfg.reach_wait_ms) */
	struct ipvs_table *desired;
	struct ipvs_table *kernel; /* what the kernel holds, as far as ipvsd knows */
	struct key_set addrs, members;
	int have_kernel;
	struct retry retry; /* failed passes in a row: the retry backs off */
	int synced; /* the first reconcile with a VIP table is done, addresses too */
	int ready;  /* READY=1 sent (at synced, or after READY_WAIT_MS without it) */
	uint64_t start_ms;
	struct drains drains;
	struct svc_key drain_cursor; /* the last service a drain tick looked at */
	size_t drain_looks;          /* services due for a look at the last tick */
	struct full_pass pass; /* the periodic full reconcile, in slices */
	struct event *slice_ev;
	/* its one-dump stages, read a few parts per slice (reconcile_pass.c) */
	struct ipvs_table *pass_svcs; /* the service list being read */
	struct key_set pass_addrs;    /* the addresses being read */
	struct key_set pass_members;  /* the ipset members being read */
	struct ipset_list pass_set;   /* ... of set pass_set_i (0 IPv4, 1 IPv6) */
	int pass_set_i;
	int pass_reading;             /* a stage's dump has started */
	uint64_t svc_gen, addr_gen, member_gen; /* changed by ipvsd: services, ... */
	uint64_t read_gen;            /* ... when the stage's dump started */
	int ipvs_unread; /* IPVS not read yet: no recorded VIP is forgotten */
	struct plan plan;
	int *errs;
	size_t errs_cap;
	uint64_t vip_gen, reach_gen;
	size_t withheld, last_changes, last_failed;
	size_t start_changes; /* planned since start, until synced (held addresses come later) */
	uint64_t last_apply_us;
	uint64_t last_full_us; /* the last full pass: kernel dump, diff, apply */
	uint64_t rx_us;      /* when the snapshot being applied arrived */
	uint64_t ipvs_us;    /* time in IPVS batches during the last apply */
	uint64_t addr_us, set_us; /* ... in address and ipset batches */
	struct svc_key changed[RECONCILE_FAST_MAX]; /* VIP-table services that changed */
	/* The raw fast path (reconcile_vip_peek/apply): the walk of the table
	 * cand was built from (valid if walk_prev_ok) and of the one arriving. */
	struct vipwalk walk_prev, walk_next;
	int walk_prev_ok;
	int walk_next_ok;  /* walk_next is the message being delivered */
	uint64_t peek_us; /* when it arrived */
	/* Following deltas (vip_follow.c): the table cand holds, and where
	 * snapshots come from when a delta does not fit. */
	struct ipc_sub *vip_sub;
	uint64_t vip_epoch;
	int vip_held;
	int vip_check;       /* the next snapshot is compared in full */
	uint64_t resync_ms;  /* when a snapshot was last asked for */
	int resync_pending;  /* one was wanted within a second of the last */
	int want_any;        /* ... and any snapshot answers it, or one of */
	uint64_t want_epoch, want_gen; /* this epoch, this generation or newer */
	uint64_t heard_gen;  /* the newest generation of vip_epoch heard of */
	/* The publisher a snapshot of a new epoch replaced (a restarted vipd)
	 * and the newest generation heard of from it: its deltas still queued
	 * here, the same or older, are leftovers (vip_deltas_left_over);
	 * none once a table of it is held again (table_held). */
	int left_valid;
	uint64_t left_epoch, left_gen;
	uint64_t delta_ms;   /* when the delta feed last said anything */
};

/* reconcile.c */
/* Owned, or programmed by ipvsd: worth dumping the destinations of. */
int reconcile_want_dests(const struct svc_key *k, void *arg);
/* A full pass soon, backing off while failures persist; during a pass, at
 * its end (a pass counts as one failure however many of its steps fail). */
void reconcile_retry_later(struct reconciler *r);
/* The interface made right (recorded if ipvsd made it). 0 or -errno. */
int reconcile_ensure_if(struct reconciler *r);
/* The addresses could not be read (rc): counted, logged; the model keeps
 * the last ones read. Returns rc. */
int reconcile_addrs_unread(struct reconciler *r, int rc);
/* The ipset members read into the model (a set that cannot be read keeps
 * its last members, counted). Always 0. */
int reconcile_refresh_members(struct reconciler *r);
/* Diff everything and apply (counters_fresh: the model was just dumped). */
void reconcile_run(struct reconciler *r, int counters_fresh);
/* Diff the services keys (sorted) against the desired table as it is. */
void reconcile_run_look(struct reconciler *r, int counters_fresh, const struct svc_key *keys,
			size_t n);
/* The whole model read at once, then one diff. 0 or -errno. */
int reconcile_full(struct reconciler *r);
/* The sysctls and the nat rules (in the background), at every pass. */
void reconcile_checks(struct reconciler *r);
/* The end of a pass (at once, or in slices): the retry if it failed. */
void reconcile_pass_over(struct reconciler *r);

/* reconcile_pass.c */
/* Service k's destinations and counters from the kernel into the model,
 * read aside: a dump that fails part way leaves what ipvsd knew (0 when
 * the service is no longer in the model). */
int reconcile_read_dests(struct reconciler *r, const struct svc_key *k);
/* Drops a pass in slices (superseded, failed, freed) and its dumps. */
void reconcile_pass_abort(struct reconciler *r);
/* Starts a full pass in slices once the model exists (else reconcile_full);
 * one asked for while a pass runs follows it. count_repairs: a periodic
 * pass, its changes are counted as repairs. */
void reconcile_pass_start(struct reconciler *r, int count_repairs);
/* The slice timer's callback (r->slice_ev). */
void reconcile_pass_on_slice(evutil_socket_t fd, short what, void *arg);
/* "412/10001 services read" of the running pass, into buf. */
char *reconcile_pass_progress(const struct reconciler *r, char *buf, size_t size);
/* "; during a full pass (...)", or "" when none runs. */
const char *reconcile_pass_note(const struct reconciler *r, char *buf, size_t size);

#endif
