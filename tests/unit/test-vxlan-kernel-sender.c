/* VXLAN from a kernel sender, as a veth underlay delivers it to the switch's socket: the
 * kernel fast path (or Linux's own VXLAN) of the other node encapsulates the skb and leaves
 * its TCP or UDP checksum partial and its GSO frame whole, for the device to finish, and a
 * veth carries that skb to this node's socket as it is.  The VXLAN port takes the frame back
 * with the offload state it had: a partial checksum (the field holds the pseudo-header sum)
 * reaches the pod partial, a frame longer than the overlay's MTU reaches it as a GSO frame.
 * Over real UDP sockets on loopback (vxlan-peer.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "dp/csum.h"
#include "dp/dp.h"
#include "dp/net-headers.h"
#include "pkt-builder.h"
#include "scene.h"
#include "vxlan-peer.h"

TestSuite(vxlan_kernel_sender, .init = vxlan_setup, .fini = vxlan_teardown);

/* A TCP frame from the remote pod 10.244.2.7 to the local one, with 'payload' bytes. */
static size_t remote_frame(size_t payload, uint8_t *frame, size_t size)
{
    struct pkt_spec spec = { .eth_src = PEER_ROUTER, .eth_dst = ROUTER,
                             .ip_src = "10.244.2.7", .ip_dst = "10.244.1.5", .sport = 80,
                             .dport = 40000, .tcp_flags = TCP_ACK | 0x08,
                             .payload = payload };

    return pkt_build(&spec, frame, size);
}

/* Leaves in the frame's TCP checksum only its pseudo-header sum, as a partial one. */
static void make_partial(uint8_t *frame, size_t len)
{
    const struct ip_header *ip = (const struct ip_header *) (frame + ETH_HDR_LEN);
    be16 partial = ~csum_finish(csum_pseudo_header(ip->src, ip->dst, IP_PROTO_TCP,
                                                   len - ETH_HDR_LEN - IP_HDR_LEN));

    memcpy(frame + 34 + 16, &partial, sizeof partial);
}

/* Sends 'frame' from the peer node and takes what the pod receives: all of it, in one frame. */
static int deliver(const uint8_t *frame, size_t len, uint8_t *out, size_t size,
                   struct virtio_net_hdr *vnet)
{
    int n;

    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send("127.0.0.2", 42, frame, len);
    n = wait_take("pod", out, size, vnet);
    cr_assert_eq(n, (int) len, "delivered to the pod whole (got %d of %zu bytes)", n, len);
    return n;
}

Test(vxlan_kernel_sender, a_partial_checksum_reaches_the_pod_partial)
{
    static uint8_t frame[512], out[2048];
    size_t len = remote_frame(100, frame, sizeof frame);
    struct virtio_net_hdr vnet;
    int n;

    make_partial(frame, len);
    n = deliver(frame, len, out, sizeof out, &vnet);
    cr_expect_eq(vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    cr_expect_eq(vnet.csum_start, 34);
    cr_expect_eq(vnet.csum_offset, 16);
    cr_expect_eq(vnet.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    cr_expect(pkt_partial_csum_ok(out, n, 34, 16), "the pod's kernel completes it");
}

Test(vxlan_kernel_sender, a_complete_checksum_stays_complete)
{
    static uint8_t frame[512], out[2048];
    size_t len = remote_frame(100, frame, sizeof frame);
    struct virtio_net_hdr vnet;
    int n;

    n = deliver(frame, len, out, sizeof out, &vnet);
    cr_expect_eq(vnet.flags, 0, "nothing left to complete");
    cr_expect(pkt_l4_csum_ok(out, n));
}

/* A 20000-byte TCP frame in one datagram: only a GSO frame can be so long; the pod gets it as
 * one, cut at the overlay's MTU (1450: 1410 bytes of payload behind 40 of headers). */
Test(vxlan_kernel_sender, a_frame_over_the_mtu_reaches_the_pod_as_a_gso_frame)
{
    static uint8_t frame[32768], out[65536];
    size_t len = remote_frame(20000, frame, sizeof frame);
    struct virtio_net_hdr vnet;

    make_partial(frame, len);
    deliver(frame, len, out, sizeof out, &vnet);
    cr_expect_eq(vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    cr_expect_eq(vnet.gso_size, 1410);
    cr_expect_eq(vnet.hdr_len, 54);
    cr_expect_eq(vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    cr_expect_eq(vnet.csum_start, 34);
    cr_expect_eq(vnet.csum_offset, 16);
    cr_expect(!memcmp(out + 54, frame + 54, len - 54), "the payload");
}

/* A kernel sender's datagrams carry no UDP checksum (RFC 7348 recommends none), so nothing
 * checked their bytes on the way: a segment whose TCP checksum is wrong is not joined into a
 * GSO frame (whose checksum is written afresh) but reaches the pod as it came, for its kernel
 * to drop; the segments around it still arrive. */
Test(vxlan_kernel_sender, a_corrupted_segment_is_not_joined)
{
    static uint8_t frame[2048], out[65536];
    size_t lens[3];
    int n;

    for (int i = 0; i < 3; i++) {
        struct tcp_header *th = (struct tcp_header *) (frame + 34);
        const struct ip_header *iph = (const struct ip_header *) (frame + 14);

        lens[i] = remote_frame(1000, frame, sizeof frame);
        th->flags = TCP_ACK;
        th->seq = htonl(1000000 + i * 1000);
        th->csum = 0;
        th->csum = csum_finish(csum_partial(th, lens[i] - 34, csum_pseudo_header(
                                                iph->src, iph->dst, 6, lens[i] - 34)));
        if (i == 1) {
            frame[lens[i] - 1] ^= 0x40;         /* Flipped on the way. */
        }
        peer_send("127.0.0.2", 42, frame, lens[i]);
    }
    cr_assert_eq(dp_start(vx.node->dp), 0);
    for (int i = 0; i < 3; i++) {
        struct virtio_net_hdr vnet;

        n = wait_take("pod", out, sizeof out, &vnet);
        cr_assert_eq(n, (int) lens[i], "segment %d alone (got %d bytes)", i, n);
        cr_expect_eq(vnet.gso_type, VIRTIO_NET_HDR_GSO_NONE, "segment %d", i);
        cr_expect_eq(pkt_l4_csum_ok(out, n), i != 1, "segment %d's own checksum", i);
    }
}
