/* The NodePort steering program (dp/bpf/nodeport.bpf.c) under BPF_PROG_TEST_RUN, loaded and
 * filled by daemon/nodeport-steer.c as vswitchd does, table-driven: {description, input
 * frame, expected verdict, counter}.  A steered frame leaves addressed to the router MAC from
 * the host port's MAC, every other byte unchanged; anything else goes up untouched.  The
 * tests need root (bpf()) and fail without. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/nodeport-steer.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "pkt-builder.h"

#define NODE "192.0.2.1"
#define CLIENT "203.0.113.7"
#define UPLINK_MAC "02:00:00:00:00:01"
#define PEER_MAC "02:00:00:00:00:02"
#define HOST_MAC "02:00:00:00:00:fe"
#define ROUTER_MAC "0a:58:0a:f4:01:01"
#define HOST_IFINDEX 1

struct steer_case {
    const char *name;
    struct pkt_spec in;
    size_t truncate;                    /* Bytes cut off the end of 'in'. */
    int verdict;                        /* TC_ACT_REDIRECT: steered. */
};

#define FROM_CLIENT(...) { .eth_src = PEER_MAC, .eth_dst = UPLINK_MAC, .ip_src = CLIENT, \
                           .ip_dst = NODE, .sport = 40000, __VA_ARGS__ }

static const struct steer_case cases[] = {
    { "TCP to a NodePort on the node's address: steered",
      FROM_CLIENT(.dport = 30080, .tcp_flags = TCP_SYN), 0, TC_ACT_REDIRECT },
    { "UDP to a NodePort: steered",
      FROM_CLIENT(.proto = 17, .dport = 30053, .payload = 20), 0, TC_ACT_REDIRECT },
    { "IP options: steered all the same (ports found past them)",
      FROM_CLIENT(.dport = 30080, .ihl = 7), 0, TC_ACT_REDIRECT },
    { "ssh to the node: up", FROM_CLIENT(.dport = 22), 0, TC_ACT_OK },
    { "the NodePort's number in the other protocol: up",
      FROM_CLIENT(.proto = 17, .dport = 30080, .payload = 8), 0, TC_ACT_OK },
    { "another address of the same port: up",
      { .eth_src = PEER_MAC, .eth_dst = UPLINK_MAC, .ip_src = CLIENT, .ip_dst = "192.0.2.9",
        .sport = 40000, .dport = 30080 }, 0, TC_ACT_OK },
    { "first fragment (MF): up, the later ones would have no ports",
      FROM_CLIENT(.proto = 17, .dport = 30053, .payload = 20, .frag_off = 0x2000), 0,
      TC_ACT_OK },
    { "later fragment: up",
      FROM_CLIENT(.proto = 17, .dport = 30053, .payload = 20, .frag_off = 100), 0, TC_ACT_OK },
    { "ICMP: up",
      { .eth_src = PEER_MAC, .eth_dst = UPLINK_MAC, .ip_src = CLIENT, .ip_dst = NODE,
        .proto = 1, .sport = 8 }, 0, TC_ACT_OK },
    { "ARP: up",
      { .eth_src = PEER_MAC, .eth_dst = "ff:ff:ff:ff:ff:ff", .eth_type = 0x0806, .arp_op = 1,
        .arp_sha = PEER_MAC, .arp_spa = CLIENT, .arp_tpa = NODE }, 0, TC_ACT_OK },
    { "VLAN-tagged: up (not IPv4 at the Ethernet type)",
      FROM_CLIENT(.dport = 30080, .vlan = 7), 0, TC_ACT_OK },
    { "cut inside the ports: up", FROM_CLIENT(.dport = 30080), 20 - 2, TC_ACT_OK },
};

static struct np_steer *open_steer(void)
{
    struct eth_addr host, router;
    struct np_steer *s = NULL;
    char err[512] = "";

