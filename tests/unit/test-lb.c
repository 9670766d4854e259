/* LBNAT in the datapath, on dummy ports: DNAT, un-DNAT, SNAT, hairpin, rejection, ICMP error
 * translation, fragments, partial checksums, backend changes, affinity; and Maglev's
 * evenness and stability.  Every rewritten packet's checksums are verified against a full
 * recomputation. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "dp/csum.h"
#include "dp/dp.h"
#include "dp/lb.h"
#include "dp/maglev.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "dp-test-hooks.h"
#include "pkt-builder.h"

#define ROUTER "0a:58:0a:f4:01:01"
#define CLIENT_MAC "02:00:00:00:01:05"
#define B1_MAC "02:00:00:00:01:06"
#define B2_MAC "02:00:00:00:01:07"
#define VIP "10.96.0.10"

static struct dp *dp;
static const char *const ports[] = { "vsw0", "client", "b1", "b2" };

static be32 ip_of(const char *s)
{
    be32 ip;

    addr_parse_ip(s, &ip);
    return ip;
}

static void add_pod(const char *name, const char *ip, const char *mac_str)
{
    struct eth_addr mac;
    char err[256];

    addr_parse_mac(mac_str, &mac);
    cr_assert_eq(dp_port_add(dp, name, DP_PORT_DUMMY, ip_of(ip), &mac, false, err, sizeof err),
                 0, "%s", err);
}

static void set_policy(bool dsr, uint32_t affinity, size_t n, const char *const *backends)
{
    struct dp_lb_backend b[8];
    struct dp_lb_spec spec = {
        .vip = ip_of(VIP), .port = 80, .proto = IP_PROTO_TCP, .dsr = dsr,
        .affinity_timeout = affinity, .name = "LB_TEST", .n_backends = n, .backends = b,
    };
    char err[256];

    for (size_t i = 0; i < n; i++) {
        b[i].ip = ip_of(backends[i]);
        b[i].port = 8080;
    }
    cr_assert_eq(dp_lb_set(dp, &spec, err, sizeof err), 0, "%s", err);
}

static void setup(void)
{
    static const char *const two[] = { "10.244.1.6", "10.244.1.7" };
    struct dp_config cfg = { .dummy_host = true, .host_port = "vsw0" };
    char err[256];

    log_set_level(LOG_LVL_WARN);
    addr_parse_cidr("10.244.1.0/24", &cfg.pod_cidr);
    cfg.gateway = ip_of("10.244.1.1");
    cfg.router_mac = addr_mac_from_ip(cfg.gateway);
    cr_assert_eq(dp_create(&cfg, &dp, err, sizeof err), 0, "%s", err);
    add_pod("client", "10.244.1.5", CLIENT_MAC);
    add_pod("b1", "10.244.1.6", B1_MAC);
    add_pod("b2", "10.244.1.7", B2_MAC);
    set_policy(true, 0, 2, two);
}

static void teardown(void)
{
    dp_destroy(dp);
}

/* Injects and returns the one frame that went out, with its port; fails if not exactly one. */
static const char *inject(const char *in, const uint8_t *frame, size_t len, uint8_t *out,
                          int *out_len, const struct virtio_net_hdr *vnet)
{
    const char *out_port = NULL;
    int verdict = dp_inject(dp, in, frame, len, vnet), n = 0;

    cr_assert_eq(verdict, 0, "dropped: %s", verdict > 0 ? drop_reason_name(verdict) : "error");
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
        int r;

        while ((r = dp_dummy_take(dp, ports[i], out, 2048, NULL)) >= 0) {
            out_port = ports[i];
            *out_len = r;
            n++;
        }
    }
    cr_assert_eq(n, 1, "%d frames out", n);
    return out_port;
}

static const struct ip_header *ip_hdr(const uint8_t *frame)
{
    return (const struct ip_header *) (frame + ETH_HDR_LEN);
}

static uint16_t sport_of(const uint8_t *frame)
{
    return ntohs(((const struct udp_header *) (frame + ETH_HDR_LEN + IP_HDR_LEN))->src);
}

static uint16_t dport_of(const uint8_t *frame)
{
    return ntohs(((const struct udp_header *) (frame + ETH_HDR_LEN + IP_HDR_LEN))->dst);
}

static void assert_checksums(const uint8_t *frame, int len)
{
    cr_assert(pkt_ip_csum_ok(frame, len), "IPv4 header checksum");
    cr_assert(pkt_l4_csum_ok(frame, len), "L4 checksum");
}

