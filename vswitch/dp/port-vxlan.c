/* VXLAN port; see port-vxlan.h. */
#include "dp/port-vxlan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp/csum.h"
#include "dp/drop.h"
#include "dp/gro.h"
#include "dp/gso.h"
#include "dp/net-headers.h"
#include "dp/port-provider.h"
#include "lib/addr.h"
#include "lib/util.h"

#define VXLAN_SOCKBUF (8 << 20)
/* A UDP_SEGMENT send may carry no more than one UDP datagram can (65535 less the IPv4 and UDP
 * headers): the kernel refuses a larger one with EMSGSIZE. */
#define VXLAN_GSO_MAX_SEND (65535 - 20 - 8)
/* Sockets to send from, each with a port of its own: RFC 7348 section 5 asks that the source
 * port vary with the inner flow, so that the underlay's ECMP and the receiver's RSS spread
 * the overlay's flows as they would spread the flows themselves. */
#define VXLAN_TX_SOCKETS 8
/* Receive: buffers for this many UDP GRO bundles (up to 64 KiB each) per recvmmsg. */
#define VXLAN_RX_BUNDLES 8
#define VXLAN_RX_BUNDLE_SIZE 65536
/* recvmmsg calls per recv(): a batch's worth of plain datagrams, so that a peer without GSO
 * still gets its segments joined. */
#define VXLAN_RX_CALLS (PACKET_BATCH_SIZE / VXLAN_RX_BUNDLES)

/* What the kernel handed over and recv() has not unpacked yet. */
struct vxlan_rx {
    struct mmsghdr msgs[VXLAN_RX_BUNDLES];
    struct iovec iov[VXLAN_RX_BUNDLES];
    struct sockaddr_in from[VXLAN_RX_BUNDLES];
    char control[VXLAN_RX_BUNDLES][CMSG_SPACE(sizeof(int))];
    uint8_t *bufs[VXLAN_RX_BUNDLES];
    uint16_t seg_size[VXLAN_RX_BUNDLES];        /* 0: one datagram. */
    int n_bundles;
    int bundle;                                 /* Being unpacked... */
    size_t offset;                              /* ...from this byte. */
};

struct vxlan_priv {
    uint16_t udp_port;                          /* Network order. */
    uint16_t mtu;                               /* Largest inner IPv4 packet sent. */
    uint8_t header[VXLAN_HDR_LEN];              /* The template every frame gets. */
    uint32_t vni;
    bool remote_csum;                           /* Send partial inner checksums (RCO). */
    int tx_fds[VXLAN_TX_SOCKETS];               /* port->fd receives; these send. */
    struct mmsghdr msgs[PACKET_BATCH_SIZE];
    struct iovec iov[PACKET_BATCH_SIZE][2];
    uint8_t headers[PACKET_BATCH_SIZE][VXLAN_HDR_LEN];     /* Each message's, when it
                                                             * differs from 'header'. */
    struct sockaddr_in addrs[PACKET_BATCH_SIZE];
    struct gso_batch gso;
    uint8_t segments[VXLAN_GSO_MAX_SEND];       /* The gso batch's buffer. */
    struct vxlan_rx rx;
};

static int vxlan_open(struct port *port, bool create, char *err, size_t errlen)
{
    snprintf(err, errlen, "the VXLAN port is created by the datapath (--node-ip)");
    return -EINVAL;
}

/* A UDP socket on node_ip:port with the switch's buffer sizes, or a negative errno.  Only
 * the socket that 'receives' gets a receive buffer and UDP GRO: nothing is sent to the
 * others. */
