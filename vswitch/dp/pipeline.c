/* The slow path; see pipeline.h.
 *
 * The switch is the pods' router at the gateway address and a switch for frames addressed to
 * a pod's own MAC:
 *   - a frame to the router MAC is routed: to a local pod (MACs fixed, TTL decremented), to
 *     the gateway itself (the host port), or out of the pod CIDR through the host port;
 *   - a frame to a known MAC (pods in one subnet, the node reaching a pod) is delivered as is;
 *   - nothing is ever flooded. */
#define LOG_MODULE "pipeline"

#include "dp/pipeline.h"
#include "dp/pipeline-private.h"

#include <arpa/inet.h>
#include <errno.h>

#include "dp/csum.h"
#include "dp/dp-state.h"
#include "dp/net-headers.h"
#include "lib/hash.h"
#include "lib/log.h"


/* The switch MAC that stands for the pod 'ip' in DSR dispatch: 0a:58 and the address, so a
 * node can address a remote pod by MAC without knowing its real one. */
static struct eth_addr dispatch_mac(be32 ip)
{
    return addr_mac_from_ip(ip);
}

/* True if 'mac' is a dispatch MAC; sets '*ip'. */
static bool is_dispatch_mac(struct eth_addr mac, be32 *ip)
{
    if (mac.a[0] != 0x0a || mac.a[1] != 0x58) {
        return false;
    }
    memcpy(ip, &mac.a[2], 4);
    return true;
}

static enum drop_reason check_source(const struct dp *dp, const struct port *in,
                                     const struct flow_key *key)
{
    if (key->vlan_tci) {
        return DROP_VLAN;
    }
    if (in->type == DP_PORT_VXLAN) {
        const struct peer *peer = peer_table_by_node(&dp->peers, key->tun_src);
        be32 pod_ip;

        if (!peer) {
            return DROP_VXLAN_UNKNOWN_PEER;
        }
        /* A peer speaks for its own pods, and for VIPs (DSR replies un-NAT'd over there),
         * among them this node's NodePorts (a pod here reached its own node's NodePort and
         * this node dispatched it there: only from a NodePort's port); and for clients
         * outside the cluster whose connections to a VIP it dispatched here by MAC (DSR for
         * external clients: any source, but only to a VIP, or to a NodePort on the peer's
         * own address, by a dispatch MAC). */
        if (key->dl_type == htons(ETH_TYPE_IPV4) && !cidr_contains(&peer->pod_cidr, key->nw_src)
            && !lb_is_vip(&dp->lb, key->nw_src)
            && !(lb_is_node_addr(&dp->lb, key->nw_src)
                 && lb_lookup(&dp->lb, 0, key->tp_src, key->nw_proto))
            && !(is_dispatch_mac(key->dl_dst, &pod_ip)
                 && (lb_is_vip(&dp->lb, key->nw_dst)
                     || lb_lookup(&dp->lb, 0, key->tp_dst, key->nw_proto)))) {
            return DROP_SPOOFED_IP;
        }
        return key->dl_type == htons(ETH_TYPE_ARP) ? DROP_ARP_IGNORED : DROP_NONE;
    }
    if (port_is_pod(in)) {
        if (!in->mac_known || !eth_addr_equals(key->dl_src, in->mac)) {
            return DROP_SPOOFED_MAC;
        }
        if (key->dl_type == htons(ETH_TYPE_IPV4) && key->nw_src != in->ip) {
            /* Classic L2 DSR: a backend answers from the VIP it holds, and only it may. */
            if (!lb_is_vip(&dp->lb, key->nw_src)) {
                return DROP_SPOOFED_IP;
            }
            if (!lb_preserve_dip_backs(&dp->lb, key->nw_src,
                                       key->nw_frag == FLOW_FRAG_LATER ? 0 : key->nw_proto,
                                       key->tp_src, in->ip)) {
                return DROP_VIP_NOT_BACKED;
            }
        }
    }
    return DROP_NONE;
}

