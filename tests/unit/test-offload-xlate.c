/* Translation of the switch's decisions into fast-path flows (dp/offload-xlate.c), and the
 * tiers' equivalence: for every flow the kernel tier accepts, the frame the tc program makes
 * (under BPF_PROG_TEST_RUN) is byte for byte the frame actions_execute() makes in user space
 * from the same action list. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include "dp/conntrack.h"
#include "dp/net-headers.h"
#include "dp/offload-xlate.h"
#include "fastpath-helpers.h"
#include "lib/addr.h"
#include "lib/log.h"

#define CLIENT_MAC "02:00:00:00:01:02"
#define BACKEND_MAC "02:00:00:00:01:03"
#define GW_MAC "0a:58:0a:f4:01:01"

/* Switch ports 1 and 4 are ifindex 1, the device BPF_PROG_TEST_RUN runs on; port 5 is the
 * overlay, on underlay device 20. */
static bool test_port(uint32_t port, void *aux, struct offload_port *out)
{
    switch (port) {
    case 5: *out = (struct offload_port) { 20, OFFLOAD_PORT_VXLAN }; return true;
    case 1: *out = (struct offload_port) { FP_TEST_IFINDEX, OFFLOAD_PORT_VETH }; return true;
    case 2: *out = (struct offload_port) { 12, OFFLOAD_PORT_VETH }; return true;
    case 3: *out = (struct offload_port) { 13, OFFLOAD_PORT_TAP }; return true;
    case 4: *out = (struct offload_port) { FP_TEST_IFINDEX, OFFLOAD_PORT_TAP }; return true;
    default: return false;
    }
}

static struct eth_addr mac(const char *s)
{
    struct eth_addr m;

    addr_parse_mac(s, &m);
    return m;
}

static be32 ip(const char *s)
{
    be32 a;

    addr_parse_ip(s, &a);
    return a;
}

static void dnat(struct action_list *l)
{
    actions_ct(l, 3, 7, CT_DIR_ORIG);
    actions_nat(l, ip("10.244.1.2"), htons(40000), ip("10.244.1.3"), htons(8080));
    actions_set_eth(l, mac(GW_MAC), mac(BACKEND_MAC));
    actions_dec_ttl(l);
    actions_output(l, 2);
}

static void undnat(struct action_list *l)
{
    actions_ct(l, 3, 7, CT_DIR_REPLY);
    actions_dec_ttl(l);
    actions_nat(l, ip("10.96.0.10"), htons(80), ip("10.244.1.2"), htons(40000));
    actions_set_eth(l, mac(GW_MAC), mac(CLIENT_MAC));
    actions_output(l, 2);
}

static void masquerade(struct action_list *l)
{
    actions_ct(l, 4, 1, CT_DIR_ORIG);
    actions_nat(l, ip("10.244.1.1"), htons(61000), ip("10.244.1.3"), htons(8080));
    actions_set_eth(l, mac(GW_MAC), mac(BACKEND_MAC));
    actions_dec_ttl(l);
    actions_output(l, 2);
}

static void routed_to_tap(struct action_list *l)
{
    actions_set_eth(l, mac(GW_MAC), mac(BACKEND_MAC));
    actions_dec_ttl(l);
    actions_output(l, 3);
}

static void routed_to_veth(struct action_list *l)
{
    actions_policy(l, 2);
    actions_set_eth(l, mac(GW_MAC), mac(BACKEND_MAC));
    actions_dec_ttl(l);
    actions_output(l, 2);
}

/* Pod to a pod on a peer node, as the pipeline routes it. */
static void tunnel(struct action_list *l)
{
    actions_set_eth(l, mac(GW_MAC), mac(BACKEND_MAC));
    actions_dec_ttl(l);
    actions_tunnel(l, ip(FP_TEST_PEER), 0, 1450, ip("10.244.1.1"));
    actions_output(l, 5);
}

/* DSR over the overlay: only the MAC, to the backend's node. */
static void dsr_tunnel(struct action_list *l)
{
    actions_policy(l, 1);
    actions_set_eth(l, mac(GW_MAC), mac(BACKEND_MAC));
    actions_tunnel(l, ip(FP_TEST_PEER), 0, 1450, ip("10.244.1.1"));
    actions_output(l, 5);
}

/* A tunnel without its output, or an output to the overlay without a tunnel. */
static void tunnel_to_pod(struct action_list *l)
{
    actions_tunnel(l, ip(FP_TEST_PEER), 0, 1450, ip("10.244.1.1"));
    actions_output(l, 2);
}

static void overlay_untunneled(struct action_list *l)
{
    actions_output(l, 5);
}

static void dropped(struct action_list *l)
{
    actions_drop(l, DROP_NO_BACKEND);
}

static void rejected(struct action_list *l)
{
    actions_reject(l, 1, mac(GW_MAC), mac(CLIENT_MAC));
}

static void to_unknown(struct action_list *l)
{
    actions_output(l, 9);
}

static void hairpin(struct action_list *l)
{
    actions_output(l, 1);
}

