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
 *   ctl & REC_FLUSH_ALL   forget the flow pairs and dispatch entries too (fuzz_forget()).
 *
 * A short record takes what is left of the input. */
#ifndef TESTS_FUZZ_FUZZ_DP_H
#define TESTS_FUZZ_FUZZ_DP_H 1

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
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

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "dp/dp.h"
#include "fuzz-check.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "scene.h"

/* A broken promise: says which (prefixed with the target's name) and aborts, which libFuzzer
 * reports with the input. */
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list args;

    fprintf(stderr, "%s: ", program_invocation_short_name);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\n");
    abort();
}

#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fuzz_fail(__VA_ARGS__);                                             \
        }                                                                       \
    } while (0)

/* A step of setting up the scene must work. */
#define FUZZ_SETUP(step) FUZZ_CHECK((step) == 0, "setup failed: %s", #step)

/* The scene of a target and what its inputs change in it. */
struct fuzz_scene {
    struct scene *s;
    bool overlay;
    bool replaced;                  /* The DSR policy is the one-backend version. */
};

/* The DSR policy, whole or ('one') with its first backend only. */
static inline void fuzz_set_dsr_policy(struct fuzz_scene *fs, bool one)
{
    FUZZ_SETUP(scene_service(fs->s, &(struct scene_service) {
        .vip = FUZZ_VIP_DSR ":80/tcp", .name = "LB_DSR_fuzz",
        .backends = one ? "10.244.1.6:8080"
                  : fs->overlay ? "10.244.1.6:8080 10.244.1.7:8080 " FUZZ_REMOTE_BACKEND ":8080"
                  : "10.244.1.6:8080 10.244.1.7:8080" }));
}

static const struct scene_service FUZZ_SERVICES[] = {
    { .vip = FUZZ_VIP_UDP ":53/udp", .backends = "10.244.1.5:53 10.244.1.6:53", .snat = true,
      .affinity = 60, .name = "LB_udp_fuzz" },
    { .vip = FUZZ_VIP_EMPTY ":80/tcp", .name = "LB_empty_fuzz" },
    { .vip = FUZZ_VIP_HAIRPIN ":80/tcp", .backends = "10.244.1.5:80", .name = "LB_self_fuzz" },
};
#define FUZZ_N_SERVICES (sizeof FUZZ_SERVICES / sizeof FUZZ_SERVICES[0])

/* Every policy, the DSR one whole. */
static inline void fuzz_set_policies(struct fuzz_scene *fs)
{
    fuzz_set_dsr_policy(fs, false);
    fs->replaced = false;
    for (size_t i = 0; i < FUZZ_N_SERVICES; i++) {
        FUZZ_SETUP(scene_service(fs->s, &FUZZ_SERVICES[i]));
    }
}

/* The scene: a datapath with dummy ports and the policies; with 'vxlan_port', the overlay
 * on 127.0.0.1:vxlan_port and its peer.  Small tables, so that eviction is reached. */
static inline void fuzz_scene_open(struct fuzz_scene *fs, uint16_t vxlan_port)
{
    struct dp_config cfg = { .flow_cache_size = 16, .max_flow_pairs = 16, .vni = FUZZ_VNI };

    if (vxlan_port) {
        cfg.node_ip = scene_ip(FUZZ_NODE_IP);
        cfg.vxlan_port = vxlan_port;
    }
    fs->s = scene_new(&cfg);
    FUZZ_CHECK(fs->s, "setup failed: scene_new");
    fs->overlay = vxlan_port != 0;
    log_set_level(LOG_LVL_ERR);
    for (int i = 0; i < FUZZ_N_PODS; i++) {
        FUZZ_SETUP(scene_port(fs->s, FUZZ_PODS[i].name, FUZZ_PODS[i].ip, FUZZ_PODS[i].mac));
    }
    if (fs->overlay) {
        FUZZ_SETUP(scene_peer(fs->s, FUZZ_PEER_IP, FUZZ_PEER_CIDR));
    }
    fuzz_set_policies(fs);
}

/* Forgets every flow pair and dispatch entry, as a switch that lost its state: each policy
 * deleted (its pairs with it) and set again, whole. */
static inline void fuzz_forget(struct fuzz_scene *fs)
{
    struct dp_lb_info *lbs;
    size_t n;

    dp_lb_list(fs->s->dp, &lbs, &n);
    for (size_t i = 0; i < n; i++) {
        dp_lb_del(fs->s->dp, lbs[i].spec.vip, lbs[i].spec.port, lbs[i].spec.proto);
    }
    dp_lb_info_free(lbs, n);
    fuzz_set_policies(fs);
}

/* Back to the scene's state before an input: no flow pairs, no cached flows, the whole DSR
 * policy, and pod3's MAC to be learned again. */
static inline void fuzz_scene_reset(struct fuzz_scene *fs)
{
    const struct fuzz_pod *pod3 = &FUZZ_PODS[2];
    struct dp_port_info *ports;
    size_t n;

    fuzz_forget(fs);
    dp_flow_flush(fs->s->dp);
    dp_port_list(fs->s->dp, &ports, &n);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(ports[i].name, pod3->name) && ports[i].mac_learned) {
            FUZZ_SETUP(scene_port_del(fs->s, pod3->name));
            FUZZ_SETUP(scene_port(fs->s, pod3->name, pod3->ip, pod3->mac));
        }
    }
    free(ports);
}

/* What a record asks for before its frame: the DSR policy replaced by its one-backend
 * version or back, the flow cache flushed, the flow pairs forgotten. */
