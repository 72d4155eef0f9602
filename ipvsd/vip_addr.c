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

struct vip_addr {
	struct nl_sock *sk;
	int ifindex;
	char ifname[IFNAMSIZ];
};

static int link_ensure(struct vip_addr *va, int dry_run)
{
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
		rc = rtnl_link_get_kernel(va->sk, 0, va->ifname, &link);
	}
	if (rc < 0) {
		log_error("vip-addr: interface %s: %s", va->ifname, nl_geterror(rc));
		return -EIO;
	}
	va->ifindex = rtnl_link_get_ifindex(link);
	if (!(rtnl_link_get_flags(link) & IFF_UP) && !dry_run) {
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

int vip_addr_open(const char *ifname, int dry_run, struct vip_addr **out)
{
	struct vip_addr *va = calloc(1, sizeof(*va));
	int rc;

	*out = NULL;
	if (!va)
		return -ENOMEM;
	snprintf(va->ifname, sizeof(va->ifname), "%s", ifname);
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
	if ((rc = link_ensure(va, dry_run)) < 0)
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
	nl_socket_free(va->sk);
	free(va);
}

struct list_ctx {
	int ifindex;
	struct key_set *out;
	int err;
};

static void list_one(struct nl_object *obj, void *arg)
{
	struct list_ctx *c = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(a);
	struct svc_key k = { 0 };
	int af;

	if (rtnl_addr_get_ifindex(a) != c->ifindex || !local)
		return;
	af = nl_addr_get_family(local);
	if ((af != AF_INET && af != AF_INET6) || nl_addr_get_len(local) != af_len(af))
		return;
	k.af = (uint8_t)af;
	memcpy(k.addr, nl_addr_get_binary_addr(local), af_len(af));
	if (af == AF_INET6 && k.addr[0] == 0xfe && (k.addr[1] & 0xc0) == 0x80)
		return; /* the kernel's own link-local address */
	if (key_set_add(c->out, &k) < 0)
		c->err = -ENOMEM;
}

int vip_addr_list(struct vip_addr *va, struct key_set *out)
{
	struct nl_cache *cache = NULL;
	struct list_ctx c = { .ifindex = va->ifindex, .out = out };
	int rc;

	out->n = 0;
	if (!va->ifindex)
		return 0; /* dry run without the interface */
	rc = rtnl_addr_alloc_cache(va->sk, &cache);
	if (rc < 0) {
		log_warn("vip-addr: listing addresses: %s", nl_geterror(rc));
		return -EIO;
	}
	nl_cache_foreach(cache, list_one, &c);
	nl_cache_free(cache);
	key_set_sort(out);
	return c.err;
}

int vip_addr_apply(struct vip_addr *va, const struct plan_op *op)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	int af = op->key.af, rc = -ENOMEM;

	if (!a)
		return -ENOMEM;
	local = nl_addr_build(af, op->key.addr, af_len(af));
	if (!local)
		goto done;
	nl_addr_set_prefixlen(local, af == AF_INET ? 32 : 128);
	rtnl_addr_set_ifindex(a, va->ifindex);
	rtnl_addr_set_family(a, af);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_prefixlen(a, af == AF_INET ? 32 : 128);
	if (af == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD); /* usable at once */
	counter_inc("addr_writes");
	if (op->type == OP_ADD_ADDR) {
		rc = rtnl_addr_add(va->sk, a, 0);
		if (rc == -NLE_EXIST)
			rc = 0;
	} else {
		rc = rtnl_addr_delete(va->sk, a, 0);
		if (rc == -NLE_NOADDR || rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
			rc = 0;
	}
	if (rc < 0) {
		log_warn("vip-addr: %s on %s: %s", op->type == OP_ADD_ADDR ? "add" : "delete",
			 va->ifname, nl_geterror(rc));
		rc = -EIO;
	}
done:
	nl_addr_put(local);
	rtnl_addr_put(a);
	return rc;
}
