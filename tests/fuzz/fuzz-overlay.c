/* libFuzzer target: the overlay, i.e. VXLAN decapsulation (RFC 7348) and everything behind it,
 * with the datapath thread running as in vswitchd.  There is no API to inject a frame into
 * the VXLAN port as if it came from a peer (dp_inject() has no tunnel source), so the
 * VXLAN records of an input (fuzz-dp.h) are sent as real UDP datagrams on loopback, from the
 * peer's address 127.0.0.2 to this node's socket on 127.0.0.1, and the target waits until
 * the datapath has counted them; the frames the switch encapsulates for the peer are read
 * from the peer's socket.  The other records are injected into the pod and host ports, so
 * one input can open a connection from a pod over the overlay (DSR to the remote backend:
 * MAC dispatch) and answer it from the peer, or be the peer dispatching to a local backend.
 *
 * Checks, besides the sanitizers:
 *   - what fuzz_check_sent() checks of every frame that leaves on a pod or host port;
 *   - from the peer, an IPv4 frame whose inner source is neither in the peer's pod CIDR nor
 *     a VIP never reaches a pod, unless it is dispatched by MAC to a VIP (an external
 *     client's connection, which may come from any address);
 *   - what the switch sends to the peer is VXLAN with the I flag and VNI 42, whose inner
 *     frame is not multicast, with correct checksums when the input's were. */
#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fuzz-dp.h"
#include "dp/packet.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_scene fs;
static int peer_sock = -1;
static uint16_t vxlan_port;
static uint8_t out[PACKET_MAX_FRAME];
static const char *const port_names[] = { "pod1", "pod2", "pod3", "vsw0", "vxlan" };
#define N_PORTS (sizeof port_names / sizeof port_names[0])
#define N_DUMMY 4

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_addr.s_addr = scene_ip(FUZZ_PEER_IP) };
    socklen_t slen = sizeof sin;
    int rcvbuf = 8 << 20;

    /* The peer's socket first: its kernel-chosen port is the overlay's port on both ends. */
    peer_sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (peer_sock < 0 || bind(peer_sock, (struct sockaddr *) &sin, sizeof sin) < 0
        || getsockname(peer_sock, (struct sockaddr *) &sin, &slen) < 0) {
        fuzz_fail("peer socket: %s", strerror(errno));
    }
    setsockopt(peer_sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    vxlan_port = ntohs(sin.sin_port);
    fuzz_scene_open(&fs, vxlan_port);
    if (dp_start(fs.s->dp)) {
        fuzz_fail("dp_start failed");
    }
    return 0;
}

static uint64_t vxlan_rx(void)
{
    struct dp_port_info *ports;
    uint64_t rx = 0;
    size_t n;

    dp_port_list(fs.s->dp, &ports, &n);
    for (size_t i = 0; i < n; i++) {
        if (ports[i].type == DP_PORT_VXLAN) {
            rx = ports[i].stats.rx_packets;
        }
    }
    free(ports);
    return rx;
}

/* Sends 'len' bytes from the peer, as one datagram, or with 'seg_size' as datagrams of
 * 'seg_size' bytes in one UDP_SEGMENT send (which the switch's socket receives as one UDP GRO
 * bundle, as from a switch on another node), and waits until the datapath counted them
 * (dp_port_list() runs between two receives, and a bundle is unpacked in one). */
static void send_from_peer(const uint8_t *dgram, size_t len, int seg_size)
{
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(vxlan_port),
                              .sin_addr.s_addr = scene_ip(FUZZ_NODE_IP) };
    uint64_t before = vxlan_rx();

    if (len > 65507) {
        len = 65507;
    }
    if (setsockopt(peer_sock, SOL_UDP, UDP_SEGMENT, &seg_size, sizeof seg_size) < 0) {
        fuzz_fail("UDP_SEGMENT: %s", strerror(errno));
    }
    if (sendto(peer_sock, dgram, len, 0, (struct sockaddr *) &to, sizeof to) < 0) {
        fuzz_fail("sendto: %s", strerror(errno));
    }
    for (int i = 0; vxlan_rx() == before; i++) {
        FUZZ_CHECK(i < 20000, "the datapath never received a datagram sent on loopback");
        usleep(50);
    }
}

static bool is_scene_vip(be32 ip)
{
    return ip == scene_ip(FUZZ_VIP_DSR) || ip == scene_ip(FUZZ_VIP_UDP)
           || ip == scene_ip(FUZZ_VIP_EMPTY) || ip == scene_ip(FUZZ_VIP_HAIRPIN);
}

/* From the peer: true if the inner frame is IPv4 from outside the peer's pods and VIPs, and
 * not a connection of a client outside the cluster that the peer dispatched here by MAC
 * (0a:58 and a pod's address, to a VIP: any source may be such a client). */
