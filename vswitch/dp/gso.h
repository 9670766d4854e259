/* Software segmentation for the overlay: a pod hands the switch 64 KiB TCP (or UDP GSO)
 * frames; the overlay carries MTU-sized ones.  The segments are written back to back, each
 * behind a copy of a prefix (the VXLAN header), so one sendmsg with UDP_SEGMENT sends them
 * all and the kernel cuts the UDP payload at every 'unit' bytes.  Every segment gets its own
 * IP length, ID and checksum and a complete L4 checksum (the wire carries no partial ones).
 * Datapath thread. */
#ifndef VSWITCH_DP_GSO_H
#define VSWITCH_DP_GSO_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/packet.h"

/* Linux 6.2 named it in the uapi header; Debian 12 ships older headers. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* Most segments one UDP_SEGMENT send may carry (the kernel's UDP_MAX_SEGMENTS). */
#define GSO_MAX_SEGMENTS 64

struct gso_result {
    size_t unit;                    /* Bytes per segment, prefix included. */
    size_t total;                   /* Bytes written. */
    size_t n_segments;
};

/* Segments 'pkt' (parsed: l3_ofs/l4_ofs valid; vnet.gso_type TCPV4 or UDP_L4) into 'out'.
 * At most 'max_segments' are written, starting with payload byte 'offset'; call again with
 * the returned offset until it equals the payload length.  Returns the next offset, or a
 * negative errno (-EPROTONOSUPPORT for other GSO types, -EINVAL for an inconsistent frame). */
long gso_segment(const struct packet *pkt, const void *prefix, size_t prefix_len,
                 size_t offset, size_t max_segments, uint8_t *out, size_t out_size,
                 struct gso_result *);

/* Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) in place, as a NIC would, and
 * clears the flag. */
void gso_complete_csum(struct packet *pkt);

#endif
