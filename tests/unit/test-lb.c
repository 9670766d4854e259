/* LBNAT in the datapath, on dummy ports.  First a table of packet cases, as Katran's test
 * fixtures and Cilium's PKTGEN/SETUP/CHECK are written: {description, setup (services and
 * their backends), the packets that go in, the verdict and the packet expected out of each}
 * for DNAT and un-DNAT under DSR, SNAT, hairpin, rejection, fragments and source-port clashes.
 * Then what does not fit one table row: ICMP error translation, partial checksums, backend
 * changes, affinity, batches of changes; and Maglev's evenness and stability.  Every
 * rewritten packet's checksums are verified against a full recomputation. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dp/csum.h"
#include "dp/dp.h"
#include "dp/lb.h"
#include "dp/maglev.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "packet-steps.h"
#include "pkt-builder.h"
#include "scene.h"

#define ROUTER "0a:58:0a:f4:01:01"
#define CLIENT_MAC "02:00:00:00:01:05"
#define B1_MAC "02:00:00:00:01:06"
#define B2_MAC "02:00:00:00:01:07"
#define GW "10.244.1.1"
#define CLIENT "10.244.1.5"
#define B1 "10.244.1.6"
#define B2 "10.244.1.7"
#define VIP "10.96.0.10"
#define HOST_MAC "0a:58:ff:ff:ff:fe"        /* The dummy host port's (dp.c). */
#define NODE "192.168.1.1"                  /* The node's own address, outside the pods'. */
#define HOST_ROUTER "169.254.1.1"           /* DP_HOST_ROUTER_IP. */

static struct scene *s;

/* The node: a client pod and two backend pods, no service. */
static void setup_pods(void)
{
    s = scene_new(NULL);
    cr_assert_not_null(s);
    cr_assert_eq(scene_port(s, "client", CLIENT, CLIENT_MAC), 0);
    cr_assert_eq(scene_port(s, "b1", B1, B1_MAC), 0);
    cr_assert_eq(scene_port(s, "b2", B2, B2_MAC), 0);
}

static void teardown(void)
{
    scene_free(s);
    s = NULL;
}

/* ---- The packet table ---- */


#define SERVICE(VIP_, ...) { .vip = VIP_, __VA_ARGS__ }


struct lb_case {
    const char *name;
    struct scene_service services[2];   /* The setup; a NULL vip ends the list. */
    struct packet_step steps[6];
    const char *state;                  /* Not NULL: then there is one flow pair, in this
                                         * state, with these packet counts. */
    uint64_t packets[2];
};

