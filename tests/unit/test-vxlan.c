/* VXLAN (RFC 7348) in the datapath, over real UDP sockets on loopback (vxlan-peer.h):
 * encapsulation to the node owning a remote pod, decapsulation with its checks, DSR across
 * nodes by MAC dispatch on both sides, "fragmentation needed", GSO frames cut to the
 * overlay's MTU, received segments joined into one GSO frame for the pod, and the outer
 * source port following the inner flow. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp/csum.h"
#include "dp/dp.h"
#include "dp/net-headers.h"
#include "dp/packet.h"
#include "lib/addr.h"
#include "pkt-builder.h"
#include "scene.h"
#include "vxlan-peer.h"

TestSuite(vxlan, .init = vxlan_setup, .fini = vxlan_teardown);

Test(vxlan, remote_pod_is_encapsulated_to_its_node)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.7", .proto = 17, .sport = 5, .dport = 6,
                             .payload = 100 };
    uint8_t frame[256], dgram[2048];
    const uint8_t *inner = dgram + VXLAN_HDR_LEN;
    char mac[ETH_STR_LEN];
    size_t len = pkt_build(&spec, frame, sizeof frame);
    int n;

    cr_assert_eq(dp_inject(vx.node->dp, "pod", frame, len, NULL), 0);
    n = peer_receive(dgram, sizeof dgram);
    cr_assert_eq(n, (int) (VXLAN_HDR_LEN + len));
    cr_expect_eq(dgram[0], VXLAN_FLAG_VNI);
    cr_expect_eq(dgram[4] << 16 | dgram[5] << 8 | dgram[6], 42, "VNI");
    cr_expect_str_eq(addr_mac_str(((const struct eth_header *) inner)->dst, mac),
                     "0a:58:0a:f4:02:01", "the remote router's MAC");
    cr_expect_eq(inner[ETH_HDR_LEN + 8], 63, "TTL");
    cr_expect(pkt_ip_csum_ok(inner, len));
    cr_expect(pkt_l4_csum_ok(inner, len));
}

Test(vxlan, dsr_to_remote_backend_only_fixes_the_mac)
{
    struct dp_lb_backend b = { scene_ip("10.244.2.9"), 8080 };
    struct dp_lb_spec lb = { .vip = scene_ip(VIP), .port = 80, .proto = IP_PROTO_TCP,
                             .dsr = true, .name = "LB_DSR", .n_backends = 1, .backends = &b };
    struct pkt_spec syn = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40000, .dport = 80 };
    uint8_t frame[256], dgram[2048];
    const uint8_t *inner = dgram + VXLAN_HDR_LEN;
    const struct ip_header *ip = (const struct ip_header *) (inner + ETH_HDR_LEN);
    struct dp_conn_info *conns;
    char err[128], mac[ETH_STR_LEN];
    size_t n_conns, len = pkt_build(&syn, frame, sizeof frame);

    cr_assert_eq(dp_lb_set(vx.node->dp, &lb, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dp_inject(vx.node->dp, "pod", frame, len, NULL), 0);
    peer_receive(dgram, sizeof dgram);
    cr_expect_str_eq(addr_mac_str(((const struct eth_header *) inner)->dst, mac),
                     "0a:58:0a:f4:02:09", "the backend pod's dispatch MAC");
    cr_expect_eq(ip->dst, scene_ip(VIP), "the VIP stays the destination");
    cr_expect_eq(ip->src, scene_ip("10.244.1.5"));
    dp_conn_dump(vx.node->dp, &conns, &n_conns);
    cr_expect_eq(n_conns, 0u, "the client's node keeps no state");
    free(conns);
}

Test(vxlan, decapsulated_and_checked)
{
    struct pkt_spec spec = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = ROUTER,
                             .ip_src = "10.244.2.7", .ip_dst = "10.244.1.5", .proto = 17,
                             .sport = 6, .dport = 5, .payload = 20 };
    uint8_t frame[256], out[2048];
    size_t len = pkt_build(&spec, frame, sizeof frame);
    int n;

    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send("127.0.0.2", 42, frame, len);
    n = wait_take("pod", out, sizeof out, NULL);
    cr_assert_eq(n, (int) len, "delivered to the pod");
    cr_expect_eq(out[ETH_HDR_LEN + 8], 63);

    peer_send("127.0.0.3", 42, frame, len);
    peer_send("127.0.0.2", 7, frame, len);
    spec.ip_src = "10.244.9.9";     /* Not the peer's pods. */
    len = pkt_build(&spec, frame, sizeof frame);
    peer_send("127.0.0.2", 42, frame, len);
    for (int i = 0; i < 200 && (scene_drops(vx.node, DROP_VXLAN_UNKNOWN_PEER) < 1
                                || scene_drops(vx.node, DROP_VXLAN_BAD_VNI) < 1
                                || scene_drops(vx.node, DROP_SPOOFED_IP) < 1); i++) {
        usleep(10000);
    }
    cr_expect_eq(scene_drops(vx.node, DROP_VXLAN_UNKNOWN_PEER), 1u);
    cr_expect_eq(scene_drops(vx.node, DROP_VXLAN_BAD_VNI), 1u);
    cr_expect_eq(scene_drops(vx.node, DROP_SPOOFED_IP), 1u);
    cr_expect_eq(wait_take("pod", out, sizeof out, NULL), -EAGAIN, "none of them delivered");
}

