/* The load-balancing table: VIP:port/proto -> policy (backends, Maglev table, DSR or not,
 * ClientIP affinity) and the set of VIPs.
 *
 * Policies are built on the control thread (lb_policy_new: the Maglev table takes a few
 * hundred microseconds) and handed to the datapath thread, which owns the table.  A policy
 * keeps its slot for as long as its VIP:port/proto exists, so flow pairs can name it by slot
 * across replacements. */
#ifndef VSWITCH_DP_LB_H
#define VSWITCH_DP_LB_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/conntrack.h"
#include "dp/lb-spec.h"
#include "lib/types.h"

struct lb_affinity;

/* The most node addresses a NodePort policy answers on; more are ignored (and said so by
 * the caller). */
#define LB_NODE_ADDRS_MAX 64

struct lb_policy {
    struct dp_lb_spec spec;         /* spec.backends == backends. */
    struct dp_lb_backend *backends; /* Sorted by (ip, port): binary-searchable. */
    uint16_t *maglev;               /* maglev_size entries; NULL without backends. */
    uint32_t maglev_size;
    struct lb_affinity *affinity;   /* NULL without ClientIP affinity. */
    uint32_t slot;
    uint32_t next;                  /* Hash chain: slot + 1. */
    uint64_t packets, bytes, connections, dispatched, rejected;
};

struct lb_table {
    struct lb_policy **slots;       /* By slot; NULL when free. */
    uint32_t n_slots;
    uint32_t n_policies;
    uint32_t *buckets;              /* Slot + 1 of the chain head. */
    uint32_t mask;
    uint32_t *vip_refs;             /* Open addressing: VIPs with their policy counts. */
    be32 *vip_keys;
    uint32_t vip_mask;
    /* The node's own addresses, where a NodePort policy (VIP 0.0.0.0) answers: a handful,
     * searched only when a new connection's destination is no VIP. */
    be32 node_addrs[LB_NODE_ADDRS_MAX];
    uint32_t n_node_addrs;
};

void lb_table_init(struct lb_table *);
void lb_table_destroy(struct lb_table *);

/* Builds a policy from 'spec' (validated: see dp_lb_set).  Control thread. */
struct lb_policy *lb_policy_new(const struct dp_lb_spec *);
void lb_policy_free(struct lb_policy *);

struct lb_policy *lb_lookup(const struct lb_table *, be32 vip, be16 port, uint8_t proto);
/* The policy in 'slot' (as a flow pair or an action names it), or NULL if the slot is free
 * or beyond the table. */
static inline struct lb_policy *lb_policy_at(const struct lb_table *lb, uint32_t slot)
{
    return slot < lb->n_slots ? lb->slots[slot] : NULL;
}
/* The policy a new connection to 'dst':'port'/'proto' ('port' network order) meets: the
 * one of that VIP, else, when 'dst' is one of the node's addresses, the NodePort policy
 * 0.0.0.0:'port'/'proto'.  NULL if neither. */
struct lb_policy *lb_lookup_dst(const struct lb_table *, be32 dst, be16 port, uint8_t proto);
/* Replaces the node's addresses (at most LB_NODE_ADDRS_MAX of 'n' are kept; returns how
 * many).  Datapath thread. */
size_t lb_set_node_addrs(struct lb_table *, const be32 *addrs, size_t n);
bool lb_is_node_addr(const struct lb_table *, be32 ip);
/* Whether some policy has VIP 'ip' (0.0.0.0, the NodePort's "any node address", is none). */
bool lb_is_vip(const struct lb_table *, be32 ip);
/* Classic L2 DSR: whether the pod 'ip' may send from 'vip' because it is a backend of a
 * preserve-dip policy of that VIP; with 'proto' TCP or UDP, of the policy 'vip':'port'
 * ('port' network order) exactly, else (ICMP, ARP: no ports) of any of them. */
bool lb_preserve_dip_backs(const struct lb_table *, be32 vip, uint8_t proto, be16 port,
                           be32 ip);
/* Inserts 'policy', or replaces the one with its key; returns the replaced policy (to be
 * freed by the caller) or NULL.  The policy takes the old one's slot and counters. */
struct lb_policy *lb_insert(struct lb_table *, struct lb_policy *);
/* Removes and returns the policy with that key, or NULL. */
struct lb_policy *lb_remove(struct lb_table *, be32 vip, uint16_t port, uint8_t proto);

/* Backend for a new connection with this 5-tuple (network order) from 'client': the
 * ClientIP affinity entry if one is live, otherwise Maglev.  NULL without backends. */
const struct dp_lb_backend *lb_select(struct lb_policy *, be32 client, be32 dst, be16 sport,
                                      be16 dport, uint64_t now_ms);
bool lb_has_backend(const struct lb_policy *, be32 ip, uint16_t port);
/* loadBalancerSourceRanges: whether a new connection from 'client' may use 'policy' (it has
 * no ranges, or one holds the client). */
bool lb_source_allowed(const struct lb_policy *, be32 client);

/* Graceful endpoint removal: whether an existing connection of 'proto' to backend
 * 'ip':'port' (host order) goes on under 'policy' (NULL: the policy is gone, and its
 * connections with it).  To a backend of the policy, yes.  To one that left it (its pod is
 * terminating, or gone from the EndpointSlice): TCP yes, until it closes or idles out, so a
 * rollout resets no established connection (kube-proxy keeps their conntrack entries too);
 * UDP no: its translation goes, and the next datagram is balanced afresh instead of being
 * blackholed to a gone backend (the stale-UDP bug, kube-proxy #48370).  New connections
 * never go to a backend that left: lb_select() picks among the policy's backends only. */
bool lb_keeps_connection(const struct lb_policy *, uint8_t proto, be32 ip, uint16_t port);

/* Whether a SYN reusing the tuple of a closed connection to 'ip':'port' may reopen it on the
 * same backend: only while that backend is in 'policy'.  Else the old connection is to be
 * forgotten and the new one balanced afresh, as any new connection. */
bool lb_may_reopen(const struct lb_policy *, be32 ip, uint16_t port);

/* True if a packet with 'tcp_flags' in direction 'dir' of 'conn' (a flow pair or dispatch
 * entry of a policy of 'lb') opens a new connection on the tuple of a closed one whose
 * backend has left its policy since (!lb_may_reopen): the caller deletes 'conn' and decides
 * the packet as a new connection, so the connection kept for its backend to finish does
 * not draw a new one there.  Checked on the flow-cache path too, where the SYN of a reused
 * port meets the cached flow of the old connection. */
bool lb_conn_reopens_elsewhere(const struct lb_table *, const struct ct_conn *,
                               enum ct_dir dir, uint8_t tcp_flags);

#endif
