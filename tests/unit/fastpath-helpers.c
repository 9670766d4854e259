/* Helpers of the fast path's tests; see fastpath-helpers.h. */
#include "fastpath-helpers.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>

#include "lib/addr.h"

struct offload *fp_test_open(const char *pin_dir, uint32_t max_flows)
{
    struct offload_config cfg = { .pin_dir = pin_dir, .max_flows = max_flows, .trace = true };
    struct offload *o = NULL;
    char err[512] = "";
    int rc = offload_open(&cfg, &o, err, sizeof err);

    cr_assert_eq(rc, 0, "the fast path must load (these tests need root and bpf()): %s", err);
    return o;
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

int fp_test_run(struct offload *o, bool sock, const uint8_t *in, size_t len, uint8_t *out,
                size_t *out_len, uint32_t gso_size)
{
    struct __sk_buff ctx = { .ifindex = FP_TEST_IFINDEX, .gso_size = gso_size,
                             .gso_segs = gso_size ? (len + gso_size - 1) / gso_size : 0 };
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
                .data_out = out, .data_size_out = out_len ? *out_len : 0,
                .ctx_in = &ctx, .ctx_size_in = sizeof ctx,
                .ctx_out = &ctx, .ctx_size_out = sizeof ctx);
    int fd = sock ? offload_sock_filter_fd(o) : offload_tc_fd(o);
    int rc = bpf_prog_test_run_opts(fd, &opts);

    cr_assert_eq(rc, 0, "BPF_PROG_TEST_RUN: %s", strerror(errno));
    if (out_len) {
        *out_len = opts.data_size_out;
    }
    cr_expect_eq(ctx.gso_size, gso_size, "gso_size changed: %u", ctx.gso_size);
    return opts.retval;
}
