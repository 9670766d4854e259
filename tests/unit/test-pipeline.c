/* The whole datapath pipeline on dummy ports, table-driven: {description, input port, input
 * frame, expected verdict, expected output port and rewritten fields}.  No root needed. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>

#include "dp/dp.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "pkt-builder.h"
#include "scene.h"

#define ROUTER "0a:58:0a:f4:01:01"
#define HOST_MAC "0a:58:ff:ff:ff:fe"
#define POD1_MAC "02:00:00:00:01:05"
#define POD2_MAC "02:00:00:00:01:06"
#define BCAST "ff:ff:ff:ff:ff:ff"

static struct scene *s;

static void setup(void)
{
    s = scene_new(&(struct dp_config) { .flow_cache_size = 128 });
    cr_assert_not_null(s);
    cr_assert_eq(scene_port(s, "pod1", "10.244.1.5", POD1_MAC), 0);
    cr_assert_eq(scene_port(s, "pod2", "10.244.1.6", POD2_MAC), 0);
    cr_assert_eq(scene_port(s, "pod3", "10.244.1.7", NULL), 0);
}

static void teardown(void)
{
    scene_free(s);
    s = NULL;
}

/* Takes every frame sent anywhere; returns how many, with the last one in 'buf'/'port'. */
static int drain(uint8_t *buf, size_t size, const char **port, int *len)
{
    int n = 0, r;

    while ((r = scene_take(s, buf, size, port, NULL)) >= 0) {
        *len = r;
        n++;
    }
    return n;
}

struct pipeline_case {
    const char *name;
    const char *in;
    struct pkt_spec spec;
    enum drop_reason want_drop;
    const char *want_port;
    const char *want_eth_src, *want_eth_dst;
    uint8_t want_ttl;                   /* 0: not checked. */
};

#define POD1_TO(DST_MAC, DST_IP, ...) \
    { .eth_src = POD1_MAC, .eth_dst = DST_MAC, .ip_src = "10.244.1.5", .ip_dst = DST_IP, \
      .sport = 4000, .dport = 80, __VA_ARGS__ }

static struct pipeline_case cases[] = {
    { "same subnet, L2 to the pod's MAC", "pod1", POD1_TO(POD2_MAC, "10.244.1.6"),
      .want_port = "pod2", .want_eth_src = POD1_MAC, .want_eth_dst = POD2_MAC,
      .want_ttl = 64 },
    { "routed at the gateway MAC", "pod1", POD1_TO(ROUTER, "10.244.1.6"),
      .want_port = "pod2", .want_eth_src = ROUTER, .want_eth_dst = POD2_MAC, .want_ttl = 63 },
    { "to the gateway itself", "pod1", POD1_TO(ROUTER, "10.244.1.1"),
      .want_port = "vsw0", .want_eth_src = ROUTER, .want_eth_dst = HOST_MAC,
      .want_ttl = 64 },
    { "out of the pod CIDR via the host", "pod1", POD1_TO(ROUTER, "192.0.2.9", .proto = 17),
      .want_port = "vsw0", .want_eth_src = ROUTER, .want_eth_dst = HOST_MAC, .want_ttl = 63 },
    { "node to pod", "vsw0",
      { .eth_src = HOST_MAC, .eth_dst = POD1_MAC, .ip_src = "10.244.1.1",
        .ip_dst = "10.244.1.5", .proto = 1, .sport = 8 },
      .want_port = "pod1", .want_eth_src = HOST_MAC, .want_eth_dst = POD1_MAC,
      .want_ttl = 64 },
    { "unknown pod in the CIDR", "pod1", POD1_TO(ROUTER, "10.244.1.99"),
      .want_drop = DROP_NO_ROUTE },
    { "spoofed source IP", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.6", .ip_dst = "10.244.1.1" },
      .want_drop = DROP_SPOOFED_IP },
    { "spoofed source MAC", "pod1",
      { .eth_src = POD2_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5", .ip_dst = "10.244.1.1" },
      .want_drop = DROP_SPOOFED_MAC },
    { "IPv6 is not switched", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = "33:33:00:00:00:01", .eth_type = 0x86dd },
      .want_drop = DROP_ETHERTYPE },
    { "broadcast IPv4 never floods", "pod1", POD1_TO(BCAST, "255.255.255.255", .proto = 17),
      .want_drop = DROP_MULTICAST },
    { "VLAN tag", "pod1", POD1_TO(ROUTER, "10.244.1.6", .vlan = 10),
      .want_drop = DROP_VLAN },
    { "TTL 1 is not routed", "pod1", POD1_TO(ROUTER, "10.244.1.6", .ttl = 1),
      .want_drop = DROP_TTL_EXCEEDED },
    { "TTL 1 within the subnet is switched", "pod1", POD1_TO(POD2_MAC, "10.244.1.6", .ttl = 1),
      .want_port = "pod2", .want_ttl = 1 },
    { "unknown destination MAC", "pod1", POD1_TO("02:99:99:99:99:99", "10.244.1.6"),
      .want_drop = DROP_UNKNOWN_DST_MAC },
    { "to itself by MAC", "pod1", POD1_TO(POD1_MAC, "10.244.1.5"), .want_drop = DROP_HAIRPIN },
    { "ARP for the gateway", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = BCAST, .eth_type = 0x0806, .arp_op = 1,
        .arp_spa = "10.244.1.5", .arp_tpa = "10.244.1.1" },
      .want_port = "pod1", .want_eth_src = ROUTER, .want_eth_dst = POD1_MAC },
    { "ARP for a pod", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = BCAST, .eth_type = 0x0806, .arp_op = 1,
        .arp_spa = "10.244.1.5", .arp_tpa = "10.244.1.6" },
      .want_port = "pod1", .want_eth_src = POD2_MAC, .want_eth_dst = POD1_MAC },
    { "node's ARP for a pod", "vsw0",
      { .eth_src = HOST_MAC, .eth_dst = BCAST, .eth_type = 0x0806, .arp_op = 1,
        .arp_spa = "10.244.1.1", .arp_tpa = "10.244.1.6" },
      .want_port = "vsw0", .want_eth_src = POD2_MAC, .want_eth_dst = HOST_MAC },
    { "ARP for an unknown address is not flooded", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = BCAST, .eth_type = 0x0806, .arp_op = 1,
        .arp_spa = "10.244.1.5", .arp_tpa = "10.244.1.99" },
      .want_drop = DROP_ARP_IGNORED },
    { "ARP for a silent pod's address is not answered", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = BCAST, .eth_type = 0x0806, .arp_op = 1,
        .arp_spa = "10.244.1.5", .arp_tpa = "10.244.1.7" },
      .want_drop = DROP_ARP_IGNORED },
    { "ARP with another pod's sender IP", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = BCAST, .eth_type = 0x0806, .arp_op = 1,
        .arp_spa = "10.244.1.6", .arp_tpa = "10.244.1.1" },
      .want_drop = DROP_SPOOFED_IP },
    { "ARP with another sender MAC", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = BCAST, .eth_type = 0x0806, .arp_op = 1,
        .arp_sha = POD2_MAC, .arp_spa = "10.244.1.5", .arp_tpa = "10.244.1.1" },
      .want_drop = DROP_SPOOFED_MAC },
    { "gratuitous ARP", "pod1",
      { .eth_src = POD1_MAC, .eth_dst = BCAST, .eth_type = 0x0806, .arp_op = 1,
        .arp_spa = "10.244.1.5", .arp_tpa = "10.244.1.5" },
      .want_drop = DROP_ARP_IGNORED },
};

