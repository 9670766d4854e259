/* loadBalancerSourceRanges in the datapath (dp_lb_spec.source_ranges): a new connection from
 * a client inside a range is balanced, from any other client dropped and counted as
 * source_range, from a pod as from a client outside the cluster forwarded in by the node; a
 * policy without ranges admits everyone; the ranges go with a replaced policy. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "dp/dp.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "pkt-builder.h"
#include "scene.h"

#define ROUTER "0a:58:0a:f4:01:01"
#define HOST_MAC "0a:58:ff:ff:ff:fe"
#define VIP "203.0.113.10"

static struct scene *s;

static void setup(void)
{
    s = scene_new(NULL);
    scene_port(s, "client", "10.244.1.5", "02:00:00:00:01:05");
    scene_port(s, "other", "10.244.1.20", "02:00:00:00:01:20");
    scene_port(s, "b1", "10.244.1.6", "02:00:00:00:01:06");
}

static void teardown(void)
{
    scene_free(s);
}

static void set_policy(const char *const *ranges, size_t n)
{
    struct dp_lb_backend b = { scene_ip("10.244.1.6"), 8080 };
    struct dp_lb_spec spec = { .vip = scene_ip(VIP), .port = 80, .proto = IP_PROTO_TCP,
                               .dsr = true, .name = "LB", .n_backends = 1, .backends = &b };
    char err[128];

    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(addr_parse_cidr(ranges[i], &spec.source_ranges[i]), 0);
    }
    spec.n_source_ranges = n;
    cr_assert_eq(dp_lb_set(s->dp, &spec, err, sizeof err), 0, "%s", err);
}

/* Sends a SYN from 'ip' on 'port' (its MAC 'mac') to VIP:80; returns the verdict and checks
 * that a forwarded one reached b1 and a dropped one went nowhere. */
static int syn_from(const char *port, const char *mac, const char *ip, uint16_t sport)
{
    struct pkt_spec syn = { .eth_src = mac, .eth_dst = ROUTER, .ip_src = ip, .ip_dst = VIP,
                            .sport = sport, .dport = 80 };
    uint8_t out[256];
    const char *where = NULL;
    int verdict = scene_inject(s, port, &syn, NULL), n = 0;

    while (scene_take(s, out, sizeof out, &where, NULL) >= 0) {
        n++;
        cr_expect_str_eq(where, "b1");
    }
    cr_expect_eq(n, verdict == 0, "%s: %d packet(s) out for verdict %d", ip, n, verdict);
    return verdict;
}

Test(lb_source_ranges, only_clients_in_a_range_are_balanced, .init = setup, .fini = teardown)
{
    static const char *const ranges[] = { "10.244.1.0/29", "198.51.100.0/24" };

    set_policy(ranges, 2);
    cr_expect_eq(syn_from("client", "02:00:00:00:01:05", "10.244.1.5", 40000), 0);
    cr_expect_eq(syn_from("other", "02:00:00:00:01:20", "10.244.1.20", 40001),
                 DROP_SOURCE_RANGE);
    cr_expect_eq(syn_from("vsw0", HOST_MAC, "198.51.100.7", 40002), 0,
                 "an outside client in a range, forwarded in by the node");
    cr_expect_eq(syn_from("vsw0", HOST_MAC, "192.0.2.7", 40003), DROP_SOURCE_RANGE);
    cr_expect_eq(syn_from("vsw0", HOST_MAC, "192.0.2.7", 40003), DROP_SOURCE_RANGE,
                 "its retransmission too (the cached decision)");
    cr_expect_eq(scene_drops(s, DROP_SOURCE_RANGE), 3u);
}

Test(lb_source_ranges, ranges_follow_the_policy, .init = setup, .fini = teardown)
{
    static const char *const ranges[] = { "198.51.100.0/24" };

    set_policy(NULL, 0);
    cr_expect_eq(syn_from("vsw0", HOST_MAC, "192.0.2.7", 40010), 0, "no ranges: anyone");
    set_policy(ranges, 1);
    cr_expect_eq(syn_from("vsw0", HOST_MAC, "192.0.2.7", 40011), DROP_SOURCE_RANGE,
                 "ranges added: the cache was flushed, the next connection checked");
    cr_expect_str_eq(drop_reason_name(DROP_SOURCE_RANGE), "source_range");
}
