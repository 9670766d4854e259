/* Packet builder for the unit tests; see pkt-builder.h. */
#include "pkt-builder.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dp/csum.h"
#include "dp/net-headers.h"
#include "lib/addr.h"

static struct eth_addr mac(const char *s)
{
    struct eth_addr m = { { 0 } };

    if (s) {
        addr_parse_mac(s, &m);
    }
    return m;
}

static be32 ip(const char *s)
{
    be32 a = 0;

    if (s) {
        addr_parse_ip(s, &a);
    }
    return a;
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t size)
{
    struct eth_header *eth = (struct eth_header *) buf;
    uint16_t type = s->eth_type ? s->eth_type : ETH_TYPE_IPV4;
    size_t ofs = ETH_HDR_LEN, ihl, l4_len;
    struct ip_header *iph;
    uint8_t proto = s->proto ? s->proto : IP_PROTO_TCP;

    memset(buf, 0, size);
    eth->src = mac(s->eth_src);
    eth->dst = mac(s->eth_dst);
    if (s->vlan) {
        struct vlan_header *vlan = (struct vlan_header *) (buf + ETH_HDR_LEN);

        eth->type = htons(ETH_TYPE_VLAN);
        vlan->tci = htons(s->vlan);
        vlan->inner_type = htons(type);
        ofs += VLAN_HDR_LEN;
    } else {
        eth->type = htons(type);
    }

    if (type == ETH_TYPE_ARP) {
        struct arp_eth_header *arp = (struct arp_eth_header *) (buf + ofs);

        arp->htype = htons(ARP_HTYPE_ETH);
        arp->ptype = htons(ETH_TYPE_IPV4);
        arp->hlen = 6;
        arp->plen = 4;
        arp->op = htons(s->arp_op ? s->arp_op : ARP_OP_REQUEST);
        arp->sha = mac(s->arp_sha ? s->arp_sha : s->eth_src);
        arp->spa = ip(s->arp_spa);
        arp->tha = mac(s->arp_tha);
        arp->tpa = ip(s->arp_tpa);
        return ofs + ARP_LEN;
    }
    if (type != ETH_TYPE_IPV4) {
        return ofs + 46;
    }

    iph = (struct ip_header *) (buf + ofs);
    ihl = (s->ihl ? s->ihl : 5) * 4;
    memset(buf + ofs + IP_HDR_LEN, 1 /* NOP */, ihl > IP_HDR_LEN ? ihl - IP_HDR_LEN : 0);
    switch (proto) {
    case IP_PROTO_TCP: l4_len = TCP_HDR_LEN; break;
    case IP_PROTO_UDP: l4_len = UDP_HDR_LEN; break;
    case IP_PROTO_ICMP: l4_len = ICMP_HDR_LEN; break;
    default: l4_len = 0; break;
    }
    if (s->frag_off & IP_FRAG_OFF_MASK) {
        l4_len = 0;
    }
    l4_len += s->payload;
    iph->ihl_ver = 0x40 | (ihl / 4);
    iph->tot_len = htons(ihl + l4_len);
    iph->id = htons(s->ip_id ? s->ip_id : 0x1234);
    iph->frag_off = htons(s->frag_off);
    iph->ttl = s->ttl ? s->ttl : 64;
    iph->proto = proto;
    iph->src = ip(s->ip_src);
    iph->dst = ip(s->ip_dst);
    iph->csum = csum_finish(csum_partial(iph, ihl, 0));

    ofs += ihl;
    for (size_t i = 0; i < s->payload; i++) {
        buf[ofs + l4_len - s->payload + i] = (uint8_t) i;
    }
    if (s->frag_off & IP_FRAG_OFF_MASK) {
        return ofs + l4_len;
    }
    if (proto == IP_PROTO_TCP) {
        struct tcp_header *tcp = (struct tcp_header *) (buf + ofs);

        tcp->src = htons(s->sport);
        tcp->dst = htons(s->dport);
        tcp->doff_res = 5 << 4;
        tcp->flags = s->tcp_flags ? s->tcp_flags : TCP_SYN;
        tcp->window = htons(65535);
        tcp->csum = csum_finish(csum_partial(tcp, l4_len, csum_pseudo_header(iph->src, iph->dst,
                                                                             iph->proto,
                                                                             l4_len)));
    } else if (proto == IP_PROTO_UDP) {
        struct udp_header *udp = (struct udp_header *) (buf + ofs);

        udp->src = htons(s->sport);
        udp->dst = htons(s->dport);
        udp->len = htons(l4_len);
        udp->csum = csum_finish(csum_partial(udp, l4_len, csum_pseudo_header(iph->src, iph->dst,
                                                                             iph->proto,
                                                                             l4_len)));
    } else if (proto == IP_PROTO_ICMP) {
        struct icmp_header *icmp = (struct icmp_header *) (buf + ofs);

        icmp->type = s->sport;
        icmp->code = s->dport;
        icmp->csum = csum_finish(csum_partial(icmp, l4_len, 0));
    }
    return ofs + l4_len;
}

