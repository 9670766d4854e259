/* The kernel fast path as the datapath uses it; see dp-offload.h. */
#define LOG_MODULE "offload"

#include "dp/dp-offload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "dp/net-headers.h"
#include "dp/offload-xlate.h"
#include "dp/offload.h"
#include "dp/port-vxlan.h"
#include "lib/log.h"
#include "lib/util.h"

/* flow_entry.fast */
enum {
    FAST_NONE = 0,                  /* Not installed (yet). */
    FAST_INSTALLED,
    FAST_REFUSED,                   /* The kernel tier cannot execute it: never tried again. */
};

struct dp_offload {
    struct offload *o;
    const volatile struct fp_stats *stats;  /* The kernel's counters, mapped: merging a
                                             * million flows costs no system call. */
    struct fp_key *keys;            /* Per cache entry: the key it installed. */
    struct fp_stats *seen;          /* Per cache entry: the counters merged so far. */
    uint32_t n_installed;
    uint32_t underlay_ifindex;      /* Where fp_tc_vxlan runs and frames to peers leave; 0:
                                     * the overlay stays in user space. */
};

static void on_remove(struct flow_entry *, void *dp_);

/* A pin directory that is not on a bpffs cannot hold pins: the maps then live with the
 * program only, and a restart starts from empty maps. */
