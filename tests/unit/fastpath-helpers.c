/* Helpers of the fast path's tests; see fastpath-helpers.h. */
#include "fastpath-helpers.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/bpf.h>
#include <sched.h>
#include <string.h>

#include "dp/net-headers.h"
#include "lib/addr.h"
#include "lib/log.h"

struct offload *fp_test_open(const char *pin_dir, uint32_t max_flows)
{
    struct offload_config cfg = {
        .pin_dir = pin_dir, .max_flows = max_flows, .trace = true,
        .tunnel = { .vni = htonl(FP_TEST_VNI << 8), .udp_port = htons(FP_TEST_VXLAN_PORT),
                    .ttl = FP_TEST_TTL, .enabled = 1 },
    };
    struct offload *o = NULL;
    char err[512] = "";
    int rc;

    addr_parse_ip(FP_TEST_NODE, &cfg.tunnel.node_ip);
    rc = offload_open(&cfg, &o, err, sizeof err);

    cr_assert_eq(rc, 0, "the fast path must load (these tests need root and bpf()): %s", err);
    return o;
}

struct offload *fp_test_setup(const char *pin_dir, uint32_t max_flows)
{
    cpu_set_t set;

    log_set_level(LOG_LVL_ERR);
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    cr_assert_eq(sched_setaffinity(0, sizeof set, &set), 0);
    return fp_test_open(pin_dir, max_flows);
}

struct fp_key fp_test_key(const struct pkt_spec *s)
{
    struct fp_key key;
    struct eth_addr mac;

    memset(&key, 0, sizeof key);
    key.ifindex = FP_TEST_IFINDEX;
    if (s->eth_dst) {
        addr_parse_mac(s->eth_dst, &mac);
        memcpy(key.dl_dst, mac.a, 6);
    }
    if (s->eth_src) {
        addr_parse_mac(s->eth_src, &mac);
        memcpy(key.dl_src, mac.a, 6);
    }
    addr_parse_ip(s->ip_src, &key.nw_src);
    addr_parse_ip(s->ip_dst, &key.nw_dst);
    key.tp_src = htons(s->sport);
    key.tp_dst = htons(s->dport);
    key.nw_proto = s->proto ? s->proto : 6;
    return key;
}

static int run(int fd, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len,
               uint32_t gso_size)
{
    struct __sk_buff ctx = { .ifindex = FP_TEST_IFINDEX, .gso_size = gso_size,
                             .gso_segs = gso_size ? (len + gso_size - 1) / gso_size : 0 };
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
                .data_out = out, .data_size_out = out_len ? *out_len : 0,
                .ctx_in = &ctx, .ctx_size_in = sizeof ctx,
                .ctx_out = &ctx, .ctx_size_out = sizeof ctx);
    int rc = bpf_prog_test_run_opts(fd, &opts);

    cr_assert_eq(rc, 0, "BPF_PROG_TEST_RUN: %s", strerror(errno));
    if (out_len) {
        *out_len = opts.data_size_out;
    }
    cr_expect_eq(ctx.gso_size, gso_size, "gso_size changed: %u", ctx.gso_size);
    return opts.retval;
}

int fp_test_run(struct offload *o, bool sock, const uint8_t *in, size_t len, uint8_t *out,
                size_t *out_len, uint32_t gso_size)
{
    return run(sock ? offload_sock_filter_fd(o) : offload_tc_fd(o), in, len, out, out_len,
               gso_size);
}

int fp_test_run_underlay(struct offload *o, const uint8_t *in, size_t len, uint8_t *out,
                         size_t *out_len, uint32_t gso_size)
{
    return run(offload_underlay_fd(o), in, len, out, out_len, gso_size);
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

size_t fp_test_vxlan_build(const struct fp_vxlan_spec *v, const struct pkt_spec *inner,
                           uint8_t *buf, size_t size)
{
    size_t inner_len = pkt_build(inner, buf + FP_TEST_VXLAN_ROOM,
                                 size - FP_TEST_VXLAN_ROOM);
    size_t ip_len = inner_len + FP_TEST_VXLAN_ROOM - ETH_HDR_LEN;
    uint8_t *ip = buf + ETH_HDR_LEN, *udp = ip + 20, *vx = udp + 8;
    struct eth_addr mac;
    be32 src, dst;
    uint32_t sum = 0;

    memset(buf, 0, FP_TEST_VXLAN_ROOM);
    addr_parse_mac("02:00:c0:a8:00:01", &mac);            /* This node's underlay MAC. */
    memcpy(buf, mac.a, 6);
    addr_parse_mac("02:00:c0:a8:00:02", &mac);
    memcpy(buf + 6, mac.a, 6);
    buf[12] = 0x08;
    ip[0] = 0x45;
    ip[2] = ip_len >> 8;
    ip[3] = ip_len;
    ip[6] = 0x40;                                           /* DF */
    ip[8] = FP_TEST_TTL;
    ip[9] = 17;
    addr_parse_ip(v->src, &src);
    addr_parse_ip(v->dst, &dst);
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &dst, 4);
    for (int i = 0; i < 20; i += 2) {
        sum += ip[i] << 8 | ip[i + 1];
    }
    sum = fold(sum);
    ip[10] = sum >> 8;
    ip[11] = sum;
    udp[0] = v->sport >> 8;
    udp[1] = v->sport;
    udp[2] = v->dport >> 8;
    udp[3] = v->dport;
    udp[4] = (ip_len - 20) >> 8;
    udp[5] = ip_len - 20;
    vx[0] = v->flags;
    vx[4] = v->vni >> 16;
    vx[5] = v->vni >> 8;
    vx[6] = v->vni;
    return inner_len + FP_TEST_VXLAN_ROOM;
}
