/* The kernel fast path: a tc program at the pod ports (clsact ingress of a veth's host end;
 * clsact egress of a TAP, whose pod's frames leave through the TAP's transmit) that executes
 * the flows the user-space switch installed, and a socket filter for the switch's AF_PACKET
 * socket on the same port that keeps the two tiers apart.
 *
 * Nothing here decides.  The switch sees the first packets of every connection, applies port
 * security, ARP, the LB choice, flow pairs and every drop reason, and installs what it decided
 * for established traffic into fp_flows (dp/offload.c).  This program parses a frame into the
 * same exact-match key, and on a hit runs the installed action: NAT with incremental checksum
 * updates, TTL, MACs, per-flow counters, then bpf_redirect_peer() into the destination pod's
 * netns (or bpf_redirect() into a TAP's receive path or to a device's egress).  Anything it
 * does not fully understand goes up untouched (TC_ACT_OK): non-IPv4, VLAN tags, IP options,
 * fragments, protocols other than TCP and UDP, TCP SYN/FIN/RST (the switch keeps the
 * connection state and the idle timeouts), TTL <= 1 on a routed flow (the switch answers
 * ICMP), headers outside the linear area, and of course frames with no installed flow.
 *
 * Checksums.  Addresses are rewritten with bpf_l4_csum_replace(BPF_F_PSEUDO_HDR) and
 * bpf_l3_csum_replace(), ports with bpf_l4_csum_replace() alone; the kernel's
 * inet_proto_csum_replace{2,4}() then does the right thing for every ip_summed: a full
 * checksum is updated (RFC 1624); for CHECKSUM_PARTIAL, where the field holds only the
 * pseudo-header sum that the device or the GSO code completes later, only the address change
 * (pseudo-header) is folded in and a port change leaves the field alone; for
 * CHECKSUM_COMPLETE, skb->csum follows the pseudo-header change.  UDP uses
 * BPF_F_MARK_MANGLED_0: a zero checksum means "none" (RFC 768) and stays zero, and a
 * computed zero is sent as 0xffff.  GSO frames keep their gso_size/gso_type: only header
 * fields change and the segmentation code rewrites each segment's IP checksum anyway.
 *
 * One tier per packet.  In __netif_receive_skb_core() the packet taps (ptype_all: every
 * AF_PACKET socket bound to ETH_P_ALL, which is how the switch reads a veth) get the frame
 * before sch_handle_ingress() runs this program; even the last tap, delivered lazily through
 * pt_prev, is delivered at the top of sch_handle_ingress().  So a frame that tc then redirects
 * has already been queued to user space, and a mark set here comes too late.  The switch
 * therefore attaches fp_sock_filter to its AF_PACKET socket (SO_ATTACH_BPF).  The filter runs
 * in packet_rcv()/tpacket_rcv() before the frame is copied: it makes the tc program's decision
 * for it (same parser, same lookup, same checks), drops the frame from the socket when tc will
 * execute it, and leaves the decision, with a copy of the action, in a per-CPU hand-off slot.
 * The tc program, which runs next on the same CPU for the same skb, consumes the slot and obeys
 * it instead of looking again.  A flow installed or removed between the two (the switch works
 * concurrently) therefore cannot make a frame go to both tiers, or to neither.  Without a
 * socket (vswitchd down or restarting) there is no hand-off and tc decides alone: installed
 * flows keep forwarding.  The filter must only be attached where this program is attached.
 * TAPs need none of this: the switch reads them through the TAP's fd, not a packet tap, and
 * tc egress runs before the TAP's transmit hands the frame to that fd.
 *
 * The overlay.  A flow to a peer node ends in FP_ACT_TUNNEL: after its rewrites the frame gets
 * the RFC 7348 headers the switch's own VXLAN port would give it (outer IPv4 from the node's
 * address with DF and the node's default TTL, UDP to the VXLAN port from a source port hashed
 * from the inner flow in 49152-65535, checksum 0, the VNI) through bpf_skb_adjust_room(), which
 * also marks a GSO frame as UDP-tunnel GSO, so that the device or the kernel's GSO code cuts a
 * 64 KiB frame into VXLAN datagrams after us; bpf_redirect_neigh() then sends it out of the
 * underlay device to the next hop the kernel resolves.  fp_tc_vxlan, at the underlay device's
 * clsact ingress, is the other end: VXLAN to this node's address and port with the I flag and
 * our VNI, whose inner frame matches a flow installed "from peer P" (the key holds the outer
 * source, and a peer's flows are removed with it, so only a known peer's frames match), loses
 * its outer headers and is executed like a pod's.  Everything else on the underlay passes
 * untouched to the kernel, whose UDP socket is the switch's VXLAN port: no packet reaches both
 * tiers, since the switch reads the overlay through that socket and not through a packet tap.
 * The outer UDP checksum is not verified here (RFC 7348 section 5 leaves it to the receiver);
 * the inner frame keeps its own. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dp/bpf/fastpath.h"

/* Offsets from the start of the frame (skb->data at tc ingress is the MAC header). */
#define IP_OFF          ETH_HLEN
#define IP_CSUM_OFF     (IP_OFF + 10)
#define IP_TTL_OFF      (IP_OFF + 8)
#define IP_SRC_OFF      (IP_OFF + 12)
#define IP_DST_OFF      (IP_OFF + 16)
#define L4_OFF          (IP_OFF + 20)   /* Only IHL 5 is executed here. */
#define TCP_CSUM_OFF    (L4_OFF + 16)   /* RFC 9293 section 3.1. */
#define UDP_CSUM_OFF    (L4_OFF + 6)    /* RFC 768. */
#define TCP_CTL_FLAGS   0x07            /* FIN, SYN, RST (RFC 9293 section 3.1). */
#define IP_FRAG_MASK    0x3fff          /* MF and the fragment offset (RFC 791). */
#define IP_DF           0x4000
/* VXLAN (RFC 7348 section 5): outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
#define VXLAN_HLEN      8
#define VXLAN_ROOM      (20 + 8 + VXLAN_HLEN + ETH_HLEN)
#define VXLAN_FLAG_I    0x08
#define VXLAN_FLAG_RCO  0x20            /* Remote checksum offload: the switch completes it. */
#define VXLAN_SPORT_MIN 0xc000          /* RFC 7348: source ports from 49152 to 65535. */
#define IP_MAX_LEN      0xffff

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FP_DEFAULT_MAX_FLOWS);      /* The loader sizes it. */
    __type(key, struct fp_key);
    __type(value, struct fp_action);
} fp_flows SEC(".maps");

