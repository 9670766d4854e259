/* The metrics endpoint; see metrics.h.
 *
 * Every scrape takes fresh snapshots from the datapath (ports, drop counters, table sizes,
 * policies, peers); nothing is cached here, so the numbers are as consistent as the datapath's own
 * snapshots. */
#include "daemon/metrics.h"
#include "daemon/nodeport.h"
#include "daemon/nodeport-steer.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "metrics"
#include "daemon/ctl-server.h"
#include "daemon/peer-config.h"
#include "daemon/vswitchd.h"
#include "dp/dp.h"
#include "lib/ctl-msg.h"
#include "lib/http.h"
#include "lib/lb-config.h"
#include "lib/log.h"
#include "lib/prom.h"
#include "lib/util.h"

struct metrics {
    struct MHD_Daemon *mhd;
    const struct vswitchd *vd;
    atomic_bool started;        /* Set once the server thread runs. */
    char start_error[256];      /* libmicrohttpd's message if starting fails. */
};

/* A metric without labels: its header and its one integer value. */
static void put_metric(FILE *out, const char *name, const char *type, const char *help,
                       unsigned long long value)
{
    prom_header(out, name, type, help);
    fprintf(out, "%s %llu\n", name, value);
}

struct port_metric {
    const char *name;
    const char *help;
    size_t offset;              /* In struct dp_port_stats. */
};

static const struct port_metric port_metrics[] = {
    { "vswitch_port_rx_packets_total", "Packets received from the port.",
      offsetof(struct dp_port_stats, rx_packets) },
    { "vswitch_port_rx_bytes_total", "Bytes received from the port.",
      offsetof(struct dp_port_stats, rx_bytes) },
    { "vswitch_port_rx_dropped_total", "Packets received from the port and dropped.",
      offsetof(struct dp_port_stats, rx_dropped) },
    { "vswitch_port_tx_packets_total", "Packets sent to the port.",
      offsetof(struct dp_port_stats, tx_packets) },
    { "vswitch_port_tx_bytes_total", "Bytes sent to the port.",
      offsetof(struct dp_port_stats, tx_bytes) },
    { "vswitch_port_tx_dropped_total", "Packets for the port that could not be sent.",
      offsetof(struct dp_port_stats, tx_dropped) },
};

struct policy_metric {
    const char *name;
    const char *type;
    const char *help;
};

/* In the order policy_values() returns them. */
static const struct policy_metric policy_metrics[] = {
    { "vswitch_policy_packets_total", "counter", "Packets that hit the policy." },
    { "vswitch_policy_bytes_total", "counter", "Bytes that hit the policy." },
    { "vswitch_policy_connections_total", "counter", "Flow pairs the policy created." },
    { "vswitch_policy_dispatched_total", "counter",
      "Connections sent by MAC to the backend's node (DSR across the overlay)." },
    { "vswitch_policy_rejected_total", "counter",
      "Connections refused for want of a backend (TCP RST, ICMP port unreachable)." },
    { "vswitch_policy_flow_pairs", "gauge", "Flow pairs of the policy now." },
    { "vswitch_policy_backends", "gauge", "Backends of the policy." },
};

static void policy_values(const struct dp_lb_info *p, uint64_t v[ARRAY_SIZE(policy_metrics)])
{
    v[0] = p->packets;
    v[1] = p->bytes;
    v[2] = p->connections;
    v[3] = p->dispatched;
    v[4] = p->rejected;
    v[5] = p->active_pairs;
    v[6] = p->spec.n_backends;
}

static void put_policy_metrics(FILE *out, const struct dp_lb_info *policies, size_t n)
{
    for (size_t m = 0; m < ARRAY_SIZE(policy_metrics); m++) {
        prom_header(out, policy_metrics[m].name, policy_metrics[m].type, policy_metrics[m].help);
        for (size_t i = 0; i < n; i++) {
            const struct dp_lb_spec *spec = &policies[i].spec;
            uint64_t values[ARRAY_SIZE(policy_metrics)];
            char vip[IP_STR_LEN];

            policy_values(&policies[i], values);
            fprintf(out, "%s{name=\"", policy_metrics[m].name);
            prom_label(out, spec->name);
            fprintf(out, "\",vip=\"%s\",port=\"%u\",protocol=\"%s\"} %llu\n",
                    addr_ip_str(spec->vip, vip), spec->port, lb_proto_name(spec->proto),
                    (unsigned long long) values[m]);
        }
    }
}

