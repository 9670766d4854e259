/* The replies that show the switch's state; see views.h. */
#include "daemon/views.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/nodeport.h"
#include "daemon/nodeport.h"
#include "daemon/peer-config.h"
#include "dp/dp.h"
#include "lib/addr.h"
#include "lib/ctl-msg.h"
#include "lib/util.h"

static Vswitch__Port *port_to_msg(const struct dp_port_info *info, const struct db_port *row)
{
    Vswitch__Port *port = xmalloc(sizeof *port);
    Vswitch__PortStats *stats = xmalloc(sizeof *stats);
    char ip[IP_STR_LEN], mac[ETH_STR_LEN];

    vswitch__port__init(port);
    vswitch__port_stats__init(stats);
    port->name = ctl_msg_strdup(info->name);
    port->type = ctl_msg_strdup(dp_port_type_name(info->type));
    port->port_no = info->port_no;
    port->ip = ctl_msg_strdup(info->ip ? addr_ip_str(info->ip, ip) : "");
    port->mac = ctl_msg_strdup(eth_addr_is_zero(info->mac) ? "" : addr_mac_str(info->mac, mac));
    port->mac_learned = info->mac_learned;
    port->up = info->up;
    if (row) {
        port->pod_namespace = ctl_msg_strdup(row->pod_namespace);
        port->pod_name = ctl_msg_strdup(row->pod_name);
        port->container_id = ctl_msg_strdup(row->container_id);
        port->ifname = ctl_msg_strdup(row->ifname);
    }
    stats->rx_packets = info->stats.rx_packets;
    stats->rx_bytes = info->stats.rx_bytes;
    stats->rx_dropped = info->stats.rx_dropped;
    stats->tx_packets = info->stats.tx_packets;
    stats->tx_bytes = info->stats.tx_bytes;
    stats->tx_dropped = info->stats.tx_dropped;
    port->stats = stats;
    return port;
}

static int compare_row_name(const void *key, const void *row)
{
    return strcmp(key, ((const struct db_port *) row)->name);
}

/* 'rows' is sorted by name, as db_port_list() returns them. */
static const struct db_port *find_row(const struct db_port *rows, size_t n, const char *name)
{
    return n ? bsearch(name, rows, n, sizeof *rows, compare_row_name) : NULL;
}

static int compare_peer_info(const void *a_, const void *b_)
{
    const struct dp_peer_info *a = a_, *b = b_;

    return ntohl(a->node_ip) < ntohl(b->node_ip) ? -1 : ntohl(a->node_ip) > ntohl(b->node_ip);
}

static Vswitch__Peer *peer_to_msg(const struct dp_peer_info *info)
{
    Vswitch__Peer *peer = xmalloc(sizeof *peer);
    char ip[IP_STR_LEN], cidr[IP_STR_LEN];

    vswitch__peer__init(peer);
    peer->node_ip = ctl_msg_strdup(addr_ip_str(info->node_ip, ip));
    peer->pod_cidr = ctl_msg_strdup(peer_cidr_str(&info->pod_cidr, cidr));
    peer->tx_packets = info->tx_packets;
    peer->tx_bytes = info->tx_bytes;
    peer->rx_packets = info->rx_packets;
    peer->rx_bytes = info->rx_bytes;
    return peer;
}

/* "tcp", "udp", "icmp" or the number. */
static const char *ip_proto_name(uint8_t proto, char buf[4])
{
    switch (proto) {
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    default:
        snprintf(buf, 4, "%u", proto);
        return buf;
    }
}

static Vswitch__FlowTuple *tuple_msg(const struct dp_tuple *t)
{
    Vswitch__FlowTuple *m = xmalloc(sizeof *m);
    char ip[IP_STR_LEN];

    vswitch__flow_tuple__init(m);
    m->src = ctl_msg_strdup(addr_ip_str(t->src, ip));
    m->dst = ctl_msg_strdup(addr_ip_str(t->dst, ip));
    m->sport = t->sport;
    m->dport = t->dport;
    return m;
}