Test(vxlan, backend_side_of_dsr_dnats_and_keeps_the_pair)
{
    struct dp_lb_backend b = { scene_ip("10.244.1.5"), 8080 };
    struct dp_lb_spec lb = { .vip = scene_ip(VIP), .port = 80, .proto = IP_PROTO_TCP,
                             .dsr = true, .name = "LB_DSR", .n_backends = 1, .backends = &b };
    struct pkt_spec syn = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = "0a:58:0a:f4:01:05",
                            .ip_src = "10.244.2.7", .ip_dst = VIP, .sport = 40000,
                            .dport = 80, .ttl = 63 };
    struct pkt_spec synack = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                               .ip_dst = "10.244.2.7", .sport = 8080, .dport = 40000,
                               .tcp_flags = TCP_SYN | TCP_ACK };
    uint8_t frame[256], out[2048], dgram[2048];
    const struct ip_header *ip = (const struct ip_header *) (out + ETH_HDR_LEN);
    char err[128];
    int n;

    cr_assert_eq(dp_lb_set(vx.node->dp, &lb, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send("127.0.0.2", 42, frame, pkt_build(&syn, frame, sizeof frame));
    n = wait_take("pod", out, sizeof out, NULL);
    cr_assert_gt(n, 0, "delivered to the backend pod");
    cr_expect_eq(ip->dst, scene_ip("10.244.1.5"));
    cr_expect_eq(ip->src, scene_ip("10.244.2.7"), "the backend sees the client");
    cr_expect_eq(ntohs(((const struct tcp_header *) (ip + 1))->dst), 8080);
    cr_expect(pkt_ip_csum_ok(out, n) && pkt_l4_csum_ok(out, n));

    /* The reply leaves un-NAT'd, straight for the client's node. */
    cr_assert_eq(scene_inject(vx.node, "pod", &synack, NULL), 0);
    n = peer_receive(dgram, sizeof dgram);
    ip = (const struct ip_header *) (dgram + VXLAN_HDR_LEN + ETH_HDR_LEN);
    cr_expect_eq(ip->src, scene_ip(VIP));
    cr_expect_eq(ntohs(((const struct tcp_header *) (ip + 1))->src), 80);
    cr_expect(pkt_l4_csum_ok(dgram + VXLAN_HDR_LEN, n - VXLAN_HDR_LEN));
}

Test(vxlan, too_big_with_df_gets_fragmentation_needed)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.7", .proto = 17, .sport = 5, .dport = 6,
                             .frag_off = 0x4000, .payload = 1472 };
    static uint8_t frame[2048], out[2048];
    const struct icmp_header *icmp = (const struct icmp_header *) (out + ETH_HDR_LEN + 20);
    size_t len = pkt_build(&spec, frame, sizeof frame);
    int n;

    cr_assert_eq(dp_inject(vx.node->dp, "pod", frame, len, NULL), 0);
    n = dp_dummy_take(vx.node->dp, "pod", out, sizeof out, NULL);
    cr_assert_gt(n, 0, "the ICMP error comes back to the pod");
    cr_expect_eq(icmp->type, ICMP_DEST_UNREACH);
    cr_expect_eq(icmp->code, 4);
    cr_expect_eq(ntohl(icmp->rest), 1450u);
    cr_expect(pkt_l4_csum_ok(out, n));

    spec.frag_off = 0;
    len = pkt_build(&spec, frame, sizeof frame);
    cr_expect_eq(dp_inject(vx.node->dp, "pod", frame, len, NULL), DROP_TOO_BIG);
}

