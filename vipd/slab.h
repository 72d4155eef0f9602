/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory for the live model's task records (model.h): 100,000 blocks of
 * 80-120 bytes, where malloc's 8-byte header and 16-byte rounding add
 * about 12 bytes to each. Blocks are cut from 64 KiB chunks in classes
 * 8 bytes apart; a freed block waits on its class's list for the next of
 * that size. Chunks are never given back: a model that shrank keeps its
 * blocks for the tasks that come next (a cluster's tasks come and go in
 * the same sizes). Under AddressSanitizer blocks are malloc's, so that it
 * still sees every use after free.
 */
#ifndef VIPD_SLAB_H
#define VIPD_SLAB_H

#include <stddef.h>

/* A block of size bytes, 8-byte aligned; NULL on ENOMEM. */
void *slab_alloc(size_t size);
/* Frees a block of slab_alloc(size) (the same size; NULL is fine). */
void slab_free(void *p, size_t size);
/* Bytes held in chunks (free blocks included) and in blocks in use. */
size_t slab_held(void);
size_t slab_in_use(void);

#endif
