// SPDX-License-Identifier: Apache-2.0
/* Named VIP names and addresses (see named_vip.h and vip-discovery.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/named_vip.h"

int named_vip_frag(const char *in, size_t inlen, char *buf, size_t size)
{
	size_t len = 0, i = 0, start, end, partlen;
	int first = 1;

	if (size)
		buf[0] = '\0';
	while (i < inlen) {
		start = i;
		while (i < inlen && in[i] != '.')
			i++;
		end = i++;
		/* One part: skip to the first [a-z0-9], map, filter, cap, trim. */
		partlen = 0;
		char part[64];
		int started = 0;

		for (size_t j = start; j < end && partlen < 63; j++) {
			char c = in[j];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

			if (!started && !alnum)
				continue;
			started = 1;
			if (c == '_' || c == '.')
				c = '-';
			if (alnum || c == '-')
				part[partlen++] = c;
		}
		while (partlen && part[partlen - 1] == '-')
			partlen--;
		if (!partlen)
			continue;
		if (len + partlen + 2 > size)
			return -ENAMETOOLONG;
		if (!first)
			buf[len++] = '.';
		memcpy(buf + len, part, partlen);
		len += partlen;
		buf[len] = '\0';
		first = 0;
	}
	return (int)len;
}

int named_vip_name(const char *label, const char *framework, char *buf, size_t size)
{
	int a, b;

	a = named_vip_frag(label, strlen(label), buf, size);
	if (a < 0)
		return a;
	if (a == 0)
		return -EINVAL;
	if ((size_t)a + 2 > size)
		return -ENAMETOOLONG;
	buf[a] = '.';
	b = named_vip_frag(framework, strlen(framework), buf + a + 1, size - (size_t)a - 1);
	if (b < 0)
		return b;
	if (b == 0)
		return -EINVAL;
	return a + 1 + b;
}

#define LOOKUP2_MIX(a, b, c) \
	do { \
		a -= b; a -= c; a ^= (c >> 13); \
		b -= c; b -= a; b ^= (a << 8); \
		c -= a; c -= b; c ^= (b >> 13); \
		a -= b; a -= c; a ^= (c >> 12); \
		b -= c; b -= a; b ^= (a << 16); \
		c -= a; c -= b; c ^= (b >> 5); \
		a -= b; a -= c; a ^= (c >> 3); \
		b -= c; b -= a; b ^= (a << 10); \
		c -= a; c -= b; c ^= (b >> 15); \
	} while (0)

static uint32_t le32(const uint8_t *k)
{
	return (uint32_t)k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
}

uint32_t lookup2_hash(const void *key, size_t length, uint32_t initval)
{
	const uint8_t *k = key;
	uint32_t a = 0x9e3779b9u, b = 0x9e3779b9u, c = initval;
	size_t len = length;

	while (len >= 12) {
		a += le32(k);
		b += le32(k + 4);
		c += le32(k + 8);
		LOOKUP2_MIX(a, b, c);
		k += 12;
		len -= 12;
	}
	c += (uint32_t)length;
	/* The low byte of c is reserved for the length: the tail starts at bit 8. */
	switch (len) {
	case 11: c += (uint32_t)k[10] << 24; /* fall through */
	case 10: c += (uint32_t)k[9] << 16; /* fall through */
	case 9: c += (uint32_t)k[8] << 8; /* fall through */
	case 8: b += (uint32_t)k[7] << 24; /* fall through */
	case 7: b += (uint32_t)k[6] << 16; /* fall through */
	case 6: b += (uint32_t)k[5] << 8; /* fall through */
	case 5: b += k[4]; /* fall through */
	case 4: a += (uint32_t)k[3] << 24; /* fall through */
	case 3: a += (uint32_t)k[2] << 16; /* fall through */
	case 2: a += (uint32_t)k[1] << 8; /* fall through */
	case 1: a += k[0]; /* fall through */
	default: break;
	}
	LOOKUP2_MIX(a, b, c);
	return c;
}

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999u;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1u;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdcu;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6u;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d; d = c; c = rol32(b, 30); b = a; a = t;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

void sha1_digest(const void *data, size_t len, uint8_t out[20])
{
	uint32_t h[5] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u };
	const uint8_t *p = data;
	uint8_t tail[128] = { 0 };
	size_t rest = len, tlen;
	uint64_t bits = (uint64_t)len * 8;

	while (rest >= 64) {
		sha1_block(h, p);
		p += 64;
		rest -= 64;
	}
	memcpy(tail, p, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, tail);
	if (tlen == 128)
		sha1_block(h, tail + 64);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

/* dcos-net: erlang:phash2(Name, Q) over the name as a binary. */
uint32_t named_vip4_base(const char *name, uint32_t min, uint32_t max)
{
	uint32_t q = max - min;

	return min + lookup2_hash(name, strlen(name), 0x08d12e65u) % q;
}

