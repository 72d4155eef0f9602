// SPDX-License-Identifier: Apache-2.0
/* The VIP table: building, canonical order, comparison and JSON output. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/array.h"
#include "vipd/named_set.h"
#include "vipd/vip_table.h"

struct vip_table *vip_table_new(void)
{
	return calloc(1, sizeof(struct vip_table));
}

static void vip_purge(struct vip *v)
{
	free(v->name);
	for (size_t i = 0; i < v->nlabels; i++)
		free(v->labels[i]);
	free(v->labels);
	free(v->lrefs);
	free(v->b);
	free(v->packed);
}

void vip_table_free(struct vip_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		vip_purge(&t->v[i]);
	free(t->v);
	named_set_free(t->names);
	free(t);
}

int vip_table_packed_all(const struct vip_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (!t->v[i].packed)
			return 0;
	return 1;
}

void vip_table_slim(struct vip_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct vip *v = &t->v[i];

		for (size_t k = 0; k < v->nlabels; k++)
			free(v->labels[k]);
		free(v->labels);
		free(v->lrefs);
		free(v->b);
		v->labels = NULL;
		v->lrefs = NULL;
		v->b = NULL;
		v->nlabels = v->capl = v->nb = v->capb = 0;
	}
	named_set_free(t->names);
	t->names = NULL;
}

int vip_table_packed_equal(const struct vip_table *a, const struct vip_table *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct vip *x = &a->v[i], *y = &b->v[i];

		if (!x->packed || !y->packed || x->packed_len != y->packed_len ||
		    memcmp(x->packed, y->packed, x->packed_len))
			return 0;
	}
	return 1;
}

struct vip *vip_table_add(struct vip_table *t, uint8_t proto, uint8_t family, const uint8_t *ip,
			  uint16_t port, const char *name)
{
	struct vip *v;

	if (array_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v), 16) < 0)
		return NULL;
	v = &t->v[t->n];
	memset(v, 0, sizeof(*v));
	v->proto = proto;
	v->family = family;
	v->port = port;
	if (ip)
		memcpy(v->ip, ip, (size_t)vip_ip_len(family));
	if (name && !(v->name = strdup(name)))
		return NULL;
	t->n++;
	return v;
}

int vip_add_backend(struct vip *v, const struct backend *b)
{
	if (array_grow((void **)&v->b, &v->capb, v->nb + 1, sizeof(*v->b), 4) < 0)
		return -ENOMEM;
	v->b[v->nb++] = *b;
	return 0;
}

static uint32_t add_sat(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

/* n more references to label, a new one at pos. */
static int label_add(struct vip *v, const char *label, uint32_t n, size_t pos)
{
	uint32_t *r;
	char *copy;

	for (size_t i = 0; i < v->nlabels; i++)
		if (!strcmp(v->labels[i], label)) {
			v->lrefs[i] = add_sat(v->lrefs[i], n);
			return 0;
		}
	if (array_grow((void **)&v->labels, &v->capl, v->nlabels + 1, sizeof(*v->labels), 1) < 0)
		return -ENOMEM;
	/* Exactly sized: a VIP has a label or two, and a new label is rare. */
	if (!(r = realloc(v->lrefs, (v->nlabels + 1) * sizeof(*r))))
		return -ENOMEM;
	v->lrefs = r;
	if (!(copy = strdup(label)))
		return -ENOMEM;
	memmove(&v->labels[pos + 1], &v->labels[pos], (v->nlabels - pos) * sizeof(*v->labels));
	memmove(&v->lrefs[pos + 1], &v->lrefs[pos], (v->nlabels - pos) * sizeof(*v->lrefs));
	v->labels[pos] = copy;
	v->lrefs[pos] = n;
	v->nlabels++;
	return 0;
}

int vip_add_label(struct vip *v, const char *label)
{
	return label_add(v, label, 1, v->nlabels);
}

int vip_label_ref(struct vip *v, const char *label, uint32_t n)
{
	size_t pos = 0;

	while (pos < v->nlabels && strcmp(v->labels[pos], label) < 0)
		pos++;
	return label_add(v, label, n, pos);
}

