/* Remote checksum offload (--vxlan-rco, RFC 7348 with the Linux RCO extension): segments
 * and packets sent with their checksums left partial and the offsets in the VXLAN header;
 * received ones handed to the pod still partial; offsets outside the frame refused.  Over real
 * UDP sockets on loopback (vxlan-peer.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dp/csum.h"
#include "dp/dp.h"
#include "dp/net-headers.h"
#include "dp/packet.h"
#include "pkt-builder.h"
#include "scene.h"
#include "vxlan-peer.h"

TestSuite(vxlan_rco, .init = vxlan_setup_rco, .fini = vxlan_teardown);


/* A pod's 64 KiB frame: every segment says where its checksum is, and holds only its
 * pseudo-header sum there, which completes to a valid one. */
Test(vxlan_rco, gso_segments_leave_their_checksums_to_the_receiver)
{
    static uint8_t dgram[4096];
    size_t payload = 0;
    int n_segments = 0;

    cr_assert_eq(inject_gso_frame(20000, 1410), 0);
    for (int n; (n = peer_next(dgram, sizeof dgram, 500)) >= 0; n_segments++) {
        const uint8_t *inner = dgram + VXLAN_HDR_LEN;

        cr_assert_eq(dgram[1], VXLAN_FLAG_RCO, "segment %d: the RCO flag", n_segments);
        cr_assert_eq(dgram[7], 34 / 2, "segment %d: TCP checksum from byte 34", n_segments);
        cr_assert(pkt_ip_csum_ok(inner, n - VXLAN_HDR_LEN));
        cr_assert(pkt_partial_csum_ok(inner, n - VXLAN_HDR_LEN, 34, 16), "segment %d",
                  n_segments);
        payload += n - VXLAN_HDR_LEN - 54;
    }
    cr_expect_eq(payload, 20000u, "every byte arrived");
    cr_expect_eq(n_segments, 15);
}

/* A single UDP packet with a partial checksum goes as it is, marked UDP; one whose checksum
 * is complete goes without the flag. */
Test(vxlan_rco, only_partial_checksums_are_left_and_udp_is_marked)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.7", .proto = 17, .sport = 5, .dport = 6,
                             .payload = 100 };
    struct virtio_net_hdr vnet = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
                                   .csum_offset = 6 };
    uint8_t frame[256], dgram[2048];
    uint8_t pseudo[12] = { 10, 244, 1, 5, 10, 244, 2, 7, 0, 17, 0, 108 };
    size_t len = pkt_build(&spec, frame, sizeof frame);
    be16 partial = ~csum_finish(csum_partial(pseudo, sizeof pseudo, 0));
    int n;

    cr_assert_eq(dp_inject(vx.node->dp, "pod", frame, len, NULL), 0);
    n = peer_receive(dgram, sizeof dgram);
    cr_expect_eq(dgram[1], 0, "a complete checksum needs no RCO");
    cr_expect_eq(dgram[7], 0);
    cr_expect(pkt_l4_csum_ok(dgram + VXLAN_HDR_LEN, n - VXLAN_HDR_LEN));

    memcpy(frame + 34 + 6, &partial, sizeof partial);
    cr_assert_eq(dp_inject(vx.node->dp, "pod", frame, len, &vnet), 0);
    n = peer_receive(dgram, sizeof dgram);
    cr_expect_eq(dgram[1], VXLAN_FLAG_RCO);
    cr_expect_eq(dgram[7], VXLAN_RCO_UDP | 34 / 2);
    cr_expect(pkt_partial_csum_ok(dgram + VXLAN_HDR_LEN, n - VXLAN_HDR_LEN, 34, 6));
}

/* Received: the pod gets the packet with its checksum still partial, said so in the
 * virtio-net header, as a local pod's would be; an RCO start outside the frame is dropped. */
Test(vxlan_rco, a_partial_checksum_reaches_the_pod_partial)
{
    struct pkt_spec spec = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = ROUTER,
                             .ip_src = "10.244.2.7", .ip_dst = "10.244.1.5", .sport = 80,
                             .dport = 40000, .tcp_flags = TCP_ACK | 0x08, .payload = 100 };
    uint8_t header[VXLAN_HDR_LEN] = { VXLAN_FLAG_VNI, VXLAN_FLAG_RCO, 0, 0, 0, 0, 42, 34 / 2 };
    uint8_t pseudo[12] = { 10, 244, 2, 7, 10, 244, 1, 5, 0, 6, 0, 120 };
    uint8_t frame[512], out[2048];
    size_t len = pkt_build(&spec, frame, sizeof frame);
    be16 partial = ~csum_finish(csum_partial(pseudo, sizeof pseudo, 0));
    struct virtio_net_hdr vnet;
    int n;

    cr_assert_eq(len, 54u + 100);
    memcpy(frame + 34 + 16, &partial, sizeof partial);
    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send_with("127.0.0.2", header, frame, len);
    n = wait_take("pod", out, sizeof out, &vnet);
    cr_assert_eq(n, (int) len, "delivered to the pod");
    cr_expect_eq(vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    cr_expect_eq(vnet.csum_start, 34);
    cr_expect_eq(vnet.csum_offset, 16);
    cr_expect_eq(vnet.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    cr_expect(pkt_partial_csum_ok(out, n, 34, 16), "the pod's kernel completes it");

    header[7] = 0x7f;               /* Byte 254: past the frame's 154. */
    peer_send_with("127.0.0.2", header, frame, len);
    header[7] = 2;                  /* Byte 4: inside the Ethernet header. */
    peer_send_with("127.0.0.2", header, frame, len);
    for (int i = 0; i < 200 && scene_drops(vx.node, DROP_VXLAN_MALFORMED) < 2; i++) {
        usleep(10000);
    }
    cr_expect_eq(scene_drops(vx.node, DROP_VXLAN_MALFORMED), 2u);
    cr_expect_eq(wait_take("pod", out, sizeof out, NULL), -EAGAIN, "neither delivered");
}
