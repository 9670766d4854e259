/* NodePort in the datapath: a policy with VIP 0.0.0.0 answers on the node's own addresses
 * (dp_node_addrs_set), and only there; the flow pair, the dispatch to a backend on another
 * node and the reply's restored source carry the address the client used.  The way in is
 * the host port, where vswitchd's uplink classifier hands the node's NodePort traffic. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp/dp.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "pkt-builder.h"
#include "scene.h"
#include "vxlan-peer.h"

#define NODE_ADDR "192.0.2.1"
#define OTHER_NODE_ADDR "192.0.2.2"
#define CLIENT "203.0.113.7"
#define HOST_MAC "02:00:00:00:00:fe"

static void node_addrs(struct scene *s, const char *const *addrs, size_t n)
{
    be32 ips[4];

    cr_assert_leq(n, 4u);
    for (size_t i = 0; i < n; i++) {
        ips[i] = scene_ip(addrs[i]);
    }
    cr_assert_eq(dp_node_addrs_set(s->dp, ips, n), n);
}

static struct pkt_spec from_outside(const char *dst, uint16_t sport)
{
    struct pkt_spec spec = { .eth_src = HOST_MAC, .eth_dst = ROUTER, .ip_src = CLIENT,
                             .ip_dst = dst, .sport = sport, .dport = 30080,
                             .tcp_flags = TCP_SYN };
    return spec;
}

/* The next frame the scene sent, which must be on 'port': its IPv4 header. */
static const struct ip_header *take_on(struct scene *s, const char *port, uint8_t *buf,
                                       size_t size)
{
    const char *on;
    int n = scene_take(s, buf, size, &on, NULL);

    cr_assert_gt(n, ETH_HDR_LEN + IP_HDR_LEN, "a frame was sent");
    cr_assert_str_eq(on, port);
    cr_expect(pkt_ip_csum_ok(buf, n) && pkt_l4_csum_ok(buf, n));
    return (const struct ip_header *) (buf + ETH_HDR_LEN);
}

Test(nodeport, balanced_on_a_node_address_and_answered_from_it)
{
    struct scene *s = scene_new(NULL);
    const char *addrs[] = { "10.0.0.1", NODE_ADDR };
    struct pkt_spec syn = from_outside(NODE_ADDR, 40000);
    struct pkt_spec synack = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.6",
                               .ip_dst = CLIENT, .sport = 8080, .dport = 40000,
                               .tcp_flags = TCP_SYN | TCP_ACK };
    uint8_t buf[2048];
    const struct ip_header *ip;
    struct dp_conn_info *conns;
    size_t n;

    cr_assert(s);
    cr_assert_eq(scene_port(s, "pod", "10.244.1.6", POD_MAC), 0);
    cr_assert_eq(scene_service(s, &(struct scene_service) {
                     .vip = "0.0.0.0:30080/tcp", .backends = "10.244.1.6:8080" }), 0);
    node_addrs(s, addrs, 2);

    cr_assert_eq(scene_inject(s, "vsw0", &syn, NULL), 0);
    ip = take_on(s, "pod", buf, sizeof buf);
    cr_expect_eq(ip->dst, scene_ip("10.244.1.6"));
    cr_expect_eq(ip->src, scene_ip(CLIENT), "DSR: the backend sees the client");
    cr_expect_eq(ntohs(((const struct tcp_header *) (ip + 1))->dst), 8080);

    cr_assert_eq(scene_inject(s, "pod", &synack, NULL), 0);
    ip = take_on(s, "vsw0", buf, sizeof buf);
    cr_expect_eq(ip->src, scene_ip(NODE_ADDR), "the address the client used, never 0.0.0.0");
    cr_expect_eq(ntohs(((const struct tcp_header *) (ip + 1))->src), 30080);
    cr_expect_eq(ip->dst, scene_ip(CLIENT));

    cr_assert_eq(dp_conn_dump(s->dp, &conns, &n), 0);
    cr_assert_eq(n, 1u);
    cr_expect_eq(conns[0].orig.dst, scene_ip(NODE_ADDR));
    cr_expect(conns[0].dsr);
    free(conns);

    /* The node's other address is a NodePort address too. */
    syn = from_outside("10.0.0.1", 40001);
    cr_assert_eq(scene_inject(s, "vsw0", &syn, NULL), 0);
    ip = take_on(s, "pod", buf, sizeof buf);
    cr_expect_eq(ip->dst, scene_ip("10.244.1.6"));
    scene_free(s);
}

