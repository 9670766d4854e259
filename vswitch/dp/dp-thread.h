/* What the datapath thread (dp.c) lends the control API (dp-ports-api.c, dp-tables-api.c,
 * dp-lb-api.c, dp-peers-api.c): running a command between two batches, attaching and
 * detaching a port, running one packet through.  The packet path below dp.c (pipeline.c
 * and the tables) never includes this. */
#ifndef VSWITCH_DP_DP_THREAD_H
#define VSWITCH_DP_DP_THREAD_H 1

#include "dp/dp-state.h"

/* Runs 'fn' on the datapath thread between two batches and waits for it; before dp_start()
 * there is no other thread and it runs right here.  Control thread. */
void dp_call(struct dp *, void (*fn)(struct dp *, void *), void *arg);
/* Puts 'port' in the port table and the thread's poll set.  Returns 0, -ENOSPC or a negative
 * errno from epoll.  Datapath thread (or before dp_start()). */
int dp_attach_port(struct dp *, struct port *);
/* Takes 'port' out of the poll set and the table; the caller closes it. */
void dp_detach_port(struct dp *, struct port *);
/* Runs 'pkt' through the packet path as if received on 'in', and sends it.  Returns 0 if it
 * was forwarded, else its drop reason.  Datapath thread. */
int dp_process_one(struct dp *, struct port *in, struct packet *);

#endif
