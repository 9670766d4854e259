/* add-peer's and del-peer's arguments as vswitchd checks them (daemon/peer-config.h):
 * table-driven, every good and bad input with the exact message a user would see after
 * "vsctl: add-peer: ", first against this node, then against the peer table. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/peer-config.h"
#include "lib/util.h"

/* This node: 192.168.50.1, pod CIDR 10.244.1.0/24. */
static struct peer_config_env test_env(void)
{
    struct peer_config_env env;

    cr_assert_eq(addr_parse_ip("192.168.50.1", &env.node_ip), 0);
    cr_assert_eq(addr_parse_cidr("10.244.1.0/24", &env.pod_cidr), 0);
    return env;
}

static struct peer_config peer_of(const char *ip, const char *cidr)
{
    struct peer_config p;

    cr_assert_eq(addr_parse_ip(ip, &p.node_ip), 0, "%s", ip);
    cr_assert_eq(addr_parse_cidr(cidr, &p.pod_cidr), 0, "%s", cidr);
    return p;
}

struct add_peer_case {
    const char *description;
    const char *node_ip;
    const char *pod_cidr;
    int error;                      /* 0: accepted. */
    const char *message;            /* When refused. */
};

static const struct add_peer_case add_cases[] = {
    /* Accepted. */
    { "an ordinary peer", "192.168.50.2", "10.244.2.0/24", 0, NULL },
    { "a /16 elsewhere", "192.168.50.2", "10.245.0.0/16", 0, NULL },
    { "a /30, the longest prefix", "192.168.50.2", "10.244.2.0/30", 0, NULL },
    { "a node on loopback (tests)", "127.0.0.2", "10.244.2.0/24", 0, NULL },
    { "a node address in another subnet", "172.31.9.4", "10.244.2.0/24", 0, NULL },

    /* The node address. */
    { "empty node IP", "", "10.244.2.0/24", -EINVAL,
      "missing node IP: expected the node's underlay IPv4 address, e.g. 192.168.50.2" },
    { "node IP not an address", "192.168.50.x", "10.244.2.0/24", -EINVAL,
      "node IP \"192.168.50.x\": invalid IPv4 address" },
    { "node IP with a prefix", "192.168.50.2/24", "10.244.2.0/24", -EINVAL,
      "node IP \"192.168.50.2/24\": invalid IPv4 address" },
    { "IPv6 node IP", "fd00::2", "10.244.2.0/24", -EINVAL,
      "node IP \"fd00::2\": invalid IPv4 address" },
    { "node IP 0.0.0.0", "0.0.0.0", "10.244.2.0/24", -EINVAL,
      "node IP 0.0.0.0 is not a unicast address: it is in 0.0.0.0/8 (\"this network\")" },
    { "multicast node IP", "239.1.2.3", "10.244.2.0/24", -EINVAL,
      "node IP 239.1.2.3 is not a unicast address: it is a multicast address (224.0.0.0/4)" },
    { "broadcast node IP", "255.255.255.255", "10.244.2.0/24", -EINVAL,
      "node IP 255.255.255.255 is not a unicast address: it is the broadcast address" },
    { "this node's own address", "192.168.50.1", "10.244.2.0/24", -EINVAL,
      "node IP 192.168.50.1 is this node's own address (--node-ip)" },
    { "node IP inside this node's pod CIDR", "10.244.1.9", "10.244.2.0/24", -EINVAL,
      "node IP 10.244.1.9 is inside this node's pod CIDR 10.244.1.0/24" },
    { "node IP inside its own pod CIDR", "10.244.2.9", "10.244.2.0/24", -EINVAL,
      "node IP 10.244.2.9 is inside its own pod CIDR 10.244.2.0/24: the node would be "
      "reachable only through itself" },
    { "control characters are escaped", "192.168.50.2\n", "10.244.2.0/24", -EINVAL,
      "node IP \"192.168.50.2\\x0a\": invalid IPv4 address" },

    /* The pod CIDR. */
    { "empty pod CIDR", "192.168.50.2", "", -EINVAL,
      "missing pod CIDR: expected A.B.C.D/N, e.g. 10.244.2.0/24" },
    { "no prefix length", "192.168.50.2", "10.244.2.0", -EINVAL,
      "pod CIDR \"10.244.2.0\": expected A.B.C.D/N, e.g. 10.244.2.0/24" },
    { "bad network address", "192.168.50.2", "10.244.2.x/24", -EINVAL,
      "pod CIDR \"10.244.2.x/24\": invalid IPv4 address \"10.244.2.x\"" },
    { "prefix length too long", "192.168.50.2", "10.244.2.0/33", -EINVAL,
      "pod CIDR \"10.244.2.0/33\": invalid prefix length \"33\": expected 0 to 32" },
    { "empty prefix length", "192.168.50.2", "10.244.2.0/", -EINVAL,
      "pod CIDR \"10.244.2.0/\": invalid prefix length \"\": expected 0 to 32" },
    { "signed prefix length", "192.168.50.2", "10.244.2.0/+24", -EINVAL,
      "pod CIDR \"10.244.2.0/+24\": invalid prefix length \"+24\": expected 0 to 32" },
    { "prefix length with three digits", "192.168.50.2", "10.244.2.0/024", -EINVAL,
      "pod CIDR \"10.244.2.0/024\": invalid prefix length \"024\": expected 0 to 32" },
    { "host bits set", "192.168.50.2", "10.244.2.1/24", -EINVAL,
      "pod CIDR \"10.244.2.1/24\": host bits are set (the network is 10.244.2.0/24)" },
    { "host bits set, short prefix", "192.168.50.2", "10.245.7.0/16", -EINVAL,
      "pod CIDR \"10.245.7.0/16\": host bits are set (the network is 10.245.0.0/16)" },
    { "a /31 has no room", "192.168.50.2", "10.244.2.0/31", -EINVAL,
      "pod CIDR 10.244.2.0/31: a /31 has no room for a gateway and pods (use /30 or shorter)" },
    { "a /32 has no room", "192.168.50.2", "10.244.2.7/32", -EINVAL,
      "pod CIDR 10.244.2.7/32: a /32 has no room for a gateway and pods (use /30 or shorter)" },
    { "overlaps this node's (contains it)", "192.168.50.2", "10.244.0.0/16", -EINVAL,
      "pod CIDR 10.244.0.0/16 overlaps this node's pod CIDR 10.244.1.0/24" },
    { "overlaps this node's (inside it)", "192.168.50.2", "10.244.1.128/25", -EINVAL,
      "pod CIDR 10.244.1.128/25 overlaps this node's pod CIDR 10.244.1.0/24" },
    { "equals this node's", "192.168.50.2", "10.244.1.0/24", -EINVAL,
      "pod CIDR 10.244.1.0/24 overlaps this node's pod CIDR 10.244.1.0/24" },
    { "/0 overlaps everything", "192.168.50.2", "0.0.0.0/0", -EINVAL,
      "pod CIDR 0.0.0.0/0 overlaps 0.0.0.0/8 (\"this network\")" },
    { "loopback range", "192.168.50.2", "127.1.0.0/16", -EINVAL,
      "pod CIDR 127.1.0.0/16 overlaps 127.0.0.0/8 (loopback)" },
    { "multicast range", "192.168.50.2", "224.1.0.0/16", -EINVAL,
      "pod CIDR 224.1.0.0/16 overlaps 224.0.0.0/4 (multicast)" },
    { "reserved range", "192.168.50.2", "248.0.0.0/8", -EINVAL,
      "pod CIDR 248.0.0.0/8 overlaps 240.0.0.0/4 (reserved)" },
    { "holds this node's address", "192.168.50.2", "192.168.0.0/16", -EINVAL,
      "pod CIDR 192.168.0.0/16 holds this node's own address 192.168.50.1" },
};

