/* Action lists: what the datapath does to a packet once it knows its flow.  The slow path
 * compiles a decision into a short list; the flow cache stores it; every later packet of the
 * flow runs the list and nothing else. */
#ifndef VSWITCH_DP_ACTIONS_H
#define VSWITCH_DP_ACTIONS_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/drop.h"
#include "dp/packet.h"
#include "lib/types.h"

struct ct_table;
struct lb_table;
struct peer_table;

enum action_type {
    ACTION_CT,          /* Account to flow pair 'conn' in direction 'dir'; stale if it is gone. */
    ACTION_POLICY,      /* Account to policy slot 'port' (a flow with no pair here) and, if
                         * 'u.ct.conn' is not 0, to dispatch entry u.ct.conn - 1: stale if it
                         * is gone. */
    ACTION_NAT,         /* Rewrite addresses and ports, checksums updated (RFC 1624). */
    ACTION_TUNNEL,      /* Send over VXLAN to peer 'dst'; too big: ICMP back (RFC 1191). */
    ACTION_SET_ETH,     /* Rewrite source and destination MAC. */
    ACTION_DEC_TTL,     /* TTL - 1 with the IPv4 checksum updated; drop if it would reach 0. */
    ACTION_OUTPUT,      /* Send on 'port'.  Terminal. */
    ACTION_REJECT,      /* Answer with a TCP RST or ICMP port unreachable on 'port'.  Terminal. */
    ACTION_DROP,        /* Drop for 'reason'.  Terminal. */
};

struct action {
    uint8_t type;
    uint8_t dir;                    /* ACTION_CT: enum ct_dir. */
    uint16_t reason;                /* ACTION_DROP: enum drop_reason. */
    uint32_t port;                  /* ACTION_OUTPUT, ACTION_REJECT: port number;
                                     * ACTION_POLICY: policy slot. */
    union {
        struct {                    /* ACTION_SET_ETH, ACTION_REJECT. */
            struct eth_addr src, dst;
        } eth;
        struct {                    /* ACTION_NAT: the values to write. */
            be32 src, dst;
            be16 sport, dport;
        } nat;
        struct {                    /* ACTION_CT; ACTION_POLICY (conn + 1, or 0). */
            uint32_t conn, gen;
        } ct;
        struct {                    /* ACTION_TUNNEL. */
            be32 dst;               /* The peer node. */
            be32 gateway;           /* Source of "fragmentation needed". */
            uint16_t mtu;           /* Largest inner IPv4 packet. */
            uint16_t peer;          /* Index in the peer table, for its counters. */
        } tunnel;
    } u;
};

#define ACTIONS_MAX 8
struct action_list {
    uint8_t n;
    struct action a[ACTIONS_MAX];
};

/* What actions_execute() may need besides the packet. */
struct actions_ctx {
    struct ct_table *ct;
    struct lb_table *lb;
    struct peer_table *peers;
    uint64_t now_ms;
};

static inline void action_list_init(struct action_list *list)
{
    list->n = 0;
}

void actions_ct(struct action_list *, uint32_t conn, uint32_t gen, int dir);
void actions_nat(struct action_list *, be32 src, be16 sport, be32 dst, be16 dport);
void actions_policy(struct action_list *, uint32_t slot);
/* ACTION_POLICY that also accounts to dispatch entry 'conn' of generation 'gen'.  Printed
 * as actions_policy() is: the entry has a line of its own in dump-flows. */
void actions_policy_dispatch(struct action_list *, uint32_t slot, uint32_t conn, uint32_t gen);
void actions_tunnel(struct action_list *, be32 dst, uint16_t peer, uint16_t mtu, be32 gateway);
void actions_set_eth(struct action_list *, struct eth_addr src, struct eth_addr dst);
void actions_dec_ttl(struct action_list *);
void actions_output(struct action_list *, uint32_t port);
void actions_reject(struct action_list *, uint32_t port, struct eth_addr src,
                    struct eth_addr dst);
void actions_drop(struct action_list *, enum drop_reason);

/* Runs 'list' on 'pkt': on return pkt->out_port is the port to send on, or 0 with
 * pkt->drop_reason set.  Returns 0, or -ESTALE when the list was compiled for a flow pair
 * that no longer exists (the caller forgets the cached flow and decides again). */
int actions_execute(const struct action_list *, struct packet *, struct actions_ctx *);

/* Rewrites the IPv4 source/destination (and, if 'l4' is set, the TCP/UDP ports) of the
 * packet whose IPv4 header is at 'l3' and L4 header at 'l4' (NULL for a non-first fragment),
 * keeping every checksum right, partial ones included. */
void actions_nat_headers(struct packet *, uint8_t *l3, uint8_t *l4, be32 src, be16 sport,
                         be32 dst, be16 dport);

/* "set_eth(src=..,dst=..),dec_ttl,output:NAME"; 'port_name' maps a port number to a name. */
void actions_format(const struct action_list *, const char *(*port_name)(uint32_t, void *),
                    void *aux, char *buf, size_t size);

#endif
