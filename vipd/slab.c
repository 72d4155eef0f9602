// SPDX-License-Identifier: Apache-2.0
/* Size-class blocks for task records (slab.h). */
#include <stdint.h>
#include <stdlib.h>

#include "common/array.h"
#include "vipd/slab.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_IS_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_IS_MALLOC 1
#endif
#endif

#define SLAB_STEP 8
#define SLAB_MAX 512 /* larger blocks are malloc's */
#define SLAB_CHUNK (64 * 1024)

struct free_block {
	struct free_block *next;
};

static struct free_block *free_list[SLAB_MAX / SLAB_STEP + 1];
static char *cur, *end; /* what is left of the chunk being cut */
/* Every chunk, so that leak checkers see them held. */
static void **chunks;
static size_t nchunks, capchunks, in_use;

/* Blocks of a class are class * SLAB_STEP bytes. */
static size_t class_of(size_t size)
{
	return (size + SLAB_STEP - 1) / SLAB_STEP;
}

static void put_free(void *p, size_t c)
{
	struct free_block *b = p;

	b->next = free_list[c];
	free_list[c] = b;
}

void *slab_alloc(size_t size)
{
	size_t c = class_of(size ? size : 1), bytes = c * SLAB_STEP;
	struct free_block *b;
	char *chunk;

#ifdef SLAB_IS_MALLOC
	if ((b = malloc(size)))
		in_use += bytes;
	return b;
#endif
	if (bytes > SLAB_MAX)
		return malloc(size);
	if ((b = free_list[c])) {
		free_list[c] = b->next;
		in_use += bytes;
		return b;
	}
	if ((size_t)(end - cur) < bytes) {
		if (array_grow((void **)&chunks, &capchunks, nchunks + 1, sizeof(*chunks), 64) < 0 ||
		    !(chunk = malloc(SLAB_CHUNK)))
			return NULL;
		/* The old chunk's rest (a multiple of the step) is a block too. */
		if (end - cur >= SLAB_STEP)
			put_free(cur, (size_t)(end - cur) / SLAB_STEP);
		chunks[nchunks++] = chunk;
		cur = chunk;
		end = chunk + SLAB_CHUNK;
	}
	b = (struct free_block *)(void *)cur;
	cur += bytes;
	in_use += bytes;
	return b;
}

void slab_free(void *p, size_t size)
{
	size_t c = class_of(size ? size : 1);

	if (!p)
		return;
#ifdef SLAB_IS_MALLOC
	free(p);
	in_use -= c * SLAB_STEP;
	return;
#endif
	if (c * SLAB_STEP > SLAB_MAX) {
		free(p);
		return;
	}
	put_free(p, c);
	in_use -= c * SLAB_STEP;
}

size_t slab_held(void)
{
#ifdef SLAB_IS_MALLOC
	return in_use;
#endif
	return nchunks * SLAB_CHUNK;
}

size_t slab_in_use(void)
{
	return in_use;
}
