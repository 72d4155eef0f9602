// SPDX-License-Identifier: Apache-2.0
#include "common/problem_log.h"

#include <stddef.h>

#define PROBE 8

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Never 0: a zero hash marks an empty slot. */
static uint64_t problem_hash(const char *kind, const char *msg)
{
	uint64_t h = fnv(1469598103934665603ull, kind);

	h = (h ^ 0xff) * 1099511628211ull; /* "ab"+"c" and "a"+"bc" differ */
	return fnv(h, msg) | 1;
}

static size_t find_slot(struct problem_log *pl, uint64_t h, int *found)
{
	size_t start = h % PROBLEM_SLOTS, victim = start;

	for (size_t i = 0; i < PROBE; i++) {
		size_t j = (start + i) % PROBLEM_SLOTS;

		if (pl->slot[j].hash == h) {
			*found = 1;
			return j;
		}
		if (pl->slot[j].hash == 0)
			return *found = 0, j;
		if (pl->slot[j].logged_ms < pl->slot[victim].logged_ms)
			victim = j;
	}
	*found = 0;
	return victim;
}

static size_t find_kind(struct problem_log *pl, const char *kind, uint64_t now_ms)
{
	uint64_t h = fnv(1469598103934665603ull, kind) | 1;
	size_t oldest = 0;

	for (size_t i = 0; i < PROBLEM_KINDS; i++) {
		if (pl->kind[i].hash == h)
			return i;
		if (pl->kind[i].window_ms < pl->kind[oldest].window_ms)
			oldest = i;
	}
	/* More kinds than slots: the least recent one starts over, which at
	 * worst lets a few more lines of that kind through. */
	pl->kind[oldest].hash = h;
	pl->kind[oldest].window_ms = now_ms;
	pl->kind[oldest].lines = 0;
	pl->kind[oldest].held_back = 0;
	return oldest;
}

struct problem_verdict problem_log_admit(struct problem_log *pl, const char *kind,
					 const char *msg, uint64_t now_ms, uint64_t interval_ms)
{
	struct problem_verdict v = { 0 };
	uint64_t h = problem_hash(kind, msg);
	int found;
	size_t s = find_slot(pl, h, &found);
	size_t k;

	if (found && now_ms - pl->slot[s].logged_ms < interval_ms * PROBLEM_REMIND_INTERVALS) {
		pl->slot[s].repeats++;
		return v;
	}
	k = find_kind(pl, kind, now_ms);
	if (now_ms - pl->kind[k].window_ms >= interval_ms) {
		pl->kind[k].window_ms = now_ms;
		pl->kind[k].lines = 0;
	}
	if (pl->kind[k].lines >= PROBLEM_LINES_PER_KIND) {
		/* Not remembered as logged: it gets its line in a later window. */
		pl->kind[k].held_back++;
		if (found)
			pl->slot[s].repeats++;
		return v;
	}
	pl->kind[k].lines++;
	v.log = true;
	v.held_back = pl->kind[k].held_back;
	pl->kind[k].held_back = 0;
	v.repeats = found ? pl->slot[s].repeats : 0;
	pl->slot[s].hash = h;
	pl->slot[s].logged_ms = now_ms;
	pl->slot[s].repeats = 0;
	return v;
}