/* Mappable: user space reads a million flows' counters from memory, not by a million
 * syscalls a second. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FP_DEFAULT_MAX_FLOWS);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct fp_stats);
} fp_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct fp_handoff);
} fp_handoff SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FP_R_MAX);
    __type(key, __u32);
    __type(value, __u64);
} fp_counters SEC(".maps");

/* Tests only: BPF_PROG_TEST_RUN shows the verdict but not the redirect target, so a loader
 * that sets fp_trace before loading gets it here.  Otherwise the verifier prunes the stores. */
const volatile __u32 fp_trace = 0;
/* The loader sets it before loading; zero: no overlay, and the VXLAN code is dead. */
const volatile struct fp_tunnel_config fp_tunnel = { 0 };
__u32 fp_trace_ifindex = 0;
__u32 fp_trace_flags = 0;

/* A parsed frame: the key, plus what the actions need. */
struct fp_pkt {
    struct fp_key key;
    __u32 l4_csum_off;
    __u16 tot_len;                      /* The IPv4 packet's. */
    __u8 l4_hlen;                       /* TCP or UDP header bytes. */
    __u8 ttl;
};

static __always_inline void count(enum fp_reason r)
{
    __u32 idx = r;
    __u64 *c = bpf_map_lookup_elem(&fp_counters, &idx);

    if (c) {
        *c += 1;                        /* Per CPU: no other writer. */
    }
}

/* Fills 'p' from the frame that starts 'base' bytes after the MAC header (0, or a VXLAN
 * frame's inner one); returns FP_R_EXEC if the frame may be executed here, or why it goes up.
 * The offsets it leaves in 'p' are those the frame will have once it starts the packet.
 * Reads with bpf_skb_load_bytes_relative() from the MAC header, so that the socket filter
 * (whose skb->data may sit elsewhere) and tc parse the same bytes the same way and reach the
 * same result for the same skb. */
