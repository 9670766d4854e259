/* Control command handlers; see control.h.
 *
 * Order of changes: add-port attaches to the datapath first (it is what can fail for reasons
 * only the datapath knows: a missing device, a name clash) and commits the database row
 * second, undoing the attach if the commit fails, so the reply is sent only once the port is
 * both working and durable.  del-port removes the row first, so a reply of success means the
 * port will not come back on restart.  add-lb and del-lb follow the same two rules: a policy
 * is in the datapath and committed before add-lb answers (a failed commit puts back what the
 * datapath had), and it is gone from the database before del-lb answers.
 *
 * The policy handlers split into a pure check (lb_config_from_msg) and an apply step.  Peers
 * and batches go through batch.h, which checks every change before it applies the first: an
 * add-peer or del-peer is a batch of one. */
#include "daemon/control.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "control"
#include "daemon/batch.h"
#include "daemon/db.h"
#include "dp/dp.h"
#include "lib/addr.h"
#include "lib/ctl-msg.h"
#include "lib/lb-config.h"
#include "lib/peer-config.h"
#include "lib/log.h"
#include "lib/util.h"

/* The control protocol's limits are the datapath's. */
_Static_assert(LB_CONFIG_NAME_MAX == DP_LB_NAME_MAX, "policy name limits differ");
_Static_assert(LB_CONFIG_MAX_BACKENDS == DP_LB_MAX_BACKENDS, "backend limits differ");
_Static_assert(LB_CONFIG_MAX_AFFINITY == DP_LB_MAX_AFFINITY, "affinity limits differ");

/* The kernel's rule for interface names (dev_valid_name()).  Returns NULL or what is wrong. */
static const char *ifname_problem(const char *name)
{
    if (!*name) {
        return "empty";
    }
    if (strlen(name) >= IF_NAMESIZE) {
        return "longer than 15 characters";
    }
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        return "not a valid interface name";
    }
    for (const char *p = name; *p; p++) {
        if (*p == '/' || *p == ':' || isspace((unsigned char) *p)) {
            return "contains '/', ':' or white space";
        }
    }
    return NULL;
}

/* Metadata is printed one port per line by `vsctl show`: no control characters. */
static const char *text_problem(const char *s, size_t max)
{
    if (strlen(s) > max) {
        return "too long";
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            return "contains control characters";
        }
    }
    return NULL;
}

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

static Vswitch__Response *handle_show(struct vswitchd *vd)
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

/* Checks an add-port request and fills 'row' from it.  Returns NULL or an error Response. */
static Vswitch__Response *validate_add_port(const struct vswitchd *vd, const Vswitch__AddPort *req,
                                            enum dp_port_type *type, struct db_port *row)
{
    const struct vswitchd_config *cfg = &vd->cfg;
    be32 host_mask = ~cidr_mask(cfg->pod_cidr.prefix);
    const char *problem;

    memset(row, 0, sizeof *row);
    problem = ifname_problem(req->name);
    if (problem) {
        return ctl_msg_response_error(-EINVAL, "invalid port name '%s': %s", req->name,
                                      problem);
    }
    str_copy(row->name, req->name, sizeof row->name);

    if (!*req->type) {
        *type = DP_PORT_VETH;
    } else if (dp_port_type_from_name(req->type, type)
               || (*type != DP_PORT_VETH && *type != DP_PORT_TAP)) {
        return ctl_msg_response_error(-EINVAL, "invalid port type '%s': expected veth or tap",
                                      req->type);
    }
    str_copy(row->type, dp_port_type_name(*type), sizeof row->type);

