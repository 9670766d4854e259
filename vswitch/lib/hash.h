/* Hashing of fixed-size keys as 64-bit words: fast enough for a per-packet lookup and mixed
 * well enough that consecutive ports or addresses spread over the buckets. */
#ifndef VSWITCH_LIB_HASH_H
#define VSWITCH_LIB_HASH_H 1

#include <stddef.h>
#include <stdint.h>

/* The 64-bit finalizer of MurmurHash3 (public domain): every input bit affects every output
 * bit. */
static inline uint64_t hash_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint32_t hash_words64(const uint64_t *words, size_t n, uint64_t basis)
{
    uint64_t h = basis;

    for (size_t i = 0; i < n; i++) {
        h = hash_mix64(h ^ words[i]) + i;
    }
    return (uint32_t) (h ^ (h >> 32));
}

static inline uint32_t hash_u32(uint32_t x, uint32_t basis)
{
    return (uint32_t) hash_mix64(((uint64_t) basis << 32) | x);
}

#endif
