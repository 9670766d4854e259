/* Receive coalescing; see gro.h. */
#include "dp/gro.h"

#include <arpa/inet.h>

#include "dp/csum.h"
#include "dp/net-headers.h"

/* How many flows a batch may interleave and still be joined. */
#define GRO_MAX_OPEN 8
#define TCP_PSH 0x08

struct gro_run {
    struct packet *head;
    uint32_t next_seq;
    uint16_t mss;
    uint16_t n_segments;
};

static struct ip_header *ip_of(struct packet *pkt)
{
    return (struct ip_header *) (pkt->data + ETH_HDR_LEN);
}

static struct tcp_header *tcp_of(struct packet *pkt)
{
    return (struct tcp_header *) (pkt->data + ETH_HDR_LEN + IP_HDR_LEN);
}

/* The TCP payload length of a frame that may be joined, or 0. */
static size_t segment_payload(struct packet *pkt)
{
    const struct eth_header *eth = (const struct eth_header *) pkt->data;
    const struct ip_header *ip;
    const struct tcp_header *tcp;
    size_t thlen;

    if (pkt->drop_reason || pkt->vnet.flags || pkt->vnet.gso_type
        || pkt->len < ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN
        || eth->type != htons(ETH_TYPE_IPV4)) {
        return 0;
    }
    ip = ip_of(pkt);
    if (ip->ihl_ver != 0x45 || ip->proto != IP_PROTO_TCP
        || (ntohs(ip->frag_off) & (IP_MF | IP_FRAG_OFF_MASK))
        || ntohs(ip->tot_len) != pkt->len - ETH_HDR_LEN) {
        return 0;
    }
    tcp = tcp_of(pkt);
    thlen = (tcp->doff_res >> 4) * 4;
    if (thlen < TCP_HDR_LEN || ETH_HDR_LEN + IP_HDR_LEN + thlen >= pkt->len
        || (tcp->flags & ~TCP_PSH) != TCP_ACK) {
        return 0;
    }
    return pkt->len - ETH_HDR_LEN - IP_HDR_LEN - thlen;
}

/* Everything but the sequence number, flags, checksum and IP length/ID/checksum matches. */
static bool same_flow(struct packet *a, struct packet *b)
{
    const struct ip_header *ia = ip_of(a), *ib = ip_of(b);
    const struct tcp_header *ta = tcp_of(a), *tb = tcp_of(b);
    size_t thlen = (ta->doff_res >> 4) * 4;

    return a->tun_src == b->tun_src && !memcmp(a->data, b->data, ETH_HDR_LEN)
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
    struct ip_header *ip = ip_of(pkt);
    struct tcp_header *tcp = tcp_of(pkt);
    size_t l4_ofs = ETH_HDR_LEN + IP_HDR_LEN;

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

int gro_merge(struct packet *pkts[], int n)
{
    struct gro_run runs[GRO_MAX_OPEN] = { { 0 } };
    struct packet *absorbed[PACKET_BATCH_SIZE];
    int n_runs = 0, kept = 0, n_absorbed = 0;

    for (int i = 0; i < n; i++) {
        struct packet *pkt = pkts[i];
        size_t payload = segment_payload(pkt);
        struct gro_run *run = NULL;

        for (int r = 0; payload && r < n_runs; r++) {
            if (runs[r].head && same_flow(runs[r].head, pkt)) {
                run = &runs[r];
                break;
            }
        }
        if (run && ntohl(tcp_of(pkt)->seq) == run->next_seq && payload <= run->mss
            && run->head->len + payload <= ETH_HDR_LEN + 65535
            && !(tcp_of(run->head)->flags & TCP_PSH)) {
            const uint8_t *data = pkt->data + pkt->len - payload;

            memcpy(run->head->data + run->head->len, data, payload);
            run->head->len += payload;
            tcp_of(run->head)->flags |= tcp_of(pkt)->flags;
            run->next_seq += payload;
            run->n_segments++;
            absorbed[n_absorbed++] = pkt;
            /* A short segment ends the run: the sender had no more to send. */
            if (payload < run->mss) {
                finish(run);
                run->head = NULL;
            }
            continue;
        }
        if (run) {
            finish(run);
            run->head = NULL;
        }
        pkts[kept++] = pkt;
        if (payload) {
            if (!run) {
                /* A free slot, or (all taken) the oldest-numbered one, whose run ends here. */
                for (int r = 0; r < n_runs && !run; r++) {
                    run = runs[r].head ? NULL : &runs[r];
                }
                if (!run) {
                    run = n_runs < GRO_MAX_OPEN ? &runs[n_runs++] : &runs[i % GRO_MAX_OPEN];
                }
                if (run->head) {
                    finish(run);
                }
            }
            *run = (struct gro_run) {
                .head = pkt, .next_seq = ntohl(tcp_of(pkt)->seq) + payload,
                .mss = payload, .n_segments = 1,
            };
        }
    }
    for (int r = 0; r < n_runs; r++) {
        if (runs[r].head) {
            finish(&runs[r]);
        }
    }
    memcpy(pkts + kept, absorbed, n_absorbed * sizeof *absorbed);
    return kept;
}