struct peer_metric {
    const char *name;
    const char *help;
    size_t offset;              /* In struct dp_peer_info. */
};

static const struct peer_metric peer_metrics[] = {
    { "vswitch_peer_tx_packets_total",
      "Frames sent to the peer node as pods handed them over (a GSO frame counts once).",
      offsetof(struct dp_peer_info, tx_packets) },
    { "vswitch_peer_tx_bytes_total", "Bytes of inner frames encapsulated to the peer node.",
      offsetof(struct dp_peer_info, tx_bytes) },
    { "vswitch_peer_rx_packets_total", "Frames from the peer node accepted and decapsulated.",
      offsetof(struct dp_peer_info, rx_packets) },
    { "vswitch_peer_rx_bytes_total", "Bytes of inner frames from the peer node.",
      offsetof(struct dp_peer_info, rx_bytes) },
};

static void put_peer_metrics(FILE *out, const struct dp_peer_info *peers, size_t n)
{
    for (size_t m = 0; m < ARRAY_SIZE(peer_metrics); m++) {
        prom_header(out, peer_metrics[m].name, "counter", peer_metrics[m].help);
        for (size_t i = 0; i < n; i++) {
            char ip[IP_STR_LEN], cidr[IP_STR_LEN];
            uint64_t value;

            memcpy(&value, (const char *) &peers[i] + peer_metrics[m].offset, sizeof value);
            fprintf(out, "%s{node_ip=\"%s\",pod_cidr=\"%s\"} %llu\n", peer_metrics[m].name,
                    addr_ip_str(peers[i].node_ip, ip), peer_cidr_str(&peers[i].pod_cidr, cidr),
                    (unsigned long long) value);
        }
    }
}

static void put_ctl_metrics(FILE *out, const struct ctl_server *ctl)
{
    struct ctl_server_stats st;

    ctl_server_get_stats(ctl, &st);
    put_metric(out, "vswitch_ctl_connections", "gauge", "Control socket connections open.",
               st.conns);
    put_metric(out, "vswitch_ctl_buffered_bytes", "gauge",
               "Bytes held for control clients: requests arriving, replies not yet read.",
               st.buffered);
    put_metric(out, "vswitch_ctl_connections_max", "gauge",
               "Control socket connections allowed at once; a new client beyond makes room.",
               st.max_conns);
    put_metric(out, "vswitch_ctl_connections_accepted_total", "counter",
               "Control socket connections accepted.", st.accepted);
    put_metric(out, "vswitch_ctl_accept_errors_total", "counter",
               "Control socket clients that could not be accepted.", st.accept_errors);
    prom_header(out, "vswitch_ctl_connections_closed_total", "counter",
               "Control socket connections closed by vswitchd, by reason.");
    for (int r = 0; r < CTL_CLOSE_N_REASONS; r++) {
        fprintf(out, "vswitch_ctl_connections_closed_total{reason=\"%s\"} %llu\n",
                ctl_close_reason_name(r), (unsigned long long) st.closed[r]);
    }
}

