/* Drop counting; see drop-stats.h. */
#include "dp/drop-stats.h"

void drop_stats_rx(struct drop_stats *stats, struct port *in, struct packet *pkt,
                   enum drop_reason reason)
{
    stats->packets[reason]++;
    if (in) {
        in->stats.rx_dropped++;
    }
    pkt->out_port = 0;
    pkt->drop_reason = reason;
}

void drop_stats_tx(struct drop_stats *stats, struct port *out, enum drop_reason reason,
                   uint32_t n)
{
    stats->packets[reason] += n;
    if (out) {
        out->stats.tx_dropped += n;
    }
}