int vip_label_unref(struct vip *v, const char *label, uint32_t n)
{
	for (size_t i = 0; i < v->nlabels; i++) {
		if (strcmp(v->labels[i], label))
			continue;
		if (v->lrefs[i] < n)
			return -ENOENT;
		if ((v->lrefs[i] -= n))
			return 0;
		free(v->labels[i]);
		memmove(&v->labels[i], &v->labels[i + 1], (v->nlabels - i - 1) * sizeof(*v->labels));
		memmove(&v->lrefs[i], &v->lrefs[i + 1], (v->nlabels - i - 1) * sizeof(*v->lrefs));
		v->nlabels--;
		return 0;
	}
	return -ENOENT;
}

int vip_ip_len(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

static int cmp_addr(uint8_t fa, const uint8_t *a, uint8_t fb, const uint8_t *b)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	return memcmp(a, b, (size_t)vip_ip_len(fa));
}

static int cmp_vip(const void *pa, const void *pb)
{
	const struct vip *a = pa, *b = pb;
	int c;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	c = cmp_addr(a->family, a->ip, b->family, b->ip);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

static int cmp_backend(const void *pa, const void *pb)
{
	const struct backend *a = pa, *b = pb;
	int c = cmp_addr(a->family, a->ip, b->family, b->ip);

	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	/* Higher weight first, so that the merge below keeps it. */
	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	if ((c = memcmp(a->agent_ip, b->agent_ip, 4)))
		return c;
	if ((c = cmp_addr(a->task_family, a->task_ip, b->task_family, b->task_ip)))
		return c;
	return a->task_port == b->task_port ? 0 : a->task_port < b->task_port ? -1 : 1;
}

int vip_backend_cmp(const struct backend *a, const struct backend *b)
{
	return cmp_backend(a, b);
}

struct label_ref {
	char *s;
	uint32_t refs;
};

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct label_ref *)a)->s, ((const struct label_ref *)b)->s);
}

/* Sorts labels with their counts (a temporary array: sorting in place
 * would need the pair together). */
static void sort_labels(struct vip *v)
{
	struct label_ref *l = malloc(v->nlabels * sizeof(*l));

	if (!l) {
		/* Unsorted labels make the table differ from the canonical one:
		 * the next comparison publishes it again. */
		return;
	}
	for (size_t i = 0; i < v->nlabels; i++)
		l[i] = (struct label_ref){ v->labels[i], v->lrefs[i] };
	qsort(l, v->nlabels, sizeof(*l), cmp_label);
	for (size_t i = 0; i < v->nlabels; i++) {
		v->labels[i] = l[i].s;
		v->lrefs[i] = l[i].refs;
	}
	free(l);
}

static void vip_canon(struct vip *v)
{
	size_t w = 0;

	if (v->nb > 1)
		qsort(v->b, v->nb, sizeof(*v->b), cmp_backend);
	for (size_t i = 0; i < v->nb; i++) {
		if (w && !cmp_addr(v->b[w - 1].family, v->b[w - 1].ip, v->b[i].family,
				   v->b[i].ip) && v->b[w - 1].port == v->b[i].port) {
			unsigned d = v->b[w - 1].dups + 1u + v->b[i].dups;

			v->b[w - 1].dups = d > 0xffff ? 0xffff : (uint16_t)d;
			continue;
		}
		v->b[w++] = v->b[i];
	}
	v->nb = w;
	/* Built by doubling: give back the slack (10,000 VIPs' worth). */
	if (v->capb > w + w / 8 + 1) {
		struct backend *nb = realloc(v->b, (w ? w : 1) * sizeof(*nb));

		if (nb) {
			v->b = nb;
			v->capb = w ? w : 1;
		}
	}
	if (v->nlabels > 1)
		sort_labels(v);
}