    cr_assert_eq(addr_parse_mac(HOST_MAC, &host), 0);
    cr_assert_eq(addr_parse_mac(ROUTER_MAC, &router), 0);
    cr_assert_eq(np_steer_open(HOST_IFINDEX, host, router, &s, err, sizeof err), 0,
                 "the steering program must load (these tests need root and bpf()): %s", err);
    return s;
}

static struct np_steer_entry entry(const char *addr, uint16_t port, uint8_t proto)
{
    struct np_steer_entry e;

    memset(&e, 0, sizeof e);
    cr_assert_eq(addr_parse_ip(addr, &e.addr), 0);
    e.port = htons(port);
    e.proto = proto;
    return e;
}

static int run(struct np_steer *s, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len, .data_out = out,
                .data_size_out = *out_len);

    cr_assert_eq(bpf_prog_test_run_opts(np_steer_prog_fd(s), &opts), 0,
                 "BPF_PROG_TEST_RUN: %s", strerror(errno));
    *out_len = opts.data_size_out;
    return opts.retval;
}

ParameterizedTestParameters(nodeport_steer, table)
{
    static size_t idx[sizeof cases / sizeof *cases];

    for (size_t i = 0; i < sizeof idx / sizeof *idx; i++) {
        idx[i] = i;
    }
    return cr_make_param_array(size_t, idx, sizeof idx / sizeof *idx);
}

ParameterizedTest(size_t *index, nodeport_steer, table)
{
    const struct steer_case *c = &cases[*index];
    struct np_steer_entry entries[] = {
        entry(NODE, 30080, IPPROTO_TCP), entry(NODE, 30053, IPPROTO_UDP),
        entry("192.0.2.2", 30080, IPPROTO_TCP),
    };
    uint8_t in[2048], out[2048], want[2048];
    size_t len = pkt_build(&c->in, in, sizeof in) - c->truncate, out_len = sizeof out;
    struct np_steer_stats st;
    struct np_steer *s = open_steer();
    struct eth_addr mac;
    int verdict;

    cr_assert_eq(np_steer_set(s, entries, sizeof entries / sizeof *entries), 0);
    verdict = run(s, in, len, out, &out_len);
    cr_expect_eq(verdict, c->verdict, "%s: verdict %d, want %d", c->name, verdict, c->verdict);
    cr_assert_eq(out_len, len, "%s", c->name);
    memcpy(want, in, len);
    if (c->verdict == TC_ACT_REDIRECT) {
        addr_parse_mac(ROUTER_MAC, &mac);
        memcpy(want, mac.a, 6);
        addr_parse_mac(HOST_MAC, &mac);
        memcpy(want + 6, mac.a, 6);
    }
    cr_expect(!memcmp(out, want, len), "%s: %s", c->name,
              c->verdict == TC_ACT_REDIRECT ? "only the MACs change" : "untouched");
    np_steer_stats(s, &st);
    cr_expect_eq(st.steered, c->verdict == TC_ACT_REDIRECT, "%s: steered counted", c->name);
    cr_expect_eq(st.own_socket, 0, "%s", c->name);
    np_steer_close(s);
}

/* The table is exactly what was set last: entries no longer wanted are gone. */
Test(nodeport_steer, the_table_follows_the_policies)
{
    struct pkt_spec syn = FROM_CLIENT(.dport = 30080);
    struct np_steer_entry a = entry(NODE, 30080, IPPROTO_TCP), b = entry(NODE, 30081,
                                                                          IPPROTO_TCP);
    uint8_t in[256], out[256];
    size_t len = pkt_build(&syn, in, sizeof in), out_len = sizeof out;
    struct np_steer *s = open_steer();

    cr_assert_eq(np_steer_set(s, (struct np_steer_entry[]) { a, b }, 2), 0);
    cr_expect_eq(run(s, in, len, out, &out_len), TC_ACT_REDIRECT);
    cr_assert_eq(np_steer_set(s, &b, 1), 0);
    out_len = sizeof out;
    cr_expect_eq(run(s, in, len, out, &out_len), TC_ACT_OK, "30080 removed");
    cr_assert_eq(np_steer_set(s, NULL, 0), 0);
    syn.dport = 30081;
    len = pkt_build(&syn, in, sizeof in);
    out_len = sizeof out;
    cr_expect_eq(run(s, in, len, out, &out_len), TC_ACT_OK, "everything removed");
    np_steer_close(s);
}