static bool on_bpffs(const char *dir)
{
    struct statfs st;

    return statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static void unlink_pins(const char *dir)
{
    static const char *const names[] = { "fp_flows", "fp_stats", "fp_handoff", "fp_counters" };
    char path[512];

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

/* The device that holds the node's underlay address: peers send VXLAN to that address, so it
 * arrives there, and the switch's own VXLAN socket sends from it.  0 if none does. */
static uint32_t underlay_ifindex(be32 node_ip)
{
    struct ifaddrs *ifas, *ifa;
    uint32_t ifindex = 0;

    if (!node_ip || getifaddrs(&ifas) < 0) {
        return 0;
    }
    for (ifa = ifas; ifa && !ifindex; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET
            && ((struct sockaddr_in *) ifa->ifa_addr)->sin_addr.s_addr == node_ip) {
            ifindex = if_nametoindex(ifa->ifa_name);
        }
    }
    freeifaddrs(ifas);
    return ifindex;
}

/* The outer headers the switch's VXLAN port sends (port-vxlan.c: a UDP socket on the node's
 * address, so the node's default TTL and DF, and the VNI and port it was given). */
static struct fp_tunnel_config tunnel_config(const struct dp_config *cfg)
{
    struct fp_tunnel_config t = { 0 };
    unsigned int ttl = 64;
    FILE *f;

    if (!cfg->node_ip) {
        return t;
    }
    f = fopen("/proc/sys/net/ipv4/ip_default_ttl", "r");
    if (f) {
        if (fscanf(f, "%u", &ttl) != 1 || !ttl || ttl > 255) {
            ttl = 64;
        }
        fclose(f);
    }
    t.node_ip = cfg->node_ip;
    t.vni = htonl(cfg->vni << 8);
    t.udp_port = htons(cfg->vxlan_port ? cfg->vxlan_port : VXLAN_DEFAULT_PORT);
    t.ttl = ttl;
    t.enabled = 1;
    return t;
}

/* Attaches fp_tc_vxlan to the underlay device; without it, flows to and from peers stay in
 * user space. */
static void underlay_attach(struct dp *dp, uint32_t ifindex)
{
    char name[IF_NAMESIZE] = "?", err[512];

    if_indextoname(ifindex, name);
    if (offload_attach_underlay(dp->fast->o, ifindex, err, sizeof err)) {
        LOG_WARN("the overlay stays in user space: %s: %s", name, err);
        return;
    }
    dp->fast->underlay_ifindex = ifindex;
    LOG_INFO("kernel fast path on the overlay: VXLAN from peers executed at %s", name);
}

void dp_offload_open(struct dp *dp)
{
    struct offload_config cfg = { .max_flows = dp->cache.capacity,
                                  .tunnel = tunnel_config(&dp->cfg) };
    uint32_t underlay = underlay_ifindex(dp->cfg.node_ip);
    const char *dir = dp->cfg.bpf_pin_dir;
    struct dp_offload *f;
    struct offload *o;
    char err[512];
    int rc;

    if (!dp->cfg.offload) {
        if (underlay) {
            /* A vswitchd run with the fast path before this one may have left it. */
            offload_detach_underlay(NULL, underlay);
        }
        return;
    }
    if (dir && (mkdir(dir, 0700) == 0 || errno == EEXIST) && on_bpffs(dir)) {
        cfg.pin_dir = dir;
    } else if (dir) {
        LOG_WARN("fast path maps not pinned: %s is not on a bpffs; installed flows will not "
                 "outlive vswitchd", dir);
    }
    rc = offload_open(&cfg, &o, err, sizeof err);
    if (rc && cfg.pin_dir) {
        /* Maps of another size or layout (another --flow-cache-size, another version):
         * their flows cannot be adopted; start afresh. */
        LOG_WARN("cannot adopt the fast path maps in %s (%s): starting with empty ones",
                 cfg.pin_dir, err);
        unlink_pins(cfg.pin_dir);
        rc = offload_open(&cfg, &o, err, sizeof err);
    }
    if (rc) {
        LOG_WARN("kernel fast path unavailable, forwarding in user space only: %s", err);
        return;
    }
    f = xcalloc(1, sizeof *f);
    f->o = o;
    f->stats = offload_stats_array(o);
    f->keys = xcalloc(dp->cache.capacity, sizeof *f->keys);
    f->seen = xcalloc(dp->cache.capacity, sizeof *f->seen);
    dp->fast = f;
    dp->cache.on_remove = on_remove;
    dp->cache.aux = dp;
    LOG_INFO("kernel fast path loaded (%u flows%s%s)", dp->cache.capacity,
             cfg.pin_dir ? ", maps in " : "", cfg.pin_dir ? cfg.pin_dir : "");
    if (underlay) {
        underlay_attach(dp, underlay);
    } else if (dp->cfg.node_ip) {
        LOG_WARN("the overlay stays in user space: no device holds the node address");
    }
}

void dp_offload_close(struct dp *dp)
{
    struct dp_offload *f = dp->fast;

    if (f) {
        dp->cache.on_remove = NULL;
        offload_close(f->o);
        free(f->keys);
        free(f->seen);
        free(f);
        dp->fast = NULL;
    }
}

void dp_offload_forget_adopted(struct dp *dp)
{
    struct fp_key key, next;
    const struct fp_key *prev = NULL;
    size_t n = 0;

    if (!dp->fast || !offload_adopted(dp->fast->o)) {
        return;
    }
    /* Deleting the key just read loses the iteration's place: start again from the first
     * after each delete (the first left is the next to go, so this stays linear). */
    while (offload_flow_next(dp->fast->o, prev, &next) == 0) {
        key = next;
        if (offload_flow_del(dp->fast->o, &key) == 0) {
            n++;
            prev = NULL;
        } else {
            prev = &key;
        }
    }
    if (n) {
        LOG_INFO("%zu flow(s) adopted from the previous vswitchd go back to the switch", n);
    }
}

/* ---- Ports ---- */

int dp_offload_port_prepare(struct dp *dp, enum dp_port_type type, const char *name)
{
    unsigned int ifindex = if_nametoindex(name);
    char err[512];

    if (type != DP_PORT_VETH || !ifindex) {
        return -1;
    }
    if (!dp->fast) {
        /* A vswitchd run with the fast path before this one may have left its program. */
        offload_detach(NULL, ifindex, OFFLOAD_INGRESS);
        return -1;
    }
    if (offload_attach(dp->fast->o, ifindex, OFFLOAD_INGRESS, err, sizeof err)) {
        LOG_WARN("port %s stays in user space: %s", name, err);
        return -1;
    }
    return offload_sock_filter_fd(dp->fast->o);
}

void dp_offload_port_release(struct dp *dp, enum dp_port_type type, const char *name)
{
    unsigned int ifindex = if_nametoindex(name);

    if (type == DP_PORT_VETH && ifindex) {
        offload_detach(dp->fast ? dp->fast->o : NULL, ifindex, OFFLOAD_INGRESS);
    }
}

/* ---- Flows ---- */

static bool port_fn(uint32_t port_no, void *dp_, struct offload_port *out)
{
    struct dp *dp = dp_;
    const struct port *port = port_table_get(&dp->ports, port_no);

    if (port && port->type == DP_PORT_VXLAN && dp->fast->underlay_ifindex) {
        out->ifindex = dp->fast->underlay_ifindex;
        out->kind = OFFLOAD_PORT_VXLAN;
        return true;
    }
    if (!port || !port->fast || !port->up) {
        return false;
    }
    out->ifindex = port->ifindex;
    out->kind = OFFLOAD_PORT_VETH;
    return true;
}

static struct ct_conn *live_conn(struct dp *dp, const struct action *a)
{
    struct ct_conn *conn = &dp->ct.conns[a->u.ct.conn];

    return conn->in_use && conn->gen == a->u.ct.gen ? conn : NULL;
}

/* Whether the flow is past the packets the switch must see itself. */
static bool established(struct dp *dp, const struct flow_entry *flow, const struct packet *pkt)
{
    if (flow->key.nw_proto == IP_PROTO_TCP && (pkt->tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST))) {
        return false;
    }
    for (size_t i = 0; i < flow->actions.n; i++) {
        const struct action *a = &flow->actions.a[i];
        struct ct_conn *conn;

        if (a->type != ACTION_CT) {
            continue;
        }
        conn = live_conn(dp, a);
        if (!conn) {
            return false;
        }
        return flow->key.nw_proto == IP_PROTO_TCP ? conn->state == CT_ESTABLISHED
                                                  : conn->state == CT_UDP_REPLIED;
    }
    return true;
}

