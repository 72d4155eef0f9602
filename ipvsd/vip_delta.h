/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A new VIP table applied to the candidate services by what changed in its
 * bytes: only VIPs whose bytes differ from the previous table's (or that
 * appeared or disappeared) are unpacked, so one changed backend costs
 * O(changed VIPs) plus a hash of the message, not a full unpack and
 * rebuild. Pure: no kernel, no sockets.
 */
#ifndef IPVSD_VIP_DELTA_H
#define IPVSD_VIP_DELTA_H

#include "ipvsd/desired.h"
#include "ipvsd/model.h"
#include "ipvsd/vipwalk.h"

/*
 * cand holds desired_candidates() of the table `prev` walked; `next` is the
 * walk of the packed envelope `data`. Patches cand into the candidates of
 * `data` and puts the keys of the services that changed into keys[max],
 * sorted by svc_key_cmp, their number in *n. Returns 0; -E2BIG if more than
 * max VIPs changed; -EPROTO if a changed VIP does not unpack (or its key is
 * not the walker's) — cand untouched in both cases: use the full path; or
 * -ENOMEM, after which cand may be half patched and must be rebuilt.
 */
int vip_delta_apply(struct ipvs_table *cand, const struct vipwalk *prev,
		    const struct vipwalk *next, const uint8_t *data, const struct desired_cfg *cfg,
		    struct svc_key *keys, size_t max, size_t *n);

#endif