/* Where a packet to an address goes next: a local port, or a peer over the overlay. */
struct next_hop {
    struct port *port;
    const struct peer *peer;
};

/* A local pod; a remote pod on its node; the host for the gateway (the node's own address in
 * the pod CIDR, from which it reaches pods and cluster IPs) and for anything outside the pod
 * CIDRs.  Neither port nor peer inside this node's pod CIDR with no such pod. */
static struct next_hop route_to(const struct dp *dp, be32 ip)
{
    struct next_hop hop = { port_table_by_ip(&dp->ports, ip), NULL };

    if (ip == dp->cfg.gateway) {
        hop.port = dp->host;
        return hop;
    }
    if (hop.port || cidr_contains(&dp->cfg.pod_cidr, ip)) {
        return hop;
    }
    if (dp->vxlan && (hop.peer = peer_table_by_pod_ip(&dp->peers, ip)) != NULL) {
        hop.port = dp->vxlan;
        return hop;
    }
    hop.port = dp->host;
    return hop;
}

static void output_to_peer(const struct dp *dp, const struct peer *peer, struct eth_addr dst,
                           struct action_list *acts)
{
    actions_tunnel(acts, peer->node_ip, peer - dp->peers.peers,
                   dp->cfg.overlay_mtu ? dp->cfg.overlay_mtu : OVERLAY_DEFAULT_MTU,
                   dp->cfg.gateway);
    actions_set_eth(acts, dp->cfg.router_mac, dst);
    actions_dec_ttl(acts);
    actions_output(acts, dp->vxlan->port_no);
}

static void output_routed(const struct dp *dp, struct next_hop hop, struct action_list *acts)
{
    if (hop.peer) {
        output_to_peer(dp, hop.peer, hop.peer->router_mac, acts);
    } else if (!hop.port || !hop.port->mac_known) {
        actions_drop(acts, DROP_NO_ROUTE);
    } else {
        actions_set_eth(acts, dp->cfg.router_mac, hop.port->mac);
        actions_dec_ttl(acts);
        actions_output(acts, hop.port->port_no);
    }
}

static void route(const struct dp *dp, const struct port *in, const struct flow_key *key,
                  struct action_list *acts)
{
    const struct port *out;

    if (key->nw_dst == dp->cfg.gateway) {
        out = dp->host;
        if (out == in) {
            actions_drop(acts, DROP_HAIRPIN);
            return;
        }
        /* The packet is for the router itself: no hop, no TTL to spend. */
        actions_set_eth(acts, dp->cfg.router_mac, out->mac);
        actions_output(acts, out->port_no);
        return;
    }
    {
        struct next_hop hop = route_to(dp, key->nw_dst);

        if (hop.port == in && !hop.peer) {
            actions_drop(acts, DROP_HAIRPIN);
        } else {
            output_routed(dp, hop, acts);
        }
    }
}

/* A packet of 'conn' in direction 'dir' leaves with the other direction's tuple reversed. */
static void conn_actions(const struct dp *dp, const struct ct_conn *conn, enum ct_dir dir,
                         struct action_list *acts)
{
    const struct ct_tuple *other = &conn->tuple[!dir];

    actions_ct(acts, ct_index(&dp->ct, conn), conn->gen, dir);
    actions_nat(acts, other->dst, other->dport, other->src, other->sport);
    output_routed(dp, route_to(dp, other->src), acts);
}

static struct ct_tuple tuple_from_key(const struct flow_key *key)
{
    struct ct_tuple t = {
        .src = key->nw_src, .dst = key->nw_dst,
        .sport = key->tp_src, .dport = key->tp_dst, .proto = key->nw_proto,
    };
    return t;
}

/* True if a cached flow of plain (untranslated) traffic carries 'reply' as it would enter the
 * switch: the reply of an earlier direct connection between the same two sockets. */
