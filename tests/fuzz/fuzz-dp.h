/* The datapath scene shared by the packet fuzz targets (fuzz-pipeline, fuzz-overlay) and the
 * seed generator (gen-seeds.c): one node, pod CIDR 10.244.1.0/24, three dummy pod ports (the
 * third learns its MAC from its first frame), the dummy host port, and a fixed set of
 * policies: DSR, non-DSR with ClientIP affinity, empty (refuses), and one over pod1 itself
 * (hairpin).  With the overlay, 127.0.0.1 is this node and 127.0.0.2 the peer owning
 * 10.244.2.0/24, and the DSR policy also has a backend there.
 *
 * An input is a sequence of records, each one frame and what to do around it:
 *
 *     u8 ctl | u16 len (big endian) | [10-byte virtio_net_hdr if ctl & REC_VNET] | len bytes
 *
 *   ctl & REC_PORT_MASK   the input port: FUZZ_PORTS[n % count]; the overlay's last port is
 *                         the VXLAN socket (the bytes are a whole UDP payload, VXLAN header
 *                         first, sent from the peer's address);
 *   ctl & REC_REPLACE     replace the DSR policy by a one-backend version before the frame
 *                         (flow pairs to the removed backends go, the rest stay);
 *   ctl & REC_FLUSH       flush the flow cache before the frame;
 *   ctl & REC_FLUSH_ALL   flush the flow pairs too.
 *
 * A short record takes what is left of the input. */
#ifndef TESTS_FUZZ_FUZZ_DP_H
#define TESTS_FUZZ_FUZZ_DP_H 1

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_POD_CIDR "10.244.1.0/24"
#define FUZZ_GATEWAY "10.244.1.1"
#define FUZZ_ROUTER_MAC "0a:58:0a:f4:01:01"
#define FUZZ_HOST_MAC "0a:58:ff:ff:ff:fe"
#define FUZZ_PEER_CIDR "10.244.2.0/24"
#define FUZZ_PEER_ROUTER_MAC "0a:58:0a:f4:02:01"
#define FUZZ_NODE_IP "127.0.0.1"
#define FUZZ_PEER_IP "127.0.0.2"
#define FUZZ_VNI 42

struct fuzz_pod {
    const char *name, *ip, *mac;    /* mac NULL: learned from the first frame. */
};

static const struct fuzz_pod FUZZ_PODS[] = {
    { "pod1", "10.244.1.5", "02:00:00:00:01:05" },
    { "pod2", "10.244.1.6", "02:00:00:00:01:06" },
    { "pod3", "10.244.1.7", NULL },
};
#define FUZZ_N_PODS 3

/* Record ports: the pods, then the host port, then (overlay only) the VXLAN socket. */
#define FUZZ_PORT_HOST 3
#define FUZZ_PORT_VXLAN 4

#define FUZZ_VIP_DSR "10.96.0.10"       /* :80/tcp -> pod2:8080, pod3:8080 (+ remote) */
#define FUZZ_VIP_UDP "10.96.0.11"       /* :53/udp non-DSR, affinity -> pod1:53, pod2:53 */
#define FUZZ_VIP_EMPTY "10.96.0.12"     /* :80/tcp no backends: RST / port unreachable */
#define FUZZ_VIP_HAIRPIN "10.96.0.13"   /* :80/tcp -> pod1:80 */
#define FUZZ_REMOTE_BACKEND "10.244.2.9"

enum {
    REC_PORT_MASK = 0x07,
    REC_REPLACE = 0x08,
    REC_FLUSH = 0x10,
    REC_FLUSH_ALL = 0x20,
    REC_VNET = 0x80,
};

struct fuzz_record {
    uint8_t ctl;
    const struct virtio_net_hdr *vnet;  /* NULL unless REC_VNET. */
    struct virtio_net_hdr vnet_buf;
    const uint8_t *frame;
    size_t len;
};

/* Takes the next record from [*data, *data + *size); returns 0 at the end of the input. */
static inline int fuzz_record_next(const uint8_t **data, size_t *size, struct fuzz_record *r)
{
    size_t len;

    if (*size < 3) {
        return 0;
    }
    r->ctl = (*data)[0];
    len = (size_t) (*data)[1] << 8 | (*data)[2];
    *data += 3;
    *size -= 3;
    r->vnet = NULL;
    if (r->ctl & REC_VNET) {
        if (*size < sizeof r->vnet_buf) {
            return 0;
        }
        memcpy(&r->vnet_buf, *data, sizeof r->vnet_buf);
        r->vnet = &r->vnet_buf;
        *data += sizeof r->vnet_buf;
        *size -= sizeof r->vnet_buf;
    }
    if (len > *size) {
        len = *size;
    }
    r->frame = *data;
    r->len = len;
    *data += len;
    *size -= len;
    return 1;
}

#ifndef FUZZ_DP_NO_SCENE
#include <stdio.h>
#include <stdlib.h>

#include "dp/dp.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "dp-test-hooks.h"

static inline be32 fuzz_ip(const char *s)
{
    be32 ip = 0;

    if (addr_parse_ip(s, &ip)) {
        abort();
    }
    return ip;
}

static inline void fuzz_die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz setup: %s: %s\n", what, err);
    abort();
}

static inline void fuzz_add_pod(struct dp *dp, int i)
{
    const struct fuzz_pod *pod = &FUZZ_PODS[i];
    struct eth_addr mac;
    char err[256];

    if (pod->mac) {
        addr_parse_mac(pod->mac, &mac);
    }
    if (dp_port_add(dp, pod->name, DP_PORT_DUMMY, fuzz_ip(pod->ip), pod->mac ? &mac : NULL,
                    false, err, sizeof err)) {
        fuzz_die("dp_port_add", err);
    }
}

