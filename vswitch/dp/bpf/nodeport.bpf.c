/* NodePort steering: a tc program at clsact ingress of the node's uplinks (the interfaces
 * holding the node's addresses), and at egress of its loopback device (the node's own
 * packets to its addresses), that hands the switch what is addressed to a NodePort on one of
 * those addresses.  The node's kernel delivers packets for its own addresses locally
 * whatever the routes say, so no route can do this (externalIPs, which are not the node's,
 * are routed into the switch instead: daemon/node-routes.h).
 *
 * It matches only unfragmented IPv4 TCP and UDP whose (destination address, destination
 * port, protocol) is in np_steer, which vswitchd fills from the NodePort policies and the
 * node's addresses; rewrites the Ethernet header as the node's own routed frames to the
 * switch carry it (to the router MAC, from vsw0's MAC); and redirects it to vsw0's egress, so
 * the switch reads it from the host port as it reads a forwarded externalIP packet.
 * Everything else passes untouched (TC_ACT_OK): ssh, the kubelet, any port that is not a
 * NodePort.  The one overlap, a reply to a connection the node itself opened from a port
 * that is also a NodePort (possible only if the NodePort range is moved into the ephemeral
 * range), is found by a socket lookup and left to the node too.
 *
 * Nothing here decides: the switch chooses the backend, keeps the flow pair and shows both. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dp/bpf/nodeport.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, NP_MAX_KEYS);
    __type(key, struct np_key);
    __type(value, __u8);
} np_steer SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct np_config);
} np_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, NP_N_COUNTERS);
    __type(key, __u32);
    __type(value, __u64);
} np_counters SEC(".maps");

static __always_inline void count(__u32 which)
{
    __u64 *c = bpf_map_lookup_elem(&np_counters, &which);

    if (c) {
        (*c)++;
    }
}

/* Whether the frame with this tuple belongs to a connection of the node's own: an
 * established (or closing) TCP socket, or a connected UDP one.  A listener, or an unconnected
 * UDP socket bound to the port, does not count: the NodePort takes that port, as kube-proxy's
 * DNAT does. */
static __always_inline int own_connection(struct __sk_buff *skb, struct bpf_sock_tuple *t,
                                          __u8 proto)
{
    struct bpf_sock *sk;
    int own;

    if (proto == IPPROTO_TCP) {
        sk = bpf_skc_lookup_tcp(skb, t, sizeof t->ipv4, BPF_F_CURRENT_NETNS, 0);
        if (!sk) {
            return 0;
        }
        own = sk->state != BPF_TCP_LISTEN;
    } else {
        sk = bpf_sk_lookup_udp(skb, t, sizeof t->ipv4, BPF_F_CURRENT_NETNS, 0);
        if (!sk) {
            return 0;
        }
        own = sk->state == BPF_TCP_ESTABLISHED;
    }
    bpf_sk_release(sk);
    return own;
}

SEC("tc")
int np_tc(struct __sk_buff *skb)
{
    void *data = (void *) (long) skb->data;
    void *data_end = (void *) (long) skb->data_end;
    struct ethhdr *eth = data;
    struct bpf_sock_tuple t = {};
    const struct np_config *cfg;
    struct np_key key = {};
    struct iphdr *ip;
    __be16 *ports;
    __u32 zero = 0;

    if ((void *) (eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) {
        return TC_ACT_OK;
    }
    ip = (struct iphdr *) (eth + 1);
    if ((void *) (ip + 1) > data_end || ip->ihl < 5
        || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
        || (ip->frag_off & bpf_htons(0x3fff))) {        /* MF or an offset: a fragment. */
        return TC_ACT_OK;
    }
    ports = (__be16 *) ((__u8 *) ip + ip->ihl * 4);
    if ((void *) (ports + 2) > data_end) {
        return TC_ACT_OK;
    }
    key.addr = ip->daddr;
    key.port = ports[1];
    key.proto = ip->protocol;
    if (!bpf_map_lookup_elem(&np_steer, &key)) {
        return TC_ACT_OK;
    }
    t.ipv4.saddr = ip->saddr;
    t.ipv4.daddr = ip->daddr;
    t.ipv4.sport = ports[0];
    t.ipv4.dport = ports[1];
    if (own_connection(skb, &t, key.proto)) {
        count(NP_OWN_SOCKET);
        return TC_ACT_OK;
    }
    cfg = bpf_map_lookup_elem(&np_config, &zero);
    if (!cfg || !cfg->host_ifindex) {
        return TC_ACT_OK;
    }
    /* Destination then source, as the header lays them out: one store. */
    if (bpf_skb_store_bytes(skb, 0, cfg->router_mac, 12, 0)) {
        return TC_ACT_OK;
    }
    count(NP_STEERED);
    return bpf_redirect(cfg->host_ifindex, 0);
}

char LICENSE[] SEC("license") = "Apache-2.0";
