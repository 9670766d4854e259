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

#include "dp/drop.h"
#include "dp/gso.h"
#include "dp/overlay.h"
#include "dp/port-provider.h"
#include "lib/addr.h"
#include "lib/util.h"

#define VXLAN_SOCKBUF (8 << 20)
/* One UDP_SEGMENT send: 64 segments of at most a jumbo-sized unit... */
#define VXLAN_GSO_BUF (GSO_MAX_SEGMENTS * 9216)
/* ...but no more than one UDP datagram may carry (65535 less the IPv4 and UDP headers): the
 * kernel refuses a larger UDP_SEGMENT send with EMSGSIZE. */
#define VXLAN_GSO_MAX_SEND (65535 - 20 - 8)

struct vxlan_priv {
    uint16_t udp_port;                          /* Network order. */
    uint8_t header[VXLAN_HDR_LEN];              /* The template every frame gets. */
    uint32_t vni;
    struct mmsghdr msgs[PACKET_BATCH_SIZE];
    struct iovec iov[PACKET_BATCH_SIZE][2];
    struct sockaddr_in addrs[PACKET_BATCH_SIZE];
    uint8_t rx_headers[PACKET_BATCH_SIZE][VXLAN_HDR_LEN];
    uint8_t *gso_buf;
};

static int vxlan_open(struct port *port, bool create, char *err, size_t errlen)
{
    snprintf(err, errlen, "the VXLAN port is created by the datapath (--node-ip)");
    return -EINVAL;
}

int port_vxlan_open(be32 node_ip, uint16_t udp_port, uint32_t vni, struct port **portp,
                    char *err, size_t errlen)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(udp_port),
                               .sin_addr.s_addr = node_ip };
    int bufsize = VXLAN_SOCKBUF;
    char ip[IP_STR_LEN];
    struct vxlan_priv *priv;
    struct port *port;
    int fd, error;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = -errno;
        snprintf(err, errlen, "VXLAN socket: %s", strerror(errno));
        return error;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof bufsize) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    }
    if (bind(fd, (struct sockaddr *) &sin, sizeof sin) < 0) {
        error = -errno;
        snprintf(err, errlen, "cannot bind the VXLAN socket to %s:%u: %s%s",
                 addr_ip_str(node_ip, ip), udp_port, strerror(errno),
                 errno == EADDRNOTAVAIL ? " (is --node-ip an address of this node?)" : "");
        close(fd);
        return error;
    }

    priv = xcalloc(1, sizeof *priv);
    priv->udp_port = htons(udp_port);
    priv->vni = vni;
    priv->header[0] = VXLAN_FLAG_VNI;
    priv->header[4] = vni >> 16;
    priv->header[5] = vni >> 8;
    priv->header[6] = vni;
    priv->gso_buf = xmalloc(VXLAN_GSO_BUF);
    for (int i = 0; i < PACKET_BATCH_SIZE; i++) {
        priv->msgs[i].msg_hdr.msg_iov = priv->iov[i];
        priv->msgs[i].msg_hdr.msg_iovlen = 2;
        priv->msgs[i].msg_hdr.msg_name = &priv->addrs[i];
        priv->msgs[i].msg_hdr.msg_namelen = sizeof priv->addrs[i];
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
        free(priv->gso_buf);
        free(priv);
    }
}

static int vxlan_recv(struct port *port, struct packet *pkts[], int max)
{
    struct vxlan_priv *priv = port->priv;
    int n;

    for (int i = 0; i < max; i++) {
        packet_reset(pkts[i]);
        priv->iov[i][0] = (struct iovec) { priv->rx_headers[i], VXLAN_HDR_LEN };
        priv->iov[i][1] = (struct iovec) { pkts[i]->data, PACKET_MAX_FRAME };
        priv->msgs[i].msg_hdr.msg_namelen = sizeof priv->addrs[i];
        priv->msgs[i].msg_hdr.msg_flags = 0;
    }
    n = recvmmsg(port->fd, priv->msgs, max, MSG_DONTWAIT, NULL);
    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    }
    for (int i = 0; i < n; i++) {
        const uint8_t *h = priv->rx_headers[i];
        uint32_t len = priv->msgs[i].msg_len;

        pkts[i]->tun_src = priv->addrs[i].sin_addr.s_addr;
        pkts[i]->len = len > VXLAN_HDR_LEN ? len - VXLAN_HDR_LEN : 0;
        if (len < VXLAN_HDR_LEN || !(h[0] & VXLAN_FLAG_VNI)
            || (priv->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
            pkts[i]->drop_reason = DROP_VXLAN_MALFORMED;
        } else if (((uint32_t) h[4] << 16 | h[5] << 8 | h[6]) != priv->vni) {
            pkts[i]->drop_reason = DROP_VXLAN_BAD_VNI;
        }
    }
    return n;
}

