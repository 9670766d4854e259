/* veth ports: the host end of a pod's veth pair, read and written through an AF_PACKET socket
 * with PACKET_VNET_HDR.
 *
 * The virtio-net header is what lets 64 KiB GSO frames and partially checksummed packets cross
 * the switch as the pod's kernel sent them: the kernel hands us the GSO metadata on rx and
 * rebuilds the GSO skb from it on tx, so the pod keeps its default offloads (Open vSwitch's
 * AF_PACKET path without it needs `ethtool -K eth0 tx off` in every pod).  Batches go through
 * recvmmsg/sendmmsg, one system call per batch. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp/port-provider.h"
#include "lib/util.h"

/* Large socket buffers absorb a burst of GSO frames while the datapath is busy elsewhere;
 * each 64 KiB frame costs about 70 KiB of buffer. */
#define VETH_RCVBUF (8 << 20)
#define VETH_SNDBUF (4 << 20)

struct veth_priv {
    struct mmsghdr msgs[PACKET_BATCH_SIZE];
    struct iovec iov[PACKET_BATCH_SIZE][2];
};

/* The node's own stack must not talk IPv6 on a pod's link (router solicitations, MLD): the
 * switch would only count and drop it. */
static void disable_ipv6(const char *name)
{
    char path[128];
    int fd;

    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "1", 1) < 0) {
            /* IPv6 disabled system-wide or not built: nothing to do. */
        }
        close(fd);
    }
}

static int veth_open(struct port *port, bool create, char *err, size_t errlen)
{
    struct sockaddr_ll sll;
    struct veth_priv *priv;
    int one = 1, rcvbuf = VETH_RCVBUF, sndbuf = VETH_SNDBUF;
    int ifindex, fd, error;

    ifindex = if_nametoindex(port->name);
    if (!ifindex) {
        snprintf(err, errlen, "no interface named %s in vswitchd's network namespace",
                 port->name);
        return -ENODEV;
    }
    /* Protocol 0: nothing is queued until bind() picks the interface, so no frame of another
     * interface can slip in between socket() and bind(). */
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = -errno;
        snprintf(err, errlen, "AF_PACKET socket for %s: %s", port->name, strerror(errno));
        return error;
    }
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0
        || setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
        error = -errno;
        snprintf(err, errlen, "%s: PACKET_VNET_HDR/PACKET_IGNORE_OUTGOING: %s", port->name,
                 strerror(errno));
        goto err_close;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    /* Up before bind: binding to a down interface leaves an ENETDOWN pending. */
    error = port_netdev_up(port->name, true, err, errlen);
    if (error) {
        goto err_close;
    }
    disable_ipv6(port->name);
    if (port->sock_filter >= 0
        && setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &port->sock_filter,
                      sizeof port->sock_filter) < 0) {
        error = -errno;
        snprintf(err, errlen, "%s: SO_ATTACH_BPF: %s", port->name, strerror(errno));
        goto err_close;
    }
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *) &sll, sizeof sll) < 0) {
        error = -errno;
        snprintf(err, errlen, "bind AF_PACKET to %s: %s", port->name, strerror(errno));
        goto err_close;
    }

    priv = xcalloc(1, sizeof *priv);
    for (int i = 0; i < PACKET_BATCH_SIZE; i++) {
        priv->msgs[i].msg_hdr.msg_iov = priv->iov[i];
        priv->msgs[i].msg_hdr.msg_iovlen = 2;
    }
    port->priv = priv;
    port->fd = fd;
    port->ifindex = ifindex;
    return 0;

err_close:
    close(fd);
    return error;
}

static void veth_close(struct port *port, bool remove)
{
    if (port->fd >= 0) {
        close(port->fd);
    }
    free(port->priv);
}

static int veth_recv(struct port *port, struct packet *pkts[], int max)
{
    struct veth_priv *priv = port->priv;
    int n, good = 0;

    for (int i = 0; i < max; i++) {
        packet_reset(pkts[i]);
        priv->iov[i][0] = (struct iovec) { &pkts[i]->vnet, sizeof pkts[i]->vnet };
        priv->iov[i][1] = (struct iovec) { pkts[i]->data, PACKET_MAX_FRAME };
        priv->msgs[i].msg_hdr.msg_flags = 0;
    }
    n = recvmmsg(port->fd, priv->msgs, max, MSG_DONTWAIT, NULL);
    if (n < 0) {
        char name[IF_NAMESIZE];

        if (errno == EAGAIN || errno == EINTR) {
            return 0;
        }
        /* The kernel reports a link going down (or having been down at bind) once, as a
         * socket error; only an interface that is gone makes the port go down. */
        if (errno == ENETDOWN && if_indextoname(port->ifindex, name)) {
            return 0;
        }
        return errno == ENETDOWN ? -ENODEV : -errno;
    }
    for (int i = 0; i < n; i++) {
        struct mmsghdr *m = &priv->msgs[i];

        /* A frame larger than a buffer, or one without its header, cannot be forwarded
         * faithfully: count it where the caller counts runts. */
        if (m->msg_len < sizeof pkts[i]->vnet || (m->msg_hdr.msg_flags & MSG_TRUNC)) {
            port->stats.rx_dropped++;
            continue;
        }
        if (good != i) {
            struct packet *tmp = pkts[good];

            pkts[good] = pkts[i];
            pkts[i] = tmp;
        }
        pkts[good++]->len = m->msg_len - sizeof pkts[i]->vnet;
    }
    return good;
}

static int veth_send(struct port *port, struct packet *pkts[], int n)
{
    struct veth_priv *priv = port->priv;

    for (int i = 0; i < n; i++) {
        priv->iov[i][0] = (struct iovec) { &pkts[i]->vnet, sizeof pkts[i]->vnet };
        priv->iov[i][1] = (struct iovec) { pkts[i]->data, pkts[i]->len };
        priv->msgs[i].msg_hdr.msg_flags = 0;
    }
    return port_sendmmsg(port->fd, priv->msgs, pkts, n);
}

const struct port_class port_veth_class = {
    .type = DP_PORT_VETH,
    .open = veth_open,
    .close = veth_close,
    .recv = veth_recv,
    .send = veth_send,
};