static Vswitch__FlowPair *flow_pair_msg(const struct dp_conn_info *c)
{
    Vswitch__FlowPair *m = xmalloc(sizeof *m);
    char num[4];

    vswitch__flow_pair__init(m);
    m->protocol = ctl_msg_strdup(ip_proto_name(c->proto, num));
    m->protocol_number = c->proto;
    m->orig = tuple_msg(&c->orig);
    m->reply = tuple_msg(&c->reply);
    m->policy = ctl_msg_strdup(c->policy);
    m->dsr = c->dsr;
    m->state = ctl_msg_strdup(c->state ? c->state : "");
    m->orig_packets = c->packets[0];
    m->orig_bytes = c->bytes[0];
    m->reply_packets = c->packets[1];
    m->reply_bytes = c->bytes[1];
    m->idle_ms = c->idle_ms;
    m->ttl_ms = c->ttl_ms;
    return m;
}

static Vswitch__DispatchEntry *dispatch_msg(const struct dp_dispatch_info *d)
{
    Vswitch__DispatchEntry *m = xmalloc(sizeof *m);
    char num[4], ip[IP_STR_LEN];

    vswitch__dispatch_entry__init(m);
    m->protocol = ctl_msg_strdup(ip_proto_name(d->proto, num));
    m->protocol_number = d->proto;
    m->orig = tuple_msg(&d->orig);
    m->backend = ctl_msg_strdup(addr_ip_str(d->backend.ip, ip));
    m->backend_port = d->backend.port;
    m->policy = ctl_msg_strdup(d->policy);
    m->state = ctl_msg_strdup(d->state ? d->state : "");
    m->packets = d->packets;
    m->bytes = d->bytes;
    m->idle_ms = d->idle_ms;
    m->ttl_ms = d->ttl_ms;
    return m;
}

/* A Policy message without backends or counters. */
static Vswitch__Policy *policy_msg(const struct vswitchd *vd, const struct lb_service *svc,
                                   const char *name, bool dsr, bool preserve_dip,
                                   const struct cidr *ranges, size_t n_ranges,
                                   uint32_t affinity_timeout, size_t n_backends)
{
    Vswitch__Policy *m = xmalloc(sizeof *m);
    char buf[LB_SERVICE_STR_LEN], ip[IP_STR_LEN];

    vswitch__policy__init(m);
    m->name = ctl_msg_strdup(name);
    m->service = ctl_msg_strdup(lb_service_str(svc, buf));
    m->vip = ctl_msg_strdup(addr_ip_str(svc->vip, ip));
    m->port = svc->port;
    m->protocol = ctl_msg_strdup(lb_proto_name(svc->proto));
    m->protocol_number = svc->proto;
    m->dsr = dsr;
    m->preserve_dip = preserve_dip;
    m->n_source_ranges = n_ranges;
    m->source_ranges = n_ranges ? xmalloc(n_ranges * sizeof *m->source_ranges) : NULL;
    for (size_t i = 0; i < n_ranges; i++) {
        char s[IP_STR_LEN + 4];

        snprintf(s, sizeof s, "%s/%d", addr_ip_str(ranges[i].net, ip), ranges[i].prefix);
        m->source_ranges[i] = ctl_msg_strdup(s);
    }
    m->affinity_timeout = affinity_timeout;
    m->flow_ttl = vd->cfg.flow_ttl;
    m->snat_ip = ctl_msg_strdup(dsr ? "" : addr_ip_str(vd->cfg.gateway, ip));
    m->n_backends = n_backends;
    m->backends = n_backends ? xmalloc(n_backends * sizeof *m->backends) : NULL;
    return m;
}

static Vswitch__LbBackend *backend_msg(be32 ip, uint16_t port)
{
    Vswitch__LbBackend *m = xmalloc(sizeof *m);
    char buf[IP_STR_LEN];

    vswitch__lb_backend__init(m);
    m->ip = ctl_msg_strdup(addr_ip_str(ip, buf));
    m->port = port;
    return m;
}

static int compare_lb_info(const void *a_, const void *b_)
{
    const struct dp_lb_spec *a = &((const struct dp_lb_info *) a_)->spec;
    const struct dp_lb_spec *b = &((const struct dp_lb_info *) b_)->spec;

    if (a->vip != b->vip) {
        return ntohl(a->vip) < ntohl(b->vip) ? -1 : 1;
    }
    if (a->port != b->port) {
        return a->port < b->port ? -1 : 1;
    }
    return a->proto < b->proto ? -1 : a->proto > b->proto;
}

