/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overlayd put together: the core on the TCP transport, its timer, the
 * reachability snapshot published on overlayd.pub, OVERLAY_STATE_REQUEST
 * on overlayd.rep and the status facts.
 */
#ifndef OVERLAYD_SERVICE_H
#define OVERLAYD_SERVICE_H

#include "common/daemon.h"
#include "overlayd/config.h"

struct service;

struct service *service_new(struct daemon *d, struct ipc_pub *pub, const struct overlayd_cfg *c);
void service_free(struct service *s);

/* The reachability snapshot as an Envelope (for the publisher and
 * tests); 0 or -errno. */
int service_pack_reachability(struct overlay *o, uint64_t publisher_epoch, struct ipc_buf *out);

#endif
