/* relay-floor: what any user-space overlay built on sockets pays at the least, to put the
 * switch's overlay figures in perspective (tests/bench/overlay-floor.sh).
 *
 * One process per node, between the pod's veth (AF_PACKET with the virtio-net header, as the
 * switch reads it) and a UDP socket to the other node (UDP_SEGMENT out, UDP_GRO in, as the
 * switch's VXLAN port).  No parsing, no lookup, no state: the node's pod has a static ARP
 * entry for its gateway holding the other pod's MAC, so frames go through untouched.
 *
 *   --whole      each frame the pod sends goes over the wire as it is, cut by the kernel
 *                into 1472-byte datagrams that are *not* frames of their own (not VXLAN):
 *                the four copies (AF_PACKET in, UDP out, UDP in, AF_PACKET out) and nothing
 *                else.  The floor of a user-space relay.
 *   --segments   each datagram carries a complete frame, as RFC 7348 requires: the sender cuts
 *                each frame's payload into 1398-byte pieces, each behind a copy of the
 *                frame's 74 bytes of headers, laid out in one buffer; the receiver copies the
 *                pieces back into one frame (what GRO does) before handing it to its pod.
 *                The floor of a user-space VXLAN overlay that keeps a pod's 64 KiB frames
 *                whole on both ends, without any of a switch's work.
 *
 * Header fields are not rewritten in --segments (the first header byte says "last piece"),
 * so its datagrams are not valid TCP either: only their shape and the work are the same.
 * Test tool; runs until killed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define DATAGRAM 1472               /* A 1500-byte underlay less IPv4 and UDP headers. */
#define HEADERS 74                  /* --segments: Ethernet, IPv4, TCP with timestamps. */
#define PIECE (DATAGRAM - HEADERS)
#define MAX_SEND 65507              /* One UDP datagram's worth per UDP_SEGMENT send. */
#define FRAME_MAX 70000

static bool segments;
static uint8_t frame[FRAME_MAX], wire[FRAME_MAX], joined[2 * FRAME_MAX];

static void die(const char *what)
{
    fprintf(stderr, "relay-floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void send_datagrams(int fd, const uint8_t *data, size_t len)
{
    char control[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
    struct iovec iov = { (void *) data, len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (len > DATAGRAM) {
        struct cmsghdr *cm;
        uint16_t size = DATAGRAM;

        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof size);
        memcpy(CMSG_DATA(cm), &size, sizeof size);
    }
    sendmsg(fd, &msg, 0);
}

/* --whole: a marker byte (0 whole, 1 first half, 2 second half) and the frame, in halves
 * when it is too large for one send. */
static void send_marked(int fd, uint8_t marker, const uint8_t *data, size_t len)
{
    wire[0] = marker;
    memcpy(wire + 1, data, len);
    send_datagrams(fd, wire, len + 1);
}

static void send_whole(int fd, const uint8_t *data, size_t len)
{
    if (len + 1 <= MAX_SEND) {
        send_marked(fd, 0, data, len);
    } else {
        send_marked(fd, 1, data, len / 2);
        send_marked(fd, 2, data + len / 2, len - len / 2);
    }
}

/* --segments: piece after piece, each behind the frame's headers, the first header byte
 * saying whether the piece ends the frame. */
static void send_segments(int fd, const uint8_t *data, size_t len)
{
    size_t offset = 0;

    while (offset < len) {
        size_t used = 0;

        while (offset < len && used + DATAGRAM <= MAX_SEND) {
            size_t piece = len - offset < PIECE ? len - offset : PIECE;

            memcpy(wire + used, data, HEADERS);
            wire[used] = offset + piece == len;
            memcpy(wire + used + HEADERS, data + offset, piece);
            used += HEADERS + piece;
            offset += piece;
        }
        send_datagrams(fd, wire, used);
    }
}

/* Hands the pod what a bundle (UDP GRO: datagrams back to back) completes; 'joined' holds
 * a frame in progress across bundles. */
static void deliver(int packet_fd, const uint8_t *bundle, size_t len)
{
    static size_t joined_len;

    if (!segments) {
        if (bundle[0] == 0) {
            send(packet_fd, bundle + 1, len - 1, 0);
            return;
        }
        if (bundle[0] == 1) {
            joined_len = 0;
        }
        memcpy(joined + joined_len, bundle + 1, len - 1);
        joined_len += len - 1;
        if (bundle[0] == 2) {
            send(packet_fd, joined, joined_len, 0);
        }
        return;
    }
    for (size_t offset = 0; offset < len; offset += DATAGRAM) {
        size_t n = len - offset < DATAGRAM ? len - offset : DATAGRAM;

        if (n <= HEADERS || joined_len + n > sizeof joined) {
            joined_len = 0;
            continue;
        }
        memcpy(joined + joined_len, bundle + offset + HEADERS, n - HEADERS);
        joined_len += n - HEADERS;
        if (bundle[offset]) {
            send(packet_fd, joined, joined_len, 0);
            joined_len = 0;
        }
    }
}

int main(int argc, char *argv[])
{
    struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(4789) }, peer;
    struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
    int one = 1, buffer = 8 << 20, packet_fd, udp_fd;

    if (argc != 5 || (strcmp(argv[1], "--whole") && strcmp(argv[1], "--segments"))) {
        fprintf(stderr, "usage: relay-floor --whole|--segments POD_IFNAME LOCAL_IP PEER_IP\n");
        return 2;
    }
    segments = !strcmp(argv[1], "--segments");
    peer = local;
    if (!inet_pton(AF_INET, argv[3], &local.sin_addr)
        || !inet_pton(AF_INET, argv[4], &peer.sin_addr)) {
        fprintf(stderr, "relay-floor: bad address\n");
        return 2;
    }
    ll.sll_ifindex = if_nametoindex(argv[2]);
    if (!ll.sll_ifindex) {
        die(argv[2]);
    }

    packet_fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (packet_fd < 0
        || setsockopt(packet_fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one)
        || setsockopt(packet_fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one)
        || bind(packet_fd, (struct sockaddr *) &ll, sizeof ll)) {
        die("AF_PACKET socket");
    }
    udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (udp_fd < 0 || setsockopt(udp_fd, SOL_UDP, UDP_GRO, &one, sizeof one)
        || bind(udp_fd, (struct sockaddr *) &local, sizeof local)
        || connect(udp_fd, (struct sockaddr *) &peer, sizeof peer)) {
        die("UDP socket");
    }
    for (int i = 0; i < 2; i++) {
        int fd = i ? udp_fd : packet_fd;

        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
    }

    for (;;) {
        struct pollfd fds[2] = { { packet_fd, POLLIN, 0 }, { udp_fd, POLLIN, 0 } };

        poll(fds, 2, -1);
        for (int i = 0; i < 64; i++) {
            ssize_t n = recv(packet_fd, frame, sizeof frame, 0);

            if (n <= 0) {
                break;
            }
            (segments ? send_segments : send_whole)(udp_fd, frame, n);
        }
        for (int i = 0; i < 64; i++) {
            ssize_t n = recv(udp_fd, frame, sizeof frame, 0);

            if (n <= 0) {
                break;
            }
            deliver(packet_fd, frame, n);
        }
    }
}
