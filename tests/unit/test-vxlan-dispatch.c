/* DSR across nodes, the client's side: the dispatch entries by which this node remembers
 * which remote backend each connection went to (by its dispatch MAC), so that a scale-up, a
 * flush or a restart does not move it; their limits; and the ICMP errors about the replies.
 * Over real UDP sockets on loopback (vxlan-peer.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp/csum.h"
#include "dp/dp.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "pkt-builder.h"
#include "scene.h"
#include "vxlan-peer.h"

TestSuite(vxlan_dispatch, .init = vxlan_setup, .fini = vxlan_teardown);

#define DISPATCH_CONNS 32

/* The backends 10.244.2.(9 + i), i < n, on the peer, for VIP:80 (DSR). */
static void remote_policy(struct scene *node, size_t n)
{
    char backends[128] = "";

    cr_assert_leq(n, 4u);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(backends);

        snprintf(backends + len, sizeof backends - len, " 10.244.2.%zu:8080", 9 + i);
    }
    cr_assert_eq(scene_service(node, &(struct scene_service) { .vip = VIP ":80/tcp",
                                                               .backends = backends,
                                                               .name = "LB_DSR" }), 0);
}

/* Sends a TCP segment with 'flags' from the pod's port 'sport' to VIP:80 through 'node' and
 * returns the last byte of the dispatch MAC it reached the peer with (the backend's). */
static uint8_t dispatched_to(struct scene *node, uint16_t sport, uint8_t flags)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = VIP, .sport = sport, .dport = 80, .tcp_flags = flags };
    uint8_t dgram[2048];
    const struct eth_header *inner = (const struct eth_header *) (dgram + VXLAN_HDR_LEN);
    const struct ip_header *ip = (const struct ip_header *) (inner + 1);

    cr_assert_eq(scene_inject(node, "pod", &spec, NULL), 0);
    cr_assert_gt(peer_receive(dgram, sizeof dgram), VXLAN_HDR_LEN + ETH_HDR_LEN + IP_HDR_LEN);
    cr_assert_eq(inner->dst.a[0], 0x0a);
    cr_assert_eq(inner->dst.a[1], 0x58, "a dispatch MAC");
    cr_assert_eq(ip->dst, scene_ip(VIP));
    return inner->dst.a[5];
}

static const struct dp_lb_info *lb_info(const struct dp_lb_info *infos, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (infos[i].spec.port == 80) {
            return &infos[i];
        }
    }
    cr_assert_fail("no policy for port 80");
    return NULL;
}

Test(vxlan_dispatch, dispatched_connections_stay_on_their_backend_when_one_is_added)
{
    uint8_t first[DISPATCH_CONNS], maglev[DISPATCH_CONNS];
    struct dp_dispatch_info *entries;
    struct scene *fresh;
    struct dp_conn_info *conns;
    struct dp_table_stats stats;
    struct dp_lb_info *infos;
    size_t n, n_infos;
    int moved = 0, to_new = 0;

    remote_policy(vx.node, 2);
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        first[i] = dispatched_to(vx.node, 41000 + i, TCP_SYN);
        cr_expect_eq(dispatched_to(vx.node, 41000 + i, TCP_ACK), first[i]);
    }
    remote_policy(vx.node, 3);           /* Scale-up; the flow cache is flushed. */
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        cr_expect_eq(dispatched_to(vx.node, 41000 + i, TCP_ACK), first[i],
                     "connection %d moved from .%u", i, first[i]);
    }
    dp_flow_flush(vx.node->dp);
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        cr_expect_eq(dispatched_to(vx.node, 41000 + i, TCP_ACK), first[i],
                     "connection %d moved after a flush", i);
    }

    dp_dispatch_dump(vx.node->dp, &entries, &n);
    cr_expect_eq(n, (size_t) DISPATCH_CONNS);
    for (size_t i = 0; i < n; i++) {
        cr_expect_str_eq(entries[i].state, "ESTABLISHED");
        cr_expect_eq(entries[i].backend.port, 8080);
        cr_expect_eq(ntohl(entries[i].backend.ip) & 0xff, first[entries[i].orig.sport - 41000]);
        cr_expect_eq(entries[i].packets, 4u, "SYN, ACK, and one after each change");
        cr_expect_str_eq(entries[i].policy, "LB_DSR");
    }
    free(entries);
    dp_conn_dump(vx.node->dp, &conns, &n);
    cr_expect_eq(n, 0u, "no flow pair: the replies never pass here");
    free(conns);
    dp_table_stats(vx.node->dp, &stats);
    cr_expect_eq(stats.flow_pairs, 0u);
    cr_expect_eq(stats.dispatch_entries, (size_t) DISPATCH_CONNS);
    dp_lb_list(vx.node->dp, &infos, &n_infos);
    cr_expect_eq(lb_info(infos, n_infos)->dispatched, (uint64_t) DISPATCH_CONNS,
                 "each connection dispatched once");
    cr_expect_eq(lb_info(infos, n_infos)->active_pairs, 0u);
    cr_expect_eq(lb_info(infos, n_infos)->packets, 4u * DISPATCH_CONNS);
    dp_lb_info_free(infos, n_infos);

    /* What Maglev alone, with no entry to follow, would do with them now: a switch beside
     * this one (127.0.0.3) that never saw them, with the same policy. */
    fresh = vxlan_node("127.0.0.3", NULL);
    remote_policy(fresh, 3);
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        maglev[i] = dispatched_to(fresh, 41000 + i, TCP_ACK);
        moved += maglev[i] != first[i];
        to_new += maglev[i] == 11;
    }
    cr_expect_gt(moved, 0, "none of %d would have moved: the test proves nothing",
                 DISPATCH_CONNS);
    cr_expect_gt(to_new, 0);
    cr_log_info("%d of %d connections would have moved without their entries", moved,
                DISPATCH_CONNS);
    /* Picked up under way: an entry again, assured by the client's next segment. */
    dp_dispatch_dump(fresh->dp, &entries, &n);
    cr_expect_eq(n, (size_t) DISPATCH_CONNS);
    cr_expect_eq(ntohl(entries[0].backend.ip) & 0xff, maglev[entries[0].orig.sport - 41000]);
    free(entries);
    scene_free(fresh);
}