static __always_inline enum fp_reason parse(struct __sk_buff *skb, __u32 base,
                                            struct fp_pkt *p)
{
    struct {
        struct ethhdr eth;
        struct iphdr ip;
    } __attribute__((packed)) h;
    __u8 l4[14];
    __u16 tot_len;

    __builtin_memset(p, 0, sizeof *p);
    if (skb->vlan_present) {
        return FP_R_UP_NOT_IPV4;
    }
    if (bpf_skb_load_bytes_relative(skb, base, &h, sizeof h, BPF_HDR_START_MAC)) {
        return FP_R_UP_SHORT;
    }
    if (h.eth.h_proto != bpf_htons(ETH_P_IP) || h.ip.version != 4) {
        return FP_R_UP_NOT_IPV4;
    }
    if (h.ip.ihl != 5) {
        return h.ip.ihl < 5 ? FP_R_UP_SHORT : FP_R_UP_IP_OPTIONS;
    }
    if (h.ip.frag_off & bpf_htons(IP_FRAG_MASK)) {
        return FP_R_UP_FRAGMENT;
    }
    tot_len = bpf_ntohs(h.ip.tot_len);
    if (h.ip.protocol == IPPROTO_TCP) {
        if (tot_len < 20 + 20 || bpf_skb_load_bytes_relative(skb, base + L4_OFF, l4, 14,
                                                             BPF_HDR_START_MAC)) {
            return FP_R_UP_SHORT;
        }
        if (l4[13] & TCP_CTL_FLAGS) {
            return FP_R_UP_TCP_CONTROL;
        }
        p->l4_csum_off = TCP_CSUM_OFF;
        p->l4_hlen = (l4[12] >> 4) * 4;
    } else if (h.ip.protocol == IPPROTO_UDP) {
        if (tot_len < 20 + 8 || bpf_skb_load_bytes_relative(skb, base + L4_OFF, l4, 8,
                                                            BPF_HDR_START_MAC)) {
            return FP_R_UP_SHORT;
        }
        p->l4_csum_off = UDP_CSUM_OFF;
        p->l4_hlen = 8;
    } else {
        return FP_R_UP_PROTO;
    }

    p->key.ifindex = skb->ifindex;
    __builtin_memcpy(p->key.dl_dst, h.eth.h_dest, ETH_ALEN);
    __builtin_memcpy(p->key.dl_src, h.eth.h_source, ETH_ALEN);
    p->key.nw_src = h.ip.saddr;
    p->key.nw_dst = h.ip.daddr;
    __builtin_memcpy(&p->key.tp_src, l4, 2);
    __builtin_memcpy(&p->key.tp_dst, l4 + 2, 2);
    p->key.nw_proto = h.ip.protocol;
    p->ttl = h.ip.ttl;
    p->tot_len = tot_len;
    return FP_R_EXEC;
}

/* The checks that depend on the action as well as on the frame.  To a peer: what exceeds the
 * overlay MTU goes up (the switch answers "fragmentation needed" or drops it), whole frames
 * and the segments a GSO frame will be cut into alike; UDP GSO too, whose segments
 * bpf_skb_adjust_room() cannot tunnel. */
static __always_inline enum fp_reason check(const struct __sk_buff *skb, const struct fp_pkt *p,
                                            const struct fp_action *a)
{
    if ((a->flags & FP_ACT_DEC_TTL) && p->ttl <= 1) {
        return FP_R_UP_TTL;
    }
    if (a->flags & FP_ACT_TUNNEL) {
        __u32 gso_size = skb->gso_size;

        /* The outer IPv4 packet is the inner one and VXLAN_ROOM bytes. */
        if (!fp_tunnel.enabled || p->tot_len > IP_MAX_LEN - VXLAN_ROOM) {
            return FP_R_UP_TOO_BIG;
        }
        if (gso_size ? p->key.nw_proto != IPPROTO_TCP || gso_size + 20 + p->l4_hlen > a->tun_mtu
                     : p->tot_len > a->tun_mtu) {
            return FP_R_UP_TOO_BIG;
        }
    }
    return FP_R_EXEC;
}

