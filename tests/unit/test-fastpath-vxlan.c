/* The kernel fast path on the overlay under BPF_PROG_TEST_RUN, table-driven as test-fastpath.c:
 * encapsulation by the pod ports' program (a flow to a peer: the rewritten frame in RFC 7348
 * headers, byte for byte) and decapsulation by the underlay's program (a flow from a known
 * peer: the inner frame, rewritten, into the pod; anything else passes untouched).
 *
 * Not expressible here: GSO frames through either program.  BPF_PROG_TEST_RUN gives a skb a
 * gso_size but no gso_type, and bpf_skb_adjust_room() refuses to resize a GSO frame that is not
 * TCP; test-offload-overlay (system) sends 64 KiB TCP frames through both programs between
 * two nodes.  The checks made before any resize (segments over the MTU, UDP GSO) are here. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include "dp/net-headers.h"
#include "fastpath-helpers.h"
#include "lib/addr.h"
#include "lib/log.h"

#define CLIENT_MAC "02:00:00:00:01:02"
#define POD_MAC "02:00:00:00:02:03"
#define GW_MAC "0a:58:0a:f4:01:01"
#define PEER_GW_MAC "0a:58:0a:f4:02:01"
#define CLIENT "10.244.1.2"
#define REMOTE_POD "10.244.2.3"
#define VIP "10.96.0.10"
#define STRANGER "192.168.0.9"
#define UNDERLAY_IFINDEX 20
#define POD_IFINDEX 7
#define ACK_PSH (TCP_ACK | 0x08)

enum vx_prog {
    PROG_POD,                           /* fp_tc at a pod port: encapsulates. */
    PROG_UNDERLAY,                      /* fp_tc_vxlan: decapsulates. */
};

struct vx_case {
    const char *name;
    enum vx_prog prog;
    struct pkt_spec inner;              /* The pod's frame, or the VXLAN datagram's inner one. */
    struct fp_vxlan_spec outer;         /* PROG_UNDERLAY: how it arrives. */
    bool install;
    const char *flow_tun_src;           /* PROG_UNDERLAY: the peer the flow is from. */
    uint32_t act_flags;
    int verdict;
    enum fp_reason reason;              /* FP_R_MAX: the frame is not counted at all. */
    struct pkt_spec out;                /* Redirected: the frame (inner, for encapsulation). */
    uint32_t gso_size;
    bool bundle;                        /* PROG_UNDERLAY: a copy of the datagram follows, and
                                         * the outer lengths cover both, as UDP GRO leaves
                                         * them. */
};

/* How a datagram arrives; FROM_PEER: as the peer's switch sends it. */
#define VX(SRC, DST, DPORT, FLAGS, VNI) { .src = SRC, .dst = DST, .sport = 50000, \
                                          .dport = DPORT, .flags = FLAGS, .vni = VNI }
#define FROM_PEER VX(FP_TEST_PEER, FP_TEST_NODE, FP_TEST_VXLAN_PORT, 0x08, FP_TEST_VNI)

static const struct pkt_spec to_remote_pod = {
    .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = REMOTE_POD,
    .sport = 40000, .dport = 8080, .tcp_flags = ACK_PSH, .payload = 100,
};

/* What the peer's switch sends for it: MACs fixed, TTL decremented. */
static const struct pkt_spec remote_pod_arrives = {
    .eth_src = PEER_GW_MAC, .eth_dst = POD_MAC, .ip_src = CLIENT, .ip_dst = REMOTE_POD,
    .sport = 40000, .dport = 8080, .tcp_flags = ACK_PSH, .payload = 100, .ttl = 63,
};

/* DSR over the overlay: the client's node fixed only the MAC; the VIP stays. */
static const struct pkt_spec vip_arrives = {
    .eth_src = PEER_GW_MAC, .eth_dst = POD_MAC, .ip_src = CLIENT, .ip_dst = VIP,
    .sport = 40000, .dport = 80, .tcp_flags = ACK_PSH, .payload = 100,
};