static inline void fuzz_record_prepare(struct fuzz_scene *fs, const struct fuzz_record *r)
{
    if (r->ctl & REC_REPLACE) {
        fuzz_set_dsr_policy(fs, !fs->replaced);
        fs->replaced = !fs->replaced;
    }
    if (r->ctl & REC_FLUSH_ALL) {
        fuzz_forget(fs);
    } else if (r->ctl & REC_FLUSH) {
        dp_flow_flush(fs->s->dp);
    }
}

/* Exercises the dumps (formatting of whatever the input left in the tables). */
static inline void fuzz_dump_all(struct fuzz_scene *fs)
{
    struct dp *dp = fs->s->dp;
    uint64_t drops[DROP_N_REASONS];
    struct dp_table_stats ts;
    struct dp_flow_info *flows;
    struct dp_conn_info *conns;
    struct dp_dispatch_info *dispatch;
    struct dp_lb_info *lbs;
    struct dp_peer_info *peers;
    struct dp_port_info *ports;
    size_t n;

    dp_flow_dump(dp, &flows, &n);
    free(flows);
    dp_conn_dump(dp, &conns, &n);
    free(conns);
    dp_dispatch_dump(dp, &dispatch, &n);
    free(dispatch);
    dp_lb_list(dp, &lbs, &n);
    dp_lb_info_free(lbs, n);
    dp_peer_list(dp, &peers, &n);
    free(peers);
    dp_port_list(dp, &ports, &n);
    free(ports);
    dp_drop_stats(dp, drops);
    dp_table_stats(dp, &ts);
}

/* One input: the scene reset, each record run by 'run_record', then every table dumped. */
static inline void fuzz_run_input(struct fuzz_scene *fs, const uint8_t *data, size_t size,
                                  void (*run_record)(const struct fuzz_record *))
{
    struct fuzz_record r;

    fuzz_scene_reset(fs);
    while (fuzz_record_next(&data, &size, &r)) {
        run_record(&r);
    }
    fuzz_dump_all(fs);
}

/* True if a frame from pod port 'port' (pod1, pod2: they have a fixed MAC) carries another
 * source MAC, or another source IPv4 address. */
static inline bool fuzz_pod_spoofs(size_t port, const uint8_t *f, size_t len)
{
    struct eth_addr mac;
    be32 ip;

    if (port >= 2 || len < 14) {
        return false;               /* pod3 learns; the host port may send anything. */
    }
    addr_parse_mac(FUZZ_PODS[port].mac, &mac);
    if (memcmp(f + 6, mac.a, 6)) {
        return true;
    }
    ip = scene_ip(FUZZ_PODS[port].ip);
    return f[12] == 0x08 && f[13] == 0x00 && len >= 34 && memcmp(f + 26, &ip, 4);
}

/* What the checks of the frames the switch sends need to know of the input. */
struct fuzz_input {
    const struct fuzz_record *r;
    size_t port;                    /* Index of the input port in the scene's ports. */
    bool spoofed;                   /* Nothing may leave but on the input port. */
    bool from_pod;                  /* A broadcast may go back to the asker's MAC. */
    bool ok;                        /* Good IPv4, good checksums: what leaves is good too. */
};

/* Checks a frame the switch sent on pod or host port 'p' (an index in FUZZ_PODS, then the
 * host port) after the input 'in':
 *   - nothing is flooded: a multicast destination only as an answer to the asker's MAC;
 *   - nothing spoofed by a pod leaves on another port;
 *   - a frame for pod1 or pod2 carries its MAC;
 *   - well-formed input with correct checksums leaves with correct checksums, unless the
 *     virtio-net header says the checksum is partial. */
static inline void fuzz_check_sent(const struct fuzz_input *in, size_t p, const char *port,
                                   const uint8_t *out, int len,
                                   const struct virtio_net_hdr *vnet)
{
    struct fuzz_frame of;

    FUZZ_CHECK(len >= 14, "a %d-byte frame left on %s", len, port);
    FUZZ_CHECK(!(out[0] & 1)
               || (in->from_pod && in->r->len >= 12 && !memcmp(out, in->r->frame + 6, 6)),
               "a multicast/broadcast frame left on %s", port);
    FUZZ_CHECK(!in->spoofed || p == in->port, "a frame spoofed on port %zu left on %s",
               in->port, port);
    if (p < 2) {
        struct eth_addr mac;

        addr_parse_mac(FUZZ_PODS[p].mac, &mac);
        FUZZ_CHECK(!memcmp(out, mac.a, 6), "a frame for another MAC left on %s", port);
    }
    fuzz_frame_check(out, len, &of);
    if (in->ok && of.ipv4) {
        FUZZ_CHECK(of.ip_csum_ok, "bad IPv4 header checksum on %s (the input's was good)",
                   port);
        FUZZ_CHECK(!of.l4_checkable || of.l4_csum_ok
                   || (vnet && (vnet->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)),
                   "bad L4 (proto %u) checksum on %s (the input's was good)", of.proto, port);
    }
}

/* An input well-formed enough for fuzz_input.ok: IPv4 with correct checksums, none left to
 * complete. */
static inline bool fuzz_input_ok(const struct fuzz_record *r)
{
    struct fuzz_frame in;
    bool partial = r->vnet && (r->vnet->flags || r->vnet->gso_type);

    fuzz_frame_check(r->frame, r->len, &in);
    return in.ipv4 && in.ip_csum_ok && (!in.l4_checkable || in.l4_csum_ok) && !partial;
}

#endif
