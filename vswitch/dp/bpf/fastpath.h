/* The kernel fast path's map layouts: shared, byte for byte, by the tc program
 * (fastpath.bpf.c) and by user space (dp/offload.c), which installs the flows the switch has
 * decided and reads their counters back.
 *
 * Every struct is padding-free (explicit pad fields, zeroed by whoever writes them) and its
 * size is asserted, because the kernel hashes and compares keys as raw bytes and a pinned map
 * outlives the binary that created it: a layout change must change a size, which makes the
 * adoption of an old pinned map fail loudly instead of matching garbage.
 *
 * Only <linux/types.h>: the BPF target has no libc. */
#ifndef VSWITCH_DP_BPF_FASTPATH_H
#define VSWITCH_DP_BPF_FASTPATH_H 1

#include <linux/types.h>

/* The exact-match key of an installed flow: what the program parses from a frame.  Fields
 * that change within a connection (TTL, TCP flags, lengths) are not in it, as in the user-space
 * flow key (dp/flow-key.h). */
struct fp_key {
    __u32 ifindex;          /* In-port: the device the program runs on (skb->ifindex). */
    __be32 tun_src;         /* The VXLAN peer a frame came from; 0 on pod ports. */
    __u8 dl_dst[6];
    __u8 dl_src[6];
    __be32 nw_src;
    __be32 nw_dst;
    __be16 tp_src;
    __be16 tp_dst;
    __u8 nw_proto;          /* IPPROTO_TCP or IPPROTO_UDP. */
    __u8 pad[7];            /* Zero. */
} __attribute__((aligned(8)));  /* Compared as five 64-bit words; the verifier wants stack
                                 * accesses aligned. */

/* What to do with a matching frame, in this order: NAT (L4 then L3 checksum), TTL, MACs,
 * count, output.  Nothing here decides: every value was chosen by the switch. */
enum fp_act_flags {
    FP_ACT_SET_SRC = 1 << 0,        /* Source IP:port := nat_src:nat_sport (un-DNAT, SNAT). */
    FP_ACT_SET_DST = 1 << 1,        /* Destination IP:port := nat_dst:nat_dport (DNAT). */
    FP_ACT_DEC_TTL = 1 << 2,        /* TTL - 1; a frame with TTL <= 1 goes up (ICMP is ours). */
    FP_ACT_SET_ETH = 1 << 3,        /* eth_dst, eth_src := the values below. */
    FP_ACT_PEER = 1 << 4,           /* Output by bpf_redirect_peer(out_ifindex): straight into
                                     * the netns of a veth's peer; only from tc ingress. */
    FP_ACT_INGRESS = 1 << 5,        /* Output into out_ifindex's receive path (a TAP: to the
                                     * stack that owns it).  With neither: out_ifindex's egress
                                     * (a veth host end, from a TAP's egress hook). */
    FP_ACT_TUNNEL = 1 << 6,         /* After the rewrites: VXLAN to peer node tun_dst (RFC
                                     * 7348, outer headers as fp_tunnel_config says), out of
                                     * out_ifindex, the underlay device, with
                                     * bpf_redirect_neigh(). */
};
#define FP_ACT_ALL 0x7f

struct fp_action {
    __u32 flags;                    /* enum fp_act_flags. */
    __u32 out_ifindex;
    __u8 eth_dst[6];                /* In the order of the Ethernet header: one 12-byte store. */
    __u8 eth_src[6];
    __be32 nat_src;
    __be32 nat_dst;
    __be16 nat_sport;
    __be16 nat_dport;
    __u32 stats_slot;               /* Index in fp_stats.  User space numbers the slots (flow
                                     * pair index x 2 + direction), so counters survive an
                                     * update of the action and stay the pair's. */
    __u32 cookie;                   /* User space's own tag (e.g. the pair's generation). */
    __be32 tun_dst;                 /* FP_ACT_TUNNEL: the peer node's underlay address. */
    __u16 tun_mtu;                  /* FP_ACT_TUNNEL: the largest inner IPv4 packet (or GSO
                                     * segment) it may carry; a larger one goes up, where the
                                     * switch answers "fragmentation needed". */
    __u16 pad;                      /* Zero. */
};