static const struct lb_case cases[] = {
    { .name = "DSR: the client's address kept, DNAT to a backend; its answer by MAC un-DNAT'd",
      .services = { SERVICE(VIP ":80/tcp", .backends = B1 ":8080 " B2 ":8080") },
      .steps = { { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40000, VIP, 80, .payload = 11),
          .out = "b1",
          .want = TCP_FROM(ROUTER, B1_MAC, CLIENT, 40000, B1, 8080, .ttl = 63,
                           .payload = 11) },
        { "b1", TCP_FROM(B1_MAC, CLIENT_MAC, B1, 8080, CLIENT, 40000,
                         .tcp_flags = TCP_SYN | TCP_ACK, .payload = 5),
          .out = "client",
          .want = TCP_FROM(ROUTER, CLIENT_MAC, VIP, 80, CLIENT, 40000, .ttl = 63,
                           .tcp_flags = TCP_SYN | TCP_ACK, .payload = 5) } },
      .state = "ESTABLISHED", .packets = { 1, 1 } },
    { .name = "DSR over UDP",
      .services = { SERVICE(VIP ":53/udp", .backends = B1 ":5353") },
      .steps = { { "client", UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 5353, VIP, 53, .payload = 20),
          .out = "b1",
          .want = UDP_FROM(ROUTER, B1_MAC, CLIENT, 5353, B1, 5353, .ttl = 63,
                           .payload = 20) },
        { "b1", UDP_FROM(B1_MAC, CLIENT_MAC, B1, 5353, CLIENT, 5353, .payload = 30),
          .out = "client",
          .want = UDP_FROM(ROUTER, CLIENT_MAC, VIP, 53, CLIENT, 5353, .ttl = 63,
                           .payload = 30) } },
      .state = "REPLIED", .packets = { 1, 1 } },
    { .name = "no DSR: the client SNAT'd to the gateway, the answer back through the switch",
      .services = { SERVICE(VIP ":80/tcp", .backends = B1 ":8080", .snat = true) },
      .steps = { { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40002, VIP, 80),
          .out = "b1",
          .want = TCP_FROM(ROUTER, B1_MAC, GW, 40002, B1, 8080, .ttl = 63) },
        { "b1", TCP_FROM(B1_MAC, ROUTER, B1, 8080, GW, 40002, .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "client",
          .want = TCP_FROM(ROUTER, CLIENT_MAC, VIP, 80, CLIENT, 40002, .ttl = 63,
                           .tcp_flags = TCP_SYN | TCP_ACK) } },
      .state = "ESTABLISHED", .packets = { 1, 1 } },
    { .name = "hairpin: a backend reaching itself through the VIP is SNAT'd",
      .services = { SERVICE(VIP ":80/tcp", .backends = B1 ":8080") },
      .steps = { { "b1", TCP_FROM(B1_MAC, ROUTER, B1, 40003, VIP, 80),
          .out = "b1",
          .want = TCP_FROM(ROUTER, B1_MAC, GW, 40003, B1, 8080, .ttl = 63) } } },
    { .name = "no backends: a RST from the VIP",
      .services = { SERVICE(VIP ":80/tcp") },
      .steps = { { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40004, VIP, 80),
          .out = "client", .made = true,
          .want = TCP_FROM(ROUTER, CLIENT_MAC, VIP, 80, CLIENT, 40004,
                           .tcp_flags = TCP_RST | TCP_ACK) } } },
    { .name = "no backends: a UDP port unreachable from the VIP",
      .services = { SERVICE(VIP ":53/udp") },
      .steps = { { "client", UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 5353, VIP, 53, .payload = 20),
          .out = "client", .made = true,
          .want = { .eth_src = ROUTER, .eth_dst = CLIENT_MAC, .ip_src = VIP, .ip_dst = CLIENT,
                    .proto = IP_PROTO_ICMP, .sport = ICMP_DEST_UNREACH, .dport = 3,
                    .payload = IP_HDR_LEN + UDP_HDR_LEN + 20 } } } },
    { .name = "another port of the VIP is no service: routed to the host as it is",
      .services = { SERVICE(VIP ":80/tcp", .backends = B1 ":8080") },
      .steps = { { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40005, VIP, 81),
          .out = "vsw0",
          .want = TCP_FROM(ROUTER, "0a:58:ff:ff:ff:fe", CLIENT, 40005, VIP, 81, .ttl = 63) } } },
    { .name = "fragments follow the first to its backend; one whose first never came is counted",
      .services = { SERVICE(VIP ":53/udp", .backends = B1 ":53 " B2 ":53") },
      .steps = { { "client", UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 7000, VIP, 53, .frag_off = IP_MF,
                             .payload = 64),
          .out = "b1",
          .want = UDP_FROM(ROUTER, B1_MAC, CLIENT, 7000, B1, 53, .frag_off = IP_MF,
                           .ttl = 63, .payload = 64) },
        { "client", UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 7000, VIP, 53, .frag_off = 10,
                             .payload = 64),
          .out = "b1",
          .want = UDP_FROM(ROUTER, B1_MAC, CLIENT, 7000, B1, 53, .frag_off = 10, .ttl = 63,
                           .payload = 64) },
        { "client", UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 7000, VIP, 53, .frag_off = 10,
                             .ip_id = 999, .payload = 64),
          .verdict = DROP_FRAG_NO_FIRST } } },
    { .name = "a client port already taken by a direct connection to the backend is rewritten",
      .services = { SERVICE(VIP ":80/tcp", .backends = B1 ":8080") },
      .steps = { { "client", TCP_FROM(CLIENT_MAC, B1_MAC, CLIENT, 40000, B1, 8080),
          .out = "b1", .want = TCP_FROM(CLIENT_MAC, B1_MAC, CLIENT, 40000, B1, 8080) },
        { "b1", TCP_FROM(B1_MAC, CLIENT_MAC, B1, 8080, CLIENT, 40000,
                         .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "client", .want = TCP_FROM(B1_MAC, CLIENT_MAC, B1, 8080, CLIENT, 40000,
                                            .tcp_flags = TCP_SYN | TCP_ACK) },
        /* Through the VIP from the same port: above the ephemeral range, 61000-65535. */
        { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40000, VIP, 80),
          .out = "b1", .want = TCP_FROM(ROUTER, B1_MAC, CLIENT, 64269, B1, 8080, .ttl = 63) },
        /* The backend answers the rewritten port; the client sees its own and the VIP. */
        { "b1", TCP_FROM(B1_MAC, ROUTER, B1, 8080, CLIENT, 64269,
                         .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "client", .want = TCP_FROM(ROUTER, CLIENT_MAC, VIP, 80, CLIENT, 40000,
                                            .ttl = 63, .tcp_flags = TCP_SYN | TCP_ACK) } } },
    { .name = "a closed flow pair gives way to a direct connection on its tuple",
      .services = { SERVICE(VIP ":80/tcp", .backends = B1 ":8080") },
      .steps = { { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40001, VIP, 80),
          .out = "b1", .want = TCP_FROM(ROUTER, B1_MAC, CLIENT, 40001, B1, 8080, .ttl = 63) },
        { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40001, VIP, 80,
                             .tcp_flags = TCP_FIN | TCP_ACK),
          .out = "b1", .want = TCP_FROM(ROUTER, B1_MAC, CLIENT, 40001, B1, 8080, .ttl = 63,
                                        .tcp_flags = TCP_FIN | TCP_ACK) },
        { "b1", TCP_FROM(B1_MAC, CLIENT_MAC, B1, 8080, CLIENT, 40001,
                         .tcp_flags = TCP_FIN | TCP_ACK),
          .out = "client", .want = TCP_FROM(ROUTER, CLIENT_MAC, VIP, 80, CLIENT, 40001,
                                            .ttl = 63, .tcp_flags = TCP_FIN | TCP_ACK) },
        /* The same client port, now straight to the backend: not translated any more. */
        { "client", TCP_FROM(CLIENT_MAC, B1_MAC, CLIENT, 40001, B1, 8080),
          .out = "b1", .want = TCP_FROM(CLIENT_MAC, B1_MAC, CLIENT, 40001, B1, 8080) },
        { "b1", TCP_FROM(B1_MAC, CLIENT_MAC, B1, 8080, CLIENT, 40001,
                         .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "client", .want = TCP_FROM(B1_MAC, CLIENT_MAC, B1, 8080, CLIENT, 40001,
                                            .tcp_flags = TCP_SYN | TCP_ACK) } } },
    /* Services from the node (the host port, vsw0), as routed by its routes via 169.254.1.1,
     * whose neighbor entry is the router MAC. */
    { .name = "the node from the gateway: DSR, the answer back to the host port",
      .services = { SERVICE(VIP ":80/tcp", .backends = B1 ":8080") },
      .steps = { { "vsw0", TCP_FROM(HOST_MAC, ROUTER, GW, 40010, VIP, 80),
          .out = "b1", .want = TCP_FROM(ROUTER, B1_MAC, GW, 40010, B1, 8080, .ttl = 63) },
        { "b1", TCP_FROM(B1_MAC, ROUTER, B1, 8080, GW, 40010, .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "vsw0", .want = TCP_FROM(ROUTER, HOST_MAC, VIP, 80, GW, 40010, .ttl = 63,
                                          .tcp_flags = TCP_SYN | TCP_ACK) } },
      .state = "ESTABLISHED", .packets = { 1, 1 } },
    { .name = "the node from its own address, to a local backend: DSR as well",
      .services = { SERVICE(VIP ":80/tcp", .backends = B1 ":8080") },
      .steps = { { "vsw0", TCP_FROM(HOST_MAC, ROUTER, NODE, 40011, VIP, 80),
          .out = "b1", .want = TCP_FROM(ROUTER, B1_MAC, NODE, 40011, B1, 8080, .ttl = 63) },
        { "b1", TCP_FROM(B1_MAC, ROUTER, B1, 8080, NODE, 40011, .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "vsw0", .want = TCP_FROM(ROUTER, HOST_MAC, VIP, 80, NODE, 40011, .ttl = 63,
                                          .tcp_flags = TCP_SYN | TCP_ACK) } } },
    { .name = "the node through a Service whose endpoint is its own address: from 169.254.1.1",
      .services = { SERVICE("10.96.0.2:443/tcp", .backends = NODE ":6443") },
      .steps = { { "vsw0", TCP_FROM(HOST_MAC, ROUTER, GW, 40012, "10.96.0.2", 443),
          .out = "vsw0",
          .want = TCP_FROM(ROUTER, HOST_MAC, HOST_ROUTER, 40012, NODE, 6443, .ttl = 63) },
        { "vsw0", TCP_FROM(HOST_MAC, ROUTER, NODE, 6443, HOST_ROUTER, 40012,
                           .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "vsw0", .want = TCP_FROM(ROUTER, HOST_MAC, "10.96.0.2", 443, GW, 40012,
                                          .ttl = 63, .tcp_flags = TCP_SYN | TCP_ACK) } } },
    { .name = "a pod through a Service whose endpoint is a node's address: to the host port",
      .services = { SERVICE("10.96.0.1:443/tcp", .backends = "192.168.1.2:6443") },
      .steps = { { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40013, "10.96.0.1", 443),
          .out = "vsw0",
          .want = TCP_FROM(ROUTER, HOST_MAC, CLIENT, 40013, "192.168.1.2", 6443, .ttl = 63) },
        /* The node's answer, after its masquerade is undone, to the pod's own MAC. */
        { "vsw0", TCP_FROM(HOST_MAC, CLIENT_MAC, "192.168.1.2", 6443, CLIENT, 40013,
                           .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "client", .want = TCP_FROM(ROUTER, CLIENT_MAC, "10.96.0.1", 443, CLIENT, 40013,
                                            .ttl = 63, .tcp_flags = TCP_SYN | TCP_ACK) } },
      .state = "ESTABLISHED", .packets = { 1, 1 } },
};

#define N_CASES (sizeof cases / sizeof cases[0])

/* Criterion may run each case in a re-executed process where the table's pointers would not
 * hold: pass indexes into the table, not the cases themselves. */
static size_t case_index[N_CASES];

ParameterizedTestParameters(lb_cases, table)
{
    for (size_t i = 0; i < N_CASES; i++) {
        case_index[i] = i;
    }
    return cr_make_param_array(size_t, case_index, N_CASES);
}

ParameterizedTest(size_t *index, lb_cases, table, .init = setup_pods, .fini = teardown)
{
    const struct lb_case *c = &cases[*index];
    static uint8_t out[2048];

    for (size_t i = 0; i < sizeof c->services / sizeof c->services[0] && c->services[i].vip;
         i++) {
        cr_assert_eq(scene_service(s, &c->services[i]), 0, "%s: service %zu", c->name, i);
    }
    for (size_t i = 0; i < sizeof c->steps / sizeof c->steps[0] && c->steps[i].in; i++) {
        packet_step_run(s, c->name, i, &c->steps[i], out, sizeof out);
    }
    if (c->state) {
        struct dp_conn_info *conns;
        size_t n;

        dp_conn_dump(s->dp, &conns, &n);
        cr_assert_eq(n, 1u, "%s: %zu flow pairs", c->name, n);
        cr_expect_str_eq(conns[0].state, c->state, "%s", c->name);
        cr_expect_eq(conns[0].dsr, !c->services[0].snat, "%s", c->name);
        cr_expect_eq(conns[0].packets[0], c->packets[0], "%s: packets in", c->name);
        cr_expect_eq(conns[0].packets[1], c->packets[1], "%s: packets back", c->name);
        free(conns);
    }
}

/* ---- What does not fit a table row ---- */

/* The node with VIP:80/tcp over both backend pods, DSR. */
static void setup(void)
{
    setup_pods();
    cr_assert_eq(scene_service(s, &(struct scene_service) SERVICE(
                     VIP ":80/tcp", .backends = B1 ":8080 " B2 ":8080")), 0);
}

/* Takes the one frame that went out and returns its port; fails if not exactly one. */
static const char *take_one(uint8_t *out, int *out_len)
{
    const char *port = NULL;
    int n = 0, r;

    while ((r = scene_take(s, out, 2048, &port, NULL)) >= 0) {
        *out_len = r;
        n++;
    }
    cr_assert_eq(n, 1, "%d frames out", n);
    return port;
}

/* Injects the frame 'spec' describes and returns the port of the one frame that went out. */
static const char *forward(const char *in, const struct pkt_spec *spec, uint8_t *out,
                           int *out_len)
{
    int verdict = scene_inject(s, in, spec, NULL);

    cr_assert_eq(verdict, 0, "dropped: %s", verdict > 0 ? drop_reason_name(verdict) : "error");
    return take_one(out, out_len);
}

/* The same for a frame built by hand. */
static const char *forward_frame(const char *in, const uint8_t *frame, size_t len,
                                 const struct virtio_net_hdr *vnet, uint8_t *out, int *out_len)
{
    int verdict = dp_inject(s->dp, in, frame, len, vnet);

    cr_assert_eq(verdict, 0, "dropped: %s", verdict > 0 ? drop_reason_name(verdict) : "error");
    return take_one(out, out_len);
}

TestSuite(lb, .init = setup, .fini = teardown);

Test(lb, same_connection_same_backend_every_time)
{
    struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40001, VIP, 80);
    uint8_t out[2048];
    char first[IF_NAMESIZE];
    int len;

    snprintf(first, sizeof first, "%s", forward("client", &syn, out, &len));
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(forward("client", &syn, out, &len), first);
    }
    /* A switch that lost its flow pairs (a restart without its file): Maglev picks the same
     * backend. */
    teardown();
    setup();
    cr_assert_str_eq(forward("client", &syn, out, &len), first);
}

