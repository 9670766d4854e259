/* The kernel fast path's tc program under BPF_PROG_TEST_RUN, table-driven as Cilium's
 * bpf/tests: {description, installed flow, input frame, expected verdict, expected output
 * frame, counter}.  Each case loads the program through offload_open(), as vswitchd does, so
 * the verifier judges it on this kernel; the tests need root and fail (not skip) without.
 *
 * Not expressible here: CHECKSUM_PARTIAL.  BPF_PROG_TEST_RUN builds a CHECKSUM_NONE skb and
 * struct __sk_buff has no field for ip_summed or csum_start, so the partial branch of the
 * kernel's inet_proto_csum_replace4() (only the pseudo-header part of the field changes) is
 * exercised by test-offload.c instead, with a real CHECKSUM_PARTIAL frame sent through a
 * veth and completed by the kernel after the program rewrote it. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <string.h>

#include "dp/net-headers.h"
#include "fastpath-helpers.h"
#include "lib/addr.h"
#include "lib/log.h"

#define CLIENT_MAC "02:00:00:00:01:02"
#define BACKEND_MAC "02:00:00:00:01:03"
#define OTHER_MAC "02:00:00:00:01:66"
#define GW_MAC "0a:58:0a:f4:01:01"
#define CLIENT "10.244.1.2"
#define BACKEND "10.244.1.3"
#define VIP "10.96.0.10"
#define ACK_PSH (TCP_ACK | 0x08)

/* An action in the table's words. */
struct act_spec {
    uint32_t flags, out;
    const char *eth_dst, *eth_src;
    const char *src, *dst;              /* "IP:PORT" for FP_ACT_SET_SRC / FP_ACT_SET_DST. */
};

struct fp_case {
    const char *name;
    struct pkt_spec in;
    bool install;                       /* A flow for 'in''s key (or 'flow_key_of''s). */
    const struct pkt_spec *flow_key_of;
    uint32_t flow_ifindex;              /* Non-zero: the flow's in-port instead of ours. */
    struct act_spec act;
    int verdict;
    struct pkt_spec out;                /* The expected frame if redirected. */
    enum fp_reason reason;
    bool udp_no_csum;                   /* Zero the UDP checksum in 'in' and 'out'. */
    uint32_t gso_size;
    size_t truncate;                    /* Bytes cut off the end of 'in'. */
};

static const struct pkt_spec client_to_vip = {
    .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
    .sport = 40000, .dport = 80, .tcp_flags = ACK_PSH, .payload = 100,
};

static const struct pkt_spec spoofed_src = {
    .eth_src = OTHER_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
    .sport = 40000, .dport = 80, .tcp_flags = ACK_PSH, .payload = 100,
};

#define DNAT_ACT { FP_ACT_SET_DST | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_PEER, 7, \
                   BACKEND_MAC, GW_MAC, NULL, BACKEND ":8080" }