Test(peer_config, add_peer_table)
{
    struct peer_config_env env = test_env();

    for (size_t i = 0; i < ARRAY_SIZE(add_cases); i++) {
        const struct add_peer_case *c = &add_cases[i];
        Vswitch__AddPeer req = VSWITCH__ADD_PEER__INIT;
        struct peer_config peer;
        char err[512] = "";
        int error;

        req.node_ip = (char *) c->node_ip;
        req.pod_cidr = (char *) c->pod_cidr;
        error = peer_config_from_msg(&req, &env, &peer, err, sizeof err);
        cr_expect_eq(error, c->error, "%s: returned %d (%s), expected %d", c->description,
                     error, err, c->error);
        if (c->message) {
            cr_expect_str_eq(err, c->message, "%s", c->description);
        } else if (!error) {
            char cidr[IP_STR_LEN];

            cr_expect_str_eq(peer_cidr_str(&peer.pod_cidr, cidr), c->pod_cidr, "%s",
                             c->description);
        }
    }
}

Test(peer_config, no_overlay_refuses_every_peer)
{
    struct peer_config_env env = test_env();
    Vswitch__AddPeer req = VSWITCH__ADD_PEER__INIT;
    struct peer_config peer;
    char err[256];

    env.node_ip = 0;
    req.node_ip = "192.168.50.2";
    req.pod_cidr = "10.244.2.0/24";
    cr_assert_eq(peer_config_from_msg(&req, &env, &peer, err, sizeof err), -EINVAL);
    cr_assert_str_eq(err, "no overlay: vswitchd was started without --node-ip (restart it "
                     "with --node-ip to add peers)");
}