static bool cached_as_plain(const struct dp *dp, const struct ct_tuple *reply)
{
    const struct port *backend = port_table_by_ip(&dp->ports, reply->src);
    const struct port *client = port_table_by_ip(&dp->ports, reply->dst);
    struct flow_key key;

    if (!backend || !backend->mac_known) {
        return false;
    }
    memset(&key, 0, sizeof key);
    key.in_port = backend->port_no;
    key.dl_type = htons(ETH_TYPE_IPV4);
    key.nw_proto = reply->proto;
    key.dl_src = backend->mac;
    key.nw_src = reply->src;
    key.nw_dst = reply->dst;
    key.tp_src = reply->sport;
    key.tp_dst = reply->dport;
    /* Routed by the gateway, or switched straight to a client in the same subnet. */
    key.dl_dst = dp->cfg.router_mac;
    if (flow_cache_lookup(&dp->cache, &key, flow_key_hash(&key))) {
        return true;
    }
    if (client && client->mac_known) {
        key.dl_dst = client->mac;
        return flow_cache_lookup(&dp->cache, &key, flow_key_hash(&key)) != NULL;
    }
    return false;
}

static bool tuple_in_use(const struct dp *dp, const struct ct_tuple *reply)
{
    enum ct_dir dir;

    return ct_lookup(&dp->ct, reply, &dir) || cached_as_plain(dp, reply);
}

/* The reply tuple of a new flow pair must be unique, or two connections would share one
 * 4-tuple at the backend: a client reaching one backend from one port through two VIPs, or
 * directly and through a VIP (the second SYN would meet the first's TIME_WAIT and PAWS).  On
 * a clash the source port is rewritten, as the kernel's NAT does, to one of 61000-65535:
 * above Linux's ephemeral range, so the client's own later connections do not clash with it. */
static bool make_reply_unique(const struct dp *dp, struct ct_tuple *reply)
{
    uint32_t start;

    if (!tuple_in_use(dp, reply)) {
        return true;
    }
    start = hash_u32(reply->src ^ reply->dst, ntohs(reply->dport));
    for (uint32_t i = 0; i < 128; i++) {
        reply->dport = htons(61000 + (start + i * 7919) % 4536);
        if (!tuple_in_use(dp, reply)) {
            return true;
        }
    }
    return false;
}

/* Returns 0 with the pair in '*conn', or the drop reason for the packet.  'snat_ip' is the
 * client's address as the backend is to see it, 0 to keep the client's own (DSR). */
static enum drop_reason create_pair(struct dp *dp, const struct flow_key *key,
                                    const struct lb_policy *policy, be32 backend_ip,
                                    uint16_t backend_port, be32 snat_ip, struct ct_conn **conn)
{
    struct ct_tuple orig = tuple_from_key(key), reply = {
        .src = backend_ip, .dst = snat_ip ? snat_ip : key->nw_src,
        .sport = htons(backend_port), .dport = key->tp_src, .proto = key->nw_proto,
    };

    if (!make_reply_unique(dp, &reply)) {
        return DROP_NO_ROUTE;
    }
    switch (ct_create(&dp->ct, &orig, &reply, policy->slot, !snat_ip, dp->now_ms, conn)) {
    case 0:
        return DROP_NONE;
    case -EDQUOT:
        return DROP_FLOW_PAIR_QUOTA;
    default:
        return DROP_FLOW_TABLE_FULL;
    }
}

/* Classic L2 DSR to the backend 'ip' reached through 'hop': only the MACs are fixed (and the
 * TTL spent); destination IP and port stay the VIP's, which the backend holds.  A remote
 * backend gets the dispatch MAC that stands for it, its node fixes the real one. */
static void output_preserve_dip(const struct dp *dp, struct next_hop hop, be32 ip,
                                struct action_list *acts)
{
    if (hop.peer) {
        output_to_peer(dp, hop.peer, dispatch_mac(ip), acts);
    } else {
        output_routed(dp, hop, acts);
    }
}

/* A new connection to a preserve-dip policy: the backend's answers come from the VIP and go
 * straight to the client, never through a translation, so all the switch keeps is the
 * choice, as a dispatch entry (whether the backend is here or on another node): later
 * packets follow it even when Maglev would choose another. */