void dp_offload_hit(struct dp *dp, struct flow_entry *flow, const struct packet *pkt)
{
    struct dp_offload *f = dp->fast;
    uint32_t idx = flow - dp->cache.entries;
    struct fp_action act;
    const char *why;
    int rc;

    if (!f || flow->fast != FAST_NONE || !established(dp, flow, pkt)) {
        return;
    }
    rc = offload_xlate(&flow->key, &flow->actions, idx, port_fn, dp, &f->keys[idx], &act,
                       &why);
    if (rc) {
        flow->fast = FAST_REFUSED;
        return;
    }
    /* The slot's last owner is gone (its flow deleted with its entry): start from zero. */
    memset(&f->seen[idx], 0, sizeof f->seen[idx]);
    rc = offload_stats_reset(f->o, idx);
    if (!rc) {
        rc = offload_flow_put(f->o, &f->keys[idx], &act);
    }
    if (rc) {
        LOG_DBG("flow stays in user space: %s", strerror(-rc));
        flow->fast = FAST_REFUSED;
        return;
    }
    flow->fast = FAST_INSTALLED;
    f->n_installed++;
}

bool dp_offload_installed(const struct flow_entry *flow)
{
    return flow->fast == FAST_INSTALLED;
}

/* Adds what the kernel counted for 'flow' since the last merge to the entry, its flow pair
 * and its policy, as actions_execute() would have packet by packet. */
