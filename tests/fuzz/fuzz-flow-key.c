/* libFuzzer target: the packet parser, flow_key_extract() (vswitch/dp/flow-key.c), the only
 * code that reads a received frame's headers, with the virtio-net header that comes with the
 * frame; then what runs on a parsed frame before anything else could validate it: the flow
 * key's hash and text form (dump-flows), completion of a partial checksum, and software
 * segmentation of a GSO frame for the overlay (vswitch/dp/gso.c), as the VXLAN port does it.
 *
 * Input: one byte of options (bit 0: a 10-byte virtio_net_hdr follows), then the frame.
 * Checks, besides the sanitizers: the parser's offsets stay inside the frame; every segment
 * that segmentation writes is within its unit and the buffer, and is IPv4 with correct
 * header and L4 checksums (segmentation computes them whole). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "dp/csum.h"
#include "dp/flow-key.h"
#include "dp/gso.h"
#include "dp/net-headers.h"
#include "dp/packet.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As the VXLAN port's buffer: at most 64 segments of a jumbo unit, within one datagram. */
#define OUT_SIZE (65535 - 20 - 8)

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz-flow-key: " __VA_ARGS__);                     \
            fprintf(stderr, "\n");                                              \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* What the receiver of a remote checksum offload does to a segment of 'pkt': sums its L4
 * bytes, the field holding the pseudo-header's sum, and stores the result. */
static void complete_csum(uint8_t *seg, size_t len, const struct packet *pkt)
{
    size_t start = pkt->l4_ofs;
    uint8_t type = pkt->vnet.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
    size_t field = start + (type == VIRTIO_NET_HDR_GSO_TCPV4 ? 16 : 6);
    be16 csum;

    if (field + 2 <= len) {
        csum = csum_finish(csum_partial(seg + start, len - start, 0));
        memcpy(seg + field, &csum, sizeof csum);
    }
}

static void segment(struct packet *pkt)
{
    static const uint8_t prefix[8] = { 0x08, 0, 0, 0, 0, 0, 42, 0 };
    static uint8_t out[OUT_SIZE];
    struct gso_batch batch = { .buf = out };
    size_t offset = 0;

    for (int rounds = 0; rounds < 2048; rounds++) {
        /* Alternately with and without the overlay's MTU, as the VXLAN port calls it. */
        struct gso_target target = {
            .prefix = prefix, .prefix_len = sizeof prefix,
            .max_l3_len = rounds & 1 ? 1450 : 0, .max_bytes = OUT_SIZE,
            .partial_csum = rounds & 2,
        };
        long next = gso_segment(pkt, &target, offset, &batch);

        if (next < 0) {
            return;
        }
        CHECK(batch.total <= OUT_SIZE, "segments exceed the limit (%zu)", batch.total);
        CHECK(batch.n_segments <= GSO_MAX_SEGMENTS, "%zu segments", batch.n_segments);
        for (size_t i = 0, ofs = 0; i < batch.n_segments; i++) {
            size_t len = MIN(batch.unit, batch.total - ofs);
            struct fuzz_frame f;

            CHECK(!memcmp(out + ofs, prefix, sizeof prefix), "segment %zu lost its prefix", i);
            CHECK(!(rounds & 1) || len - sizeof prefix - pkt->l3_ofs <= 1450,
                  "segment %zu exceeds the MTU", i);
            uint8_t *frame = out + ofs + sizeof prefix;
            size_t frame_len = len - sizeof prefix;

            if (target.partial_csum) {
                complete_csum(frame, frame_len, pkt);
            }
            if (pkt->l3_ofs == ETH_HDR_LEN + 4) {
                /* fuzz_frame_check() knows untagged frames: drop the VLAN tag. */
                memmove(frame + 4, frame, 12);
                frame += 4;
                frame_len -= 4;
            }
            fuzz_frame_check(frame, frame_len, &f);
            CHECK(f.ipv4, "segment %zu of %zu is not a valid IPv4 packet (unit %zu)", i,
                  batch.n_segments, batch.unit);
            CHECK(f.ip_csum_ok, "segment %zu: bad IPv4 header checksum", i);
            CHECK(!f.l4_checkable || f.l4_csum_ok, "segment %zu: bad L4 checksum", i);
            ofs += len;
        }
        if (!batch.n_segments || (size_t) next == offset) {
            return;
        }
        offset = next;
    }
    CHECK(0, "segmentation never ended");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct packet *pkt;
    struct flow_key key;
    enum drop_reason reason;
    char text[512];

    if (!pkt) {
        pkt = packet_array_alloc(1);
    }
    if (size < 1) {
        return 0;
    }
    {
        uint8_t opts = data[0];
        struct virtio_net_hdr vnet = { 0 };

        data++;
        size--;
        if (opts & 1) {
            if (size < sizeof vnet) {
                return 0;
            }
            memcpy(&vnet, data, sizeof vnet);
            data += sizeof vnet;
            size -= sizeof vnet;
        }
        if (packet_set_frame(pkt, data, size)) {
            return 0;
        }
        pkt->vnet = vnet;
    }

    reason = flow_key_extract(pkt, 1, &key);
    CHECK(reason < DROP_N_REASONS, "reason %d", reason);
    CHECK(pkt->l3_ofs <= pkt->len && pkt->l4_ofs <= pkt->len, "offsets %u/%u past %u",
          pkt->l3_ofs, pkt->l4_ofs, pkt->len);
    flow_key_hash(&key);
    flow_key_format(&key, text, sizeof text);
    flow_key_format(&key, text, 24);
    if (reason) {
        return 0;
    }
    if (pkt->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        segment(pkt);
    } else {
        gso_complete_csum(pkt);
    }
    return 0;
}
