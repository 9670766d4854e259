/* Oracles for the packet fuzz targets, written independently of the datapath's own checksum
 * code (vswitch/dp/csum.c) so that a bug there cannot hide itself: the Internet checksum
 * (RFC 1071) of an IPv4 header and of a whole TCP/UDP/ICMP datagram in an Ethernet frame. */
#ifndef TESTS_FUZZ_FUZZ_CHECK_H
#define TESTS_FUZZ_FUZZ_CHECK_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* What fuzz_frame_check() found out about a frame. */
struct fuzz_frame {
    bool ipv4;                  /* Untagged IPv4 with a sane header within the frame. */
    bool ip_csum_ok;
    bool l4_checkable;          /* TCP, UDP (checksum not 0) or ICMP, not a fragment. */
    bool l4_csum_ok;
    uint8_t proto;
    uint32_t src, dst;          /* Network order. */
};

static inline uint32_t fuzz_sum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t) p[i] << 8 | p[i + 1];
    }
    if (len & 1) {
        sum += (uint32_t) p[len - 1] << 8;
    }
    return sum;
}

static inline uint16_t fuzz_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) sum;
}

static inline void fuzz_frame_check(const uint8_t *f, size_t len, struct fuzz_frame *out)
{
    size_t ihl, tot, l4len;
    const uint8_t *ip, *l4;
    uint32_t sum;

    *out = (struct fuzz_frame) { 0 };
    if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00) {
        return;
    }
    ip = f + 14;
    ihl = (size_t) (ip[0] & 0x0f) * 4;
    tot = (size_t) ip[2] << 8 | ip[3];
    if (ip[0] >> 4 != 4 || ihl < 20 || tot < ihl || 14 + tot > len) {
        return;
    }
    out->ipv4 = true;
    out->proto = ip[9];
    memcpy(&out->src, ip + 12, 4);
    memcpy(&out->dst, ip + 16, 4);
    out->ip_csum_ok = fuzz_fold(fuzz_sum(ip, ihl, 0)) == 0xffff;

    if ((ip[6] & 0x3f) || ip[7]) {
        return;                 /* A fragment: the L4 checksum covers the whole datagram. */
    }
    l4 = ip + ihl;
    l4len = tot - ihl;
    switch (out->proto) {
    case 6:
        if (l4len < 20) {
            return;
        }
        break;
    case 17:
        if (l4len < 8 || (l4[6] == 0 && l4[7] == 0)) {
            return;             /* No checksum (RFC 768). */
        }
        break;
    case 1:
        if (l4len < 4) {
            return;
        }
        out->l4_checkable = true;
        out->l4_csum_ok = fuzz_fold(fuzz_sum(l4, l4len, 0)) == 0xffff;
        return;
    default:
        return;
    }
    sum = fuzz_sum(ip + 12, 8, 0) + out->proto + (uint32_t) l4len;
    out->l4_checkable = true;
    out->l4_csum_ok = fuzz_fold(fuzz_sum(l4, l4len, sum)) == 0xffff;
}

#endif
