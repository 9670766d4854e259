/* Internet checksums (RFC 1071) and their incremental update (RFC 1624).
 *
 * The datapath rewrites headers (TTL, addresses, ports) on packets it never recomputes in full:
 * a 64 KiB GSO frame would cost a pass over all its bytes.  RFC 1624's equation 3,
 * HC' = ~(~HC + ~m + m'), updates a checksum for a changed 16-bit word and is correct for every
 * value, including the 0x0000/0xffff corner where the older RFC 1141 form fails. */
#ifndef VSWITCH_DP_CSUM_H
#define VSWITCH_DP_CSUM_H 1

#include <stddef.h>
#include <stdint.h>

#include "lib/types.h"

/* Ones'-complement sum of 'len' bytes added to 'partial' (not folded, not complemented). */
uint32_t csum_partial(const void *data, size_t len, uint32_t partial);
/* Folds a 32-bit partial sum to 16 bits and complements it: the value to store. */
be16 csum_finish(uint32_t partial);

/* The ones'-complement sum of the IPv4 pseudo-header (RFC 9293 section 3.1, RFC 768) for an
 * L4 segment of 'l4_len' bytes, to start a TCP/UDP checksum with. */
uint32_t csum_pseudo_header(be32 src, be32 dst, uint8_t proto, size_t l4_len);

/* The checksum 'csum' (as stored, network order) after a 16-bit word changed from 'old' to
 * 'new' (both network order). */
be16 csum_update16(be16 csum, be16 old, be16 new);
be16 csum_update32(be16 csum, be32 old, be32 new);

/* For a TCP/UDP checksum field that holds only the pseudo-header sum (a partial checksum the
 * kernel or NIC completes, VIRTIO_NET_HDR_F_NEEDS_CSUM): that field is stored uncomplemented,
 * so a change to an address in the pseudo-header is applied with the opposite sign. */
be16 csum_update32_partial(be16 csum, be32 old, be32 new);

#endif
