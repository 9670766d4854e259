/* Receive coalescing; see gro.h. */
#include "dp/gro.h"

#include <arpa/inet.h>

#include "dp/csum.h"
#include "dp/net-headers.h"

#define TCP_PSH 0x08

static const struct ip_header *ip_of(const uint8_t *frame)
{
    return (const struct ip_header *) (frame + ETH_HDR_LEN);
}

static const struct tcp_header *tcp_of(const uint8_t *frame)
{
    return (const struct tcp_header *) (frame + ETH_HDR_LEN + IP_HDR_LEN);
}

/* The TCP payload length of a plain frame that may be joined, or 0. */
static size_t segment_payload(const uint8_t *frame, size_t len)
{
    const struct eth_header *eth = (const struct eth_header *) frame;
    const struct ip_header *ip;
    const struct tcp_header *tcp;
    size_t thlen;

    if (len < ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN || eth->type != htons(ETH_TYPE_IPV4)) {
        return 0;
    }
    ip = ip_of(frame);
    if (ip->ihl_ver != 0x45 || ip->proto != IP_PROTO_TCP
        || (ntohs(ip->frag_off) & (IP_MF | IP_FRAG_OFF_MASK))
        || ntohs(ip->tot_len) != len - ETH_HDR_LEN) {
        return 0;
    }
    tcp = tcp_of(frame);
    thlen = (tcp->doff_res >> 4) * 4;
    if (thlen < TCP_HDR_LEN || ETH_HDR_LEN + IP_HDR_LEN + thlen >= len
        || (tcp->flags & ~TCP_PSH) != TCP_ACK) {
        return 0;
    }
    return len - ETH_HDR_LEN - IP_HDR_LEN - thlen;
}

/* True if a segment's bytes may go into a joined frame, whose checksum is then written afresh,
 * partial, and never checked against them: its own checksum verifies, or is partial (the
 * field holds the pseudo-header sum, as a kernel sender's frame carried whole by a veth, or
 * with remote checksum offload, has it: bytes that never crossed a wire).  The outer UDP
 * checksum cannot vouch for them: RFC 7348 senders, the kernel tier and Linux's VXLAN among
 * them, send none. */
static bool segment_csum_ok(const uint8_t *frame)
{
    const struct ip_header *ip = ip_of(frame);
    size_t l4_len = ntohs(ip->tot_len) - IP_HDR_LEN;
    uint32_t pseudo = csum_pseudo_header(ip->src, ip->dst, IP_PROTO_TCP, l4_len);
    be16 partial = ~csum_finish(pseudo);

    return tcp_of(frame)->csum == partial
           || csum_finish(csum_partial(tcp_of(frame), l4_len, pseudo)) == 0;
}