static bool peer_spoofs_one(const uint8_t *dgram, size_t len)
{
    const uint8_t *f = dgram + 8;
    struct cidr peer;
    be32 src, dst;

    if (len < 8 + 34 || f[12] != 0x08 || f[13] != 0x00) {
        return false;
    }
    memcpy(&src, f + 26, 4);
    memcpy(&dst, f + 30, 4);
    addr_parse_cidr(FUZZ_PEER_CIDR, &peer);
    if (f[0] == 0x0a && f[1] == 0x58 && is_scene_vip(dst)) {
        return false;
    }
    return !cidr_contains(&peer, src) && !is_scene_vip(src);
}

/* A bundle: the strict checks hold only if every datagram in it spoofs. */
static bool peer_spoofs(const uint8_t *dgrams, size_t len, size_t seg_size)
{
    for (size_t ofs = 0; ofs < len; ofs += seg_size) {
        if (!peer_spoofs_one(dgrams + ofs, MIN(seg_size, len - ofs))) {
            return false;
        }
    }
    return true;
}

/* Every datagram's inner frame is IPv4 with good checksums. */
static bool peer_frames_ok(const uint8_t *dgrams, size_t len, size_t seg_size)
{
    for (size_t ofs = 0; ofs < len; ofs += seg_size) {
        size_t n = MIN(seg_size, len - ofs);
        struct fuzz_frame in;

        fuzz_frame_check(n >= 8 ? dgrams + ofs + 8 : dgrams + ofs, n >= 8 ? n - 8 : 0, &in);
        if (!in.ipv4 || !in.ip_csum_ok || (in.l4_checkable && !in.l4_csum_ok)) {
            return false;
        }
    }
    return true;
}

/* pod3's MAC is learned: until then the switch asks for it every second, a broadcast ARP
 * request from the router MAC. */
static bool is_probe(const uint8_t *f, size_t len)
{
    struct eth_addr router;

    addr_parse_mac(FUZZ_ROUTER_MAC, &router);
    return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && !memcmp(f + 6, router.a, 6)
           && f[21] == 1;
}

static void run_record(const struct fuzz_record *r)
{
    struct fuzz_input in = { .r = r, .port = (r->ctl & REC_PORT_MASK) % N_PORTS };
    bool vxlan = in.port == FUZZ_PORT_VXLAN;
    /* From the peer, a virtio-net header means nothing: its gso_size cuts the record into a
     * bundle of datagrams instead (at least a VXLAN header and an Ethernet one each). */
    size_t len = MIN(r->len, (size_t) 65507);
    int seg_size = vxlan && r->vnet && r->vnet->gso_size >= 22 && r->vnet->gso_size < len
                   && (len + r->vnet->gso_size - 1) / r->vnet->gso_size <= 64
                   ? r->vnet->gso_size : 0;
    ssize_t n;

    in.from_pod = !vxlan;
    in.spoofed = vxlan ? peer_spoofs(r->frame, len, seg_size ? seg_size : len)
                       : fuzz_pod_spoofs(in.port, r->frame, r->len);
    fuzz_record_prepare(&fs, r);
    if (vxlan) {
        in.ok = peer_frames_ok(r->frame, len, seg_size ? seg_size : len);
        send_from_peer(r->frame, len, seg_size);
    } else {
        int verdict;

        in.ok = fuzz_input_ok(r);
        verdict = dp_inject(fs.s->dp, port_names[in.port], r->frame, r->len, r->vnet);
        FUZZ_CHECK(r->len > PACKET_MAX_FRAME ? verdict == -EMSGSIZE
                                              : verdict >= 0 && verdict < DROP_N_REASONS,
                   "verdict %d", verdict);
    }

    for (size_t p = 0; p < N_DUMMY; p++) {
        struct virtio_net_hdr vnet;
        int len;

        while ((len = dp_dummy_take(fs.s->dp, port_names[p], out, sizeof out, &vnet)) >= 0) {
            /* pod3's probes are the switch's own, whatever the input. */
            if (!(p == 2 && len >= 14 && is_probe(out, len))) {
                fuzz_check_sent(&in, p, port_names[p], out, len, &vnet);
            }
        }
    }
    while ((n = recv(peer_sock, out, sizeof out, MSG_DONTWAIT)) >= 0) {
        struct fuzz_frame of;

        FUZZ_CHECK(!in.spoofed || !vxlan, "a frame spoofed by the peer went back to it");
        FUZZ_CHECK(n >= 8 + 14, "a %zd-byte datagram to the peer", n);
        FUZZ_CHECK(out[0] == 0x08 && (out[4] << 16 | out[5] << 8 | out[6]) == FUZZ_VNI,
                   "a datagram to the peer without the I flag and VNI %d", FUZZ_VNI);
        FUZZ_CHECK(!(out[8] & 1), "a multicast frame to the peer");
        fuzz_frame_check(out + 8, n - 8, &of);
        if (in.ok && of.ipv4) {
            FUZZ_CHECK(of.ip_csum_ok && (!of.l4_checkable || of.l4_csum_ok),
                       "bad checksum (proto %u) to the peer (the input's were good)",
                       of.proto);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_run_input(&fs, data, size, run_record);
    return 0;
}
