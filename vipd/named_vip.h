/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Named VIPs: their names (frag) and addresses, computed exactly like
 * dcos-net so that every node, old or new, agrees on them.
 */
#ifndef VIPD_NAMED_VIP_H
#define VIPD_NAMED_VIP_H

#include <stddef.h>
#include <stdint.h>

/* dcos-net's address ranges (inclusive). */
#define NAMED_VIP4_MIN 0x0b000000u /* 11.0.0.0 */
#define NAMED_VIP4_MAX 0x0bfffffeu /* 11.255.255.254 */

/*
 * frag(label) "." frag(framework) into buf. Returns the length, or
 * -ENAMETOOLONG / -EINVAL (a part is empty after cleaning).
 */
int named_vip_name(const char *label, const char *framework, char *buf, size_t size);
/* One frag() of vip-discovery.md, appended to buf; returns the length. */
int named_vip_frag(const char *in, size_t inlen, char *buf, size_t size);

/* Bob Jenkins' lookup2 hash() (1996). */
uint32_t lookup2_hash(const void *key, size_t len, uint32_t initval);
/* SHA-1 of data into out[20]. */
void sha1_digest(const void *data, size_t len, uint8_t out[20]);

/* The unprobed IPv4 address (host order) of a name in [min, max]. */
uint32_t named_vip4_base(const char *name, uint32_t min, uint32_t max);
/* The unprobed IPv6 address of a name (fd01:c:: + SHA-1 mod 2^64-1). */
void named_vip6_base(const char *name, uint8_t out[16]);

/*
 * Allocates addresses for n distinct names, identically on every node: the
 * names are probed in sorted order (strcmp), each taking the next free
 * address after its hash, wrapping to min. out4 (host order) and/or out6
 * (16 bytes each) are indexed like names; either may be NULL. 0 or -errno.
 */
int named_vip_alloc(const char *const *names, size_t n, uint32_t min, uint32_t max,
		    uint32_t *out4, uint8_t (*out6)[16]);

/* The low 64 bits of named_vip6_base (the part probing moves). */
uint64_t named_vip6_low(const char *name);
/* fd01:c:: + low into out. */
void named_vip6_addr(uint64_t low, uint8_t out[16]);
/*
 * named_vip_alloc's probe alone, over the unprobed addresses of n names
 * already in sorted order (so that callers can cache them). 0 or -errno.
 */
int named_vip_probe(const uint32_t *base4, const uint64_t *base6, size_t n, uint32_t min,
		    uint32_t max, uint32_t *out4, uint64_t *out6);

#endif
