/* The flow key: every header field a forwarding decision may depend on, extracted once per
 * packet on rx and then used for the flow-cache lookup and by the slow path.
 *
 * The struct is padding-free and 8-byte aligned so it can be hashed and compared as 64-bit
 * words (OVS miniflow, kernel sw_flow_key).  Fields that change from packet to packet within
 * one connection (TTL, TCP flags, lengths) are deliberately not in it. */
#ifndef VSWITCH_DP_FLOW_KEY_H
#define VSWITCH_DP_FLOW_KEY_H 1

#include <stddef.h>

#include "dp/drop.h"
#include "dp/packet.h"
#include "lib/types.h"

enum flow_frag {
    FLOW_FRAG_NO = 0,
    FLOW_FRAG_FIRST = 1,            /* Offset 0 with MF: carries the L4 header. */
    FLOW_FRAG_LATER = 2,            /* Offset > 0: no L4 header, ports are zero. */
};

struct flow_key {
    uint32_t in_port;
    be16 dl_type;                   /* Inner type when VLAN-tagged. */
    uint8_t nw_proto;               /* IP protocol; ARP opcode (low byte) for ARP. */
    uint8_t nw_frag;                /* enum flow_frag. */

    struct eth_addr dl_src;
    be16 vlan_tci;                  /* 0 when untagged. */

    struct eth_addr dl_dst;
    uint8_t nw_tos;
    uint8_t pad_;

    be32 nw_src;                    /* ARP: sender protocol address. */
    be32 nw_dst;                    /* ARP: target protocol address. */

    be16 tp_src;                    /* ICMP: type. */
    be16 tp_dst;                    /* ICMP: code. */
    be32 tun_src;                   /* VXLAN: the peer it came from; 0 otherwise. */
};

_Static_assert(sizeof(struct flow_key) == 40, "flow key is five 64-bit words");
_Static_assert(sizeof(struct flow_key) % 8 == 0, "flow key is hashed as 64-bit words");

/* Parses 'pkt' received on 'in_port' into 'key' and sets pkt->l3_ofs, l4_ofs and tcp_flags.
 * Returns DROP_NONE, or the reason the frame is malformed.  Unknown ethertypes parse fine
 * (the pipeline decides); a VLAN tag is recorded in vlan_tci. */
enum drop_reason flow_key_extract(struct packet *pkt, uint32_t in_port, struct flow_key *key);

uint32_t flow_key_hash(const struct flow_key *key);

static inline bool flow_key_equal(const struct flow_key *a, const struct flow_key *b)
{
    const uint64_t *x = (const uint64_t *) a, *y = (const uint64_t *) b;

    return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/* Writes "tcp,dl_src=..,nw_src=..,tp_dst=80" (without in_port) into 'buf'. */
void flow_key_format(const struct flow_key *key, char *buf, size_t size);

#endif