const char *pkt_describe(const uint8_t *frame, size_t len, char *buf, size_t size)
{
    const struct eth_header *eth = (const struct eth_header *) frame;
    const struct ip_header *iph = (const struct ip_header *) (frame + ETH_HDR_LEN);
    const uint8_t *l4;
    char src[ETH_STR_LEN], dst[ETH_STR_LEN], isrc[IP_STR_LEN], idst[IP_STR_LEN];
    size_t ihl, n;

    if (len < ETH_HDR_LEN) {
        snprintf(buf, size, "runt of %zu bytes", len);
        return buf;
    }
    n = snprintf(buf, size, "eth %s > %s type %04x", addr_mac_str(eth->src, src),
                 addr_mac_str(eth->dst, dst), ntohs(eth->type));
    if (ntohs(eth->type) != ETH_TYPE_IPV4 || len < ETH_HDR_LEN + IP_HDR_LEN || n >= size) {
        return buf;
    }
    ihl = (iph->ihl_ver & 0xf) * 4;
    n += snprintf(buf + n, size - n, " | ip %s > %s ttl %u proto %u frag %04x len %u",
                  addr_ip_str(iph->src, isrc), addr_ip_str(iph->dst, idst), iph->ttl,
                  iph->proto, ntohs(iph->frag_off), ntohs(iph->tot_len));
    l4 = frame + ETH_HDR_LEN + ihl;
    if (n >= size || ntohs(iph->frag_off) & IP_FRAG_OFF_MASK) {
        return buf;
    }
    if (iph->proto == IP_PROTO_TCP && len >= ETH_HDR_LEN + ihl + TCP_HDR_LEN) {
        const struct tcp_header *tcp = (const struct tcp_header *) l4;

        snprintf(buf + n, size - n, " | tcp %u > %u flags %02x", ntohs(tcp->src),
                 ntohs(tcp->dst), tcp->flags);
    } else if (iph->proto == IP_PROTO_UDP && len >= ETH_HDR_LEN + ihl + UDP_HDR_LEN) {
        const struct udp_header *udp = (const struct udp_header *) l4;

        snprintf(buf + n, size - n, " | udp %u > %u", ntohs(udp->src), ntohs(udp->dst));
    } else if (iph->proto == IP_PROTO_ICMP && len >= ETH_HDR_LEN + ihl + ICMP_HDR_LEN) {
        const struct icmp_header *icmp = (const struct icmp_header *) l4;

        snprintf(buf + n, size - n, " | icmp type %u code %u", icmp->type, icmp->code);
    }
    return buf;
}

bool pkt_ip_csum_ok(const uint8_t *frame, size_t len)
{
    const struct ip_header *iph = (const struct ip_header *) (frame + ETH_HDR_LEN);

    return csum_finish(csum_partial(iph, (iph->ihl_ver & 0xf) * 4, 0)) == 0;
}

bool pkt_l4_csum_ok(const uint8_t *frame, size_t len)
{
    const struct ip_header *iph = (const struct ip_header *) (frame + ETH_HDR_LEN);
    size_t ihl = (iph->ihl_ver & 0xf) * 4;
    size_t l4_len = ntohs(iph->tot_len) - ihl;
    const uint8_t *l4 = frame + ETH_HDR_LEN + ihl;

    if (iph->proto == IP_PROTO_ICMP) {
        return csum_finish(csum_partial(l4, l4_len, 0)) == 0;
    }
    return csum_finish(csum_partial(l4, l4_len, csum_pseudo_header(iph->src, iph->dst, iph->proto,
                                                                   l4_len))) == 0;
}

bool pkt_partial_csum_ok(const uint8_t *frame, size_t len, size_t csum_start,
                         size_t csum_offset)
{
    static uint8_t copy[65536 + 128];
    be16 csum;

    if (len > sizeof copy || csum_start + csum_offset + sizeof csum > len) {
        return false;
    }
    memcpy(copy, frame, len);
    csum = csum_finish(csum_partial(copy + csum_start, len - csum_start, 0));
    memcpy(copy + csum_start + csum_offset, &csum, sizeof csum);
    return pkt_l4_csum_ok(copy, len);
}