TestSuite(lb, .init = setup, .fini = teardown);

Test(lb, dsr_dnat_then_reply_undnat)
{
    struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40000, .dport = 80, .payload = 11 };
    uint8_t frame[256], out[2048];
    const char *backend_port, *backend_mac;
    char backend_ip[IP_STR_LEN];
    int len;

    backend_port = inject("client", frame, pkt_build(&syn, frame, sizeof frame), out, &len,
                          NULL);
    cr_assert(!strcmp(backend_port, "b1") || !strcmp(backend_port, "b2"));
    backend_mac = !strcmp(backend_port, "b1") ? B1_MAC : B2_MAC;
    addr_ip_str(ip_hdr(out)->dst, backend_ip);
    cr_expect_str_eq(backend_ip, !strcmp(backend_port, "b1") ? "10.244.1.6" : "10.244.1.7");
    cr_expect_eq(ip_hdr(out)->src, ip_of("10.244.1.5"), "DSR keeps the client's address");
    cr_expect_eq(dport_of(out), 8080);
    cr_expect_eq(sport_of(out), 40000);
    cr_expect_eq(ip_hdr(out)->ttl, 63);
    assert_checksums(out, len);

    /* The backend answers the client directly, by its MAC: un-DNAT'd port to port. */
    {
        struct pkt_spec synack = { .eth_src = backend_mac, .eth_dst = CLIENT_MAC,
                                   .ip_src = backend_ip, .ip_dst = "10.244.1.5", .sport = 8080,
                                   .dport = 40000, .tcp_flags = TCP_SYN | TCP_ACK,
                                   .payload = 5 };

        cr_assert_str_eq(inject(backend_port, frame, pkt_build(&synack, frame, sizeof frame),
                                out, &len, NULL), "client");
        cr_expect_eq(ip_hdr(out)->src, ip_of(VIP));
        cr_expect_eq(sport_of(out), 80);
        cr_expect_eq(dport_of(out), 40000);
        assert_checksums(out, len);
    }
    /* Both directions are cached against the one flow pair. */
    {
        struct dp_conn_info *conns;
        size_t n;

        dp_conn_dump(dp, &conns, &n);
        cr_assert_eq(n, 1u);
        cr_expect_str_eq(conns[0].state, "ESTABLISHED");
        cr_expect(conns[0].dsr);
        cr_expect_eq(conns[0].packets[0], 1u);
        cr_expect_eq(conns[0].packets[1], 1u);
        free(conns);
    }
}

Test(lb, same_connection_same_backend_every_time)
{
    struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40001, .dport = 80 };
    uint8_t frame[256], out[2048];
    size_t len = pkt_build(&syn, frame, sizeof frame);
    const char *first;
    int out_len;

    first = inject("client", frame, len, out, &out_len, NULL);
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(inject("client", frame, len, out, &out_len, NULL), first);
    }
    /* Even with the flow pairs forgotten (a restart), Maglev picks the same backend. */
    dp_conn_flush(dp);
    cr_assert_str_eq(inject("client", frame, len, out, &out_len, NULL), first);
}

Test(lb, connections_spread_over_backends)
{
    int hits[2] = { 0, 0 };

    for (int port = 20000; port < 20400; port++) {
        struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER,
                                .ip_src = "10.244.1.5", .ip_dst = VIP, .sport = port,
                                .dport = 80 };
        uint8_t frame[256], out[2048];
        int len;
        const char *p = inject("client", frame, pkt_build(&syn, frame, sizeof frame), out,
                               &len, NULL);

        hits[!strcmp(p, "b2")]++;
    }
    cr_expect(hits[0] > 150 && hits[1] > 150, "b1=%d b2=%d", hits[0], hits[1]);
}

Test(lb, no_dsr_snats_to_gateway)
{
    static const char *const one[] = { "10.244.1.6" };
    struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40002, .dport = 80 };
    struct pkt_spec reply = { .eth_src = B1_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.6",
                              .ip_dst = "10.244.1.1", .sport = 8080,
                              .tcp_flags = TCP_SYN | TCP_ACK };
    uint8_t frame[256], out[2048];
    int len;

    set_policy(false, 0, 1, one);
    cr_assert_str_eq(inject("client", frame, pkt_build(&syn, frame, sizeof frame), out, &len,
                            NULL), "b1");
    cr_expect_eq(ip_hdr(out)->src, ip_of("10.244.1.1"), "the backend sees the node");
    assert_checksums(out, len);
    reply.dport = sport_of(out);
    cr_assert_str_eq(inject("b1", frame, pkt_build(&reply, frame, sizeof frame), out, &len,
                            NULL), "client");
    cr_expect_eq(ip_hdr(out)->src, ip_of(VIP));
    cr_expect_eq(ip_hdr(out)->dst, ip_of("10.244.1.5"));
    cr_expect_eq(dport_of(out), 40002);
    assert_checksums(out, len);
}