static Vswitch__NodePortInfo *nodeport_to_msg(const struct nodeport *np)
{
    Vswitch__NodePortInfo *m = xmalloc(sizeof *m);
    struct nodeport_info info;
    char ip[IP_STR_LEN];

    vswitch__node_port_info__init(m);
    nodeport_info(np, &info);
    m->steering = ctl_msg_strdup(info.steering);
    m->n_addresses = info.n_addrs;
    m->addresses = xmalloc((info.n_addrs + 1) * sizeof *m->addresses);
    for (size_t i = 0; i < info.n_addrs; i++) {
        m->addresses[i] = ctl_msg_strdup(addr_ip_str(info.addrs[i], ip));
    }
    m->n_uplinks = info.n_uplinks;
    m->uplinks = xmalloc((info.n_uplinks + 1) * sizeof *m->uplinks);
    for (size_t i = 0; i < info.n_uplinks; i++) {
        m->uplinks[i] = ctl_msg_strdup(info.uplinks[i]);
    }
    m->local = info.local;
    m->entries = info.n_entries;
    m->steered = info.steered;
    m->own_socket = info.own_socket;
    return m;
}

Vswitch__Response *view_show(struct vswitchd *vd)
{
    const struct vswitchd_config *cfg = &vd->cfg;
    uint64_t drops[DROP_N_REASONS];
    struct dp_table_stats tables;
    struct dp_port_info *ports;
    struct dp_peer_info *peers;
    struct db_port *rows;
    size_t n_ports, n_rows, n_peers;
    Vswitch__Response *resp;
    Vswitch__ShowReply *show;
    Vswitch__DaemonInfo *info;
    char buf[IP_STR_LEN + 4], err[256], ip[IP_STR_LEN], mac[ETH_STR_LEN];
    int error;

    error = dp_port_list(vd->dp, &ports, &n_ports);
    if (error) {
        return ctl_msg_response_error(error, "cannot list the datapath's ports: %s",
                                      strerror(-error));
    }
    error = db_port_list(vd->db, &rows, &n_rows, err, sizeof err);
    if (error) {
        free(ports);
        return ctl_msg_response_error(error, "%s", err);
    }
    error = dp_peer_list(vd->dp, &peers, &n_peers);
    if (error) {
        free(rows);
        free(ports);
        return ctl_msg_response_error(error, "cannot list peers: %s", strerror(-error));
    }
    dp_drop_stats(vd->dp, drops);
    dp_table_stats(vd->dp, &tables);

    resp = ctl_msg_response_new();
    show = xmalloc(sizeof *show);
    vswitch__show_reply__init(show);
    resp->reply_case = VSWITCH__RESPONSE__REPLY_SHOW;
    resp->show = show;

    info = xmalloc(sizeof *info);
    vswitch__daemon_info__init(info);
    show->daemon = info;
    info->version = ctl_msg_strdup(VSWITCH_VERSION);
    info->pod_cidr = ctl_msg_strdup(peer_cidr_str(&cfg->pod_cidr, buf));
    info->gateway = ctl_msg_strdup(addr_ip_str(cfg->gateway, ip));
    info->router_mac = ctl_msg_strdup(addr_mac_str(cfg->router_mac, mac));
    info->node_ip = ctl_msg_strdup(cfg->node_ip ? addr_ip_str(cfg->node_ip, ip) : "");
    info->vni = cfg->vni;
    info->vxlan_port = cfg->vxlan_port;
    info->overlay_mtu = cfg->node_ip ? cfg->overlay_mtu : 0;
    info->host_port = ctl_msg_strdup(VSWITCHD_HOST_PORT);
    info->uptime_ms = time_msec() - vd->start_msec;
    info->flow_cache_size = cfg->flow_cache_size;
    info->max_flow_pairs = cfg->max_flow_pairs;
    info->max_flow_pairs_per_pod = cfg->max_flow_pairs_per_pod;
    info->flow_ttl = cfg->flow_ttl;
    info->cluster_cidr = ctl_msg_strdup(cfg->has_cluster_cidr
                                        ? peer_cidr_str(&cfg->cluster_cidr, buf) : "");
    info->service_cidr = ctl_msg_strdup(cfg->has_service_cidr
                                        ? peer_cidr_str(&cfg->service_cidr, buf) : "");
    info->masquerade = cfg->masquerade;
    show->n_policies = tables.policies;
    show->n_flows = tables.flows;
    show->n_flow_pairs = tables.flow_pairs;
    show->flow_evictions = tables.flow_evictions;
    show->flow_pair_evictions = tables.flow_pair_evictions;
    show->flow_pair_evictions_closed = tables.flow_pair_evictions_closed;
    show->flow_pair_evictions_unassured = tables.flow_pair_evictions_unassured;
    show->flow_pair_evictions_pod_quota = tables.flow_pair_evictions_pod_quota;
    show->flow_pair_evictions_idle = tables.flow_pair_evictions_idle;
    show->n_flow_pair_sources = tables.flow_pair_sources;
    show->n_dispatch_entries = tables.dispatch_entries;
    show->offload = ctl_msg_strdup(tables.offload ? "tc" : "none");
    show->n_flows_tc = tables.flows_tc;
    show->packets_tc = tables.packets_tc;
    show->packets_user = tables.packets_user;
    show->nodeport = nodeport_to_msg(vd->nodeport);

    show->n_ports = n_ports;
    show->ports = n_ports ? xmalloc(n_ports * sizeof *show->ports) : NULL;
    for (size_t i = 0; i < n_ports; i++) {
        show->ports[i] = port_to_msg(&ports[i], find_row(rows, n_rows, ports[i].name));
    }

    if (n_peers) {
        qsort(peers, n_peers, sizeof *peers, compare_peer_info);
    }
    show->n_peers = n_peers;
    show->peers = n_peers ? xmalloc(n_peers * sizeof *show->peers) : NULL;
    for (size_t i = 0; i < n_peers; i++) {
        show->peers[i] = peer_to_msg(&peers[i]);
    }

    show->n_drops = DROP_N_REASONS - 1;
    show->drops = xmalloc(show->n_drops * sizeof *show->drops);
    for (int r = 1; r < DROP_N_REASONS; r++) {
        Vswitch__DropCounter *d = xmalloc(sizeof *d);

        vswitch__drop_counter__init(d);
        d->reason = ctl_msg_strdup(drop_reason_name(r));
        d->description = ctl_msg_strdup(drop_reason_description(r));
        d->packets = drops[r];
        show->drops[r - 1] = d;
    }
    free(peers);
    free(rows);
    free(ports);
    return resp;
}