static const struct vx_case cases[] = {
    { .name = "to a peer: rewritten, then RFC 7348 headers, to the underlay's next hop",
      .prog = PROG_POD, .inner = to_remote_pod, .install = true,
      .act_flags = FP_ACT_SET_ETH | FP_ACT_DEC_TTL | FP_ACT_TUNNEL,
      .verdict = TC_ACT_REDIRECT, .reason = FP_R_EXEC,
      .out = { .eth_src = PEER_GW_MAC, .eth_dst = POD_MAC, .ip_src = CLIENT,
               .ip_dst = REMOTE_POD, .sport = 40000, .dport = 8080, .tcp_flags = ACK_PSH,
               .payload = 100, .ttl = 63 } },
    { .name = "to a peer: UDP, as is",
      .prog = PROG_POD, .inner = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT,
                                   .ip_dst = REMOTE_POD, .proto = 17, .sport = 5000,
                                   .dport = 53, .payload = 30 },
      .install = true, .act_flags = FP_ACT_TUNNEL, .verdict = TC_ACT_REDIRECT,
      .reason = FP_R_EXEC,
      .out = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT,
               .ip_dst = REMOTE_POD, .proto = 17, .sport = 5000, .dport = 53,
               .payload = 30 } },
    { .name = "to a peer: over the overlay MTU goes up (fragmentation needed is the switch's)",
      .prog = PROG_POD, .inner = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT,
                                   .ip_dst = REMOTE_POD, .sport = 40000, .dport = 8080,
                                   .tcp_flags = TCP_ACK, .payload = 1411 },
      .install = true, .act_flags = FP_ACT_SET_ETH | FP_ACT_TUNNEL, .verdict = TC_ACT_OK,
      .reason = FP_R_UP_TOO_BIG },
    { .name = "to a peer: GSO segments over the overlay MTU go up",
      .prog = PROG_POD, .inner = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT,
                                   .ip_dst = REMOTE_POD, .sport = 40000, .dport = 8080,
                                   .tcp_flags = TCP_ACK, .payload = 2896 },
      .install = true, .act_flags = FP_ACT_SET_ETH | FP_ACT_TUNNEL, .verdict = TC_ACT_OK,
      .reason = FP_R_UP_TOO_BIG, .gso_size = 1448 },
    { .name = "to a peer: UDP GSO goes up",
      .prog = PROG_POD, .inner = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT,
                                   .ip_dst = REMOTE_POD, .proto = 17, .sport = 5000,
                                   .dport = 53, .payload = 2000 },
      .install = true, .act_flags = FP_ACT_TUNNEL, .verdict = TC_ACT_OK,
      .reason = FP_R_UP_TOO_BIG, .gso_size = 1000 },
    { .name = "from a known peer with a flow: decapsulated, DNAT, into the pod",
      .prog = PROG_UNDERLAY, .inner = vip_arrives, .outer = FROM_PEER, .install = true,
      .flow_tun_src = FP_TEST_PEER, .act_flags = FP_ACT_SET_DST | FP_ACT_PEER,
      .verdict = TC_ACT_REDIRECT, .reason = FP_R_EXEC,
      .out = { .eth_src = PEER_GW_MAC, .eth_dst = POD_MAC, .ip_src = CLIENT,
               .ip_dst = REMOTE_POD, .sport = 40000, .dport = 8080, .tcp_flags = ACK_PSH,
               .payload = 100 } },
    { .name = "from a known peer, routed: decapsulated as sent",
      .prog = PROG_UNDERLAY, .inner = remote_pod_arrives, .outer = FROM_PEER,
      .install = true, .flow_tun_src = FP_TEST_PEER, .act_flags = FP_ACT_PEER,
      .verdict = TC_ACT_REDIRECT, .reason = FP_R_EXEC, .out = remote_pod_arrives },
    { .name = "several datagrams joined by UDP GRO pass (the socket splits them)",
      .prog = PROG_UNDERLAY, .inner = remote_pod_arrives, .outer = FROM_PEER, .install = true,
      .flow_tun_src = FP_TEST_PEER, .act_flags = FP_ACT_PEER, .verdict = TC_ACT_UNSPEC,
      .reason = FP_R_UP_VXLAN, .bundle = true },
    { .name = "from an unknown node: no flow has it as source, passes to the socket",
      .prog = PROG_UNDERLAY, .inner = remote_pod_arrives, .outer = VX(STRANGER, FP_TEST_NODE, FP_TEST_VXLAN_PORT, 0x08, FP_TEST_VNI),
      .install = true, .flow_tun_src = FP_TEST_PEER, .act_flags = FP_ACT_PEER,
      .verdict = TC_ACT_UNSPEC, .reason = FP_R_UP_NO_FLOW },
    { .name = "a known peer without a flow: passes",
      .prog = PROG_UNDERLAY, .inner = remote_pod_arrives, .outer = FROM_PEER,
      .verdict = TC_ACT_UNSPEC, .reason = FP_R_UP_NO_FLOW },
    { .name = "another VNI passes (the switch's port counts the drop)",
      .prog = PROG_UNDERLAY, .inner = remote_pod_arrives, .outer = VX(FP_TEST_PEER, FP_TEST_NODE, FP_TEST_VXLAN_PORT, 0x08, 43),
      .install = true, .flow_tun_src = FP_TEST_PEER, .act_flags = FP_ACT_PEER,
      .verdict = TC_ACT_UNSPEC, .reason = FP_R_UP_VXLAN },
    { .name = "no I flag passes",
      .prog = PROG_UNDERLAY, .inner = remote_pod_arrives, .outer = VX(FP_TEST_PEER, FP_TEST_NODE, FP_TEST_VXLAN_PORT, 0, FP_TEST_VNI),
      .install = true, .flow_tun_src = FP_TEST_PEER, .act_flags = FP_ACT_PEER,
      .verdict = TC_ACT_UNSPEC, .reason = FP_R_UP_VXLAN },
    { .name = "a SYN inside passes (the switch keeps the state)",
      .prog = PROG_UNDERLAY,
      .inner = { .eth_src = PEER_GW_MAC, .eth_dst = POD_MAC, .ip_src = CLIENT,
                 .ip_dst = REMOTE_POD, .sport = 40000, .dport = 8080, .tcp_flags = TCP_SYN },
      .outer = FROM_PEER, .install = true, .flow_tun_src = FP_TEST_PEER,
      .act_flags = FP_ACT_PEER, .verdict = TC_ACT_UNSPEC, .reason = FP_R_UP_TCP_CONTROL },
    { .name = "another UDP port is not the overlay: passes, not counted",
      .prog = PROG_UNDERLAY, .inner = remote_pod_arrives, .outer = VX(FP_TEST_PEER, FP_TEST_NODE, 8472, 0x08, FP_TEST_VNI),
      .install = true, .flow_tun_src = FP_TEST_PEER, .act_flags = FP_ACT_PEER,
      .verdict = TC_ACT_UNSPEC, .reason = FP_R_MAX },
    { .name = "to another address is not ours: passes, not counted",
      .prog = PROG_UNDERLAY, .inner = remote_pod_arrives, .outer = VX(FP_TEST_PEER, STRANGER, FP_TEST_VXLAN_PORT, 0x08, FP_TEST_VNI),
      .install = true, .flow_tun_src = FP_TEST_PEER, .act_flags = FP_ACT_PEER,
      .verdict = TC_ACT_UNSPEC, .reason = FP_R_MAX },
};

