/* SPDX-License-Identifier: Apache-2.0 */
/* ipvsd's command-line options and config keys (section [ipvsd]). */
#ifndef IPVSD_OPTIONS_H
#define IPVSD_OPTIONS_H

#include "common/opts.h"
#include "ipvsd/reconcile.h"

extern const struct opt ipvsd_opts[];

/* Defaults: scheduler wlc, interface minuteman, 30 s period, 300 s grace. */
void ipvsd_options_defaults(struct reconcile_cfg *cfg);
/* opt_apply_fn for ipvsd_opts; ctx is a struct reconcile_cfg. */
const char *ipvsd_options_apply(int key, const char *value, void *ctx);
/* After parsing: the default VIP ranges when none was given. */
void ipvsd_options_finish(struct reconcile_cfg *cfg);

#endif
