/* The datapath as the daemon sees it: create it, start its thread, add and remove ports, read
 * counters and flows.
 *
 * Threads: the datapath thread owns every table (ports, flow cache, flow pairs, policies,
 * counters).  The functions here may be called from any other thread, concurrently (the
 * control thread, the metrics thread); those that touch the tables hand a command to the
 * datapath thread through its queue and wait until the thread has run it between two batches,
 * so callers always see a consistent snapshot and the datapath takes no lock per packet.
 * None of them may be called from the datapath thread itself.  Flows and flow pairs age on
 * the datapath thread by themselves.
 *
 * This is the top of vswitch/dp/: implemented by dp.c (the thread, start-up and shutdown)
 * and the control API files dp-ports-api.c, dp-tables-api.c, dp-lb-api.c and
 * dp-peers-api.c.  The types it shares with the layers below live with their owners: the
 * configuration in dp-config.h, ports in port.h, policies in lb-spec.h, drop reasons in
 * drop.h; no file below includes this one. */
#ifndef VSWITCH_DP_DP_H
#define VSWITCH_DP_DP_H 1

#include <linux/virtio_net.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "dp/dp-config.h"
#include "dp/drop.h"
#include "dp/lb-spec.h"
#include "dp/port.h"
#include "lib/addr.h"
#include "lib/types.h"

struct dp;

struct dp_port_info {
    char name[IF_NAMESIZE];
    uint32_t port_no;
    enum dp_port_type type;
    be32 ip;
    struct eth_addr mac;
    bool mac_learned;               /* MAC not given: taken from the pod's first frame. */
    bool up;                        /* Device present and open. */
    struct dp_port_stats stats;
};

/* Copies of the flow cache entries, for dump-flows.  'match' and 'actions' are printed in
 * the OVS-like key=value form. */
struct dp_flow_info {
    char match[256];
    char actions[192];
    uint64_t packets, bytes;        /* Both tiers'. */
    uint64_t idle_ms;
    bool fast;                      /* Installed in the kernel fast path ("dp=tc"). */
};

/* Creates the datapath and its host port (TAP 'host_port', created persistent if missing).
 * Returns 0 or a negative errno with a message in 'err'. Does not start the thread. */
int dp_create(const struct dp_config *, struct dp **, char *err, size_t errlen);
/* Starts the datapath thread.  Flow pairs adopted from 'pairs_path' are first matched to the
 * policies restored by then: a pair whose policy or backend is gone is dropped. */
int dp_start(struct dp *);
/* Stops the thread and closes ports; persistent TAPs stay.  Accepts NULL. */
void dp_destroy(struct dp *);

/* Opens the port's device and attaches it.  'mac' NULL: learn it from the first frame whose
 * source IP is 'ip'.  For DP_PORT_TAP the TAP is created persistent.  A port whose device is
 * missing is still attached, marked down, when 'allow_down' (restoring from the database).
 * Returns 0 or -EEXIST (name or IP in use), -ENODEV, -EINVAL, ... with a message in 'err'. */
int dp_port_add(struct dp *, const char *name, enum dp_port_type, be32 ip,
                const struct eth_addr *mac, bool allow_down, char *err, size_t errlen);
/* Detaches and closes the port; a TAP created by the switch is deleted.  -ENOENT if absent. */
int dp_port_del(struct dp *, const char *name);

/* Snapshot of every port, host port first.  Caller frees '*ports'. */
int dp_port_list(struct dp *, struct dp_port_info **ports, size_t *n);
/* Per-reason drop counters, indexed by enum drop_reason. */
void dp_drop_stats(struct dp *, uint64_t counters[DROP_N_REASONS]);
/* Snapshot of the flow cache.  Caller frees '*flows'. */
int dp_flow_dump(struct dp *, struct dp_flow_info **flows, size_t *n);
void dp_flow_flush(struct dp *);
/* Table sizes and eviction counters, cheaply, for show and metrics. */
struct dp_table_stats {
    size_t flows;                   /* Cached flows. */
    uint64_t flow_evictions;        /* Cached flows evicted because the cache was full. */
    size_t flow_pairs;
    size_t dispatch_entries;        /* In the same table (and counts) as the pairs. */
    uint64_t flow_pair_evictions;   /* Flow pairs evicted before their time, all kinds: */
    uint64_t flow_pair_evictions_closed;    /* closed or closing, from a full table; */
    uint64_t flow_pair_evictions_unassured; /* never assured, from a full table; */
    uint64_t flow_pair_evictions_pod_quota; /* a client's own, at its per-pod limit; */
    uint64_t flow_pair_evictions_idle;  /* assured, silent for minutes, from a full table. */
    size_t flow_pair_sources;       /* Client addresses holding flow pairs. */
    size_t policies;
    size_t peers;
    bool offload;                   /* The kernel fast path is loaded. */
    size_t flows_tc;                /* Cached flows installed in it... */
    uint64_t packets_tc;            /* ...and the packets it executed (since its maps exist). */
    uint64_t packets_user;          /* Packets the switch received (every port). */
};
void dp_table_stats(struct dp *, struct dp_table_stats *);