static void merge(struct dp *dp, struct flow_entry *flow)
{
    struct dp_offload *f = dp->fast;
    uint32_t idx = flow - dp->cache.entries;
    uint64_t packets, bytes, last_ms;
    struct fp_stats st;

    /* Each word is read whole; one updated between the reads is caught up next time. */
    st.packets = f->stats[idx].packets;
    st.bytes = f->stats[idx].bytes;
    st.last_ns = f->stats[idx].last_ns;
    if (st.packets <= f->seen[idx].packets && st.bytes <= f->seen[idx].bytes) {
        return;
    }
    packets = st.packets - f->seen[idx].packets;
    bytes = st.bytes - f->seen[idx].bytes;
    f->seen[idx] = st;
    last_ms = MIN(st.last_ns / 1000000, dp->now_ms);
    flow->packets += packets;
    flow->bytes += bytes;
    flow->used_ms = MAX(flow->used_ms, last_ms);
    if (flow->key.tun_src) {
        struct peer *peer = peer_table_by_node(&dp->peers, flow->key.tun_src);

        if (peer) {
            peer->rx_packets += packets;
            peer->rx_bytes += bytes;
        }
    }

    for (size_t i = 0; i < flow->actions.n; i++) {
        const struct action *a = &flow->actions.a[i];
        struct lb_policy *policy = NULL;

        if (a->type == ACTION_TUNNEL) {
            /* By address: the peer table may have changed since the list was compiled. */
            struct peer *peer = peer_table_by_node(&dp->peers, a->u.tunnel.dst);

            if (peer) {
                peer->tx_packets += packets;
                peer->tx_bytes += bytes;
            }
        } else if (a->type == ACTION_CT) {
            struct ct_conn *conn = live_conn(dp, a);

            if (!conn) {
                continue;
            }
            if (packets) {
                /* One update moves the state machine as these packets would have (none of
                 * them was SYN, FIN or RST: those go up); the counters take the rest. */
                ct_update(&dp->ct, conn, a->dir,
                          flow->key.nw_proto == IP_PROTO_TCP ? TCP_ACK : 0, 0,
                          MAX(last_ms, conn->used_ms));
                conn->packets[a->dir] += packets - 1;
            }
            conn->bytes[a->dir] += bytes;
            policy = lb_policy_at(&dp->lb, conn->policy);
        } else if (a->type == ACTION_POLICY) {
            policy = lb_policy_at(&dp->lb, a->port);
        }
        if (policy) {
            policy->packets += packets;
            policy->bytes += bytes;
        }
    }
}

static void on_remove(struct flow_entry *flow, void *dp_)
{
    struct dp *dp = dp_;
    uint32_t idx = flow - dp->cache.entries;

    if (flow->fast == FAST_INSTALLED) {
        merge(dp, flow);
        int rc = offload_flow_del(dp->fast->o, &dp->fast->keys[idx]);

        if (rc) {
            LOG_WARN("removing a kernel flow: %s", strerror(-rc));
        }
        dp->fast->n_installed--;
    }
    flow->fast = FAST_NONE;
}

static bool stale(struct dp *dp, const struct flow_entry *flow)
{
    for (size_t i = 0; i < flow->actions.n; i++) {
        const struct action *a = &flow->actions.a[i];

        if (a->type == ACTION_CT && !live_conn(dp, a)) {
            return true;
        }
    }
    return false;
}

void dp_offload_sync(struct dp *dp)
{
    if (!dp->fast || !dp->fast->n_installed) {
        return;
    }
    FLOW_CACHE_FOR_EACH (flow, &dp->cache) {
        if (flow->fast != FAST_INSTALLED) {
            continue;
        }
        merge(dp, flow);
        if (stale(dp, flow)) {
            /* Its flow pair expired or was evicted: the kernel must stop translating. */
            flow_cache_remove(&dp->cache, flow);
        }
    }
}

void dp_offload_stats(struct dp *dp, struct dp_offload_stats *st)
{
    uint64_t counters[FP_R_MAX];

    memset(st, 0, sizeof *st);
    if (!dp->fast) {
        return;
    }
    st->on = true;
    st->flows = dp->fast->n_installed;
    if (offload_counters(dp->fast->o, counters) == 0) {
        st->packets = counters[FP_R_EXEC] + counters[FP_R_HANDOFF_EXEC];
    }
}
