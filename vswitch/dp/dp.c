/* The datapath thread: rx a batch from a ready port, parse each frame once into a flow key,
 * look it up in the exact-match flow cache (the slow path decides and installs on a miss),
 * run the cached actions, and tx the batch grouped by output port.  Between batches it runs
 * the commands the control thread queued, so the tables need no lock on the packet path.
 *
 * One thread serves every port through one epoll set; the control thread never touches the
 * tables directly (see dp.h). */
#define LOG_MODULE "dp"

#include "dp/dp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dp/dp-private.h"
#include "dp/net-headers.h"
#include "dp/pipeline.h"
#include "dp/port-dummy.h"
#include "dp/port-vxlan.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/util.h"


/* ---- The packet path ---- */

static bool is_icmp_error(const struct flow_key *key)
{
    uint16_t type = ntohs(key->tp_src);

    return key->dl_type == htons(ETH_TYPE_IPV4) && key->nw_proto == IP_PROTO_ICMP
           && (type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == 12);
}

static void process_packet(struct dp *dp, struct port *in, struct packet *pkt)
{
    struct actions_ctx ctx = { .ct = &dp->ct, .lb = &dp->lb, .overlay = &dp->overlay,
                               .now_ms = dp->now_ms };
    struct action_list acts;
    struct flow_entry *flow;
    enum drop_reason reason;
    struct flow_key key;
    bool cacheable;
    uint32_t hash;

    pkt->in_port = in->port_no;
    pkt->out_port = 0;
    in->stats.rx_packets++;
    in->stats.rx_bytes += pkt->len;

    if (pkt->drop_reason) {
        /* The port found it malformed (a VXLAN header, say). */
        drop_stats_rx(&dp->drops, in, pkt, pkt->drop_reason);
        return;
    }
    if (in->type == DP_PORT_VXLAN) {
        struct peer *peer = overlay_peer_by_node(&dp->overlay, pkt->tun_src);

        if (!peer) {
            drop_stats_rx(&dp->drops, in, pkt, DROP_VXLAN_UNKNOWN_PEER);
            return;
        }
        peer->rx_packets++;
        peer->rx_bytes += pkt->len;
    }
    reason = flow_key_extract(pkt, in->port_no, &key);
    if (reason) {
        drop_stats_rx(&dp->drops, in, pkt, reason);
        return;
    }
    if (!in->mac_known && pipeline_learn(dp, in, &key)) {
        port_table_reindex(&dp->ports);
        flow_cache_flush(&dp->cache);
    }
    if (key.dl_type == htons(ETH_TYPE_ARP)) {
        pipeline_arp(dp, in, pkt, &key);
        return;
    }
    if (is_icmp_error(&key) && dp->ct.n_conns && pipeline_icmp_error(dp, in, pkt, &key)) {
        return;
    }

    hash = flow_key_hash(&key);
    flow = key.nw_frag ? NULL : flow_cache_lookup(&dp->cache, &key, hash);
    if (flow) {
        if (actions_execute(&flow->actions, pkt, &ctx) == 0) {
            flow->packets++;
            flow->bytes += pkt->len;
            flow->used_ms = dp->now_ms;
            goto done;
        }
        /* Compiled for a flow pair that is gone: decide again. */
        flow_cache_remove(&dp->cache, flow);
    }
    pipeline_decide(dp, in, &key, pkt, &acts, &cacheable);
    if (cacheable) {
        flow = flow_cache_insert(&dp->cache, &key, hash, &acts, dp->now_ms);
        flow->packets++;
        flow->bytes += pkt->len;
    }
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

/* Runs 'fn' on the datapath thread between two batches and waits for it; before dp_start()
 * there is no other thread and it runs right here. */
static void dp_call(struct dp *dp, void (*fn)(struct dp *, void *), void *arg)
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

static int attach_port(struct dp *dp, struct port *port)
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
    overlay_init(&dp->overlay);
    dp->pkt_array = packet_array_alloc(PACKET_BATCH_SIZE + 1);
    for (int i = 0; i < PACKET_BATCH_SIZE; i++) {
        dp->pkts[i] = &dp->pkt_array[i];
    }
    dp->probe = &dp->pkt_array[PACKET_BATCH_SIZE];

    error = port_open(host_type, dp->host_name, true, &host, err, errlen);
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
    error = attach_port(dp, host);
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
        error = attach_port(dp, vxlan);
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

        if (p && lb_has_backend(p, reply->src, ntohs(reply->sport))) {
            conn->policy = p->slot;
        } else {
            ct_delete(&dp->ct, conn);
            dropped++;
        }
    }
    if (dropped) {
        LOG_INFO("dropped %zu adopted flow pair(s) whose policy or backend is gone", dropped);
    }
}