Test(vxlan, full_size_gso_frame_arrives_as_valid_mtu_segments)
{
    static uint8_t dgram[4096];
    size_t payload = 0;
    int n_segments = 0, rcvbuf = 4 << 20;

    setsockopt(vx.peer_sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    cr_assert_eq(inject_gso_frame(65000, 1410), 0);
    for (int n; (n = peer_next(dgram, sizeof dgram, 500)) >= 0;) {
        const uint8_t *inner = dgram + VXLAN_HDR_LEN;

        cr_assert_leq(n - VXLAN_HDR_LEN - ETH_HDR_LEN, 1450, "inner packet within the MTU");
        cr_assert(pkt_ip_csum_ok(inner, n - VXLAN_HDR_LEN));
        cr_assert(pkt_l4_csum_ok(inner, n - VXLAN_HDR_LEN), "segment %d", n_segments);
        payload += n - VXLAN_HDR_LEN - 54;
        n_segments++;
    }
    cr_expect_eq(payload, 65000u, "every byte arrived");
    cr_expect_eq(n_segments, 47);
}

Test(vxlan, segments_arriving_together_reach_the_pod_as_one_gso_frame)
{
    static uint8_t frame[2048], out[PACKET_MAX_FRAME];
    struct virtio_net_hdr vnet;
    const struct ip_header *ip;
    struct tcp_header *tcp;
    int n;

    /* Ten full segments and a short last one, sent before the datapath runs so that one
     * receive batch holds them all. */
    for (int i = 0; i < 11; i++) {
        struct pkt_spec seg = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = ROUTER,
                                .ip_src = "10.244.2.7", .ip_dst = "10.244.1.5",
                                .sport = 5201, .dport = 40000,
                                .tcp_flags = TCP_ACK | (i == 10 ? 0x08 : 0),
                                .payload = i == 10 ? 300 : 1000 };
        size_t len = pkt_build(&seg, frame, sizeof frame);
        struct tcp_header *th = (struct tcp_header *) (frame + 34);
        struct ip_header *iph = (struct ip_header *) (frame + 14);

        th->seq = htonl(1000000 + i * 1000);
        th->csum = 0;
        th->csum = csum_finish(csum_partial(th, len - 34, csum_pseudo_header(
                                                iph->src, iph->dst, 6, len - 34)));
        peer_send("127.0.0.2", 42, frame, len);
    }
    cr_assert_eq(dp_start(vx.node->dp), 0);
    n = wait_take("pod", out, sizeof out, &vnet);
    cr_assert_eq(n, 54 + 10 * 1000 + 300, "one frame with every byte (got %d)", n);
    cr_expect_eq(dp_dummy_take(vx.node->dp, "pod", frame, sizeof frame, NULL), -EAGAIN,
                 "no other");
    cr_expect_eq(vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    cr_expect_eq(vnet.gso_size, 1000);
    cr_expect_eq(vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    cr_expect_eq(vnet.csum_start, 34);
    cr_expect_eq(vnet.csum_offset, 16);
    ip = (const struct ip_header *) (out + 14);
    tcp = (struct tcp_header *) (out + 34);
    cr_expect_eq(ntohs(ip->tot_len), 20 + 20 + 10300);
    cr_expect_eq(ip->ttl, 63, "routed once here");
    cr_expect(pkt_ip_csum_ok(out, n));
    cr_expect_eq(ntohl(tcp->seq), 1000000u);
    cr_expect(tcp->flags & 0x08, "PSH of the last segment kept");
    /* Completed as the pod's kernel would, the checksum is right. */
    tcp->csum = csum_finish(csum_partial(tcp, n - 34, 0));
    cr_expect(pkt_l4_csum_ok(out, n));
}

/* Sends 'n' inner frames of 'len' bytes each ('frames' back to back, the last one may be
 * 'last_len') as one UDP_SEGMENT send: the switch's socket receives them as one UDP GRO
 * bundle, as it does from a switch on another node. */
static void peer_send_bundle(const uint8_t *frames, size_t len, size_t last_len, int n)
{
    static uint8_t bundle[65536];
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(vx.port),
                               .sin_addr.s_addr = scene_ip("127.0.0.1") };
    int unit = VXLAN_HDR_LEN + len;
    size_t total = 0;

    for (int i = 0; i < n; i++) {
        size_t this_len = i == n - 1 ? last_len : len;
        uint8_t hdr[VXLAN_HDR_LEN] = { VXLAN_FLAG_VNI, 0, 0, 0, 0, 0, 42, 0 };

        memcpy(bundle + total, hdr, sizeof hdr);
        memcpy(bundle + total + VXLAN_HDR_LEN, frames + i * len, this_len);
        total += VXLAN_HDR_LEN + this_len;
    }
    cr_assert_eq(setsockopt(vx.peer_sock, SOL_UDP, UDP_SEGMENT, &unit, sizeof unit), 0);
    cr_assert_eq(sendto(vx.peer_sock, bundle, total, 0, (struct sockaddr *) &dst, sizeof dst),
                 (ssize_t) total, "%s", strerror(errno));
    unit = 0;
    setsockopt(vx.peer_sock, SOL_UDP, UDP_SEGMENT, &unit, sizeof unit);
}

Test(vxlan, a_gro_bundle_of_tcp_segments_reaches_the_pod_as_one_gso_frame)
{
    static uint8_t frames[40 * 1054], out[PACKET_MAX_FRAME];
    struct virtio_net_hdr vnet;
    int n;

    for (int i = 0; i < 40; i++) {
        struct pkt_spec seg = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = ROUTER,
                                .ip_src = "10.244.2.7", .ip_dst = "10.244.1.5",
                                .sport = 5201, .dport = 40000, .tcp_flags = TCP_ACK,
                                .payload = 1000 };
        uint8_t *frame = frames + i * 1054;
        struct tcp_header *th = (struct tcp_header *) (frame + 34);
        struct ip_header *iph = (struct ip_header *) (frame + 14);

        pkt_build(&seg, frame, 1054);
        th->seq = htonl(7000000 + i * 1000);
        th->csum = 0;
        th->csum = csum_finish(csum_partial(th, 1020, csum_pseudo_header(iph->src, iph->dst,
                                                                         6, 1020)));
    }
    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send_bundle(frames, 1054, 1054, 40);
    n = wait_take("pod", out, sizeof out, &vnet);
    cr_assert_eq(n, 54 + 40 * 1000, "one frame with every byte (got %d)", n);
    cr_expect_eq(vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    cr_expect_eq(vnet.gso_size, 1000);
    cr_expect_eq(ntohl(((struct tcp_header *) (out + 34))->seq), 7000000u);
}

/* 50 UDP datagrams in one bundle: more frames than one receive batch holds, none of which
 * can be joined; the ones left over must not wait for the next datagram to arrive. */
Test(vxlan, a_gro_bundle_larger_than_a_batch_is_delivered_whole)
{
    static uint8_t frames[50 * 242], out[2048];
    int got = 0;

    for (int i = 0; i < 50; i++) {
        struct pkt_spec dgram = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = ROUTER,
                                  .ip_src = "10.244.2.7", .ip_dst = "10.244.1.5",
                                  .proto = 17, .sport = 5000, .dport = 6000 + i,
                                  .payload = 200 };

        cr_assert_eq(pkt_build(&dgram, frames + i * 242, 242), 242u);
    }
    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send_bundle(frames, 242, 242, 50);
    for (int i = 0; i < 300 && got < 50; i++) {
        int n = dp_dummy_take(vx.node->dp, "pod", out, sizeof out, NULL);

        if (n < 0) {
            usleep(10000);
            continue;
        }
        cr_expect_eq(n, 242);
        cr_expect_eq(ntohs(((struct udp_header *) (out + 34))->dst), 6000 + got,
                     "datagram %d in order", got);
        got++;
    }
    cr_expect_eq(got, 50, "%d of 50 datagrams reached the pod", got);
}

