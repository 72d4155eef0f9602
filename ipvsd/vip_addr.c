// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/vip_addr.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/log.h"
#include "ipvsd/nl_batch.h"
#include "ipvsd/nl_dump.h"

struct list_ctx {
	int ifindex;
	struct key_set *out;
	int err;
};

struct vip_addr {
	struct nl_sock *sk;
	int ifindex;
	int created;
	int dry_run, any_type;
	char ifname[IFNAMSIZ];
	struct nl_dump *list; /* the addresses being read, if any */
	struct list_ctx list_ctx;
};

/* An interface of another type is someone else's (lo, eth0, a bridge): its
 * addresses and its state are not ipvsd's to manage, so it is refused unless
 * the operator said otherwise. */
static int link_check_type(struct vip_addr *va, struct rtnl_link *link)
{
	const char *type = rtnl_link_get_type(link);

	if (va->any_type || (type && !strcmp(type, "dummy")))
		return 0;
	log_error("vip-addr: interface %s exists and is not a dummy interface (type %s): "
		  "refusing to put VIPs on it (choose another --interface, or allow it with "
		  "--any-interface)", va->ifname, type ? type : "none");
	return -EINVAL;
}

static int link_ensure(struct vip_addr *va)
{
	int dry_run = va->dry_run;
	struct rtnl_link *link = NULL, *req = NULL;
	int rc;

	rc = rtnl_link_get_kernel(va->sk, 0, va->ifname, &link);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
		if (dry_run) {
			log_info("dry-run: would create dummy interface %s", va->ifname);
			return 0;
		}
		req = rtnl_link_alloc();
		if (!req)
			return -ENOMEM;
		rtnl_link_set_name(req, va->ifname);
		rtnl_link_set_type(req, "dummy");
		rtnl_link_set_flags(req, IFF_UP);
		rc = rtnl_link_add(va->sk, req, NLM_F_CREATE);
		rtnl_link_put(req);
		req = NULL;
		if (rc < 0 && rc != -NLE_EXIST) {
			log_error("vip-addr: cannot create dummy interface %s: %s%s", va->ifname,
				  nl_geterror(rc),
				  rc == -NLE_PERM ? " (ipvsd needs CAP_NET_ADMIN)" : "");
			return rc == -NLE_PERM ? -EPERM : -EIO;
		}
		log_info("vip-addr: created dummy interface %s", va->ifname);
		if (va->ifindex) { /* it was there before: deleted behind ipvsd's back */
			counter_inc("interface_repairs");
			log_warn("vip-addr: interface %s had disappeared: created again",
				 va->ifname);
		}
		va->created = rc == 0;
		rc = rtnl_link_get_kernel(va->sk, 0, va->ifname, &link);
	} else if (rc == 0 && (rc = link_check_type(va, link)) < 0) {
		rtnl_link_put(link);
		return rc;
	}
	if (rc < 0) {
		log_error("vip-addr: interface %s: %s", va->ifname, nl_geterror(rc));
		return -EIO;
	}
	if (va->ifindex && va->ifindex != rtnl_link_get_ifindex(link))
		log_warn("vip-addr: interface %s was replaced (index %d, was %d)", va->ifname,
			 rtnl_link_get_ifindex(link), va->ifindex);
	va->ifindex = rtnl_link_get_ifindex(link);
	if (!(rtnl_link_get_flags(link) & IFF_UP) && !dry_run) {
		/* found down at open, or set down since: either way it goes up */
		log_info("vip-addr: setting %s up", va->ifname);
		counter_inc("interface_ups");
		req = rtnl_link_alloc();
		if (!req) {
			rc = -ENOMEM;
			goto done;
		}
		rtnl_link_set_flags(req, IFF_UP);
		rc = rtnl_link_change(va->sk, link, req, 0);
		if (rc < 0) {
			log_error("vip-addr: cannot set %s up: %s", va->ifname, nl_geterror(rc));
			rc = -EIO;
			goto done;
		}
	}
	rc = 0;
done:
	rtnl_link_put(req);
	rtnl_link_put(link);
	return rc;
}

int vip_addr_open(const char *ifname, int dry_run, int any_type, struct vip_addr **out)
{
	struct vip_addr *va = calloc(1, sizeof(*va));
	int rc;

	*out = NULL;
	if (!va)
		return -ENOMEM;
	snprintf(va->ifname, sizeof(va->ifname), "%s", ifname);
	va->dry_run = dry_run;
	va->any_type = any_type;
	va->sk = nl_socket_alloc();
	if (!va->sk) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = nl_connect(va->sk, NETLINK_ROUTE)) < 0) {
		log_error("vip-addr: route socket: %s", nl_geterror(rc));
		rc = -EIO;
		goto fail;
	}
	nl_batch_tune(va->sk);
	if ((rc = link_ensure(va)) < 0)
		goto fail;
	*out = va;
	return 0;
fail:
	vip_addr_close(va);
	return rc;
}

void vip_addr_close(struct vip_addr *va)
{
	if (!va)
		return;
	nl_dump_free(va->list);
	nl_socket_free(va->sk);
	free(va);
}

int vip_addr_ensure(struct vip_addr *va)
{
	return link_ensure(va);
}

int vip_addr_created(const struct vip_addr *va)
{
	return va->created;
}

