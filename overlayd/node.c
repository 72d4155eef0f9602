// SPDX-License-Identifier: Apache-2.0
#include "overlayd/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) names the IPv4 node: a
 * dual-stack socket reports an IPv4 peer that way, so an identity given
 * or sent in that form must compare equal to the IPv4 one. */
static void canon(struct node_id *n)
{
	if (n->len == 16 && !memcmp(n->ip, mapped_prefix, 12)) {
		memmove(n->ip, n->ip + 12, 4);
		memset(n->ip + 4, 0, 12);
		n->len = 4;
	}
}

int node_cmp(const struct node_id *a, const struct node_id *b)
{
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->ip, b->ip, a->len);
}

const char *node_ip_str(const struct node_id *n, char *buf)
{
	if (n->len == 4)
		inet_ntop(AF_INET, n->ip, buf, NODE_STR_MAX);
	else if (n->len == 16)
		inet_ntop(AF_INET6, n->ip, buf, NODE_STR_MAX);
	else
		snprintf(buf, NODE_STR_MAX, "?");
	return buf;
}

const char *node_str(const struct node_id *n, char *buf)
{
	char ip[NODE_STR_MAX];
	unsigned port = n->port;

	node_ip_str(n, ip);
	if (n->len == 16)
		snprintf(buf, NODE_STR_MAX, "[%.46s]:%u", ip, port % 65536);
	else
		snprintf(buf, NODE_STR_MAX, "%.46s:%u", ip, port % 65536);
	return buf;
}

int node_parse(const char *s, uint16_t default_port, struct node_id *out)
{
	char host[NODE_STR_MAX];
	const char *port = NULL;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return -EINVAL;
		hl = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -EINVAL;
		s++;
	} else {
		const char *c = strchr(s, ':');

		/* More than one colon without brackets: a bare IPv6 address. */
		if (c && !strchr(c + 1, ':')) {
			hl = (size_t)(c - s);
			port = c + 1;
		} else {
			hl = strlen(s);
		}
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (inet_pton(AF_INET, host, out->ip) == 1)
		out->len = 4;
	else if (inet_pton(AF_INET6, host, out->ip) == 1)
		out->len = 16;
	else
		return -EINVAL;
	canon(out);
	out->port = default_port;
	if (port) {
		char *end;
		unsigned long p;

		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || *end || end == port || p == 0 || p > 65535)
			return -EINVAL;
		out->port = (uint16_t)p;
	}
	return 0;
}

int node_from_pb(const PbNodeId *pb, struct node_id *out)
{
	memset(out, 0, sizeof(*out));
	if (!pb || !pb->has_ip || (pb->ip.len != 4 && pb->ip.len != 16))
		return -EINVAL;
	if (!pb->has_port || pb->port == 0 || pb->port > 65535)
		return -EINVAL;
	memcpy(out->ip, pb->ip.data, pb->ip.len);
	out->len = (uint8_t)pb->ip.len;
	out->port = (uint16_t)pb->port;
	canon(out);
	return 0;
}

int node_is_link_local(const struct node_id *n)
{
	return n->len == 16 && n->ip[0] == 0xfe && (n->ip[1] & 0xc0) == 0x80;
}

int node_identity_check(const struct node_id *claimed, const struct node_id *source)
{
	if (claimed->len != source->len)
		return -EAFNOSUPPORT;
	return node_eq(claimed, source) ? 0 : -EADDRNOTAVAIL;
}

void node_to_pb(const struct node_id *n, PbNodeId *pb)
{
	l4lb__overlay__v1__node_id__init(pb);
	pb->has_ip = 1;
	pb->ip.data = (uint8_t *)n->ip;
	pb->ip.len = n->len;
	pb->has_port = 1;
	pb->port = n->port;
}

socklen_t node_to_sockaddr(const struct node_id *n, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (n->len == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, n->ip, 4);
		s4->sin_port = htons(n->port);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, n->ip, 16);
	s6->sin6_port = htons(n->port);
	return sizeof(*s6);
}

int node_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct node_id *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(out->ip, &s4->sin_addr, 4);
		out->len = 4;
		out->port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(out->ip, &s6->sin6_addr, 16);
		out->len = 16;
		out->port = ntohs(s6->sin6_port);
		canon(out); /* an IPv4 peer on a dual-stack socket */
		return 0;
	}
	return -EAFNOSUPPORT;
}