/* For tests: runs one frame (with 'vnet', or none if NULL) through the pipeline as if
 * received on 'port'.  Returns 0 if it was forwarded, the enum drop_reason if dropped, or a
 * negative errno (-ENOENT: no such port).  What dummy ports send is kept for dp_dummy_take(). */
int dp_inject(struct dp *, const char *port, const void *frame, size_t len,
              const struct virtio_net_hdr *vnet);
/* Takes the oldest frame sent on dummy port 'port'.  Returns its length, -EAGAIN if none. */
int dp_dummy_take(struct dp *, const char *port, void *buf, size_t size,
                  struct virtio_net_hdr *vnet);

/* ---- Load balancing (LBNAT policies and flow pairs) ---- */

struct dp_lb_info {
    struct dp_lb_spec spec;         /* spec.backends points into 'backends' below. */
    struct dp_lb_backend *backends;
    uint64_t packets, bytes;        /* Packets that hit the policy (first packets and pairs). */
    uint64_t connections;           /* Flow pairs created here. */
    uint64_t dispatched;            /* Connections sent by MAC to a backend's node (DSR). */
    uint64_t rejected;              /* RST / ICMP unreachable sent for want of a backend. */
    uint32_t active_pairs;
};

/* Creates or replaces the policy for spec->vip:port/proto.  Flow pairs to backends that
 * remain keep working; flow pairs to removed backends are deleted.  Returns 0 or -EINVAL
 * with a message. */
int dp_lb_set(struct dp *, const struct dp_lb_spec *, char *err, size_t errlen);
/* Deletes the policy and its flow pairs; -ENOENT if there is none. */
int dp_lb_del(struct dp *, be32 vip, uint16_t port, uint8_t proto);

/* Many policy changes at once, as dp_lb_set/dp_lb_del would make them one by one, in one
 * pass of the datapath thread with one flow-cache flush and at most one scan of the flow
 * pairs: what a full sync of thousands of services needs.  A delete of a policy that does not
 * exist is not an error.  Every spec is validated before anything changes: on -EINVAL nothing
 * did, '*failed' is the index of the offending change and 'err' says why. */
struct dp_lb_change {
    bool del;                       /* Delete spec.vip:port/proto; else create or replace. */
    struct dp_lb_spec spec;
};
int dp_lb_apply(struct dp *, const struct dp_lb_change *, size_t n, size_t *failed,
                char *err, size_t errlen);
/* The node's own addresses, where the NodePort policies (VIP 0.0.0.0) answer: replaces the
 * set and flushes the flow cache.  Keeps at most LB_NODE_ADDRS_MAX (64) and returns how
 * many it kept. */
size_t dp_node_addrs_set(struct dp *, const be32 *addrs, size_t n);
/* Snapshot of every policy; free with dp_lb_info_free(). */
int dp_lb_list(struct dp *, struct dp_lb_info **, size_t *n);
void dp_lb_info_free(struct dp_lb_info *, size_t n);

/* One direction of a flow pair as seen on the wire when it enters the switch. */
struct dp_tuple {
    be32 src, dst;
    uint16_t sport, dport;          /* Host order. */
};

struct dp_conn_info {
    uint8_t proto;
    struct dp_tuple orig;           /* Client -> VIP. */
    struct dp_tuple reply;          /* Backend -> client (or -> gateway, when SNAT'd). */
    char policy[DP_LB_NAME_MAX];
    bool dsr;
    const char *state;              /* "SYN_SENT", "ESTABLISHED", "CLOSING", "UDP", ... */
    uint64_t packets[2], bytes[2];  /* [0] original direction, [1] reply. */
    uint64_t idle_ms;
    uint64_t ttl_ms;                /* Time left before it expires if idle. */
};

/* Snapshot of the flow pairs.  Caller frees '*conns'. */
int dp_conn_dump(struct dp *, struct dp_conn_info **conns, size_t *n);

/* A connection this node dispatched by MAC to a backend on another node (DSR across the
 * overlay): its client's tuple and the backend it follows.  No reply tuple: the replies
 * never pass this node. */
struct dp_dispatch_info {
    uint8_t proto;
    struct dp_tuple orig;           /* Client -> VIP. */
    struct dp_lb_backend backend;
    char policy[DP_LB_NAME_MAX];
    const char *state;              /* As a pair's, from the client's packets alone. */
    uint64_t packets, bytes;        /* The client's. */
    uint64_t idle_ms;
    uint64_t ttl_ms;
};

/* Snapshot of the dispatch entries.  Caller frees '*entries'. */
int dp_dispatch_dump(struct dp *, struct dp_dispatch_info **entries, size_t *n);

/* ---- Overlay peers ---- */

struct dp_peer_info {
    be32 node_ip;
    struct cidr pod_cidr;
    uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
};

/* Declares (or updates) the remote node 'node_ip' owning 'pod_cidr'.  -EINVAL when the CIDR
 * overlaps this node's or another peer's, or the overlay is not configured. */
int dp_peer_set(struct dp *, be32 node_ip, const struct cidr *pod_cidr, char *err,
                size_t errlen);
int dp_peer_del(struct dp *, be32 node_ip);
int dp_peer_list(struct dp *, struct dp_peer_info **, size_t *n);

#endif