Test(lb, hairpin_is_snatted)
{
    static const char *const self[] = { "10.244.1.6" };
    struct pkt_spec syn = { .eth_src = B1_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.6",
                            .ip_dst = VIP, .sport = 40003, .dport = 80 };
    uint8_t frame[256], out[2048];
    int len;

    set_policy(true, 0, 1, self);
    cr_assert_str_eq(inject("b1", frame, pkt_build(&syn, frame, sizeof frame), out, &len,
                            NULL), "b1");
    cr_expect_eq(ip_hdr(out)->src, ip_of("10.244.1.1"));
    cr_expect_eq(ip_hdr(out)->dst, ip_of("10.244.1.6"));
    assert_checksums(out, len);
}

Test(lb, no_backends_rst_and_port_unreachable)
{
    struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40004, .dport = 80 };
    uint8_t frame[256], out[2048];
    int len;
    const struct tcp_header *tcp;

    set_policy(true, 0, 0, NULL);
    cr_assert_str_eq(inject("client", frame, pkt_build(&syn, frame, sizeof frame), out, &len,
                            NULL), "client");
    tcp = (const struct tcp_header *) (out + ETH_HDR_LEN + IP_HDR_LEN);
    cr_expect_eq(tcp->flags, TCP_RST | TCP_ACK);
    cr_expect_eq(ip_hdr(out)->src, ip_of(VIP));
    cr_expect_eq(ntohs(tcp->src), 80);
    cr_expect_eq(ntohs(tcp->dst), 40004);
    assert_checksums(out, len);

    {
        struct dp_lb_spec spec = { .vip = ip_of(VIP), .port = 53, .proto = IP_PROTO_UDP,
                                   .dsr = true, .name = "LB_UDP" };
        struct pkt_spec dgram = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER,
                                  .ip_src = "10.244.1.5", .ip_dst = VIP, .proto = 17,
                                  .sport = 5353, .dport = 53, .payload = 20 };
        const struct icmp_header *icmp;
        char err[128];

        cr_assert_eq(dp_lb_set(dp, &spec, err, sizeof err), 0);
        cr_assert_str_eq(inject("client", frame, pkt_build(&dgram, frame, sizeof frame), out,
                                &len, NULL), "client");
        icmp = (const struct icmp_header *) (out + ETH_HDR_LEN + IP_HDR_LEN);
        cr_expect_eq(icmp->type, ICMP_DEST_UNREACH);
        cr_expect_eq(icmp->code, 3);
        cr_expect_eq(ip_hdr(out)->src, ip_of(VIP));
        cr_expect(pkt_ip_csum_ok(out, len));
        cr_expect(pkt_l4_csum_ok(out, len));
    }
}