static void twice_nat(struct action_list *l)
{
    actions_nat(l, ip("10.244.1.2"), htons(1), ip("10.244.1.3"), htons(2));
    actions_nat(l, ip("10.244.1.2"), htons(3), ip("10.244.1.3"), htons(4));
    actions_output(l, 2);
}

#define TO_VIP { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = "10.244.1.2", \
                 .ip_dst = "10.96.0.10", .sport = 40000, .dport = 80, .tcp_flags = TCP_ACK, \
                 .payload = 64 }

struct xlate_case {
    const char *name;
    struct pkt_spec spec;
    uint32_t in_port;
    void (*build)(struct action_list *);
    const char *why;                    /* NULL: translated. */
    uint32_t flags;
    uint32_t out;
    uint32_t cookie;
    const char *tun_src;                /* In from this peer (in-port 5). */
};

static const struct xlate_case cases[] = {
    { "DNAT to a veth: the peer's netns", TO_VIP, 1, dnat, NULL,
      FP_ACT_SET_DST | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_PEER, 12, 7, NULL },
    { "un-DNAT", { .eth_src = BACKEND_MAC, .eth_dst = GW_MAC, .ip_src = "10.244.1.3",
                   .ip_dst = "10.244.1.2", .sport = 8080, .dport = 40000,
                   .tcp_flags = TCP_ACK, .payload = 64 },
      1, undnat, NULL, FP_ACT_SET_SRC | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_PEER, 12, 7, NULL },
    { "UDP DNAT", { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = "10.244.1.2",
                    .ip_dst = "10.96.0.10", .proto = 17, .sport = 40000, .dport = 80,
                    .payload = 20 },
      1, dnat, NULL, FP_ACT_SET_DST | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_PEER, 12, 7, NULL },
    { "non-DSR: source and destination", TO_VIP, 1, masquerade, NULL,
      FP_ACT_SET_SRC | FP_ACT_SET_DST | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_PEER, 12, 1, NULL },
    { "to a TAP: its receive path", TO_VIP, 1, routed_to_tap, NULL,
      FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_INGRESS, 13, 0, NULL },
    { "from a TAP to a veth: the host end's transmit", TO_VIP, 4, routed_to_veth, NULL,
      FP_ACT_DEC_TTL | FP_ACT_SET_ETH, 12, 0, NULL },
    { "to a peer: VXLAN in the kernel", TO_VIP, 1, tunnel, NULL,
      FP_ACT_SET_ETH | FP_ACT_DEC_TTL | FP_ACT_TUNNEL, 20, 0, NULL },
    { "DSR to a peer: the MAC only", TO_VIP, 1, dsr_tunnel, NULL,
      FP_ACT_SET_ETH | FP_ACT_TUNNEL, 20, 0, NULL },
    { "from a peer: DNAT into the pod's netns", { .eth_src = GW_MAC, .eth_dst = CLIENT_MAC,
      .ip_src = "10.244.1.2", .ip_dst = "10.96.0.10", .sport = 40000, .dport = 80,
      .tcp_flags = TCP_ACK, .payload = 64 },
      5, dnat, NULL, FP_ACT_SET_DST | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | FP_ACT_PEER, 12, 7,
      FP_TEST_PEER },
    { "from a peer back to the overlay", TO_VIP, 5, tunnel, "hairpin", 0, 0, 0,
      FP_TEST_PEER },
    { "a tunnel that outputs to a pod", TO_VIP, 1, tunnel_to_pod,
      "tunnel action and output disagree", 0, 0, 0, NULL },
    { "to the overlay without a tunnel", TO_VIP, 1, overlay_untunneled,
      "tunnel action and output disagree", 0, 0, 0, NULL },
    { "drops stay up", TO_VIP, 1, dropped, "drop", 0, 0, 0, NULL },
    { "rejects stay up", TO_VIP, 1, rejected, "reject", 0, 0, 0, NULL },
    { "out-port without fast path", TO_VIP, 1, to_unknown, "out-port without fast path", 0,
      0, 0, NULL },
    { "in-port without fast path", TO_VIP, 9, dnat, "in-port without fast path", 0, 0, 0, NULL },
    { "hairpin", TO_VIP, 1, hairpin, "hairpin", 0, 0, 0, NULL },
    { "two NATs", TO_VIP, 1, twice_nat, "two NAT actions", 0, 0, 0, NULL },
    { "ARP", { .eth_src = CLIENT_MAC, .eth_dst = "ff:ff:ff:ff:ff:ff", .eth_type = 0x0806,
               .arp_spa = "10.244.1.2", .arp_tpa = "10.244.1.1" },
      1, routed_to_veth, "not IPv4", 0, 0, 0, NULL },
    { "ICMP", { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = "10.244.1.2",
                .ip_dst = "10.244.1.3", .proto = 1, .sport = 8 },
      1, routed_to_veth, "not TCP or UDP", 0, 0, 0, NULL },
    { "fragment", { .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = "10.244.1.2",
                    .ip_dst = "10.244.1.3", .proto = 17, .sport = 1, .dport = 2,
                    .frag_off = 0x2000, .payload = 16 },
      1, routed_to_veth, "fragment", 0, 0, 0, NULL },
};