int dp_start(struct dp *dp)
{
    int error;

    if (dp->ct.map_size && dp->ct.n_conns) {
        rebind_adopted_pairs(dp);
    }

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
    flow_cache_destroy(&dp->cache);
    ct_destroy(&dp->ct);
    lb_table_destroy(&dp->lb);
    overlay_destroy(&dp->overlay);
    packet_array_free(dp->pkt_array, PACKET_BATCH_SIZE + 1);
    if (dp->epfd >= 0) {
        close(dp->epfd);
    }
    if (dp->evfd >= 0) {
        close(dp->evfd);
    }
    free(dp);
}

/* ---- Control API (control thread; see dp.h) ---- */

struct find_args {
    const char *name;
    be32 ip;
    const struct eth_addr *mac;
    const char *conflict;
};

static void find_conflict(struct dp *dp, void *args_)
{
    struct find_args *args = args_;
    struct port *by_ip;

    args->conflict = NULL;
    if (port_table_by_name(&dp->ports, args->name)) {
        args->conflict = "name";
    } else if ((by_ip = port_table_by_ip(&dp->ports, args->ip)) != NULL) {
        args->conflict = "ip";
    } else if (args->mac && port_table_by_mac(&dp->ports, *args->mac)) {
        args->conflict = "mac";
    }
}

struct attach_args {
    struct port *port;
    int error;
};

static void attach_cmd(struct dp *dp, void *args_)
{
    struct attach_args *args = args_;

    args->error = attach_port(dp, args->port);
}

static int set_device_mac(const char *name, struct eth_addr mac)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int error = 0;

    if (fd < 0) {
        return -errno;
    }
    memset(&ifr, 0, sizeof ifr);
    str_copy(ifr.ifr_name, name, sizeof ifr.ifr_name);
    ifr.ifr_hwaddr.sa_family = 1;   /* ARPHRD_ETHER */
    memcpy(ifr.ifr_hwaddr.sa_data, mac.a, ETH_ADDR_LEN);
    if (ioctl(fd, SIOCSIFHWADDR, &ifr) < 0) {
        error = -errno;
    }
    close(fd);
    return error;
}

int dp_port_add(struct dp *dp, const char *name, enum dp_port_type type, be32 ip,
                const struct eth_addr *mac, bool allow_down, char *err, size_t errlen)
{
    struct find_args find = { .name = name, .ip = ip, .mac = mac };
    struct attach_args attach;
    char ipstr[IP_STR_LEN];
    struct port *port;
    int error;

    if (type == DP_PORT_HOST || type == DP_PORT_VXLAN) {
        snprintf(err, errlen, "the %s port is created by vswitchd itself",
                 dp_port_type_name(type));
        return -EINVAL;
    }
    if (mac && (eth_addr_is_multicast(*mac) || eth_addr_is_zero(*mac))) {
        snprintf(err, errlen, "MAC must be a unicast address");
        return -EINVAL;
    }
    dp_call(dp, find_conflict, &find);
    if (find.conflict) {
        snprintf(err, errlen, "%s already in use by another port (%s)",
                 !strcmp(find.conflict, "name") ? name :
                 !strcmp(find.conflict, "ip") ? addr_ip_str(ip, ipstr) : "MAC",
                 find.conflict);
        return -EEXIST;
    }

    error = port_open(type, name, !allow_down, &port, err, errlen);
    if (error) {
        if (!allow_down) {
            return error;
        }
        LOG_WARN("port %s is down: %s", name, err);
        port = port_new_down(type, name);
    }
    port->ip = ip;
    if (mac) {
        if (type == DP_PORT_TAP && port->up && !eth_addr_equals(port->mac, *mac)) {
            /* The TAP's kernel side is the pod's interface: give it the MAC asked for. */
            error = set_device_mac(name, *mac);
            if (error) {
                snprintf(err, errlen, "set MAC of %s: %s", name, strerror(-error));
                port_close(port, !allow_down);
                return error;
            }
        }
        port->mac = *mac;
        port->mac_known = true;
    } else if (type != DP_PORT_TAP) {
        port->mac_known = false;
    }

    attach.port = port;
    dp_call(dp, attach_cmd, &attach);
    if (attach.error) {
        snprintf(err, errlen, "attach %s: %s", name, strerror(-attach.error));
        port_close(port, !allow_down);
        return attach.error;
    }
    LOG_INFO("port %s (%s) attached as %u with IP %s%s", name, dp_port_type_name(type),
             port->port_no, addr_ip_str(ip, ipstr), port->up ? "" : ", down");
    return 0;
}