static void mac_into(uint8_t dst[6], const char *s)
{
    struct eth_addr m;

    addr_parse_mac(s, &m);
    memcpy(dst, m.a, 6);
}

/* The flow the switch would install for the case, and its action. */
static void flow_of(const struct vx_case *c, uint32_t slot, struct fp_key *key,
                    struct fp_action *act)
{
    *key = fp_test_key(&c->inner);
    memset(act, 0, sizeof *act);
    act->flags = c->act_flags;
    act->stats_slot = slot;
    act->out_ifindex = c->prog == PROG_POD ? UNDERLAY_IFINDEX : POD_IFINDEX;
    if (c->prog == PROG_UNDERLAY) {
        key->ifindex = 0;
        addr_parse_ip(c->flow_tun_src, &key->tun_src);
    }
    if (c->act_flags & FP_ACT_SET_ETH) {
        mac_into(act->eth_dst, POD_MAC);
        mac_into(act->eth_src, PEER_GW_MAC);
    }
    if (c->act_flags & FP_ACT_SET_DST) {
        addr_parse_ip(REMOTE_POD, &act->nat_dst);
        act->nat_dport = htons(8080);
    }
    if (c->act_flags & FP_ACT_TUNNEL) {
        addr_parse_ip(FP_TEST_PEER, &act->tun_dst);
        act->tun_mtu = 1450;
    }
}