Vswitch__Port *view_port(struct vswitchd *vd, const char *name, const struct db_port *row)
{
    Vswitch__Port *port = NULL;
    struct dp_port_info *ports;
    size_t n;

    if (dp_port_list(vd->dp, &ports, &n)) {
        return NULL;
    }
    for (size_t i = 0; i < n && !port; i++) {
        if (!strcmp(ports[i].name, name)) {
            port = port_to_msg(&ports[i], row);
        }
    }
    free(ports);
    return port;
}

Vswitch__Peer *view_peer(struct vswitchd *vd, be32 node_ip)
{
    Vswitch__Peer *peer = NULL;
    struct dp_peer_info *peers;
    size_t n;

    if (dp_peer_list(vd->dp, &peers, &n)) {
        return NULL;
    }
    for (size_t i = 0; i < n && !peer; i++) {
        if (peers[i].node_ip == node_ip) {
            peer = peer_to_msg(&peers[i]);
        }
    }
    free(peers);
    return peer;
}

Vswitch__Policy *view_policy(const struct vswitchd *vd, const struct lb_config *p)
{
    Vswitch__Policy *m = policy_msg(vd, &p->service, p->name, p->dsr, p->preserve_dip,
                                    p->source_ranges, p->n_source_ranges, p->affinity_timeout,
                                    p->n_backends);

    for (size_t i = 0; i < p->n_backends; i++) {
        m->backends[i] = backend_msg(p->backends[i].ip, p->backends[i].port);
    }
    return m;
}