struct detach_args {
    const char *name;
    struct port *port;
};

static void detach_cmd(struct dp *dp, void *args_)
{
    struct detach_args *args = args_;
    struct port *port = port_table_by_name(&dp->ports, args->name);

    if (!port || !port_is_pod(port)) {
        args->port = NULL;
        return;
    }
    if (port->fd >= 0 && port->up) {
        epoll_ctl(dp->epfd, EPOLL_CTL_DEL, port->fd, NULL);
    }
    port_table_remove(&dp->ports, port);
    flow_cache_flush(&dp->cache);
    args->port = port;
}

int dp_port_del(struct dp *dp, const char *name)
{
    struct detach_args args = { .name = name };

    dp_call(dp, detach_cmd, &args);
    if (!args.port) {
        return -ENOENT;
    }
    port_close(args.port, true);
    LOG_INFO("port %s detached", name);
    return 0;
}

struct list_args {
    struct dp_port_info *ports;
    size_t n;
};

static void fill_info(const struct port *port, struct dp_port_info *info)
{
    memset(info, 0, sizeof *info);
    str_copy(info->name, port->name, sizeof info->name);
    info->port_no = port->port_no;
    info->type = port->type;
    info->ip = port->ip;
    info->mac = port->mac_known ? port->mac : (struct eth_addr) { { 0 } };
    info->mac_learned = port->mac_learned;
    info->up = port->up;
    info->stats = port->stats;
}

static void list_cmd(struct dp *dp, void *args_)
{
    struct list_args *args = args_;

    args->ports = xcalloc(PORT_TABLE_MAX_PORTS, sizeof *args->ports);
    args->n = 0;
    for (uint32_t p = 1; p < PORT_TABLE_MAX_PORTS; p++) {
        if (dp->ports.by_no[p]) {
            fill_info(dp->ports.by_no[p], &args->ports[args->n++]);
        }
    }
}

int dp_port_list(struct dp *dp, struct dp_port_info **ports, size_t *n)
{
    struct list_args args;

    dp_call(dp, list_cmd, &args);
    *ports = args.ports;
    *n = args.n;
    return 0;
}

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

struct inject_args {
    const char *port;
    const void *frame;
    size_t len;
    const struct virtio_net_hdr *vnet;
    int result;
};

static void inject_cmd(struct dp *dp, void *args_)
{
    struct inject_args *args = args_;
    struct port *port = port_table_by_name(&dp->ports, args->port);
    struct packet *pkt = dp->pkts[0];

    if (!port) {
        args->result = -ENOENT;
        return;
    }
    if (packet_set_frame(pkt, args->frame, args->len)) {
        args->result = -EMSGSIZE;
        return;
    }
    if (args->vnet) {
        pkt->vnet = *args->vnet;
    }
    process_packet(dp, port, pkt);
    args->result = pkt->out_port ? 0 : pkt->drop_reason;
    transmit(dp, &pkt, 1);
}

int dp_inject(struct dp *dp, const char *port, const void *frame, size_t len,
              const struct virtio_net_hdr *vnet)
{
    struct inject_args args = { .port = port, .frame = frame, .len = len, .vnet = vnet };

    dp_call(dp, inject_cmd, &args);
    return args.result;
}

struct take_args {
    const char *port;
    void *buf;
    size_t size;
    struct virtio_net_hdr *vnet;
    int result;
};