/* del-peer checks only the address: a peer stored under another configuration can go. */
Test(peer_config, del_peer_address)
{
    static const struct {
        const char *s;
        const char *message;        /* NULL: accepted. */
    } cases[] = {
        { "192.168.50.2", NULL },
        { "192.168.50.1", NULL },   /* Without env: not checked against this node. */
        { "10.244.1.9", NULL },
        { "", "missing node IP: expected the node's underlay IPv4 address, e.g. "
              "192.168.50.2" },
        { "192.168.50", "node IP \"192.168.50\": invalid IPv4 address" },
        { "224.0.0.1", "node IP 224.0.0.1 is not a unicast address: it is a multicast "
                       "address (224.0.0.0/4)" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char err[256] = "";
        be32 ip;
        int error = peer_node_ip_parse(cases[i].s, NULL, &ip, err, sizeof err);

        if (cases[i].message) {
            cr_expect_eq(error, -EINVAL, "\"%s\" accepted", cases[i].s);
            cr_expect_str_eq(err, cases[i].message);
        } else {
            cr_expect_eq(error, 0, "\"%s\": %s", cases[i].s, err);
        }
    }
}

struct table_case {
    const char *description;
    const char *node_ip, *pod_cidr;     /* The peer being added. */
    int error;
    const char *message;
};

/* Against the table: 192.168.50.2 owns 10.244.2.0/24, 192.168.50.3 owns 10.244.4.0/22. */
static const struct table_case table_cases[] = {
    { "a new node, a free CIDR", "192.168.50.4", "10.244.8.0/24", 0, NULL },
    { "an existing node keeps its CIDR", "192.168.50.2", "10.244.2.0/24", 0, NULL },
    { "an existing node moves to a free CIDR", "192.168.50.2", "10.244.3.0/24", 0, NULL },
    { "an existing node grows over its own CIDR", "192.168.50.2", "10.244.2.0/23", 0, NULL },
    { "same CIDR as another peer", "192.168.50.4", "10.244.2.0/24", -EEXIST,
      "pod CIDR 10.244.2.0/24 overlaps 10.244.2.0/24 of peer 192.168.50.2" },
    { "inside another peer's CIDR", "192.168.50.4", "10.244.5.0/24", -EEXIST,
      "pod CIDR 10.244.5.0/24 overlaps 10.244.4.0/22 of peer 192.168.50.3" },
    { "around another peer's CIDR", "192.168.50.4", "10.244.0.0/21", -EEXIST,
      "pod CIDR 10.244.0.0/21 overlaps 10.244.2.0/24 of peer 192.168.50.2" },
    { "an existing node grows over another's", "192.168.50.2", "10.244.0.0/21", -EEXIST,
      "pod CIDR 10.244.0.0/21 overlaps 10.244.4.0/22 of peer 192.168.50.3" },
    { "node address inside another peer's CIDR", "10.244.2.50", "10.244.8.0/24", -EEXIST,
      "node IP 10.244.2.50 is inside the pod CIDR 10.244.2.0/24 of peer 192.168.50.2" },
    { "CIDR holding another peer's address", "192.168.60.1", "192.168.50.0/24", -EEXIST,
      "pod CIDR 192.168.50.0/24 holds the address of peer 192.168.50.2" },
};

Test(peer_config, table_checks)
{
    struct peer_config table[2];

    table[0] = peer_of("192.168.50.2", "10.244.2.0/24");
    table[1] = peer_of("192.168.50.3", "10.244.4.0/22");
    for (size_t i = 0; i < ARRAY_SIZE(table_cases); i++) {
        const struct table_case *c = &table_cases[i];
        struct peer_config peer = peer_of(c->node_ip, c->pod_cidr);
        char err[512] = "";
        int error = peer_config_check_table(&peer, table, ARRAY_SIZE(table), err, sizeof err);

        cr_expect_eq(error, c->error, "%s: returned %d (%s)", c->description, error, err);
        if (c->message) {
            cr_expect_str_eq(err, c->message, "%s", c->description);
        }
    }
}

Test(peer_config, table_full)
{
    static struct peer_config table[PEER_CONFIG_MAX_PEERS];
    struct peer_config peer;
    char err[256];

    for (size_t i = 0; i < PEER_CONFIG_MAX_PEERS; i++) {
        table[i].node_ip = htonl(0xac100000 + i + 1);               /* 172.16.0.0/16 */
        table[i].pod_cidr.net = htonl(0x0b000000 + (i << 8));       /* 11.x.y.0/24 */
        table[i].pod_cidr.prefix = 24;
    }
    peer = peer_of("192.168.50.9", "12.0.0.0/24");
    cr_assert_eq(peer_config_check_table(&peer, table, PEER_CONFIG_MAX_PEERS, err, sizeof err),
                 -ENOSPC);
    cr_assert_str_eq(err, "too many peers: at most 8192");
    /* Replacing a peer of a full table is fine. */
    peer = table[7];
    peer.pod_cidr.net = htonl(0x0c000000);
    cr_assert_eq(peer_config_check_table(&peer, table, PEER_CONFIG_MAX_PEERS, err, sizeof err),
                 0, "%s", err);
}