Vswitch__Response *view_dump_flows(struct vswitchd *vd)
{
    Vswitch__Response *resp;
    Vswitch__DumpFlowsReply *reply;
    struct dp_flow_info *flows;
    struct dp_conn_info *conns;
    struct dp_dispatch_info *entries;
    size_t n, n_conns, n_entries;
    int error;

    error = dp_flow_dump(vd->dp, &flows, &n);
    if (error) {
        return ctl_msg_response_error(error, "cannot dump flows: %s", strerror(-error));
    }
    error = dp_conn_dump(vd->dp, &conns, &n_conns);
    if (error) {
        free(flows);
        return ctl_msg_response_error(error, "cannot dump flow pairs: %s", strerror(-error));
    }
    error = dp_dispatch_dump(vd->dp, &entries, &n_entries);
    if (error) {
        free(conns);
        free(flows);
        return ctl_msg_response_error(error, "cannot dump dispatch entries: %s",
                                      strerror(-error));
    }
    resp = ctl_msg_response_new();
    reply = xmalloc(sizeof *reply);
    vswitch__dump_flows_reply__init(reply);
    resp->reply_case = VSWITCH__RESPONSE__REPLY_DUMP_FLOWS;
    resp->dump_flows = reply;
    reply->n_flows = n;
    reply->flows = n ? xmalloc(n * sizeof *reply->flows) : NULL;
    for (size_t i = 0; i < n; i++) {
        Vswitch__Flow *f = xmalloc(sizeof *f);

        vswitch__flow__init(f);
        f->match = ctl_msg_strdup(flows[i].match);
        f->actions = ctl_msg_strdup(flows[i].actions);
        f->packets = flows[i].packets;
        f->bytes = flows[i].bytes;
        f->idle_ms = flows[i].idle_ms;
        f->dp = ctl_msg_strdup(flows[i].fast ? "tc" : "user");
        reply->flows[i] = f;
    }
    reply->n_flow_pairs = n_conns;
    reply->flow_pairs = n_conns ? xmalloc(n_conns * sizeof *reply->flow_pairs) : NULL;
    for (size_t i = 0; i < n_conns; i++) {
        reply->flow_pairs[i] = flow_pair_msg(&conns[i]);
    }
    reply->n_dispatch_entries = n_entries;
    reply->dispatch_entries = n_entries ? xmalloc(n_entries * sizeof *reply->dispatch_entries)
                                        : NULL;
    for (size_t i = 0; i < n_entries; i++) {
        reply->dispatch_entries[i] = dispatch_msg(&entries[i]);
    }
    free(entries);
    free(conns);
    free(flows);
    return resp;
}

Vswitch__Response *view_dump_policies(struct vswitchd *vd)
{
    Vswitch__Response *resp;
    Vswitch__DumpPoliciesReply *reply;
    struct dp_lb_info *infos;
    size_t n;
    int error;

    error = dp_lb_list(vd->dp, &infos, &n);
    if (error) {
        return ctl_msg_response_error(error, "cannot list policies: %s", strerror(-error));
    }
    if (n) {
        qsort(infos, n, sizeof *infos, compare_lb_info);
    }
    resp = ctl_msg_response_new();
    reply = xmalloc(sizeof *reply);
    vswitch__dump_policies_reply__init(reply);
    resp->reply_case = VSWITCH__RESPONSE__REPLY_DUMP_POLICIES;
    resp->dump_policies = reply;
    reply->n_policies = n;
    reply->policies = n ? xmalloc(n * sizeof *reply->policies) : NULL;
    for (size_t i = 0; i < n; i++) {
        const struct dp_lb_info *info = &infos[i];
        const struct dp_lb_spec *spec = &info->spec;
        struct lb_service svc = { .vip = spec->vip, .port = spec->port, .proto = spec->proto };
        Vswitch__PolicyStats *stats = xmalloc(sizeof *stats);
        Vswitch__Policy *m;

        m = policy_msg(vd, &svc, spec->name, spec->dsr, spec->preserve_dip,
                       spec->source_ranges, spec->n_source_ranges, spec->affinity_timeout,
                       spec->n_backends);
        for (size_t b = 0; b < spec->n_backends; b++) {
            m->backends[b] = backend_msg(spec->backends[b].ip, spec->backends[b].port);
        }
        vswitch__policy_stats__init(stats);
        stats->packets = info->packets;
        stats->bytes = info->bytes;
        stats->connections = info->connections;
        stats->rejected = info->rejected;
        stats->dispatched = info->dispatched;
        stats->active_flow_pairs = info->active_pairs;
        m->stats = stats;
        reply->policies[i] = m;
    }
    dp_lb_info_free(infos, n);
    return resp;
}
