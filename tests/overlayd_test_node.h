/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the overlayd unit tests share: node i's id (10.0.0.i, or 10.x.y.z
 * for i past 255, port 61420) and a transport close that does nothing.
 */
#ifndef TESTS_OVERLAYD_TEST_NODE_H
#define TESTS_OVERLAYD_TEST_NODE_H

#include <stdint.h>

#include "overlayd/node.h"

static inline struct node_id N(uint32_t i)
{
	struct node_id n = { .ip = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i },
			     .len = 4, .port = 61420 };

	return n;
}

static inline void t_close_nothing(void *ctx, const struct node_id *peer)
{
	(void)ctx;
	(void)peer;
}

#endif