static uint16_t word(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

/* 'out' is 'inner' (already checked) in the headers the user-space port would give it. */
static void expect_outer(const char *name, const uint8_t *out, size_t inner_len)
{
    const uint8_t *ip = out + ETH_HDR_LEN, *udp = ip + 20, *vx = udp + 8;
    be32 node, peer;

    addr_parse_ip(FP_TEST_NODE, &node);
    addr_parse_ip(FP_TEST_PEER, &peer);
    cr_expect(pkt_ip_csum_ok(out, inner_len + FP_TEST_VXLAN_ROOM), "%s: outer IP checksum",
              name);
    cr_expect_eq(word(out + 12), ETH_TYPE_IPV4, "%s: outer ethertype", name);
    cr_expect_eq(ip[0], 0x45, "%s: IPv4, no options", name);
    cr_expect_eq(ip[1], 0, "%s: TOS", name);
    cr_expect_eq(word(ip + 2), inner_len + FP_TEST_VXLAN_ROOM - ETH_HDR_LEN, "%s: length", name);
    cr_expect_eq(word(ip + 6), 0x4000, "%s: DF, not a fragment", name);
    cr_expect_eq(ip[8], FP_TEST_TTL, "%s: the node's TTL", name);
    cr_expect_eq(ip[9], 17, "%s: UDP", name);
    cr_expect(!memcmp(ip + 12, &node, 4), "%s: from this node", name);
    cr_expect(!memcmp(ip + 16, &peer, 4), "%s: to the peer", name);
    cr_expect_geq(word(udp), 49152, "%s: source port %u from the dynamic range (RFC 7348)",
                  name, word(udp));
    cr_expect_eq(word(udp + 2), FP_TEST_VXLAN_PORT, "%s: VXLAN port", name);
    cr_expect_eq(word(udp + 4), inner_len + 16, "%s: UDP length", name);
    cr_expect_eq(word(udp + 6), 0, "%s: UDP checksum 0 (RFC 7348 section 5)", name);
    cr_expect_eq(vx[0], 0x08, "%s: I flag", name);
    cr_expect(!vx[1] && !vx[2] && !vx[3] && !vx[7], "%s: reserved fields zero", name);
    cr_expect_eq((uint32_t) vx[4] << 16 | vx[5] << 8 | vx[6], FP_TEST_VNI, "%s: VNI", name);
}

static size_t case_index[sizeof cases / sizeof cases[0]];

ParameterizedTestParameters(fastpath_vxlan, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        case_index[i] = i;
    }
    return cr_make_param_array(size_t, case_index, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(size_t *index, fastpath_vxlan, table)
{
    const struct vx_case *c = &cases[*index];
    uint8_t in[4096], out[4096], want[4096];
    size_t out_len = sizeof out, in_len, want_len, skip;
    uint32_t slot = *index + 3, ifindex, flags;
    uint64_t counters[FP_R_MAX], total = 0;
    struct fp_action act;
    struct fp_key key;
    struct fp_stats st;
    struct offload *o;
    int verdict;

    o = fp_test_setup(NULL, 1024);
    in_len = c->prog == PROG_POD ? pkt_build(&c->inner, in, sizeof in)
                                 : fp_test_vxlan_build(&c->outer, &c->inner, in, sizeof in);
    if (c->bundle) {
        size_t dgram = in_len - ETH_HDR_LEN - 28, ip_len;

        memcpy(in + in_len, in + ETH_HDR_LEN + 28, dgram);
        in_len += dgram;
        ip_len = in_len - ETH_HDR_LEN;
        in[ETH_HDR_LEN + 2] = ip_len >> 8;
        in[ETH_HDR_LEN + 3] = ip_len;
        in[ETH_HDR_LEN + 24] = (ip_len - 20) >> 8;
        in[ETH_HDR_LEN + 25] = ip_len - 20;
    }
    if (c->install) {
        flow_of(c, slot, &key, &act);
        cr_assert_eq(offload_flow_put(o, &key, &act), 0, "%s: install", c->name);
    }
    verdict = c->prog == PROG_POD
        ? fp_test_run(o, false, in, in_len, out, &out_len, c->gso_size)
        : fp_test_run_underlay(o, in, in_len, out, &out_len, c->gso_size);
    cr_assert_eq(verdict, c->verdict, "%s: verdict %d, want %d", c->name, verdict, c->verdict);

    cr_assert_eq(offload_counters(o, counters), 0);
    for (int r = 0; r < FP_R_MAX; r++) {
        total += counters[r];
    }
    if (c->reason == FP_R_MAX) {
        cr_expect_eq(total, 0, "%s: counted", c->name);
    } else {
        cr_expect_eq(counters[c->reason], 1, "%s: reason %s not counted", c->name,
                     offload_reason_name(c->reason));
        cr_expect_eq(total, 1, "%s: %" PRIu64 " reasons for one frame", c->name, total);
    }
    cr_assert_eq(offload_stats_get(o, slot, &st), 0);
    if (verdict != TC_ACT_REDIRECT) {
        cr_expect_eq(out_len, in_len, "%s", c->name);
        cr_expect(!memcmp(out, in, in_len), "%s: a frame that passes is untouched", c->name);
        cr_expect_eq(st.packets, 0, "%s", c->name);
        offload_close(o);
        return;
    }

    /* The (inner) frame, byte for byte; encapsulated, after the outer headers, which are
     * checked field by field (the source port is a hash). */
    want_len = pkt_build(&c->out, want, sizeof want);
    skip = c->prog == PROG_POD ? FP_TEST_VXLAN_ROOM : 0;
    cr_assert_eq(out_len, want_len + skip, "%s: length %zu, want %zu", c->name, out_len,
                 want_len + skip);
    for (size_t i = 0; i < want_len; i++) {
        cr_expect_eq(out[skip + i], want[i], "%s: byte %zu is %02x, want %02x", c->name,
                     skip + i, out[skip + i], want[i]);
        if (out[skip + i] != want[i]) {
            break;
        }
    }
    cr_expect(pkt_ip_csum_ok(out + skip, want_len), "%s: IP checksum", c->name);
    cr_expect(pkt_l4_csum_ok(out + skip, want_len), "%s: L4 checksum", c->name);
    if (skip) {
        expect_outer(c->name, out, want_len);
    }
    offload_last_redirect(o, &ifindex, &flags);
    cr_expect_eq(ifindex, act.out_ifindex, "%s: redirected to %u", c->name, ifindex);
    cr_expect_eq(st.packets, 1, "%s", c->name);
    cr_expect_eq(st.bytes, c->prog == PROG_POD ? in_len : want_len,
                 "%s: counts the inner frame, as the switch does", c->name);
    offload_close(o);
}

/* One flow, one source port: the underlay's ECMP and the receiver's RSS keep its order. */
Test(fastpath_vxlan, source_port_is_the_flows)
{
    struct vx_case c = cases[0];
    struct pkt_spec other = to_remote_pod;
    uint8_t in[512], out[512];
    uint16_t sport[3];
    struct fp_action act;
    struct fp_key key;
    struct offload *o;

    o = fp_test_setup(NULL, 64);
    for (int i = 0; i < 3; i++) {
        size_t out_len = sizeof out, len;

        other.sport = i < 2 ? 40000 : 40001;
        c.inner = other;
        flow_of(&c, 1, &key, &act);
        cr_assert_eq(offload_flow_put(o, &key, &act), 0);
        len = pkt_build(&other, in, sizeof in);
        cr_assert_eq(fp_test_run(o, false, in, len, out, &out_len, 0), TC_ACT_REDIRECT);
        sport[i] = word(out + ETH_HDR_LEN + 20);
    }
    cr_expect_eq(sport[0], sport[1], "one flow, two source ports");
    cr_expect_neq(sport[0], sport[2], "two flows, one source port (a 1 in 16384 chance)");
    offload_close(o);
}

Test(fastpath_vxlan, put_refuses_a_tunnel_without_peer_or_mtu)
{
    struct fp_action act;
    struct fp_key key;
    struct offload *o;

    o = fp_test_setup(NULL, 64);
    flow_of(&cases[0], 1, &key, &act);
    act.tun_mtu = 0;
    cr_expect_eq(offload_flow_put(o, &key, &act), -EINVAL, "no MTU");
    act.tun_mtu = 1450;
    act.tun_dst = 0;
    cr_expect_eq(offload_flow_put(o, &key, &act), -EINVAL, "no peer");
    addr_parse_ip(FP_TEST_PEER, &act.tun_dst);
    act.flags |= FP_ACT_PEER;
    cr_expect_eq(offload_flow_put(o, &key, &act), -EINVAL, "two ways out");
    act.flags &= ~FP_ACT_PEER;
    act.pad = 1;
    cr_expect_eq(offload_flow_put(o, &key, &act), -EINVAL, "dirty pad");
    act.pad = 0;
    cr_expect_eq(offload_flow_put(o, &key, &act), 0);
    offload_close(o);
}
