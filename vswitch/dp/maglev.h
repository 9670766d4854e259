/* Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of a prime number
 * of slots, each naming a backend, filled from per-backend permutations so that every backend
 * owns an almost equal share of the slots and removing one of N backends moves only about 1/N
 * of them.
 *
 * The table size grows with the backend count in fixed steps (at least 100 slots per backend,
 * which keeps the imbalance under 1 %, section 5.3 of the paper), so a 10-backend service costs
 * 2 KiB rather than 32; crossing a step reshuffles that service's new connections, which flow
 * pairs make harmless for established ones.  The permutations hash the backend's address and
 * port with fixed seeds, and the flow hash is seeded the same way everywhere: every node, and
 * every restart of a node, picks the same backend for the same connection. */
#ifndef VSWITCH_DP_MAGLEV_H
#define VSWITCH_DP_MAGLEV_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/lb-spec.h"
#include "lib/types.h"

/* The largest table: past 655 backends the imbalance grows beyond 1 %. */
#define MAGLEV_MAX_SIZE 65521

/* The table size for 'n' backends: the smallest of 1021, 2039, 4093, 8191, 16381, 32749 and
 * 65521 with at least 100 slots per backend. */
uint32_t maglev_size(size_t n);

/* Fills 'table' (maglev_size(n) entries) with indexes into 'backends'.  n must be >= 1 and at
 * most DP_LB_MAX_BACKENDS.  Allocates scratch space (control thread). */
void maglev_build(const struct dp_lb_backend *backends, size_t n, uint16_t *table);

/* The flow hash the table is indexed with: the 5-tuple as the client sent it. */
uint32_t maglev_flow_hash(be32 src, be32 dst, be16 sport, be16 dport, uint8_t proto);

#endif