Test(lb, connections_spread_over_backends)
{
    int hits[2] = { 0, 0 };

    for (int port = 20000; port < 20400; port++) {
        struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, port, VIP, 80);
        uint8_t out[2048];
        int len;

        hits[!strcmp(forward("client", &syn, out, &len), "b2")]++;
    }
    cr_expect(hits[0] > 150 && hits[1] > 150, "b1=%d b2=%d", hits[0], hits[1]);
}

Test(lb, icmp_error_from_backend_is_translated)
{
    struct pkt_spec dgram = UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 5353, VIP, 53, .payload = 20);
    uint8_t frame[600], out[2048], sent[2048];
    struct ip_header *outer, *inner;
    struct icmp_header *icmp;
    int len, sent_len;

    cr_assert_eq(scene_service(s, &(struct scene_service) SERVICE(
                     VIP ":53/udp", .backends = B1 ":5300", .name = "LB_UDP")), 0);
    cr_assert_str_eq(forward("client", &dgram, sent, &sent_len), "b1");

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
        outer->src = scene_ip(B1);
        outer->dst = scene_ip(CLIENT);
        outer->tot_len = htons(IP_HDR_LEN + ICMP_HDR_LEN + quote);
        outer->csum = csum_finish(csum_partial(outer, IP_HDR_LEN, 0));
        icmp = (struct icmp_header *) (outer + 1);
        icmp->type = ICMP_DEST_UNREACH;
        icmp->code = 3;
        memcpy(icmp + 1, sent + ETH_HDR_LEN, quote);
        icmp->csum = csum_finish(csum_partial(icmp, ICMP_HDR_LEN + quote, 0));
        len = ETH_HDR_LEN + IP_HDR_LEN + ICMP_HDR_LEN + quote;
    }
    cr_assert_str_eq(forward_frame("b1", frame, len, NULL, out, &len), "client");
    outer = (struct ip_header *) (out + ETH_HDR_LEN);
    icmp = (struct icmp_header *) (outer + 1);
    inner = (struct ip_header *) (icmp + 1);
    cr_expect_eq(outer->src, scene_ip(VIP), "the error comes from the VIP");
    cr_expect_eq(inner->dst, scene_ip(VIP), "and quotes what the client sent");
    cr_expect_eq(inner->src, scene_ip(CLIENT));
    cr_expect_eq(ntohs(((struct udp_header *) (inner + 1))->dst), 53);
    cr_expect(pkt_ip_csum_ok(out, len));
    cr_expect(pkt_l4_csum_ok(out, len), "ICMP checksum");
    cr_expect_eq(csum_finish(csum_partial(inner, IP_HDR_LEN, 0)), 0, "inner IP checksum");
}

