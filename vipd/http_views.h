/* SPDX-License-Identifier: Apache-2.0 */
#ifndef L4LB_VIPD_HTTP_VIEWS_H
#define L4LB_VIPD_HTTP_VIEWS_H

#include "common/daemon.h"

/*
 * Registers vipd's metrics (status facts, counter help, the publish delay
 * histogram) and, when the HTTP endpoint runs, /v1/vips:
 *   [{"vip":"10.0.0.1:80","protocol":"tcp","name":"web.marathon...",
 *     "labels":["/web:80"],"backend":[{"ip":"10.0.1.5","port":31000,
 *     "weight":1,"agent_ip":"10.0.1.5","task_ip":"9.0.0.5","task_port":80}]}]
 * After daemon_start. 0 or -errno.
 */
int vipd_http_init(struct daemon *d);

#endif
