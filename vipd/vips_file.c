// SPDX-License-Identifier: Apache-2.0
/*
 * Static VIPs. The file is operator configuration (small), so yajl's tree
 * API is fine here, unlike for the master's state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "vipd/vips_file.h"

static yajl_val get(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };

	return yajl_tree_get(obj, path, yajl_t_any);
}

static int get_port(yajl_val obj, const char *key, int required, uint16_t *out)
{
	yajl_val v = get(obj, key);

	if (!v)
		return required ? -ENOENT : 0;
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 1 || YAJL_GET_INTEGER(v) > 65535)
		return -ERANGE;
	*out = (uint16_t)YAJL_GET_INTEGER(v);
	return 0;
}

static int get_ip(yajl_val obj, const char *key, uint8_t ip[16])
{
	yajl_val v = get(obj, key);
	const char *s = YAJL_GET_STRING(v);

	if (!s)
		return 0;
	return vip_ip_parse(s, strlen(s), ip);
}

static int parse_backend(yajl_val b, uint8_t vfam, struct backend *out, const char **why,
			 const char **field)
{
	yajl_val w;

	memset(out, 0, sizeof(*out));
	*field = "ip";
	if (!YAJL_IS_OBJECT(b)) {
		*field = "";
		*why = "not an object";
		return -EINVAL;
	}
	if (!(out->family = (uint8_t)get_ip(b, "ip", out->ip))) {
		*why = "missing or not an IP address";
		return -EINVAL;
	}
	if (out->family != vfam) {
		*why = "not the VIP's address family";
		return -EINVAL;
	}
	*field = "port";
	if (get_port(b, "port", 1, &out->port) < 0) {
		*why = "missing or not in 1..65535";
		return -EINVAL;
	}
	*field = "agent_ip";
	if (get(b, "agent_ip")) {
		uint8_t aip[16];

		if (get_ip(b, "agent_ip", aip) != 4) {
			*why = "not an IPv4 address";
			return -EINVAL;
		}
		memcpy(out->agent_ip, aip, 4);
	} else if (out->family == 4) {
		memcpy(out->agent_ip, out->ip, 4);
	}
	*field = "weight";
	out->weight = 1;
	if ((w = get(b, "weight"))) {
		if (!YAJL_IS_INTEGER(w) || YAJL_GET_INTEGER(w) < 0 || YAJL_GET_INTEGER(w) > 1) {
			*why = "must be 0 or 1";
			return -EINVAL;
		}
		out->weight = (uint8_t)YAJL_GET_INTEGER(w);
	}
	*field = "task_ip";
	if (get(b, "task_ip")) {
		if (!(out->task_family = (uint8_t)get_ip(b, "task_ip", out->task_ip))) {
			*why = "not an IP address";
			return -EINVAL;
		}
		*field = "task_port";
		if (get_port(b, "task_port", 1, &out->task_port) < 0) {
			*why = "missing or not in 1..65535";
			return -EINVAL;
		}
	}
	return 0;
}

struct vip_table *vips_parse(const char *text, size_t len, char *err, size_t errlen)
{
	char *buf = malloc(len + 1), yerr[256] = "";
	struct vip_table *t = vip_table_new();
	yajl_val root = NULL, vips;
	const char *why = NULL, *field = "";
	size_t i = 0, j = 0;
	int in_backend = 0;

	if (!buf || !t) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	root = yajl_tree_parse(buf, yerr, sizeof(yerr));
	if (!root) {
		for (char *c = yerr; *c; c++)
			if (*c == '\n')
				*c = ' ';
		snprintf(err, errlen, "malformed JSON: %s", yerr);
		goto fail;
	}
	vips = get(root, "vips");
	if (!YAJL_IS_OBJECT(root) || !YAJL_IS_ARRAY(vips)) {
		snprintf(err, errlen, "top level: expected {\"vips\":[...]}");
		goto fail;
	}
	for (i = 0; i < YAJL_GET_ARRAY(vips)->len; i++) {
		yajl_val o = YAJL_GET_ARRAY(vips)->values[i], bs, ls, pv;
		uint8_t ip[16] = { 0 }, proto, fam;
		const char *ps, *name = NULL;
		uint16_t port = 0;
		struct vip *v;

		in_backend = 0;
		field = "";
		if (!YAJL_IS_OBJECT(o)) {
			why = "not an object";
			goto bad;
		}
		field = "protocol";
		pv = get(o, "protocol");
		ps = YAJL_GET_STRING(pv);
		if (!ps || !(proto = vip_proto_parse(ps, strlen(ps)))) {
			why = "must be \"tcp\" or \"udp\"";
			goto bad;
		}
		field = "ip";
		if (!(fam = (uint8_t)get_ip(o, "ip", ip))) {
			why = "missing or not an IP address";
			goto bad;
		}
		field = "port";
		if (get_port(o, "port", 1, &port) < 0) {
			why = "missing or not in 1..65535";
			goto bad;
		}
		field = "name";
		if ((pv = get(o, "name")) && !(name = YAJL_GET_STRING(pv))) {
			why = "not a string";
			goto bad;
		}
		if (!(v = vip_table_add(t, proto, fam, ip, port, name)))
			goto nomem;
		field = "labels";
		ls = get(o, "labels");
		if (ls && !YAJL_IS_ARRAY(ls)) {
			why = "not an array";
			goto bad;
		}
		for (size_t k = 0; ls && k < YAJL_GET_ARRAY(ls)->len; k++) {
			const char *l = YAJL_GET_STRING(YAJL_GET_ARRAY(ls)->values[k]);

			if (!l) {
				why = "not an array of strings";
				goto bad;
			}
			if (vip_add_label(v, l) < 0)
				goto nomem;
		}
		field = "backends";
		bs = get(o, "backends");
		if (bs && !YAJL_IS_ARRAY(bs)) {
			why = "not an array";
			goto bad;
		}
		in_backend = 1;
		for (j = 0; bs && j < YAJL_GET_ARRAY(bs)->len; j++) {
			struct backend b;

			if (parse_backend(YAJL_GET_ARRAY(bs)->values[j], fam, &b, &why, &field) < 0)
				goto bad;
			if (vip_add_backend(v, &b) < 0)
				goto nomem;
		}
	}
	vip_table_sort(t);
	yajl_tree_free(root);
	free(buf);
	return t;
bad:
	if (in_backend)
		snprintf(err, errlen, "vips[%zu].backends[%zu]%s%s: %s", i, j, *field ? "." : "",
			 field, why);
	else
		snprintf(err, errlen, "vips[%zu]%s%s: %s", i, *field ? "." : "", field, why);
	goto fail;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	yajl_tree_free(root);
	free(buf);
	vip_table_free(t);
	return NULL;
}

struct vip_table *vips_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, e[256];
	size_t len = 0;
	struct vip_table *t = NULL;
	long sz;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || sz > (64l << 20) ||
	    fseek(f, 0, SEEK_SET) < 0) {
		snprintf(err, errlen, "%s: unreadable or larger than 64 MiB", path);
		goto done;
	}
	text = malloc((size_t)sz + 1);
	if (!text || (len = fread(text, 1, (size_t)sz, f)) != (size_t)sz) {
		snprintf(err, errlen, "%s: read failed", path);
		goto done;
	}
	t = vips_parse(text, len, e, sizeof(e));
	if (!t)
		snprintf(err, errlen, "%s: %s", path, e);
done:
	free(text);
	fclose(f);
	return t;
}
