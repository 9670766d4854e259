/* The control API of the ports (dp.h): add, delete and list ports, and the tests' inject and
 * take on dummy ports.
 *
 * Each call marshals its arguments into a struct, runs a *_cmd function on the datapath
 * thread through dp_call() (dp.c) between two batches, and reads the result back.  Device
 * work (opening a port, setting a TAP's MAC) is done here, on the calling thread; only the
 * table change runs on the datapath thread.  Control thread. */
#define LOG_MODULE "dp"

#include "dp/dp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dp/dp-offload.h"
#include "dp/dp-thread.h"
#include "dp/port-dummy.h"
#include "lib/log.h"
#include "lib/util.h"

struct find_args {
    const char *name;
    be32 ip;
    const struct eth_addr *mac;
    const char *conflict;
};

static void find_conflict(struct dp *dp, void *args_)
{
    struct find_args *args = args_;
    struct port *by_ip;

    args->conflict = NULL;
    if (port_table_by_name(&dp->ports, args->name)) {
        args->conflict = "name";
    } else if ((by_ip = port_table_by_ip(&dp->ports, args->ip)) != NULL) {
        args->conflict = "ip";
    } else if (args->mac && port_table_by_mac(&dp->ports, *args->mac)) {
        args->conflict = "mac";
    }
}

struct attach_args {
    struct port *port;
    int error;
};

static void attach_cmd(struct dp *dp, void *args_)
{
    struct attach_args *args = args_;

    args->error = dp_attach_port(dp, args->port);
}

static int set_device_mac(const char *name, struct eth_addr mac)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int error = 0;

    if (fd < 0) {
        return -errno;
    }
    memset(&ifr, 0, sizeof ifr);
    str_copy(ifr.ifr_name, name, sizeof ifr.ifr_name);
    ifr.ifr_hwaddr.sa_family = 1;   /* ARPHRD_ETHER */
    memcpy(ifr.ifr_hwaddr.sa_data, mac.a, ETH_ADDR_LEN);
    if (ioctl(fd, SIOCSIFHWADDR, &ifr) < 0) {
        error = -errno;
    }
    close(fd);
    return error;
}

int dp_port_add(struct dp *dp, const char *name, enum dp_port_type type, be32 ip,
                const struct eth_addr *mac, bool allow_down, char *err, size_t errlen)
{
    struct find_args find = { .name = name, .ip = ip, .mac = mac };
    struct attach_args attach;
    char ipstr[IP_STR_LEN];
    struct port *port;
    int filter, error;

    if (type == DP_PORT_HOST || type == DP_PORT_VXLAN) {
        snprintf(err, errlen, "the %s port is created by vswitchd itself",
                 dp_port_type_name(type));
        return -EINVAL;
    }
    if (mac && (eth_addr_is_multicast(*mac) || eth_addr_is_zero(*mac))) {
        snprintf(err, errlen, "MAC must be a unicast address");
        return -EINVAL;
    }
    dp_call(dp, find_conflict, &find);
    if (find.conflict) {
        snprintf(err, errlen, "%s already in use by another port (%s)",
                 !strcmp(find.conflict, "name") ? name :
                 !strcmp(find.conflict, "ip") ? addr_ip_str(ip, ipstr) : "MAC",
                 find.conflict);
        return -EEXIST;
    }

    filter = dp_offload_port_prepare(dp, type, name);
    error = port_open(type, name, !allow_down, filter, &port, err, errlen);
    if (error) {
        dp_offload_port_release(dp, type, name);
        if (!allow_down) {
            return error;
        }
        LOG_WARN("port %s is down: %s", name, err);
        port = port_new_down(type, name);
    }
    port->ip = ip;
    port->fast = port->up && filter >= 0;
    if (mac) {
        if (type == DP_PORT_TAP && port->up && !eth_addr_equals(port->mac, *mac)) {
            /* The TAP's kernel side is the pod's interface: give it the MAC asked for. */
            error = set_device_mac(name, *mac);
            if (error) {
                snprintf(err, errlen, "set MAC of %s: %s", name, strerror(-error));
                port_close(port, !allow_down);
                dp_offload_port_release(dp, type, name);
                return error;
            }
        }
        port->mac = *mac;
        port->mac_known = true;
    } else if (type != DP_PORT_TAP) {
        port->mac_known = false;
    }

    attach.port = port;
    dp_call(dp, attach_cmd, &attach);
    if (attach.error) {
        snprintf(err, errlen, "attach %s: %s", name, strerror(-attach.error));
        port_close(port, !allow_down);
        dp_offload_port_release(dp, type, name);
        return attach.error;
    }
    LOG_INFO("port %s (%s) attached as %u with IP %s%s", name, dp_port_type_name(type),
             port->port_no, addr_ip_str(ip, ipstr), port->up ? "" : ", down");
    return 0;
}