/* The DSR policy, whole or ('one') with its first backend only. */
static inline void fuzz_set_dsr_policy(struct dp *dp, bool overlay, bool one)
{
    struct dp_lb_backend b[] = {
        { fuzz_ip("10.244.1.6"), 8080 }, { fuzz_ip("10.244.1.7"), 8080 },
        { fuzz_ip(FUZZ_REMOTE_BACKEND), 8080 },
    };
    struct dp_lb_spec spec = { .vip = fuzz_ip(FUZZ_VIP_DSR), .port = 80, .proto = 6,
                               .dsr = true, .name = "LB_DSR_fuzz", .backends = b,
                               .n_backends = one ? 1 : overlay ? 3 : 2 };
    char err[256];

    if (dp_lb_set(dp, &spec, err, sizeof err)) {
        fuzz_die("dp_lb_set", err);
    }
}

static inline void fuzz_set_policies(struct dp *dp, bool overlay)
{
    struct dp_lb_backend udp[] = { { fuzz_ip("10.244.1.5"), 53 }, { fuzz_ip("10.244.1.6"), 53 } };
    struct dp_lb_backend self[] = { { fuzz_ip("10.244.1.5"), 80 } };
    struct dp_lb_spec specs[] = {
        { .vip = fuzz_ip(FUZZ_VIP_UDP), .port = 53, .proto = 17, .dsr = false,
          .affinity_timeout = 60, .name = "LB_udp_fuzz", .backends = udp, .n_backends = 2 },
        { .vip = fuzz_ip(FUZZ_VIP_EMPTY), .port = 80, .proto = 6, .dsr = true,
          .name = "LB_empty_fuzz" },
        { .vip = fuzz_ip(FUZZ_VIP_HAIRPIN), .port = 80, .proto = 6, .dsr = true,
          .name = "LB_self_fuzz", .backends = self, .n_backends = 1 },
    };
    char err[256];

    fuzz_set_dsr_policy(dp, overlay, false);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        if (dp_lb_set(dp, &specs[i], err, sizeof err)) {
            fuzz_die("dp_lb_set", err);
        }
    }
}

/* The scene: a datapath with dummy ports and the policies; with 'vxlan_port', the overlay
 * on 127.0.0.1:vxlan_port and its peer.  Small tables, so that eviction is reached. */
static inline struct dp *fuzz_scene(uint16_t vxlan_port)
{
    struct dp_config cfg = { .dummy_host = true, .host_port = "vsw0", .flow_cache_size = 16,
                             .max_flow_pairs = 16, .vni = FUZZ_VNI };
    struct dp *dp;
    char err[256];

    log_set_level(LOG_LVL_ERR);
    addr_parse_cidr(FUZZ_POD_CIDR, &cfg.pod_cidr);
    cfg.gateway = fuzz_ip(FUZZ_GATEWAY);
    cfg.router_mac = addr_mac_from_ip(cfg.gateway);
    if (vxlan_port) {
        cfg.node_ip = fuzz_ip(FUZZ_NODE_IP);
        cfg.vxlan_port = vxlan_port;
    }
    if (dp_create(&cfg, &dp, err, sizeof err)) {
        fuzz_die("dp_create", err);
    }
    for (int i = 0; i < FUZZ_N_PODS; i++) {
        fuzz_add_pod(dp, i);
    }
    if (vxlan_port) {
        struct cidr peer;

        addr_parse_cidr(FUZZ_PEER_CIDR, &peer);
        if (dp_peer_set(dp, fuzz_ip(FUZZ_PEER_IP), &peer, err, sizeof err)) {
            fuzz_die("dp_peer_set", err);
        }
    }
    fuzz_set_policies(dp, vxlan_port != 0);
    return dp;
}

/* Back to the scene's state before an input: no flow pairs, no cached flows, the whole DSR
 * policy, and pod3's MAC to be learned again. */
static inline void fuzz_scene_reset(struct dp *dp, bool overlay, bool *replaced)
{
    struct dp_port_info *ports;
    size_t n;

    dp_conn_flush(dp);
    if (*replaced) {
        fuzz_set_dsr_policy(dp, overlay, false);
        *replaced = false;
    }
    dp_port_list(dp, &ports, &n);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(ports[i].name, "pod3") && ports[i].mac_learned) {
            dp_port_del(dp, "pod3");
            fuzz_add_pod(dp, 2);
        }
    }
    free(ports);
}

/* Exercises the dumps (formatting of whatever the input left in the tables). */
static inline void fuzz_dump_all(struct dp *dp)
{
    uint64_t drops[DROP_N_REASONS];
    struct dp_table_stats ts;
    struct dp_flow_info *flows;
    struct dp_conn_info *conns;
    struct dp_lb_info *lbs;
    struct dp_peer_info *peers;
    struct dp_port_info *ports;
    size_t n;

    dp_flow_dump(dp, &flows, &n);
    free(flows);
    dp_conn_dump(dp, &conns, &n);
    free(conns);
    dp_lb_list(dp, &lbs, &n);
    dp_lb_info_free(lbs, n);
    dp_peer_list(dp, &peers, &n);
    free(peers);
    dp_port_list(dp, &ports, &n);
    free(ports);
    dp_drop_stats(dp, drops);
    dp_table_stats(dp, &ts);
}
#endif

#endif