/* Criterion may run each case in a re-executed process where the table's pointers would not
 * hold: pass indexes into the table, not the cases themselves. */
static size_t case_index[sizeof cases / sizeof cases[0]];

ParameterizedTestParameters(pipeline, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        case_index[i] = i;
    }
    return cr_make_param_array(size_t, case_index, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(size_t *index, pipeline, table, .init = setup,
                  .fini = teardown)
{
    const struct pipeline_case *c = &cases[*index];
    uint8_t out[2048];
    const char *out_port = NULL;
    int verdict, out_len = 0, n_out;

    verdict = scene_inject(s, c->in, &c->spec, NULL);
    cr_assert_eq(verdict, (int) c->want_drop, "%s: verdict %s, want %s", c->name,
                 verdict >= 0 ? drop_reason_name(verdict) : strerror(-verdict),
                 drop_reason_name(c->want_drop));
    n_out = drain(out, sizeof out, &out_port, &out_len);
    if (c->want_drop) {
        cr_assert_eq(n_out, 0, "%s: a dropped frame went out on %s", c->name, out_port);
        return;
    }
    cr_assert_eq(n_out, 1, "%s: %d frames sent", c->name, n_out);
    cr_assert_str_eq(out_port, c->want_port, "%s", c->name);
    if (c->want_eth_src) {
        char mac[ETH_STR_LEN];
        const struct eth_header *eth = (const void *) out;

        cr_expect_str_eq(addr_mac_str(eth->src, mac), c->want_eth_src, "%s: eth src", c->name);
        cr_expect_str_eq(addr_mac_str(eth->dst, mac), c->want_eth_dst, "%s: eth dst", c->name);
    }
    if (c->spec.eth_type == ETH_TYPE_ARP) {
        const struct arp_eth_header *arp = (const void *) (out + ETH_HDR_LEN);
        be32 want_spa;

        addr_parse_ip(c->spec.arp_tpa, &want_spa);
        cr_expect_eq(ntohs(arp->op), ARP_OP_REPLY, "%s", c->name);
        cr_expect_eq(arp->spa, want_spa, "%s: reply comes from the target", c->name);
        cr_expect(eth_addr_equals(arp->sha, ((const struct eth_header *) out)->src));
    }
    if (c->want_ttl) {
        cr_expect_eq(out[ETH_HDR_LEN + 8], c->want_ttl, "%s: ttl", c->name);
        cr_expect(pkt_ip_csum_ok(out, out_len), "%s: IP checksum", c->name);
        cr_expect(pkt_l4_csum_ok(out, out_len), "%s: L4 checksum", c->name);
    }
}

Test(pipeline, second_packet_hits_the_cache, .init = setup, .fini = teardown)
{
    struct pkt_spec spec = POD1_TO(ROUTER, "10.244.1.6");
    uint8_t frame[256];
    size_t len = pkt_build(&spec, frame, sizeof frame);
    struct dp_flow_info *flows;
    size_t n;

    cr_assert_eq(scene_inject(s, "pod1", &spec, NULL), 0);
    cr_assert_eq(scene_inject(s, "pod1", &spec, NULL), 0);
    dp_flow_dump(s->dp, &flows, &n);
    cr_assert_eq(n, 1u);
    cr_expect_eq(flows[0].packets, 2u);
    cr_expect_eq(flows[0].bytes, 2u * len);
    cr_expect_str_eq(flows[0].match, "in_port=pod1,dl_src=" POD1_MAC ",dl_dst=" ROUTER
                     ",tcp,nw_src=10.244.1.5,nw_dst=10.244.1.6,tp_src=4000,tp_dst=80");
    cr_expect_str_eq(flows[0].actions, "set_eth(src=" ROUTER ",dst=" POD2_MAC
                     "),dec_ttl,output:pod2");
    free(flows);
    dp_flow_flush(s->dp);
    dp_flow_dump(s->dp, &flows, &n);
    cr_expect_eq(n, 0u);
    free(flows);
}

Test(pipeline, silent_pod_is_probed_and_learned, .init = setup, .fini = teardown)
{
    struct pkt_spec reply = { .eth_src = "02:00:00:00:01:07", .eth_dst = ROUTER,
                              .eth_type = 0x0806, .arp_op = 2, .arp_spa = "10.244.1.7",
                              .arp_tpa = "10.244.1.1", .arp_tha = ROUTER };
    struct pkt_spec ask = { .eth_src = POD1_MAC, .eth_dst = BCAST, .eth_type = 0x0806,
                            .arp_op = 1, .arp_spa = "10.244.1.5", .arp_tpa = "10.244.1.7" };
    struct dp_port_info *info;
    size_t n;

    /* The pod's answer to the switch's probe teaches its MAC... */
    scene_inject(s, "pod3", &reply, NULL);
    dp_port_list(s->dp, &info, &n);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(info[i].name, "pod3")) {
            char mac[ETH_STR_LEN];

            cr_expect(info[i].mac_learned);
            cr_expect_str_eq(addr_mac_str(info[i].mac, mac), "02:00:00:00:01:07");
        }
    }
    free(info);
    /* ...and from then on the switch answers for it. */
    cr_assert_eq(scene_inject(s, "pod1", &ask, NULL), 0);
}

