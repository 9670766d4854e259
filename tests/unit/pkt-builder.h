/* A small packet builder for table-driven datapath tests (Katran's fixtures, Cilium's
 * PKTGEN): describe a frame by its fields, get the bytes with correct checksums. */
#ifndef TESTS_UNIT_PKT_BUILDER_H
#define TESTS_UNIT_PKT_BUILDER_H 1

#include <stddef.h>
#include <stdint.h>

#include "lib/types.h"

struct pkt_spec {
    const char *eth_src, *eth_dst;      /* "02:00:00:00:00:01"; NULL -> zeros. */
    uint16_t eth_type;                  /* 0 -> IPv4. */
    uint16_t vlan;                      /* Non-zero: add an 802.1Q tag with this VID. */
    const char *ip_src, *ip_dst;
    uint8_t proto;                      /* 6, 17, 1; 0 -> TCP. */
    uint8_t ttl;                        /* 0 -> 64. */
    uint8_t ihl;                        /* 0 -> 5; > 5 adds NOP options. */
    uint16_t ip_id;                     /* 0 -> 0x1234. */
    uint16_t frag_off;                  /* Host order, flags included (0x2000 = MF). */
    uint16_t sport, dport;              /* TCP/UDP ports; ICMP: type, code. */
    uint8_t tcp_flags;                  /* 0 -> SYN. */
    size_t payload;                     /* Bytes of payload after L4. */
    /* ARP (eth_type 0x0806). */
    uint16_t arp_op;
    const char *arp_sha, *arp_tha, *arp_spa, *arp_tpa;
};

/* Writes the frame into 'buf' (at least 'size' bytes) and returns its length. */
size_t pkt_build(const struct pkt_spec *, uint8_t *buf, size_t size);

/* Writes a one-line summary of the frame's headers into 'buf' (Ethernet addresses; IPv4
 * addresses, TTL, protocol, fragment field and length; ports and TCP flags, or ICMP type and
 * code) and returns 'buf': two frames with the same summary carry the same headers as far as
 * forwarding and translation go, and a test that compares them says what differs. */
const char *pkt_describe(const uint8_t *frame, size_t len, char *buf, size_t size);

/* True if the IPv4 header checksum of the frame at 'frame' verifies. */
bool pkt_ip_csum_ok(const uint8_t *frame, size_t len);
/* True if the TCP/UDP/ICMP checksum verifies. */
bool pkt_l4_csum_ok(const uint8_t *frame, size_t len);
/* True if the partial checksum of the frame (the pseudo-header sum at csum_start +
 * csum_offset), completed over the L4 bytes as the receiver of a remote checksum offload or
 * the pod's kernel would, verifies: the sender left the right sum. */
bool pkt_partial_csum_ok(const uint8_t *frame, size_t len, size_t csum_start,
                         size_t csum_offset);

#endif
