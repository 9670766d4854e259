/* The datapath as the daemon sees it: create it, start its thread, add and remove ports, read
 * counters and flows.
 *
 * Threads: the datapath thread owns every table (ports, flow cache, counters).  All functions
 * here are called from the control thread; those that touch the tables hand a command to the
 * datapath thread through its queue and wait until the thread has run it between two batches,
 * so the control thread always sees a consistent snapshot and the datapath takes no lock per
 * packet.  None of them may be called from the datapath thread itself. */
#ifndef VSWITCH_DP_DP_H
#define VSWITCH_DP_DP_H 1

#include <linux/virtio_net.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "dp/drop.h"
#include "lib/addr.h"
#include "lib/types.h"

struct dp;

struct dp_config {
    struct cidr pod_cidr;           /* This node's pod subnet. */
    be32 gateway;                   /* First address of pod_cidr; answered by the switch. */
    struct eth_addr router_mac;     /* The MAC the switch answers for the gateway. */
    const char *host_port;          /* Name of the host TAP, "vsw0". */
    size_t flow_cache_size;         /* Max cached flows; 0 for the default (65536). */
    bool dummy_host;                /* Tests: a dummy host port, so no root is needed. */
};

enum dp_port_type {
    DP_PORT_VETH,       /* Existing interface, AF_PACKET with PACKET_VNET_HDR. */
    DP_PORT_TAP,        /* TAP created (persistent) by the switch, IFF_VNET_HDR. */
    DP_PORT_HOST,       /* The node's own TAP holding the gateway address. */
    DP_PORT_DUMMY,      /* No device: packets injected by tests. */
};

const char *dp_port_type_name(enum dp_port_type);
int dp_port_type_from_name(const char *name, enum dp_port_type *type);

struct dp_port_stats {
    uint64_t rx_packets, rx_bytes, rx_dropped;
    uint64_t tx_packets, tx_bytes, tx_dropped;
};

struct dp_port_info {
    char name[IF_NAMESIZE];
    uint32_t port_no;
    enum dp_port_type type;
    be32 ip;
    struct eth_addr mac;
    bool mac_learned;               /* MAC not given: taken from the pod's first frame. */
    bool up;                        /* Device present and open. */
    struct dp_port_stats stats;
};

/* Copies of the flow cache entries, for dump-flows.  'match' and 'actions' are printed in
 * the OVS-like key=value form. */
struct dp_flow_info {
    char match[256];
    char actions[192];
    uint64_t packets, bytes;
    uint64_t idle_ms;
};

/* Creates the datapath and its host port (TAP 'host_port', created persistent if missing).
 * Returns 0 or a negative errno with a message in 'err'. Does not start the thread. */
int dp_create(const struct dp_config *, struct dp **, char *err, size_t errlen);
int dp_start(struct dp *);
/* Stops the thread and closes ports; persistent TAPs stay.  Accepts NULL. */
void dp_destroy(struct dp *);

/* Opens the port's device and attaches it.  'mac' NULL: learn it from the first frame whose
 * source IP is 'ip'.  For DP_PORT_TAP the TAP is created persistent.  A port whose device is
 * missing is still attached, marked down, when 'allow_down' (restoring from the database).
 * Returns 0 or -EEXIST (name or IP in use), -ENODEV, -EINVAL, ... with a message in 'err'. */
int dp_port_add(struct dp *, const char *name, enum dp_port_type, be32 ip,
                const struct eth_addr *mac, bool allow_down, char *err, size_t errlen);
/* Detaches and closes the port; a TAP created by the switch is deleted.  -ENOENT if absent. */
int dp_port_del(struct dp *, const char *name);

/* Snapshot of every port, host port first.  Caller frees '*ports'. */
int dp_port_list(struct dp *, struct dp_port_info **ports, size_t *n);
/* Per-reason drop counters, indexed by enum drop_reason. */
void dp_drop_stats(struct dp *, uint64_t counters[DROP_N_REASONS]);
/* Snapshot of the flow cache.  Caller frees '*flows'. */
int dp_flow_dump(struct dp *, struct dp_flow_info **flows, size_t *n);
void dp_flow_flush(struct dp *);

/* For tests: runs one frame (with 'vnet', or none if NULL) through the pipeline as if
 * received on 'port'.  Returns 0 if it was forwarded, the enum drop_reason if dropped, or a
 * negative errno (-ENOENT: no such port).  What dummy ports send is kept for dp_dummy_take(). */
int dp_inject(struct dp *, const char *port, const void *frame, size_t len,
              const struct virtio_net_hdr *vnet);
/* Takes the oldest frame sent on dummy port 'port'.  Returns its length, -EAGAIN if none. */
int dp_dummy_take(struct dp *, const char *port, void *buf, size_t size,
                  struct virtio_net_hdr *vnet);

#endif