Test(pipeline, port_conflicts_are_refused, .init = setup, .fini = teardown)
{
    char err[256];
    be32 ip;

    addr_parse_ip("10.244.1.5", &ip);
    cr_assert_eq(dp_port_add(s->dp, "pod9", DP_PORT_DUMMY, ip, NULL, false, err,
                             sizeof err), -EEXIST);
    cr_expect(strstr(err, "10.244.1.5") != NULL, "%s", err);
    addr_parse_ip("10.244.1.50", &ip);
    cr_assert_eq(dp_port_add(s->dp, "pod1", DP_PORT_DUMMY, ip, NULL, false, err,
                             sizeof err), -EEXIST);
    cr_assert_eq(dp_port_del(s->dp, "nope"), -ENOENT);
    cr_assert_eq(dp_port_del(s->dp, "pod2"), 0);
    cr_assert_eq(dp_port_del(s->dp, "vsw0"), -ENOENT, "the host port cannot be deleted");
}

Test(pipeline, drop_counters_by_reason, .init = setup, .fini = teardown)
{
    uint8_t runt[10] = { 0 };

    dp_inject(s->dp, "pod1", runt, sizeof runt, NULL);
    dp_inject(s->dp, "pod1", runt, sizeof runt, NULL);
    cr_assert_eq(scene_drops(s, DROP_RUNT), 2u);
}

Test(pipeline, port_restored_without_its_device_is_down_and_deletable, .init = setup,
     .fini = teardown)
{
    struct dp_port_info *info;
    char err[256];
    size_t n;
    be32 ip;

    addr_parse_ip("10.244.1.40", &ip);
    cr_assert_eq(dp_port_add(s->dp, "vswgone0", DP_PORT_VETH, ip, NULL, true, err,
                             sizeof err), 0, "%s", err);
    dp_port_list(s->dp, &info, &n);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(info[i].name, "vswgone0")) {
            cr_expect(!info[i].up);
        }
    }
    free(info);
    cr_assert_eq(dp_port_del(s->dp, "vswgone0"), 0);
    cr_assert_eq(dp_port_add(s->dp, "vswgone1", DP_PORT_TAP, ip, NULL, true, err,
                             sizeof err), 0, "%s", err);
    /* teardown closes it along with the rest. */
}