static int open_socket(be32 node_ip, uint16_t port, bool receives, char *err, size_t errlen)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = node_ip };
    int sndbuf = VXLAN_SOCKBUF, rcvbuf = receives ? VXLAN_SOCKBUF : 0, on = 1;
    char ip[IP_STR_LEN];
    int fd, error;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = -errno;
        snprintf(err, errlen, "VXLAN socket: %s", strerror(errno));
        return error;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    /* Without it the kernel would cut every bundle back into datagrams, each a socket
     * buffer queued and copied on its own: most of the receive cost.  Linux 5.0 and later. */
    if (receives) {
        setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);
    }
    if (bind(fd, (struct sockaddr *) &sin, sizeof sin) < 0) {
        error = -errno;
        snprintf(err, errlen, "cannot bind a VXLAN socket to %s:%u: %s%s",
                 addr_ip_str(node_ip, ip), port, strerror(errno),
                 errno == EADDRNOTAVAIL ? " (is --node-ip an address of this node?)" : "");
        close(fd);
        return error;
    }
    return fd;
}

int port_vxlan_open(be32 node_ip, uint16_t udp_port, uint32_t vni, uint16_t mtu,
                    bool remote_csum, struct port **portp, char *err, size_t errlen)
{
    int tx_fds[VXLAN_TX_SOCKETS];
    struct vxlan_priv *priv;
    struct port *port;
    int fd;

    fd = open_socket(node_ip, udp_port, true, err, errlen);
    if (fd < 0) {
        return fd;
    }
    for (int i = 0; i < VXLAN_TX_SOCKETS; i++) {
        tx_fds[i] = open_socket(node_ip, 0, false, err, errlen);
        if (tx_fds[i] < 0) {
            int error = tx_fds[i];

            while (i-- > 0) {
                close(tx_fds[i]);
            }
            close(fd);
            return error;
        }
    }

    priv = xcalloc(1, sizeof *priv);
    priv->udp_port = htons(udp_port);
    priv->mtu = mtu;
    priv->vni = vni;
    priv->remote_csum = remote_csum;
    priv->gso.buf = priv->segments;
    memcpy(priv->tx_fds, tx_fds, sizeof tx_fds);
    priv->header[0] = VXLAN_FLAG_VNI;
    priv->header[4] = vni >> 16;
    priv->header[5] = vni >> 8;
    priv->header[6] = vni;
    for (int i = 0; i < PACKET_BATCH_SIZE; i++) {
        priv->msgs[i].msg_hdr.msg_iov = priv->iov[i];
        priv->msgs[i].msg_hdr.msg_iovlen = 2;
        priv->msgs[i].msg_hdr.msg_name = &priv->addrs[i];
        priv->msgs[i].msg_hdr.msg_namelen = sizeof priv->addrs[i];
    }
    for (int i = 0; i < VXLAN_RX_BUNDLES; i++) {
        struct vxlan_rx *rx = &priv->rx;

        rx->bufs[i] = xmalloc(VXLAN_RX_BUNDLE_SIZE);
        rx->iov[i] = (struct iovec) { rx->bufs[i], VXLAN_RX_BUNDLE_SIZE };
        rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
        rx->msgs[i].msg_hdr.msg_iovlen = 1;
        rx->msgs[i].msg_hdr.msg_name = &rx->from[i];
    }

    port = xcalloc(1, sizeof *port);
    port->class = &port_vxlan_class;
    port->type = DP_PORT_VXLAN;
    port->fd = fd;
    port->ip = node_ip;
    port->up = true;
    port->priv = priv;
    str_copy(port->name, VXLAN_PORT_NAME, sizeof port->name);
    *portp = port;
    return 0;
}

static void vxlan_close(struct port *port, bool remove)
{
    struct vxlan_priv *priv = port->priv;

    if (port->fd >= 0) {
        close(port->fd);
    }
    if (priv) {
        for (int i = 0; i < VXLAN_TX_SOCKETS; i++) {
            close(priv->tx_fds[i]);
        }
        for (int i = 0; i < VXLAN_RX_BUNDLES; i++) {
            free(priv->rx.bufs[i]);
        }
        free(priv);
    }
}

/* Fills rx with what the socket holds.  Returns the number of bundles, 0 if none, or a
 * negative errno. */
