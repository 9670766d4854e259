/* libFuzzer target: receive coalescing (vswitch/dp/gro.c, driven by gro_merge() of
 * tests/unit/gro-merge.h as the VXLAN port drives it), on a batch of up to 32 arbitrary
 * frames as the VXLAN port receives them.  Each record of the input (fuzz-dp.h's format; the
 * port bits are ignored) is one frame of the batch.
 *
 * Before each call the stack below gro_merge() is filled with a pattern, so that a read of a
 * slot it never wrote sees garbage rather than zeros (what MemorySanitizer would catch).
 *
 * Checks, besides the sanitizers:
 *   - the same buffers come back, in a permutation: the frames left first, in their order, then
 *     the ones absorbed;
 *   - not one TCP payload byte is lost, moved or invented: for every segment of the batch
 *     that was absorbed or extended, each of its payload bytes is found at the same sequence
 *     number of the same flow in the frames left;
 *   - a joined frame is IPv4 with a correct header checksum and a length that matches, and
 *     carries a TCPv4 GSO header whose segment size is the first segment's payload. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "fuzz-dp.h"
#include "dp/net-headers.h"
#include "dp/packet.h"
#include "gro-merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz-gro: " __VA_ARGS__);                          \
            fprintf(stderr, "\n");                                              \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* A plain TCP segment as gro.c would consider it: its flow, sequence number and payload. */
struct seg {
    uint8_t flow[12];               /* Addresses and ports. */
    uint32_t seq;
    const uint8_t *payload;
    size_t len;
};

static bool tcp_segment(const uint8_t *f, size_t len, struct seg *s)
{
    size_t thlen;

    if (len < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14] != 0x45 || f[23] != 6) {
        return false;
    }
    thlen = (size_t) (f[14 + 20 + 12] >> 4) * 4;
    if (thlen < 20 || 14 + 20 + thlen > len) {
        return false;
    }
    memcpy(s->flow, f + 26, 8);
    memcpy(s->flow + 8, f + 34, 4);
    memcpy(&s->seq, f + 38, 4);
    s->seq = ntohl(s->seq);
    s->payload = f + 14 + 20 + thlen;
    s->len = len - 14 - 20 - thlen;
    return true;
}

static __attribute__((noinline)) void dirty_stack(void)
{
    volatile uint8_t area[16384];

    for (size_t i = 0; i < sizeof area; i++) {
        area[i] = 0xa5;
    }
    (void) area[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct packet *array;
    static uint8_t copies[PACKET_BATCH_SIZE][2048];
    struct packet *pkts[PACKET_BATCH_SIZE], *orig[PACKET_BATCH_SIZE];
    struct virtio_net_hdr vnets[PACKET_BATCH_SIZE];
    size_t lens[PACKET_BATCH_SIZE];
    struct fuzz_record r;
    int n = 0, kept;

    if (!array) {
        array = packet_array_alloc(PACKET_BATCH_SIZE);
    }
    while (n < PACKET_BATCH_SIZE && fuzz_record_next(&data, &size, &r)) {
        struct packet *pkt = &array[n];

        if (r.len > sizeof copies[0]) {
            continue;
        }
        packet_reset(pkt);
        packet_set_frame(pkt, r.frame, r.len);
        if (r.vnet) {
            pkt->vnet = *r.vnet;
        }
        pkt->tun_src = r.ctl & 1;
        memcpy(copies[n], r.frame, r.len);
        vnets[n] = pkt->vnet;
        lens[n] = r.len;
        pkts[n] = orig[n] = pkt;
        n++;
    }
    if (!n) {
        return 0;
    }

    dirty_stack();
    kept = gro_merge(pkts, n);
    CHECK(kept >= 1 && kept <= n, "%d of %d frames left", kept, n);
    for (int i = 0; i < n; i++) {
        int found = 0;

        for (int j = 0; j < n; j++) {
            found += pkts[j] == orig[i];
        }
        CHECK(found == 1, "buffer %d comes back %d times", i, found);
    }
    for (int i = 1; i < kept; i++) {
        CHECK(pkts[i - 1] < pkts[i], "the frames left are out of order");
    }

    /* Every payload byte of every input segment is where its sequence number says. */
    for (int i = 0; i < n; i++) {
        struct seg in;

        if (!tcp_segment(copies[i], lens[i], &in) || !in.len) {
            continue;
        }
        for (size_t b = 0; b < in.len; b++) {
            uint32_t seq = in.seq + (uint32_t) b;
            bool placed = false;

            for (int k = 0; k < kept && !placed; k++) {
                struct seg out;

                if (!tcp_segment(pkts[k]->data, pkts[k]->len, &out)
                    || memcmp(out.flow, in.flow, sizeof in.flow)
                    || pkts[k]->tun_src != orig[i]->tun_src
                    || (uint32_t) (seq - out.seq) >= out.len) {
                    continue;
                }
                placed = out.payload[seq - out.seq] == in.payload[b];
            }
            CHECK(placed, "byte %zu of segment %d (seq %u) is lost or changed", b, i, in.seq);
        }
    }

    /* A joined frame (its virtio-net header changed) is well formed. */
    for (int k = 0; k < kept; k++) {
        struct packet *pkt = pkts[k];
        struct fuzz_frame f;
        struct seg s;

        if (!memcmp(&pkt->vnet, &vnets[pkt - array], sizeof pkt->vnet)) {
            continue;
        }
        CHECK(pkt->vnet.gso_type == VIRTIO_NET_HDR_GSO_TCPV4, "a joined frame's GSO type %u",
              pkt->vnet.gso_type);
        fuzz_frame_check(pkt->data, pkt->len, &f);
        CHECK(f.ipv4 && f.ip_csum_ok, "a joined frame's IPv4 header is bad");
        CHECK(tcp_segment(pkt->data, pkt->len, &s), "a joined frame is not TCP");
        CHECK(pkt->vnet.gso_size && pkt->vnet.gso_size < s.len, "a joined frame's MSS %u "
              "for %zu bytes", pkt->vnet.gso_size, s.len);
    }
    return 0;
}