static void take_cmd(struct dp *dp, void *args_)
{
    struct take_args *args = args_;
    struct port *port = port_table_by_name(&dp->ports, args->port);

    args->result = port ? port_dummy_take(port, args->buf, args->size, args->vnet) : -ENOENT;
}

int dp_dummy_take(struct dp *dp, const char *port, void *buf, size_t size,
                  struct virtio_net_hdr *vnet)
{
    struct take_args args = { .port = port, .buf = buf, .size = size, .vnet = vnet };

    dp_call(dp, take_cmd, &args);
    return args.result;
}

static void table_stats_cmd(struct dp *dp, void *stats_)
{
    struct dp_table_stats *stats = stats_;

    stats->flows = dp->cache.n_flows;
    stats->flow_evictions = dp->cache.evictions;
    stats->flow_pairs = dp->ct.n_conns - dp->ct.n_dispatch;
    stats->dispatch_entries = dp->ct.n_dispatch;
    stats->flow_pair_evictions = dp->ct.evictions;
    stats->flow_pair_evictions_closed = dp->ct.evicted[CT_EVICTED_CLOSED];
    stats->flow_pair_evictions_unassured = dp->ct.evicted[CT_EVICTED_UNASSURED];
    stats->flow_pair_evictions_pod_quota = dp->ct.evicted[CT_EVICTED_POD_QUOTA];
    stats->flow_pair_sources = dp->ct.n_sources;
    stats->policies = dp->lb.n_policies;
    stats->peers = dp->overlay.n_peers;
}

void dp_table_stats(struct dp *dp, struct dp_table_stats *stats)
{
    dp_call(dp, table_stats_cmd, stats);
}

/* ---- Load balancing ---- */

static int validate_lb_spec(const struct dp_lb_spec *spec, char *err, size_t errlen)
{
    if (spec->proto != IP_PROTO_TCP && spec->proto != IP_PROTO_UDP) {
        snprintf(err, errlen, "protocol %u is neither tcp (6) nor udp (17)", spec->proto);
        return -EINVAL;
    }
    if (!spec->port) {
        snprintf(err, errlen, "VIP port must be 1-65535");
        return -EINVAL;
    }
    if (spec->n_backends > DP_LB_MAX_BACKENDS) {
        snprintf(err, errlen, "%zu backends, at most %d", spec->n_backends,
                 DP_LB_MAX_BACKENDS);
        return -EINVAL;
    }
    if (spec->affinity_timeout > DP_LB_MAX_AFFINITY) {
        snprintf(err, errlen, "affinity timeout %u s, at most %d", spec->affinity_timeout,
                 DP_LB_MAX_AFFINITY);
        return -EINVAL;
    }
    for (size_t i = 0; i < spec->n_backends; i++) {
        if (!spec->backends[i].port) {
            snprintf(err, errlen, "backend %zu: port must be 1-65535", i + 1);
            return -EINVAL;
        }
    }
    return 0;
}

/* Deletes the flow pairs of the policies marked in 'affected' (by slot) whose backend is no
 * longer in their policy (or whose policy is gone).  One pass over the table, however many
 * policies changed. */
static void delete_orphaned_pairs(struct dp *dp, const uint8_t *affected, uint32_t n_slots)
{
    CT_FOR_EACH (conn, &dp->ct) {
        const struct ct_tuple *reply = &conn->tuple[CT_DIR_REPLY];
        const struct lb_policy *p;

        if (conn->policy >= n_slots || !affected[conn->policy]) {
            continue;
        }
        p = lb_policy_at(&dp->lb, conn->policy);
        if (!p || !lb_has_backend(p, reply->src, ntohs(reply->sport))) {
            ct_delete(&dp->ct, conn);
        }
    }
}

/* True if every backend of 'old' is still in 'new': no flow pair can be orphaned. */
static bool keeps_backends(const struct lb_policy *old, const struct lb_policy *new)
{
    for (size_t i = 0; i < old->spec.n_backends; i++) {
        if (!lb_has_backend(new, old->backends[i].ip, old->backends[i].port)) {
            return false;
        }
    }
    return true;
}

