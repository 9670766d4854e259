/* The overlay's peer table: remote nodes on the VXLAN overlay, each owning a pod CIDR.
 *
 * Looked up two ways on the packet path: by node address, to accept VXLAN only from known
 * peers, and by longest prefix match on a destination, to find the node a remote pod lives
 * on.  Both indexes are rebuilt whole when a peer changes (rare next to packets).
 * Datapath thread. */
#ifndef VSWITCH_DP_OVERLAY_H
#define VSWITCH_DP_OVERLAY_H 1

#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/types.h"

/* RFC 7348 section 5: flags (I bit = VNI valid), reserved, VNI, reserved. */
#define VXLAN_HDR_LEN 8
#define VXLAN_FLAG_VNI 0x08
/* Remote checksum offload (draft-herbert-vxlan-rco, Linux's remcsum): a flag in the first
 * reserved byte, and in the last byte where the inner L4 checksum starts, in 2-byte units
 * from the inner Ethernet header, with the top bit set for UDP (its checksum 6 bytes in)
 * and clear for TCP (16 bytes in).  The checksum field holds the pseudo-header sum. */
#define VXLAN_FLAG_RCO 0x20
#define VXLAN_RCO_UDP 0x80
#define VXLAN_RCO_START_MASK 0x7f
#define VXLAN_DEFAULT_PORT 4789
/* Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
#define VXLAN_OVERHEAD 50
#define OVERLAY_DEFAULT_MTU 1450

struct vxlan_header {
    uint8_t flags;
    uint8_t reserved1[3];
    uint8_t vni[3];
    uint8_t reserved2;
};

struct peer {
    be32 node_ip;
    struct cidr pod_cidr;
    struct eth_addr router_mac;     /* The remote switch's gateway MAC. */
    uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
};

#define OVERLAY_MAX_PEERS 8192

struct overlay {
    struct peer *peers;             /* Dense array of n_peers. */
    uint32_t n_peers;
    uint32_t *by_node;              /* Open addressing: peer index + 1. */
    uint32_t *by_prefix;            /* Open addressing on (masked address, prefix). */
    uint32_t mask;
    uint64_t prefix_lengths;        /* Bit n: some peer CIDR has prefix length n (n < 33). */
};

void overlay_init(struct overlay *);
void overlay_destroy(struct overlay *);

struct peer *overlay_peer_by_node(const struct overlay *, be32 node_ip);
/* The peer whose pod CIDR holds 'ip' (longest prefix), or NULL. */
struct peer *overlay_peer_for(const struct overlay *, be32 ip);

/* Adds or updates; returns 0, -EEXIST (the CIDR overlaps another peer's) or -ENOSPC. */
int overlay_peer_set(struct overlay *, be32 node_ip, const struct cidr *);
int overlay_peer_del(struct overlay *, be32 node_ip);

/* The switch MAC that stands for the pod 'ip' in DSR dispatch: 0a:58 and the address, so a
 * node can address a remote pod by MAC without knowing its real one. */
struct eth_addr overlay_dispatch_mac(be32 ip);
/* True if 'mac' is a dispatch MAC; sets '*ip'. */
bool overlay_is_dispatch_mac(struct eth_addr mac, be32 *ip);

#endif
