/* The datapath thread and its per-batch loop: rx a batch from a ready port, and for each
 * packet extract its flow key (flow-key.c), let the stages before the cache take it if it is
 * theirs (pipeline.c), look it up in the exact-match flow cache (flow-cache.c), decide on a
 * miss (pipeline.c, the decision installed in the cache), execute the actions (actions.c);
 * then tx the batch grouped by output port.  Between batches it runs the commands the
 * control thread queued (dp_call), so the tables need no lock on the packet path.  Also
 * here: creating, starting and destroying the datapath.
 *
 * One thread serves every port through one epoll set; the control thread never touches the
 * tables directly (see dp.h): the control API (dp-ports-api.c, dp-tables-api.c,
 * dp-lb-api.c, dp-peers-api.c) hands it commands. */
#define LOG_MODULE "dp"

#include "dp/dp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dp/dp-offload.h"
#include "dp/dp-thread.h"
#include "dp/pipeline.h"
#include "dp/port-vxlan.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- The packet path ---- */

/* Counts 'pkt' in on 'in'.  Returns false, with the drop counted, for what the port already
 * found malformed and for VXLAN from a node that is not a peer. */
static bool account_rx(struct dp *dp, struct port *in, struct packet *pkt)
{
    pkt->in_port = in->port_no;
    pkt->out_port = 0;
    in->stats.rx_packets++;
    in->stats.rx_bytes += pkt->len;

    if (pkt->drop_reason) {
        /* The port found it malformed (a VXLAN header, say). */
        drop_stats_rx(&dp->drops, in, pkt, pkt->drop_reason);
        return false;
    }
    if (in->type == DP_PORT_VXLAN) {
        struct peer *peer = peer_table_by_node(&dp->peers, pkt->tun_src);

        if (!peer) {
            drop_stats_rx(&dp->drops, in, pkt, DROP_VXLAN_UNKNOWN_PEER);
            return false;
        }
        peer->rx_packets++;
        peer->rx_bytes += pkt->len;
    }
    return true;
}

/* One packet: extract its flow key, let the stages before the cache take it if it is theirs,
 * look it up in the flow cache, decide on a miss (and cache the decision), execute the
 * actions.  A packet left without an output port is counted as dropped; transmit() sends the
 * others. */
static void process_packet(struct dp *dp, struct port *in, struct packet *pkt)
{
    struct actions_ctx ctx = { .ct = &dp->ct, .lb = &dp->lb, .peers = &dp->peers,
                               .now_ms = dp->now_ms };
    struct action_list acts;
    struct flow_entry *flow;
    enum drop_reason reason;
    struct flow_key key;
    bool cacheable;
    uint32_t hash;

    if (!account_rx(dp, in, pkt)) {
        return;
    }

    /* Extract. */
    reason = flow_key_extract(pkt, in->port_no, &key);
    if (reason) {
        drop_stats_rx(&dp->drops, in, pkt, reason);
        return;
    }
    /* ARP and ICMP errors about a flow pair: never cached, handled whole. */
    if (pipeline_before_cache(dp, in, pkt, &key)) {
        return;
    }

    /* Cache. */
    hash = flow_key_hash(&key);
    flow = key.nw_frag ? NULL : flow_cache_lookup(&dp->cache, &key, hash);
    if (flow) {
        if (actions_execute(&flow->actions, pkt, &ctx) == 0) {
            flow->packets++;
            flow->bytes += pkt->len;
            flow->used_ms = dp->now_ms;
            dp_offload_hit(dp, flow, pkt);
            goto done;
        }
        /* Compiled for a flow pair that is gone: decide again. */
        flow_cache_remove(&dp->cache, flow);
    }

    /* Decide. */
    pipeline_decide(dp, in, &key, pkt, &acts, &cacheable);
    if (cacheable) {
        flow = flow_cache_insert(&dp->cache, &key, hash, &acts, dp->now_ms);
        flow->packets++;
        flow->bytes += pkt->len;
    }

    /* Execute. */
    actions_execute(&acts, pkt, &ctx);

done:
    if (!pkt->out_port) {
        drop_stats_rx(&dp->drops, in, pkt, pkt->drop_reason);
    }
}

/* Sends every packet that has an output port, one port_send() per output port. */
static void transmit(struct dp *dp, struct packet *pkts[], int n)
{
    struct packet *group[PACKET_BATCH_SIZE];
    bool taken[PACKET_BATCH_SIZE] = { false };

    for (int i = 0; i < n; i++) {
        uint32_t port_no = pkts[i]->out_port;
        struct port *out;
        int n_group = 0;

        if (taken[i] || !port_no) {
            continue;
        }
        for (int j = i; j < n; j++) {
            if (!taken[j] && pkts[j]->out_port == port_no) {
                taken[j] = true;
                group[n_group++] = pkts[j];
            }
        }
        out = port_table_get(&dp->ports, port_no);
        if (!out || !out->up) {
            drop_stats_tx(&dp->drops, out, DROP_PORT_DOWN, n_group);
            continue;
        }
        port_send(out, group, n_group);
        for (int j = 0; j < n_group; j++) {
            if (group[j]->out_port) {
                out->stats.tx_packets++;
                out->stats.tx_bytes += group[j]->len;
            } else {
                drop_stats_tx(&dp->drops, out, group[j]->drop_reason, 1);
            }
        }
    }
}