struct lb_apply_args {
    const struct dp_lb_change *changes;
    struct lb_policy **policies;    /* In: built for each add.  Out: what to free. */
    size_t n;
    size_t n_removed;               /* Out: how many deletes found their policy. */
};

static void lb_apply_cmd(struct dp *dp, void *args_)
{
    struct lb_apply_args *args = args_;
    uint8_t *affected = NULL;
    uint32_t n_affected_slots = 0;
    bool scan = false;

    args->n_removed = 0;
    for (size_t i = 0; i < args->n; i++) {
        const struct dp_lb_spec *spec = &args->changes[i].spec;
        struct lb_policy *gone;

        if (args->changes[i].del) {
            gone = lb_remove(&dp->lb, spec->vip, spec->port, spec->proto);
            args->n_removed += gone != NULL;
        } else {
            gone = lb_insert(&dp->lb, args->policies[i]);
            if (gone && keeps_backends(gone, args->policies[i])) {
                args->policies[i] = gone;
                continue;
            }
        }
        args->policies[i] = gone;
        if (gone && dp->ct.n_conns) {
            if (gone->slot >= n_affected_slots) {
                uint32_t n = MAX(dp->lb.n_slots, gone->slot + 1);

                affected = xrealloc(affected, n);
                memset(affected + n_affected_slots, 0, n - n_affected_slots);
                n_affected_slots = n;
            }
            affected[gone->slot] = 1;
            scan = true;
        }
    }
    if (scan) {
        delete_orphaned_pairs(dp, affected, n_affected_slots);
    }
    free(affected);
    /* Cached decisions may have been taken without a policy (a VIP routed to the host). */
    flow_cache_flush(&dp->cache);
}

int dp_lb_apply(struct dp *dp, const struct dp_lb_change *changes, size_t n, size_t *failed,
                char *err, size_t errlen)
{
    struct lb_apply_args args = { .changes = changes, .n = n };
    int error;

    for (size_t i = 0; i < n; i++) {
        if (!changes[i].del && (error = validate_lb_spec(&changes[i].spec, err, errlen))) {
            if (failed) {
                *failed = i;
            }
            return error;
        }
    }
    args.policies = xcalloc(n + 1, sizeof *args.policies);
    for (size_t i = 0; i < n; i++) {
        if (!changes[i].del) {
            args.policies[i] = lb_policy_new(&changes[i].spec);
        }
    }
    dp_call(dp, lb_apply_cmd, &args);
    for (size_t i = 0; i < n; i++) {
        lb_policy_free(args.policies[i]);
    }
    free(args.policies);
    return 0;
}

int dp_lb_set(struct dp *dp, const struct dp_lb_spec *spec, char *err, size_t errlen)
{
    struct dp_lb_change change = { .del = false, .spec = *spec };

    return dp_lb_apply(dp, &change, 1, NULL, err, errlen);
}

int dp_lb_del(struct dp *dp, be32 vip, uint16_t port, uint8_t proto)
{
    struct dp_lb_change change = {
        .del = true, .spec = { .vip = vip, .port = port, .proto = proto },
    };
    struct lb_apply_args args = { .changes = &change, .n = 1 };
    struct lb_policy *policy = NULL;

    args.policies = &policy;
    dp_call(dp, lb_apply_cmd, &args);
    lb_policy_free(policy);
    return args.n_removed ? 0 : -ENOENT;
}

struct lb_list_args {
    struct dp_lb_info *infos;
    size_t n;
};

static void lb_list_cmd(struct dp *dp, void *args_)
{
    struct lb_list_args *args = args_;
    uint32_t *pairs = xcalloc(dp->lb.n_slots + 1, sizeof *pairs);

    CT_FOR_EACH (conn, &dp->ct) {
        if (conn->policy < dp->lb.n_slots && !ct_is_dispatch(conn)) {
            pairs[conn->policy]++;
        }
    }
    args->infos = xcalloc(dp->lb.n_policies + 1, sizeof *args->infos);
    args->n = 0;
    for (uint32_t s = 0; s < dp->lb.n_slots; s++) {
        const struct lb_policy *p = dp->lb.slots[s];
        struct dp_lb_info *info;

        if (!p) {
            continue;
        }
        info = &args->infos[args->n++];
        info->spec = p->spec;
        info->backends = xmalloc((p->spec.n_backends + 1) * sizeof *info->backends);
        memcpy(info->backends, p->backends, p->spec.n_backends * sizeof *info->backends);
        info->spec.backends = info->backends;
        info->packets = p->packets;
        info->bytes = p->bytes;
        info->connections = p->connections;
        info->dispatched = p->dispatched;
        info->rejected = p->rejected;
        info->active_pairs = pairs[s];
    }
    free(pairs);
}

