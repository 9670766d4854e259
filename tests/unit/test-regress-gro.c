/* Regression test for a crash found by the soak test (tests/system/test-soak.sh) and the
 * overlay fuzzer (tests/fuzz/regress/overlay/gro-uninitialised-run): gro_merge()
 * (vswitch/dp/gro.c) read run slots it never wrote.  A frame that opened a run took the next
 * slot, runs[n_runs++], and then did "if (run->head) finish(run)" on it: the slot was
 * uninitialised stack, so whatever a previous call left there was taken for the head of a
 * run, and finish() rewrote the IP and TCP headers of a packet that was not in the batch, or
 * of a pointer that was not a packet at all: vswitchd segfaulted on the backend's node as
 * soon as TCP data arrived over VXLAN (fixed in 9ea4e5c).
 *
 * gro_merge() is the tests' own now (gro-merge.h), the VXLAN port's loop over gro.c's entries.
 * The stack below gro_merge() is first filled with a pattern that, read as a run, is the head
 * of one of four decoy packets of an earlier batch with two segments: a correct gro_merge()
 * must leave those decoys alone. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "dp/net-headers.h"
#include "dp/packet.h"
#include "gro-merge.h"
#include "pkt-builder.h"

static struct packet *decoys;

/* Fills a large stack area with copies of a run { head = decoy, next_seq, mss, n = 2 }. */
static __attribute__((noinline)) void dirty_stack(void)
{
    volatile uint64_t area[1024];

    for (size_t i = 0; i < 1024; i += 2) {
        area[i] = (uintptr_t) &decoys[i / 2 % 4];
        area[i + 1] = (uint64_t) 2 << 48 | (uint64_t) 100 << 32;
    }
    (void) area[0];
}

Test(regress_gro, merge_never_touches_packets_outside_the_batch)
{
    struct pkt_spec seg = { .eth_src = "0a:58:0a:f4:02:01", .eth_dst = "0a:58:0a:f4:01:01",
                            .ip_src = "10.244.2.7", .ip_dst = "10.244.1.5", .sport = 1,
                            .dport = 2, .tcp_flags = TCP_ACK, .payload = 100 };
    struct packet *batch = packet_array_alloc(2), *pkts[2] = { &batch[0], &batch[1] };
    uint8_t frame[256], before[4][256];
    size_t len = pkt_build(&seg, frame, sizeof frame);

    decoys = packet_array_alloc(4);
    for (int i = 0; i < 4; i++) {
        packet_set_frame(&decoys[i], frame, len);
        memcpy(before[i], decoys[i].data, len);
    }
    /* One segment of another flow in the batch, so that a run is opened. */
    seg.sport = 3;
    len = pkt_build(&seg, frame, sizeof frame);
    packet_set_frame(pkts[0], frame, len);
    packet_set_frame(pkts[1], frame, len);
    ((struct tcp_header *) (pkts[1]->data + ETH_HDR_LEN + IP_HDR_LEN))->seq = htonl(1000);

    dirty_stack();
    cr_assert_eq(gro_merge(pkts, 2), 2, "two unrelated segments stay two frames");
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(memcmp(before[i], decoys[i].data, len), 0,
                     "decoy %d, a packet outside the batch, was rewritten", i);
        cr_expect_eq(decoys[i].vnet.gso_type, 0, "decoy %d got a GSO header", i);
    }
    packet_array_free(decoys, 4);
    packet_array_free(batch, 2);
}