Test(lb, partial_checksum_stays_partial_and_right)
{
    struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40005, VIP, 80, .payload = 100);
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
    forward_frame("client", frame, len, &vnet, out, &out_len);

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
    uint8_t out[2048];
    char where[64][IF_NAMESIZE];
    struct dp_conn_info *conns;
    size_t n, on_b2 = 0;
    int len, closed = -1;

    for (int i = 0; i < 64; i++) {
        struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 30000 + i, VIP, 80);

        snprintf(where[i], sizeof where[i], "%s", forward("client", &syn, out, &len));
        on_b2 += !strcmp(where[i], "b2");
    }
    cr_assert_gt(on_b2, 0u);
    cr_assert_eq(scene_service(s, &(struct scene_service) SERVICE(VIP ":80/tcp",
                                                                  .backends = B1 ":8080")), 0);
    dp_conn_dump(s->dp, &conns, &n);
    cr_expect_eq(n, 64u, "every TCP pair stays, those to the removed backend too");
    free(conns);
    for (int i = 0; i < 64; i++) {
        struct pkt_spec ack = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 30000 + i, VIP, 80,
                                       .tcp_flags = TCP_ACK);

        cr_assert_str_eq(forward("client", &ack, out, &len), where[i],
                         "port %d stays on its backend", 30000 + i);
        if (!strcmp(where[i], "b2") && closed < 0) {
            closed = i;
        }
    }
    for (int i = 0; i < 32; i++) {
        struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 31000 + i, VIP, 80);

        cr_assert_str_eq(forward("client", &syn, out, &len), "b1",
                         "a new connection goes to the one left");
    }
    {
        struct pkt_spec seg = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 30000 + closed, VIP, 80,
                                       .tcp_flags = TCP_RST);

        cr_assert_str_eq(forward("client", &seg, out, &len), "b2",
                         "the RST closes it on its backend");
        seg.tcp_flags = TCP_SYN;
        cr_assert_str_eq(forward("client", &seg, out, &len), "b1",
                         "a new connection on the closed one's tuple goes to the one left");
    }
}