int dp_lb_list(struct dp *dp, struct dp_lb_info **infos, size_t *n)
{
    struct lb_list_args args;

    dp_call(dp, lb_list_cmd, &args);
    *infos = args.infos;
    *n = args.n;
    return 0;
}

void dp_lb_info_free(struct dp_lb_info *infos, size_t n)
{
    if (infos) {
        for (size_t i = 0; i < n; i++) {
            free(infos[i].backends);
        }
        free(infos);
    }
}

static struct dp_tuple dp_tuple_from(const struct ct_tuple *t)
{
    struct dp_tuple out = {
        .src = t->src, .dst = t->dst, .sport = ntohs(t->sport), .dport = ntohs(t->dport),
    };
    return out;
}

struct conn_dump_args {
    struct dp_conn_info *conns;
    size_t n;
};

/* How long 'conn', idle for 'idle' ms, has left before it expires. */
static uint64_t ttl_left(const struct ct_conn *conn, uint64_t idle)
{
    return idle < conn->timeout_ms ? conn->timeout_ms - idle : 0;
}

static void conn_dump_cmd(struct dp *dp, void *args_)
{
    struct conn_dump_args *args = args_;

    args->conns = xcalloc(dp->ct.n_conns - dp->ct.n_dispatch + 1, sizeof *args->conns);
    args->n = 0;
    CT_FOR_EACH (conn, &dp->ct) {
        struct dp_conn_info *info;
        const struct lb_policy *p = lb_policy_at(&dp->lb, conn->policy);
        uint64_t idle = dp->now_ms - conn->used_ms;

        if (ct_is_dispatch(conn)) {
            continue;
        }
        info = &args->conns[args->n++];
        info->proto = conn->tuple[0].proto;
        info->orig = dp_tuple_from(&conn->tuple[CT_DIR_ORIG]);
        info->reply = dp_tuple_from(&conn->tuple[CT_DIR_REPLY]);
        str_copy(info->policy, p ? p->spec.name : "", sizeof info->policy);
        info->dsr = conn->kind == CT_KIND_PAIR_DSR;
        info->state = ct_state_name(conn->state);
        for (int d = 0; d < 2; d++) {
            info->packets[d] = conn->packets[d];
            info->bytes[d] = conn->bytes[d];
        }
        info->idle_ms = idle;
        info->ttl_ms = ttl_left(conn, idle);
    }
}

int dp_conn_dump(struct dp *dp, struct dp_conn_info **conns, size_t *n)
{
    struct conn_dump_args args;

    dp_call(dp, conn_dump_cmd, &args);
    *conns = args.conns;
    *n = args.n;
    return 0;
}

struct dispatch_dump_args {
    struct dp_dispatch_info *entries;
    size_t n;
};

static void dispatch_dump_cmd(struct dp *dp, void *args_)
{
    struct dispatch_dump_args *args = args_;

    args->entries = xcalloc(dp->ct.n_dispatch + 1, sizeof *args->entries);
    args->n = 0;
    CT_FOR_EACH (conn, &dp->ct) {
        struct dp_dispatch_info *info;
        const struct lb_policy *p = lb_policy_at(&dp->lb, conn->policy);
        const struct ct_tuple *backend = &conn->tuple[CT_DIR_REPLY];
        uint64_t idle = dp->now_ms - conn->used_ms;

        if (!ct_is_dispatch(conn)) {
            continue;
        }
        info = &args->entries[args->n++];
        info->proto = conn->tuple[0].proto;
        info->orig = dp_tuple_from(&conn->tuple[CT_DIR_ORIG]);
        info->backend.ip = backend->src;
        info->backend.port = ntohs(backend->sport);
        str_copy(info->policy, p ? p->spec.name : "", sizeof info->policy);
        info->state = ct_state_name(conn->state);
        info->packets = conn->packets[CT_DIR_ORIG];
        info->bytes = conn->bytes[CT_DIR_ORIG];
        info->idle_ms = idle;
        info->ttl_ms = ttl_left(conn, idle);
    }
}