static void port_set_down(struct dp *dp, struct port *port, int error)
{
    LOG_WARN("port %s: %s; marking it down", port->name, strerror(-error));
    port->up = false;
    if (port->fd >= 0) {
        epoll_ctl(dp->epfd, EPOLL_CTL_DEL, port->fd, NULL);
    }
}

/* The per-batch loop: rx a batch from 'port', each packet through process_packet(), tx the
 * batch grouped by output port; again while the port holds frames it has not returned. */
static void receive(struct dp *dp, struct port *port)
{
    do {
        int n = port_recv(port, dp->pkts, PACKET_BATCH_SIZE);

        if (n < 0) {
            port_set_down(dp, port, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            process_packet(dp, port, dp->pkts[i]);
        }
        transmit(dp, dp->pkts, n);
    } while (port->rx_pending);
}

int dp_process_one(struct dp *dp, struct port *in, struct packet *pkt)
{
    int result;

    process_packet(dp, in, pkt);
    result = pkt->out_port ? 0 : pkt->drop_reason;
    transmit(dp, &pkt, 1);
    return result;
}

static void send_probes(struct dp *dp)
{
    for (uint32_t p = 1; p < PORT_TABLE_MAX_PORTS; p++) {
        struct port *port = dp->ports.by_no[p];

        if (port && port->up && !port->mac_known && port_is_pod(port)) {
            pipeline_build_probe(dp, port, dp->probe);
            transmit(dp, &dp->probe, 1);
        }
    }
}

static void housekeeping(struct dp *dp)
{
    /* The kernel's counters first: they keep its flows and their pairs from aging. */
    dp_offload_sync(dp);
    flow_cache_expire(&dp->cache, dp->now_ms, DP_FLOW_IDLE_MS);
    ct_expire(&dp->ct, dp->now_ms, dp->ct.capacity / DP_CT_SWEEP_DIVISOR + 1, NULL, NULL);
    send_probes(dp);
    dp->next_housekeeping_ms = dp->now_ms + DP_HOUSEKEEPING_MS;
}

/* ---- Commands from the control thread ---- */

static void run_commands(struct dp *dp)
{
    struct dp_cmd *cmd, *next;
    uint64_t value;

    if (read(dp->evfd, &value, sizeof value) < 0) {
        /* EAGAIN: a spurious wakeup, the queue says what there is to do. */
    }
    pthread_mutex_lock(&dp->lock);
    cmd = dp->cmd_head;
    dp->cmd_head = NULL;
    dp->cmd_tail = &dp->cmd_head;
    pthread_mutex_unlock(&dp->lock);

    for (; cmd; cmd = next) {
        next = cmd->next;
        cmd->fn(dp, cmd->arg);
        pthread_mutex_lock(&dp->lock);
        cmd->done = true;
        pthread_cond_broadcast(&dp->cond);
        pthread_mutex_unlock(&dp->lock);
    }
}

void dp_call(struct dp *dp, void (*fn)(struct dp *, void *), void *arg)
{
    struct dp_cmd cmd = { .fn = fn, .arg = arg };
    uint64_t one = 1;

    if (!dp->started) {
        dp->now_ms = time_msec();
        fn(dp, arg);
        return;
    }
    pthread_mutex_lock(&dp->lock);
    *dp->cmd_tail = &cmd;
    dp->cmd_tail = &cmd.next;
    pthread_mutex_unlock(&dp->lock);
    if (write(dp->evfd, &one, sizeof one) < 0) {
        /* The counter is already non-zero: the thread will wake up anyway. */
    }
    pthread_mutex_lock(&dp->lock);
    while (!cmd.done) {
        pthread_cond_wait(&dp->cond, &dp->lock);
    }
    pthread_mutex_unlock(&dp->lock);
}

static void *dp_thread_main(void *dp_)
{
    struct dp *dp = dp_;
    struct epoll_event events[64];
    uint64_t last_rx_us = 0;
    bool spinning = false;

    while (!atomic_load(&dp->stop)) {
        uint64_t now_us;
        int n;

        /* Right after traffic, poll instead of sleeping: a wakeup costs a few microseconds,
         * as much again as the switch itself spends on a packet.  Polling yields the core
         * to anything else runnable on it: the pods whose packets it waits for may be. */
        if (spinning) {
            sched_yield();
        }
        n = epoll_wait(dp->epfd, events, ARRAY_SIZE(events), spinning ? 0 : DP_HOUSEKEEPING_MS);

        if (n < 0 && errno != EINTR) {
            LOG_ERR("epoll_wait: %s", strerror(errno));
            break;
        }
        now_us = time_usec();
        dp->now_ms = now_us / 1000;
        for (int i = 0; i < n; i++) {
            uint32_t port_no = events[i].data.u32;
            struct port *port = port_table_get(&dp->ports, port_no);

            if (!port_no) {
                run_commands(dp);
            } else if (port && port->up) {
                receive(dp, port);
                last_rx_us = now_us;
            }
        }
        spinning = now_us - last_rx_us < dp->cfg.busy_poll_us;
        if (dp->now_ms >= dp->next_housekeeping_ms) {
            housekeeping(dp);
        }
    }
    return NULL;
}

/* ---- Lifecycle ---- */

int dp_attach_port(struct dp *dp, struct port *port)
{
    uint32_t p = port_table_free_no(&dp->ports);

    if (!p) {
        return -ENOSPC;
    }
    if (port->fd >= 0 && port->up) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = p };

        if (epoll_ctl(dp->epfd, EPOLL_CTL_ADD, port->fd, &ev) < 0) {
            return -errno;
        }
    }
    port_table_insert(&dp->ports, port, p);
    flow_cache_flush(&dp->cache);
    /* Ask a port without a MAC at the next housekeeping round. */
    dp->next_housekeeping_ms = 0;
    return 0;
}