static __always_inline int key_equal(const struct fp_key *a, const struct fp_key *b)
{
    const __u64 *x = (const __u64 *) a, *y = (const __u64 *) b;

    return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/* An address in the IP header and the pseudo-header: both checksums, then the bytes. */
static __always_inline int set_addr(struct __sk_buff *skb, const struct fp_pkt *p, __u32 off,
                                    __be32 old, __be32 new, __u64 l4_flags)
{
    if (old == new) {
        return 0;
    }
    if (bpf_l4_csum_replace(skb, p->l4_csum_off, old, new,
                            l4_flags | BPF_F_PSEUDO_HDR | sizeof new)
        || bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, sizeof new)) {
        return -1;
    }
    return bpf_skb_store_bytes(skb, off, &new, sizeof new, 0);
}

/* A port: only the L4 checksum, and not its pseudo-header part. */
static __always_inline int set_port(struct __sk_buff *skb, const struct fp_pkt *p, __u32 off,
                                    __be16 old, __be16 new, __u64 l4_flags)
{
    if (old == new) {
        return 0;
    }
    if (bpf_l4_csum_replace(skb, p->l4_csum_off, old, new, l4_flags | sizeof new)) {
        return -1;
    }
    return bpf_skb_store_bytes(skb, off, &new, sizeof new, 0);
}

/* The RFC 1071 checksum of an IPv4 header without options. */
static __always_inline __u16 ip_csum(const struct iphdr *ip)
{
    const __u16 *w = (const __u16 *) ip;
    __u32 sum = 0;

    for (int i = 0; i < 10; i++) {
        sum += w[i];
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return ~sum;
}

/* Puts the rewritten frame into VXLAN to a->tun_dst and sends it to the next hop. */
static __always_inline int encap(struct __sk_buff *skb, const struct fp_action *a)
{
    struct {
        struct iphdr ip;
        __be16 sport, dport, len, check;        /* UDP (RFC 768). */
        __u8 vxlan[VXLAN_HLEN];
        struct ethhdr eth;
    } __attribute__((packed)) h;
    struct iphdr ip = { 0 };
    __be32 vni;
    __u32 inner_len = skb->len;                 /* The inner frame, Ethernet header included. */
    __u32 hash = bpf_get_hash_recalc(skb);      /* The inner flow's (RFC 7348 section 5). */
    __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4
                  | BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH
                  | BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);

    _Static_assert(sizeof h == VXLAN_ROOM, "VXLAN headers");
    __builtin_memset(&h, 0, sizeof h);
    if (bpf_skb_load_bytes(skb, 0, &h.eth, 2 * ETH_ALEN)) {
        return -1;
    }
    h.eth.h_proto = bpf_htons(ETH_P_IP);
    ip.version = 4;
    ip.ihl = 5;
    ip.tot_len = bpf_htons(inner_len + VXLAN_ROOM - ETH_HLEN);
    ip.frag_off = bpf_htons(IP_DF);
    ip.ttl = fp_tunnel.ttl;
    ip.protocol = IPPROTO_UDP;
    ip.saddr = fp_tunnel.node_ip;
    ip.daddr = a->tun_dst;
    ip.check = ip_csum(&ip);
    h.ip = ip;
    hash ^= hash >> 16;
    h.sport = bpf_htons(VXLAN_SPORT_MIN | (hash & 0x3fff));
    h.dport = fp_tunnel.udp_port;
    h.len = bpf_htons(inner_len + VXLAN_ROOM - ETH_HLEN - 20);
    h.vxlan[0] = VXLAN_FLAG_I;
    vni = fp_tunnel.vni;                        /* A volatile read: set by the loader. */
    __builtin_memcpy(&h.vxlan[4], &vni, 4);

    /* The room goes between the frame's Ethernet header, which becomes the outer one (the
     * neighbour layer rewrites its addresses), and its IPv4 header.  FIXED_GSO: the pod's
     * MSS already leaves room for VXLAN (its MTU is the overlay's). */
    if (bpf_skb_adjust_room(skb, VXLAN_ROOM, BPF_ADJ_ROOM_MAC, flags)
        || bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof h, 0)) {
        return -1;
    }
    return 0;
}

/* Runs 'a' (a copy on the stack: a preallocated hash element may be reused under a reader
 * while user space replaces it) and returns the tc verdict. */