Test(lb, icmp_error_from_backend_is_translated)
{
    struct dp_lb_spec spec = { .vip = ip_of(VIP), .port = 53, .proto = IP_PROTO_UDP,
                               .dsr = true, .name = "LB_UDP" };
    struct dp_lb_backend b = { .ip = ip_of("10.244.1.6"), .port = 5300 };
    struct pkt_spec dgram = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                              .ip_dst = VIP, .proto = 17, .sport = 5353, .dport = 53,
                              .payload = 20 };
    uint8_t frame[600], out[2048], sent[256];
    struct ip_header *outer, *inner;
    struct icmp_header *icmp;
    int len, sent_len;
    char err[128];

    spec.n_backends = 1;
    spec.backends = &b;
    cr_assert_eq(dp_lb_set(dp, &spec, err, sizeof err), 0);
    cr_assert_str_eq(inject("client", frame, pkt_build(&dgram, frame, sizeof frame), sent,
                            &sent_len, NULL), "b1");

    /* The backend's port unreachable, quoting the datagram it got. */
    {
        struct eth_header *eth = (struct eth_header *) frame;
        size_t quote = sent_len - ETH_HDR_LEN;

        memset(frame, 0, sizeof frame);
        addr_parse_mac(B1_MAC, &eth->src);
        addr_parse_mac(CLIENT_MAC, &eth->dst);
        eth->type = htons(ETH_TYPE_IPV4);
        outer = (struct ip_header *) (frame + ETH_HDR_LEN);
        outer->ihl_ver = 0x45;
        outer->ttl = 64;
        outer->proto = IP_PROTO_ICMP;
        outer->src = ip_of("10.244.1.6");
        outer->dst = ip_of("10.244.1.5");
        outer->tot_len = htons(IP_HDR_LEN + ICMP_HDR_LEN + quote);
        outer->csum = csum_finish(csum_partial(outer, IP_HDR_LEN, 0));
        icmp = (struct icmp_header *) (outer + 1);
        icmp->type = ICMP_DEST_UNREACH;
        icmp->code = 3;
        memcpy(icmp + 1, sent + ETH_HDR_LEN, quote);
        icmp->csum = csum_finish(csum_partial(icmp, ICMP_HDR_LEN + quote, 0));
        len = ETH_HDR_LEN + IP_HDR_LEN + ICMP_HDR_LEN + quote;
    }
    cr_assert_str_eq(inject("b1", frame, len, out, &len, NULL), "client");
    outer = (struct ip_header *) (out + ETH_HDR_LEN);
    icmp = (struct icmp_header *) (outer + 1);
    inner = (struct ip_header *) (icmp + 1);
    cr_expect_eq(outer->src, ip_of(VIP), "the error comes from the VIP");
    cr_expect_eq(inner->dst, ip_of(VIP), "and quotes what the client sent");
    cr_expect_eq(inner->src, ip_of("10.244.1.5"));
    cr_expect_eq(ntohs(((struct udp_header *) (inner + 1))->dst), 53);
    cr_expect(pkt_ip_csum_ok(out, len));
    cr_expect(pkt_l4_csum_ok(out, len), "ICMP checksum");
    cr_expect_eq(csum_finish(csum_partial(inner, IP_HDR_LEN, 0)), 0, "inner IP checksum");
}

Test(lb, fragments_follow_the_first)
{
    struct dp_lb_spec spec = { .vip = ip_of(VIP), .port = 53, .proto = IP_PROTO_UDP,
                               .dsr = true, .name = "LB_UDP" };
    struct dp_lb_backend b[2] = { { ip_of("10.244.1.6"), 53 }, { ip_of("10.244.1.7"), 53 } };
    struct pkt_spec first = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                              .ip_dst = VIP, .proto = 17, .sport = 7000, .dport = 53,
                              .frag_off = IP_MF, .payload = 64 };
    struct pkt_spec later = first;
    uint8_t frame[256], out[2048];
    const char *where;
    char err[128];
    int len;

    spec.n_backends = 2;
    spec.backends = b;
    cr_assert_eq(dp_lb_set(dp, &spec, err, sizeof err), 0);
    where = inject("client", frame, pkt_build(&first, frame, sizeof frame), out, &len, NULL);
    later.frag_off = 10;
    cr_assert_str_eq(inject("client", frame, pkt_build(&later, frame, sizeof frame), out, &len,
                            NULL), where);
    cr_expect_eq(ip_hdr(out)->dst, ip_of(!strcmp(where, "b1") ? "10.244.1.6" : "10.244.1.7"));
    cr_expect(pkt_ip_csum_ok(out, len));

    /* A later fragment whose first was never seen is counted, not lost silently. */
    {
        uint64_t drops[DROP_N_REASONS];
        struct ip_header *ip;

        len = pkt_build(&later, frame, sizeof frame);
        ip = (struct ip_header *) (frame + ETH_HDR_LEN);
        ip->id = htons(999);
        ip->csum = 0;
        ip->csum = csum_finish(csum_partial(ip, IP_HDR_LEN, 0));
        cr_expect_eq(dp_inject(dp, "client", frame, len, NULL), DROP_FRAG_NO_FIRST);
        dp_drop_stats(dp, drops);
        cr_expect_eq(drops[DROP_FRAG_NO_FIRST], 1u);
    }
}

