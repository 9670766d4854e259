/* Classic L2 DSR (--preserve-dip, VFP's PreserveDIP) in the datapath, on dummy ports: the
 * switch fixes only the MAC and the TTL, here and across the overlay; a pod may send from a
 * VIP only while it is a preserve-dip backend of that VIP:port; no ARP for a VIP is ever
 * answered by or to a pod.  A table of packet cases first ({description, services, packets
 * in, verdict, packet out}), then what needs more than one table row: the choice kept per
 * connection when a backend is added, the refusals, and both nodes' halves over real UDP
 * sockets (vxlan-peer.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp/dp.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "lib/lb-config.h"
#include "packet-steps.h"
#include "pkt-builder.h"
#include "scene.h"
#include "vxlan-peer.h"

#define CLIENT_MAC POD_MAC
#define B1_MAC "02:00:00:00:01:06"
#define B2_MAC "02:00:00:00:01:07"
#define CLIENT "10.244.1.5"
#define B1 "10.244.1.6"
#define B2 "10.244.1.7"
#define GW "10.244.1.1"

static struct scene *s;

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

#define ARP_FROM(ETH_SRC, OP, SHA, SPA, TPA)                                             \
    { .eth_src = ETH_SRC, .eth_dst = "ff:ff:ff:ff:ff:ff", .eth_type = ETH_TYPE_ARP,     \
      .arp_op = OP, .arp_sha = SHA, .arp_spa = SPA, .arp_tpa = TPA }
#define PDIP(VIP_, ...) { .vip = VIP_, .preserve_dip = true, __VA_ARGS__ }


struct pdip_case {
    const char *name;
    struct scene_service services[2];   /* A NULL vip ends the list. */
    struct packet_step steps[4];
};

static const struct pdip_case cases[] = {
    { .name = "only the MAC and TTL change; the backend's answer from the VIP goes as it is",
      .services = { PDIP(VIP ":80/tcp", .backends = B1 ":80") },
      .steps = {
        { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40000, VIP, 80, .payload = 11),
          .out = "b1",
          .want = TCP_FROM(ROUTER, B1_MAC, CLIENT, 40000, VIP, 80, .ttl = 63, .payload = 11) },
        { "b1", TCP_FROM(B1_MAC, ROUTER, VIP, 80, CLIENT, 40000, .tcp_flags = TCP_SYN | TCP_ACK),
          .out = "client",
          .want = TCP_FROM(ROUTER, CLIENT_MAC, VIP, 80, CLIENT, 40000, .ttl = 63,
                           .tcp_flags = TCP_SYN | TCP_ACK) },
        { "client", TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 40000, VIP, 80, .tcp_flags = TCP_ACK),
          .out = "b1",
          .want = TCP_FROM(ROUTER, B1_MAC, CLIENT, 40000, VIP, 80, .ttl = 63,
                           .tcp_flags = TCP_ACK) } } },
    { .name = "UDP: the datagram keeps VIP:port, the answer leaves from it",
      .services = { PDIP(VIP ":53/udp", .backends = B2 ":53") },
      .steps = {
        { "client", UDP_FROM(CLIENT_MAC, ROUTER, CLIENT, 5353, VIP, 53, .payload = 20),
          .out = "b2",
          .want = UDP_FROM(ROUTER, B2_MAC, CLIENT, 5353, VIP, 53, .ttl = 63, .payload = 20) },
        { "b2", UDP_FROM(B2_MAC, ROUTER, VIP, 53, CLIENT, 5353, .payload = 30),
          .out = "client",
          .want = UDP_FROM(ROUTER, CLIENT_MAC, VIP, 53, CLIENT, 5353, .ttl = 63,
                           .payload = 30) } } },
    { .name = "a pod that is no backend of the VIP cannot send from it",
      .services = { PDIP(VIP ":80/tcp", .backends = B1 ":80") },
      .steps = {
        { "b2", TCP_FROM(B2_MAC, ROUTER, VIP, 80, CLIENT, 40000), DROP_VIP_NOT_BACKED } } },
    { .name = "a backend cannot send from another port of its VIP",
      .services = { PDIP(VIP ":80/tcp", .backends = B1 ":80") },
      .steps = {
        { "b1", TCP_FROM(B1_MAC, ROUTER, VIP, 81, CLIENT, 40000), DROP_VIP_NOT_BACKED },
        { "b1", UDP_FROM(B1_MAC, ROUTER, VIP, 80, CLIENT, 40000), DROP_VIP_NOT_BACKED } } },
    { .name = "a backend of a translating (DSR) policy cannot send from its VIP",
      .services = { { .vip = VIP ":80/tcp", .backends = B1 ":80" } },
      .steps = {
        { "b1", TCP_FROM(B1_MAC, ROUTER, VIP, 80, CLIENT, 40000), DROP_VIP_NOT_BACKED } } },
    { .name = "an address that is no VIP is still a spoof",
      .services = { PDIP(VIP ":80/tcp", .backends = B1 ":80") },
      .steps = {
        { "b1", TCP_FROM(B1_MAC, ROUTER, "10.96.0.11", 80, CLIENT, 40000),
          DROP_SPOOFED_IP } } },
    { .name = "an ARP request for the VIP sent into a pod port is answered by nobody",
      .services = { PDIP(VIP ":80/tcp", .backends = B1 ":80 " B2 ":80") },
      .steps = {
        { "client", ARP_FROM(CLIENT_MAC, ARP_OP_REQUEST, CLIENT_MAC, CLIENT, VIP),
          DROP_ARP_IGNORED },
        { "b1", ARP_FROM(B1_MAC, ARP_OP_REQUEST, B1_MAC, B1, VIP), DROP_ARP_IGNORED } } },
    { .name = "a backend's ARP answer for the VIP goes nowhere",
      .services = { PDIP(VIP ":80/tcp", .backends = B1 ":80") },
      .steps = {
        { "b1", ARP_FROM(B1_MAC, ARP_OP_REPLY, B1_MAC, VIP, CLIENT), DROP_ARP_IGNORED } } },
    { .name = "a backend asking for the gateway from its VIP (arp_announce=0) is answered; "
              "another pod is not",
      .services = { PDIP(VIP ":80/tcp", .backends = B1 ":80") },
      .steps = {
        { "b1", ARP_FROM(B1_MAC, ARP_OP_REQUEST, B1_MAC, VIP, GW), .out = "b1",
          .want = { .eth_type = ETH_TYPE_ARP } },
        { "b2", ARP_FROM(B2_MAC, ARP_OP_REQUEST, B2_MAC, VIP, GW), DROP_SPOOFED_IP } } },
};

