/* Ports: the names of the port types, dispatch to the class of each type (port-provider.h),
 * and the interface helpers the port classes share.  See port.h. */
#include "dp/port.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dp/drop.h"
#include "dp/port-provider.h"
#include "lib/util.h"

static const char *const port_type_names[] = {
    [DP_PORT_VETH] = "veth",
    [DP_PORT_TAP] = "tap",
    [DP_PORT_HOST] = "host",
    [DP_PORT_DUMMY] = "dummy",
    [DP_PORT_VXLAN] = "vxlan",
};

const char *dp_port_type_name(enum dp_port_type type)
{
    return (unsigned) type < ARRAY_SIZE(port_type_names) ? port_type_names[type] : "unknown";
}

int dp_port_type_from_name(const char *name, enum dp_port_type *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(port_type_names); i++) {
        if (!strcmp(name, port_type_names[i])) {
            *type = i;
            return 0;
        }
    }
    return -EINVAL;
}

static const struct port_class *class_for(enum dp_port_type type)
{
    switch (type) {
    case DP_PORT_VETH:
        return &port_veth_class;
    case DP_PORT_TAP:
    case DP_PORT_HOST:
        return &port_tap_class;
    case DP_PORT_DUMMY:
        return &port_dummy_class;
    case DP_PORT_VXLAN:
        return &port_vxlan_class;
    }
    return NULL;
}

int port_open(enum dp_port_type type, const char *name, bool create, int sock_filter,
              struct port **portp, char *err, size_t errlen)
{
    const struct port_class *class = class_for(type);
    struct port *port;
    int error;

    if (!class) {
        snprintf(err, errlen, "unknown port type %d", (int) type);
        return -EINVAL;
    }
    if (!name[0] || strlen(name) >= IF_NAMESIZE || strchr(name, '/')) {
        snprintf(err, errlen, "invalid interface name \"%s\" (1 to %d characters, no '/')",
                 name, IF_NAMESIZE - 1);
        return -EINVAL;
    }
    port = xcalloc(1, sizeof *port);
    port->class = class;
    port->type = type;
    port->fd = -1;
    port->sock_filter = sock_filter;
    str_copy(port->name, name, sizeof port->name);
    error = class->open(port, create, err, errlen);
    if (error) {
        free(port);
        return error;
    }
    port->up = true;
    *portp = port;
    return 0;
}

struct port *port_new_down(enum dp_port_type type, const char *name)
{
    struct port *port = xcalloc(1, sizeof *port);

    port->class = class_for(type);
    port->type = type;
    port->fd = -1;
    port->sock_filter = -1;
    str_copy(port->name, name, sizeof port->name);
    return port;
}

void port_close(struct port *port, bool remove)
{
    if (port) {
        port->class->close(port, remove);
        free(port);
    }
}

int port_recv(struct port *port, struct packet *pkts[], int max)
{
    return port->class->recv(port, pkts, max);
}

int port_send(struct port *port, struct packet *pkts[], int n)
{
    return port->class->send(port, pkts, n);
}

void port_tx_failed(struct packet *pkt, int error)
{
    pkt->drop_reason = error == EAGAIN || error == ENOBUFS ? DROP_TX_FULL : DROP_TX_ERROR;
    pkt->out_port = 0;
}

int port_sendmmsg(int fd, struct mmsghdr *msgs, struct packet *pkts[], int n)
{
    int done = 0, sent = 0;

    while (done < n) {
        int r = sendmmsg(fd, msgs + done, n - done, MSG_DONTWAIT);

        if (r > 0) {
            done += r;
            sent += r;
        } else if (errno != EINTR) {
            port_tx_failed(pkts[done++], errno);
        }
    }
    return sent;
}

static int netdev_ioctl(unsigned long request, struct ifreq *ifr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int error = 0;

    if (fd < 0) {
        return -errno;
    }
    if (ioctl(fd, request, ifr) < 0) {
        error = -errno;
    }
    close(fd);
    return error;
}

int port_netdev_up(const char *name, bool noarp, char *err, size_t errlen)
{
    struct ifreq ifr;
    int error;

    memset(&ifr, 0, sizeof ifr);
    str_copy(ifr.ifr_name, name, sizeof ifr.ifr_name);
    error = netdev_ioctl(SIOCGIFFLAGS, &ifr);
    if (!error) {
        ifr.ifr_flags |= IFF_UP | (noarp ? IFF_NOARP : 0);
        error = netdev_ioctl(SIOCSIFFLAGS, &ifr);
    }
    if (error) {
        snprintf(err, errlen, "cannot bring %s up: %s", name, strerror(-error));
    }
    return error;
}

int port_netdev_get_mac(const char *name, struct eth_addr *mac)
{
    struct ifreq ifr;
    int error;

    memset(&ifr, 0, sizeof ifr);
    str_copy(ifr.ifr_name, name, sizeof ifr.ifr_name);
    error = netdev_ioctl(SIOCGIFHWADDR, &ifr);
    if (!error) {
        memcpy(mac->a, ifr.ifr_hwaddr.sa_data, ETH_ADDR_LEN);
    }
    return error;
}