Test(lb, partial_checksum_stays_partial_and_right)
{
    struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40005, .dport = 80, .payload = 100 };
    struct virtio_net_hdr vnet = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = ETH_HDR_LEN + IP_HDR_LEN,
        .csum_offset = 16,
    };
    uint8_t frame[256], out[2048];
    struct tcp_header *tcp;
    struct ip_header *ip;
    uint8_t pseudo[12];
    size_t len = pkt_build(&syn, frame, sizeof frame);
    int out_len;

    /* As the pod's kernel hands it over: the field holds the pseudo-header sum only. */
    ip = (struct ip_header *) (frame + ETH_HDR_LEN);
    tcp = (struct tcp_header *) (frame + ETH_HDR_LEN + IP_HDR_LEN);
    memcpy(pseudo, &ip->src, 4);
    memcpy(pseudo + 4, &ip->dst, 4);
    pseudo[8] = 0;
    pseudo[9] = 6;
    pseudo[10] = 0;
    pseudo[11] = TCP_HDR_LEN + 100;
    tcp->csum = ~csum_finish(csum_partial(pseudo, 12, 0));
    inject("client", frame, len, out, &out_len, &vnet);

    ip = (struct ip_header *) (out + ETH_HDR_LEN);
    tcp = (struct tcp_header *) (out + ETH_HDR_LEN + IP_HDR_LEN);
    memcpy(pseudo, &ip->src, 4);
    memcpy(pseudo + 4, &ip->dst, 4);
    cr_expect_eq(tcp->csum, (be16) ~csum_finish(csum_partial(pseudo, 12, 0)),
                 "the partial sum covers the translated addresses");
    /* Completing it as the kernel would (sum the L4 bytes from csum_start with the field as
     * it is, store the complement) gives a valid checksum. */
    tcp->csum = csum_finish(csum_partial(tcp, TCP_HDR_LEN + 100, 0));
    cr_expect(pkt_l4_csum_ok(out, out_len));
}

/* Graceful endpoint removal: a backend that leaves the policy (terminating, then gone) keeps
 * its established TCP pairs, which go on translating to it; new connections, and a new one on
 * the tuple of a closed pair, go to the backends left. */
Test(lb, removed_backend_keeps_its_tcp_pairs_new_connections_go_elsewhere)
{
    static const char *const only_b1[] = { "10.244.1.6" };
    uint8_t frame[256], out[2048];
    const char *where[64];
    struct dp_conn_info *conns;
    size_t n, on_b2 = 0;
    int len, closed = -1;

    for (int i = 0; i < 64; i++) {
        struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER,
                                .ip_src = "10.244.1.5", .ip_dst = VIP, .sport = 30000 + i,
                                .dport = 80 };

        where[i] = inject("client", frame, pkt_build(&syn, frame, sizeof frame), out, &len,
                          NULL);
        on_b2 += !strcmp(where[i], "b2");
    }
    cr_assert_gt(on_b2, 0u);
    set_policy(true, 0, 1, only_b1);
    dp_conn_dump(dp, &conns, &n);
    cr_expect_eq(n, 64u, "every TCP pair stays, those to the removed backend too");
    free(conns);
    for (int i = 0; i < 64; i++) {
        struct pkt_spec ack = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER,
                                .ip_src = "10.244.1.5", .ip_dst = VIP, .sport = 30000 + i,
                                .dport = 80, .tcp_flags = TCP_ACK };

        cr_assert_str_eq(inject("client", frame, pkt_build(&ack, frame, sizeof frame), out,
                                &len, NULL), where[i], "port %d stays on its backend", 30000 + i);
        if (!strcmp(where[i], "b2") && closed < 0) {
            closed = i;
        }
    }
    for (int i = 0; i < 32; i++) {
        struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER,
                                .ip_src = "10.244.1.5", .ip_dst = VIP, .sport = 31000 + i,
                                .dport = 80 };

        cr_assert_str_eq(inject("client", frame, pkt_build(&syn, frame, sizeof frame), out,
                                &len, NULL), "b1", "a new connection goes to the one left");
    }
    {
        struct pkt_spec seg = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER,
                                .ip_src = "10.244.1.5", .ip_dst = VIP,
                                .sport = 30000 + closed, .dport = 80, .tcp_flags = TCP_RST };

        cr_assert_str_eq(inject("client", frame, pkt_build(&seg, frame, sizeof frame), out,
                                &len, NULL), "b2", "the RST closes it on its backend");
        seg.tcp_flags = TCP_SYN;
        cr_assert_str_eq(inject("client", frame, pkt_build(&seg, frame, sizeof frame), out,
                                &len, NULL), "b1",
                         "a new connection on the closed one's tuple goes to the one left");
    }
}