static __always_inline int execute(struct __sk_buff *skb, const struct fp_pkt *p,
                                   const struct fp_action *a, enum fp_reason why)
{
    __u64 l4_flags = p->key.nw_proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
    __u32 slot = a->stats_slot;
    struct fp_stats *st;

    if (a->flags & FP_ACT_SET_SRC) {
        if (set_addr(skb, p, IP_SRC_OFF, p->key.nw_src, a->nat_src, l4_flags)
            || set_port(skb, p, L4_OFF, p->key.tp_src, a->nat_sport, l4_flags)) {
            goto error;
        }
    }
    if (a->flags & FP_ACT_SET_DST) {
        if (set_addr(skb, p, IP_DST_OFF, p->key.nw_dst, a->nat_dst, l4_flags)
            || set_port(skb, p, L4_OFF + 2, p->key.tp_dst, a->nat_dport, l4_flags)) {
            goto error;
        }
    }
    if (a->flags & FP_ACT_DEC_TTL) {
        /* The TTL shares a checksum word with the protocol (RFC 791, RFC 1624). */
        __be16 old = bpf_htons(((__u16) p->ttl << 8) | p->key.nw_proto);
        __be16 new = bpf_htons(((__u16) (p->ttl - 1) << 8) | p->key.nw_proto);
        __u8 ttl = p->ttl - 1;

        if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, sizeof new)
            || bpf_skb_store_bytes(skb, IP_TTL_OFF, &ttl, 1, 0)) {
            goto error;
        }
    }
    if (a->flags & FP_ACT_SET_ETH) {
        if (bpf_skb_store_bytes(skb, 0, a->eth_dst, 2 * ETH_ALEN, 0)) {
            goto error;
        }
    }

    st = bpf_map_lookup_elem(&fp_stats, &slot);
    if (st) {
        __sync_fetch_and_add(&st->packets, 1);
        __sync_fetch_and_add(&st->bytes, skb->len);
        st->last_ns = bpf_ktime_get_ns();
    }
    count(why);
    if (fp_trace) {
        fp_trace_ifindex = a->out_ifindex;
        fp_trace_flags = a->flags;
    }
    if (a->flags & FP_ACT_TUNNEL) {
        if (encap(skb, a)) {
            goto error;
        }
        return bpf_redirect_neigh(a->out_ifindex, NULL, 0, 0);
    }
    if (a->flags & FP_ACT_PEER) {
        return bpf_redirect_peer(a->out_ifindex, 0);
    }
    return bpf_redirect(a->out_ifindex, a->flags & FP_ACT_INGRESS ? BPF_F_INGRESS : 0);

error:
    /* Half rewritten: neither tier may forward it now.  The sender retransmits. */
    count(FP_R_ERROR);
    return TC_ACT_SHOT;
}

SEC("tc")
int fp_tc(struct __sk_buff *skb)
{
    struct fp_action act;
    struct fp_action *a;
    struct fp_handoff *h;
    enum fp_reason r;
    struct fp_pkt p;
    __u32 zero = 0;

    r = parse(skb, 0, &p);

    h = bpf_map_lookup_elem(&fp_handoff, &zero);
    if (h && h->state != FP_HANDOFF_NONE) {
        __u32 state = h->state;

        h->state = FP_HANDOFF_NONE;
        /* The socket filter parsed this very skb just now; a slot whose key differs was left
         * by a frame that never reached tc (a port without this program) and is ignored. */
        if (r == FP_R_EXEC && key_equal(&h->key, &p.key)) {
            if (state != FP_HANDOFF_EXEC) {
                count(FP_R_UP_HANDOFF);
                return TC_ACT_OK;
            }
            act = h->act;
            return execute(skb, &p, &act, FP_R_HANDOFF_EXEC);
        }
    }
    if (r != FP_R_EXEC) {
        count(r);
        return TC_ACT_OK;
    }

    a = bpf_map_lookup_elem(&fp_flows, &p.key);
    if (!a) {
        count(FP_R_UP_NO_FLOW);
        return TC_ACT_OK;
    }
    act = *a;
    r = check(skb, &p, &act);
    if (r != FP_R_EXEC) {
        count(r);
        return TC_ACT_OK;
    }
    return execute(skb, &p, &act, FP_R_EXEC);
}

/* At the underlay device's clsact ingress: executes VXLAN from a peer whose inner frame has an
 * installed flow (see "The overlay" above); everything else passes untouched, with
 * TC_ACT_UNSPEC, so that the next filter on the node's uplink gets it. */
