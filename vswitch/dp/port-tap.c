/* TAP ports: a pod or VM interface that the switch creates, and the host port vsw0 through
 * which the node reaches its pods.
 *
 * Opened with IFF_VNET_HDR and TUNSETOFFLOAD so the kernel hands over GSO frames with partial
 * checksums instead of segmenting them for us.  TAPs are made persistent: a restarted switch
 * finds its ports (and the node its vsw0 address) where they were. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dp/port-provider.h"
#include "lib/util.h"

static int tap_open(struct port *port, bool create, char *err, size_t errlen)
{
    unsigned int offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    int hdr_len = sizeof(struct virtio_net_hdr);
    bool exists = if_nametoindex(port->name) != 0;
    struct ifreq ifr;
    int fd, error;

    if (!exists && !create) {
        snprintf(err, errlen, "no TAP named %s in vswitchd's network namespace", port->name);
        return -ENODEV;
    }
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        error = -errno;
        snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
        return error;
    }
    memset(&ifr, 0, sizeof ifr);
    str_copy(ifr.ifr_name, port->name, sizeof ifr.ifr_name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        error = -errno;
        snprintf(err, errlen, "%s %s: %s%s", exists ? "attach to TAP" : "create TAP",
                 port->name, strerror(errno),
                 exists && errno == EINVAL ? " (an interface of that name that is not a TAP "
                                             "with a virtio-net header?)" :
                 errno == EBUSY ? " (another process holds it)" : "");
        goto err_close;
    }
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0 || ioctl(fd, TUNSETOFFLOAD, offloads) < 0
        || ioctl(fd, TUNSETPERSIST, 1) < 0) {
        error = -errno;
        snprintf(err, errlen, "configure TAP %s: %s", port->name, strerror(errno));
        goto err_close;
    }
    port->fd = fd;
    port->ifindex = if_nametoindex(port->name);
    port->created = true;
    if (port_netdev_get_mac(port->name, &port->mac) == 0) {
        port->mac_known = true;
    }
    error = port_netdev_up(port->name, false, err, errlen);
    if (error) {
        port->fd = -1;
        goto err_close;
    }
    return 0;

err_close:
    if (!exists) {
        ioctl(fd, TUNSETPERSIST, 0);
    }
    close(fd);
    return error;
}

static void tap_close(struct port *port, bool remove)
{
    if (port->fd >= 0) {
        if (remove) {
            /* Without the persist flag the device goes away with its last descriptor. */
            ioctl(port->fd, TUNSETPERSIST, 0);
        }
        close(port->fd);
    }
}

static int tap_recv(struct port *port, struct packet *pkts[], int max)
{
    int n = 0;

    while (n < max) {
        struct packet *pkt = pkts[n];
        struct iovec iov[2];
        ssize_t r;

        packet_reset(pkt);
        iov[0] = (struct iovec) { &pkt->vnet, sizeof pkt->vnet };
        iov[1] = (struct iovec) { pkt->data, PACKET_MAX_FRAME };
        r = readv(port->fd, iov, 2);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || n > 0) {
                break;
            }
            return -errno;
        }
        if ((size_t) r < sizeof pkt->vnet) {
            port->stats.rx_dropped++;
            continue;
        }
        pkt->len = r - sizeof pkt->vnet;
        n++;
    }
    return n;
}

static int tap_send(struct port *port, struct packet *pkts[], int n)
{
    int sent = 0;

    for (int i = 0; i < n; i++) {
        struct iovec iov[2] = {
            { &pkts[i]->vnet, sizeof pkts[i]->vnet },
            { pkts[i]->data, pkts[i]->len },
        };

        if (writev(port->fd, iov, 2) < 0) {
            port_tx_failed(pkts[i], errno);
        } else {
            sent++;
        }
    }
    return sent;
}

const struct port_class port_tap_class = {
    .type = DP_PORT_TAP,
    .open = tap_open,
    .close = tap_close,
    .recv = tap_recv,
    .send = tap_send,
};