    if (!*req->ip) {
        return ctl_msg_response_error(-EINVAL, "port %s needs an IP address", req->name);
    }
    if (addr_parse_ip(req->ip, &row->ip)) {
        return ctl_msg_response_error(-EINVAL, "invalid IP address '%s': expected A.B.C.D",
                                      req->ip);
    }
    if (!cidr_contains(&cfg->pod_cidr, row->ip)) {
        char net[IP_STR_LEN];

        return ctl_msg_response_error(-EINVAL, "IP address %s is outside the pod CIDR %s/%d",
                                      req->ip, addr_ip_str(cfg->pod_cidr.net, net),
                                      cfg->pod_cidr.prefix);
    }
    if (row->ip == cfg->gateway) {
        return ctl_msg_response_error(-EINVAL, "IP address %s is the gateway's", req->ip);
    }
    /* /31 and /32 have no network or broadcast address (RFC 3021). */
    if (cfg->pod_cidr.prefix < 31
        && ((row->ip & host_mask) == 0 || (row->ip & host_mask) == host_mask)) {
        return ctl_msg_response_error(-EINVAL, "IP address %s is the pod CIDR's %s address",
                                      req->ip, row->ip & host_mask ? "broadcast" : "network");
    }

    if (*req->mac) {
        if (addr_parse_mac(req->mac, &row->mac)) {
            return ctl_msg_response_error(-EINVAL, "invalid MAC address '%s': expected "
                                          "xx:xx:xx:xx:xx:xx", req->mac);
        }
        if (eth_addr_is_multicast(row->mac) || eth_addr_is_zero(row->mac)) {
            return ctl_msg_response_error(-EINVAL, "MAC address %s is not a unicast address",
                                          req->mac);
        }
        if (eth_addr_equals(row->mac, cfg->router_mac)) {
            return ctl_msg_response_error(-EINVAL, "MAC address %s is the switch's own "
                                          "router MAC", req->mac);
        }
        row->has_mac = true;
    }

    if ((problem = text_problem(req->pod_namespace, DB_POD_NAMESPACE_MAX))
        || (problem = text_problem(req->pod_name, DB_POD_NAME_MAX))
        || (problem = text_problem(req->container_id, DB_CONTAINER_ID_MAX))) {
        return ctl_msg_response_error(-EINVAL, "invalid pod metadata: %s", problem);
    }
    if (*req->ifname && (problem = ifname_problem(req->ifname))) {
        return ctl_msg_response_error(-EINVAL, "invalid pod interface name '%s': %s",
                                      req->ifname, problem);
    }
    str_copy(row->pod_namespace, req->pod_namespace, sizeof row->pod_namespace);
    str_copy(row->pod_name, req->pod_name, sizeof row->pod_name);
    str_copy(row->container_id, req->container_id, sizeof row->container_id);
    str_copy(row->ifname, req->ifname, sizeof row->ifname);
    return NULL;
}

/* Fails with EEXIST, naming the holder, if the name or IP is taken by an attached port. */
static Vswitch__Response *check_unused(struct vswitchd *vd, const struct db_port *row)
{
    Vswitch__Response *resp = NULL;
    struct dp_port_info *ports;
    size_t n;
    int error;

    error = dp_port_list(vd->dp, &ports, &n);
    if (error) {
        return ctl_msg_response_error(error, "cannot list the datapath's ports: %s",
                                      strerror(-error));
    }
    for (size_t i = 0; i < n && !resp; i++) {
        char ip[IP_STR_LEN];

        if (!strcmp(ports[i].name, row->name)) {
            resp = ctl_msg_response_error(-EEXIST, "port %s already exists", row->name);
        } else if (ports[i].ip == row->ip) {
            resp = ctl_msg_response_error(-EEXIST, "IP address %s is already used by port %s",
                                          addr_ip_str(row->ip, ip), ports[i].name);
        }
    }
    free(ports);
    return resp;
}

/* The datapath's view of port 'name' as a message, with 'row''s metadata. */
static Vswitch__Port *port_msg_by_name(struct vswitchd *vd, const char *name,
                                       const struct db_port *row)
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

