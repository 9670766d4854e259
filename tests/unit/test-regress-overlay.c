/* Regression tests for findings of the overlay fuzzing (tests/fuzz/fuzz-overlay.c) and its
 * review: behaviour at the VXLAN port that the datapath promises but did not keep.  Same
 * loopback scene as test-overlay.c: 127.0.0.1 is this node, 127.0.0.2 the peer owning
 * 10.244.2.0/24. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp/dp.h"
#include "dp/net-headers.h"
#include "dp/overlay.h"
#include "dp/packet.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "pkt-builder.h"

#define ROUTER "0a:58:0a:f4:01:01"
#define POD_MAC "02:00:00:00:01:05"

static struct dp *dp;
static int peer_sock = -1;
static uint16_t vxlan_port;

static be32 ip_of(const char *s)
{
    be32 ip;

    addr_parse_ip(s, &ip);
    return ip;
}

static void setup(void)
{
    struct dp_config cfg = { .dummy_host = true, .host_port = "vsw0", .vni = 42 };
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = ip_of("127.0.0.2") };
    socklen_t slen = sizeof sin;
    struct eth_addr mac;
    struct cidr peer_cidr;
    int rcvbuf = 8 << 20;
    char err[256];

    log_set_level(LOG_LVL_ERR);
    peer_sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    cr_assert(peer_sock >= 0);
    cr_assert_eq(bind(peer_sock, (struct sockaddr *) &sin, sizeof sin), 0);
    getsockname(peer_sock, (struct sockaddr *) &sin, &slen);
    setsockopt(peer_sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    vxlan_port = ntohs(sin.sin_port);

    addr_parse_cidr("10.244.1.0/24", &cfg.pod_cidr);
    cfg.gateway = ip_of("10.244.1.1");
    cfg.router_mac = addr_mac_from_ip(cfg.gateway);
    cfg.node_ip = ip_of("127.0.0.1");
    cfg.vxlan_port = vxlan_port;
    cr_assert_eq(dp_create(&cfg, &dp, err, sizeof err), 0, "%s", err);
    addr_parse_mac(POD_MAC, &mac);
    cr_assert_eq(dp_port_add(dp, "pod", DP_PORT_DUMMY, ip_of("10.244.1.5"), &mac, false, err,
                             sizeof err), 0, "%s", err);
    addr_parse_cidr("10.244.2.0/24", &peer_cidr);
    cr_assert_eq(dp_peer_set(dp, ip_of("127.0.0.2"), &peer_cidr, err, sizeof err), 0, "%s",
                 err);
}

static void teardown(void)
{
    dp_destroy(dp);
    close(peer_sock);
}

TestSuite(regress_overlay, .init = setup, .fini = teardown);

static uint64_t drops_total(void)
{
    uint64_t drops[DROP_N_REASONS], sum = 0;

    dp_drop_stats(dp, drops);
    for (int i = 1; i < DROP_N_REASONS; i++) {
        sum += drops[i];
    }
    return sum;
}

static int peer_datagrams(uint8_t *buf, size_t size, size_t *bytes)
{
    struct pollfd pfd = { .fd = peer_sock, .events = POLLIN };
    int n = 0;

    *bytes = 0;
    while (poll(&pfd, 1, 300) == 1) {
        ssize_t r = recv(peer_sock, buf, size, 0);

        if (r < 0) {
            break;
        }
        *bytes += r;
        n++;
    }
    return n;
}

/* A GSO frame from a pod whose segments, with the VXLAN header, do not fit one UDP
 * datagram (gso_size near 64 KiB: a pod interface with a 64 KiB MTU) used to vanish: the
 * VXLAN port's send_segmented() got no segment from gso_segment() and returned without
 * setting a drop reason, so the frame was counted as sent (port and peer tx counters) while
 * nothing left and no drop was counted.  It must either reach the peer or be counted as a
 * drop. */
Test(regress_overlay, gso_segment_larger_than_a_datagram_is_sent_or_counted)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.7", .sport = 1000, .dport = 2000,
                             .tcp_flags = TCP_ACK, .payload = 65460 };
    struct virtio_net_hdr vnet = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
        .gso_size = 65460, .csum_start = 34, .csum_offset = 16,
    };
    static uint8_t frame[PACKET_MAX_FRAME], dgram[PACKET_MAX_FRAME];
    size_t len = pkt_build(&spec, frame, sizeof frame), bytes;
    uint64_t drops_before = drops_total();
    int verdict, n;

    verdict = dp_inject(dp, "pod", frame, len, &vnet);
    n = peer_datagrams(dgram, sizeof dgram, &bytes);
    cr_expect(n > 0 || verdict != 0 || drops_total() > drops_before,
              "forwarded (verdict %d), %d datagram(s) reached the peer, drops %lu -> %lu: "
              "the frame vanished uncounted", verdict, n, (unsigned long) drops_before,
              (unsigned long) drops_total());
}

/* ARP arriving over VXLAN from a peer: the overlay carries routed IPv4 only, and
 * check_source() says DROP_ARP_IGNORED for it, but process_packet() hands every ARP frame to
 * pipeline_arp() before check_source() runs, and pipeline_arp() only checks pod ports: the
 * request for the gateway was answered out of the VXLAN port with no tunnel destination
 * (tun_dst 0.0.0.0), i.e. sent by the VXLAN socket to 0.0.0.0:port, which Linux delivers to
 * this node itself.  It must be dropped and counted, and nothing sent. */
Test(regress_overlay, arp_from_the_overlay_is_not_answered)
{
    struct pkt_spec arp = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = "ff:ff:ff:ff:ff:ff",
                            .eth_type = ETH_TYPE_ARP, .arp_spa = "10.244.2.7",
                            .arp_tpa = "10.244.1.1" };
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(vxlan_port),
                               .sin_addr.s_addr = ip_of("127.0.0.1") };
    uint8_t dgram[256] = { VXLAN_FLAG_VNI, 0, 0, 0, 0, 0, 42, 0 };
    uint64_t drops[DROP_N_REASONS];
    struct dp_port_info *ports;
    size_t len = pkt_build(&arp, dgram + VXLAN_HDR_LEN, sizeof dgram - VXLAN_HDR_LEN), n;
    uint64_t tx = 0, rx = 0;

    cr_assert_eq(dp_start(dp), 0);
    cr_assert_eq(sendto(peer_sock, dgram, VXLAN_HDR_LEN + len, 0, (struct sockaddr *) &dst,
                        sizeof dst), (ssize_t) (VXLAN_HDR_LEN + len));
    for (int i = 0; i < 200 && rx < 1; i++) {
        usleep(10000);
        dp_port_list(dp, &ports, &n);
        for (size_t p = 0; p < n; p++) {
            if (ports[p].type == DP_PORT_VXLAN) {
                rx = ports[p].stats.rx_packets;
                tx = ports[p].stats.tx_packets;
            }
        }
        free(ports);
    }
    usleep(100000);
    dp_drop_stats(dp, drops);
    cr_assert_geq(rx, 1u, "the datagram never arrived");
    cr_expect_eq(tx, 0u, "an answer to ARP from the overlay was sent out of the VXLAN port");
    cr_expect_eq(drops[DROP_ARP_IGNORED], 1u, "ARP from the overlay is not counted as ignored");
}
