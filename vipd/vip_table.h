/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VIP table vipd computes and publishes: VIPs sorted by protocol, ip,
 * port; backends by ip, port. Pure data, printing and comparison.
 */
#ifndef VIPD_VIP_TABLE_H
#define VIPD_VIP_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VIP_TCP 6
#define VIP_UDP 17

struct backend {
	uint8_t family; /* 4 or 6 */
	uint8_t weight;
	uint8_t task_family; /* 0: no task address */
	uint16_t port;
	uint16_t task_port;
	uint8_t ip[16];
	uint8_t agent_ip[4];
	uint8_t task_ip[16];
	/* How many more sources gave this same ip:port (merged by vip_table_sort);
	 * not part of the table's content (ignored by comparison and output). */
	uint16_t dups;
};

struct vip {
	uint8_t proto; /* VIP_TCP or VIP_UDP */
	uint8_t family;
	uint16_t port;
	uint8_t ip[16];
	/* Merged from several sources (two labels naming one address, or a
	 * static VIP): only a rebuild may change it (incr.c). Not content.
	 * (Here, beside the bytes, not after the pointers: 8 bytes less.) */
	uint8_t pinned;
	char *name; /* named VIPs only */
	char **labels;
	/* How many backends brought each label (labels[i]): incremental
	 * updates remove a label when its last one goes. Not content. */
	uint32_t *lrefs;
	size_t nlabels, capl;
	struct backend *b;
	size_t nb, capb;
	/* This VIP packed as an l4lb.v1.Vip (publish.c's cache; NULL: not yet or
	 * changed since). Whoever changes the VIP frees it (vip_uncache). */
	uint8_t *packed;
	size_t packed_len;
};

struct named_set;

struct vip_table {
	struct vip *v;
	size_t n, cap;
	/* rules_build's named VIP names and addresses (NULL elsewhere). */
	struct named_set *names;
};

struct vip_table *vip_table_new(void);
void vip_table_free(struct vip_table *t);

/* Appends an empty VIP (name copied when not NULL); NULL on ENOMEM. */
struct vip *vip_table_add(struct vip_table *t, uint8_t proto, uint8_t family, const uint8_t *ip,
			  uint16_t port, const char *name);
int vip_add_backend(struct vip *v, const struct backend *b);
int vip_add_label(struct vip *v, const char *label);
/* Adds n references to a label (inserted in order if new); 0 or -ENOMEM. */
int vip_label_ref(struct vip *v, const char *label, uint32_t n);
/* Drops n references; the label goes with its last. -ENOENT if it has fewer. */
int vip_label_unref(struct vip *v, const char *label, uint32_t n);

/*
 * Sorts VIPs and backends, merges duplicate VIPs (same protocol, family,
 * ip, port), duplicate backends (same ip, port: highest weight wins) and
 * duplicate labels. After this the table is canonical: equal content gives
 * equal tables.
 */
void vip_table_sort(struct vip_table *t);
int vip_table_equal(const struct vip_table *a, const struct vip_table *b);
size_t vip_table_backends(const struct vip_table *t);

/* Whether every VIP of t has its packed form (t was published as it is). */
int vip_table_packed_all(const struct vip_table *t);
/*
 * Frees what a packed table holds besides its VIPs' keys, names and packed
 * bytes (backends, labels, named-VIP names): what a rebuild compares its
 * new table with (vip_table_packed_equal), at a quarter of the memory.
 * Only for that: a slim table is neither patched nor published.
 */
void vip_table_slim(struct vip_table *t);
/* Whether two sorted tables pack to the same bytes, VIP by VIP (both
 * packed): the same content (vip_table_equal). */
int vip_table_packed_equal(const struct vip_table *a, const struct vip_table *b);

/* Drops v's packed cache (after changing v). */
void vip_uncache(struct vip *v);
/* Moves the packed cache of every VIP of `from` that `to` has unchanged
 * (both sorted), so that a rebuilt table packs only what changed. */
void vip_table_take_packed(struct vip_table *to, struct vip_table *from);
/* The index of the VIP with key's protocol, ip and port in a sorted table,
 * or -1. */
long vip_table_find(const struct vip_table *t, const struct vip *key);
/* The canonical order of backends (ip, port, then weight down, ...). */
int vip_backend_cmp(const struct backend *a, const struct backend *b);
/* In a canonical VIP: 1 and *pos = its index if a backend with b's ip and
 * port is there, else 0 and *pos = where it would go. */
int vip_backend_find(const struct vip *v, const struct backend *b, size_t *pos);
/* Where a VIP with key's protocol, ip and port is or would go. */
size_t vip_table_lower(const struct vip_table *t, const struct vip *key);
/* Inserts an empty VIP with key's protocol, family, ip, port at pos /
 * removes the VIP at pos (keeps the order). */
struct vip *vip_table_insert(struct vip_table *t, size_t pos, const struct vip *key);
void vip_table_remove(struct vip_table *t, size_t pos);
/* Inserts b at pos / removes the backend at pos (keeps the order). */
int vip_backend_insert(struct vip *v, size_t pos, const struct backend *b);
void vip_backend_remove(struct vip *v, size_t pos);

/* The JSON shape of the issue, one line and a newline. */
int vip_table_print_json(const struct vip_table *t, FILE *f);

const char *vip_proto_name(uint8_t proto);
/* "tcp"/"udp" in any case → VIP_TCP/VIP_UDP, else 0. */
uint8_t vip_proto_parse(const char *s, size_t len);
/* Parses an IPv4 or IPv6 literal: 4, 6, or 0 if it is neither. */
int vip_ip_parse(const char *s, size_t len, uint8_t out[16]);
int vip_ip_len(uint8_t family);

#endif
