/* Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of MAGLEV_SIZE slots,
 * each naming a backend, filled from per-backend permutations so that every backend owns an
 * almost equal share of the slots and removing one of N backends moves only about 1/N of
 * them.
 *
 * The permutations hash the backend's address and port with fixed seeds, and the flow hash
 * is seeded the same way everywhere: every node, and every restart of a node, picks the same
 * backend for the same connection. */
#ifndef VSWITCH_DP_MAGLEV_H
#define VSWITCH_DP_MAGLEV_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/dp.h"

/* Prime, and more than 100 times the backends of any ordinary service, which keeps the
 * imbalance between backends under 1 % (section 5.3 of the paper). */
#define MAGLEV_SIZE 16381

/* Fills 'table' (MAGLEV_SIZE entries) with indexes into 'backends'.  n must be >= 1 and at
 * most DP_LB_MAX_BACKENDS.  Allocates scratch space (control thread). */
void maglev_build(const struct dp_lb_backend *backends, size_t n, uint16_t *table);

/* The flow hash the table is indexed with: the 5-tuple as the client sent it. */
uint32_t maglev_flow_hash(be32 src, be32 dst, be16 sport, be16 dport, uint8_t proto);

#endif
