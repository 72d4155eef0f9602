// SPDX-License-Identifier: Apache-2.0
/* What changed between two models (model_diff.h). */
#include <string.h>

#include "vipd/model_diff.h"

int model_same_nodes(const struct model *a, const struct model *b)
{
	const char *id;
	void *v;
	size_t i = 0;

	if (a->agents.n != b->agents.n || a->frameworks.n != b->frameworks.n)
		return 0;
	while (strmap_next(&b->agents, &i, &id, &v)) {
		const struct agent *x = strmap_get(&a->agents, id), *y = v;

		if (!x || strcmp(x->hostname, y->hostname) || x->has_ip != y->has_ip ||
		    memcmp(x->ip, y->ip, 4) || x->recovered != y->recovered)
			return 0;
	}
	i = 0;
	while (strmap_next(&b->frameworks, &i, &id, &v)) {
		const char *x = strmap_get(&a->frameworks, id);

		if (!x || strcmp(x, v))
			return 0;
	}
	return 1;
}

long model_diff_tasks(const struct model *old, const struct model *new, const char **ids,
		      size_t max)
{
	const char *id;
	void *v;
	size_t i = 0, n = 0, same = 0;

	while (strmap_next(&new->tasks, &i, &id, &v)) {
		if (strmap_get(&old->tasks, id) == v) {
			same++;
			continue;
		}
		if (n == max)
			return -1;
		ids[n++] = id;
	}
	/* (the old model's others are gone: looked for only if there are any) */
	i = 0;
	while (same < old->tasks.n && strmap_next(&old->tasks, &i, &id, NULL)) {
		if (strmap_get(&new->tasks, id))
			continue;
		if (n == max)
			return -1;
		ids[n++] = id;
	}
	return (long)n;
}