/* Graceful endpoint removal on the client's node: the established connections of a backend
 * that leaves the policy (terminating, then gone) keep following their entries to it; new
 * connections, and a new connection on the tuple of a closed one, go to the backend left. */
Test(vxlan_dispatch, a_removed_backend_keeps_its_tcp_dispatch_entries)
{
    uint8_t first[DISPATCH_CONNS];
    struct dp_dispatch_info *entries;
    size_t n;
    int on_removed = 0, reopened = -1;

    remote_policy(vx.node, 2);
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        first[i] = dispatched_to(vx.node, 43000 + i, TCP_SYN);
        on_removed += first[i] == 10;
    }
    cr_assert_gt(on_removed, 0);
    remote_policy(vx.node, 1);           /* 10.244.2.10 leaves. */
    dp_dispatch_dump(vx.node->dp, &entries, &n);
    cr_expect_eq(n, (size_t) DISPATCH_CONNS, "every entry stays");
    free(entries);
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        cr_expect_eq(dispatched_to(vx.node, 43000 + i, TCP_ACK), first[i],
                     "an established connection stays on its backend");
        if (first[i] == 10 && reopened < 0) {
            reopened = i;
        }
    }
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        cr_expect_eq(dispatched_to(vx.node, 44000 + i, TCP_SYN), 9,
                     "new ones go to the one left");
    }
    /* The client closes one on the removed backend and opens another from the same port. */
    dispatched_to(vx.node, 43000 + reopened, TCP_RST);
    cr_expect_eq(dispatched_to(vx.node, 43000 + reopened, TCP_SYN), 9,
                 "a new connection on a closed one's tuple goes to the one left");
}

/* UDP has no end to wait for: the entries of a removed backend go, and the next datagram is
 * balanced afresh (the stale-UDP rule). */