void vip_table_sort(struct vip_table *t)
{
	size_t w = 0;

	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_vip);
	for (size_t i = 0; i < t->n; i++) {
		struct vip *v = &t->v[i];

		if (w && !cmp_vip(&t->v[w - 1], v)) {
			struct vip *into = &t->v[w - 1];

			vip_uncache(into);
			into->pinned = 1;
			/* Same VIP from two sources: one VIP with both backends. */
			for (size_t j = 0; j < v->nb; j++)
				vip_add_backend(into, &v->b[j]);
			for (size_t j = 0; j < v->nlabels; j++)
				label_add(into, v->labels[j], v->lrefs[j], into->nlabels);
			if (!into->name && v->name) {
				into->name = v->name;
				v->name = NULL;
			}
			vip_purge(v);
			continue;
		}
		if (w != i)
			t->v[w] = *v;
		w++;
	}
	t->n = w;
	for (size_t i = 0; i < t->n; i++)
		vip_canon(&t->v[i]);
	/* Built by doubling, as the backends: give back the slack. */
	if (t->cap > w + w / 8 + 1) {
		struct vip *nv = realloc(t->v, (w ? w : 1) * sizeof(*nv));

		if (nv) {
			t->v = nv;
			t->cap = w ? w : 1;
		}
	}
}

void vip_uncache(struct vip *v)
{
	free(v->packed);
	v->packed = NULL;
	v->packed_len = 0;
}

size_t vip_table_lower(const struct vip_table *t, const struct vip *key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_vip(&t->v[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long vip_table_find(const struct vip_table *t, const struct vip *key)
{
	size_t i = vip_table_lower(t, key);

	return i < t->n && !cmp_vip(&t->v[i], key) ? (long)i : -1;
}

struct vip *vip_table_insert(struct vip_table *t, size_t pos, const struct vip *key)
{
	struct vip *v;

	if (array_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v), 16) < 0)
		return NULL;
	memmove(&t->v[pos + 1], &t->v[pos], (t->n - pos) * sizeof(*t->v));
	t->n++;
	v = &t->v[pos];
	memset(v, 0, sizeof(*v));
	v->proto = key->proto;
	v->family = key->family;
	v->port = key->port;
	memcpy(v->ip, key->ip, 16);
	return v;
}

void vip_table_remove(struct vip_table *t, size_t pos)
{
	vip_purge(&t->v[pos]);
	memmove(&t->v[pos], &t->v[pos + 1], (t->n - pos - 1) * sizeof(*t->v));
	t->n--;
}

static int cmp_ipport(const struct backend *a, const struct backend *b)
{
	int c = cmp_addr(a->family, a->ip, b->family, b->ip);

	if (c)
		return c;
	return a->port == b->port ? 0 : a->port < b->port ? -1 : 1;
}

int vip_backend_find(const struct vip *v, const struct backend *b, size_t *pos)
{
	size_t lo = 0, hi = v->nb;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_ipport(&v->b[mid], b);

		if (!c) {
			*pos = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

int vip_backend_insert(struct vip *v, size_t pos, const struct backend *b)
{
	if (vip_add_backend(v, b) < 0)
		return -ENOMEM;
	memmove(&v->b[pos + 1], &v->b[pos], (v->nb - 1 - pos) * sizeof(*v->b));
	v->b[pos] = *b;
	return 0;
}

void vip_backend_remove(struct vip *v, size_t pos)
{
	memmove(&v->b[pos], &v->b[pos + 1], (v->nb - pos - 1) * sizeof(*v->b));
	v->nb--;
}

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static int vip_same(const struct vip *x, const struct vip *y)
{
	if (cmp_vip(x, y) || !str_eq(x->name, y->name) || x->nb != y->nb ||
	    x->nlabels != y->nlabels)
		return 0;
	for (size_t j = 0; j < x->nlabels; j++)
		if (strcmp(x->labels[j], y->labels[j]))
			return 0;
	for (size_t j = 0; j < x->nb; j++)
		if (cmp_backend(&x->b[j], &y->b[j]))
			return 0;
	return 1;
}

int vip_table_equal(const struct vip_table *a, const struct vip_table *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!vip_same(&a->v[i], &b->v[i]))
			return 0;
	return 1;
}

void vip_table_take_packed(struct vip_table *to, struct vip_table *from)
{
	size_t i = 0, j = 0;

	while (i < to->n && j < from->n) {
		struct vip *x = &to->v[i], *y = &from->v[j];
		int c = cmp_vip(x, y);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			if (!x->packed && y->packed && vip_same(x, y)) {
				x->packed = y->packed;
				x->packed_len = y->packed_len;
				y->packed = NULL;
				y->packed_len = 0;
			}
			i++;
			j++;
		}
	}
}

size_t vip_table_backends(const struct vip_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += t->v[i].nb;
	return n;
}

const char *vip_proto_name(uint8_t proto)
{
	return proto == VIP_UDP ? "udp" : proto == VIP_TCP ? "tcp" : "unknown";
}

uint8_t vip_proto_parse(const char *s, size_t len)
{
	if (len == 3 && !strncasecmp(s, "tcp", 3))
		return VIP_TCP;
	if (len == 3 && !strncasecmp(s, "udp", 3))
		return VIP_UDP;
	return 0;
}

int vip_ip_parse(const char *s, size_t len, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN + 2];

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (!len || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, buf, out) == 1)
		return 6;
	return 0;
}

