/* The control API of the flow cache and the counters (dp.h): dump and flush the cached flows,
 * the table sizes and eviction counts, the drop counters.
 *
 * Each call runs a *_cmd function on the datapath thread through dp_call() (dp.c) and copies
 * what it read.  Control thread. */
#include "dp/dp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dp/dp-offload.h"
#include "dp/dp-thread.h"
#include "lib/util.h"

static void drops_cmd(struct dp *dp, void *counters)
{
    memcpy(counters, dp->drops.packets, sizeof dp->drops.packets);
}

void dp_drop_stats(struct dp *dp, uint64_t counters[DROP_N_REASONS])
{
    dp_call(dp, drops_cmd, counters);
}

struct dump_args {
    struct dp_flow_info *flows;
    size_t n;
};

static const char *port_name_cb(uint32_t port_no, void *dp_)
{
    const struct port *port = port_table_get(&((struct dp *) dp_)->ports, port_no);

    return port ? port->name : "?";
}

static void dump_cmd(struct dp *dp, void *args_)
{
    struct dump_args *args = args_;
    size_t i = 0;

    dp_offload_sync(dp);
    args->flows = xcalloc(dp->cache.n_flows ? dp->cache.n_flows : 1, sizeof *args->flows);
    FLOW_CACHE_FOR_EACH (e, &dp->cache) {
        struct dp_flow_info *info = &args->flows[i++];
        int n = snprintf(info->match, sizeof info->match, "in_port=%s,",
                         port_name_cb(e->key.in_port, dp));

        if (n < (int) sizeof info->match) {
            flow_key_format(&e->key, info->match + n, sizeof info->match - n);
        }
        actions_format(&e->actions, port_name_cb, dp, info->actions, sizeof info->actions);
        info->packets = e->packets;
        info->bytes = e->bytes;
        info->idle_ms = dp->now_ms - e->used_ms;
        info->fast = dp_offload_installed(e);
    }
    args->n = i;
}

int dp_flow_dump(struct dp *dp, struct dp_flow_info **flows, size_t *n)
{
    struct dump_args args;

    dp_call(dp, dump_cmd, &args);
    *flows = args.flows;
    *n = args.n;
    return 0;
}

static void flush_cmd(struct dp *dp, void *arg)
{
    flow_cache_flush(&dp->cache);
}

void dp_flow_flush(struct dp *dp)
{
    dp_call(dp, flush_cmd, NULL);
}

static void table_stats_cmd(struct dp *dp, void *stats_)
{
    struct dp_table_stats *stats = stats_;
    struct dp_offload_stats fast;

    stats->flows = dp->cache.n_flows;
    stats->flow_evictions = dp->cache.evictions;
    stats->flow_pairs = dp->ct.n_conns - dp->ct.n_dispatch;
    stats->dispatch_entries = dp->ct.n_dispatch;
    stats->flow_pair_evictions = dp->ct.evictions;
    stats->flow_pair_evictions_closed = dp->ct.evicted[CT_EVICTED_CLOSED];
    stats->flow_pair_evictions_unassured = dp->ct.evicted[CT_EVICTED_UNASSURED];
    stats->flow_pair_evictions_pod_quota = dp->ct.evicted[CT_EVICTED_POD_QUOTA];
    stats->flow_pair_evictions_idle = dp->ct.evicted[CT_EVICTED_IDLE];
    stats->flow_pair_sources = dp->ct.n_sources;
    stats->policies = dp->lb.n_policies;
    stats->peers = dp->peers.n_peers;
    dp_offload_stats(dp, &fast);
    stats->offload = fast.on;
    stats->flows_tc = fast.flows;
    stats->packets_tc = fast.packets;
    stats->packets_user = 0;
    for (uint32_t p = 1; p < PORT_TABLE_MAX_PORTS; p++) {
        if (dp->ports.by_no[p]) {
            stats->packets_user += dp->ports.by_no[p]->stats.rx_packets;
        }
    }
}

void dp_table_stats(struct dp *dp, struct dp_table_stats *stats)
{
    dp_call(dp, table_stats_cmd, stats);
}