void dp_detach_port(struct dp *dp, struct port *port)
{
    if (port->fd >= 0 && port->up) {
        epoll_ctl(dp->epfd, EPOLL_CTL_DEL, port->fd, NULL);
    }
    port_table_remove(&dp->ports, port);
    flow_cache_flush(&dp->cache);
}

int dp_create(const struct dp_config *cfg, struct dp **dpp, char *err, size_t errlen)
{
    struct dp *dp = xcalloc(1, sizeof *dp);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
    enum dp_port_type host_type = cfg->dummy_host ? DP_PORT_DUMMY : DP_PORT_HOST;
    struct port *host;
    int error;

    dp->cfg = *cfg;
    str_copy(dp->host_name, cfg->host_port ? cfg->host_port : "vsw0", sizeof dp->host_name);
    dp->cfg.host_port = dp->host_name;
    dp->epfd = epoll_create1(EPOLL_CLOEXEC);
    dp->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (dp->epfd < 0 || dp->evfd < 0
        || epoll_ctl(dp->epfd, EPOLL_CTL_ADD, dp->evfd, &ev) < 0) {
        error = -errno;
        snprintf(err, errlen, "datapath event setup: %s", strerror(errno));
        goto err;
    }
    pthread_mutex_init(&dp->lock, NULL);
    pthread_cond_init(&dp->cond, NULL);
    dp->cmd_tail = &dp->cmd_head;
    flow_cache_init(&dp->cache, cfg->flow_cache_size ? cfg->flow_cache_size : 65536);
    dp_offload_open(dp);
    {
        uint32_t ttl = cfg->flow_ttl ? cfg->flow_ttl : DP_DEFAULT_FLOW_TTL;
        struct ct_timeouts timeouts = {
            .tcp_syn_sent_ms = 30000,
            .tcp_established_ms = ttl * 1000,
            .tcp_closing_ms = MIN(ttl, 30u) * 1000,
            .tcp_closed_ms = MIN(ttl, 10u) * 1000,
            .udp_unreplied_ms = 30000,
            .udp_replied_ms = MIN(ttl, 120u) * 1000,
        };

        size_t capacity = cfg->max_flow_pairs ? cfg->max_flow_pairs : DP_DEFAULT_FLOW_PAIRS;

        if (cfg->pairs_path) {
            int adopted = ct_init_file(&dp->ct, capacity, &timeouts, cfg->pairs_path);

            if (adopted < 0) {
                LOG_WARN("flow pairs kept in memory only: %s: %s", cfg->pairs_path,
                         strerror(-adopted));
            } else if (adopted) {
                LOG_INFO("adopted %d flow pair(s) and %u dispatch entr(ies) from %s",
                         adopted - (int) dp->ct.n_dispatch, dp->ct.n_dispatch,
                         cfg->pairs_path);
            }
        } else {
            ct_init(&dp->ct, capacity, &timeouts);
        }
        ct_set_max_per_source(&dp->ct, cfg->max_flow_pairs_per_pod);
    }
    lb_table_init(&dp->lb);
    peer_table_init(&dp->peers);
    dp->pkt_array = packet_array_alloc(PACKET_BATCH_SIZE + 1);
    for (int i = 0; i < PACKET_BATCH_SIZE; i++) {
        dp->pkts[i] = &dp->pkt_array[i];
    }
    dp->probe = &dp->pkt_array[PACKET_BATCH_SIZE];

    error = port_open(host_type, dp->host_name, true, -1, &host, err, errlen);
    if (error) {
        goto err;
    }
    host->type = DP_PORT_HOST;
    host->ip = cfg->gateway;
    if (!host->mac_known) {
        /* A dummy host port has no device MAC: give it a fixed one for tests. */
        host->mac = (struct eth_addr) { { 0x0a, 0x58, 0xff, 0xff, 0xff, 0xfe } };
        host->mac_known = true;
    }
    error = dp_attach_port(dp, host);
    if (error) {
        port_close(host, false);
        snprintf(err, errlen, "attach host port: %s", strerror(-error));
        goto err;
    }
    dp->host = host;

    if (cfg->node_ip) {
        struct port *vxlan;

        error = port_vxlan_open(cfg->node_ip, cfg->vxlan_port ? cfg->vxlan_port
                                                              : VXLAN_DEFAULT_PORT,
                                cfg->vni, cfg->overlay_mtu ? cfg->overlay_mtu
                                                           : OVERLAY_DEFAULT_MTU,
                                cfg->vxlan_rco, &vxlan, err, errlen);
        if (error) {
            goto err;
        }
        error = dp_attach_port(dp, vxlan);
        if (error) {
            port_close(vxlan, false);
            snprintf(err, errlen, "attach the VXLAN port: %s", strerror(-error));
            goto err;
        }
        dp->vxlan = vxlan;
    }
    *dpp = dp;
    return 0;

err:
    dp_destroy(dp);
    return error;
}

