/* Peer table; see overlay.h. */
#include "dp/overlay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/hash.h"
#include "lib/util.h"

void overlay_init(struct overlay *ov)
{
    memset(ov, 0, sizeof *ov);
    ov->mask = 2 * OVERLAY_MAX_PEERS - 1;
    ov->peers = xcalloc(OVERLAY_MAX_PEERS, sizeof *ov->peers);
    ov->by_node = xcalloc(ov->mask + 1, sizeof *ov->by_node);
    ov->by_prefix = xcalloc(ov->mask + 1, sizeof *ov->by_prefix);
}

void overlay_destroy(struct overlay *ov)
{
    if (ov) {
        free(ov->peers);
        free(ov->by_node);
        free(ov->by_prefix);
        memset(ov, 0, sizeof *ov);
    }
}

static uint32_t prefix_hash(be32 net, int prefix)
{
    return hash_u32(net, prefix);
}

struct peer *overlay_peer_by_node(const struct overlay *ov, be32 node_ip)
{
    for (uint32_t i = hash_u32(node_ip, 1); ; i++) {
        uint32_t ref = ov->by_node[i & ov->mask];

        if (!ref) {
            return NULL;
        }
        if (ov->peers[ref - 1].node_ip == node_ip) {
            return &ov->peers[ref - 1];
        }
    }
}

static struct peer *peer_by_prefix(const struct overlay *ov, be32 net, int prefix)
{
    for (uint32_t i = prefix_hash(net, prefix); ; i++) {
        uint32_t ref = ov->by_prefix[i & ov->mask];

        if (!ref) {
            return NULL;
        }
        if (ov->peers[ref - 1].pod_cidr.net == net
            && ov->peers[ref - 1].pod_cidr.prefix == prefix) {
            return &ov->peers[ref - 1];
        }
    }
}

struct peer *overlay_peer_for(const struct overlay *ov, be32 ip)
{
    uint64_t lengths = ov->prefix_lengths;

    while (lengths) {
        int prefix = 63 - __builtin_clzll(lengths);
        struct peer *p = peer_by_prefix(ov, ip & cidr_mask(prefix), prefix);

        if (p) {
            return p;
        }
        lengths &= ~(1ULL << prefix);
    }
    return NULL;
}

static void rebuild(struct overlay *ov)
{
    memset(ov->by_node, 0, (ov->mask + 1) * sizeof *ov->by_node);
    memset(ov->by_prefix, 0, (ov->mask + 1) * sizeof *ov->by_prefix);
    ov->prefix_lengths = 0;
    for (uint32_t p = 0; p < ov->n_peers; p++) {
        const struct peer *peer = &ov->peers[p];
        uint32_t i;

        for (i = hash_u32(peer->node_ip, 1); ov->by_node[i & ov->mask]; i++) {
            continue;
        }
        ov->by_node[i & ov->mask] = p + 1;
        for (i = prefix_hash(peer->pod_cidr.net, peer->pod_cidr.prefix);
             ov->by_prefix[i & ov->mask]; i++) {
            continue;
        }
        ov->by_prefix[i & ov->mask] = p + 1;
        ov->prefix_lengths |= 1ULL << peer->pod_cidr.prefix;
    }
}

static bool cidrs_overlap(const struct cidr *a, const struct cidr *b)
{
    int prefix = MIN(a->prefix, b->prefix);

    return (a->net & cidr_mask(prefix)) == (b->net & cidr_mask(prefix));
}

int overlay_peer_set(struct overlay *ov, be32 node_ip, const struct cidr *cidr)
{
    struct peer *peer = overlay_peer_by_node(ov, node_ip);

    for (uint32_t p = 0; p < ov->n_peers; p++) {
        if (ov->peers[p].node_ip != node_ip && cidrs_overlap(&ov->peers[p].pod_cidr, cidr)) {
            return -EEXIST;
        }
    }
    if (!peer) {
        if (ov->n_peers == OVERLAY_MAX_PEERS) {
            return -ENOSPC;
        }
        peer = &ov->peers[ov->n_peers++];
        memset(peer, 0, sizeof *peer);
        peer->node_ip = node_ip;
    }
    peer->pod_cidr = *cidr;
    /* The remote switch answers its gateway, the CIDR's first address, with this MAC. */
    peer->router_mac = addr_mac_from_ip(htonl(ntohl(cidr->net) + 1));
    rebuild(ov);
    return 0;
}

int overlay_peer_del(struct overlay *ov, be32 node_ip)
{
    struct peer *peer = overlay_peer_by_node(ov, node_ip);

    if (!peer) {
        return -ENOENT;
    }
    *peer = ov->peers[--ov->n_peers];
    rebuild(ov);
    return 0;
}

struct eth_addr overlay_dispatch_mac(be32 ip)
{
    return addr_mac_from_ip(ip);
}

bool overlay_is_dispatch_mac(struct eth_addr mac, be32 *ip)
{
    if (mac.a[0] != 0x0a || mac.a[1] != 0x58) {
        return false;
    }
    memcpy(ip, &mac.a[2], 4);
    return true;
}