/* Writes the exposition into a new buffer; returns 0 or a negative errno. */
static int render(const struct vswitchd *vd, char **text, size_t *len)
{
    uint64_t drops[DROP_N_REASONS];
    struct dp_table_stats tables;
    struct np_steer_stats np_stats;
    struct dp_port_info *ports;
    struct dp_lb_info *policies;
    struct dp_peer_info *peers;
    size_t n_ports, n_policies, n_peers;
    FILE *out;
    int error;

    error = dp_port_list(vd->dp, &ports, &n_ports);
    if (error) {
        return error;
    }
    /* Every policy's counters, one line each. */
    error = dp_lb_list(vd->dp, &policies, &n_policies);
    if (error) {
        free(ports);
        return error;
    }
    error = dp_peer_list(vd->dp, &peers, &n_peers);
    if (error) {
        dp_lb_info_free(policies, n_policies);
        free(ports);
        return error;
    }
    dp_table_stats(vd->dp, &tables);
    dp_drop_stats(vd->dp, drops);

    out = open_memstream(text, len);
    if (!out) {
        abort();
    }
    prom_header(out, "vswitch_info", "gauge", "vswitchd version.");
    fprintf(out, "vswitch_info{version=\"%s\"} 1\n", VSWITCH_VERSION);
    prom_header(out, "vswitch_uptime_seconds", "gauge", "Seconds since vswitchd started.");
    fprintf(out, "vswitch_uptime_seconds %.3f\n", (time_msec() - vd->start_msec) / 1000.0);
    put_metric(out, "vswitch_flows", "gauge", "Entries in the flow cache.", tables.flows);
    prom_header(out, "vswitch_tier_flows", "gauge",
                "Cached flows by where they are executed: the kernel fast path (tc) or the "
                "switch (user).");
    fprintf(out, "vswitch_tier_flows{dp=\"tc\"} %llu\nvswitch_tier_flows{dp=\"user\"} %llu\n",
            (unsigned long long) tables.flows_tc,
            (unsigned long long) (tables.flows - tables.flows_tc));
    prom_header(out, "vswitch_tier_packets_total", "counter",
                "Packets by tier: executed by the kernel fast path (tc), received by the "
                "switch (user).");
    fprintf(out, "vswitch_tier_packets_total{dp=\"tc\"} %llu\n"
            "vswitch_tier_packets_total{dp=\"user\"} %llu\n",
            (unsigned long long) tables.packets_tc, (unsigned long long) tables.packets_user);
    nodeport_counters(vd->nodeport, &np_stats);
    put_metric(out, "vswitch_nodeport_steered_packets_total", "counter",
               "Packets to a NodePort on a node address steered from the uplinks into the "
               "switch.", np_stats.steered);
    put_metric(out, "vswitch_nodeport_own_socket_packets_total", "counter",
               "Packets to a NodePort left to a connection of the node's own (its replies).",
               np_stats.own_socket);
    put_metric(out, "vswitch_flow_evictions_total", "counter",
               "Cached flows evicted because the flow cache was full.", tables.flow_evictions);
    put_metric(out, "vswitch_flow_pairs", "gauge", "Flow pairs (load-balanced connections).",
               tables.flow_pairs);
    put_metric(out, "vswitch_dispatch_entries", "gauge",
               "Dispatch entries: connections sent to a backend on another node (DSR), which "
               "share the flow-pair table and its bound.", tables.dispatch_entries);
    put_metric(out, "vswitch_flow_pairs_max", "gauge", "Bound of the flow-pair table.",
               vd->cfg.max_flow_pairs);
    put_metric(out, "vswitch_flow_pairs_per_pod_max", "gauge",
               "Flow pairs one client address may hold; 0: no limit.",
               vd->cfg.max_flow_pairs_per_pod);
    put_metric(out, "vswitch_flow_pair_sources", "gauge",
               "Client addresses holding flow pairs or dispatch entries.",
               tables.flow_pair_sources);
    put_metric(out, "vswitch_flow_pair_evictions_total", "counter",
               "Flow pairs evicted before their time to make room, all kinds.",
               tables.flow_pair_evictions);
    prom_header(out, "vswitch_flow_pair_evictions_by_kind_total", "counter",
               "Flow pairs evicted: closed or closing, or unassured, from a full table; "
               "a client's own at its per-pod limit; assured but silent for 5 minutes, "
               "from a full table.");
    fprintf(out, "vswitch_flow_pair_evictions_by_kind_total{kind=\"closed\"} %llu\n"
            "vswitch_flow_pair_evictions_by_kind_total{kind=\"unassured\"} %llu\n"
            "vswitch_flow_pair_evictions_by_kind_total{kind=\"pod_quota\"} %llu\n"
            "vswitch_flow_pair_evictions_by_kind_total{kind=\"idle\"} %llu\n",
            (unsigned long long) tables.flow_pair_evictions_closed,
            (unsigned long long) tables.flow_pair_evictions_unassured,
            (unsigned long long) tables.flow_pair_evictions_pod_quota,
            (unsigned long long) tables.flow_pair_evictions_idle);
    put_metric(out, "vswitch_policies", "gauge", "Load-balancing policies.", tables.policies);
    put_metric(out, "vswitch_peers", "gauge", "Overlay peers (remote nodes).", tables.peers);
    put_metric(out, "vswitch_overlay_mtu", "gauge",
               "Largest packet a pod may send to another node; 0 without an overlay.",
               vd->cfg.node_ip ? vd->cfg.overlay_mtu : 0);
    put_metric(out, "vswitch_ports", "gauge", "Ports attached, host port included.", n_ports);

    prom_header(out, "vswitch_port_up", "gauge", "1 if the port's device is present and open.");
    for (size_t i = 0; i < n_ports; i++) {
        fputs("vswitch_port_up{port=\"", out);
        prom_label(out, ports[i].name);
        fprintf(out, "\",type=\"%s\"} %d\n", dp_port_type_name(ports[i].type), ports[i].up);
    }
    for (size_t m = 0; m < ARRAY_SIZE(port_metrics); m++) {
        prom_header(out, port_metrics[m].name, "counter", port_metrics[m].help);
        for (size_t i = 0; i < n_ports; i++) {
            uint64_t value;

            memcpy(&value, (const char *) &ports[i].stats + port_metrics[m].offset,
                   sizeof value);
            fprintf(out, "%s{port=\"", port_metrics[m].name);
            prom_label(out, ports[i].name);
            fprintf(out, "\"} %llu\n", (unsigned long long) value);
        }
    }
    prom_header(out, "vswitch_drops_total", "counter", "Packets dropped, by reason.");
    for (int r = 1; r < DROP_N_REASONS; r++) {
        fprintf(out, "vswitch_drops_total{reason=\"%s\"} %llu\n", drop_reason_name(r),
                (unsigned long long) drops[r]);
    }
    put_policy_metrics(out, policies, n_policies);
    put_peer_metrics(out, peers, n_peers);
    put_ctl_metrics(out, vd->ctl);
    if (fclose(out)) {
        abort();
    }
    free(peers);
    dp_lb_info_free(policies, n_policies);
    free(ports);
    return 0;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
                                  const char *text)
{
    return http_reply_static(conn, status, "text/plain; charset=utf-8", text);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    const struct metrics *m = cls;
    char *text;
    size_t len;
    int error;

    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    if (!strcmp(url, "/metrics")) {
        error = render(m->vd, &text, &len);
        if (error) {
            LOG_WARN("cannot read the datapath's counters: %s", strerror(-error));
            return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "cannot read the datapath's counters\n");
        }
        return http_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                          len, MHD_RESPMEM_MUST_FREE);
    }
    if (!strcmp(url, "/healthz")) {
        struct dp_port_info *ports;
        size_t n;

        /* Healthy means the datapath thread answers: a listing goes through its queue. */
        error = dp_port_list(m->vd->dp, &ports, &n);
        if (error) {
            return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "datapath not answering\n");
        }
        free(ports);
        return reply_text(conn, MHD_HTTP_OK, "ok\n");
    }
    return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
}