Test(vxlan_dispatch, a_removed_backend_takes_its_udp_dispatch_entries)
{
    struct dp_dispatch_info *entries;
    uint8_t dgram[2048];
    const struct eth_header *inner = (const struct eth_header *) (dgram + VXLAN_HDR_LEN);
    int on_removed = 0;
    size_t n;

    cr_assert_eq(scene_service(vx.node, &(struct scene_service) {
                     .vip = VIP ":53/udp", .backends = "10.244.2.9:5353 10.244.2.10:5353",
                     .name = "LB_UDP" }), 0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < DISPATCH_CONNS; i++) {
            struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER,
                                     .ip_src = "10.244.1.5", .ip_dst = VIP, .proto = 17,
                                     .sport = 45000 + i, .dport = 53, .payload = 20 };

            cr_assert_eq(scene_inject(vx.node, "pod", &spec, NULL), 0);
            cr_assert_gt(peer_receive(dgram, sizeof dgram), VXLAN_HDR_LEN + ETH_HDR_LEN);
            if (round == 0) {
                on_removed += inner->dst.a[5] == 10;
            } else {
                cr_expect_eq(inner->dst.a[5], 9, "balanced afresh, to the backend left");
            }
        }
        if (round == 0) {
            cr_assert_gt(on_removed, 0);
            cr_assert_eq(scene_service(vx.node, &(struct scene_service) {
                             .vip = VIP ":53/udp", .backends = "10.244.2.9:5353",
                             .name = "LB_UDP" }), 0);
            dp_dispatch_dump(vx.node->dp, &entries, &n);
            cr_expect_eq(n, (size_t) (DISPATCH_CONNS - on_removed),
                         "its UDP entries went with it");
            free(entries);
        }
    }
}

/* The node reaching a Service (its routes into the switch, via the router MAC): from the
 * gateway, DSR across the overlay as for a pod (the answer comes back to the gateway over the
 * overlay); from the node's own address, a backend's node would answer that address over the
 * underlay, so the connection is source-NAT'd to the gateway here, and the pair kept here. */
Test(vxlan_dispatch, the_node_from_its_own_address_is_source_natted_to_a_remote_backend)
{
    struct pkt_spec spec = { .eth_src = "0a:58:ff:ff:ff:fe", .eth_dst = ROUTER,
                             .ip_src = "10.244.1.1", .ip_dst = VIP, .sport = 46000,
                             .dport = 80, .tcp_flags = TCP_SYN };
    uint8_t dgram[2048];
    const struct eth_header *inner = (const struct eth_header *) (dgram + VXLAN_HDR_LEN);
    const struct ip_header *ip = (const struct ip_header *) (inner + 1);
    const struct tcp_header *tcp = (const struct tcp_header *) (ip + 1);
    struct dp_conn_info *conns;
    char mac[ETH_STR_LEN];
    size_t n;

    remote_policy(vx.node, 1);
    cr_assert_eq(scene_inject(vx.node, "vsw0", &spec, NULL), 0);
    cr_assert_gt(peer_receive(dgram, sizeof dgram), VXLAN_HDR_LEN + ETH_HDR_LEN + IP_HDR_LEN);
    cr_expect_str_eq(addr_mac_str(inner->dst, mac), "0a:58:0a:f4:02:09",
                     "from the gateway: dispatched by MAC, DSR");
    cr_expect_eq(ip->src, scene_ip("10.244.1.1"));
    cr_expect_eq(ip->dst, scene_ip(VIP));

    spec.ip_src = "192.168.1.1";
    spec.sport = 46001;
    cr_assert_eq(scene_inject(vx.node, "vsw0", &spec, NULL), 0);
    cr_assert_gt(peer_receive(dgram, sizeof dgram), VXLAN_HDR_LEN + ETH_HDR_LEN + IP_HDR_LEN);
    cr_expect_str_eq(addr_mac_str(inner->dst, mac), PEER_ROUTER, "routed, not dispatched");
    cr_expect_eq(ip->src, scene_ip("10.244.1.1"), "source-NAT'd to the gateway");
    cr_expect_eq(ip->dst, scene_ip("10.244.2.9"), "DNAT'd here");
    cr_expect_eq(ntohs(tcp->dst), 8080);
    dp_conn_dump(vx.node->dp, &conns, &n);
    cr_expect_eq(n, 1u, "the pair is kept on the client's node");
    cr_expect(n == 1 && !conns[0].dsr);
    free(conns);
}

