// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/ipset_list.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <string.h>

#include "ipvsd/nl_dump.h"

/* One member: IPSET_ATTR_DATA { IP { IPADDR_IPV4 | IPADDR_IPV6 }, PORT, PROTO }. */
static int member(struct nlattr *data, struct key_set *out)
{
	struct nlattr *tb[IPSET_ATTR_ADT_MAX + 1], *ip[IPSET_ATTR_IPADDR_MAX + 1];
	struct svc_key k = { 0 };

	if (nla_parse_nested(tb, IPSET_ATTR_ADT_MAX, data, NULL) < 0 || !tb[IPSET_ATTR_IP] ||
	    !tb[IPSET_ATTR_PORT] || !tb[IPSET_ATTR_PROTO] ||
	    nla_parse_nested(ip, IPSET_ATTR_IPADDR_MAX, tb[IPSET_ATTR_IP], NULL) < 0)
		return 0; /* not a hash:ip,port member: not ours to read */
	if (ip[IPSET_ATTR_IPADDR_IPV4] && nla_len(ip[IPSET_ATTR_IPADDR_IPV4]) == 4) {
		k.af = AF_INET;
		memcpy(k.addr, nla_data(ip[IPSET_ATTR_IPADDR_IPV4]), 4);
	} else if (ip[IPSET_ATTR_IPADDR_IPV6] && nla_len(ip[IPSET_ATTR_IPADDR_IPV6]) == 16) {
		k.af = AF_INET6;
		memcpy(k.addr, nla_data(ip[IPSET_ATTR_IPADDR_IPV6]), 16);
	} else {
		return 0;
	}
	if (nla_len(tb[IPSET_ATTR_PORT]) != 2 || nla_len(tb[IPSET_ATTR_PROTO]) != 1)
		return 0;
	k.port = ntohs(nla_get_u16(tb[IPSET_ATTR_PORT])); /* sent in network order */
	k.proto = nla_get_u8(tb[IPSET_ATTR_PROTO]);
	return key_set_add(out, &k);
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct ipset_list *c = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1], *a;
	int rem;

	if (nlmsg_parse(h, sizeof(struct nfgenmsg), tb, IPSET_ATTR_CMD_MAX, NULL) < 0)
		return NL_SKIP;
	/* the header part names the type: another type's members would read as
	 * none (a set of that name made by someone else) */
	if (tb[IPSET_ATTR_TYPENAME] && strcmp(nla_get_string(tb[IPSET_ATTR_TYPENAME]),
					      "hash:ip,port") != 0) {
		c->err = -EMEDIUMTYPE;
		return NL_STOP;
	}
	if (!tb[IPSET_ATTR_ADT])
		return NL_OK; /* the header part of the dump */
	nla_for_each_nested(a, tb[IPSET_ATTR_ADT], rem)
		if (nla_type(a) == IPSET_ATTR_DATA && member(a, c->out) < 0) {
			c->err = -ENOMEM;
			return NL_STOP;
		}
	return NL_OK;
}

int ipset_list_start(struct ipset_list *l, const char *set, struct key_set *out)
{
	struct nfgenmsg g = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0 };
	struct nl_msg *m;
	int rc = -ENOMEM;

	ipset_list_abort(l);
	*l = (struct ipset_list){ .out = out };
	m = nlmsg_alloc_simple((NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_LIST,
			       NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
	if (m && nlmsg_append(m, &g, sizeof(g), NLMSG_ALIGNTO) == 0 &&
	    nla_put_u8(m, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL) == 0 &&
	    nla_put_string(m, IPSET_ATTR_SETNAME, set) == 0)
		rc = nl_dump_start(NETLINK_NETFILTER, m, on_msg, l, &l->dump);
	nlmsg_free(m);
	return rc;
}

int ipset_list_step(struct ipset_list *l, uint64_t budget_us)
{
	int rc = l->dump ? nl_dump_step(l->dump, budget_us) : -EINVAL;

	if (rc == 0)
		return 0;
	if (l->err < 0) /* the handler's own verdict (another type, no memory) */
		rc = l->err;
	else if (rc == -ENOENT || rc == -EADDRNOTAVAIL) /* no set of that name */
		rc = -ENOENT;
	else if (rc < 0 && rc != -ENOMEM && rc != -EINTR && rc != -ENOBUFS)
		rc = -EIO; /* kept: an inconsistent or overrun dump is read again */
	ipset_list_abort(l);
	return rc;
}

void ipset_list_abort(struct ipset_list *l)
{
	nl_dump_free(l->dump);
	l->dump = NULL;
}

int ipset_list_members(const char *set, struct key_set *out)
{
	struct ipset_list l = { 0 };
	int rc = ipset_list_start(&l, set, out);

	if (rc == 0)
		rc = ipset_list_step(&l, UINT64_MAX); /* without limit: to the end */
	ipset_list_abort(&l);
	return rc < 0 ? rc : 0;
}