Test(nodeport, only_the_node_addresses_and_the_nodeport_ports)
{
    struct scene *s = scene_new(NULL);
    const char *addrs[] = { NODE_ADDR };
    struct pkt_spec syn = from_outside("192.0.2.99", 40000);
    struct dp_conn_info *conns;
    size_t n;

    cr_assert(s);
    cr_assert_eq(scene_port(s, "pod", "10.244.1.6", POD_MAC), 0);
    cr_assert_eq(scene_service(s, &(struct scene_service) {
                     .vip = "0.0.0.0:30080/tcp", .backends = "10.244.1.6:8080" }), 0);
    cr_expect_eq(scene_inject(s, "vsw0", &syn, NULL), DROP_HAIRPIN,
                 "no node address known yet: routed back where it came from");
    node_addrs(s, addrs, 1);
    cr_expect_eq(scene_inject(s, "vsw0", &syn, NULL), DROP_HAIRPIN, "not a node address");
    syn = from_outside(NODE_ADDR, 40000);
    syn.dport = 30081;
    cr_expect_eq(scene_inject(s, "vsw0", &syn, NULL), DROP_HAIRPIN, "not a NodePort");
    syn.dport = 30080;
    syn.proto = IP_PROTO_UDP;
    cr_expect_eq(scene_inject(s, "vsw0", &syn, NULL), DROP_HAIRPIN, "not its protocol");
    cr_assert_eq(dp_conn_dump(s->dp, &conns, &n), 0);
    cr_expect_eq(n, 0u);
    free(conns);

    /* An address the node lost stops answering at once (the cache is flushed). */
    syn = from_outside(NODE_ADDR, 40002);
    cr_assert_eq(scene_inject(s, "vsw0", &syn, NULL), 0);
    scene_drain(s);
    syn.sport = 40003;
    node_addrs(s, NULL, 0);
    cr_expect_eq(scene_inject(s, "vsw0", &syn, NULL), DROP_HAIRPIN);
    scene_free(s);
}

Test(nodeport, without_dsr_the_backend_sees_the_gateway)
{
    struct scene *s = scene_new(NULL);
    const char *addrs[] = { NODE_ADDR };
    struct pkt_spec syn = from_outside(NODE_ADDR, 40000);
    uint8_t buf[2048];
    const struct ip_header *ip;

    cr_assert(s);
    cr_assert_eq(scene_port(s, "pod", "10.244.1.6", POD_MAC), 0);
    cr_assert_eq(scene_service(s, &(struct scene_service) {
                     .vip = "0.0.0.0:30080/tcp", .backends = "10.244.1.6:8080",
                     .snat = true }), 0);
    node_addrs(s, addrs, 1);
    cr_assert_eq(scene_inject(s, "vsw0", &syn, NULL), 0);
    ip = take_on(s, "pod", buf, sizeof buf);
    cr_expect_eq(ip->src, scene_ip("10.244.1.1"), "source-NAT'd to the node's gateway");
    scene_free(s);
}

Test(nodeport, preserve_dip_is_refused)
{
    struct scene *s = scene_new(NULL);

    cr_assert(s);
    cr_expect_neq(scene_service(s, &(struct scene_service) {
                      .vip = "0.0.0.0:30080/tcp", .backends = "10.244.1.6:30080",
                      .preserve_dip = true }), 0, "no backend can hold every node address");
    scene_free(s);
}

TestSuite(nodeport_overlay, .init = vxlan_setup, .fini = vxlan_teardown);

/* A NodePort 0.0.0.0:30080/tcp whose one backend, 10.244.2.9, is on the peer node, 'syn'
 * sent into it from the host port: returns the inner IP header of the datagram the peer gets,
 * in 'dgram', with its inner destination MAC in 'mac'. */
static const struct ip_header *to_remote_backend(const struct pkt_spec *syn, uint8_t *dgram,
                                                 size_t size, char *mac)
{
    const char *addrs[] = { NODE_ADDR };
    const struct eth_header *inner = (const struct eth_header *) (dgram + VXLAN_HDR_LEN);

    cr_assert_eq(scene_service(vx.node, &(struct scene_service) {
                     .vip = "0.0.0.0:30080/tcp", .backends = "10.244.2.9:8080" }), 0);
    node_addrs(vx.node, addrs, 1);
    cr_assert_eq(scene_inject(vx.node, "vsw0", syn, NULL), 0);
    cr_assert_gt(peer_receive(dgram, size), VXLAN_HDR_LEN + ETH_HDR_LEN + IP_HDR_LEN);
    addr_mac_str(inner->dst, mac);
    return (const struct ip_header *) (inner + 1);
}

/* A remote backend: the balancing node only fixes the MAC, the node's address stays the
 * destination; the backend's node, which does not hold that address, finds the NodePort
 * policy by port, DNATs and restores that address on the reply. */
Test(nodeport_overlay, dispatched_with_the_address_the_client_used)
{
    struct pkt_spec syn = from_outside(NODE_ADDR, 40000);
    uint8_t dgram[2048];
    char mac[ETH_STR_LEN];
    const struct ip_header *ip = to_remote_backend(&syn, dgram, sizeof dgram, mac);

    cr_expect_str_eq(mac, "0a:58:0a:f4:02:09");
    cr_expect_eq(ip->dst, scene_ip(NODE_ADDR), "the node's address, not 0.0.0.0");
    cr_expect_eq(ip->src, scene_ip(CLIENT));
}