#define N_CASES (sizeof cases / sizeof cases[0])

/* Criterion may re-execute each case: pass indexes, not pointers into the table. */
static size_t case_index[N_CASES];

ParameterizedTestParameters(preserve_dip_cases, table)
{
    for (size_t i = 0; i < N_CASES; i++) {
        case_index[i] = i;
    }
    return cr_make_param_array(size_t, case_index, N_CASES);
}

/* One step, with the ARP answer a backend gets for the gateway checked here. */
static void run_step(const struct pdip_case *c, size_t i)
{
    const struct packet_step *st = &c->steps[i];
    static uint8_t out[2048];
    int len = packet_step_run(s, c->name, i, st, out, sizeof out);

    if (len >= 0 && st->want.eth_type == ETH_TYPE_ARP) {
        const struct arp_eth_header *arp = (const void *) (out + ETH_HDR_LEN);

        cr_assert_geq(len, ETH_HDR_LEN + (int) sizeof *arp, "%s, step %zu: an ARP frame",
                      c->name, i);
        cr_expect_eq(ntohs(arp->op), ARP_OP_REPLY, "%s, step %zu: an ARP reply", c->name, i);
        cr_expect_eq(arp->spa, scene_ip(GW), "%s, step %zu: for the gateway", c->name, i);
    }
}

ParameterizedTest(size_t *index, preserve_dip_cases, table, .init = setup_pods,
                  .fini = teardown)
{
    const struct pdip_case *c = &cases[*index];
    struct dp_conn_info *conns;
    size_t n;

    for (size_t i = 0; i < sizeof c->services / sizeof c->services[0] && c->services[i].vip;
         i++) {
        cr_assert_eq(scene_service(s, &c->services[i]), 0, "%s: service %zu", c->name, i);
    }
    for (size_t i = 0; i < sizeof c->steps / sizeof c->steps[0] && c->steps[i].in; i++) {
        run_step(c, i);
    }
    dp_conn_dump(s->dp, &conns, &n);
    cr_expect_eq(n, 0u, "%s: no flow pair, nothing is translated", c->name);
    free(conns);
}

/* ---- Beyond one row ---- */