/* UDP: the pairs of a removed backend go, and the next datagram is balanced afresh to a
 * backend that is left (the stale-UDP rule); those of the backend left stay. */
Test(lb, removed_backend_loses_its_udp_pairs)
{
    uint8_t out[2048];
    struct dp_conn_info *conns;
    size_t n, on_b1 = 0;
    int len;

    cr_assert_eq(scene_service(s, &(struct scene_service) SERVICE(
                     VIP ":53/udp", .backends = B1 ":5300 " B2 ":5300")), 0);
    for (int i = 0; i < 32; i++) {
        struct pkt_spec dgram = UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 6000 + i, VIP, 53,
                                         .payload = 20);

        on_b1 += !strcmp(forward("client", &dgram, out, &len), "b1");
    }
    cr_assert_lt(on_b1, 32u);
    cr_assert_eq(scene_service(s, &(struct scene_service) SERVICE(VIP ":53/udp",
                                                                  .backends = B1 ":5300")), 0);
    dp_conn_dump(s->dp, &conns, &n);
    cr_expect_eq(n, on_b1, "only the UDP pairs to the backend left stay");
    free(conns);
    for (int i = 0; i < 32; i++) {
        struct pkt_spec dgram = UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 6000 + i, VIP, 53,
                                         .payload = 20);

        cr_expect_str_eq(forward("client", &dgram, out, &len), "b1",
                         "port %d: to the backend left", 6000 + i);
    }
}

