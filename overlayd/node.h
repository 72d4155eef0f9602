/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A node's identity: its IP address (4 or 16 raw bytes), plus the TCP port
 * it listens on. Two ids name the same node when their addresses match; the
 * port only says where to connect.
 */
#ifndef OVERLAYD_NODE_H
#define OVERLAYD_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/overlay.pb-c.h"

#define OVERLAY_DEFAULT_PORT 61420
#define NODE_STR_MAX 56

typedef L4lb__Overlay__V1__NodeId PbNodeId;

struct node_id {
	uint8_t ip[16];
	uint8_t len; /* 4 or 16; 0 = unset */
	uint16_t port;
};

/* Orders by address only (identity). */
int node_cmp(const struct node_id *a, const struct node_id *b);
static inline int node_eq(const struct node_id *a, const struct node_id *b)
{
	return node_cmp(a, b) == 0;
}

/* "10.0.0.1:61420" / "[fd00::1]:61420" into buf (NODE_STR_MAX); returns buf. */
const char *node_str(const struct node_id *n, char *buf);
/* Address only ("10.0.0.1"). */
const char *node_ip_str(const struct node_id *n, char *buf);

/* Parses "ip", "ip:port", "[ip6]:port"; a missing port is default_port.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) gives the IPv4 node, here
 * and in node_from_pb and node_from_sockaddr. 0 or -EINVAL. */
int node_parse(const char *s, uint16_t default_port, struct node_id *out);

/* From a peer's message: 0, or -EINVAL if the address or port is bad. */
int node_from_pb(const PbNodeId *pb, struct node_id *out);
/* Fills pb pointing into n (n must outlive pb). */
void node_to_pb(const struct node_id *n, PbNodeId *pb);

/* fe80::/10: usable only with the interface it is on (a scope). */
int node_is_link_local(const struct node_id *n);

/* Open mode: may a connection from `source` speak as `claimed`? 0; or
 * -EAFNOSUPPORT when the families differ (a node's identity is one
 * address, so it cannot connect from it to a peer of the other family);
 * or -EADDRNOTAVAIL when the addresses differ. */
int node_identity_check(const struct node_id *claimed, const struct node_id *source);

/* Socket addresses: ss filled from n (returns its length); out from sa,
 * an IPv4-mapped IPv6 address as the IPv4 node (0 or -EAFNOSUPPORT). */
socklen_t node_to_sockaddr(const struct node_id *n, struct sockaddr_storage *ss);
int node_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct node_id *out);

#endif
