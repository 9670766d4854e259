/* Flow key extraction, table-driven: each case is a frame described by its fields (or raw
 * bytes for malformed ones) and the key or drop reason expected. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "dp/flow-key.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "pkt-builder.h"

#define A "02:00:00:00:00:0a"
#define B "02:00:00:00:00:0b"

struct key_case {
    const char *name;
    struct pkt_spec spec;
    int truncate_to;                    /* > 0: cut the built frame to this length. */
    int corrupt_ofs;                    /* > 0: set byte at this offset to corrupt_val. */
    uint8_t corrupt_val;
    enum drop_reason want_drop;
    uint16_t want_type;
    uint8_t want_proto;
    uint16_t want_sport, want_dport;
    uint8_t want_frag;
    uint16_t want_vlan;
};

static struct key_case cases[] = {
    { "tcp syn", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1", .ip_dst = "10.0.0.2",
                   .sport = 1234, .dport = 80 },
      .want_type = ETH_TYPE_IPV4, .want_proto = 6, .want_sport = 1234, .want_dport = 80 },
    { "udp", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1", .ip_dst = "10.0.0.2",
               .proto = 17, .sport = 53, .dport = 5353, .payload = 10 },
      .want_type = ETH_TYPE_IPV4, .want_proto = 17, .want_sport = 53, .want_dport = 5353 },
    { "icmp echo", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1", .ip_dst = "10.0.0.2",
                     .proto = 1, .sport = 8, .dport = 0 },
      .want_type = ETH_TYPE_IPV4, .want_proto = 1, .want_sport = 8, .want_dport = 0 },
    { "ip options", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1", .ip_dst = "10.0.0.2",
                      .ihl = 8, .sport = 1, .dport = 2 },
      .want_type = ETH_TYPE_IPV4, .want_proto = 6, .want_sport = 1, .want_dport = 2 },
    { "vlan tagged", { .eth_src = A, .eth_dst = B, .vlan = 100, .ip_src = "10.0.0.1",
                       .ip_dst = "10.0.0.2", .sport = 7, .dport = 8 },
      .want_type = ETH_TYPE_IPV4, .want_proto = 6, .want_sport = 7, .want_dport = 8,
      .want_vlan = 100 },
    { "first fragment", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                          .ip_dst = "10.0.0.2", .proto = 17, .frag_off = IP_MF, .sport = 9,
                          .dport = 10, .payload = 100 },
      .want_type = ETH_TYPE_IPV4, .want_proto = 17, .want_sport = 9, .want_dport = 10,
      .want_frag = FLOW_FRAG_FIRST },
    { "later fragment has no ports", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                                       .ip_dst = "10.0.0.2", .proto = 17, .frag_off = 100,
                                       .payload = 40 },
      .want_type = ETH_TYPE_IPV4, .want_proto = 17, .want_frag = FLOW_FRAG_LATER },
    { "arp request", { .eth_src = A, .eth_dst = "ff:ff:ff:ff:ff:ff", .eth_type = 0x0806,
                       .arp_op = 1, .arp_spa = "10.0.0.1", .arp_tpa = "10.0.0.2" },
      .want_type = ETH_TYPE_ARP, .want_proto = 1 },
    { "ipv6 parses, pipeline decides", { .eth_src = A, .eth_dst = B, .eth_type = 0x86dd },
      .want_type = ETH_TYPE_IPV6 },
    { "runt", { .eth_src = A, .eth_dst = B }, .truncate_to = 13, .want_drop = DROP_RUNT },
    { "vlan runt", { .eth_src = A, .eth_dst = B, .vlan = 5 }, .truncate_to = 16,
      .want_drop = DROP_RUNT },
    { "truncated ip header", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                               .ip_dst = "10.0.0.2" },
      .truncate_to = 14 + 19, .want_drop = DROP_BAD_IP_HEADER },
    { "ihl below 5", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1", .ip_dst = "10.0.0.2" },
      .corrupt_ofs = 14, .corrupt_val = 0x44, .want_drop = DROP_BAD_IP_HEADER },
    { "ihl beyond frame", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                            .ip_dst = "10.0.0.2", .proto = 17 },
      .corrupt_ofs = 14, .corrupt_val = 0x4f, .want_drop = DROP_BAD_IP_HEADER },
    { "version 6 in ipv4 ethertype", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                                       .ip_dst = "10.0.0.2" },
      .corrupt_ofs = 14, .corrupt_val = 0x65, .want_drop = DROP_BAD_IP_HEADER },
    { "total length beyond frame", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                                     .ip_dst = "10.0.0.2", .payload = 20 },
      .truncate_to = 14 + 20 + 20 + 10, .want_drop = DROP_BAD_IP_HEADER },
    { "truncated tcp", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                         .ip_dst = "10.0.0.2" },
      .corrupt_ofs = 17, .corrupt_val = 20 + 10, .want_drop = DROP_BAD_L4_HEADER },
    { "tcp data offset too small", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                                     .ip_dst = "10.0.0.2" },
      .corrupt_ofs = 14 + 20 + 12, .corrupt_val = 0x40, .want_drop = DROP_BAD_L4_HEADER },
    { "truncated udp", { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                         .ip_dst = "10.0.0.2", .proto = 17 },
      .corrupt_ofs = 17, .corrupt_val = 20 + 4, .want_drop = DROP_BAD_L4_HEADER },
    { "arp truncated", { .eth_src = A, .eth_dst = B, .eth_type = 0x0806, .arp_op = 1 },
      .truncate_to = 14 + 20, .want_drop = DROP_ARP_MALFORMED },
    { "arp not ethernet", { .eth_src = A, .eth_dst = B, .eth_type = 0x0806, .arp_op = 1 },
      .corrupt_ofs = 15, .corrupt_val = 6, .want_drop = DROP_ARP_MALFORMED },
};