SEC("tc")
int fp_tc_vxlan(struct __sk_buff *skb)
{
    struct {
        struct ethhdr eth;
        struct iphdr ip;
        __be16 sport, dport, len, check;
        __u8 vxlan[VXLAN_HLEN];
    } __attribute__((packed)) o;
    struct fp_action act;
    struct fp_action *a;
    enum fp_reason r;
    struct fp_pkt p;
    __be32 vni;

    if (!fp_tunnel.enabled || skb->vlan_present
        || bpf_skb_load_bytes_relative(skb, 0, &o, sizeof o, BPF_HDR_START_MAC)
        || o.eth.h_proto != bpf_htons(ETH_P_IP) || o.ip.version != 4 || o.ip.ihl != 5
        || (o.ip.frag_off & bpf_htons(IP_FRAG_MASK)) || o.ip.protocol != IPPROTO_UDP
        || o.ip.daddr != fp_tunnel.node_ip || o.dport != fp_tunnel.udp_port) {
        return TC_ACT_UNSPEC;               /* Not the overlay's: not counted either. */
    }
    __builtin_memcpy(&vni, &o.vxlan[4], 4);
    if (!(o.vxlan[0] & VXLAN_FLAG_I) || (o.vxlan[1] & VXLAN_FLAG_RCO) || vni != fp_tunnel.vni) {
        count(FP_R_UP_VXLAN);           /* The switch's port judges it. */
        return TC_ACT_UNSPEC;
    }
    r = parse(skb, sizeof o, &p);
    if (r != FP_R_EXEC) {
        count(r);
        return TC_ACT_UNSPEC;
    }
    /* One datagram, one frame: a receive offload may have joined several datagrams of the
     * flow into one (UDP GRO for the switch's socket), whose first frame's length then
     * differs; a tunnel GSO frame (a kernel sender's, carried whole by a veth) agrees. */
    if (bpf_ntohs(o.ip.tot_len) != p.tot_len + VXLAN_ROOM) {
        count(FP_R_UP_VXLAN);
        return TC_ACT_UNSPEC;
    }
    p.key.ifindex = 0;                  /* The overlay's in-port: no device of its own. */
    p.key.tun_src = o.ip.saddr;
    a = bpf_map_lookup_elem(&fp_flows, &p.key);
    if (!a) {
        count(FP_R_UP_NO_FLOW);
        return TC_ACT_UNSPEC;
    }
    act = *a;
    r = check(skb, &p, &act);
    if (r != FP_R_EXEC) {
        count(r);
        return TC_ACT_UNSPEC;
    }
    /* The outer Ethernet header stays and takes the inner one's addresses; FIXED_GSO keeps a
     * GSO frame's segment size, the peer's pod's MSS. */
    if (bpf_skb_adjust_room(skb, -VXLAN_ROOM, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO)
        || bpf_skb_store_bytes(skb, 0, p.key.dl_dst, 2 * ETH_ALEN, 0)) {
        count(FP_R_ERROR);
        return TC_ACT_SHOT;
    }
    return execute(skb, &p, &act, FP_R_EXEC);
}

/* On the switch's AF_PACKET socket of a port: returns 0 (the socket does not get the frame)
 * when the tc program will execute it, the whole length otherwise; records the decision for
 * fp_tc (see "One tier per packet" above).  Counts nothing: fp_tc counts every frame once. */
SEC("socket")
int fp_sock_filter(struct __sk_buff *skb)
{
    struct fp_action *a;
    struct fp_handoff *h;
    struct fp_pkt p;
    __u32 zero = 0;

    if (skb->pkt_type == PACKET_OUTGOING) {
        return skb->len;                /* Not received: tc ingress never sees it. */
    }
    h = bpf_map_lookup_elem(&fp_handoff, &zero);
    if (!h) {
        return skb->len;
    }
    h->state = FP_HANDOFF_UP;
    if (parse(skb, 0, &p) != FP_R_EXEC) {
        __builtin_memset(&h->key, 0, sizeof h->key);
        return skb->len;
    }
    h->key = p.key;
    a = bpf_map_lookup_elem(&fp_flows, &p.key);
    if (!a) {
        return skb->len;
    }
    h->act = *a;
    if (check(skb, &p, &h->act) != FP_R_EXEC) {
        return skb->len;
    }
    h->state = FP_HANDOFF_EXEC;
    return 0;
}

/* The project's license; the program calls no GPL-only helper. */
char LICENSE[] SEC("license") = "Apache-2.0";
