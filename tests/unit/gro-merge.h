/* gro_merge(): receive coalescing over a batch already in packets, for the GRO tests
 * (tests/unit/test-regress-gro.c, tests/fuzz/fuzz-gro.c).  The VXLAN port runs the same loop
 * over gro.c's entries as it unpacks datagrams (vxlan_recv in vswitch/dp/port-vxlan.c):
 * gro_absorb() a frame into an open run, or let it open one with gro_open(), and
 * gro_flush() at the end.  Here the frames are packets already, so an absorbed one leaves
 * the batch instead of never becoming a packet.
 *
 * Not inlined: its run table must sit in a stack frame of its own, below its caller, where
 * the tests' dirty_stack() leaves a pattern (a run slot read before it is written sees
 * garbage, as in the bug test-regress-gro.c keeps out). */
#ifndef VSWITCH_TESTS_GRO_MERGE_H
#define VSWITCH_TESTS_GRO_MERGE_H 1

#include <string.h>

#include "dp/gro.h"
#include "dp/packet.h"

/* Joins runs in pkts[0, n) in place.  Returns the number of frames left, which are moved to
 * the front of 'pkts' in their order; the buffers of the frames absorbed follow them. */
static __attribute__((noinline, unused)) int gro_merge(struct packet *pkts[], int n)
{
    struct packet *absorbed[PACKET_BATCH_SIZE];
    int kept = 0, n_absorbed = 0;
    struct gro_table gro;

    gro_init(&gro);
    for (int i = 0; i < n; i++) {
        struct packet *pkt = pkts[i];

        /* As gro.c's own check of a packet: never one dropped already or with offloads
         * beyond a partial checksum. */
        if (!pkt->drop_reason && !(pkt->vnet.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
            && !pkt->vnet.gso_type && gro_absorb(&gro, pkt->data, pkt->len, pkt->tun_src)) {
            absorbed[n_absorbed++] = pkt;
            continue;
        }
        pkts[kept++] = pkt;
        gro_open(&gro, pkt);
    }
    gro_flush(&gro);
    memcpy(pkts + kept, absorbed, n_absorbed * sizeof *absorbed);
    return kept;
}

#endif