/* UDP: the pairs of a removed backend go, and the next datagram is balanced afresh to a
 * backend that is left (the stale-UDP rule); those of the backend left stay. */
Test(lb, removed_backend_loses_its_udp_pairs)
{
    struct dp_lb_backend b[2] = { { ip_of("10.244.1.6"), 5300 }, { ip_of("10.244.1.7"), 5300 } };
    struct dp_lb_spec spec = { .vip = ip_of(VIP), .port = 53, .proto = IP_PROTO_UDP,
                               .dsr = true, .name = "LB_UDP", .n_backends = 2, .backends = b };
    uint8_t frame[256], out[2048];
    struct dp_conn_info *conns;
    size_t n, on_b1 = 0;
    char err[128];
    int len;

    cr_assert_eq(dp_lb_set(dp, &spec, err, sizeof err), 0, "%s", err);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 32; i++) {
            struct pkt_spec dgram = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER,
                                      .ip_src = "10.244.1.5", .ip_dst = VIP, .proto = 17,
                                      .sport = 6000 + i, .dport = 53, .payload = 20 };
            const char *to = inject("client", frame, pkt_build(&dgram, frame, sizeof frame),
                                    out, &len, NULL);

            if (round == 0) {
                on_b1 += !strcmp(to, "b1");
            } else {
                cr_expect_str_eq(to, "b1", "port %d: to the backend left", 6000 + i);
            }
        }
        if (round == 0) {
            cr_assert_lt(on_b1, 32u);
            spec.n_backends = 1;    /* 10.244.1.7 leaves. */
            cr_assert_eq(dp_lb_set(dp, &spec, err, sizeof err), 0, "%s", err);
            dp_conn_dump(dp, &conns, &n);
            cr_expect_eq(n, on_b1, "only the UDP pairs to the backend left stay");
            free(conns);
        }
    }
}

/* The rule itself, table-driven: {policy, proto, backend in the policy?} -> kept? */
Test(lb, keeps_connection_rule)
{
    static const char *const only_b1[] = { "10.244.1.6" };
    const struct {
        const char *what;
        bool policy;
        uint8_t proto;
        const char *backend;
        bool kept, reopens;
    } cases[] = {
        { "TCP to a backend of the policy", true, IP_PROTO_TCP, "10.244.1.6", true, true },
        { "TCP to a backend that left", true, IP_PROTO_TCP, "10.244.1.7", true, false },
        { "UDP to a backend of the policy", true, IP_PROTO_UDP, "10.244.1.6", true, true },
        { "UDP to a backend that left", true, IP_PROTO_UDP, "10.244.1.7", false, false },
        { "TCP of a policy that is gone", false, IP_PROTO_TCP, "10.244.1.6", false, false },
        { "UDP of a policy that is gone", false, IP_PROTO_UDP, "10.244.1.6", false, false },
    };
    struct dp_lb_spec spec = { .vip = ip_of(VIP), .port = 80, .proto = IP_PROTO_TCP,
                               .name = "LB_RULE", .n_backends = 1 };
    struct dp_lb_backend b = { ip_of(only_b1[0]), 8080 };
    struct lb_policy *p;

    spec.backends = &b;
    p = lb_policy_new(&spec);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct lb_policy *pol = cases[i].policy ? p : NULL;

        cr_expect_eq(lb_keeps_connection(pol, cases[i].proto, ip_of(cases[i].backend), 8080),
                     cases[i].kept, "%s", cases[i].what);
        cr_expect_eq(lb_may_reopen(pol, ip_of(cases[i].backend), 8080), cases[i].reopens,
                     "%s: reopen", cases[i].what);
    }
    lb_policy_free(p);
}

Test(lb, client_ip_affinity)
{
    static const char *const two[] = { "10.244.1.6", "10.244.1.7" };
    uint8_t frame[256], out[2048];
    const char *first = NULL;
    int len;

    set_policy(true, 60, 2, two);
    for (int port = 1000; port < 1032; port++) {
        struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER,
                                .ip_src = "10.244.1.5", .ip_dst = VIP, .sport = port,
                                .dport = 80 };
        const char *p = inject("client", frame, pkt_build(&syn, frame, sizeof frame), out,
                               &len, NULL);

        if (!first) {
            first = p;
        }
        cr_assert_str_eq(p, first, "port %d", port);
    }
}