static int receive_bundles(struct port *port, struct vxlan_rx *rx)
{
    int n;

    for (int i = 0; i < VXLAN_RX_BUNDLES; i++) {
        struct msghdr *mh = &rx->msgs[i].msg_hdr;

        mh->msg_namelen = sizeof rx->from[i];
        mh->msg_control = rx->control[i];
        mh->msg_controllen = sizeof rx->control[i];
        mh->msg_flags = 0;
    }
    n = recvmmsg(port->fd, rx->msgs, VXLAN_RX_BUNDLES, MSG_DONTWAIT, NULL);
    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    }
    for (int i = 0; i < n; i++) {
        struct msghdr *mh = &rx->msgs[i].msg_hdr;
        struct cmsghdr *cm;

        rx->seg_size[i] = 0;
        for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
            if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
                int size;

                memcpy(&size, CMSG_DATA(cm), sizeof size);
                rx->seg_size[i] = size > 0 && size < VXLAN_RX_BUNDLE_SIZE ? size : 0;
            }
        }
    }
    rx->n_bundles = n;
    rx->bundle = 0;
    rx->offset = 0;
    return n;
}

/* The next datagram of the bundles received, or NULL when all are unpacked. */
static const uint8_t *next_datagram(struct vxlan_rx *rx, size_t *len, be32 *from, bool *trunc)
{
    const struct msghdr *mh;
    const uint8_t *dgram;
    size_t total;

    if (rx->bundle >= rx->n_bundles) {
        return NULL;
    }
    mh = &rx->msgs[rx->bundle].msg_hdr;
    total = rx->msgs[rx->bundle].msg_len;
    dgram = rx->bufs[rx->bundle] + rx->offset;
    *len = rx->seg_size[rx->bundle] ? MIN(rx->seg_size[rx->bundle], total - rx->offset)
                                     : total;
    *from = rx->from[rx->bundle].sin_addr.s_addr;
    *trunc = mh->msg_flags & MSG_TRUNC;
    rx->offset += *len;
    if (rx->offset >= total || *trunc) {
        rx->bundle++;
        rx->offset = 0;
    }
    return dgram;
}

/* The inner frame's checksum start and offset from an RCO header's last byte. */
static size_t rco_start(uint8_t field)
{
    return (size_t) (field & VXLAN_RCO_START_MASK) << 1;
}

static size_t rco_offset(uint8_t field)
{
    return field & VXLAN_RCO_UDP ? offsetof(struct udp_header, csum)
                                 : offsetof(struct tcp_header, csum);
}

/* Why a datagram of 'len' bytes cannot be decapsulated, or 0 if it can. */
static enum drop_reason header_problem(const struct vxlan_priv *priv, const uint8_t *dgram,
                                       size_t len, bool trunc)
{
    if (len < VXLAN_HDR_LEN || trunc || !(dgram[0] & VXLAN_FLAG_VNI)) {
        return DROP_VXLAN_MALFORMED;
    }
    if (((uint32_t) dgram[4] << 16 | dgram[5] << 8 | dgram[6]) != priv->vni) {
        return DROP_VXLAN_BAD_VNI;
    }
    /* A checksum to complete must lie in the frame, past its Ethernet header. */
    if ((dgram[1] & VXLAN_FLAG_RCO)
        && (rco_start(dgram[7]) < ETH_HDR_LEN
            || VXLAN_HDR_LEN + rco_start(dgram[7]) + rco_offset(dgram[7]) + 2 > len)) {
        return DROP_VXLAN_MALFORMED;
    }
    return 0;
}

/* The inner IPv4 TCP or UDP header of a VXLAN frame, when it is whole in the frame: sets the
 * offsets and returns the IPv4 header, or NULL. */
