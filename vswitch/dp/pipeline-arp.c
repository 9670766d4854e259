/* The switch's ARP responder (pipeline.h, stage 2 before the cache); see pipeline.c for
 * the rest of the slow path.
 *
 * The switch answers ARP from its own tables and never floods it: only the gateway and the
 * pods' own addresses are answered, so no pod is ever asked for a VIP, and no pod's answer
 * (for a VIP it holds as a preserve-dip backend, or anything else) goes anywhere.  Datapath
 * thread. */

#include "dp/pipeline.h"
#include "dp/pipeline-private.h"

#include <arpa/inet.h>

#include "dp/dp-state.h"
#include "dp/net-headers.h"

static struct eth_addr arp_answer_for(const struct dp *dp, const struct port *in, be32 target,
                                      bool *found)
{
    const struct port *owner;

    *found = false;
    if (target == dp->cfg.gateway) {
        *found = in != dp->host;
        return dp->cfg.router_mac;
    }
    owner = port_table_by_ip(&dp->ports, target);
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
        drop_stats_rx(&dp->drops, in, pkt, DROP_VLAN);
        return;
    }
    if (in->type == DP_PORT_VXLAN) {
        /* Peers route to each other; nothing over the overlay has an address to ask for. */
        drop_stats_rx(&dp->drops, in, pkt, DROP_ARP_IGNORED);
        return;
    }
    if (port_is_pod(in)) {
        if (!in->mac_known || !eth_addr_equals(key->dl_src, in->mac)
            || !eth_addr_equals(arp->sha, in->mac)) {
            drop_stats_rx(&dp->drops, in, pkt, DROP_SPOOFED_MAC);
            return;
        }
        /* 0.0.0.0 is an RFC 5227 probe: legitimate, but there is nothing to answer.  A
         * preserve-dip backend without arp_announce=2 asks from the VIP it holds: answered
         * (only the switch hears it, nothing is learned from it), so the pod works whatever
         * its sysctls. */
        if (arp->spa != in->ip && !lb_preserve_dip_backs(&dp->lb, arp->spa, 0, 0, in->ip)) {
            drop_stats_rx(&dp->drops, in, pkt,
                          arp->spa ? DROP_SPOOFED_IP : DROP_ARP_IGNORED);
            return;
        }
    }
    if (arp->op != htons(ARP_OP_REQUEST) || arp->tpa == arp->spa) {
        drop_stats_rx(&dp->drops, in, pkt, DROP_ARP_IGNORED);
        return;
    }
    answer = arp_answer_for(dp, in, arp->tpa, &found);
    if (!found) {
        drop_stats_rx(&dp->drops, in, pkt, DROP_ARP_IGNORED);
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