Test(nodeport_overlay, the_backends_node_restores_the_balancing_nodes_address)
{
    struct pkt_spec syn = { .eth_src = PEER_ROUTER, .eth_dst = "0a:58:0a:f4:01:05",
                            .ip_src = CLIENT, .ip_dst = OTHER_NODE_ADDR, .sport = 40000,
                            .dport = 30080, .ttl = 63 };
    struct pkt_spec synack = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                               .ip_dst = CLIENT, .sport = 8080, .dport = 40000,
                               .tcp_flags = TCP_SYN | TCP_ACK };
    uint8_t frame[256], out[2048];
    const struct ip_header *ip = (const struct ip_header *) (out + ETH_HDR_LEN);
    int n;

    cr_assert_eq(scene_service(vx.node, &(struct scene_service) {
                     .vip = "0.0.0.0:30080/tcp", .backends = "10.244.1.5:8080" }), 0);
    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send("127.0.0.2", 42, frame, pkt_build(&syn, frame, sizeof frame));
    n = wait_take("pod", out, sizeof out, NULL);
    cr_assert_gt(n, 0, "delivered to the backend pod");
    cr_expect_eq(ip->dst, scene_ip("10.244.1.5"));
    cr_expect_eq(ip->src, scene_ip(CLIENT), "the backend sees the outside client");

    /* The reply leaves through this node's host port, straight for the client. */
    cr_assert_eq(scene_inject(vx.node, "pod", &synack, NULL), 0);
    n = wait_take("vsw0", out, sizeof out, NULL);
    cr_assert_gt(n, 0);
    cr_expect_eq(ip->src, scene_ip(OTHER_NODE_ADDR));
    cr_expect_eq(ntohs(((const struct tcp_header *) (ip + 1))->src), 30080);
    cr_expect_eq(ip->dst, scene_ip(CLIENT));

    /* A port with no NodePort policy is no way in for an outside source. */
    syn.dport = 30081;
    syn.sport = 40001;
    peer_send("127.0.0.2", 42, frame, pkt_build(&syn, frame, sizeof frame));
    cr_expect_eq(wait_take("pod", out, sizeof out, NULL), -EAGAIN);
}

/* A pod reaching its own node's NodePort with the backend on the peer: dispatched there, and
 * the peer's reply, from this node's address and the NodePort, is let in (only from a
 * NodePort's port) and delivered to the pod. */
Test(nodeport_overlay, a_pod_reaches_its_nodes_nodeport_on_a_remote_backend)
{
    const char *addrs[] = { NODE_ADDR };
    struct pkt_spec syn = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = NODE_ADDR, .sport = 41000, .dport = 30080 };
    struct pkt_spec reply = { .eth_src = PEER_ROUTER, .eth_dst = ROUTER, .ip_src = NODE_ADDR,
                              .ip_dst = "10.244.1.5", .sport = 30080, .dport = 41000,
                              .tcp_flags = TCP_SYN | TCP_ACK, .ttl = 63 };
    uint8_t frame[256], out[2048], dgram[2048];
    const struct ip_header *ip = (const struct ip_header *) (dgram + VXLAN_HDR_LEN + ETH_HDR_LEN);

    cr_assert_eq(scene_service(vx.node, &(struct scene_service) {
                     .vip = "0.0.0.0:30080/tcp", .backends = "10.244.2.9:8080" }), 0);
    node_addrs(vx.node, addrs, 1);
    cr_assert_eq(scene_inject(vx.node, "pod", &syn, NULL), 0);
    cr_assert_gt(peer_receive(dgram, sizeof dgram), VXLAN_HDR_LEN + ETH_HDR_LEN + IP_HDR_LEN);
    cr_expect_eq(ip->dst, scene_ip(NODE_ADDR), "dispatched with the node's address");

    cr_assert_eq(dp_start(vx.node->dp), 0);
    peer_send("127.0.0.2", 42, frame, pkt_build(&reply, frame, sizeof frame));
    cr_expect_gt(wait_take("pod", out, sizeof out, NULL), 0, "the reply reaches the pod");
    reply.sport = 30081;                /* Not a NodePort: the peer cannot speak for it. */
    peer_send("127.0.0.2", 42, frame, pkt_build(&reply, frame, sizeof frame));
    cr_expect_eq(wait_take("pod", out, sizeof out, NULL), -EAGAIN);
}

/* The node reaching its own NodePort (steered at lo's egress) from one of its addresses that
 * is not --node-ip: as from --node-ip, a remote backend gets it source-NAT'd to the gateway,
 * whose answer comes back through this switch (its node would otherwise answer the node's
 * address over the underlay). */
Test(nodeport_overlay, the_node_from_any_of_its_addresses_is_source_natted)
{
    struct pkt_spec syn = { .eth_src = HOST_MAC, .eth_dst = ROUTER, .ip_src = NODE_ADDR,
                            .ip_dst = NODE_ADDR, .sport = 42000, .dport = 30080 };
    uint8_t dgram[2048];
    char mac[ETH_STR_LEN];
    const struct ip_header *ip = to_remote_backend(&syn, dgram, sizeof dgram, mac);

    cr_expect_str_eq(mac, PEER_ROUTER, "routed, not dispatched");
    cr_expect_eq(ip->src, scene_ip("10.244.1.1"), "source-NAT'd to the gateway");
    cr_expect_eq(ip->dst, scene_ip("10.244.2.9"), "DNAT'd here");
}
