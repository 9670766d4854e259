/* Flow key extraction: the only place that parses a received frame.  Every length is checked
 * against what was actually received before it is read, so a truncated or lying header is
 * reported as a drop reason and never read past the frame. */
#include "dp/flow-key.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "dp/net-headers.h"
#include "lib/addr.h"
#include "lib/hash.h"

/* A virtio-net header must describe the frame it came with; the kernel trusts it on tx. */
static bool vnet_hdr_valid(const struct packet *pkt)
{
    const struct virtio_net_hdr *vnet = &pkt->vnet;
    uint8_t gso = vnet->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

    if (vnet->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if ((uint32_t) vnet->csum_start + vnet->csum_offset + 2 > pkt->len) {
            return false;
        }
    }
    if (gso != VIRTIO_NET_HDR_GSO_NONE) {
        if (!(vnet->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !vnet->gso_size) {
            return false;
        }
    }
    return true;
}

static enum drop_reason extract_l4(struct packet *pkt, const uint8_t *l4, size_t avail,
                                   struct flow_key *key)
{
    switch (key->nw_proto) {
    case IP_PROTO_TCP: {
        const struct tcp_header *tcp = (const void *) l4;
        size_t doff;

        if (avail < TCP_HDR_LEN) {
            return DROP_BAD_L4_HEADER;
        }
        doff = (tcp->doff_res >> 4) * 4;
        if (doff < TCP_HDR_LEN || doff > avail) {
            return DROP_BAD_L4_HEADER;
        }
        key->tp_src = tcp->src;
        key->tp_dst = tcp->dst;
        pkt->tcp_flags = tcp->flags;
        break;
    }
    case IP_PROTO_UDP: {
        const struct udp_header *udp = (const void *) l4;

        if (avail < UDP_HDR_LEN) {
            return DROP_BAD_L4_HEADER;
        }
        key->tp_src = udp->src;
        key->tp_dst = udp->dst;
        break;
    }
    case IP_PROTO_ICMP: {
        const struct icmp_header *icmp = (const void *) l4;

        if (avail < 4) {
            return DROP_BAD_L4_HEADER;
        }
        key->tp_src = htons(icmp->type);
        key->tp_dst = htons(icmp->code);
        break;
    }
    default:
        break;
    }
    return DROP_NONE;
}

static enum drop_reason extract_ipv4(struct packet *pkt, size_t l3_ofs, struct flow_key *key)
{
    const struct ip_header *ip = (const void *) (pkt->data + l3_ofs);
    size_t avail = pkt->len - l3_ofs;
    enum drop_reason reason;
    size_t ihl, tot_len;
    uint16_t frag_off;

    if (avail < IP_HDR_LEN || (ip->ihl_ver >> 4) != 4) {
        return DROP_BAD_IP_HEADER;
    }
    ihl = (ip->ihl_ver & 0x0f) * 4;
    tot_len = ntohs(ip->tot_len);
    if (ihl < IP_HDR_LEN || ihl > avail || tot_len < ihl || tot_len > avail) {
        return DROP_BAD_IP_HEADER;
    }
    key->nw_src = ip->src;
    key->nw_dst = ip->dst;
    key->nw_proto = ip->proto;
    key->nw_tos = ip->tos;
    pkt->l4_ofs = l3_ofs + ihl;

    frag_off = ntohs(ip->frag_off);
    if (frag_off & IP_FRAG_OFF_MASK) {
        key->nw_frag = FLOW_FRAG_LATER;
        return DROP_NONE;
    }
    if (frag_off & IP_MF) {
        key->nw_frag = FLOW_FRAG_FIRST;
    }
    reason = extract_l4(pkt, pkt->data + pkt->l4_ofs, tot_len - ihl, key);
    pkt->l4_valid = !reason && (key->nw_proto == IP_PROTO_TCP || key->nw_proto == IP_PROTO_UDP
                                || key->nw_proto == IP_PROTO_ICMP);
    return reason;
}

static enum drop_reason extract_arp(struct packet *pkt, size_t l3_ofs, struct flow_key *key)
{
    const struct arp_eth_header *arp = (const void *) (pkt->data + l3_ofs);

    if (pkt->len - l3_ofs < ARP_LEN
        || arp->htype != htons(ARP_HTYPE_ETH) || arp->ptype != htons(ETH_TYPE_IPV4)
        || arp->hlen != ETH_ADDR_LEN || arp->plen != 4 || ntohs(arp->op) > 0xff) {
        return DROP_ARP_MALFORMED;
    }
    key->nw_proto = ntohs(arp->op);
    key->nw_src = arp->spa;
    key->nw_dst = arp->tpa;
    return DROP_NONE;
}

enum drop_reason flow_key_extract(struct packet *pkt, uint32_t in_port, struct flow_key *key)
{
    const struct eth_header *eth = (const void *) pkt->data;
    size_t l3_ofs = ETH_HDR_LEN;
    be16 type;

    memset(key, 0, sizeof *key);
    key->in_port = in_port;
    key->tun_src = pkt->tun_src;
    pkt->tcp_flags = 0;
    pkt->l4_valid = false;
    pkt->l3_ofs = pkt->l4_ofs = 0;

    if (pkt->len < ETH_HDR_LEN) {
        return DROP_RUNT;
    }
    if (!vnet_hdr_valid(pkt)) {
        return DROP_BAD_VNET_HDR;
    }
    key->dl_src = eth->src;
    key->dl_dst = eth->dst;
    type = eth->type;
    if (type == htons(ETH_TYPE_VLAN) || type == htons(ETH_TYPE_VLAN_8021AD)) {
        const struct vlan_header *vlan = (const void *) (pkt->data + ETH_HDR_LEN);

        if (pkt->len < ETH_HDR_LEN + VLAN_HDR_LEN) {
            return DROP_RUNT;
        }
        /* Keep a tag visible even when its TCI is zero (priority-tagged). */
        key->vlan_tci = vlan->tci | htons(0x1000);
        type = vlan->inner_type;
        l3_ofs += VLAN_HDR_LEN;
    }
    key->dl_type = type;
    pkt->l3_ofs = l3_ofs;

    if (type == htons(ETH_TYPE_IPV4)) {
        return extract_ipv4(pkt, l3_ofs, key);
    } else if (type == htons(ETH_TYPE_ARP)) {
        return extract_arp(pkt, l3_ofs, key);
    }
    return DROP_NONE;
}

uint32_t flow_key_hash(const struct flow_key *key)
{
    return hash_words64((const uint64_t *) key, sizeof *key / 8, 0x76737721);
}

void flow_key_format(const struct flow_key *key, char *buf, size_t size)
{
    char src[IP_STR_LEN], dst[IP_STR_LEN], smac[ETH_STR_LEN], dmac[ETH_STR_LEN];
    uint16_t type = ntohs(key->dl_type);
    const char *proto = NULL;
    int n;

    n = snprintf(buf, size, "dl_src=%s,dl_dst=%s", addr_mac_str(key->dl_src, smac),
                 addr_mac_str(key->dl_dst, dmac));
    if (key->vlan_tci && n < (int) size) {
        n += snprintf(buf + n, size - n, ",dl_vlan=%u", ntohs(key->vlan_tci) & 0xfff);
    }
    if (n >= (int) size) {
        return;
    }
    if (type == ETH_TYPE_ARP) {
        snprintf(buf + n, size - n, ",arp,arp_op=%u,arp_spa=%s,arp_tpa=%s", key->nw_proto,
                 addr_ip_str(key->nw_src, src), addr_ip_str(key->nw_dst, dst));
        return;
    }
    if (type != ETH_TYPE_IPV4) {
        snprintf(buf + n, size - n, ",dl_type=0x%04x", type);
        return;
    }
    switch (key->nw_proto) {
    case IP_PROTO_TCP: proto = "tcp"; break;
    case IP_PROTO_UDP: proto = "udp"; break;
    case IP_PROTO_ICMP: proto = "icmp"; break;
    }
    if (proto) {
        n += snprintf(buf + n, size - n, ",%s", proto);
    } else {
        n += snprintf(buf + n, size - n, ",ip,nw_proto=%u", key->nw_proto);
    }
    if (n >= (int) size) {
        return;
    }
    n += snprintf(buf + n, size - n, ",nw_src=%s,nw_dst=%s", addr_ip_str(key->nw_src, src),
                  addr_ip_str(key->nw_dst, dst));
    if (n >= (int) size) {
        return;
    }
    if (key->nw_frag) {
        n += snprintf(buf + n, size - n, ",nw_frag=%s",
                      key->nw_frag == FLOW_FRAG_FIRST ? "first" : "later");
    }
    if (n >= (int) size || key->nw_frag == FLOW_FRAG_LATER) {
        return;
    }
    if (key->nw_proto == IP_PROTO_ICMP) {
        snprintf(buf + n, size - n, ",icmp_type=%u,icmp_code=%u", ntohs(key->tp_src),
                 ntohs(key->tp_dst));
    } else if (proto) {
        snprintf(buf + n, size - n, ",tp_src=%u,tp_dst=%u", ntohs(key->tp_src),
                 ntohs(key->tp_dst));
    }
}