Test(vxlan_dispatch, a_client_icmp_error_about_a_reply_goes_to_the_backends_node)
{
    struct pkt_spec query = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                              .ip_dst = VIP, .proto = 17, .sport = 5000, .dport = 53,
                              .payload = 20 };
    struct pkt_spec answer = { .ip_src = VIP, .ip_dst = "10.244.1.5", .proto = 17,
                               .sport = 53, .dport = 5000, .payload = 20 };
    uint8_t frame[600], quoted[256], dgram[2048];
    const uint8_t *inner = dgram + VXLAN_HDR_LEN;
    const struct ip_header *outer;
    struct ip_header *ip = (struct ip_header *) (frame + ETH_HDR_LEN);
    struct icmp_header *icmp = (struct icmp_header *) (ip + 1);
    size_t quote = pkt_build(&answer, quoted, sizeof quoted) - ETH_HDR_LEN;
    char mac[ETH_STR_LEN];
    int n;

    cr_assert_eq(scene_service(vx.node, &(struct scene_service) {
                     .vip = VIP ":53/udp", .backends = "10.244.2.9:5353", .name = "LB_UDP" }),
                 0);
    cr_assert_eq(scene_inject(vx.node, "pod", &query, NULL), 0);
    peer_receive(dgram, sizeof dgram);

    /* The client's port unreachable about the answer it got from the VIP. */
    query.proto = IP_PROTO_ICMP;
    query.sport = ICMP_DEST_UNREACH;
    query.dport = 3;
    query.payload = quote;
    n = pkt_build(&query, frame, sizeof frame);
    memcpy(icmp + 1, quoted + ETH_HDR_LEN, quote);
    icmp->csum = 0;
    icmp->csum = csum_finish(csum_partial(icmp, ICMP_HDR_LEN + quote, 0));
    cr_assert_eq(dp_inject(vx.node->dp, "pod", frame, n, NULL), 0);
    n = peer_receive(dgram, sizeof dgram);
    outer = (const struct ip_header *) (inner + ETH_HDR_LEN);
    cr_expect_str_eq(addr_mac_str(((const struct eth_header *) inner)->dst, mac),
                     "0a:58:0a:f4:02:09", "to the backend, whose node holds the pair");
    cr_expect_eq(outer->proto, IP_PROTO_ICMP);
    cr_expect_eq(outer->dst, scene_ip(VIP), "untouched: the backend's node translates it");
    cr_expect_eq(memcmp(inner + ETH_HDR_LEN + IP_HDR_LEN + ICMP_HDR_LEN,
                        quoted + ETH_HDR_LEN, quote), 0, "the quote untouched");
    cr_expect(pkt_l4_csum_ok(inner, n - VXLAN_HDR_LEN));
}

/* A second switch on this host (127.0.0.3) beside the suite's, with its own settings. */
static struct scene *second_switch(size_t max_pairs, uint32_t per_pod, const char *pairs_path)
{
    return vxlan_node("127.0.0.3", &(struct dp_config) { .max_flow_pairs = max_pairs,
                                                         .max_flow_pairs_per_pod = per_pod,
                                                         .pairs_path = pairs_path });
}

Test(vxlan_dispatch, without_room_for_an_entry_a_connection_is_still_dispatched)
{
    struct scene *d = second_switch(16, 2, NULL);
    struct dp_dispatch_info *entries;
    struct dp_lb_info *infos;
    size_t n;

    log_set_level(LOG_LVL_ERR);
    remote_policy(d, 2);
    for (int i = 0; i < 2; i++) {
        dispatched_to(d, 44000 + i, TCP_SYN);
        dispatched_to(d, 44000 + i, TCP_ACK);
    }
    /* At its limit with established connections only: no entry, but not refused. */
    dispatched_to(d, 44002, TCP_SYN);
    dispatched_to(d, 44002, TCP_ACK);
    dp_dispatch_dump(d->dp, &entries, &n);
    cr_expect_eq(n, 2u);
    free(entries);
    cr_expect_eq(scene_drops(d, DROP_FLOW_PAIR_QUOTA), 0u);
    dp_lb_list(d->dp, &infos, &n);
    cr_expect_eq(lb_info(infos, n)->dispatched, 3u);
    dp_lb_info_free(infos, n);
    scene_free(d);
}

Test(vxlan_dispatch, a_restarted_switch_follows_the_adopted_dispatch_entries)
{
    char path[] = "/tmp/vswitch-dispatch-XXXXXX";
    uint8_t first[DISPATCH_CONNS];
    struct scene *d;
    int fd = mkstemp(path);

    cr_assert(fd >= 0);
    close(fd);
    d = second_switch(0, 0, path);
    remote_policy(d, 2);
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        first[i] = dispatched_to(d, 45000 + i, TCP_SYN);
        dispatched_to(d, 45000 + i, TCP_ACK);
    }
    scene_free(d);

    /* Restarted with the policy as it is now in the database: a backend more. */
    d = second_switch(0, 0, path);
    remote_policy(d, 3);
    cr_assert_eq(dp_start(d->dp), 0);
    for (int i = 0; i < DISPATCH_CONNS; i++) {
        cr_expect_eq(dispatched_to(d, 45000 + i, TCP_ACK), first[i],
                     "connection %d moved across the restart", i);
    }
    scene_free(d);
    unlink(path);
}
