/* The datapath's configuration, fixed when it is created (dp_create() in dp.h): the node's
 * pod subnet and gateway, the overlay's parameters, the sizes of the tables.  Read by every
 * stage of the packet path through struct dp (dp-state.h). */
#ifndef VSWITCH_DP_DP_CONFIG_H
#define VSWITCH_DP_DP_CONFIG_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/types.h"

/* The largest inner IPv4 packet the overlay carries unless configured: 1500 less VXLAN's 50. */
#define OVERLAY_DEFAULT_MTU 1450

/* 169.254.1.1 (RFC 3927 link-local, host order): the address that stands for the switch's
 * router on the host port, as the node sees it.  It is the next hop of the node's routes into
 * the switch (daemon/node-routes.h), and the source the switch gives a connection from the
 * node to a Service whose backend is the node itself: the gateway, an address of the node,
 * would come back to it as a martian. */
#define DP_HOST_ROUTER_IP 0xa9fe0101u

struct dp_config {
    struct cidr pod_cidr;           /* This node's pod subnet. */
    be32 gateway;                   /* First address of pod_cidr; answered by the switch. */
    struct eth_addr router_mac;     /* The MAC the switch answers for the gateway. */
    const char *host_port;          /* Name of the host TAP, "vsw0". */
    size_t flow_cache_size;         /* Max cached flows; 0 for the default (65536). */
    be32 node_ip;                   /* Underlay address; 0: no overlay (single node). */
    uint32_t vni;                   /* VXLAN network identifier (RFC 7348), 24 bits. */
    uint16_t vxlan_port;            /* UDP port, host order; 0: 4789. */
    uint16_t overlay_mtu;           /* Largest inner IPv4 packet carried; 0: 1450. */
    bool vxlan_rco;                 /* Remote checksum offload on send (port-vxlan.h). */
    size_t max_flow_pairs;          /* Bound of the flow-pair table; 0 for the default. */
    uint32_t max_flow_pairs_per_pod;    /* Flow pairs one client address may hold; 0: no
                                         * limit. */
    const char *pairs_path;         /* File (tmpfs) holding the flow pairs across restarts;
                                     * NULL: process memory only. */
    uint32_t flow_ttl;              /* Idle seconds of an established TCP flow pair; 0: 86400. */
    uint32_t busy_poll_us;          /* Keep polling this long after the last packet before
                                     * sleeping: trades a core under load for latency. */
    bool offload;                   /* Install established flows in the kernel fast path
                                     * (dp-offload.h); where the kernel refuses, user space
                                     * alone. */
    const char *bpf_pin_dir;        /* Where its maps are pinned and adopted from on a bpffs;
                                     * NULL, or not on a bpffs: not pinned. */
    bool dummy_host;                /* Tests: a dummy host port, so no root is needed. */
};

#endif