static void mhd_log(void *cls, const char *fmt, va_list args)
{
    struct metrics *m = cls;
    char msg[256];
    size_t len;

    vsnprintf(msg, sizeof msg, fmt, args);
    len = strlen(msg);
    while (len && msg[len - 1] == '\n') {
        msg[--len] = '\0';
    }
    if (m->started) {
        LOG_WARN("%s", msg);
    } else {
        /* Only the starting thread runs before 'started': nothing else reads this. */
        str_copy(m->start_error, msg, sizeof m->start_error);
    }
}

int metrics_start(const struct vswitchd *vd, struct metrics **mp, char *err, size_t errlen)
{
    struct metrics *m = xcalloc(1, sizeof *m);

    m->vd = vd;
    errno = 0;
    m->mhd = http_start(vd->cfg.metrics_ip, vd->cfg.metrics_port, handle, m, mhd_log, m);
    if (!m->mhd) {
        int error = errno ? errno : EADDRNOTAVAIL;

        /* libmicrohttpd's own message names port 0 (the address is passed whole), so the
         * errno says it better when there is one. */
        snprintf(err, errlen, "cannot serve metrics on %s: %s%s", vd->cfg.metrics_addr,
                 errno || !*m->start_error ? strerror(error) : m->start_error,
                 error == EADDRNOTAVAIL && (ntohl(vd->cfg.metrics_ip) >> 24) == 127
                 ? " (is the loopback interface up in this network namespace?)" : "");
        free(m);
        *mp = NULL;
        return -error;
    }
    m->started = true;
    LOG_INFO("serving metrics on http://%s/metrics", vd->cfg.metrics_addr);
    *mp = m;
    return 0;
}

void metrics_stop(struct metrics *m)
{
    if (m) {
        MHD_stop_daemon(m->mhd);
        free(m);
    }
}
