/* Software segmentation for the overlay: a pod hands the switch 64 KiB TCP (or UDP GSO)
 * frames; the overlay carries MTU-sized ones.  The segments are laid out one after another
 * in one buffer, each a header of its own (a prefix such as the VXLAN header, then the
 * frame's headers with this segment's IP length, ID and checksums) followed by its slice of
 * the frame's payload, so one sendmsg with UDP_SEGMENT hands the kernel all of them and the
 * kernel cuts the UDP payload at every 'unit' bytes.  Every segment gets a complete L4
 * checksum, unless the receiver is to complete it (remote checksum offload).
 *
 * Why a copy: the payload is still in the cache when it is copied here, and the kernel then
 * copies one contiguous buffer.  Handing it the slices where they lie, two iovecs per
 * segment, was measured slower (a tenth to a quarter less TCP throughput across two nodes):
 * the kernel's per-iovec cost over 90 iovecs per 64 KiB exceeds one memcpy.
 * Datapath thread. */
#ifndef VSWITCH_DP_GSO_H
#define VSWITCH_DP_GSO_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp/packet.h"

/* Linux 6.2 named it in the uapi header; Debian 12 ships older headers. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* Most segments one UDP_SEGMENT send may carry (the kernel's UDP_MAX_SEGMENTS). */
#define GSO_MAX_SEGMENTS 64

struct gso_batch {
    uint8_t *buf;                   /* The caller's, of the target's max_bytes. */
    size_t unit;                    /* Bytes per segment, prefix included; the last may be
                                     * shorter. */
    size_t total;                   /* Bytes in all segments. */
    size_t n_segments;
};

/* Where segments go and how they are made. */
struct gso_target {
    const void *prefix;             /* Put in front of every segment's headers (VXLAN's). */
    size_t prefix_len;
    size_t max_l3_len;              /* Largest IP packet per segment; 0: no limit. */
    size_t max_bytes;               /* Most bytes, prefixes included, per call: the size of
                                     * the batch's buffer. */
    bool partial_csum;              /* Leave each L4 checksum partial (the pseudo-header sum)
                                     * for the receiver to complete, as a NIC's checksum
                                     * offload would (VXLAN remote checksum offload). */
};

/* Segments 'pkt' (parsed: l3_ofs/l4_ofs valid; vnet.gso_type TCPV4 or UDP_L4) into
 * batch->buf, starting with payload byte 'offset', as many segments as fit GSO_MAX_SEGMENTS
 * and 'max_bytes' in all; call again with the returned offset until it equals the payload
 * length.  TCP segments carry at most 'max_l3_len' bytes of IP packet: a pod whose gso_size
 * exceeds the overlay's MTU still gets its data through whole.  Returns the next offset, or
 * a negative errno: -EPROTONOSUPPORT for other GSO types, -EMSGSIZE when a UDP datagram
 * (which cannot be cut smaller) exceeds 'max_l3_len' or one segment does not fit
 * 'max_bytes', -EINVAL for an inconsistent frame. */
long gso_segment(const struct packet *pkt, const struct gso_target *, size_t offset,
                 struct gso_batch *);

/* Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) in place, as a NIC would, and
 * clears the flag. */
void gso_complete_csum(struct packet *pkt);

#endif
