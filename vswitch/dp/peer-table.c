/* The overlay's peer table; see peer-table.h. */
#include "dp/peer-table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/hash.h"
#include "lib/util.h"

void peer_table_init(struct peer_table *table)
{
    memset(table, 0, sizeof *table);
    table->mask = 2 * PEER_TABLE_MAX_PEERS - 1;
    table->peers = xcalloc(PEER_TABLE_MAX_PEERS, sizeof *table->peers);
    table->by_node = xcalloc(table->mask + 1, sizeof *table->by_node);
    table->by_prefix = xcalloc(table->mask + 1, sizeof *table->by_prefix);
}

void peer_table_destroy(struct peer_table *table)
{
    if (table) {
        free(table->peers);
        free(table->by_node);
        free(table->by_prefix);
        memset(table, 0, sizeof *table);
    }
}

static uint32_t prefix_hash(be32 net, int prefix)
{
    return hash_u32(net, prefix);
}

struct peer *peer_table_by_node(const struct peer_table *table, be32 node_ip)
{
    for (uint32_t i = hash_u32(node_ip, 1); ; i++) {
        uint32_t ref = table->by_node[i & table->mask];

        if (!ref) {
            return NULL;
        }
        if (table->peers[ref - 1].node_ip == node_ip) {
            return &table->peers[ref - 1];
        }
    }
}

static struct peer *peer_by_prefix(const struct peer_table *table, be32 net, int prefix)
{
    for (uint32_t i = prefix_hash(net, prefix); ; i++) {
        uint32_t ref = table->by_prefix[i & table->mask];

        if (!ref) {
            return NULL;
        }
        if (table->peers[ref - 1].pod_cidr.net == net
            && table->peers[ref - 1].pod_cidr.prefix == prefix) {
            return &table->peers[ref - 1];
        }
    }
}

struct peer *peer_table_by_pod_ip(const struct peer_table *table, be32 ip)
{
    uint64_t lengths = table->prefix_lengths;

    while (lengths) {
        int prefix = 63 - __builtin_clzll(lengths);
        struct peer *p = peer_by_prefix(table, ip & cidr_mask(prefix), prefix);

        if (p) {
            return p;
        }
        lengths &= ~(1ULL << prefix);
    }
    return NULL;
}

static void rebuild(struct peer_table *table)
{
    memset(table->by_node, 0, (table->mask + 1) * sizeof *table->by_node);
    memset(table->by_prefix, 0, (table->mask + 1) * sizeof *table->by_prefix);
    table->prefix_lengths = 0;
    for (uint32_t p = 0; p < table->n_peers; p++) {
        const struct peer *peer = &table->peers[p];
        uint32_t i;

        for (i = hash_u32(peer->node_ip, 1); table->by_node[i & table->mask]; i++) {
            continue;
        }
        table->by_node[i & table->mask] = p + 1;
        for (i = prefix_hash(peer->pod_cidr.net, peer->pod_cidr.prefix);
             table->by_prefix[i & table->mask]; i++) {
            continue;
        }
        table->by_prefix[i & table->mask] = p + 1;
        table->prefix_lengths |= 1ULL << peer->pod_cidr.prefix;
    }
}

static bool cidrs_overlap(const struct cidr *a, const struct cidr *b)
{
    int prefix = MIN(a->prefix, b->prefix);

    return (a->net & cidr_mask(prefix)) == (b->net & cidr_mask(prefix));
}

int peer_table_set(struct peer_table *table, be32 node_ip, const struct cidr *cidr)
{
    struct peer *peer = peer_table_by_node(table, node_ip);

    for (uint32_t p = 0; p < table->n_peers; p++) {
        const struct peer *other = &table->peers[p];

        if (other->node_ip != node_ip && cidrs_overlap(&other->pod_cidr, cidr)) {
            return -EEXIST;
        }
    }
    if (!peer) {
        if (table->n_peers == PEER_TABLE_MAX_PEERS) {
            return -ENOSPC;
        }
        peer = &table->peers[table->n_peers++];
        memset(peer, 0, sizeof *peer);
        peer->node_ip = node_ip;
    }
    peer->pod_cidr = *cidr;
    /* The remote switch answers its gateway, the CIDR's first address, with this MAC. */
    peer->router_mac = addr_mac_from_ip(htonl(ntohl(cidr->net) + 1));
    rebuild(table);
    return 0;
}

int peer_table_del(struct peer_table *table, be32 node_ip)
{
    struct peer *peer = peer_table_by_node(table, node_ip);

    if (!peer) {
        return -ENOENT;
    }
    *peer = table->peers[--table->n_peers];
    rebuild(table);
    return 0;
}