/* Findings of the overlay fuzzing (tests/fuzz/fuzz-overlay.c) and its review. */
static uint64_t drops_total(void)
{
    uint64_t drops[DROP_N_REASONS], sum = 0;

    dp_drop_stats(vx.node->dp, drops);
    for (int i = 1; i < DROP_N_REASONS; i++) {
        sum += drops[i];
    }
    return sum;
}

static int peer_datagrams(uint8_t *buf, size_t size, size_t *bytes)
{
    int n = 0;

    *bytes = 0;
    for (int r; (r = peer_next(buf, size, 300)) >= 0; n++) {
        *bytes += r;
    }
    return n;
}

/* A GSO frame from a pod whose segments, with the VXLAN header, do not fit one UDP
 * datagram (gso_size near 64 KiB: a pod interface with a 64 KiB MTU) used to vanish: the
 * VXLAN port's send_segmented() got no segment from gso_segment() and returned without
 * setting a drop reason, so the frame was counted as sent (port and peer tx counters) while
 * nothing left and no drop was counted.  It must either reach the peer or be counted as a
 * drop. */
Test(vxlan, gso_segment_larger_than_a_datagram_is_sent_or_counted)
{
    static uint8_t dgram[PACKET_MAX_FRAME];
    size_t bytes;
    uint64_t drops_before = drops_total();
    int verdict, n;

    verdict = inject_gso_frame(65460, 65460);
    n = peer_datagrams(dgram, sizeof dgram, &bytes);
    cr_expect(n > 0 || verdict != 0 || drops_total() > drops_before,
              "forwarded (verdict %d), %d datagram(s) reached the peer, drops %lu -> %lu: "
              "the frame vanished uncounted", verdict, n, (unsigned long) drops_before,
              (unsigned long) drops_total());
}

