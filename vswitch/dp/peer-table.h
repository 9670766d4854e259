/* The overlay's peer table: the remote nodes on the VXLAN overlay, each owning a pod CIDR.
 *
 * Looked up two ways on the packet path: by node address, to accept VXLAN only from known
 * peers (dp.c, as a packet comes in), and by longest prefix match on a destination, to find
 * the node a remote pod lives on (pipeline.c, routing).  Both indexes are rebuilt whole when
 * a peer changes (rare next to packets).  Datapath thread. */
#ifndef VSWITCH_DP_PEER_TABLE_H
#define VSWITCH_DP_PEER_TABLE_H 1

#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/types.h"

struct peer {
    be32 node_ip;
    struct cidr pod_cidr;
    struct eth_addr router_mac;     /* The remote switch's gateway MAC. */
    uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
};

#define PEER_TABLE_MAX_PEERS 8192

struct peer_table {
    struct peer *peers;             /* Dense array of n_peers. */
    uint32_t n_peers;
    uint32_t *by_node;              /* Open addressing: peer index + 1. */
    uint32_t *by_prefix;            /* Open addressing on (masked address, prefix). */
    uint32_t mask;
    uint64_t prefix_lengths;        /* Bit n: some peer CIDR has prefix length n (n < 33). */
};

void peer_table_init(struct peer_table *);
void peer_table_destroy(struct peer_table *);

struct peer *peer_table_by_node(const struct peer_table *, be32 node_ip);
/* The peer whose pod CIDR holds 'ip' (longest prefix), or NULL. */
struct peer *peer_table_by_pod_ip(const struct peer_table *, be32 ip);

/* Adds or updates; returns 0, -EEXIST (the CIDR overlaps another peer's) or -ENOSPC. */
int peer_table_set(struct peer_table *, be32 node_ip, const struct cidr *);
int peer_table_del(struct peer_table *, be32 node_ip);

#endif