/* The overlay this node speaks, fixed when the programs are loaded (read-only data, so the
 * verifier drops the VXLAN code of a node without overlay).  All in network order. */
struct fp_tunnel_config {
    __be32 node_ip;                 /* Outer source; decapsulated only when addressed to it. */
    __be32 vni;                     /* The 24-bit VNI shifted left by 8, as in the header. */
    __be16 udp_port;                /* The VXLAN destination port. */
    __u8 ttl;                       /* Outer TTL, the node's default as its sockets send. */
    __u8 enabled;
};

/* Per-flow counters, in the fp_stats array at the flow's stats_slot.  Updated with atomic
 * adds (one array entry per flow, not per CPU, so a million flows cost 24 MiB on any number
 * of CPUs).  A GSO frame counts as one packet of its full length, as the user-space path and
 * Open vSwitch's kernel datapath count it. */
struct fp_stats {
    __u64 packets;
    __u64 bytes;                    /* Frame bytes, Ethernet header included. */
    __u64 last_ns;                  /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last one. */
};

/* The AF_PACKET hand-off (see fastpath.bpf.c, "One tier per packet"): what the socket filter
 * decided for the frame the tc program on this CPU is about to see. */
enum fp_handoff_state {
    FP_HANDOFF_NONE = 0,
    FP_HANDOFF_UP = 1,              /* The socket took it: user space forwards it. */
    FP_HANDOFF_EXEC = 2,            /* The socket dropped it: tc must execute 'act'. */
};

struct fp_handoff {
    struct fp_key key;
    struct fp_action act;
    __u32 state;                    /* enum fp_handoff_state. */
    __u32 pad;
};

/* Why the program did what it did, counted per CPU (fp_counters), defined once here for the
 * program, the loader and the metrics. */
#define FP_REASONS(X)                                                                 \
    X(EXEC,          "executed")         /* Executed from the flow map. */            \
    X(HANDOFF_EXEC,  "handoff_exec")     /* Executed on the socket filter's word. */  \
    X(UP_HANDOFF,    "up_handoff")       /* The socket filter gave it to user space. */ \
    X(UP_NO_FLOW,    "up_no_flow")                                                    \
    X(UP_NOT_IPV4,   "up_not_ipv4")      /* ARP, IPv6, VLAN-tagged... */               \
    X(UP_IP_OPTIONS, "up_ip_options")                                                 \
    X(UP_FRAGMENT,   "up_fragment")                                                   \
    X(UP_PROTO,      "up_proto")         /* Neither TCP nor UDP. */                    \
    X(UP_TCP_CONTROL,"up_tcp_control")   /* SYN, FIN or RST: the switch keeps state. */ \
    X(UP_TTL,        "up_ttl")           /* TTL <= 1 on a routed flow. */              \
    X(UP_SHORT,      "up_short")         /* Truncated headers. */                      \
    X(UP_TOO_BIG,    "up_too_big")       /* Over the overlay MTU, or UDP GSO, to a peer. */ \
    X(UP_VXLAN,      "up_vxlan")         /* Another VNI, RCO, several datagrams in one. */ \
    X(ERROR,         "error")            /* A helper failed mid-rewrite: dropped. */

enum fp_reason {
#define FP_REASON_ENUM(NAME, STR) FP_R_##NAME,
    FP_REASONS(FP_REASON_ENUM)
#undef FP_REASON_ENUM
    FP_R_MAX
};

#define FP_DEFAULT_MAX_FLOWS 65536

_Static_assert(sizeof(struct fp_key) == 40, "fp_key is five 64-bit words, no padding");
_Static_assert(sizeof(struct fp_action) == 48, "fp_action has no padding");
_Static_assert(sizeof(struct fp_tunnel_config) == 12, "fp_tunnel_config has no padding");
_Static_assert(sizeof(struct fp_stats) == 24, "fp_stats has no padding");
_Static_assert(sizeof(struct fp_handoff) == 96, "fp_handoff has no padding");

#endif