static Vswitch__Response *handle_add_port(struct vswitchd *vd, const Vswitch__AddPort *req)
{
    Vswitch__Response *resp;
    Vswitch__AddPortReply *reply;
    enum dp_port_type type;
    struct db_port row;
    char err[256], ip[IP_STR_LEN];
    int error, replaced;

    resp = validate_add_port(vd, req, &type, &row);
    if (!resp) {
        resp = check_unused(vd, &row);
    }
    if (resp) {
        return resp;
    }

    err[0] = '\0';
    error = dp_port_add(vd->dp, row.name, type, row.ip, row.has_mac ? &row.mac : NULL, false,
                        err, sizeof err);
    if (error) {
        return ctl_msg_response_error(error, "cannot add port %s: %s", row.name,
                                      *err ? err : strerror(-error));
    }
    error = db_port_insert(vd->db, &row, &replaced, err, sizeof err);
    if (error) {
        LOG_ERR("port %s: %s; detaching it again", row.name, err);
        dp_port_del(vd->dp, row.name);
        return ctl_msg_response_error(error, "cannot store port %s: %s", row.name, err);
    }
    if (replaced) {
        LOG_WARN("port %s replaced %d stale database row(s) with its name or IP", row.name,
                 replaced);
    }
    LOG_INFO("added port %s (%s, %s%s%s%s%s)", row.name, row.type, addr_ip_str(row.ip, ip),
             *row.pod_name ? ", pod " : "", row.pod_namespace,
             *row.pod_name ? "/" : "", row.pod_name);

    resp = ctl_msg_response_new();
    reply = xmalloc(sizeof *reply);
    vswitch__add_port_reply__init(reply);
    reply->port = port_msg_by_name(vd, row.name, &row);
    resp->reply_case = VSWITCH__RESPONSE__REPLY_ADD_PORT;
    resp->add_port = reply;
    return resp;
}

