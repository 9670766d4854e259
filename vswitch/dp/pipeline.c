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

#include <arpa/inet.h>

#include "dp/dp-private.h"
#include "dp/net-headers.h"
#include "lib/log.h"


static bool is_pod_port(const struct port *port)
{
    return port->type != DP_PORT_HOST;
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

    out = dp_port_by_ip(dp, key->nw_dst);
    if (!out) {
        if (cidr_contains(&dp->cfg.pod_cidr, key->nw_dst)) {
            actions_drop(acts, DROP_NO_ROUTE);
            return;
        }
        out = dp->host;
    }
    if (out == in) {
        actions_drop(acts, DROP_HAIRPIN);
    } else if (!out->mac_known) {
        actions_drop(acts, DROP_NO_ROUTE);
    } else {
        actions_set_eth(acts, dp->cfg.router_mac, out->mac);
        actions_dec_ttl(acts);
        actions_output(acts, out->port_no);
    }
}

void pipeline_decide(const struct dp *dp, const struct port *in, const struct flow_key *key,
                     struct action_list *acts)
{
    const struct port *out;

    action_list_init(acts);
    if (key->vlan_tci) {
        actions_drop(acts, DROP_VLAN);
        return;
    }
    if (is_pod_port(in)) {
        if (!in->mac_known || !eth_addr_equals(key->dl_src, in->mac)) {
            actions_drop(acts, DROP_SPOOFED_MAC);
            return;
        }
        if (key->dl_type == htons(ETH_TYPE_IPV4) && key->nw_src != in->ip) {
            actions_drop(acts, DROP_SPOOFED_IP);
            return;
        }
    }
    if (key->dl_type != htons(ETH_TYPE_IPV4)) {
        actions_drop(acts, DROP_ETHERTYPE);
        return;
    }
    if (eth_addr_is_multicast(key->dl_dst)) {
        actions_drop(acts, DROP_MULTICAST);
        return;
    }
    if (eth_addr_equals(key->dl_dst, dp->cfg.router_mac)) {
        route(dp, in, key, acts);
        return;
    }
    out = dp_port_by_mac(dp, key->dl_dst);
    if (!out) {
        actions_drop(acts, DROP_UNKNOWN_DST_MAC);
    } else if (out == in) {
        actions_drop(acts, DROP_HAIRPIN);
    } else {
        actions_output(acts, out->port_no);
    }
}

bool pipeline_learn(struct dp *dp, struct port *in, const struct flow_key *key)
{
    char mac[ETH_STR_LEN];

    if (in->mac_known || !is_pod_port(in) || key->nw_src != in->ip
        || eth_addr_is_multicast(key->dl_src) || eth_addr_is_zero(key->dl_src)
        || (key->dl_type != htons(ETH_TYPE_IPV4) && key->dl_type != htons(ETH_TYPE_ARP))
        || dp_port_by_mac(dp, key->dl_src)) {
        return false;
    }
    in->mac = key->dl_src;
    in->mac_known = true;
    in->mac_learned = true;
    LOG_INFO("port %s: learned MAC %s", in->name, addr_mac_str(in->mac, mac));
    return true;
}

static struct eth_addr arp_answer_for(const struct dp *dp, const struct port *in, be32 target,
                                      bool *found)
{
    const struct port *owner;

    *found = false;
    if (target == dp->cfg.gateway) {
        *found = in != dp->host;
        return dp->cfg.router_mac;
    }
    owner = dp_port_by_ip(dp, target);
    if (owner && owner != in && owner->mac_known && owner->up) {
        *found = true;
        return owner->mac;
    }
    return (struct eth_addr) { { 0 } };
}

void pipeline_arp(struct dp *dp, struct port *in, struct packet *pkt, const struct flow_key *key)
{
    struct eth_header *eth = (struct eth_header *) pkt->data;
    struct arp_eth_header *arp = (struct arp_eth_header *) packet_l3(pkt);
    struct eth_addr answer;
    bool found;

    if (key->vlan_tci) {
        dp_count_drop(dp, in, pkt, DROP_VLAN);
        return;
    }
    if (is_pod_port(in)) {
        if (!in->mac_known || !eth_addr_equals(key->dl_src, in->mac)
            || !eth_addr_equals(arp->sha, in->mac)) {
            dp_count_drop(dp, in, pkt, DROP_SPOOFED_MAC);
            return;
        }
        /* 0.0.0.0 is an RFC 5227 probe: legitimate, but there is nothing to answer. */
        if (arp->spa != in->ip) {
            dp_count_drop(dp, in, pkt, arp->spa ? DROP_SPOOFED_IP : DROP_ARP_IGNORED);
            return;
        }
    }
    if (arp->op != htons(ARP_OP_REQUEST) || arp->tpa == arp->spa) {
        dp_count_drop(dp, in, pkt, DROP_ARP_IGNORED);
        return;
    }
    answer = arp_answer_for(dp, in, arp->tpa, &found);
    if (!found) {
        dp_count_drop(dp, in, pkt, DROP_ARP_IGNORED);
        return;
    }

    /* Turn the request into its reply (RFC 826 "Packet Reception"). */
    eth->dst = eth->src;
    eth->src = answer;
    arp->op = htons(ARP_OP_REPLY);
    arp->tha = arp->sha;
    arp->sha = answer;
    {
        be32 target = arp->tpa;

        arp->tpa = arp->spa;
        arp->spa = target;
    }
    pkt->len = pkt->l3_ofs + ARP_LEN;
    memset(&pkt->vnet, 0, sizeof pkt->vnet);
    pkt->out_port = in->port_no;
}

void pipeline_build_probe(const struct dp *dp, const struct port *port, struct packet *pkt)
{
    struct eth_header *eth;
    struct arp_eth_header *arp;

    packet_reset(pkt);
    eth = (struct eth_header *) pkt->data;
    arp = (struct arp_eth_header *) (pkt->data + ETH_HDR_LEN);
    memset(eth->dst.a, 0xff, ETH_ADDR_LEN);
    eth->src = dp->cfg.router_mac;
    eth->type = htons(ETH_TYPE_ARP);
    arp->htype = htons(ARP_HTYPE_ETH);
    arp->ptype = htons(ETH_TYPE_IPV4);
    arp->hlen = ETH_ADDR_LEN;
    arp->plen = 4;
    arp->op = htons(ARP_OP_REQUEST);
    arp->sha = dp->cfg.router_mac;
    arp->spa = dp->cfg.gateway;
    memset(arp->tha.a, 0, ETH_ADDR_LEN);
    arp->tpa = port->ip;
    pkt->len = ETH_HDR_LEN + ARP_LEN;
    pkt->out_port = port->port_no;
}
