/* Shared by the kernel fast path's tests (test-fastpath.c, test-offload.c): loading it the way
 * vswitchd does, keys from packet specs, and one BPF_PROG_TEST_RUN. */
#ifndef TESTS_UNIT_FASTPATH_HELPERS_H
#define TESTS_UNIT_FASTPATH_HELPERS_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/offload.h"
#include "pkt-builder.h"

/* BPF_PROG_TEST_RUN runs the program on a skb of the loopback device (ifindex 1), so the
 * tests' flows are keyed on in-port 1. */
#define FP_TEST_IFINDEX 1

/* The overlay every test's fast path speaks: this node, a peer, the VNI, the port. */
#define FP_TEST_NODE "192.168.0.1"
#define FP_TEST_PEER "192.168.0.2"
#define FP_TEST_VNI 42
#define FP_TEST_VXLAN_PORT 4789
#define FP_TEST_TTL 64
/* Outer IPv4 + UDP + VXLAN + inner Ethernet: what encapsulation adds (RFC 7348). */
#define FP_TEST_VXLAN_ROOM 50

/* Loads the fast path (trace on, the overlay above) or fails the test, saying that it needs
 * root and bpf(). */
struct offload *fp_test_open(const char *pin_dir, uint32_t max_flows);
/* Every fast-path test's start: the log quiet but for errors, the test pinned to the CPU it
 * runs on (the socket filter's hand-off to tc is per CPU, and BPF_PROG_TEST_RUN runs a
 * program on the caller's CPU), then fp_test_open(). */
struct offload *fp_test_setup(const char *pin_dir, uint32_t max_flows);

/* The key the program will parse from 'spec' (in-port FP_TEST_IFINDEX). */
struct fp_key fp_test_key(const struct pkt_spec *spec);

/* Runs the tc program ('sock' false) or the socket filter on 'in'; writes the frame as the
 * program left it to 'out' (tc only) and returns the program's return value.  'gso_size' is
 * given to the skb and checked unchanged after the run. */
int fp_test_run(struct offload *, bool sock, const uint8_t *in, size_t len, uint8_t *out,
                size_t *out_len, uint32_t gso_size);
/* The same with the underlay's program (fp_tc_vxlan). */
int fp_test_run_underlay(struct offload *, const uint8_t *in, size_t len, uint8_t *out,
                         size_t *out_len, uint32_t gso_size);

/* A VXLAN datagram as a peer sends it: Ethernet to this node, IPv4 from 'src' to 'dst' (DF,
 * TTL 64), UDP from 'sport' to 'dport' with checksum 0, the VXLAN header with 'flags' and
 * 'vni', then 'inner'.  Returns its length. */
struct fp_vxlan_spec {
    const char *src, *dst;
    uint16_t sport, dport;
    uint8_t flags;
    uint32_t vni;
};
size_t fp_test_vxlan_build(const struct fp_vxlan_spec *, const struct pkt_spec *inner,
                           uint8_t *buf, size_t size);

#endif
