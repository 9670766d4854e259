/* Drop counting: every packet the switch does not deliver is counted once, by reason (the
 * reasons of drop.h), and against the port it came in on or was to leave by.
 *
 * The receive side counts what the pipeline drops (malformed, refused, no route); the
 * transmit side what a port could not send.  Datapath thread; dp_drop_stats() reads the
 * counters through the datapath's command queue. */
#ifndef VSWITCH_DP_DROP_STATS_H
#define VSWITCH_DP_DROP_STATS_H 1

#include <stdint.h>

#include "dp/drop.h"
#include "dp/packet.h"
#include "dp/port.h"

struct drop_stats {
    uint64_t packets[DROP_N_REASONS];
};

/* Drops 'pkt' received on 'in' (NULL: none) for 'reason': counts it and marks the packet
 * (no output port, its drop reason). */
void drop_stats_rx(struct drop_stats *, struct port *in, struct packet *pkt,
                   enum drop_reason);
/* Counts 'n' packets that were to leave by 'out' (NULL: a port that is gone) and did not. */
void drop_stats_tx(struct drop_stats *, struct port *out, enum drop_reason, uint32_t n);

#endif