static const uint8_t vip6_min[8] = { 0xfd, 0x01, 0x00, 0x0c, 0, 0, 0, 0 };

void named_vip6_base(const char *name, uint8_t out[16])
{
	uint8_t d[20];
	unsigned __int128 sum;
	uint64_t hi = 0, mid = 0, lo = 0, q = UINT64_MAX, r;

	sha1_digest(name, strlen(name), d);
	/* The 160-bit digest is hi*2^128 + mid*2^64 + lo, and 2^64 = 1 mod Q. */
	for (int i = 0; i < 4; i++)
		hi = hi << 8 | d[i];
	for (int i = 4; i < 12; i++)
		mid = mid << 8 | d[i];
	for (int i = 12; i < 20; i++)
		lo = lo << 8 | d[i];
	sum = (unsigned __int128)hi + mid + lo;
	r = (uint64_t)(sum % q);
	memcpy(out, vip6_min, 8);
	for (int i = 0; i < 8; i++)
		out[15 - i] = (uint8_t)(r >> (8 * i));
}

static const char *const *sort_names;

static int cmp_idx(const void *a, const void *b)
{
	return strcmp(sort_names[*(const size_t *)a], sort_names[*(const size_t *)b]);
}

/* Open-addressing set of taken addresses (64-bit keys; 0 means empty). */
struct taken {
	uint64_t *slot;
	size_t mask;
};

static int taken_add(struct taken *t, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & t->mask;

	key++; /* never 0 */
	while (t->slot[i]) {
		if (t->slot[i] == key)
			return 0;
		i = (i + 1) & t->mask;
	}
	t->slot[i] = key;
	return 1;
}

static uint64_t low64(const uint8_t a[16])
{
	uint64_t v = 0;

	for (int i = 8; i < 16; i++)
		v = v << 8 | a[i];
	return v;
}

uint64_t named_vip6_low(const char *name)
{
	uint8_t a[16];

	named_vip6_base(name, a);
	return low64(a);
}

int named_vip_probe(const uint32_t *base4, const uint64_t *base6, size_t n, uint32_t min,
		    uint32_t max, uint32_t *out4, uint64_t *out6)
{
	struct taken t4 = { 0 }, t6 = { 0 };
	size_t cap = 16;
	int rc = -ENOMEM;

	if (max <= min)
		return -EINVAL;
	if (n > (size_t)(max - min))
		return -ENOSPC;
	while (cap < 2 * n)
		cap <<= 1;
	t4.slot = calloc(cap, sizeof(uint64_t));
	t6.slot = calloc(cap, sizeof(uint64_t));
	if (!t4.slot || !t6.slot)
		goto done;
	t4.mask = t6.mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = base4[i];
		uint64_t v = base6[i];

		while (!taken_add(&t4, a))
			a = a >= max ? min : a + 1;
		out4[i] = a;
		/* The range ends at ffff:ffff:ffff:ffff, then wraps to fd01:c::. */
		while (!taken_add(&t6, v))
			v = v == UINT64_MAX ? 0 : v + 1;
		out6[i] = v;
	}
	rc = 0;
done:
	free(t4.slot);
	free(t6.slot);
	return rc;
}

int named_vip_alloc(const char *const *names, size_t n, uint32_t min, uint32_t max,
		    uint32_t *out4, uint8_t (*out6)[16])
{
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	uint32_t *b4 = calloc(n ? n : 1, sizeof(*b4)), *a4 = malloc((n ? n : 1) * sizeof(*a4));
	uint64_t *b6 = calloc(n ? n : 1, sizeof(*b6)), *a6 = malloc((n ? n : 1) * sizeof(*a6));
	int rc = -ENOMEM;

	if (max <= min)
		rc = -EINVAL;
	if (!idx || !b4 || !a4 || !b6 || !a6 || max <= min)
		goto done;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_names = names;
	if (n > 1)
		qsort(idx, n, sizeof(*idx), cmp_idx);
	for (size_t k = 0; k < n; k++) {
		b4[k] = named_vip4_base(names[idx[k]], min, max);
		b6[k] = named_vip6_low(names[idx[k]]);
	}
	if ((rc = named_vip_probe(b4, b6, n, min, max, a4, a6)) < 0)
		goto done;
	for (size_t k = 0; k < n; k++) {
		if (out4)
			out4[idx[k]] = a4[k];
		if (out6)
			named_vip6_addr(a6[k], out6[idx[k]]);
	}
done:
	free(idx);
	free(b4);
	free(a4);
	free(b6);
	free(a6);
	return rc;
}

void named_vip6_addr(uint64_t low, uint8_t out[16])
{
	memcpy(out, vip6_min, 8);
	for (int b = 0; b < 8; b++)
		out[15 - b] = (uint8_t)(low >> (8 * b));
}