static void preserve_dip_connect(struct dp *dp, const struct port *in,
                                 const struct flow_key *key, uint8_t tcp_flags,
                                 struct lb_policy *policy, const struct dp_lb_backend *backend,
                                 struct next_hop hop, struct action_list *acts,
                                 bool *cacheable)
{
    struct ct_tuple t = tuple_from_key(key);
    struct ct_conn *entry;

    if (hop.port == in && !hop.peer) {
        /* A backend reaching its own VIP answers itself on its loopback; this is another
         * address of it asking, which would see the VIP answer from its own stack. */
        *cacheable = false;
        actions_drop(acts, DROP_HAIRPIN);
        return;
    }
    policy->dispatched++;
    if (!ct_create_dispatch(&dp->ct, &t, backend->ip, htons(backend->port), policy->slot,
                            tcp_flags, dp->now_ms, &entry)) {
        actions_policy_dispatch(acts, policy->slot, ct_index(&dp->ct, entry), entry->gen);
    } else {
        actions_policy(acts, policy->slot);
    }
    output_preserve_dip(dp, hop, backend->ip, acts);
}

/* A new connection to 'policy' ('tcp_flags': its packet's): picks the backend and creates
 * the flow pair, or the dispatch entry when the backend is on another node. */
static void lb_connect(struct dp *dp, const struct port *in, const struct flow_key *key,
                       uint8_t tcp_flags, struct lb_policy *policy, struct action_list *acts,
                       bool *cacheable)
{
    const struct dp_lb_backend *backend;
    enum drop_reason why;
    struct next_hop hop;
    struct ct_conn *conn;
    bool host_client;
    be32 snat_ip = 0;

    if (!lb_source_allowed(policy, key->nw_src)) {
        /* Cached: the cache is flushed whenever a policy changes. */
        actions_drop(acts, DROP_SOURCE_RANGE);
        return;
    }
    backend = lb_select(policy, key->nw_src, key->nw_dst, key->tp_src, key->tp_dst,
                        dp->now_ms);
    if (!backend) {
        /* Answered per packet: the policy may gain backends at any moment. */
        policy->rejected++;
        *cacheable = false;
        actions_reject(acts, in->port_no, dp->cfg.router_mac, key->dl_src);
        return;
    }
    hop = route_to(dp, backend->ip);
    if (!hop.port) {
        *cacheable = false;
        actions_drop(acts, DROP_NO_ROUTE);
        return;
    }
    /* The node itself (or a hostNetwork pod) speaking from its own underlay address, or
     * from any other of its addresses (a NodePort of its own): a backend's node would
     * answer that address straight over the underlay, outside every switch and the node's
     * conntrack, so a remote backend gets the client source-NAT'd to the gateway, whose
     * answers come back through this switch.  Any other source from the host port is a
     * client outside the cluster whose packet the node forwarded in (an external address
     * routed here, node-routes.h) or steered in (a NodePort): DSR, its answer goes straight
     * to it from the backend's node, which is the point. */
    host_client = in == dp->host
                  && ((dp->cfg.node_ip && key->nw_src == dp->cfg.node_ip)
                      || lb_is_node_addr(&dp->lb, key->nw_src));
    if (policy->spec.preserve_dip) {
        preserve_dip_connect(dp, in, key, tcp_flags, policy, backend, hop, acts, cacheable);
        return;
    }
    if (hop.peer && policy->spec.dsr && !host_client) {
        /* DSR across the overlay: only the MAC is fixed, to the one that stands for the
         * backend pod; its node translates and keeps the pair.  The reply never comes back
         * this way, so all this node keeps is the choice (a dispatch entry): Maglev alone
         * would move the connection when a backend is added.  With no room for the entry
         * the connection still goes, with Maglev's choice only, as before entries. */
        struct ct_conn *entry;
        struct ct_tuple t = tuple_from_key(key);

        policy->dispatched++;
        if (!ct_create_dispatch(&dp->ct, &t, backend->ip, htons(backend->port),
                                policy->slot, tcp_flags, dp->now_ms, &entry)) {
            actions_policy_dispatch(acts, policy->slot, ct_index(&dp->ct, entry),
                                    entry->gen);
        } else {
            actions_policy(acts, policy->slot);
        }
        output_to_peer(dp, hop.peer, dispatch_mac(backend->ip), acts);
        return;
    }
    /* Hairpin: a pod reaching itself through the VIP would see its own address as the
     * source and answer itself directly; the gateway address brings the reply back.  The
     * node reaching itself (a backend that is a node address, sent back to the host port)
     * gets the host router's address instead: the gateway is the node's own, and a packet
     * from it arriving on vsw0 would be dropped as a martian. */
    if (hop.port == in && in == dp->host) {
        snat_ip = htonl(DP_HOST_ROUTER_IP);
    } else if (!policy->spec.dsr || hop.port == in || (host_client && hop.peer)) {
        snat_ip = dp->cfg.gateway;
    }
    why = create_pair(dp, key, policy, backend->ip, backend->port, snat_ip, &conn);
    if (why) {
        /* Not cached: the client's retransmission may find room. */
        *cacheable = false;
        actions_drop(acts, why);
        return;
    }
    policy->connections++;
    conn_actions(dp, conn, CT_DIR_ORIG, acts);
}

