/* Checksums; see csum.h. */
#include "dp/csum.h"

#include <arpa/inet.h>

uint32_t csum_partial(const void *data, size_t len, uint32_t partial)
{
    const uint8_t *p = data;
    uint64_t sum = partial;

    while (len >= 2) {
        /* Summing in network order is byte-order independent for ones' complement (RFC 1071
         * section 2(B)), as long as the final value is stored the same way. */
        sum += (uint16_t) (p[0] << 8 | p[1]);
        p += 2;
        len -= 2;
    }
    if (len) {
        sum += (uint16_t) (p[0] << 8);
    }
    while (sum >> 32) {
        sum = (sum & 0xffffffff) + (sum >> 32);
    }
    return (uint32_t) sum;
}

static uint16_t fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

be16 csum_finish(uint32_t partial)
{
    return htons((uint16_t) ~fold(partial));
}

be16 csum_update16(be16 csum, be16 old, be16 new)
{
    uint32_t sum = (uint16_t) ~ntohs(csum);

    sum += (uint16_t) ~ntohs(old);
    sum += ntohs(new);
    return htons((uint16_t) ~fold(sum));
}

be16 csum_update32(be16 csum, be32 old, be32 new)
{
    csum = csum_update16(csum, (be16) (old >> 16), (be16) (new >> 16));
    return csum_update16(csum, (be16) old, (be16) new);
}

be16 csum_update32_partial(be16 csum, be32 old, be32 new)
{
    /* The field holds the folded pseudo-header sum S, not ~S: complement around the update
     * so the same equation applies. */
    return (be16) ~csum_update32((be16) ~csum, old, new);
}