Test(preserve_dip, the_choice_is_kept_per_connection_when_a_backend_is_added,
     .init = setup_pods, .fini = teardown)
{
    struct pkt_spec syn = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 0, VIP, 80);
    struct pkt_spec ack = TCP_FROM(CLIENT_MAC, ROUTER, CLIENT, 0, VIP, 80,
                                   .tcp_flags = TCP_ACK);
    const char *first[16], *port;
    struct dp_dispatch_info *entries;
    uint8_t out[256];
    size_t n;
    int on_b1 = 0;

    scene_service(s, &(struct scene_service) PDIP(VIP ":80/tcp", .backends = B1 ":80"));
    for (int i = 0; i < 16; i++) {
        syn.sport = 42000 + i;
        cr_assert_eq(scene_inject(s, "client", &syn, NULL), 0);
        cr_assert_gt(scene_take(s, out, sizeof out, &first[i], NULL), 0);
        cr_assert_str_eq(first[i], "b1");
    }
    scene_service(s, &(struct scene_service) PDIP(VIP ":80/tcp",
                                                  .backends = B1 ":80 " B2 ":80"));
    for (int i = 0; i < 16; i++) {
        ack.sport = 42000 + i;
        cr_assert_eq(scene_inject(s, "client", &ack, NULL), 0);
        cr_assert_gt(scene_take(s, out, sizeof out, &port, NULL), 0);
        cr_expect_str_eq(port, "b1", "connection %d moved to %s", i, port);
    }
    /* New connections do reach the new backend. */
    for (int i = 0; i < 16; i++) {
        syn.sport = 43000 + i;
        cr_assert_eq(scene_inject(s, "client", &syn, NULL), 0);
        cr_assert_gt(scene_take(s, out, sizeof out, &port, NULL), 0);
        on_b1 += !strcmp(port, "b1");
    }
    cr_expect(on_b1 > 0 && on_b1 < 16, "%d of 16 new connections on b1", on_b1);

    dp_dispatch_dump(s->dp, &entries, &n);
    cr_expect_eq(n, 32u, "one entry per connection, naming its backend");
    for (size_t i = 0; i < n; i++) {
        cr_expect_eq(entries[i].backend.port, 80);
    }
    free(entries);
}