Test(lb, del_lb_removes_policy_and_pairs)
{
    struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40006, .dport = 80 };
    uint8_t frame[256], out[2048];
    struct dp_conn_info *conns;
    size_t n;
    int len;

    inject("client", frame, pkt_build(&syn, frame, sizeof frame), out, &len, NULL);
    cr_assert_eq(dp_lb_del(dp, ip_of(VIP), 80, IP_PROTO_TCP), 0);
    cr_assert_eq(dp_lb_del(dp, ip_of(VIP), 80, IP_PROTO_TCP), -ENOENT);
    dp_conn_dump(dp, &conns, &n);
    cr_expect_eq(n, 0u);
    free(conns);
    /* Without the policy the VIP is just an address outside the pod CIDR. */
    cr_assert_str_eq(inject("client", frame, pkt_build(&syn, frame, sizeof frame), out, &len,
                            NULL), "vsw0");
}

Test(maglev, even_and_stable, .init = NULL, .fini = NULL)
{
    struct dp_lb_backend b[10];
    static uint16_t before[MAGLEV_MAX_SIZE], after[MAGLEV_MAX_SIZE];
    const uint32_t size = maglev_size(10);
    size_t count[10] = { 0 }, moved = 0, min = size, max = 0;

    for (int i = 0; i < 10; i++) {
        b[i].ip = htonl(0x0af40100 + i + 5);
        b[i].port = 8080;
    }
    maglev_build(b, 10, before);
    cr_assert_eq(size, 1021u);
    cr_assert_eq(maglev_size(9), size, "9 backends keep the size of 10");
    for (size_t s = 0; s < size; s++) {
        count[before[s]]++;
    }
    for (int i = 0; i < 10; i++) {
        min = MIN(min, count[i]);
        max = MAX(max, count[i]);
    }
    cr_expect_leq(max - min, 1u, "shares %zu..%zu", min, max);

    /* Remove backend 3: its slots move, and few others do. */
    memmove(&b[3], &b[4], 6 * sizeof b[0]);
    maglev_build(b, 9, after);
    for (size_t s = 0; s < size; s++) {
        uint16_t old = before[s];
        uint16_t old_after_index = old > 3 ? old - 1 : old;

        if (old != 3 && after[s] != old_after_index) {
            moved++;
        }
    }
    cr_expect_lt(moved, size / 20, "%zu of the other backends' slots moved", moved);
}

Test(lb, batch_applies_many_changes_and_keeps_unaffected_pairs)
{
    struct dp_lb_change changes[3];
    struct dp_lb_backend b1 = { ip_of("10.244.1.6"), 8080 };
    struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 41000, .dport = 80 };
    uint8_t frame[256], out[2048];
    struct dp_conn_info *conns;
    struct dp_lb_info *infos;
    size_t n, failed = 99;
    const char *first;
    char err[128];
    int len;

    first = inject("client", frame, pkt_build(&syn, frame, sizeof frame), out, &len, NULL);
    memset(changes, 0, sizeof changes);
    /* 0: the VIP keeps both backends (a no-op for its pairs); 1: a new policy; 2: a delete
     * of something that never existed. */
    changes[0].spec = (struct dp_lb_spec) { .vip = ip_of(VIP), .port = 80,
                                            .proto = IP_PROTO_TCP, .dsr = true,
                                            .name = "LB_KEEP", .n_backends = 1,
                                            .backends = &b1 };
    changes[1].spec = (struct dp_lb_spec) { .vip = ip_of("10.96.0.11"), .port = 443,
                                            .proto = IP_PROTO_TCP, .dsr = true,
                                            .name = "LB_NEW", .n_backends = 1,
                                            .backends = &b1 };
    changes[2].del = true;
    changes[2].spec = (struct dp_lb_spec) { .vip = ip_of("10.96.0.99"), .port = 1,
                                            .proto = IP_PROTO_UDP };
    cr_assert_eq(dp_lb_apply(dp, changes, 3, &failed, err, sizeof err), 0, "%s", err);
    dp_lb_list(dp, &infos, &n);
    cr_expect_eq(n, 2u);
    dp_lb_info_free(infos, n);
    dp_conn_dump(dp, &conns, &n);
    cr_expect_eq(n, !strcmp(first, "b1") ? 1u : 0u, "only the pair to a removed backend went");
    free(conns);

    /* A bad change anywhere: nothing applies, and the index is reported. */
    changes[1].spec.port = 0;
    changes[0].spec.name[0] = 'X';
    cr_assert_eq(dp_lb_apply(dp, changes, 3, &failed, err, sizeof err), -EINVAL);
    cr_expect_eq(failed, 1u);
    dp_lb_list(dp, &infos, &n);
    for (size_t i = 0; i < n; i++) {
        cr_expect_neq(infos[i].spec.name[0], 'X', "change 0 must not have applied");
    }
    dp_lb_info_free(infos, n);
}

