/* Maglev table population; see maglev.h. */
#include "dp/maglev.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "lib/hash.h"
#include "lib/types.h"
#include "lib/util.h"

/* Fixed seeds: changing them would move every connection on an upgrade. */
#define MAGLEV_SEED_OFFSET 0x6d61676cu
#define MAGLEV_SEED_SKIP 0x65763031u
#define MAGLEV_SEED_FLOW 0x666c6f77u

static uint64_t backend_word(const struct dp_lb_backend *b)
{
    /* Host order, so nodes of any byte order agree. */
    return (uint64_t) ntohl(b->ip) << 16 | b->port;
}

uint32_t maglev_size(size_t n)
{
    static const uint32_t primes[] = { 1021, 2039, 4093, 8191, 16381, 32749, MAGLEV_MAX_SIZE };

    for (size_t i = 0; i < ARRAY_SIZE(primes); i++) {
        if (primes[i] >= n * 100) {
            return primes[i];
        }
    }
    return MAGLEV_MAX_SIZE;
}

void maglev_build(const struct dp_lb_backend *backends, size_t n, uint16_t *table)
{
    uint32_t size = maglev_size(n);
    uint32_t *offset = xmalloc(n * sizeof *offset);
    uint32_t *skip = xmalloc(n * sizeof *skip);
    uint32_t *next = xcalloc(n, sizeof *next);
    size_t filled = 0;

    for (size_t i = 0; i < size; i++) {
        table[i] = UINT16_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t word = backend_word(&backends[i]);

        offset[i] = hash_words64(&word, 1, MAGLEV_SEED_OFFSET) % size;
        skip[i] = hash_words64(&word, 1, MAGLEV_SEED_SKIP) % (size - 1) + 1;
    }
    /* Each backend in turn takes the next free slot of its permutation. */
    while (filled < size) {
        for (size_t i = 0; i < n && filled < size; i++) {
            uint32_t slot;

            do {
                slot = (offset[i] + (uint64_t) next[i] * skip[i]) % size;
                next[i]++;
            } while (table[slot] != UINT16_MAX);
            table[slot] = i;
            filled++;
        }
    }
    free(offset);
    free(skip);
    free(next);
}

uint32_t maglev_flow_hash(be32 src, be32 dst, be16 sport, be16 dport, uint8_t proto)
{
    uint64_t words[2] = {
        (uint64_t) ntohl(src) << 32 | ntohl(dst),
        (uint64_t) ntohs(sport) << 32 | (uint64_t) ntohs(dport) << 16 | proto,
    };

    return hash_words64(words, 2, MAGLEV_SEED_FLOW);
}