static const struct fp_case cases[] = {
    { .name = "no flow: up untouched", .in = client_to_vip,
      .verdict = TC_ACT_OK, .reason = FP_R_UP_NO_FLOW },
    { .name = "DNAT forward: dst IP:port, MACs, TTL-1, to the backend's netns",
      .in = client_to_vip, .install = true, .act = DNAT_ACT, .verdict = TC_ACT_REDIRECT,
      .out = { .eth_src = GW_MAC, .eth_dst = BACKEND_MAC, .ip_src = CLIENT, .ip_dst = BACKEND,
               .sport = 40000, .dport = 8080, .tcp_flags = ACK_PSH, .payload = 100, .ttl = 63 },
      .reason = FP_R_EXEC },
    { .name = "un-DNAT reply: src back to VIP:port",
      .in = { .eth_src = BACKEND_MAC, .eth_dst = GW_MAC, .ip_src = BACKEND, .ip_dst = CLIENT,
              .sport = 8080, .dport = 40000, .tcp_flags = TCP_ACK, .payload = 1000 },
      .install = true,
      .act = { FP_ACT_SET_SRC | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_PEER, 5, CLIENT_MAC,
               GW_MAC, VIP ":80", NULL },
      .verdict = TC_ACT_REDIRECT,
      .out = { .eth_src = GW_MAC, .eth_dst = CLIENT_MAC, .ip_src = VIP, .ip_dst = CLIENT,
               .sport = 80, .dport = 40000, .tcp_flags = TCP_ACK, .payload = 1000, .ttl = 63 },
      .reason = FP_R_EXEC },
    { .name = "UDP DNAT",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .proto = 17, .sport = 5000, .dport = 53, .payload = 33 },
      .install = true,
      .act = { FP_ACT_SET_DST | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_PEER, 7, BACKEND_MAC,
               GW_MAC, NULL, BACKEND ":5353" },
      .verdict = TC_ACT_REDIRECT,
      .out = { .eth_src = GW_MAC, .eth_dst = BACKEND_MAC, .ip_src = CLIENT, .ip_dst = BACKEND,
               .proto = 17, .sport = 5000, .dport = 5353, .payload = 33, .ttl = 63 },
      .reason = FP_R_EXEC },
    { .name = "UDP without checksum (RFC 768) stays without",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .proto = 17, .sport = 5000, .dport = 53, .payload = 8 },
      .install = true,
      .act = { FP_ACT_SET_DST | FP_ACT_SET_ETH | FP_ACT_PEER, 7, BACKEND_MAC, GW_MAC, NULL,
               BACKEND ":5353" },
      .verdict = TC_ACT_REDIRECT,
      .out = { .eth_src = GW_MAC, .eth_dst = BACKEND_MAC, .ip_src = CLIENT, .ip_dst = BACKEND,
               .proto = 17, .sport = 5000, .dport = 5353, .payload = 8 },
      .reason = FP_R_EXEC, .udp_no_csum = true },
    { .name = "routed pod to pod, to a device's egress",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = BACKEND,
              .sport = 40001, .dport = 8080, .tcp_flags = TCP_ACK, .payload = 10 },
      .install = true,
      .act = { FP_ACT_DEC_TTL | FP_ACT_SET_ETH, 9, BACKEND_MAC, GW_MAC, NULL, NULL },
      .verdict = TC_ACT_REDIRECT,
      .out = { .eth_src = GW_MAC, .eth_dst = BACKEND_MAC, .ip_src = CLIENT, .ip_dst = BACKEND,
               .sport = 40001, .dport = 8080, .tcp_flags = TCP_ACK, .payload = 10, .ttl = 63 },
      .reason = FP_R_EXEC },
    { .name = "into a TAP's receive path",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = BACKEND,
              .sport = 40001, .dport = 8080, .tcp_flags = TCP_ACK, .payload = 10 },
      .install = true,
      .act = { FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_INGRESS, 11, BACKEND_MAC, GW_MAC, NULL,
               NULL },
      .verdict = TC_ACT_REDIRECT,
      .out = { .eth_src = GW_MAC, .eth_dst = BACKEND_MAC, .ip_src = CLIENT, .ip_dst = BACKEND,
               .sport = 40001, .dport = 8080, .tcp_flags = TCP_ACK, .payload = 10, .ttl = 63 },
      .reason = FP_R_EXEC },
    { .name = "a GSO frame keeps its gso_size",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .sport = 40000, .dport = 80, .tcp_flags = ACK_PSH, .payload = 2896 },
      .install = true, .act = DNAT_ACT, .verdict = TC_ACT_REDIRECT,
      .out = { .eth_src = GW_MAC, .eth_dst = BACKEND_MAC, .ip_src = CLIENT, .ip_dst = BACKEND,
               .sport = 40000, .dport = 8080, .tcp_flags = ACK_PSH, .payload = 2896,
               .ttl = 63 },
      .reason = FP_R_EXEC, .gso_size = 1448 },
    { .name = "TTL 1 on an L2 flow (no TTL action) is executed",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = BACKEND_MAC, .ip_src = CLIENT,
              .ip_dst = BACKEND, .sport = 40002, .dport = 8080, .tcp_flags = TCP_ACK,
              .ttl = 1 },
      .install = true, .act = { FP_ACT_PEER, 4, NULL, NULL, NULL, NULL },
      .verdict = TC_ACT_REDIRECT,
      .out = { .eth_src = CLIENT_MAC, .eth_dst = BACKEND_MAC, .ip_src = CLIENT,
               .ip_dst = BACKEND, .sport = 40002, .dport = 8080, .tcp_flags = TCP_ACK,
               .ttl = 1 },
      .reason = FP_R_EXEC },
    { .name = "TTL 1 on a routed flow goes up (ICMP time exceeded is the switch's)",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .sport = 40000, .dport = 80, .tcp_flags = TCP_ACK, .ttl = 1 },
      .install = true, .act = DNAT_ACT, .verdict = TC_ACT_OK, .reason = FP_R_UP_TTL },
    { .name = "SYN goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .sport = 40000, .dport = 80, .tcp_flags = TCP_SYN },
      .install = true, .act = DNAT_ACT, .verdict = TC_ACT_OK, .reason = FP_R_UP_TCP_CONTROL },
    { .name = "FIN goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .sport = 40000, .dport = 80, .tcp_flags = TCP_FIN | TCP_ACK },
      .install = true, .act = DNAT_ACT, .verdict = TC_ACT_OK, .reason = FP_R_UP_TCP_CONTROL },
    { .name = "RST goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .sport = 40000, .dport = 80, .tcp_flags = TCP_RST },
      .install = true, .act = DNAT_ACT, .verdict = TC_ACT_OK, .reason = FP_R_UP_TCP_CONTROL },
    { .name = "first fragment goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .proto = 17, .sport = 5000, .dport = 53, .frag_off = 0x2000, .payload = 64 },
      .install = true, .act = DNAT_ACT, .verdict = TC_ACT_OK, .reason = FP_R_UP_FRAGMENT },
    { .name = "later fragment goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .proto = 17, .frag_off = 8, .payload = 64 },
      .verdict = TC_ACT_OK, .reason = FP_R_UP_FRAGMENT },
    { .name = "IP options go up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .sport = 40000, .dport = 80, .tcp_flags = TCP_ACK, .ihl = 6 },
      .verdict = TC_ACT_OK, .reason = FP_R_UP_IP_OPTIONS },
    { .name = "spoofed source MAC matches no flow", .in = spoofed_src, .install = true,
      .flow_key_of = &client_to_vip, .act = DNAT_ACT, .verdict = TC_ACT_OK,
      .reason = FP_R_UP_NO_FLOW },
    { .name = "a flow of another in-port does not match", .in = client_to_vip,
      .install = true, .flow_ifindex = 42, .act = DNAT_ACT, .verdict = TC_ACT_OK,
      .reason = FP_R_UP_NO_FLOW },
    { .name = "ARP goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = "ff:ff:ff:ff:ff:ff", .eth_type = ETH_TYPE_ARP,
              .arp_spa = CLIENT, .arp_tpa = "10.244.1.1" },
      .verdict = TC_ACT_OK, .reason = FP_R_UP_NOT_IPV4 },
    { .name = "VLAN-tagged goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .vlan = 5, .ip_src = CLIENT,
              .ip_dst = VIP, .sport = 40000, .dport = 80, .tcp_flags = TCP_ACK },
      .verdict = TC_ACT_OK, .reason = FP_R_UP_NOT_IPV4 },
    { .name = "ICMP goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .proto = 1, .sport = 8 },
      .verdict = TC_ACT_OK, .reason = FP_R_UP_PROTO },
    { .name = "truncated TCP header goes up",
      .in = { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
              .proto = 6, .frag_off = 0x4000 /* DF */ },
      .truncate = 10, .verdict = TC_ACT_OK, .reason = FP_R_UP_SHORT },
};

