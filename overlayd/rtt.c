// SPDX-License-Identifier: Apache-2.0
#include "overlayd/rtt.h"

#include <stdlib.h>
#include <string.h>

void rtt_add(struct rtt_window *w, uint32_t us)
{
	w->us[w->next] = us;
	w->next = (w->next + 1) % RTT_WINDOW;
	if (w->n < RTT_WINDOW)
		w->n++;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t rtt_percentile(const struct rtt_window *w, unsigned pct)
{
	uint32_t s[RTT_WINDOW];
	unsigned rank;

	if (!w->n)
		return 0;
	memcpy(s, w->us, sizeof(s));
	qsort(s, w->n, sizeof(s[0]), cmp_u32);
	if (pct > 100)
		pct = 100;
	/* nearest rank: ceil(pct/100 * n), 1-based */
	rank = (pct * w->n + 99) / 100;
	if (rank < 1)
		rank = 1;
	return s[rank - 1];
}

uint32_t rtt_timeout(const struct rtt_window *w, const struct rtt_params *p, unsigned mult)
{
	uint64_t t;

	if (mult < 1)
		mult = 1;
	if (!w->n)
		t = p->initial_us;
	else
		t = (uint64_t)rtt_percentile(w, p->pct) * p->factor + p->margin_us;
	if (t < p->floor_us)
		t = p->floor_us;
	t *= mult;
	if (t > p->ceil_us)
		t = p->ceil_us;
	return (uint32_t)t;
}

unsigned rtt_samples(const struct rtt_window *w, uint32_t *out)
{
	unsigned start = (w->next + RTT_WINDOW - w->n) % RTT_WINDOW;

	for (unsigned i = 0; i < w->n; i++)
		out[i] = w->us[(start + i) % RTT_WINDOW];
	return w->n;
}
