/* Fragments of load-balanced datagrams: the first fragment carries the ports, the others do
 * not, yet all must reach the same backend (Cilium #43781, Antrea #348).  Rather than
 * reassemble, the switch remembers the first fragment's ports under (src, dst, proto, IP id)
 * for FRAG_TIMEOUT_MS, in a bounded table, and looks them up for the later fragments.
 * Datapath thread. */
#ifndef VSWITCH_DP_FRAG_H
#define VSWITCH_DP_FRAG_H 1

#include <stdint.h>

#include "lib/types.h"

#define FRAG_SLOTS 1024
/* The reassembly timeout of Linux (ipfrag_time). */
#define FRAG_TIMEOUT_MS 30000

struct frag_entry {
    be32 src, dst;
    be16 id;
    uint8_t proto;
    be16 sport, dport;
    uint64_t used_ms;
};

struct frag_table {
    struct frag_entry entries[FRAG_SLOTS];
};

void frag_remember(struct frag_table *, be32 src, be32 dst, uint8_t proto, be16 id,
                   be16 sport, be16 dport, uint64_t now_ms);
/* Returns true and the ports if a live entry exists. */
bool frag_lookup(struct frag_table *, be32 src, be32 dst, uint8_t proto, be16 id,
                 be16 *sport, be16 *dport, uint64_t now_ms);

#endif