/* The rule itself, table-driven: {policy, proto, backend in the policy?} -> kept? */
Test(lb, keeps_connection_rule)
{
    const struct {
        const char *what;
        bool policy;
        uint8_t proto;
        const char *backend;
        bool kept, reopens;
    } rules[] = {
        { "TCP to a backend of the policy", true, IP_PROTO_TCP, B1, true, true },
        { "TCP to a backend that left", true, IP_PROTO_TCP, B2, true, false },
        { "UDP to a backend of the policy", true, IP_PROTO_UDP, B1, true, true },
        { "UDP to a backend that left", true, IP_PROTO_UDP, B2, false, false },
        { "TCP of a policy that is gone", false, IP_PROTO_TCP, B1, false, false },
        { "UDP of a policy that is gone", false, IP_PROTO_UDP, B1, false, false },
    };
    struct dp_lb_backend b = { scene_ip(B1), 8080 };
    struct dp_lb_spec spec = { .vip = scene_ip(VIP), .port = 80, .proto = IP_PROTO_TCP,
                               .name = "LB_RULE", .n_backends = 1, .backends = &b };
    struct lb_policy *p = lb_policy_new(&spec);

    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct lb_policy *pol = rules[i].policy ? p : NULL;

        cr_expect_eq(lb_keeps_connection(pol, rules[i].proto, scene_ip(rules[i].backend), 8080),
                     rules[i].kept, "%s", rules[i].what);
        cr_expect_eq(lb_may_reopen(pol, scene_ip(rules[i].backend), 8080), rules[i].reopens,
                     "%s: reopen", rules[i].what);
    }
    lb_policy_free(p);
}