static const struct ip_header *inner_l4(const uint8_t *frame, size_t len, size_t *l4_ofs)
{
    const struct ip_header *ip = (const struct ip_header *) (frame + ETH_HDR_LEN);
    size_t ihl;

    if (len < ETH_HDR_LEN + IP_HDR_LEN + UDP_HDR_LEN
        || memcmp(frame + 12, "\x08\x00", 2) || (ip->ihl_ver >> 4) != 4
        || (ntohs(ip->frag_off) & 0x3fff)
        || (ip->proto != IP_PROTO_TCP && ip->proto != IP_PROTO_UDP)) {
        return NULL;
    }
    ihl = (size_t) (ip->ihl_ver & 0xf) * 4;
    *l4_ofs = ETH_HDR_LEN + ihl;
    if (ihl < IP_HDR_LEN || ntohs(ip->tot_len) + (size_t) ETH_HDR_LEN > len
        || *l4_ofs + (ip->proto == IP_PROTO_TCP ? TCP_HDR_LEN : UDP_HDR_LEN) > len) {
        return NULL;
    }
    return ip;
}

/* True if 'frame' is a TCP GSO frame a kernel sender encapsulated whole: longer than any
 * datagram of the overlay may carry (VXLAN from a kernel tier, ours or Linux's, crosses a veth
 * underlay as one skb, and a socket reads its bytes without its GSO metadata). */
static bool kernel_gso_frame(const struct vxlan_priv *priv, const uint8_t *frame, size_t len)
{
    size_t l4_ofs;
    const struct ip_header *ip = inner_l4(frame, len, &l4_ofs);

    return ip && ip->proto == IP_PROTO_TCP && ntohs(ip->tot_len) > priv->mtu;
}

/* Gives 'pkt' back the offload state a kernel sender's frame had (see kernel_gso_frame()): a
 * GSO frame becomes one again, cut at the overlay's MTU, and a checksum field that holds
 * the pseudo-header sum, which is what a partial checksum holds, is marked partial, as a
 * remote checksum offload would be.  Marking a complete checksum that happens to equal its
 * pseudo-header sum is harmless: completing it gives the same value. */
static void kernel_offloads(const struct vxlan_priv *priv, struct packet *pkt)
{
    size_t l4_ofs, csum_ofs, l4_len;
    const struct ip_header *ip = inner_l4(pkt->data, pkt->len, &l4_ofs);
    uint16_t field, pseudo;

    if (!ip || pkt->vnet.flags) {
        return;
    }
    csum_ofs = ip->proto == IP_PROTO_TCP ? offsetof(struct tcp_header, csum)
                                         : offsetof(struct udp_header, csum);
    l4_len = ntohs(ip->tot_len) - (l4_ofs - ETH_HDR_LEN);
    memcpy(&field, pkt->data + l4_ofs + csum_ofs, 2);
    if (kernel_gso_frame(priv, pkt->data, pkt->len)) {
        const struct tcp_header *tcp = (const struct tcp_header *) (pkt->data + l4_ofs);
        size_t hdr_len = l4_ofs + (tcp->doff_res >> 4) * 4;

        pkt->vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
        pkt->vnet.hdr_len = hdr_len;
        pkt->vnet.gso_size = priv->mtu - (hdr_len - ETH_HDR_LEN);
    } else {
        pseudo = ~csum_finish(csum_pseudo_header(ip->src, ip->dst, ip->proto, l4_len));
        if (field != pseudo) {
            return;
        }
    }
    pkt->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    pkt->vnet.csum_start = l4_ofs;
    pkt->vnet.csum_offset = csum_ofs;
}