/* ARP arriving over VXLAN from a peer: the overlay carries routed IPv4 only, and
 * check_source() says DROP_ARP_IGNORED for it, but process_packet() hands every ARP frame to
 * the ARP responder before check_source() runs, and the responder only checks pod ports: the
 * request for the gateway was answered out of the VXLAN port with no tunnel destination
 * (tun_dst 0.0.0.0), i.e. sent by the VXLAN socket to 0.0.0.0:port, which Linux delivers to
 * this node itself.  It must be dropped and counted, and nothing sent. */
Test(vxlan, arp_from_the_overlay_is_not_answered)
{
    struct pkt_spec arp = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = "ff:ff:ff:ff:ff:ff",
                            .eth_type = ETH_TYPE_ARP, .arp_spa = "10.244.2.7",
                            .arp_tpa = "10.244.1.1" };
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(vx.port),
                               .sin_addr.s_addr = scene_ip("127.0.0.1") };
    uint8_t dgram[256] = { VXLAN_FLAG_VNI, 0, 0, 0, 0, 0, 42, 0 };
    uint64_t drops[DROP_N_REASONS];
    struct dp_port_info *ports;
    size_t len = pkt_build(&arp, dgram + VXLAN_HDR_LEN, sizeof dgram - VXLAN_HDR_LEN), n;
    uint64_t tx = 0, rx = 0;

    cr_assert_eq(dp_start(vx.node->dp), 0);
    cr_assert_eq(sendto(vx.peer_sock, dgram, VXLAN_HDR_LEN + len, 0, (struct sockaddr *) &dst,
                        sizeof dst), (ssize_t) (VXLAN_HDR_LEN + len));
    for (int i = 0; i < 200 && rx < 1; i++) {
        usleep(10000);
        dp_port_list(vx.node->dp, &ports, &n);
        for (size_t p = 0; p < n; p++) {
            if (ports[p].type == DP_PORT_VXLAN) {
                rx = ports[p].stats.rx_packets;
                tx = ports[p].stats.tx_packets;
            }
        }
        free(ports);
    }
    usleep(100000);
    dp_drop_stats(vx.node->dp, drops);
    cr_assert_geq(rx, 1u, "the datagram never arrived");
    cr_expect_eq(tx, 0u, "an answer to ARP from the overlay was sent out of the VXLAN port");
    cr_expect_eq(drops[DROP_ARP_IGNORED], 1u, "ARP from the overlay is not counted as ignored");
}

