/* SPDX-License-Identifier: Apache-2.0 */
#ifndef L4LB_ARRAY_H
#define L4LB_ARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Makes room for `need` elements of `elem` bytes in *p (capacity *cap),
 * doubling from `first` so that appending stays amortised O(1). 0, or
 * -ENOMEM with *p unchanged.
 */
static inline int array_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t n = *cap ? *cap : first;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return -ENOMEM;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

#endif