/* A reply to a connection the node itself opened from a port that is also a NodePort goes to
 * the node's socket; a server listening on the NodePort does not stop the steering (the
 * NodePort takes the port, as kube-proxy's DNAT does).  BPF_PROG_TEST_RUN runs the program
 * on a loopback skb of this namespace, so the lookup finds this process's sockets. */
Test(nodeport_steer, a_reply_to_the_nodes_own_connection_is_not_steered)
{
    struct sockaddr_in srv = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in cli = srv, listener_addr = srv;
    socklen_t alen = sizeof srv;
    int listener = socket(AF_INET, SOCK_STREAM, 0), conn = socket(AF_INET, SOCK_STREAM, 0);
    int other = socket(AF_INET, SOCK_STREAM, 0);
    struct pkt_spec reply = { .eth_src = PEER_MAC, .eth_dst = UPLINK_MAC, .ip_src = "127.0.0.1",
                              .ip_dst = "127.0.0.1", .tcp_flags = TCP_ACK };
    uint8_t in[256], out[256];
    size_t len, out_len = sizeof out;
    struct np_steer_entry e[2];
    struct np_steer_stats st;
    struct np_steer *s = open_steer();

    cr_assert(listener >= 0 && conn >= 0 && other >= 0);
    cr_assert_eq(bind(listener, (struct sockaddr *) &srv, sizeof srv), 0);
    cr_assert_eq(listen(listener, 1), 0);
    cr_assert_eq(getsockname(listener, (struct sockaddr *) &srv, &alen), 0);
    cr_assert_eq(connect(conn, (struct sockaddr *) &srv, sizeof srv), 0);
    alen = sizeof cli;
    cr_assert_eq(getsockname(conn, (struct sockaddr *) &cli, &alen), 0);

    /* The node's connection's local port, and the listener's port, both "NodePorts". */
    e[0] = entry("127.0.0.1", ntohs(cli.sin_port), IPPROTO_TCP);
    e[1] = entry("127.0.0.1", ntohs(srv.sin_port), IPPROTO_TCP);
    cr_assert_eq(np_steer_set(s, e, 2), 0);

    reply.sport = ntohs(srv.sin_port);
    reply.dport = ntohs(cli.sin_port);
    len = pkt_build(&reply, in, sizeof in);
    cr_expect_eq(run(s, in, len, out, &out_len), TC_ACT_OK,
                 "the reply to the node's own connection reaches its socket");

    /* A new client to the listening port: steered. */
    alen = sizeof listener_addr;
    cr_assert_eq(bind(other, (struct sockaddr *) &listener_addr, sizeof listener_addr), 0);
    cr_assert_eq(getsockname(other, (struct sockaddr *) &listener_addr, &alen), 0);
    reply.sport = ntohs(listener_addr.sin_port);     /* Bound, never connected: no socket. */
    reply.dport = ntohs(srv.sin_port);
    reply.tcp_flags = TCP_SYN;
    len = pkt_build(&reply, in, sizeof in);
    out_len = sizeof out;
    cr_expect_eq(run(s, in, len, out, &out_len), TC_ACT_REDIRECT,
                 "a listener on a NodePort does not keep it from the switch");

    np_steer_stats(s, &st);
    cr_expect_eq(st.own_socket, 1);
    cr_expect_eq(st.steered, 1);
    np_steer_close(s);
    close(other);
    close(conn);
    close(listener);
}
