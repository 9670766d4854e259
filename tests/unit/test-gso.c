/* Software segmentation (dp/gso.c): a pod's TCP or UDP GSO frame cut into segments that fit
 * the overlay's MTU, in batches of at most one UDP datagram's worth, with checksums completed
 * or, for remote checksum offload, left partial for the receiver to complete. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>

#include "dp/csum.h"
#include "dp/flow-key.h"
#include "dp/gso.h"
#include "dp/net-headers.h"
#include "dp/packet.h"
#include "pkt-builder.h"

#define ROUTER "0a:58:0a:f4:01:01"
#define POD_MAC "02:00:00:00:01:05"
/* Room for every test's segments, and a gso_target with complete checksums. */
#define SEGMENTS_SIZE (256 * 1024)
#define TARGET(prefix_, max_l3_len_, max_bytes_)                                          \
    ((struct gso_target) { .prefix = (prefix_), .prefix_len = sizeof (prefix_),          \
                           .max_l3_len = (max_l3_len_), .max_bytes = (max_bytes_) })

static struct packet *gso_frame(const struct pkt_spec *spec, uint16_t gso_size)
{
    static uint8_t frame[PACKET_MAX_FRAME];
    struct packet *pkt = packet_array_alloc(1);
    struct flow_key key;

    packet_set_frame(pkt, frame, pkt_build(spec, frame, sizeof frame));
    flow_key_extract(pkt, 1, &key);
    pkt->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    pkt->vnet.gso_type = spec->proto == 17 ? VIRTIO_NET_HDR_GSO_UDP_L4
                                           : VIRTIO_NET_HDR_GSO_TCPV4;
    pkt->vnet.gso_size = gso_size;
    pkt->vnet.csum_start = 34;
    pkt->vnet.csum_offset = spec->proto == 17 ? 6 : 16;
    return pkt;
}

/* Checks n_segments segments of 'mss' payload bytes (the last shorter) in 'batch'. */
static void check_tcp_segments(const struct gso_batch *batch, const uint8_t prefix[4],
                               size_t mss, size_t payload, uint32_t seq0)
{
    const uint8_t *out = batch->buf;

    cr_assert_eq(batch->n_segments, (payload + mss - 1) / mss);
    cr_assert_eq(batch->unit, 4u + 54 + mss);
    cr_assert_eq(batch->total, payload + batch->n_segments * (4 + 54));
    for (size_t i = 0; i < batch->n_segments; i++) {
        const uint8_t *unit = out + i * batch->unit;
        const uint8_t *seg = unit + 4;
        const struct ip_header *ip = (const struct ip_header *) (seg + ETH_HDR_LEN);
        const struct tcp_header *tcp = (const struct tcp_header *) (ip + 1);
        bool last = i == batch->n_segments - 1;
        size_t len = 54 + (last ? payload - i * mss : mss);

        cr_assert_eq(memcmp(unit, prefix, 4), 0);
        cr_expect_eq(ntohs(ip->tot_len), len - ETH_HDR_LEN, "segment %zu", i);
        cr_expect_eq(ntohs(ip->id), 0x1234 + i);
        cr_expect_eq(ntohl(tcp->seq), seq0 + i * mss);
        cr_expect_eq(!!(tcp->flags & 0x08), last, "PSH only on the last");
        cr_expect(pkt_ip_csum_ok(seg, len), "segment %zu IP checksum", i);
        cr_expect(pkt_l4_csum_ok(seg, len), "segment %zu TCP checksum", i);
    }
}

Test(gso, tcp_frame_cut_into_valid_segments)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.5", .sport = 1000, .dport = 2000,
                             .tcp_flags = TCP_ACK | 0x08 /* PSH */, .payload = 10000 };
    struct packet *pkt = gso_frame(&spec, 1410);
    static uint8_t segments[SEGMENTS_SIZE];
    struct gso_batch batch = { .buf = segments };
    uint8_t prefix[4] = { 0xde, 0xad, 0xbe, 0xef };
    uint32_t seq0 = ntohl(((struct tcp_header *) packet_l4(pkt))->seq);

    cr_assert_eq(gso_segment(pkt, &TARGET(prefix, 0, SEGMENTS_SIZE), 0, &batch), 10000);
    check_tcp_segments(&batch, prefix, 1410, 10000, seq0);      /* 7 x 1410 + 130. */
    packet_array_free(pkt, 1);
}

/* A pod left at MTU 1500 on a 1450 overlay sends gso_size 1460: the segments must still fit
 * the overlay, or the underlay fragments every VXLAN datagram. */
