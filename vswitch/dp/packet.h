/* The packet buffer: one struct that carries a frame from rx to tx.
 *
 * A frame sits after PACKET_HEADROOM bytes of headroom, so that VXLAN encapsulation can push
 * its outer headers without moving the frame.  The virtio-net header that came with the frame
 * (PACKET_VNET_HDR on AF_PACKET, IFF_VNET_HDR on TAP) is kept beside it untouched, so a 64 KiB
 * GSO frame or a partially checksummed packet leaves the switch exactly as the pod's kernel
 * handed it over, and the receiving kernel does the segmentation or checksum.
 *
 * Buffers are allocated once per datapath thread (packet_array_alloc) and reused for every
 * batch: there is no allocation per packet. */
#ifndef VSWITCH_DP_PACKET_H
#define VSWITCH_DP_PACKET_H 1

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/types.h"

#define PACKET_HEADROOM 128
/* 64 KiB of GSO payload plus an Ethernet header, with room to spare for a VLAN tag. */
#define PACKET_MAX_FRAME (65536 + 128)
#define PACKET_BATCH_SIZE 32

struct packet {
    uint8_t *data;                  /* Start of the Ethernet header. */
    uint32_t len;                   /* Bytes from 'data'. */
    uint16_t l3_ofs;                /* Offsets from 'data', set by flow_key_extract(). */
    uint16_t l4_ofs;
    uint32_t in_port;
    uint32_t out_port;              /* Set by the actions; 0 when dropped. */
    uint16_t drop_reason;           /* enum drop_reason, when dropped. */
    uint8_t tcp_flags;
    bool l4_valid;                  /* A TCP/UDP/ICMP header is at l4_ofs. */
    struct virtio_net_hdr vnet;     /* As received; sent back out unchanged. */
    be32 tun_src;                   /* VXLAN: the peer it came from. */
    be32 tun_dst;                   /* VXLAN: the peer to send it to (set by an action). */
    uint8_t *base;                  /* Start of the buffer (headroom included). */
};

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "virtio-net header is 10 bytes");
_Static_assert(PACKET_HEADROOM >= 64, "VXLAN encapsulation needs 50 bytes of headroom");

/* Reset 'pkt' to an empty frame at the default headroom. */
static inline void packet_reset(struct packet *pkt)
{
    pkt->data = pkt->base + PACKET_HEADROOM;
    pkt->len = 0;
    pkt->l3_ofs = pkt->l4_ofs = 0;
    pkt->out_port = 0;
    pkt->drop_reason = 0;
    pkt->tcp_flags = 0;
    pkt->l4_valid = false;
    pkt->tun_src = pkt->tun_dst = 0;
    memset(&pkt->vnet, 0, sizeof pkt->vnet);
}

static inline uint8_t *packet_l3(const struct packet *pkt)
{
    return pkt->data + pkt->l3_ofs;
}

static inline uint8_t *packet_l4(const struct packet *pkt)
{
    return pkt->data + pkt->l4_ofs;
}

/* Copies 'len' bytes of 'frame' into 'pkt' with no offload metadata.  Returns 0, or -EMSGSIZE
 * if the frame does not fit. */
int packet_set_frame(struct packet *pkt, const void *frame, size_t len);

/* An array of 'n' packets with their buffers, allocated at once.  Aborts on out of memory:
 * it is only called when a thread starts. */
struct packet *packet_array_alloc(size_t n);
void packet_array_free(struct packet *, size_t n);

#endif
