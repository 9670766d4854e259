/* Packet buffers; see packet.h. */
#include "dp/packet.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/util.h"

int packet_set_frame(struct packet *pkt, const void *frame, size_t len)
{
    packet_reset(pkt);
    if (len > PACKET_MAX_FRAME) {
        return -EMSGSIZE;
    }
    memcpy(pkt->data, frame, len);
    pkt->len = len;
    return 0;
}

struct packet *packet_array_alloc(size_t n)
{
    struct packet *pkts = xcalloc(n, sizeof *pkts);
    size_t buf_size = PACKET_HEADROOM + PACKET_MAX_FRAME;
    uint8_t *bufs = xmalloc(n * buf_size);

    for (size_t i = 0; i < n; i++) {
        pkts[i].base = bufs + i * buf_size;
        packet_reset(&pkts[i]);
    }
    return pkts;
}

void packet_array_free(struct packet *pkts, size_t n)
{
    if (pkts) {
        free(n ? pkts[0].base : NULL);
        free(pkts);
    }
}