/* Where the backend that dispatch entry 'entry' went to is, if the connection goes on there
 * (lb_keeps_connection(): TCP even after its backend left the policy): a peer, or for a
 * preserve-dip policy also a port of this node.  False when it cannot be reached. */
static bool dispatch_hop(const struct dp *dp, const struct ct_conn *entry,
                         struct next_hop *hop)
{
    const struct ct_tuple *backend = &entry->tuple[CT_DIR_REPLY];
    const struct lb_policy *policy = lb_policy_at(&dp->lb, entry->policy);

    if (!lb_keeps_connection(policy, entry->tuple[CT_DIR_ORIG].proto, backend->src,
                             ntohs(backend->sport))) {
        return false;
    }
    *hop = route_to(dp, backend->src);
    if (hop->peer) {
        return true;
    }
    return policy->spec.preserve_dip && hop->port && hop->port->mac_known
           && hop->port != dp->vxlan;
}

/* Later packets of a dispatched connection go where its first went. */
static void dispatch_follow(const struct dp *dp, const struct ct_conn *entry,
                            struct next_hop hop, struct action_list *acts)
{
    actions_policy_dispatch(acts, entry->policy, ct_index(&dp->ct, entry), entry->gen);
    output_preserve_dip(dp, hop, entry->tuple[CT_DIR_REPLY].src, acts);
}

/* The backend half of DSR across the overlay: a frame from a peer addressed to a VIP with the
 * dispatch MAC of a local pod.  The pod was chosen over there; here it is DNAT'd to the pod's
 * target port and the flow pair is created, so the reply is un-NAT'd here and leaves straight
 * for the client's node. */
static bool dsr_dispatch(struct dp *dp, const struct port *in, const struct flow_key *key,
                         struct action_list *acts, bool *cacheable)
{
    const struct dp_lb_backend *chosen = NULL;
    struct lb_policy *policy;
    enum drop_reason why;
    struct ct_conn *conn;
    struct port *pod;
    be32 pod_ip;

