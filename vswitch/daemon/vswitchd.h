/* The state of one vswitchd process: its configuration from the command line and the handles
 * of its parts, shared by main.c (which builds and tears it down) and the handlers (which act
 * on requests).  Owned by the control thread. */
#ifndef VSWITCH_DAEMON_VSWITCHD_H
#define VSWITCH_DAEMON_VSWITCHD_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/addr.h"
#include "lib/types.h"

#define VSWITCHD_HOST_PORT "vsw0"

struct nodeport;
struct nl_sock;

/* For configuring the host port: stores its ifindex in '*ifindex' and a new netlink socket
 * in '*nl', which the caller closes (nl_close()).  Returns 0, or a negative errno with
 * "host port vsw0: <why>" in 'err' (no such interface, or no netlink socket) and nothing
 * to close.  Control thread. */
int vswitchd_host_port_open(unsigned int *ifindex, struct nl_sock **nl, char *err,
                            size_t errlen);

struct vswitchd_config {
    const char *ctl_path;
    const char *db_path;
    struct cidr pod_cidr;
    be32 gateway;                   /* First address of pod_cidr. */
    struct eth_addr router_mac;     /* addr_mac_from_ip(gateway). */
    be32 node_ip;                   /* 0 if not given. */
    uint32_t vni;
    uint16_t vxlan_port;
    uint16_t overlay_mtu;           /* Largest inner IPv4 packet; meaningful with node_ip. */
    bool vxlan_rco;                 /* Send inner checksums for the peer to complete. */
    const char *metrics_addr;       /* "ADDR:PORT" as given, for messages. */
    be32 metrics_ip;
    uint16_t metrics_port;
    gid_t ctl_gid;                  /* (gid_t) -1: no --ctl-group. */
    unsigned int ctl_idle_timeout;  /* Seconds; 0: idle control connections stay. */
    size_t flow_cache_size;
    size_t max_flow_pairs;          /* Bound of the flow-pair table. */
    uint32_t max_flow_pairs_per_pod;    /* Pairs one client address may hold; 0: no limit. */
    uint32_t flow_ttl;              /* Idle seconds of an established TCP flow pair
                                     * (--tcp-established-timeout). */
    struct cidr cluster_cidr;       /* Every node's pods; valid with has_cluster_cidr. */
    bool has_cluster_cidr;
    bool masquerade;                /* Pod traffic leaving the cluster gets the node's IP. */
    struct cidr service_cidr;       /* Cluster IPs; valid with has_service_cidr. */
    bool has_service_cidr;
    uint32_t busy_poll_us;          /* Polling after traffic before sleeping. */
    bool offload;                   /* --offload tc. */
    const char *bpf_pin_dir;
};

struct vswitchd {
    struct vswitchd_config cfg;
    struct dp *dp;
    struct db *db;
    struct ctl_server *ctl;
    struct metrics *metrics;
    struct nodeport *nodeport;      /* NodePorts on the node's addresses (nodeport.h). */
    uint64_t start_msec;            /* time_msec() at start, for uptime. */
    /* The daemon keeps the node's routes into the switch (node-routes.h) in step with its
     * peers; a vswitchd built by a test or a fuzzer without a node leaves this false. */
    bool owns_node_routes;
};

#endif