static size_t case_index[sizeof cases / sizeof cases[0]];

ParameterizedTestParameters(offload_xlate, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        case_index[i] = i;
    }
    return cr_make_param_array(size_t, case_index, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(size_t *index, offload_xlate, table)
{
    const struct xlate_case *c = &cases[*index];
    struct packet *pkt = packet_array_alloc(1);
    struct actions_ctx ctx = { .now_ms = 1 };
    uint8_t frame[512], out[512];
    size_t len = pkt_build(&c->spec, frame, sizeof frame), out_len = sizeof out;
    struct action_list list;
    struct flow_key key;
    struct fp_key fk;
    struct fp_action fa;
    const char *why;
    uint32_t ifindex, flags;
    struct offload *o;
    int rc;

    log_set_level(LOG_LVL_ERR);
    action_list_init(&list);
    c->build(&list);
    cr_assert_eq(packet_set_frame(pkt, frame, len), 0);
    if (c->tun_src) {
        addr_parse_ip(c->tun_src, &pkt->tun_src);
    }
    cr_assert_eq(flow_key_extract(pkt, c->in_port, &key), DROP_NONE);

    rc = offload_xlate(&key, &list, 5, test_port, NULL, &fk, &fa, &why);
    if (c->why) {
        cr_expect_eq(rc, -EOPNOTSUPP, "%s", c->name);
        cr_expect_str_eq(why ? why : "(none)", c->why, "%s", c->name);
        packet_array_free(pkt, 1);
        return;
    }
    cr_assert_eq(rc, 0, "%s: refused: %s", c->name, why);
    cr_expect_eq(fa.flags, c->flags, "%s: flags %#x, want %#x", c->name, fa.flags, c->flags);
    cr_expect_eq(fa.out_ifindex, c->out, "%s", c->name);
    cr_expect_eq(fa.cookie, c->cookie, "%s", c->name);
    cr_expect_eq(fa.stats_slot, 5, "%s", c->name);

    cr_expect_eq(fk.ifindex, c->tun_src ? 0 : FP_TEST_IFINDEX, "%s: in-port", c->name);
    cr_expect_eq(fk.tun_src, pkt->tun_src, "%s: tunnel source", c->name);

    /* The same list in both tiers gives the same frame: from a peer, the kernel's from the
     * datagram the peer sent; to a peer, the kernel's inside the headers it added (the
     * switch's port adds them in user space, test-fastpath-vxlan.c checks them).  (ACTION_CT
     * in user space needs a flow-pair table; it only counts, so the user-space run leaves it
     * out.) */
    o = fp_test_open(NULL, 64);
    cr_assert_eq(offload_flow_put(o, &fk, &fa), 0, "%s", c->name);
    if (c->tun_src) {
        struct fp_vxlan_spec v = { c->tun_src, FP_TEST_NODE, 50000, FP_TEST_VXLAN_PORT, 0x08,
                                   FP_TEST_VNI };
        uint8_t dgram[512];
        size_t dgram_len = fp_test_vxlan_build(&v, &c->spec, dgram, sizeof dgram);

        cr_assert_eq(fp_test_run_underlay(o, dgram, dgram_len, out, &out_len, 0),
                     TC_ACT_REDIRECT, "%s: the kernel tier did not execute it", c->name);
    } else {
        cr_assert_eq(fp_test_run(o, false, frame, len, out, &out_len, 0), TC_ACT_REDIRECT,
                     "%s: the kernel tier did not execute it", c->name);
    }
    if (fa.flags & FP_ACT_TUNNEL) {
        cr_assert_geq(out_len, FP_TEST_VXLAN_ROOM, "%s", c->name);
        out_len -= FP_TEST_VXLAN_ROOM;
        memmove(out, out + FP_TEST_VXLAN_ROOM, out_len);
    }
    offload_last_redirect(o, &ifindex, &flags);
    cr_expect_eq(ifindex, c->out, "%s", c->name);
    {
        struct action_list counted_elsewhere;

        action_list_init(&counted_elsewhere);
        for (size_t i = 0; i < list.n; i++) {
            if (list.a[i].type != ACTION_CT && list.a[i].type != ACTION_POLICY) {
                counted_elsewhere.a[counted_elsewhere.n++] = list.a[i];
            }
        }
        cr_assert_eq(actions_execute(&counted_elsewhere, pkt, &ctx), 0, "%s", c->name);
    }
    cr_assert_neq(pkt->out_port, 0, "%s: user space dropped it", c->name);
    cr_assert_eq(out_len, pkt->len, "%s", c->name);
    for (size_t i = 0; i < out_len; i++) {
        cr_expect_eq(out[i], pkt->data[i], "%s: byte %zu: kernel %02x, user space %02x",
                     c->name, i, out[i], pkt->data[i]);
        if (out[i] != pkt->data[i]) {
            break;
        }
    }
    offload_close(o);
    packet_array_free(pkt, 1);
}