    if (in->type != DP_PORT_VXLAN || !is_dispatch_mac(key->dl_dst, &pod_ip)
        || pod_ip == key->nw_dst || !(pod = port_table_by_ip(&dp->ports, pod_ip))) {
        return false;
    }
    policy = lb_lookup(&dp->lb, key->nw_dst, key->tp_dst, key->nw_proto);
    if (!policy) {
        /* A NodePort: the destination is the balancing node's address, which this node
         * does not hold; the policy 0.0.0.0:port is the same on every node. */
        policy = lb_lookup(&dp->lb, 0, key->tp_dst, key->nw_proto);
    }
    if (policy && policy->spec.preserve_dip) {
        /* Classic L2 DSR: the pod holds the VIP; only its real MAC is put in.  No pair:
         * its answers come from the VIP and are routed as they are. */
        if (!lb_has_backend(policy, pod_ip, ntohs(key->tp_dst)) || !pod->mac_known) {
            *cacheable = false;
            actions_drop(acts, DROP_NO_BACKEND);
            return true;
        }
        actions_policy(acts, policy->slot);
        actions_set_eth(acts, dp->cfg.router_mac, pod->mac);
        actions_dec_ttl(acts);
        actions_output(acts, pod->port_no);
        return true;
    }
    if (policy) {
        /* Same Maglev, same answer as the client's node; if the backend sets differ for a
         * moment, any entry of this pod serves. */
        chosen = lb_select(policy, key->nw_src, key->nw_dst, key->tp_src, key->tp_dst,
                           dp->now_ms);
        for (size_t i = 0; chosen && chosen->ip != pod_ip; i++) {
            chosen = i < policy->spec.n_backends ? &policy->backends[i] : NULL;
        }
    }
    if (!chosen) {
        *cacheable = false;
        actions_drop(acts, DROP_NO_BACKEND);
        return true;
    }
    why = create_pair(dp, key, policy, chosen->ip, chosen->port, 0, &conn);
    if (why) {
        *cacheable = false;
        actions_drop(acts, why);
        return true;
    }
    policy->connections++;
    conn_actions(dp, conn, CT_DIR_ORIG, acts);
    return true;
}

/* A direct connection opened from the 4-tuple a closed pair used for its backend side (the
 * client reused its port): the pair would translate the backend's answers to the VIP, so it
 * goes.  A pair still open is left alone: its port was made unique when it was created. */
static void forget_closed_pair_on(struct dp *dp, const struct ct_tuple *t)
{
    struct ct_tuple inverse = {
        .src = t->dst, .dst = t->src, .sport = t->dport, .dport = t->sport, .proto = t->proto,
    };
    struct ct_conn *conn;
    enum ct_dir dir;

    conn = ct_lookup(&dp->ct, &inverse, &dir);
    if (conn && dir == CT_DIR_REPLY
        && (conn->state == CT_CLOSED || conn->state == CT_CLOSING)) {
        ct_delete(&dp->ct, conn);
    }
}

/* Flow pairs and policies, for TCP and UDP.  Returns true if it decided. */
static bool decide_lb(struct dp *dp, struct port *in, const struct flow_key *key_,
                      struct packet *pkt, struct action_list *acts, bool *cacheable)
{
    const struct ip_header *ip = (const struct ip_header *) packet_l3(pkt);
    struct flow_key key = *key_;
    struct lb_policy *policy;
    struct ct_conn *conn;
    enum ct_dir dir;
    struct ct_tuple t;

    if (key.nw_proto != IP_PROTO_TCP && key.nw_proto != IP_PROTO_UDP) {
        return false;
    }
    if (key.nw_frag) {
        *cacheable = false;
    }
    if (key.nw_frag == FLOW_FRAG_LATER
        && !frag_lookup(&dp->frags, key.nw_src, key.nw_dst, key.nw_proto, ip->id,
                        &key.tp_src, &key.tp_dst, dp->now_ms)) {
        if (lb_is_vip(&dp->lb, key.nw_dst)) {
            actions_drop(acts, DROP_FRAG_NO_FIRST);
            return true;
        }
        return false;
    }