Test(lb, same_port_directly_then_through_the_vip_gets_a_new_source_port)
{
    static const char *const one[] = { "10.244.1.6" };
    struct pkt_spec direct = { .eth_src = CLIENT_MAC, .eth_dst = B1_MAC, .ip_src = "10.244.1.5",
                               .ip_dst = "10.244.1.6", .sport = 40000, .dport = 8080 };
    struct pkt_spec direct_reply = { .eth_src = B1_MAC, .eth_dst = CLIENT_MAC,
                                     .ip_src = "10.244.1.6", .ip_dst = "10.244.1.5",
                                     .sport = 8080, .dport = 40000,
                                     .tcp_flags = TCP_SYN | TCP_ACK };
    struct pkt_spec via_vip = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                                .ip_dst = VIP, .sport = 40000, .dport = 80 };
    uint8_t frame[256], out[2048];
    uint16_t port;
    int len;

    set_policy(true, 0, 1, one);
    inject("client", frame, pkt_build(&direct, frame, sizeof frame), out, &len, NULL);
    inject("b1", frame, pkt_build(&direct_reply, frame, sizeof frame), out, &len, NULL);

    cr_assert_str_eq(inject("client", frame, pkt_build(&via_vip, frame, sizeof frame), out,
                            &len, NULL), "b1");
    port = sport_of(out);
    cr_expect(port >= 61000, "source port %u rewritten above the ephemeral range", port);
    cr_expect_eq(ip_hdr(out)->src, ip_of("10.244.1.5"), "the address is still the client's");
    assert_checksums(out, len);

    /* The backend answers the rewritten port; the client sees its own port and the VIP. */
    direct_reply.dport = port;
    direct_reply.eth_dst = ROUTER;
    cr_assert_str_eq(inject("b1", frame, pkt_build(&direct_reply, frame, sizeof frame), out,
                            &len, NULL), "client");
    cr_expect_eq(ip_hdr(out)->src, ip_of(VIP));
    cr_expect_eq(dport_of(out), 40000);
    assert_checksums(out, len);
}

Test(lb, a_closed_pair_gives_way_to_a_direct_connection_on_its_tuple)
{
    static const char *const one[] = { "10.244.1.6" };
    struct pkt_spec syn = { .eth_src = CLIENT_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40001, .dport = 80, .tcp_flags = TCP_SYN };
    struct pkt_spec fin = syn;
    struct pkt_spec fin_back = { .eth_src = B1_MAC, .eth_dst = CLIENT_MAC,
                                 .ip_src = "10.244.1.6", .ip_dst = "10.244.1.5",
                                 .sport = 8080, .dport = 40001,
                                 .tcp_flags = TCP_FIN | TCP_ACK };
    struct pkt_spec direct = { .eth_src = CLIENT_MAC, .eth_dst = B1_MAC, .ip_src = "10.244.1.5",
                               .ip_dst = "10.244.1.6", .sport = 40001, .dport = 8080,
                               .tcp_flags = TCP_SYN };
    struct pkt_spec direct_reply = fin_back;
    uint8_t frame[256], out[2048];
    int len;

    set_policy(true, 0, 1, one);
    fin.tcp_flags = TCP_FIN | TCP_ACK;
    direct_reply.tcp_flags = TCP_SYN | TCP_ACK;
    inject("client", frame, pkt_build(&syn, frame, sizeof frame), out, &len, NULL);
    inject("client", frame, pkt_build(&fin, frame, sizeof frame), out, &len, NULL);
    inject("b1", frame, pkt_build(&fin_back, frame, sizeof frame), out, &len, NULL);

    /* The same client port, now straight to the backend. */
    cr_assert_str_eq(inject("client", frame, pkt_build(&direct, frame, sizeof frame), out,
                            &len, NULL), "b1");
    cr_assert_str_eq(inject("b1", frame, pkt_build(&direct_reply, frame, sizeof frame), out,
                            &len, NULL), "client");
    cr_expect_eq(ip_hdr(out)->src, ip_of("10.244.1.6"), "not translated to the VIP any more");
    cr_expect_eq(sport_of(out), 8080);
}