/* A pod left at MTU 1500 (gso_size 1460) on a 1450 overlay: the segments follow the
 * overlay's MTU, so the underlay never fragments VXLAN datagrams. */
Test(vxlan, gso_frames_are_cut_to_the_overlay_mtu)
{
    static uint8_t dgram[PACKET_MAX_FRAME];
    size_t payload = 0;
    int biggest = 0;

    cr_assert_eq(inject_gso_frame(14600, 1460), 0);
    for (int n; (n = peer_next(dgram, sizeof dgram, 300)) >= 0;) {
        biggest = n > biggest ? n : biggest;
        cr_expect(pkt_l4_csum_ok(dgram + VXLAN_HDR_LEN, n - VXLAN_HDR_LEN));
        payload += n - VXLAN_HDR_LEN - 54;
    }
    cr_expect_eq(payload, 14600u, "%zu of 14600 payload bytes reached the peer", payload);
    cr_expect_leq(biggest - VXLAN_HDR_LEN - ETH_HDR_LEN, 1450, "an inner packet of %d bytes",
                  biggest - VXLAN_HDR_LEN - ETH_HDR_LEN);
}

/* RFC 7348 section 5: the outer source port follows the inner flow, so the underlay's ECMP
 * and the receiver's RSS can spread the overlay's flows; one flow keeps one port. */
Test(vxlan, source_port_follows_the_inner_flow)
{
    uint16_t port_of[16] = { 0 };
    int distinct = 0;

    for (int round = 0; round < 2; round++) {
        for (int f = 0; f < 16; f++) {
            struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER,
                                     .ip_src = "10.244.1.5", .ip_dst = "10.244.2.7",
                                     .proto = 17, .sport = 40000 + f, .dport = 53,
                                     .payload = 20 };
            struct sockaddr_in from;
            socklen_t flen = sizeof from;
            uint8_t dgram[512];
            struct pollfd pfd = { .fd = vx.peer_sock, .events = POLLIN };

            cr_assert_eq(scene_inject(vx.node, "pod", &spec, NULL), 0);
            cr_assert_eq(poll(&pfd, 1, 2000), 1, "flow %d never reached the peer", f);
            cr_assert_gt(recvfrom(vx.peer_sock, dgram, sizeof dgram, 0,
                                  (struct sockaddr *) &from, &flen), 0);
            if (!round) {
                port_of[f] = ntohs(from.sin_port);
            } else {
                cr_expect_eq(ntohs(from.sin_port), port_of[f], "flow %d changed its port", f);
            }
        }
    }
    for (int f = 0; f < 16; f++) {
        bool seen = false;

        for (int g = 0; g < f; g++) {
            seen |= port_of[g] == port_of[f];
        }
        distinct += !seen;
    }
    cr_expect_geq(distinct, 4, "16 flows left from %d source port(s)", distinct);
}