static size_t packet_segment_payload(const struct packet *pkt)
{
    /* A partial checksum (remote checksum offload) does not matter: a joined frame's is
     * written afresh, partial. */
    if (pkt->drop_reason || (pkt->vnet.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
        || pkt->vnet.gso_type) {
        return 0;
    }
    return segment_payload(pkt->data, pkt->len);
}

/* Everything but the sequence number, flags, checksum and IP length/ID/checksum matches. */
static bool same_flow(const struct packet *head, const uint8_t *frame, be32 tun_src)
{
    const struct ip_header *ia = ip_of(head->data), *ib = ip_of(frame);
    const struct tcp_header *ta = tcp_of(head->data), *tb = tcp_of(frame);
    size_t thlen = (ta->doff_res >> 4) * 4;

    return head->tun_src == tun_src && !memcmp(head->data, frame, ETH_HDR_LEN)
           && ia->src == ib->src && ia->dst == ib->dst && ia->ttl == ib->ttl
           && ia->tos == ib->tos && ia->frag_off == ib->frag_off
           && ta->src == tb->src && ta->dst == tb->dst && ta->ack == tb->ack
           && ta->window == tb->window && ta->doff_res == tb->doff_res
           && !memcmp((const uint8_t *) ta + TCP_HDR_LEN, (const uint8_t *) tb + TCP_HDR_LEN,
                      thlen - TCP_HDR_LEN);
}

static void finish(struct gro_run *run)
{
    struct packet *pkt = run->head;
    struct ip_header *ip = (struct ip_header *) (pkt->data + ETH_HDR_LEN);
    struct tcp_header *tcp = (struct tcp_header *) (ip + 1);
    size_t l4_ofs = ETH_HDR_LEN + IP_HDR_LEN;

    run->head = NULL;
    if (run->n_segments < 2) {
        return;
    }
    ip->tot_len = htons(pkt->len - ETH_HDR_LEN);
    ip->csum = 0;
    ip->csum = csum_finish(csum_partial(ip, IP_HDR_LEN, 0));
    /* A partial checksum: the field holds the pseudo-header sum, the receiver (or whoever
     * segments it again) completes it. */
    tcp->csum = ~csum_finish(csum_pseudo_header(ip->src, ip->dst, IP_PROTO_TCP,
                                                pkt->len - l4_ofs));
    pkt->vnet = (struct virtio_net_hdr) {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
        .hdr_len = l4_ofs + (tcp->doff_res >> 4) * 4,
        .gso_size = run->mss,
        .csum_start = l4_ofs,
        .csum_offset = offsetof(struct tcp_header, csum),
    };
}

void gro_init(struct gro_table *gro)
{
    memset(gro, 0, sizeof *gro);
}

bool gro_absorb(struct gro_table *gro, const uint8_t *frame, size_t len, be32 tun_src)
{
    size_t payload = segment_payload(frame, len);
    struct gro_run *run = NULL;
    struct tcp_header *head_tcp;

    for (unsigned int r = 0; payload && r < gro->n_runs; r++) {
        if (gro->runs[r].head && same_flow(gro->runs[r].head, frame, tun_src)) {
            run = &gro->runs[r];
            break;
        }
    }
    if (!run) {
        return false;
    }
    head_tcp = (struct tcp_header *) (run->head->data + ETH_HDR_LEN + IP_HDR_LEN);
    if (ntohl(tcp_of(frame)->seq) != run->next_seq || payload > run->mss
        || run->head->len + payload > ETH_HDR_LEN + 65535 || (head_tcp->flags & TCP_PSH)
        || (run->n_segments == 1 && !segment_csum_ok(run->head->data))
        || !segment_csum_ok(frame)) {
        /* The flow goes on, but not where this run ends: the frame heads the next run. */
        finish(run);
        return false;
    }
    memcpy(run->head->data + run->head->len, frame + len - payload, payload);
    run->head->len += payload;
    head_tcp->flags |= tcp_of(frame)->flags;
    run->next_seq += payload;
    run->n_segments++;
    /* A short segment ends the run: the sender had no more to send. */
    if (payload < run->mss) {
        finish(run);
    }
    return true;
}

void gro_open(struct gro_table *gro, struct packet *pkt)
{
    size_t payload = packet_segment_payload(pkt);
    struct gro_run *run = NULL;

    if (!payload) {
        return;
    }
    for (unsigned int r = 0; r < gro->n_runs && !run; r++) {
        run = gro->runs[r].head ? NULL : &gro->runs[r];
    }
    if (!run && gro->n_runs < GRO_MAX_OPEN) {
        run = &gro->runs[gro->n_runs++];
    }
    if (!run) {
        run = &gro->runs[gro->next_victim++ % GRO_MAX_OPEN];
        finish(run);
    }
    *run = (struct gro_run) {
        .head = pkt, .next_seq = ntohl(tcp_of(pkt->data)->seq) + payload,
        .mss = payload, .n_segments = 1,
    };
}

void gro_flush(struct gro_table *gro)
{
    for (unsigned int r = 0; r < gro->n_runs; r++) {
        if (gro->runs[r].head) {
            finish(&gro->runs[r]);
        }
    }
    gro->n_runs = 0;
}
