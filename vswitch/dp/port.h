/* Ports: the devices packets enter and leave the switch through.
 *
 * For users (the datapath): open a port by type and name, receive and send batches, close it.
 * Implementers (veth, TAP, dummy) fill in a struct port_class, see port-provider.h.
 *
 * Threads: port_open() and port_close() run on the control thread, before the port is handed
 * to the datapath and after it was taken back; port_recv() and port_send() run only on the
 * datapath thread that owns the port. */
#ifndef VSWITCH_DP_PORT_H
#define VSWITCH_DP_PORT_H 1

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dp/packet.h"
#include "lib/types.h"

enum dp_port_type {
    DP_PORT_VETH,       /* Existing interface, AF_PACKET with PACKET_VNET_HDR. */
    DP_PORT_TAP,        /* TAP created (persistent) by the switch, IFF_VNET_HDR. */
    DP_PORT_HOST,       /* The node's own TAP holding the gateway address. */
    DP_PORT_DUMMY,      /* No device: packets injected by tests. */
    DP_PORT_VXLAN,      /* The overlay: a UDP socket on node_ip:vxlan_port. */
};

const char *dp_port_type_name(enum dp_port_type);
int dp_port_type_from_name(const char *name, enum dp_port_type *type);

struct dp_port_stats {
    uint64_t rx_packets, rx_bytes, rx_dropped;
    uint64_t tx_packets, tx_bytes, tx_dropped;
};

struct port_class;

struct port {
    const struct port_class *class;
    char name[IF_NAMESIZE];
    enum dp_port_type type;
    uint32_t port_no;               /* Index in the datapath's port table; 0 is never used. */
    int fd;                         /* Polled by the datapath thread; -1 while down. */
    int ifindex;
    be32 ip;
    struct eth_addr mac;            /* The pod's MAC (host port: the TAP's kernel MAC). */
    bool mac_known;
    bool mac_learned;
    bool up;
    bool created;                   /* A TAP the switch created: deleted with the port. */
    bool rx_pending;                /* The class holds frames recv() has not returned yet:
                                     * call it again (epoll will not say so). */
    bool fast;                      /* The kernel fast path's program is attached to the
                                     * device (dp-offload.h): flows in and out may be
                                     * installed there. */
    int sock_filter;                /* veth: the eBPF socket filter its AF_PACKET socket
                                     * carries from before bind(), or -1. */
    struct dp_port_stats stats;
    void *priv;                     /* The class's own state. */
};

/* Pods: the ports that stand for one pod each, indexed by IP and guarded by port security. */
static inline bool port_is_pod(const struct port *port)
{
    return port->type == DP_PORT_VETH || port->type == DP_PORT_TAP
           || port->type == DP_PORT_DUMMY;
}

/* Opens the device for a port of 'type' called 'name'; for DP_PORT_TAP and DP_PORT_HOST the
 * TAP is created when missing if 'create' is set, -ENODEV otherwise.  A veth's socket gets
 * 'sock_filter' (a BPF program fd, or -1 for none) before it is bound, so that no frame
 * reaches it unfiltered.  On success '*portp' is a new port (not yet attached).
 * Returns 0 or a negative errno with a message in 'err'. */
int port_open(enum dp_port_type type, const char *name, bool create, int sock_filter,
              struct port **portp, char *err, size_t errlen);
/* A port whose device is missing (restored from the database after its pod went away): kept
 * in the table, down, so it can be shown and deleted. */
struct port *port_new_down(enum dp_port_type type, const char *name);
/* Closes the device; deletes a TAP the switch created if 'remove' is set.  Accepts NULL. */
void port_close(struct port *, bool remove);

/* Receives up to 'max' frames into 'pkts' (buffers owned by the caller).  Returns the number
 * received, 0 when nothing is pending, or a negative errno when the device is gone. */
int port_recv(struct port *, struct packet *pkts[], int max);
/* Sends 'n' frames.  Returns how many left; each one that did not has its drop_reason set.
 * The buffers stay the caller's either way. */
int port_send(struct port *, struct packet *pkts[], int n);

/* Brings 'name' up (and sets IFF_NOARP when 'noarp'), so the node's own stack never answers
 * ARP on a pod's link: the switch does. */
int port_netdev_up(const char *name, bool noarp, char *err, size_t errlen);
int port_netdev_get_mac(const char *name, struct eth_addr *mac);

#endif