int vip_addr_delete_link(struct vip_addr *va)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int rc;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_ifindex(link, va->ifindex);
	rc = rtnl_link_delete(va->sk, link);
	rtnl_link_put(link);
	if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV) {
		log_error("vip-addr: cannot delete interface %s: %s", va->ifname, nl_geterror(rc));
		return -EIO;
	}
	va->ifindex = 0;
	return 0;
}

/* One RTM_NEWADDR of the dump, parsed as it comes (no libnl cache: at
 * 10,000 addresses building its objects is most of the cost). The address
 * is IFA_LOCAL, or IFA_ADDRESS when there is no peer (IPv6). */
static int list_one(struct nl_msg *msg, void *arg)
{
	struct list_ctx *c = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFA_MAX + 1], *a;
	const struct ifaddrmsg *ifa;
	struct svc_key k = { 0 };
	int af;

	if (h->nlmsg_type != RTM_NEWADDR || nlmsg_parse(h, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return NL_OK;
	ifa = nlmsg_data(h);
	af = ifa->ifa_family;
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if ((int)ifa->ifa_index != c->ifindex || !a || (af != AF_INET && af != AF_INET6) ||
	    nla_len(a) != (int)af_len(af))
		return NL_OK;
	k.af = (uint8_t)af;
	memcpy(k.addr, nla_data(a), af_len(af));
	if (af == AF_INET6 && k.addr[0] == 0xfe && (k.addr[1] & 0xc0) == 0x80)
		return NL_OK; /* the kernel's own link-local address */
	if (key_set_add(c->out, &k) < 0)
		c->err = -ENOMEM;
	return NL_OK;
}

int vip_addr_list_start(struct vip_addr *va, struct key_set *out)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC };
	struct nl_msg *msg;
	int rc = -ENOMEM;

	vip_addr_list_abort(va);
	out->n = 0;
	va->list_ctx = (struct list_ctx){ .ifindex = va->ifindex, .out = out };
	if (!va->ifindex)
		return 0; /* dry run without the interface: nothing to read */
	msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_DUMP);
	if (msg && nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) == 0)
		rc = nl_dump_start(NETLINK_ROUTE, msg, list_one, &va->list_ctx, &va->list);
	nlmsg_free(msg);
	return rc;
}

int vip_addr_list_step(struct vip_addr *va, uint64_t budget_us)
{
	int rc = 1; /* no interface (a dry run): nothing to read */

	if (!va->list_ctx.out)
		return -EINVAL; /* not started */
	if (va->list)
		rc = nl_dump_step(va->list, budget_us);
	if (rc == 1 && va->list_ctx.err < 0)
		rc = va->list_ctx.err;
	if (rc < 0)
		log_warn("vip-addr: listing addresses: %s", strerror(-rc));
	if (rc == 1)
		key_set_sort(va->list_ctx.out);
	if (rc != 0)
		vip_addr_list_abort(va); /* done with, either way */
	return rc;
}

void vip_addr_list_abort(struct vip_addr *va)
{
	nl_dump_free(va->list);
	va->list = NULL;
	va->list_ctx.out = NULL;
}

int vip_addr_list(struct vip_addr *va, struct key_set *out)
{
	int rc = vip_addr_list_start(va, out);

	if (rc == 0)
		rc = vip_addr_list_step(va, UINT64_MAX);
	return rc < 0 ? rc : 0;
}

static struct rtnl_addr *op_addr(struct vip_addr *va, const struct plan_op *op)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local;
	int af = op->key.af;

	if (!a)
		return NULL;
	local = nl_addr_build(af, op->key.addr, af_len(af));
	if (!local) {
		rtnl_addr_put(a);
		return NULL;
	}
	nl_addr_set_prefixlen(local, af == AF_INET ? 32 : 128);
	rtnl_addr_set_ifindex(a, va->ifindex);
	rtnl_addr_set_family(a, af);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_prefixlen(a, af == AF_INET ? 32 : 128);
	if (af == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD); /* usable at once */
	nl_addr_put(local);
	return a;
}

int vip_addr_apply(struct vip_addr *va, const struct plan_op *ops, size_t n, int *errs)
{
	struct nl_msg *msgs[NL_BATCH_MAX];
	size_t i = 0, m = 0;
	int rc = 0;

	for (; i < n && rc == 0; i += m) {
		size_t want = n - i < NL_BATCH_MAX ? n - i : NL_BATCH_MAX;

		for (m = 0; m < want; m++) {
			struct rtnl_addr *a = op_addr(va, &ops[i + m]);
			int r = -NLE_NOMEM;

			if (a)
				r = ops[i + m].type == OP_ADD_ADDR
					    ? rtnl_addr_build_add_request(a, 0, &msgs[m])
					    : rtnl_addr_build_delete_request(a, 0, &msgs[m]);
			rtnl_addr_put(a);
			if (r < 0) {
				rc = -ENOMEM;
				break;
			}
		}
		if (rc == 0)
			rc = nl_batch_send(va->sk, msgs, m, &errs[i]);
		counter_add("addr_writes", m);
		for (size_t j = 0; j < m; j++) {
			int *e = &errs[i + j];

			nlmsg_free(msgs[j]);
			/* already there / already gone */
			if ((*e == -EEXIST && ops[i + j].type == OP_ADD_ADDR) ||
			    ((*e == -EADDRNOTAVAIL || *e == -ENOENT || *e == -ENODEV) &&
			     ops[i + j].type == OP_DEL_ADDR))
				*e = 0;
		}
	}
	for (size_t j = i; j < n; j++)
		errs[j] = rc;
	return rc;
}
