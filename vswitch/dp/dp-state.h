/* The datapath's state: struct dp, which holds every table the datapath thread owns (ports,
 * flow cache, flow pairs, policies, peers, drop counters) and the thread's own fields.
 *
 * Every stage of the packet path takes it: the slow path (pipeline.c) reads the tables and
 * the configuration; the thread (dp.c) and the control API (dp-*-api.c, through
 * dp-thread.h) own it.  It includes only the tables below it.  Nothing outside vswitch/dp/
 * includes this. */
#ifndef VSWITCH_DP_DP_STATE_H
#define VSWITCH_DP_DP_STATE_H 1

#include <pthread.h>
#include <stdatomic.h>

#include "dp/conntrack.h"
#include "dp/dp-config.h"
#include "dp/drop-stats.h"
#include "dp/flow-cache.h"
#include "dp/frag.h"
#include "dp/lb.h"
#include "dp/packet.h"
#include "dp/peer-table.h"
#include "dp/port.h"
#include "dp/port-table.h"

/* Idle time after which a cached flow is forgotten (as Open vSwitch's max-idle). */
#define DP_FLOW_IDLE_MS 10000
#define DP_HOUSEKEEPING_MS 1000
/* Share of the flow-pair table aged per housekeeping round: a full sweep every 4 s. */
#define DP_CT_SWEEP_DIVISOR 4
#define DP_DEFAULT_FLOW_PAIRS 262144
#define DP_DEFAULT_FLOW_TTL 86400

struct dp;
struct dp_offload;

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
    struct peer_table peers;
    struct drop_stats drops;
    struct dp_offload *fast;                /* The kernel fast path; NULL: user space alone. */
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

#endif
