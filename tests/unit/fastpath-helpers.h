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

/* Loads the fast path (trace on) or fails the test, saying that it needs root and bpf(). */
struct offload *fp_test_open(const char *pin_dir, uint32_t max_flows);

/* The key the program will parse from 'spec' (in-port FP_TEST_IFINDEX). */
struct fp_key fp_test_key(const struct pkt_spec *spec);

/* Runs the tc program ('sock' false) or the socket filter on 'in'; writes the frame as the
 * program left it to 'out' (tc only) and returns the program's return value.  'gso_size' is
 * given to the skb and checked unchanged after the run. */
int fp_test_run(struct offload *, bool sock, const uint8_t *in, size_t len, uint8_t *out,
                size_t *out_len, uint32_t gso_size);

#endif
