/* Software segmentation; see gso.h. */
#include "dp/gso.h"

#include <arpa/inet.h>
#include <errno.h>

#include "dp/csum.h"
#include "dp/net-headers.h"

/* Completes the partial checksum at 'field', which holds the pseudo-header sum, over the
 * 'len' L4 bytes from 'l4' (the field among them), as a NIC would. */
static void complete_csum(const uint8_t *l4, size_t len, uint8_t *field, bool udp)
{
    be16 csum = csum_finish(csum_partial(l4, len, 0));

    if (!csum && udp) {
        csum = 0xffff;          /* RFC 768: a computed zero is sent as all ones. */
    }
    memcpy(field, &csum, sizeof csum);
}

void gso_complete_csum(struct packet *pkt)
{
    size_t start = pkt->vnet.csum_start, field = start + pkt->vnet.csum_offset;

    if (!(pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || field + 2 > pkt->len) {
        return;
    }
    complete_csum(pkt->data + start, pkt->len - start, pkt->data + field,
                  pkt->l4_valid && packet_l3(pkt)[9] == IP_PROTO_UDP);
    pkt->vnet.flags &= ~VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

long gso_segment(const struct packet *pkt, const struct gso_target *target, size_t offset,
                 struct gso_batch *batch)
{
    size_t prefix_len = target->prefix_len, max_l3_len = target->max_l3_len;
    uint8_t type = pkt->vnet.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
    const struct ip_header *ip = (const struct ip_header *) packet_l3(pkt);
    size_t l3_hdr = pkt->l4_ofs - pkt->l3_ofs, l4_hdr, hdr_len, payload;
    size_t mss = pkt->vnet.gso_size;
    bool tcp = type == VIRTIO_NET_HDR_GSO_TCPV4;
    uint16_t ip_id = ntohs(ip->id);
    uint32_t seq = 0;
    size_t n = 0;

    if (!tcp && type != VIRTIO_NET_HDR_GSO_UDP_L4) {
        return -EPROTONOSUPPORT;
    }
    if (!pkt->l4_valid || ip->proto != (tcp ? IP_PROTO_TCP : IP_PROTO_UDP) || !mss) {
        return -EINVAL;
    }
    if (tcp) {
        const struct tcp_header *th = (const struct tcp_header *) packet_l4(pkt);

        l4_hdr = (th->doff_res >> 4) * 4;
        seq = ntohl(th->seq);
    } else {
        l4_hdr = UDP_HDR_LEN;
    }
    hdr_len = pkt->l4_ofs + l4_hdr;
    if (hdr_len > pkt->len) {
        return -EINVAL;
    }
    if (max_l3_len && l3_hdr + l4_hdr + mss > max_l3_len) {
        if (!tcp || max_l3_len <= l3_hdr + l4_hdr) {
            return -EMSGSIZE;
        }
        /* TCP can be cut finer than the pod asked: its receiver sees smaller segments. */
        mss = max_l3_len - l3_hdr - l4_hdr;
    }
    payload = pkt->len - hdr_len;
    batch->unit = prefix_len + hdr_len + mss;
    batch->total = 0;

    while (offset < payload && n < GSO_MAX_SEGMENTS) {
        size_t chunk = MIN(mss, payload - offset);
        size_t seg_len = hdr_len + chunk;
        uint8_t *hdr = batch->buf + batch->total;
        bool last = offset + chunk == payload;
        struct ip_header *sip;
        uint8_t *l4, *field;
        be16 partial;

        if (batch->total + prefix_len + seg_len > target->max_bytes) {
            if (!n) {
                return -EMSGSIZE;
            }
            break;
        }
        memcpy(hdr, target->prefix, prefix_len);
        memcpy(hdr + prefix_len, pkt->data, hdr_len);
        memcpy(hdr + prefix_len + hdr_len, pkt->data + hdr_len + offset, chunk);

        sip = (struct ip_header *) (hdr + prefix_len + pkt->l3_ofs);
        sip->tot_len = htons(seg_len - pkt->l3_ofs);
        sip->id = htons(ip_id + (uint16_t) (offset / mss));
        sip->csum = 0;
        sip->csum = csum_finish(csum_partial(sip, l3_hdr, 0));

        l4 = hdr + prefix_len + pkt->l4_ofs;
        if (tcp) {
            struct tcp_header *th = (struct tcp_header *) l4;

            th->seq = htonl(seq + offset);
            if (!last) {
                th->flags &= ~(TCP_FIN | 0x08 /* PSH */);
            }
            if (offset) {
                th->flags &= ~0x80;     /* CWR only on the first (RFC 3168 6.1.2). */
            }
        } else {
            ((struct udp_header *) l4)->len = htons(UDP_HDR_LEN + chunk);
        }
        /* Partial first, the pseudo-header sum uncomplemented, as the pod's own; completed
         * here unless the receiver is to do it. */
        field = l4 + (tcp ? offsetof(struct tcp_header, csum)
                          : offsetof(struct udp_header, csum));
        partial = ~csum_finish(csum_pseudo_header(sip->src, sip->dst, sip->proto,
                                                  l4_hdr + chunk));
        memcpy(field, &partial, sizeof partial);
        if (!target->partial_csum) {
            complete_csum(l4, l4_hdr + chunk, field, !tcp);
        }
        batch->total += prefix_len + seg_len;
        offset += chunk;
        n++;
    }
    batch->n_segments = n;
    return offset;
}