    t = tuple_from_key(&key);
    conn = ct_lookup(&dp->ct, &t, &dir);
    if (conn && lb_conn_reopens_elsewhere(&dp->lb, conn, dir, pkt->tcp_flags)) {
        ct_delete(&dp->ct, conn);
        conn = NULL;
    }
    if (conn && ct_is_dispatch(conn)) {
        struct next_hop hop;

        if (dispatch_hop(dp, conn, &hop)) {
            dispatch_follow(dp, conn, hop, acts);
        } else {
            /* Its backend cannot be reached any more (its node left the overlay): decided
             * afresh, as a new connection. */
            ct_delete(&dp->ct, conn);
            conn = NULL;
        }
    }
    if (!conn && key.nw_proto == IP_PROTO_TCP
        && (pkt->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        forget_closed_pair_on(dp, &t);
    }
    if (conn) {
        if (!ct_is_dispatch(conn)) {
            conn_actions(dp, conn, dir, acts);
        }
    } else if (dsr_dispatch(dp, in, &key, acts, cacheable)) {
        /* Decided. */
    } else if (eth_addr_equals(key.dl_dst, dp->cfg.router_mac)
               && (policy = lb_lookup_dst(&dp->lb, key.nw_dst, key.tp_dst, key.nw_proto))) {
        lb_connect(dp, in, &key, pkt->tcp_flags, policy, acts, cacheable);
    } else {
        return false;
    }
    if (key.nw_frag == FLOW_FRAG_FIRST) {
        frag_remember(&dp->frags, key.nw_src, key.nw_dst, key.nw_proto, ip->id, key.tp_src,
                      key.tp_dst, dp->now_ms);
    }
    return true;
}

void pipeline_decide(struct dp *dp, struct port *in, const struct flow_key *key,
                     struct packet *pkt, struct action_list *acts, bool *cacheable)
{
    enum drop_reason reason;
    const struct port *out;