struct detach_args {
    const char *name;
    struct port *port;
};

static void detach_cmd(struct dp *dp, void *args_)
{
    struct detach_args *args = args_;
    struct port *port = port_table_by_name(&dp->ports, args->name);

    if (!port || !port_is_pod(port)) {
        args->port = NULL;
        return;
    }
    dp_detach_port(dp, port);
    args->port = port;
}

int dp_port_del(struct dp *dp, const char *name)
{
    struct detach_args args = { .name = name };

    dp_call(dp, detach_cmd, &args);
    if (!args.port) {
        return -ENOENT;
    }
    {
        enum dp_port_type type = args.port->type;

        port_close(args.port, true);
        /* Its kernel flows went with the cache flush of dp_detach_port(). */
        dp_offload_port_release(dp, type, name);
    }
    LOG_INFO("port %s detached", name);
    return 0;
}

struct list_args {
    struct dp_port_info *ports;
    size_t n;
};

static void fill_info(const struct port *port, struct dp_port_info *info)
{
    memset(info, 0, sizeof *info);
    str_copy(info->name, port->name, sizeof info->name);
    info->port_no = port->port_no;
    info->type = port->type;
    info->ip = port->ip;
    info->mac = port->mac_known ? port->mac : (struct eth_addr) { { 0 } };
    info->mac_learned = port->mac_learned;
    info->up = port->up;
    info->stats = port->stats;
}

static void list_cmd(struct dp *dp, void *args_)
{
    struct list_args *args = args_;

    args->ports = xcalloc(PORT_TABLE_MAX_PORTS, sizeof *args->ports);
    args->n = 0;
    for (uint32_t p = 1; p < PORT_TABLE_MAX_PORTS; p++) {
        if (dp->ports.by_no[p]) {
            fill_info(dp->ports.by_no[p], &args->ports[args->n++]);
        }
    }
}

int dp_port_list(struct dp *dp, struct dp_port_info **ports, size_t *n)
{
    struct list_args args;

    dp_call(dp, list_cmd, &args);
    *ports = args.ports;
    *n = args.n;
    return 0;
}

struct inject_args {
    const char *port;
    const void *frame;
    size_t len;
    const struct virtio_net_hdr *vnet;
    int result;
};

static void inject_cmd(struct dp *dp, void *args_)
{
    struct inject_args *args = args_;
    struct port *port = port_table_by_name(&dp->ports, args->port);
    struct packet *pkt = dp->pkts[0];

    if (!port) {
        args->result = -ENOENT;
        return;
    }
    if (packet_set_frame(pkt, args->frame, args->len)) {
        args->result = -EMSGSIZE;
        return;
    }
    if (args->vnet) {
        pkt->vnet = *args->vnet;
    }
    args->result = dp_process_one(dp, port, pkt);
}

int dp_inject(struct dp *dp, const char *port, const void *frame, size_t len,
              const struct virtio_net_hdr *vnet)
{
    struct inject_args args = { .port = port, .frame = frame, .len = len, .vnet = vnet };

    dp_call(dp, inject_cmd, &args);
    return args.result;
}

struct take_args {
    const char *port;
    void *buf;
    size_t size;
    struct virtio_net_hdr *vnet;
    int result;
};

static void take_cmd(struct dp *dp, void *args_)
{
    struct take_args *args = args_;
    struct port *port = port_table_by_name(&dp->ports, args->port);

    args->result = port ? port_dummy_take(port, args->buf, args->size, args->vnet) : -ENOENT;
}

int dp_dummy_take(struct dp *dp, const char *port, void *buf, size_t size,
                  struct virtio_net_hdr *vnet)
{
    struct take_args args = { .port = port, .buf = buf, .size = size, .vnet = vnet };

    dp_call(dp, take_cmd, &args);
    return args.result;
}
