// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/vipwalk.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/array.h"
#include "common/envelope.h"
#include "common/hash.h"

/* Protobuf wire types */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct rd {
	const uint8_t *p, *end;
};

struct field {
	uint32_t num;
	int wt;
	uint64_t v;       /* WT_VARINT */
	const uint8_t *s; /* WT_LEN */
	size_t n;
};

/* protobuf-c reads values of up to 10 bytes, tags and lengths of up to 5:
 * a longer (padded) one would be refused by the full path, so here too. */
static int rd_varint(struct rd *r, uint64_t *v, int max)
{
	uint64_t x = 0;

	for (int i = 0; i < max; i++) {
		uint8_t b;

		if (r->p >= r->end)
			return -EPROTO;
		b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EPROTO;
}

static int rd_field(struct rd *r, struct field *f)
{
	uint64_t tag, n;

	if (rd_varint(r, &tag, 5) < 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return -EPROTO;
	f->num = (uint32_t)(tag >> 3);
	f->wt = (int)(tag & 7);
	switch (f->wt) {
	case WT_VARINT:
		return rd_varint(r, &f->v, 10);
	case WT_I64:
	case WT_I32:
		n = f->wt == WT_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return -EPROTO;
		r->p += n;
		return 0;
	case WT_LEN:
		if (rd_varint(r, &n, 5) < 0 || n > (size_t)(r->end - r->p))
			return -EPROTO;
		f->s = r->p;
		f->n = (size_t)n;
		r->p += n;
		return 0;
	default: /* groups: protobuf-c's business, not ours */
		return -EPROTO;
	}
}

int vipwalk_key_cmp(const struct svc_key *a, const struct svc_key *b)
{
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	int c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return vipwalk_key_cmp(&((const struct vipwalk_entry *)a)->key,
			       &((const struct vipwalk_entry *)b)->key);
}

/* The key of one Vip: protocol (1), ip (3), port (4), the last occurrence
 * winning as in protobuf. Anything the full path might read otherwise is
 * refused. */
static int vip_key(const uint8_t *s, size_t n, struct svc_key *k)
{
	struct rd r = { s, s + n };
	uint64_t proto = 0, port = 0;
	const uint8_t *ip = NULL;
	size_t iplen = 0;
	struct field f;

	while (r.p < r.end) {
		if (rd_field(&r, &f) < 0)
			return -EPROTO;
		if (f.num == 1 || f.num == 4) {
			if (f.wt != WT_VARINT)
				return -EPROTO;
			*(f.num == 1 ? &proto : &port) = f.v;
		} else if (f.num == 3) {
			if (f.wt != WT_LEN)
				return -EPROTO;
			ip = f.s;
			iplen = f.n;
		}
	}
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || !ip || (iplen != 4 && iplen != 16) ||
	    port == 0 || port > 65535)
		return -EPROTO;
	memset(k, 0, sizeof(*k));
	k->af = iplen == 4 ? AF_INET : AF_INET6;
	k->proto = (uint8_t)proto;
	k->port = (uint16_t)port;
	memcpy(k->addr, ip, iplen);
	return 0;
}

static int walk_table(const uint8_t *base, const uint8_t *s, size_t n, struct vipwalk *w)
{
	struct rd r = { s, s + n };
	struct field f;

	while (r.p < r.end) {
		if (rd_field(&r, &f) < 0)
			return -EPROTO;
		switch (f.num) {
		case 1: /* generation */
		case 4: /* publisher_epoch */
		case 5: /* updated_unix_ms */
			if (f.wt != WT_VARINT)
				return -EPROTO;
			if (f.num == 1)
				w->gen = f.v;
			else if (f.num == 4)
				w->epoch = f.v;
			break;
		case 2: /* source */
			if (f.wt != WT_LEN)
				return -EPROTO;
			break;
		case 3: { /* a Vip */
			struct vipwalk_entry *e;

			if (f.wt != WT_LEN)
				return -EPROTO;
			if (array_grow((void **)&w->e, &w->cap, w->n + 1, sizeof(*w->e), 256) < 0)
				return -ENOMEM;
			e = &w->e[w->n];
			if (vip_key(f.s, f.n, &e->key) < 0)
				return -EPROTO;
			e->off = (uint32_t)(f.s - base);
			e->len = (uint32_t)f.n;
			/* the whole table is hashed on every snapshot: a fast hash */
			e->hash = hash64(f.s, f.n, 0);
			w->n++;
			break;
		}
		default: /* unknown fields are skipped by protobuf-c as well */
			break;
		}
	}
	return 0;
}

int vipwalk_parse(const uint8_t *data, size_t len, struct vipwalk *w)
{
	struct rd r = { data, data + len };
	const uint8_t *table = NULL;
	size_t table_len = 0;
	uint64_t type = 0;
	int n_type = 0;
	struct field f;
	int rc;

	w->n = 0;
	w->epoch = w->gen = 0;
	if (len > ENVELOPE_MAX_SIZE)
		return -EPROTO;
	while (r.p < r.end) {
		if (rd_field(&r, &f) < 0)
			return -EPROTO;
		if (f.num == 1 && f.wt == WT_VARINT) {
			type = f.v;
			n_type++;
		} else if (f.num == 13 && f.wt == WT_LEN && !table) {
			table = f.s;
			table_len = f.n;
		} else {
			/* another body, or a second table protobuf-c would merge */
			return -EPROTO;
		}
	}
	if (n_type != 1 || type != L4LB__V1__ENVELOPE__TYPE__VIP_TABLE || !table)
		return -EPROTO;
	if ((rc = walk_table(data, table, table_len, w)) < 0)
		return rc;
	for (size_t i = 1; i < w->n; i++) {
		if (entry_cmp(&w->e[i - 1], &w->e[i]) >= 0) {
			/* not in vipd's order (another publisher): sort */
			qsort(w->e, w->n, sizeof(*w->e), entry_cmp);
			break;
		}
	}
	for (size_t i = 1; i < w->n; i++)
		if (entry_cmp(&w->e[i - 1], &w->e[i]) == 0)
			return -EPROTO; /* the full path merges duplicates */
	return 0;
}

void vipwalk_clear(struct vipwalk *w)
{
	if (!w)
		return;
	free(w->e);
	memset(w, 0, sizeof(*w));
}