static void mac_into(uint8_t dst[6], const char *s)
{
    struct eth_addr m = { { 0 } };

    if (s) {
        addr_parse_mac(s, &m);
    }
    memcpy(dst, m.a, 6);
}

static void ip_port_into(const char *s, be32 *ip, be16 *port)
{
    uint16_t p = 0;

    if (s) {
        cr_assert_eq(addr_parse_ip_port(s, ip, &p), 0, "%s", s);
        *port = htons(p);
    }
}

static struct fp_action action_of(const struct act_spec *s, uint32_t slot)
{
    struct fp_action a;

    memset(&a, 0, sizeof a);
    a.flags = s->flags;
    a.out_ifindex = s->out;
    mac_into(a.eth_dst, s->eth_dst);
    mac_into(a.eth_src, s->eth_src);
    ip_port_into(s->src, &a.nat_src, &a.nat_sport);
    ip_port_into(s->dst, &a.nat_dst, &a.nat_dport);
    a.stats_slot = slot;
    return a;
}

static size_t build(const struct pkt_spec *spec, bool udp_no_csum, uint8_t *buf, size_t size)
{
    size_t len = pkt_build(spec, buf, size);

    if (udp_no_csum) {
        memset(buf + ETH_HDR_LEN + IP_HDR_LEN + 6, 0, 2);
    }
    return len;
}