/* Flow pairs adopted from a previous run name their policy by slot, and slots are handed
 * out anew on every start: find each pair's policy again by its VIP:port/proto. */
static void rebind_adopted_pairs(struct dp *dp)
{
    size_t dropped = 0;

    CT_FOR_EACH (conn, &dp->ct) {
        const struct ct_tuple *orig = &conn->tuple[CT_DIR_ORIG];
        const struct ct_tuple *reply = &conn->tuple[CT_DIR_REPLY];
        struct lb_policy *p = lb_lookup(&dp->lb, orig->dst, orig->dport, orig->proto);

        if (!p) {
            /* A NodePort's pair has a node's address as destination, and its policy is
             * 0.0.0.0 (whose backends lb_keeps_connection() checks as any other's). */
            p = lb_lookup(&dp->lb, 0, orig->dport, orig->proto);
        }

        if (lb_keeps_connection(p, orig->proto, reply->src, ntohs(reply->sport))) {
            conn->policy = p->slot;
        } else {
            ct_delete(&dp->ct, conn);
            dropped++;
        }
    }
    if (dropped) {
        LOG_INFO("dropped %zu adopted flow pair(s) whose policy is gone, or UDP whose "
                 "backend is", dropped);
    }
}

int dp_start(struct dp *dp)
{
    int error;

    if (dp->ct.map_size && dp->ct.n_conns) {
        rebind_adopted_pairs(dp);
    }
    dp_offload_forget_adopted(dp);

    dp->now_ms = time_msec();
    atomic_store(&dp->stop, false);
    error = -pthread_create(&dp->thread, NULL, dp_thread_main, dp);
    if (!error) {
        dp->started = true;
        pthread_setname_np(dp->thread, "vswitch-dp");
    }
    return error;
}

void dp_destroy(struct dp *dp)
{
    uint64_t one = 1;

    if (!dp) {
        return;
    }
    if (dp->started) {
        atomic_store(&dp->stop, true);
        if (write(dp->evfd, &one, sizeof one) < 0) {
            /* Already signalled. */
        }
        pthread_join(dp->thread, NULL);
        dp->started = false;
    }
    for (uint32_t p = 1; p < PORT_TABLE_MAX_PORTS; p++) {
        /* Ports stay in the node across a restart: persistent TAPs are not removed. */
        port_close(dp->ports.by_no[p], false);
    }
    if (dp->cmd_tail) {
        pthread_mutex_destroy(&dp->lock);
        pthread_cond_destroy(&dp->cond);
    }
    dp_offload_close(dp);
    flow_cache_destroy(&dp->cache);
    ct_destroy(&dp->ct);
    lb_table_destroy(&dp->lb);
    peer_table_destroy(&dp->peers);
    packet_array_free(dp->pkt_array, PACKET_BATCH_SIZE + 1);
    if (dp->epfd >= 0) {
        close(dp->epfd);
    }
    if (dp->evfd >= 0) {
        close(dp->evfd);
    }
    free(dp);
}
