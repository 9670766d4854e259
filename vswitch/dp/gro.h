/* Receive coalescing for the overlay (a GRO in user space): the TCP segments of one flow that
 * arrive together over VXLAN are joined into one GSO frame before they enter the pipeline, so
 * the pod's kernel gets one large segment instead of dozens (and sends one ACK for them, which
 * crosses both switches again), as the kernel's own VXLAN receive path does with GRO.
 *
 * Only plain segments are joined: IPv4 without options or fragments, TCP with ACK (PSH allowed
 * on the last one), consecutive sequence numbers and identical headers otherwise (options
 * included, as Linux's tcp_gro_receive demands).  The joined frame carries a partial checksum
 * and a VIRTIO_NET_HDR_GSO_TCPV4 header: its bytes were checked by the outer UDP checksum when
 * the kernel received the datagrams.  Datapath thread. */
#ifndef VSWITCH_DP_GRO_H
#define VSWITCH_DP_GRO_H 1

#include "dp/packet.h"

/* Joins runs in pkts[0, n) in place.  Returns the number of frames left, which are moved to
 * the front of 'pkts' in their order; the buffers of the frames absorbed follow them. */
int gro_merge(struct packet *pkts[], int n);

#endif