Test(gso, tcp_segments_cut_to_the_mtu_not_the_gso_size)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.5", .sport = 1000, .dport = 2000,
                             .tcp_flags = TCP_ACK | 0x08 /* PSH */, .payload = 14600 };
    struct packet *pkt = gso_frame(&spec, 1460);
    static uint8_t segments[SEGMENTS_SIZE];
    struct gso_batch batch = { .buf = segments };
    uint8_t prefix[4] = { 1, 2, 3, 4 };
    uint32_t seq0 = ntohl(((struct tcp_header *) packet_l4(pkt))->seq);

    cr_assert_eq(gso_segment(pkt, &TARGET(prefix, 1450, SEGMENTS_SIZE), 0, &batch), 14600);
    check_tcp_segments(&batch, prefix, 1410, 14600, seq0);
    packet_array_free(pkt, 1);
}

/* UDP datagrams cannot be cut smaller than the application made them. */
Test(gso, udp_datagrams_over_the_mtu_refused)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.5", .proto = 17, .sport = 1, .dport = 2,
                             .payload = 4 * 1472 };
    struct packet *pkt = gso_frame(&spec, 1472);
    static uint8_t segments[SEGMENTS_SIZE];
    struct gso_batch batch = { .buf = segments };
    uint8_t prefix[4] = { 0 };

    cr_expect_eq(gso_segment(pkt, &TARGET(prefix, 1450, SEGMENTS_SIZE), 0, &batch), -EMSGSIZE);
    cr_expect_eq(gso_segment(pkt, &TARGET(prefix, 1500, SEGMENTS_SIZE), 0, &batch), 4 * 1472);
    cr_expect_eq(batch.n_segments, 4u);
    packet_array_free(pkt, 1);
}

/* A send is limited to one UDP datagram's worth: the rest comes in the next call. */
Test(gso, batches_stop_at_max_bytes_and_continue)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.5", .sport = 1000, .dport = 2000,
                             .tcp_flags = TCP_ACK, .payload = 60000 };
    struct packet *pkt = gso_frame(&spec, 1398);
    static uint8_t segments[SEGMENTS_SIZE];
    struct gso_batch batch = { .buf = segments };
    uint8_t prefix[4] = { 0 };
    long next = 0;
    size_t sends = 0, n_segments = 0;

    while (next < 60000) {
        next = gso_segment(pkt, &TARGET(prefix, 0, 20000), next, &batch);
        cr_assert_gt(next, 0);
        cr_assert_leq(batch.total, 20000u);
        n_segments += batch.n_segments;
        sends++;
    }
    cr_expect_eq(n_segments, (60000 + 1397) / 1398);
    cr_expect_eq(sends, 4u, "%zu sends of at most 20000 bytes", sends);
    packet_array_free(pkt, 1);
}

Test(gso, partial_checksum_completed)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.5", .proto = 17, .sport = 1, .dport = 2,
                             .payload = 33 };
    struct packet *pkt = packet_array_alloc(1);
    uint8_t frame[256];
    struct flow_key key;
    size_t len = pkt_build(&spec, frame, sizeof frame);
    struct udp_header *udp = (struct udp_header *) (frame + 34);
    uint8_t pseudo[12] = { 10, 244, 1, 5, 10, 244, 2, 5, 0, 17, 0, 41 };

    udp->csum = ~csum_finish(csum_partial(pseudo, 12, 0));
    packet_set_frame(pkt, frame, len);
    flow_key_extract(pkt, 1, &key);
    pkt->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    pkt->vnet.csum_start = 34;
    pkt->vnet.csum_offset = 6;
    gso_complete_csum(pkt);
    cr_expect(pkt_l4_csum_ok(pkt->data, pkt->len));
    cr_expect_eq(pkt->vnet.flags, 0);
    packet_array_free(pkt, 1);
}

/* Remote checksum offload: the segments' payload is never summed; each TCP checksum holds its
 * own pseudo-header sum (its own length), which the receiver completes. */
Test(gso, partial_checksums_left_for_the_receiver)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.5", .sport = 1000, .dport = 2000,
                             .tcp_flags = TCP_ACK, .payload = 5000 };
    struct packet *pkt = gso_frame(&spec, 1410);
    static uint8_t segments[SEGMENTS_SIZE];
    struct gso_batch batch = { .buf = segments };
    uint8_t prefix[4] = { 0 };
    struct gso_target target = TARGET(prefix, 0, SEGMENTS_SIZE);

    target.partial_csum = true;
    cr_assert_eq(gso_segment(pkt, &target, 0, &batch), 5000);
    cr_assert_eq(batch.n_segments, 4u);
    for (size_t i = 0; i < batch.n_segments; i++) {
        const uint8_t *seg = segments + i * batch.unit + sizeof prefix;
        size_t len = 54 + (i == 3 ? 5000 - 3 * 1410 : 1410);

        cr_expect(pkt_ip_csum_ok(seg, len), "segment %zu IP checksum, always complete", i);
        cr_expect_not(pkt_l4_csum_ok(seg, len), "segment %zu: payload not summed", i);
        cr_expect(pkt_partial_csum_ok(seg, len, 34, 16), "segment %zu completes", i);
    }
    packet_array_free(pkt, 1);
}
