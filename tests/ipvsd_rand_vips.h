/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random VIP tables for ipvsd's unit tests that compare two ways of
 * reaching the same desired state (the raw walk, deltas) with the full
 * snapshot path: the test's own spec of a VIP and its backends, and the
 * random pieces both tests draw from. Included by those tests only.
 */
#ifndef TESTS_IPVSD_RAND_VIPS_H
#define TESTS_IPVSD_RAND_VIPS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipvsd/model.h"

#define MAXB 6 /* backends per VIP */

struct bspec {
	uint8_t ip[4], agent[4];
	uint32_t port, weight;
};

struct vspec {
	uint32_t proto, port;
	uint8_t ip[16];
	size_t iplen;
	int bad_family; /* the family field disagrees with the address */
	struct bspec b[MAXB];
	size_t nb;
};

static inline unsigned rnd(unsigned n) { return (unsigned)random() % n; }

static inline void rand_backend(struct bspec *b)
{
	b->ip[0] = 10;
	b->ip[1] = 1;
	b->ip[2] = (uint8_t)rnd(4);
	b->ip[3] = (uint8_t)rnd(8);
	memcpy(b->agent, b->ip, 4);
	b->agent[3] = (uint8_t)rnd(3);
	/* now and then an invalid one (port 0), which both paths leave out */
	b->port = rnd(50) ? 8000 + rnd(4) : 0;
	b->weight = rnd(3);
}

/* A VIP with a key drawn from a small pool, so adds hit removed keys; one
 * in bad_family_odds (0: never) has a family field that disagrees. */
static inline void rand_vip(struct vspec *v, unsigned bad_family_odds)
{
	memset(v, 0, sizeof(*v));
	v->proto = rnd(2) ? 6 : 17;
	v->iplen = rnd(4) ? 4 : 16;
	v->ip[0] = v->iplen == 4 ? 11 : 0xfd;
	v->ip[v->iplen - 1] = (uint8_t)rnd(200);
	v->port = 80 + rnd(3);
	v->bad_family = bad_family_odds && rnd(bad_family_odds) == 0;
	v->nb = rnd(MAXB + 1);
	for (size_t i = 0; i < v->nb; i++)
		rand_backend(&v->b[i]);
}

static inline int vspec_same_key(const struct vspec *a, const struct vspec *b)
{
	return a->proto == b->proto && a->port == b->port && a->iplen == b->iplen &&
	       !memcmp(a->ip, b->ip, a->iplen);
}

/* A backend added to or removed from the VIP. */
static inline void vspec_backend_step(struct vspec *p)
{
	if (p->nb < MAXB && rnd(2)) {
		rand_backend(&p->b[p->nb++]);
	} else if (p->nb) {
		p->nb--;
		p->b[rnd((unsigned)p->nb + 1)] = p->b[p->nb];
	}
}

/* Two candidate tables are the same, service by service, destination by
 * destination (agents included). */
static inline void assert_tables_equal(const struct ipvs_table *a, const struct ipvs_table *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct ipvs_svc *s = &a->svcs[i], *t = &b->svcs[i];

		assert_int_equal(svc_key_cmp(&s->key, &t->key), 0);
		assert_string_equal(s->sched, t->sched);
		assert_int_equal(s->n_dests, t->n_dests);
		for (size_t j = 0; j < s->n_dests; j++) {
			const struct ipvs_dest *d = &s->dests[j], *e = &t->dests[j];

			assert_memory_equal(d->addr, e->addr, 16);
			assert_int_equal(d->port, e->port);
			assert_int_equal(d->weight, e->weight);
			assert_int_equal(d->agent_len, e->agent_len);
			assert_memory_equal(d->agent, e->agent, d->agent_len);
		}
	}
}

#endif
