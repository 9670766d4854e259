/* The datapath's own state, shared by dp.c (thread, commands, rx/tx) and pipeline.c (the slow
 * path).  Nothing outside vswitch/dp/ includes this. */
#ifndef VSWITCH_DP_DP_PRIVATE_H
#define VSWITCH_DP_DP_PRIVATE_H 1

#include <pthread.h>
#include <stdatomic.h>

#include "dp/conntrack.h"
#include "dp/dp.h"
#include "dp/drop-stats.h"
#include "dp/flow-cache.h"
#include "dp/frag.h"
#include "dp/lb.h"
#include "dp/overlay.h"
#include "dp/packet.h"
#include "dp/port.h"
#include "dp/port-table.h"

/* Idle time after which a cached flow is forgotten (as Open vSwitch's max-idle). */
#define DP_FLOW_IDLE_MS 10000
#define DP_HOUSEKEEPING_MS 1000
/* Share of the flow-pair table aged per housekeeping round: a full sweep every 4 s. */
#define DP_CT_SWEEP_DIVISOR 4
#define DP_DEFAULT_FLOW_PAIRS 262144
#define DP_DEFAULT_FLOW_TTL 240

struct dp_cmd {
    void (*fn)(struct dp *, void *arg);
    void *arg;
    bool done;
    struct dp_cmd *next;
};

/* Owned by the datapath thread once dp_start() returned; before that, and for the fields
 * marked, by the control thread. */
struct dp {
    struct dp_config cfg;                   /* Immutable. */
    char host_name[IF_NAMESIZE];            /* Immutable. */

    struct port_table ports;
    struct port *host;
    struct port *vxlan;                     /* NULL without --node-ip. */

    struct flow_cache cache;
    struct ct_table ct;                     /* Flow pairs. */
    struct lb_table lb;                     /* Policies. */
    struct frag_table frags;
    struct overlay overlay;                 /* Peers. */
    struct drop_stats drops;
    struct packet *pkt_array;               /* PACKET_BATCH_SIZE + 1 buffers... */
    struct packet *pkts[PACKET_BATCH_SIZE];
    struct packet *probe;                   /* ...the last one builds ARP probes. */
    uint64_t now_ms;
    uint64_t next_housekeeping_ms;

    /* Thread and command queue (lock and queue shared with the control thread). */
    pthread_t thread;
    bool started;                           /* Control thread. */
    atomic_bool stop;
    int epfd;
    int evfd;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct dp_cmd *cmd_head;
    struct dp_cmd **cmd_tail;
};


/* What the datapath thread (dp.c) offers the control API (dp-*-api.c). */

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