/* Criterion may run each case in a re-executed process where the table's pointers would not
 * hold: pass indexes into the table, not the cases themselves. */
static size_t case_index[sizeof cases / sizeof cases[0]];

ParameterizedTestParameters(flow_key, extract)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        case_index[i] = i;
    }
    return cr_make_param_array(size_t, case_index, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(size_t *index, flow_key, extract)
{
    const struct key_case *c = &cases[*index];
    struct packet *pkt = packet_array_alloc(1);
    uint8_t frame[256];
    size_t len = pkt_build(&c->spec, frame, sizeof frame);
    struct flow_key key;
    enum drop_reason got;

    if (c->truncate_to) {
        len = c->truncate_to;
    }
    if (c->corrupt_ofs) {
        frame[c->corrupt_ofs] = c->corrupt_val;
    }
    packet_set_frame(pkt, frame, len);
    got = flow_key_extract(pkt, 3, &key);
    cr_assert_eq(got, c->want_drop, "%s: drop %s, want %s", c->name, drop_reason_name(got),
                 drop_reason_name(c->want_drop));
    if (!c->want_drop) {
        cr_expect_eq(key.in_port, 3u, "%s", c->name);
        cr_expect_eq(ntohs(key.dl_type), c->want_type, "%s: type %#x", c->name,
                     ntohs(key.dl_type));
        cr_expect_eq(key.nw_proto, c->want_proto, "%s: proto", c->name);
        cr_expect_eq(ntohs(key.tp_src), c->want_sport, "%s: sport", c->name);
        cr_expect_eq(ntohs(key.tp_dst), c->want_dport, "%s: dport", c->name);
        cr_expect_eq(key.nw_frag, c->want_frag, "%s: frag", c->name);
        cr_expect_eq(ntohs(key.vlan_tci) & 0xfff, c->want_vlan, "%s: vlan", c->name);
    }
    packet_array_free(pkt, 1);
}

Test(flow_key, same_flow_same_hash_and_equal)
{
    struct pkt_spec spec = { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                             .ip_dst = "10.0.0.2", .sport = 1, .dport = 2 };
    struct packet *pkts = packet_array_alloc(2);
    uint8_t frame[128];
    struct flow_key k1, k2;
    size_t len = pkt_build(&spec, frame, sizeof frame);

    packet_set_frame(&pkts[0], frame, len);
    spec.payload = 30;              /* Length is not part of the flow. */
    spec.ttl = 3;                   /* Neither is TTL. */
    len = pkt_build(&spec, frame, sizeof frame);
    packet_set_frame(&pkts[1], frame, len);
    flow_key_extract(&pkts[0], 1, &k1);
    flow_key_extract(&pkts[1], 1, &k2);
    cr_assert(flow_key_equal(&k1, &k2));
    cr_assert_eq(flow_key_hash(&k1), flow_key_hash(&k2));
    k2.tp_dst = htons(3);
    cr_assert(!flow_key_equal(&k1, &k2));
    packet_array_free(pkts, 2);
}

Test(flow_key, vnet_header_must_fit_frame)
{
    struct pkt_spec spec = { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                             .ip_dst = "10.0.0.2" };
    struct packet *pkt = packet_array_alloc(1);
    uint8_t frame[128];
    size_t len = pkt_build(&spec, frame, sizeof frame);
    struct flow_key key;

    packet_set_frame(pkt, frame, len);
    pkt->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    pkt->vnet.csum_start = 34;
    pkt->vnet.csum_offset = 16;
    cr_expect_eq(flow_key_extract(pkt, 1, &key), DROP_NONE);
    pkt->vnet.csum_start = 200;
    cr_expect_eq(flow_key_extract(pkt, 1, &key), DROP_BAD_VNET_HDR);
    pkt->vnet.csum_start = 34;
    pkt->vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    pkt->vnet.gso_size = 0;
    cr_expect_eq(flow_key_extract(pkt, 1, &key), DROP_BAD_VNET_HDR);
    packet_array_free(pkt, 1);
}

Test(flow_key, format_is_ovs_like)
{
    struct pkt_spec spec = { .eth_src = A, .eth_dst = B, .ip_src = "10.0.0.1",
                             .ip_dst = "10.0.0.2", .sport = 1234, .dport = 80 };
    struct packet *pkt = packet_array_alloc(1);
    uint8_t frame[128];
    char buf[256];
    struct flow_key key;

    packet_set_frame(pkt, frame, pkt_build(&spec, frame, sizeof frame));
    flow_key_extract(pkt, 1, &key);
    flow_key_format(&key, buf, sizeof buf);
    cr_expect_str_eq(buf, "dl_src=" A ",dl_dst=" B ",tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,"
                     "tp_src=1234,tp_dst=80");
    packet_array_free(pkt, 1);
}