Test(preserve_dip, refused_where_the_port_would_change_or_with_snat)
{
    struct dp_lb_backend b = { scene_ip(B1), 8080 };
    struct dp_lb_spec spec = { .vip = scene_ip(VIP), .port = 80, .proto = IP_PROTO_TCP,
                               .dsr = true, .preserve_dip = true, .name = "LB",
                               .n_backends = 1, .backends = &b };
    const char *backends[] = { "10.244.1.6:80", "10.244.1.7:8080" };
    Vswitch__AddLb req = VSWITCH__ADD_LB__INIT;
    struct lb_config cfg;
    char err[256];

    s = scene_new(NULL);
    cr_expect_eq(dp_lb_set(s->dp, &spec, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "backend 1: port 8080 differs from the VIP port 80, which "
                     "preserve-dip keeps");
    b.port = 80;
    spec.dsr = false;
    cr_expect_eq(dp_lb_set(s->dp, &spec, err, sizeof err), -EINVAL);
    spec.dsr = true;
    cr_expect_eq(dp_lb_set(s->dp, &spec, err, sizeof err), 0, "%s", err);
    scene_free(s);
    s = NULL;

    req.service = "10.96.0.10:80/tcp";
    req.preserve_dip = true;
    req.backends = (char **) backends;
    req.n_backends = 2;
    cr_expect_eq(lb_config_from_msg(&req, NULL, &cfg, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "backend 2 \"10.244.1.7:8080\": a --preserve-dip policy keeps the "
                     "destination port, so the target port must equal the service port 80");
    lb_config_destroy(&cfg);
    req.n_backends = 1;
    req.no_dsr = true;
    cr_expect_eq(lb_config_from_msg(&req, NULL, &cfg, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "10.96.0.10:80/tcp: --preserve-dip is DSR (the backend answers from "
                     "the VIP) and cannot be combined with --no-dsr");
    lb_config_destroy(&cfg);
    req.no_dsr = false;
    cr_assert_eq(lb_config_from_msg(&req, NULL, &cfg, err, sizeof err), 0, "%s", err);
    cr_expect(cfg.preserve_dip && cfg.dsr);
    lb_config_destroy(&cfg);
}

/* ---- Across the overlay ---- */

TestSuite(preserve_dip_overlay, .init = vxlan_setup, .fini = vxlan_teardown);

Test(preserve_dip_overlay, client_node_fixes_only_the_mac_to_the_remote_backend)
{
    struct pkt_spec syn = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = VIP, .sport = 40000, .dport = 80 };
    uint8_t dgram[2048];
    const struct eth_header *inner = (const struct eth_header *) (dgram + VXLAN_HDR_LEN);
    const struct ip_header *ip = (const struct ip_header *) (inner + 1);
    char mac[ETH_STR_LEN];

    scene_service(vx.node, &(struct scene_service) PDIP(VIP ":80/tcp",
                                                        .backends = "10.244.2.9:80"));
    cr_assert_eq(scene_inject(vx.node, "pod", &syn, NULL), 0);
    peer_receive(dgram, sizeof dgram);
    cr_expect_str_eq(addr_mac_str(inner->dst, mac), "0a:58:0a:f4:02:09",
                     "the backend pod's dispatch MAC");
    cr_expect_eq(ip->dst, scene_ip(VIP));
    cr_expect_eq(ntohs(((const struct tcp_header *) (ip + 1))->dst), 80);
    cr_expect_eq(ip->ttl, 63);
}

Test(preserve_dip_overlay, backend_node_puts_in_the_pods_mac_and_keeps_no_pair)
{
    struct pkt_spec syn = { .eth_src = PEER_ROUTER, .eth_dst = "0a:58:0a:f4:01:05",
                            .ip_src = "10.244.2.7", .ip_dst = VIP, .sport = 40000,
                            .dport = 80, .ttl = 63 };
    struct pkt_spec synack = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = VIP,
                               .ip_dst = "10.244.2.7", .sport = 80, .dport = 40000,
                               .tcp_flags = TCP_SYN | TCP_ACK };
    uint8_t frame[256], out[2048], dgram[2048];
    const struct ip_header *ip = (const struct ip_header *) (out + ETH_HDR_LEN);
    struct dp_conn_info *conns;
    char mac[ETH_STR_LEN];
    size_t n_conns;
    int n;

    scene_service(vx.node, &(struct scene_service) PDIP(VIP ":80/tcp",
                                                        .backends = "10.244.1.5:80"));
    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send("127.0.0.2", 42, frame, pkt_build(&syn, frame, sizeof frame));
    n = wait_take("pod", out, sizeof out, NULL);
    cr_assert_gt(n, 0, "delivered to the backend pod");
    cr_expect_str_eq(addr_mac_str(((const struct eth_header *) out)->dst, mac), POD_MAC);
    cr_expect_eq(ip->dst, scene_ip(VIP), "the pod receives its VIP");
    cr_expect_eq(ip->src, scene_ip("10.244.2.7"), "and the client's address");
    cr_expect_eq(ntohs(((const struct tcp_header *) (ip + 1))->dst), 80);
    cr_expect_eq(ip->ttl, 62);
    cr_expect(pkt_ip_csum_ok(out, n) && pkt_l4_csum_ok(out, n));

    /* Its answer from the VIP leaves as it is, straight for the client's node. */
    cr_assert_eq(scene_inject(vx.node, "pod", &synack, NULL), 0);
    n = peer_receive(dgram, sizeof dgram);
    ip = (const struct ip_header *) (dgram + VXLAN_HDR_LEN + ETH_HDR_LEN);
    cr_expect_eq(ip->src, scene_ip(VIP));
    cr_expect_eq(ntohs(((const struct tcp_header *) (ip + 1))->src), 80);
    dp_conn_dump(vx.node->dp, &conns, &n_conns);
    cr_expect_eq(n_conns, 0u);
    free(conns);

    /* A pod that is no backend (the policy moved elsewhere) gets nothing. */
    scene_service(vx.node, &(struct scene_service) PDIP(VIP ":80/tcp",
                                                        .backends = "10.244.2.9:80"));
    syn.sport = 40001;
    peer_send("127.0.0.2", 42, frame, pkt_build(&syn, frame, sizeof frame));
    for (int i = 0; i < 200 && scene_drops(vx.node, DROP_NO_BACKEND) < 1; i++) {
        usleep(10000);
    }
    cr_expect_eq(scene_drops(vx.node, DROP_NO_BACKEND), 1u);
    cr_expect_eq(wait_take("pod", out, sizeof out, NULL), -EAGAIN);
}