Test(lb, client_ip_affinity)
{
    uint8_t out[2048];
    const char *first = NULL;
    int len;

    cr_assert_eq(scene_service(s, &(struct scene_service) SERVICE(
                     VIP ":80/tcp", .backends = B1 ":8080 " B2 ":8080", .affinity = 60)), 0);
    for (int port = 1000; port < 1032; port++) {
        struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, port, VIP, 80);
        const char *p = forward("client", &syn, out, &len);

        if (!first) {
            first = p;
        }
        cr_assert_str_eq(p, first, "port %d", port);
    }
}

Test(lb, del_lb_removes_policy_and_pairs)
{
    struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40006, VIP, 80);
    uint8_t out[2048];
    struct dp_conn_info *conns;
    size_t n;
    int len;

    forward("client", &syn, out, &len);
    cr_assert_eq(dp_lb_del(s->dp, scene_ip(VIP), 80, IP_PROTO_TCP), 0);
    cr_assert_eq(dp_lb_del(s->dp, scene_ip(VIP), 80, IP_PROTO_TCP), -ENOENT);
    dp_conn_dump(s->dp, &conns, &n);
    cr_expect_eq(n, 0u);
    free(conns);
    /* Without the policy the VIP is just an address outside the pod CIDR. */
    cr_assert_str_eq(forward("client", &syn, out, &len), "vsw0");
}