static int vxlan_recv(struct port *port, struct packet *pkts[], int max)
{
    struct vxlan_priv *priv = port->priv;
    struct vxlan_rx *rx = &priv->rx;
    int receives = 0, last_received = VXLAN_RX_BUNDLES;
    struct gro_table gro;
    int n = 0;

    gro_init(&gro);
    while (n < max) {
        const uint8_t *dgram;
        struct packet *pkt;
        size_t len;
        enum drop_reason reason;
        be32 from;
        bool trunc, giant;
        int error;

        dgram = next_datagram(rx, &len, &from, &trunc);
        if (!dgram) {
            /* A few times per call, so that one busy socket cannot hold the thread, and
             * not again once the socket was found empty. */
            if (receives++ == VXLAN_RX_CALLS || last_received < VXLAN_RX_BUNDLES) {
                break;
            }
            error = receive_bundles(port, rx);
            if (error <= 0) {
                if (error < 0 && !n) {
                    return error;
                }
                break;
            }
            last_received = error;
            continue;
        }
        reason = header_problem(priv, dgram, len, trunc);
        giant = !reason && kernel_gso_frame(priv, dgram + VXLAN_HDR_LEN, len - VXLAN_HDR_LEN);
        if (!reason && !giant
            && gro_absorb(&gro, dgram + VXLAN_HDR_LEN, len - VXLAN_HDR_LEN, from)) {
            continue;
        }
        pkt = pkts[n++];
        packet_reset(pkt);
        pkt->tun_src = from;
        pkt->drop_reason = reason;
        if (len > VXLAN_HDR_LEN) {
            pkt->len = len - VXLAN_HDR_LEN;
            memcpy(pkt->data, dgram + VXLAN_HDR_LEN, pkt->len);
        }
        if (!pkt->drop_reason) {
            if (dgram[1] & VXLAN_FLAG_RCO) {
                pkt->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
                pkt->vnet.csum_start = rco_start(dgram[7]);
                pkt->vnet.csum_offset = rco_offset(dgram[7]);
            }
            kernel_offloads(priv, pkt);
            if (!giant) {
                gro_open(&gro, pkt);
            }
        }
    }
    gro_flush(&gro);
    port->rx_pending = rx->bundle < rx->n_bundles;
    return n;
}

/* Writes into 'header' the VXLAN header for 'pkt': the template, with the RCO fields if
 * 'pkt' has a partial TCP or UDP checksum this port may leave to the receiver (for a GSO
 * frame, 'pkt' says where its segments' checksums are).  Returns true if it has them. */
static bool remote_csum_header(const struct vxlan_priv *priv, const struct packet *pkt,
                               uint8_t header[VXLAN_HDR_LEN])
{
    size_t start = pkt->vnet.csum_start, offset = pkt->vnet.csum_offset;
    bool udp = offset == offsetof(struct udp_header, csum);

    memcpy(header, priv->header, VXLAN_HDR_LEN);
    if (!priv->remote_csum || !(pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
        || !pkt->l4_valid || start != pkt->l4_ofs || (start & 1)
        || start > 2 * VXLAN_RCO_START_MASK
        || (!udp && offset != offsetof(struct tcp_header, csum))
        || packet_l3(pkt)[9] != (udp ? IP_PROTO_UDP : IP_PROTO_TCP)) {
        return false;
    }
    header[1] |= VXLAN_FLAG_RCO;
    header[7] = start >> 1 | (udp ? VXLAN_RCO_UDP : 0);
    return true;
}

/* One sendmsg per up to GSO_MAX_SEGMENTS segments, cut by the kernel at every 'unit'. */
static void send_segmented(struct port *port, int fd, struct packet *pkt,
                           struct sockaddr_in *to)
{
    struct vxlan_priv *priv = port->priv;
    struct gso_batch *gso = &priv->gso;
    char control[CMSG_SPACE(sizeof(uint16_t))];
    uint8_t header[VXLAN_HDR_LEN];
    struct gso_target target = {
        .prefix = header, .prefix_len = VXLAN_HDR_LEN, .max_l3_len = priv->mtu,
        .max_bytes = VXLAN_GSO_MAX_SEND,
        .partial_csum = remote_csum_header(priv, pkt, header),
    };
    size_t payload_done = 0;

    for (;;) {
        struct iovec iov = { gso->buf, 0 };
        struct msghdr msg = { .msg_name = to, .msg_namelen = sizeof *to, .msg_iov = &iov,
                              .msg_iovlen = 1 };
        long next = gso_segment(pkt, &target, payload_done, gso);

        if (next < 0) {
            pkt->out_port = 0;
            pkt->drop_reason = next == -EPROTONOSUPPORT ? DROP_GSO_UNSUPPORTED
                               : next == -EMSGSIZE      ? DROP_TOO_BIG
                                                        : DROP_BAD_VNET_HDR;
            return;
        }
        if (!gso->n_segments) {
            if (!payload_done) {
                /* A GSO frame without payload: nothing a pod's kernel sends. */
                pkt->out_port = 0;
                pkt->drop_reason = DROP_BAD_VNET_HDR;
            }
            return;
        }
        iov.iov_len = gso->total;
        if (gso->n_segments > 1) {
            struct cmsghdr *cm;
            uint16_t unit = gso->unit;

            memset(control, 0, sizeof control);
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            cm = CMSG_FIRSTHDR(&msg);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof unit);
            memcpy(CMSG_DATA(cm), &unit, sizeof unit);
        }
        if (sendmsg(fd, &msg, MSG_DONTWAIT) < 0) {
            port_tx_failed(pkt, errno);
            return;
        }
        payload_done = next;
    }
}