/* The printers below write with the _unlocked stdio calls and format numbers
 * by hand: a table of 100,000 backends is printed in a few ms, not tens. */
static void json_str(FILE *f, const char *s)
{
	fputc_unlocked('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc_unlocked(c, f);
	}
	fputc_unlocked('"', f);
}

/* Decimal digits of v, ending at end; returns where they start. */
static char *fmt_uint(char *end, unsigned v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void json_uint(FILE *f, const char *key, unsigned v)
{
	char buf[16], *s = fmt_uint(buf + sizeof(buf), v);

	fputs_unlocked(key, f);
	fwrite_unlocked(s, 1, (size_t)(buf + sizeof(buf) - s), f);
}

static void json_ip(FILE *f, uint8_t family, const uint8_t *ip)
{
	char buf[INET6_ADDRSTRLEN + 2], *s;

	if (family == 6) {
		buf[0] = '"';
		inet_ntop(AF_INET6, ip, buf + 1, sizeof(buf) - 2);
		s = buf + strlen(buf);
		*s++ = '"';
		fwrite_unlocked(buf, 1, (size_t)(s - buf), f);
		return;
	}
	/* "a.b.c.d", built backwards */
	s = buf + sizeof(buf);
	*--s = '"';
	for (int i = 3; i >= 0; i--) {
		s = fmt_uint(s, ip[i]);
		*--s = i ? '.' : '"';
	}
	fwrite_unlocked(s, 1, (size_t)(buf + sizeof(buf) - s), f);
}

int vip_table_print_json(const struct vip_table *t, FILE *f)
{
	fputs_unlocked("{\"vips\":[", f);
	for (size_t i = 0; i < t->n; i++) {
		const struct vip *v = &t->v[i];

		fputs_unlocked(i ? ",{\"protocol\":\"" : "{\"protocol\":\"", f);
		fputs_unlocked(vip_proto_name(v->proto), f);
		fputs_unlocked("\",\"ip\":", f);
		json_ip(f, v->family, v->ip);
		json_uint(f, ",\"port\":", v->port);
		if (v->name) {
			fputs_unlocked(",\"name\":", f);
			json_str(f, v->name);
		}
		fputs_unlocked(",\"labels\":[", f);
		for (size_t j = 0; j < v->nlabels; j++) {
			if (j)
				fputc_unlocked(',', f);
			json_str(f, v->labels[j]);
		}
		fputs_unlocked("],\"backends\":[", f);
		for (size_t j = 0; j < v->nb; j++) {
			const struct backend *b = &v->b[j];

			fputs_unlocked(j ? ",{\"ip\":" : "{\"ip\":", f);
			json_ip(f, b->family, b->ip);
			json_uint(f, ",\"port\":", b->port);
			fputs_unlocked(",\"agent_ip\":", f);
			json_ip(f, 4, b->agent_ip);
			json_uint(f, ",\"weight\":", b->weight);
			if (b->task_family) {
				fputs_unlocked(",\"task_ip\":", f);
				json_ip(f, b->task_family, b->task_ip);
				json_uint(f, ",\"task_port\":", b->task_port);
			}
			fputc_unlocked('}', f);
		}
		fputs_unlocked("]}", f);
	}
	fputs_unlocked("]}\n", f);
	return ferror(f) ? -EIO : 0;
}
