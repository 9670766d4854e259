/* Receive coalescing for the overlay (a GRO in user space): the TCP segments of one flow that
 * arrive together over VXLAN are joined into one GSO frame before they enter the pipeline, so
 * the pod's kernel gets one large segment instead of dozens (and sends one ACK for them, which
 * crosses both switches again), as the kernel's own VXLAN receive path does with GRO.
 *
 * Only plain segments are joined: IPv4 without options or fragments, TCP with ACK (PSH allowed
 * on the last one), consecutive sequence numbers and identical headers otherwise (options
 * included, as Linux's tcp_gro_receive demands) whose own checksums verify (or are partial:
 * bytes that never crossed a wire).  The joined frame carries a partial checksum and a
 * VIRTIO_NET_HDR_GSO_TCPV4 header.
 *
 * The VXLAN port joins as it unpacks what the kernel hands it (gro_absorb/gro_open, no
 * packet per segment), and ends the runs with gro_flush.  Datapath thread. */
#ifndef VSWITCH_DP_GRO_H
#define VSWITCH_DP_GRO_H 1

#include "dp/packet.h"

/* How many flows may interleave and still be joined. */
#define GRO_MAX_OPEN 8

struct gro_run {
    struct packet *head;            /* NULL: a free slot. */
    uint32_t next_seq;
    uint16_t mss;
    uint16_t n_segments;
};

struct gro_table {
    struct gro_run runs[GRO_MAX_OPEN];
    unsigned int n_runs;            /* Slots ever used: runs[n_runs..] are untouched. */
    unsigned int next_victim;       /* All slots taken: the run a new one replaces. */
};

void gro_init(struct gro_table *);

/* Offers the Ethernet frame 'frame' of 'len' bytes, received from 'tun_src'.  If it continues
 * an open run, its TCP payload is appended to that run's head and true is returned;
 * otherwise false, and the caller puts the frame in a packet of its own and calls
 * gro_open() with it. */
bool gro_absorb(struct gro_table *, const uint8_t *frame, size_t len, be32 tun_src);

/* Lets 'pkt' (a frame gro_absorb() refused, in its packet now) head a run if it is a segment
 * that may be joined. */
void gro_open(struct gro_table *, struct packet *pkt);

/* Ends every open run: each head that absorbed segments gets its GSO header.  Call before the
 * heads go anywhere; the table is empty again. */
void gro_flush(struct gro_table *);

#endif