/* The socket for 'pkt': one per inner flow (addresses and, for TCP and UDP, ports), so a
 * flow keeps its source port and its order. */
static int tx_fd_of(const struct vxlan_priv *priv, const struct packet *pkt)
{
    const uint8_t *l3 = packet_l3(pkt);
    uint32_t words[3] = { 0 }, hash;

    if (pkt->l3_ofs && pkt->l3_ofs + (size_t) IP_HDR_LEN <= pkt->len) {
        memcpy(words, l3 + 12, 8);
        if (pkt->l4_valid && (l3[9] == IP_PROTO_TCP || l3[9] == IP_PROTO_UDP)) {
            memcpy(&words[2], packet_l4(pkt), 4);
        }
    }
    hash = (words[0] ^ words[1] ^ words[2]) * 0x9e3779b1u;
    return priv->tx_fds[(uint64_t) hash * VXLAN_TX_SOCKETS >> 32];
}

static int vxlan_send(struct port *port, struct packet *pkts[], int n)
{
    struct vxlan_priv *priv = port->priv;
    struct packet *batch[PACKET_BATCH_SIZE];
    int n_batch = 0, sent = 0, batch_fd = -1;

    for (int i = 0; i < n; i++) {
        struct packet *pkt = pkts[i];
        bool gso = pkt->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE;
        int fd = tx_fd_of(priv, pkt);
        struct sockaddr_in *to;

        /* What is queued goes first, so that no flow is reordered. */
        if (n_batch && (fd != batch_fd || gso)) {
            sent += port_sendmmsg(batch_fd, priv->msgs, batch, n_batch);
            n_batch = 0;
        }
        to = &priv->addrs[n_batch];
        *to = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = priv->udp_port,
                                     .sin_addr.s_addr = pkt->tun_dst };
        if (gso) {
            send_segmented(port, fd, pkt, to);
            sent += pkt->out_port != 0;
            continue;
        }
        if (!remote_csum_header(priv, pkt, priv->headers[n_batch])) {
            gso_complete_csum(pkt);
        }
        priv->iov[n_batch][0] = (struct iovec) { priv->headers[n_batch], VXLAN_HDR_LEN };
        priv->iov[n_batch][1] = (struct iovec) { pkt->data, pkt->len };
        priv->msgs[n_batch].msg_hdr.msg_namelen = sizeof *to;
        priv->msgs[n_batch].msg_hdr.msg_flags = 0;
        batch[n_batch++] = pkt;
        batch_fd = fd;
    }
    if (n_batch) {
        sent += port_sendmmsg(batch_fd, priv->msgs, batch, n_batch);
    }
    return sent;
}

const struct port_class port_vxlan_class = {
    .type = DP_PORT_VXLAN,
    .open = vxlan_open,
    .close = vxlan_close,
    .recv = vxlan_recv,
    .send = vxlan_send,
};