Test(lb, batch_applies_many_changes_and_keeps_unaffected_pairs)
{
    struct dp_lb_change changes[3];
    struct dp_lb_backend b1 = { scene_ip(B1), 8080 };
    struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 41000, VIP, 80);
    uint8_t out[2048];
    struct dp_conn_info *conns;
    struct dp_lb_info *infos;
    size_t n, failed = 99;
    char err[128];
    int len;

    forward("client", &syn, out, &len);
    memset(changes, 0, sizeof changes);
    /* 0: the VIP keeps both backends (a no-op for its pairs); 1: a new policy; 2: a delete
     * of something that never existed. */
    changes[0].spec = (struct dp_lb_spec) { .vip = scene_ip(VIP), .port = 80,
                                            .proto = IP_PROTO_TCP, .dsr = true,
                                            .name = "LB_KEEP", .n_backends = 1,
                                            .backends = &b1 };
    changes[1].spec = (struct dp_lb_spec) { .vip = scene_ip("10.96.0.11"), .port = 443,
                                            .proto = IP_PROTO_TCP, .dsr = true,
                                            .name = "LB_NEW", .n_backends = 1,
                                            .backends = &b1 };
    changes[2].del = true;
    changes[2].spec = (struct dp_lb_spec) { .vip = scene_ip("10.96.0.99"), .port = 1,
                                            .proto = IP_PROTO_UDP };
    cr_assert_eq(dp_lb_apply(s->dp, changes, 3, &failed, err, sizeof err), 0, "%s", err);
    dp_lb_list(s->dp, &infos, &n);
    cr_expect_eq(n, 2u);
    dp_lb_info_free(infos, n);
    dp_conn_dump(s->dp, &conns, &n);
    cr_expect_eq(n, 1u, "the pair stays, to a backend left or removed (TCP: graceful)");
    free(conns);

    /* A bad change anywhere: nothing applies, and the index is reported. */
    changes[1].spec.port = 0;
    changes[0].spec.name[0] = 'X';
    cr_assert_eq(dp_lb_apply(s->dp, changes, 3, &failed, err, sizeof err), -EINVAL);
    cr_expect_eq(failed, 1u);
    dp_lb_list(s->dp, &infos, &n);
    for (size_t i = 0; i < n; i++) {
        cr_expect_neq(infos[i].spec.name[0], 'X', "change 0 must not have applied");
    }
    dp_lb_info_free(infos, n);
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
    for (size_t slot = 0; slot < size; slot++) {
        count[before[slot]]++;
    }
    for (int i = 0; i < 10; i++) {
        min = MIN(min, count[i]);
        max = MAX(max, count[i]);
    }
    cr_expect_leq(max - min, 1u, "shares %zu..%zu", min, max);

    /* Remove backend 3: its slots move, and few others do. */
    memmove(&b[3], &b[4], 6 * sizeof b[0]);
    maglev_build(b, 9, after);
    for (size_t slot = 0; slot < size; slot++) {
        uint16_t old = before[slot];
        uint16_t old_after_index = old > 3 ? old - 1 : old;

        if (old != 3 && after[slot] != old_after_index) {
            moved++;
        }
    }
    cr_expect_lt(moved, size / 20, "%zu of the other backends' slots moved", moved);
}