static void fail(struct packet *pkt, int error)
{
    pkt->out_port = 0;
    pkt->drop_reason = error == -EAGAIN || error == -ENOBUFS ? DROP_TX_FULL : DROP_TX_ERROR;
}

/* One sendmsg per up to GSO_MAX_SEGMENTS segments, cut by the kernel at every 'unit'. */
static void send_segmented(struct port *port, struct packet *pkt, struct sockaddr_in *to)
{
    struct vxlan_priv *priv = port->priv;
    char control[CMSG_SPACE(sizeof(uint16_t))];
    size_t payload_done = 0;

    for (;;) {
        struct gso_result res;
        struct iovec iov;
        struct msghdr msg = { .msg_name = to, .msg_namelen = sizeof *to,
                              .msg_iov = &iov, .msg_iovlen = 1 };
        long next = gso_segment(pkt, priv->header, VXLAN_HDR_LEN, payload_done,
                                GSO_MAX_SEGMENTS, priv->gso_buf,
                                MIN(VXLAN_GSO_BUF, VXLAN_GSO_MAX_SEND), &res);

        if (next < 0) {
            pkt->out_port = 0;
            pkt->drop_reason = next == -EPROTONOSUPPORT ? DROP_GSO_UNSUPPORTED
                                                        : DROP_BAD_VNET_HDR;
            return;
        }
        if (!res.n_segments) {
            if (!payload_done) {
                /* Not even one segment fits a UDP datagram: a gso_size no MTU allows. */
                pkt->out_port = 0;
                pkt->drop_reason = DROP_TOO_BIG;
            }
            return;
        }
        iov = (struct iovec) { priv->gso_buf, res.total };
        if (res.n_segments > 1) {
            struct cmsghdr *cm;
            uint16_t unit = res.unit;

            memset(control, 0, sizeof control);
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            cm = CMSG_FIRSTHDR(&msg);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof unit);
            memcpy(CMSG_DATA(cm), &unit, sizeof unit);
        }
        if (sendmsg(port->fd, &msg, MSG_DONTWAIT) < 0) {
            fail(pkt, -errno);
            return;
        }
        payload_done = next;
    }
}

static int vxlan_send(struct port *port, struct packet *pkts[], int n)
{
    struct vxlan_priv *priv = port->priv;
    struct packet *batch[PACKET_BATCH_SIZE];
    int n_batch = 0, sent = 0;

    for (int i = 0; i < n; i++) {
        struct packet *pkt = pkts[i];
        struct sockaddr_in *to = &priv->addrs[n_batch];

        *to = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = priv->udp_port,
                                     .sin_addr.s_addr = pkt->tun_dst };
        if (pkt->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
            send_segmented(port, pkt, to);
            sent += pkt->out_port != 0;
            continue;
        }
        gso_complete_csum(pkt);
        priv->iov[n_batch][0] = (struct iovec) { priv->header, VXLAN_HDR_LEN };
        priv->iov[n_batch][1] = (struct iovec) { pkt->data, pkt->len };
        priv->msgs[n_batch].msg_hdr.msg_namelen = sizeof *to;
        priv->msgs[n_batch].msg_hdr.msg_flags = 0;
        batch[n_batch++] = pkt;
    }
    if (n_batch) {
        sent += port_sendmmsg(port->fd, priv->msgs, batch, n_batch);
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