int dp_dispatch_dump(struct dp *dp, struct dp_dispatch_info **entries, size_t *n)
{
    struct dispatch_dump_args args;

    dp_call(dp, dispatch_dump_cmd, &args);
    *entries = args.entries;
    *n = args.n;
    return 0;
}

static void conn_flush_cmd(struct dp *dp, void *arg)
{
    ct_flush(&dp->ct);
    flow_cache_flush(&dp->cache);
}

void dp_conn_flush(struct dp *dp)
{
    dp_call(dp, conn_flush_cmd, NULL);
}

/* ---- Overlay peers ---- */

struct peer_args {
    be32 node_ip;
    struct cidr cidr;
    int error;
};

static void peer_set_cmd(struct dp *dp, void *args_)
{
    struct peer_args *args = args_;

    args->error = overlay_peer_set(&dp->overlay, args->node_ip, &args->cidr);
    if (!args->error) {
        flow_cache_flush(&dp->cache);
    }
}

int dp_peer_set(struct dp *dp, be32 node_ip, const struct cidr *pod_cidr, char *err,
                size_t errlen)
{
    struct peer_args args = { .node_ip = node_ip, .cidr = *pod_cidr };
    char ip[IP_STR_LEN];

    if (!dp->vxlan) {
        snprintf(err, errlen, "no overlay: vswitchd was started without --node-ip");
        return -EINVAL;
    }
    if (node_ip == dp->cfg.node_ip) {
        snprintf(err, errlen, "%s is this node's own address", addr_ip_str(node_ip, ip));
        return -EINVAL;
    }
    if ((pod_cidr->net & cidr_mask(MIN(pod_cidr->prefix, dp->cfg.pod_cidr.prefix)))
        == (dp->cfg.pod_cidr.net & cidr_mask(MIN(pod_cidr->prefix,
                                                  dp->cfg.pod_cidr.prefix)))) {
        snprintf(err, errlen, "pod CIDR overlaps this node's %s/%d",
                 addr_ip_str(dp->cfg.pod_cidr.net, ip), dp->cfg.pod_cidr.prefix);
        return -EINVAL;
    }
    dp_call(dp, peer_set_cmd, &args);
    if (args.error == -EEXIST) {
        snprintf(err, errlen, "pod CIDR overlaps another peer's");
    } else if (args.error) {
        snprintf(err, errlen, "%s", strerror(-args.error));
    }
    return args.error;
}

static void peer_del_cmd(struct dp *dp, void *args_)
{
    struct peer_args *args = args_;

    args->error = overlay_peer_del(&dp->overlay, args->node_ip);
    if (!args->error) {
        flow_cache_flush(&dp->cache);
    }
}

int dp_peer_del(struct dp *dp, be32 node_ip)
{
    struct peer_args args = { .node_ip = node_ip };

    dp_call(dp, peer_del_cmd, &args);
    return args.error;
}

struct peer_list_args {
    struct dp_peer_info *peers;
    size_t n;
};

static void peer_list_cmd(struct dp *dp, void *args_)
{
    struct peer_list_args *args = args_;

    args->n = dp->overlay.n_peers;
    args->peers = xcalloc(args->n + 1, sizeof *args->peers);
    for (size_t i = 0; i < args->n; i++) {
        const struct peer *p = &dp->overlay.peers[i];

        args->peers[i] = (struct dp_peer_info) {
            .node_ip = p->node_ip, .pod_cidr = p->pod_cidr,
            .tx_packets = p->tx_packets, .tx_bytes = p->tx_bytes,
            .rx_packets = p->rx_packets, .rx_bytes = p->rx_bytes,
        };
    }
}

int dp_peer_list(struct dp *dp, struct dp_peer_info **peers, size_t *n)
{
    struct peer_list_args args;

    dp_call(dp, peer_list_cmd, &args);
    *peers = args.peers;
    *n = args.n;
    return 0;
}
