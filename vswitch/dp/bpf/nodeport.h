/* The NodePort steering program's map layouts, shared byte for byte by the tc program
 * (nodeport.bpf.c) and by vswitchd (daemon/nodeport-steer.c), which fills them.
 *
 * Padding-free with explicit pad fields (zeroed by the writer): the kernel hashes keys as
 * raw bytes.  Only <linux/types.h>: the BPF target has no libc. */
#ifndef VSWITCH_DP_BPF_NODEPORT_H
#define VSWITCH_DP_BPF_NODEPORT_H 1

#include <linux/types.h>

/* A NodePort on one of the node's addresses: what the program steers into the switch. */
struct np_key {
    __be32 addr;            /* The node's address, as the packet's destination. */
    __be16 port;            /* The NodePort, as the packet's destination port. */
    __u8 proto;             /* IPPROTO_TCP or IPPROTO_UDP. */
    __u8 pad;               /* Zero. */
};

/* Where a steered frame goes: out of the host port (into the switch, which reads the TAP),
 * addressed as the node addresses its routed traffic to the switch. */
struct np_config {
    __u32 host_ifindex;     /* vsw0. */
    __u8 router_mac[6];     /* The switch's router MAC: the frame's destination... */
    __u8 host_mac[6];       /* ...and vsw0's own MAC its source. */
};

/* Counters (a per-CPU array indexed by these). */
enum np_counter {
    NP_STEERED,             /* Frames redirected into the switch. */
    NP_OWN_SOCKET,          /* Frames to a NodePort that belong to a connection of the
                             * node's own (an established TCP or connected UDP socket):
                             * left to the node. */
    NP_N_COUNTERS,
};

#define NP_MAX_KEYS 65536

#endif