static size_t case_index[sizeof cases / sizeof cases[0]];

ParameterizedTestParameters(fastpath, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        case_index[i] = i;
    }
    return cr_make_param_array(size_t, case_index, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(size_t *index, fastpath, table)
{
    const struct fp_case *c = &cases[*index];
    uint8_t in[4096], out[4096], want[4096];
    size_t in_len = build(&c->in, c->udp_no_csum, in, sizeof in) - c->truncate;
    size_t out_len = sizeof out;
    uint32_t slot = *index + 3, ifindex = 0, flags = 0;
    uint64_t counters[FP_R_MAX], total = 0;
    struct fp_stats st;
    struct offload *o;
    int verdict;

    o = fp_test_setup(NULL, 1024);
    if (c->install) {
        struct fp_key key = fp_test_key(c->flow_key_of ? c->flow_key_of : &c->in);
        struct fp_action act = action_of(&c->act, slot);

        if (c->flow_ifindex) {
            key.ifindex = c->flow_ifindex;
        }
        cr_assert_eq(offload_flow_put(o, &key, &act), 0, "%s: install", c->name);
    }

    verdict = fp_test_run(o, false, in, in_len, out, &out_len, c->gso_size);
    cr_assert_eq(verdict, c->verdict, "%s: verdict %d, want %d", c->name, verdict, c->verdict);
    cr_assert_eq(offload_counters(o, counters), 0);
    for (int r = 0; r < FP_R_MAX; r++) {
        total += counters[r];
    }
    cr_expect_eq(counters[c->reason], 1, "%s: reason %s not counted", c->name,
                 offload_reason_name(c->reason));
    cr_expect_eq(total, 1, "%s: %" PRIu64 " reasons counted for one frame", c->name, total);
    cr_assert_eq(offload_stats_get(o, slot, &st), 0);

    if (c->verdict != TC_ACT_REDIRECT) {
        cr_expect_eq(out_len, in_len, "%s", c->name);
        cr_expect(!memcmp(out, in, in_len), "%s: a frame that goes up is untouched", c->name);
        cr_expect_eq(st.packets, 0, "%s", c->name);
    } else {
        size_t want_len = build(&c->out, c->udp_no_csum, want, sizeof want);

        cr_assert_eq(out_len, want_len, "%s", c->name);
        cr_expect(pkt_ip_csum_ok(out, out_len), "%s: IP checksum", c->name);
        cr_expect(c->udp_no_csum || pkt_l4_csum_ok(out, out_len), "%s: L4 checksum", c->name);
        for (size_t i = 0; i < want_len; i++) {
            cr_expect_eq(out[i], want[i], "%s: byte %zu is %02x, want %02x", c->name, i, out[i],
                         want[i]);
            if (out[i] != want[i]) {
                break;
            }
        }
        offload_last_redirect(o, &ifindex, &flags);
        cr_expect_eq(ifindex, c->act.out, "%s: redirected to %u", c->name, ifindex);
        cr_expect_eq(flags & (FP_ACT_PEER | FP_ACT_INGRESS),
                     c->act.flags & (FP_ACT_PEER | FP_ACT_INGRESS), "%s: how", c->name);
        cr_expect_eq(st.packets, 1, "%s", c->name);
        cr_expect_eq(st.bytes, in_len, "%s", c->name);
        cr_expect_neq(st.last_ns, 0, "%s", c->name);
        cr_expect_eq(offload_stats_array(o)[slot].packets, 1, "%s: the mapped counters",
                     c->name);
        cr_expect_eq(offload_stats_array(o)[slot].last_ns, st.last_ns, "%s", c->name);
    }
    offload_close(o);
}

/* The fast path with one flow: 'spec''s key, DNAT_ACT, counted in slot 1. */
static struct offload *with_dnat_flow(const struct pkt_spec *spec, struct fp_key *key)
{
    struct act_spec as = DNAT_ACT;
    struct fp_action act = action_of(&as, 1);
    struct offload *o = fp_test_setup(NULL, 64);

    *key = fp_test_key(spec);
    cr_assert_eq(offload_flow_put(o, key, &act), 0);
    return o;
}

/* "One tier per packet": the socket filter's decision binds tc even if the flow changes
 * between the two, which the switch may do at any moment. */
Test(fastpath, filter_decision_binds_tc_across_a_delete)
{
    uint8_t in[256], out[256];
    size_t len = pkt_build(&client_to_vip, in, sizeof in), out_len = sizeof out;
    uint64_t counters[FP_R_MAX];
    struct fp_key key;
    struct offload *o = with_dnat_flow(&client_to_vip, &key);

    cr_expect_eq(fp_test_run(o, true, in, len, NULL, NULL, 0), 0,
                 "the socket must not get a frame that tc executes");
    cr_assert_eq(offload_flow_del(o, &key), 0);
    cr_expect_eq(fp_test_run(o, false, in, len, out, &out_len, 0), TC_ACT_REDIRECT,
                 "a frame the socket dropped must still be forwarded");
    cr_assert_eq(offload_counters(o, counters), 0);
    cr_expect_eq(counters[FP_R_HANDOFF_EXEC], 1);
    cr_expect_eq(out[ETH_HDR_LEN + 8], 63, "the filter's copy of the action was executed");
    offload_close(o);
}

Test(fastpath, filter_decision_binds_tc_across_an_install)
{
    uint8_t in[256], out[256];
    size_t len = pkt_build(&client_to_vip, in, sizeof in), out_len = sizeof out;
    struct act_spec as = DNAT_ACT;
    struct fp_key key = fp_test_key(&client_to_vip);
    struct fp_action act = action_of(&as, 1);
    uint64_t counters[FP_R_MAX];
    struct offload *o;

    o = fp_test_setup(NULL, 64);
    cr_expect_eq(fp_test_run(o, true, in, len, NULL, NULL, 0), (int) len - ETH_HDR_LEN,
                 "with no flow the socket gets the whole frame");
    cr_assert_eq(offload_flow_put(o, &key, &act), 0);
    cr_expect_eq(fp_test_run(o, false, in, len, out, &out_len, 0), TC_ACT_OK,
                 "a frame user space took must not be forwarded by tc as well");
    cr_expect(!memcmp(in, out, len));
    cr_assert_eq(offload_counters(o, counters), 0);
    cr_expect_eq(counters[FP_R_UP_HANDOFF], 1);
    /* The slot was consumed: the next frame is tc's own decision. */
    out_len = sizeof out;
    cr_expect_eq(fp_test_run(o, false, in, len, out, &out_len, 0), TC_ACT_REDIRECT);
    offload_close(o);
}

Test(fastpath, stale_handoff_is_ignored)
{
    static const struct pkt_spec other = {
        .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
        .sport = 40009, .dport = 80, .tcp_flags = TCP_ACK,
    };
    uint8_t in[256], in2[256], out[256];
    size_t len = pkt_build(&client_to_vip, in, sizeof in), out_len = sizeof out;
    size_t len2 = pkt_build(&other, in2, sizeof in2);
    uint64_t counters[FP_R_MAX];
    struct fp_key key;
    struct offload *o = with_dnat_flow(&client_to_vip, &key);

    cr_expect_eq(fp_test_run(o, true, in, len, NULL, NULL, 0), 0);
    /* tc sees another frame (the first never reached it): its own lookup decides. */
    cr_expect_eq(fp_test_run(o, false, in2, len2, out, &out_len, 0), TC_ACT_OK);
    cr_assert_eq(offload_flow_del(o, &key), 0);
    out_len = sizeof out;
    cr_expect_eq(fp_test_run(o, false, in, len, out, &out_len, 0), TC_ACT_OK,
                 "a consumed slot is never used again");
    cr_assert_eq(offload_counters(o, counters), 0);
    cr_expect_eq(counters[FP_R_UP_NO_FLOW], 2);
    cr_expect_eq(counters[FP_R_HANDOFF_EXEC], 0);
    offload_close(o);
}

Test(fastpath, filter_leaves_control_packets_to_the_socket)
{
    static const struct pkt_spec syn = {
        .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = CLIENT, .ip_dst = VIP,
        .sport = 40000, .dport = 80, .tcp_flags = TCP_SYN,
    };
    uint8_t in[256];
    size_t len = pkt_build(&syn, in, sizeof in);
    struct fp_key key;
    struct offload *o = with_dnat_flow(&syn, &key);

    cr_expect_neq(fp_test_run(o, true, in, len, NULL, NULL, 0), 0);
    offload_close(o);
}

Test(fastpath, put_refuses_what_the_program_would_misread)
{
    struct act_spec as = DNAT_ACT;
    struct fp_key key = fp_test_key(&client_to_vip);
    struct fp_action act = action_of(&as, 1);
    struct offload *o;

    o = fp_test_setup(NULL, 64);
    key.pad[3] = 1;
    cr_expect_eq(offload_flow_put(o, &key, &act), -EINVAL, "dirty pad");
    key.pad[3] = 0;
    act.stats_slot = 64;
    cr_expect_eq(offload_flow_put(o, &key, &act), -EINVAL, "slot out of range");
    act.stats_slot = 1;
    act.flags |= 1u << 20;
    cr_expect_eq(offload_flow_put(o, &key, &act), -EINVAL, "unknown flag");
    act.flags = FP_ACT_PEER | FP_ACT_INGRESS;
    cr_expect_eq(offload_flow_put(o, &key, &act), -EINVAL, "two ways out");
    act.flags = FP_ACT_PEER;
    cr_expect_eq(offload_flow_put(o, &key, &act), 0);
    offload_close(o);
}

/* What a frame costs in the kernel tier, from BPF_PROG_TEST_RUN's own clock over many runs of
 * one skb.  Runs repeat on the same frame, so the executed flow rewrites nothing its key holds:
 * MACs set to the values they have, then counters and the redirect.  Printed, not judged. */
Test(fastpath, cost_per_frame)
{
    struct pkt_spec spec = client_to_vip;
    struct act_spec as = { FP_ACT_SET_ETH | FP_ACT_PEER, 7, GW_MAC, CLIENT_MAC, NULL, NULL };
    uint8_t in[256], out[256];
    size_t len = pkt_build(&spec, in, sizeof in);
    struct fp_key key = fp_test_key(&spec);
    struct fp_action act = action_of(&as, 1);
    struct __sk_buff ctx = { .ifindex = FP_TEST_IFINDEX };
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len, .data_out = out,
                .data_size_out = sizeof out, .ctx_in = &ctx, .ctx_size_in = sizeof ctx,
                .repeat = 200000);
    struct offload *o;
    uint32_t miss_ns;

    o = fp_test_setup(NULL, 1024);
    cr_assert_eq(bpf_prog_test_run_opts(offload_tc_fd(o), &opts), 0);
    cr_assert_eq(opts.retval, TC_ACT_OK);
    miss_ns = opts.duration;
    cr_assert_eq(offload_flow_put(o, &key, &act), 0);
    cr_assert_eq(bpf_prog_test_run_opts(offload_tc_fd(o), &opts), 0);
    cr_assert_eq(opts.retval, TC_ACT_REDIRECT);
    printf("fast path per frame: %u ns with no flow (up), %u ns executed\n", miss_ns,
           opts.duration);
    offload_close(o);
}