    action_list_init(acts);
    *cacheable = true;
    reason = check_source(dp, in, key);
    if (reason) {
        actions_drop(acts, reason);
        return;
    }
    if (key->dl_type != htons(ETH_TYPE_IPV4)) {
        actions_drop(acts, DROP_ETHERTYPE);
        return;
    }
    if (eth_addr_is_multicast(key->dl_dst)) {
        actions_drop(acts, DROP_MULTICAST);
        return;
    }
    if (decide_lb(dp, in, key, pkt, acts, cacheable)) {
        return;
    }
    if (key->nw_frag == FLOW_FRAG_LATER) {
        /* Its cache key has no ports: it must not stand for other datagrams. */
        *cacheable = false;
    }
    if (eth_addr_equals(key->dl_dst, dp->cfg.router_mac)) {
        route(dp, in, key, acts);
        return;
    }
    out = port_table_by_mac(&dp->ports, key->dl_dst);
    if (!out) {
        actions_drop(acts, DROP_UNKNOWN_DST_MAC);
    } else if (out == in) {
        actions_drop(acts, DROP_HAIRPIN);
    } else {
        actions_output(acts, out->port_no);
    }
}

static bool is_icmp_error(const struct flow_key *key)
{
    uint16_t type = ntohs(key->tp_src);

    return key->dl_type == htons(ETH_TYPE_IPV4) && key->nw_proto == IP_PROTO_ICMP
           && (type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED
               || type == ICMP_PARAMETER_PROBLEM);
}

/* Translates an ICMP error whose quoted datagram belongs to a flow pair, and sets
 * pkt->out_port or counts the drop.  Returns false, touching nothing, when no flow pair
 * matches. */
static bool icmp_error(struct dp *dp, struct port *in, struct packet *pkt,
                         const struct flow_key *key)
{
    uint8_t *l4 = packet_l4(pkt);
    struct icmp_header *icmp = (struct icmp_header *) l4;
    struct ip_header *outer = (struct ip_header *) packet_l3(pkt);
    struct ip_header *inner = (struct ip_header *) (l4 + ICMP_HDR_LEN);
    size_t icmp_len = ntohs(outer->tot_len) - (size_t) (l4 - packet_l3(pkt));
    struct udp_header *inner_ports;
    const struct ct_tuple *to;
    struct action_list acts;
    struct ct_conn *conn;
    struct ct_tuple t;
    enum ct_dir dir;
    size_t inner_ihl;
    be32 outer_src;

    if (key->nw_frag || icmp_len < ICMP_HDR_LEN + IP_HDR_LEN + 8) {
        return false;
    }
    inner_ihl = (inner->ihl_ver & 0x0f) * 4;
    if ((inner->ihl_ver >> 4) != 4 || inner_ihl < IP_HDR_LEN
        || icmp_len < ICMP_HDR_LEN + inner_ihl + 8
        || (inner->proto != IP_PROTO_TCP && inner->proto != IP_PROTO_UDP)) {
        return false;
    }
    inner_ports = (struct udp_header *) ((uint8_t *) inner + inner_ihl);
    /* The error travels against the quoted datagram: look up the quoted tuple reversed. */
    t = (struct ct_tuple) {
        .src = inner->dst, .dst = inner->src, .sport = inner_ports->dst,
        .dport = inner_ports->src, .proto = inner->proto,
    };
    conn = ct_lookup(&dp->ct, &t, &dir);
    if (!conn) {
        return false;
    }
    if (check_source(dp, in, key)) {
        drop_stats_rx(&dp->drops, in, pkt, check_source(dp, in, key));
        return true;
    }
    action_list_init(&acts);
    if (ct_is_dispatch(conn)) {
        /* The client's error about a reply (a port unreachable, a datagram too big): the
         * pair is on the backend's node, which translates it there, so it goes as the
         * connection's packets do, untouched. */
        struct next_hop hop;

        if (!dispatch_hop(dp, conn, &hop)) {
            return false;
        }
        output_preserve_dip(dp, hop, conn->tuple[CT_DIR_REPLY].src, &acts);
    } else {
        /* The quoted datagram becomes the other direction as it was before translation;
         * the outer header goes where the error's direction leads.  The quote is often cut
         * short of the datagram's end, so its L4 checksum cannot be checked by anyone and
         * is left as it was; the receiving stack matches the quote by addresses and ports
         * only. */
        to = &conn->tuple[!dir];
        {
            struct packet quoted = *pkt;

            quoted.vnet.flags = 0;
            actions_nat_headers(&quoted, (uint8_t *) inner, NULL, to->src, 0, to->dst, 0);
        }
        inner_ports->src = to->sport;
        inner_ports->dst = to->dport;
        outer_src = outer->src == t.src ? to->dst : outer->src;
        actions_nat_headers(pkt, (uint8_t *) outer, NULL, outer_src, 0, to->src, 0);
        icmp->csum = 0;
        icmp->csum = csum_finish(csum_partial(icmp, icmp_len, 0));
        memset(&pkt->vnet, 0, sizeof pkt->vnet);
        output_routed(dp, route_to(dp, to->src), &acts);
    }
    {
        struct actions_ctx ctx = { .ct = &dp->ct, .lb = &dp->lb, .peers = &dp->peers,
                                   .now_ms = dp->now_ms };

        actions_execute(&acts, pkt, &ctx);
    }
    if (!pkt->out_port) {
        drop_stats_rx(&dp->drops, in, pkt, pkt->drop_reason);
    }
    return true;
}

/* Returns true if 'in' learned its MAC from 'key'. */
static bool learn(struct dp *dp, struct port *in, const struct flow_key *key)
{
    char mac[ETH_STR_LEN];

    if (in->mac_known || !port_is_pod(in) || key->nw_src != in->ip
        || eth_addr_is_multicast(key->dl_src) || eth_addr_is_zero(key->dl_src)
        || (key->dl_type != htons(ETH_TYPE_IPV4) && key->dl_type != htons(ETH_TYPE_ARP))
        || port_table_by_mac(&dp->ports, key->dl_src)) {
        return false;
    }
    in->mac = key->dl_src;
    in->mac_known = true;
    in->mac_learned = true;
    LOG_INFO("port %s: learned MAC %s", in->name, addr_mac_str(in->mac, mac));
    return true;
}

bool pipeline_before_cache(struct dp *dp, struct port *in, struct packet *pkt,
                           const struct flow_key *key)
{
    if (!in->mac_known && learn(dp, in, key)) {
        port_table_reindex(&dp->ports);
        flow_cache_flush(&dp->cache);
    }
    if (key->dl_type == htons(ETH_TYPE_ARP)) {
        pipeline_arp(dp, in, pkt, key);
        return true;
    }
    return is_icmp_error(key) && dp->ct.n_conns && icmp_error(dp, in, pkt, key);
}