static Vswitch__Response *handle_del_port(struct vswitchd *vd, const Vswitch__DelPort *req)
{
    const char *name = req->name;
    char err[256];
    int db_error, dp_error;

    if (!*name) {
        return ctl_msg_response_error(-EINVAL, "del-port needs a port name");
    }
    if (!strcmp(name, VSWITCHD_HOST_PORT)) {
        return ctl_msg_response_error(-EPERM, "%s is the host port; it cannot be deleted",
                                      name);
    }
    db_error = db_port_delete(vd->db, name, err, sizeof err);
    if (db_error && db_error != -ENOENT) {
        return ctl_msg_response_error(db_error, "cannot delete port %s: %s", name, err);
    }
    dp_error = dp_port_del(vd->dp, name);
    if (dp_error == -ENOENT) {
        if (db_error) {
            return ctl_msg_response_error(-ENOENT, "no port named %s", name);
        }
        LOG_INFO("deleted port %s (it was stored but not attached)", name);
        return ctl_msg_response_new();
    }
    if (dp_error) {
        LOG_ERR("port %s: removed from the database but the datapath failed to detach it: %s",
                name, strerror(-dp_error));
        return ctl_msg_response_error(dp_error, "cannot detach port %s: %s", name,
                                      strerror(-dp_error));
    }
    LOG_INFO("deleted port %s", name);
    return ctl_msg_response_new();
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

static Vswitch__Response *handle_dump_flows(struct vswitchd *vd)
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

/* ---- Load-balancing policies ---- */

static struct lb_config_env lb_env(const struct vswitchd *vd)
{
    struct lb_config_env env = { .pod_cidr = vd->cfg.pod_cidr, .gateway = vd->cfg.gateway };

    return env;
}

void control_policy_spec(const struct lb_config *p, struct dp_lb_spec *spec)
{
    struct dp_lb_backend *backends = xmalloc((p->n_backends + 1) * sizeof *backends);

    for (size_t i = 0; i < p->n_backends; i++) {
        backends[i].ip = p->backends[i].ip;
        backends[i].port = p->backends[i].port;
    }
    *spec = (struct dp_lb_spec) {
        .vip = p->service.vip,
        .port = p->service.port,
        .proto = p->service.proto,
        .dsr = p->dsr,
        .affinity_timeout = p->affinity_timeout,
        .n_backends = p->n_backends,
        .backends = backends,
    };
    str_copy(spec->name, p->name, sizeof spec->name);
}

int control_policy_install(struct vswitchd *vd, const struct lb_config *p, char *err,
                           size_t errlen)
{
    struct dp_lb_spec spec;
    int error;

    control_policy_spec(p, &spec);
    err[0] = '\0';
    error = dp_lb_set(vd->dp, &spec, err, errlen);
    if (error && !*err) {
        snprintf(err, errlen, "%s", strerror(-error));
    }
    free((void *) spec.backends);
    return error;
}

/* A Policy message without backends or counters. */
static Vswitch__Policy *policy_msg(const struct vswitchd *vd, const struct lb_service *svc,
                                   const char *name, bool dsr, uint32_t affinity_timeout,
                                   size_t n_backends)
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

static Vswitch__Response *handle_add_lb(struct vswitchd *vd, const Vswitch__AddLb *req)
{
    struct lb_config_env env = lb_env(vd);
    char err[512], dp_err[256], svc[LB_SERVICE_STR_LEN];
    struct lb_config p, old;
    Vswitch__Response *resp;
    Vswitch__AddLbReply *reply;
    bool replaced;
    int error, old_error;

    error = lb_config_from_msg(req, &env, &p, err, sizeof err);
    if (error) {
        return ctl_msg_response_error(error, "%s", err);
    }
    lb_service_str(&p.service, svc);

    /* What to put back if the commit fails. */
    old_error = db_policy_get(vd->db, &p.service, &old, err, sizeof err);
    if (old_error && old_error != -ENOENT) {
        lb_config_destroy(&p);
        return ctl_msg_response_error(old_error, "%s", err);
    }
    error = control_policy_install(vd, &p, dp_err, sizeof dp_err);
    if (error) {
        resp = ctl_msg_response_error(error, "cannot install policy %s: %s", svc, dp_err);
        goto out;
    }
    error = db_policy_put(vd->db, &p, &replaced, err, sizeof err);
    if (error) {
        LOG_ERR("policy %s: %s; undoing the datapath change", svc, err);
        if (!old_error) {
            if (control_policy_install(vd, &old, dp_err, sizeof dp_err)) {
                LOG_ERR("policy %s: cannot put the previous version back: %s", svc, dp_err);
            }
        } else {
            dp_lb_del(vd->dp, p.service.vip, p.service.port, p.service.proto);
        }
        resp = ctl_msg_response_error(error, "cannot store policy %s: %s", svc, err);
        goto out;
    }
    LOG_INFO("%s policy %s for %s: %zu backend(s), %s%s", replaced ? "replaced" : "added",
             p.name, svc, p.n_backends, p.dsr ? "DSR" : "SNAT to the gateway",
             p.affinity_timeout ? ", ClientIP affinity" : "");

    resp = ctl_msg_response_new();
    reply = xmalloc(sizeof *reply);
    vswitch__add_lb_reply__init(reply);
    reply->policy = policy_msg(vd, &p.service, p.name, p.dsr, p.affinity_timeout, p.n_backends);
    for (size_t i = 0; i < p.n_backends; i++) {
        reply->policy->backends[i] = backend_msg(p.backends[i].ip, p.backends[i].port);
    }
    reply->replaced = replaced;
    resp->reply_case = VSWITCH__RESPONSE__REPLY_ADD_LB;
    resp->add_lb = reply;
out:
    if (!old_error) {
        lb_config_destroy(&old);
    }
    lb_config_destroy(&p);
    return resp;
}

static Vswitch__Response *handle_del_lb(struct vswitchd *vd, const Vswitch__DelLb *req)
{
    char err[512], svc[LB_SERVICE_STR_LEN];
    struct lb_service key;
    int db_error, dp_error;

    /* Only the syntax: a policy stored under an older --pod-cidr must still be removable. */
    if (lb_service_parse(req->service, NULL, &key, err, sizeof err)) {
        return ctl_msg_response_error(-EINVAL, "%s", err);
    }
    lb_service_str(&key, svc);
    db_error = db_policy_delete(vd->db, &key, err, sizeof err);
    if (db_error && db_error != -ENOENT) {
        return ctl_msg_response_error(db_error, "cannot delete policy %s: %s", svc, err);
    }
    dp_error = dp_lb_del(vd->dp, key.vip, key.port, key.proto);
    if (dp_error == -ENOENT) {
        if (db_error) {
            return ctl_msg_response_error(-ENOENT, "no policy for %s", svc);
        }
        LOG_INFO("deleted policy for %s (it was stored but not installed)", svc);
        return ctl_msg_response_new();
    }
    if (dp_error) {
        LOG_ERR("policy %s: removed from the database but the datapath failed to delete it: "
                "%s", svc, strerror(-dp_error));
        return ctl_msg_response_error(dp_error, "cannot delete policy %s: %s", svc,
                                      strerror(-dp_error));
    }
    LOG_INFO("deleted policy for %s", svc);
    return ctl_msg_response_new();
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

static Vswitch__Response *handle_dump_policies(struct vswitchd *vd)
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

        m = policy_msg(vd, &svc, spec->name, spec->dsr, spec->affinity_timeout,
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

/* ---- Overlay peers and batches ---- */

/* Runs the one operation 'op' as a batch of its own (batch.h, "single"). */
static int apply_one(struct vswitchd *vd, Vswitch__BatchOp *op, struct batch_result *result,
                     char *err, size_t errlen)
{
    Vswitch__Batch batch = VSWITCH__BATCH__INIT;

    batch.n_ops = 1;
    batch.ops = &op;
    return batch_apply(vd, &batch, true, result, err, errlen);
}

static Vswitch__Response *handle_add_peer(struct vswitchd *vd, Vswitch__AddPeer *req)
{
    Vswitch__BatchOp op = VSWITCH__BATCH_OP__INIT;
    Vswitch__AddPeerReply *reply;
    struct batch_result result;
    struct dp_peer_info *peers;
    Vswitch__Response *resp;
    char err[1024];
    size_t n;
    int error;

    op.op_case = VSWITCH__BATCH_OP__OP_ADD_PEER;
    op.add_peer = req;
    error = apply_one(vd, &op, &result, err, sizeof err);
    if (error) {
        return ctl_msg_response_error(error, "%s", err);
    }
    LOG_INFO("%s peer %s with pod CIDR %s", result.unchanged ? "kept" :
             result.replaced ? "changed" : "added", req->node_ip, req->pod_cidr);

    resp = ctl_msg_response_new();
    reply = xmalloc(sizeof *reply);
    vswitch__add_peer_reply__init(reply);
    reply->replaced = result.replaced > 0;
    resp->reply_case = VSWITCH__RESPONSE__REPLY_ADD_PEER;
    resp->add_peer = reply;
    if (!dp_peer_list(vd->dp, &peers, &n)) {
        be32 node_ip;

        addr_parse_ip(req->node_ip, &node_ip);
        for (size_t i = 0; i < n && !reply->peer; i++) {
            if (peers[i].node_ip == node_ip) {
                reply->peer = peer_to_msg(&peers[i]);
            }
        }
        free(peers);
    }
    return resp;
}

static Vswitch__Response *handle_del_peer(struct vswitchd *vd, Vswitch__DelPeer *req)
{
    Vswitch__BatchOp op = VSWITCH__BATCH_OP__INIT;
    struct batch_result result;
    char err[1024];
    int error;

    op.op_case = VSWITCH__BATCH_OP__OP_DEL_PEER;
    op.del_peer = req;
    error = apply_one(vd, &op, &result, err, sizeof err);
    if (error) {
        return ctl_msg_response_error(error, "%s", err);
    }
    LOG_INFO("deleted peer %s%s", req->node_ip,
             result.absent ? " (it was stored but not installed)" : "");
    return ctl_msg_response_new();
}

static Vswitch__Response *handle_batch(struct vswitchd *vd, const Vswitch__Batch *req)
{
    Vswitch__BatchReply *reply = xmalloc(sizeof *reply);
    struct batch_result result;
    Vswitch__Response *resp;
    char err[1024];
    int error;

    error = batch_apply(vd, req, false, &result, err, sizeof err);
    resp = error ? ctl_msg_response_error(error, "%s", err) : ctl_msg_response_new();
    if (error) {
        LOG_WARN("batch of %zu op(s) refused: %s", req->n_ops, err);
    }
    vswitch__batch_reply__init(reply);
    reply->applied = result.applied;
    reply->unchanged = result.unchanged;
    reply->absent = result.absent;
    reply->failed_op = result.failed_op;
    resp->reply_case = VSWITCH__RESPONSE__REPLY_BATCH;
    resp->batch = reply;
    return resp;
}

Vswitch__Response *control_handle(const Vswitch__Request *req, void *vd_)
{
    struct vswitchd *vd = vd_;

    switch (req->command_case) {
    case VSWITCH__REQUEST__COMMAND_SHOW:
        return handle_show(vd);
    case VSWITCH__REQUEST__COMMAND_ADD_PORT:
        return handle_add_port(vd, req->add_port);
    case VSWITCH__REQUEST__COMMAND_DEL_PORT:
        return handle_del_port(vd, req->del_port);
    case VSWITCH__REQUEST__COMMAND_DUMP_FLOWS:
        return handle_dump_flows(vd);
    case VSWITCH__REQUEST__COMMAND_FLUSH_FLOWS:
        /* The cache only: flow pairs are the connections' state, not a cache, and
         * forgetting them would reset every connection whose server speaks next. */
        dp_flow_flush(vd->dp);
        LOG_INFO("flow cache flushed");
        return ctl_msg_response_new();
    case VSWITCH__REQUEST__COMMAND_ADD_LB:
        return handle_add_lb(vd, req->add_lb);
    case VSWITCH__REQUEST__COMMAND_DEL_LB:
        return handle_del_lb(vd, req->del_lb);
    case VSWITCH__REQUEST__COMMAND_DUMP_POLICIES:
        return handle_dump_policies(vd);
    case VSWITCH__REQUEST__COMMAND_ADD_PEER:
        return handle_add_peer(vd, req->add_peer);
    case VSWITCH__REQUEST__COMMAND_DEL_PEER:
        return handle_del_peer(vd, req->del_peer);
    case VSWITCH__REQUEST__COMMAND_BATCH:
        return handle_batch(vd, req->batch);
    case VSWITCH__REQUEST__COMMAND__NOT_SET:
    default:
        /* An unknown command unpacks as an unknown field, leaving the case unset. */
        return ctl_msg_response_error(-EOPNOTSUPP, "unknown or empty command (is the client "
                                      "newer than vswitchd %s?)", VSWITCH_VERSION);
    }
}

int control_restore_ports(struct vswitchd *vd, char *err, size_t errlen)
{
    struct db_port *rows;
    size_t n;
    int error, restored = 0;

    error = db_port_list(vd->db, &rows, &n, err, errlen);
    if (error) {
        return error;
    }
    for (size_t i = 0; i < n; i++) {
        const struct db_port *row = &rows[i];
        enum dp_port_type type;
        char dp_err[256] = "";

        if (dp_port_type_from_name(row->type, &type)) {
            LOG_ERR("stored port %s has unknown type '%s'; not restored", row->name, row->type);
            continue;
        }
        if (!cidr_contains(&vd->cfg.pod_cidr, row->ip) || row->ip == vd->cfg.gateway) {
            char ip[IP_STR_LEN];

            LOG_ERR("stored port %s has IP address %s, which does not fit --pod-cidr any more; "
                    "not restored (del-port removes it)", row->name, addr_ip_str(row->ip, ip));
            continue;
        }
        error = dp_port_add(vd->dp, row->name, type, row->ip, row->has_mac ? &row->mac : NULL,
                            true, dp_err, sizeof dp_err);
        if (error) {
            LOG_ERR("cannot restore port %s: %s", row->name,
                    *dp_err ? dp_err : strerror(-error));
            continue;
        }
        restored++;
    }
    free(rows);
    return restored;
}

int control_restore_policies(struct vswitchd *vd, char *err, size_t errlen)
{
    struct lb_config_env env = lb_env(vd);
    struct dp_lb_change *changes;
    struct lb_config *policies;
    size_t n, n_changes = 0, failed;
    int error, restored;

    error = db_policy_list(vd->db, &policies, &n, err, errlen);
    if (error) {
        return error;
    }
    changes = xcalloc(n + 1, sizeof *changes);
    for (size_t i = 0; i < n; i++) {
        const struct lb_config *p = &policies[i];
        char msg[512], svc[LB_SERVICE_STR_LEN];

        lb_service_str(&p->service, svc);
        if (lb_service_check_env(&p->service, &env, msg, sizeof msg)) {
            LOG_ERR("stored policy %s: %s; not restored (del-lb %s removes it)", p->name, msg,
                    svc);
            continue;
        }
        control_policy_spec(p, &changes[n_changes++].spec);
    }
    /* All at once: thousands of services restore in one pass of the datapath.  One the
     * datapath refuses is left out, with a log line, and the rest go in. */
    while (dp_lb_apply(vd->dp, changes, n_changes, &failed, err, errlen)) {
        LOG_ERR("cannot restore policy %s: %s", changes[failed].spec.name, err);
        free((void *) changes[failed].spec.backends);
        changes[failed] = changes[--n_changes];
    }
    restored = n_changes;
    for (size_t i = 0; i < n_changes; i++) {
        free((void *) changes[i].spec.backends);
    }
    free(changes);
    db_policy_list_free(policies, n);
    return restored;
}

int control_restore_peers(struct vswitchd *vd, char *err, size_t errlen)
{
    struct peer_config_env env = { .node_ip = vd->cfg.node_ip, .pod_cidr = vd->cfg.pod_cidr };
    struct peer_config *peers;
    size_t n, restored = 0;
    int error;

    error = db_peer_list(vd->db, &peers, &n, err, errlen);
    if (error) {
        return error;
    }
    if (n && !vd->cfg.node_ip) {
        LOG_WARN("%zu stored peer(s) not restored: vswitchd was started without --node-ip "
                 "(they come back with it; del-peer removes them)", n);
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct peer_config *p = &peers[i];
        char msg[512], ip[IP_STR_LEN], cidr[IP_STR_LEN];

        addr_ip_str(p->node_ip, ip);
        peer_cidr_str(&p->pod_cidr, cidr);
        /* Against this node as configured now, and the peers restored so far (moved to the
         * front of 'peers'). */
        if (peer_config_check_env(p, &env, msg, sizeof msg)
            || peer_config_check_table(p, peers, restored, msg, sizeof msg)) {
            LOG_ERR("stored peer %s (pod CIDR %s): %s; not restored (del-peer %s removes it)",
                    ip, cidr, msg, ip);
            continue;
        }
        msg[0] = '\0';
        error = dp_peer_set(vd->dp, p->node_ip, &p->pod_cidr, msg, sizeof msg);
        if (error) {
            LOG_ERR("cannot restore peer %s (pod CIDR %s): %s", ip, cidr,
                    *msg ? msg : strerror(-error));
            continue;
        }
        peers[restored++] = *p;
    }
    free(peers);
    return restored;
}
