/* SPDX-License-Identifier: Apache-2.0 */
#ifndef L4LB_IPVSD_HTTP_VIEWS_H
#define L4LB_IPVSD_HTTP_VIEWS_H

#include "common/daemon.h"

/*
 * Registers ipvsd's metrics: status facts (services, destinations, withheld
 * backends...), kernel writes by kind, the reconcile duration histogram and
 * the kernel's own IPVS counters per VIP and per backend (ipvs_stats.c).
 * After daemon_start; the kernel's counters are read on r's IPVS socket.
 * 0 or -errno.
 */
struct reconciler;
int ipvsd_http_init(struct daemon *d, struct reconciler *r);

#endif
