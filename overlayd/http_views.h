/* SPDX-License-Identifier: Apache-2.0 */
#ifndef L4LB_OVERLAYD_HTTP_VIEWS_H
#define L4LB_OVERLAYD_HTTP_VIEWS_H

#include "common/daemon.h"

/*
 * Registers overlayd's metrics (status facts, per-link RTT and pings) and,
 * when the HTTP endpoint runs, /v1/nodes:
 *   {"self":"10.0.0.1","nodes":[{"ip":"10.0.0.2","reachable":true,
 *     "since_unix_ms":..,"via":"10.0.0.2","hops":1,"active":true}],
 *    "active":[{"ip":"10.0.0.2","rtt_us":[..],"timeout_us":..,"pings":..,
 *     "timeouts":..}],"passive":["10.0.0.3"]}
 * After daemon_start. 0 or -errno.
 */
int overlayd_http_init(struct daemon *d);

#endif
