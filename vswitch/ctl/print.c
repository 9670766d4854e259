/* vsctl's output; see print.h. */
#include "ctl/print.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void print_json(json_t *root)
{
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
}

static json_t *port_json(const Vswitch__Port *p)
{
    json_t *port = json_object();
    const Vswitch__PortStats *s = p->stats;

    json_object_set_new(port, "name", json_string(p->name));
    json_object_set_new(port, "port_no", json_integer(p->port_no));
    json_object_set_new(port, "type", json_string(p->type));
    json_object_set_new(port, "ip", json_string(p->ip));
    json_object_set_new(port, "mac", *p->mac ? json_string(p->mac) : json_null());
    json_object_set_new(port, "mac_learned", json_boolean(p->mac_learned));
    json_object_set_new(port, "up", json_boolean(p->up));
    json_object_set_new(port, "pod_namespace", json_string(p->pod_namespace));
    json_object_set_new(port, "pod_name", json_string(p->pod_name));
    json_object_set_new(port, "container_id", json_string(p->container_id));
    json_object_set_new(port, "ifname", json_string(p->ifname));
    if (s) {
        json_object_set_new(port, "stats", json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I}",
            "rx_packets", (json_int_t) s->rx_packets, "rx_bytes", (json_int_t) s->rx_bytes,
            "rx_dropped", (json_int_t) s->rx_dropped, "tx_packets", (json_int_t) s->tx_packets,
            "tx_bytes", (json_int_t) s->tx_bytes, "tx_dropped", (json_int_t) s->tx_dropped));
    }
    return port;
}

static void print_port_text(const Vswitch__Port *p)
{
    const Vswitch__PortStats *s = p->stats;
    Vswitch__PortStats zero = VSWITCH__PORT_STATS__INIT;

    if (!s) {
        s = &zero;
    }
    printf("port %" PRIu32 " %s: type=%s ip=%s mac=%s%s state=%s", p->port_no, p->name,
           p->type, *p->ip ? p->ip : "-", *p->mac ? p->mac : (p->mac_learned ? "learning" : "-"),
           *p->mac && p->mac_learned ? "(learned)" : "", p->up ? "up" : "down");
    if (*p->pod_name) {
        printf(" pod=%s%s%s", p->pod_namespace, *p->pod_namespace ? "/" : "", p->pod_name);
    }
    printf(" rx_packets=%" PRIu64 " rx_bytes=%" PRIu64 " rx_drops=%" PRIu64
           " tx_packets=%" PRIu64 " tx_bytes=%" PRIu64 " tx_drops=%" PRIu64 "\n",
           s->rx_packets, s->rx_bytes, s->rx_dropped, s->tx_packets, s->tx_bytes,
           s->tx_dropped);
}

static json_t *peer_json(const Vswitch__Peer *p)
{
    return json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I}}", "node_ip", p->node_ip,
                     "pod_cidr", p->pod_cidr, "stats",
                     "tx_packets", (json_int_t) p->tx_packets,
                     "tx_bytes", (json_int_t) p->tx_bytes,
                     "rx_packets", (json_int_t) p->rx_packets,
                     "rx_bytes", (json_int_t) p->rx_bytes);
}

static void print_peer_text(const Vswitch__Peer *p)
{
    printf("peer %s: pod_cidr=%s tx_packets=%" PRIu64 " tx_bytes=%" PRIu64 " rx_packets=%"
           PRIu64 " rx_bytes=%" PRIu64 "\n", p->node_ip, p->pod_cidr, p->tx_packets,
           p->tx_bytes, p->rx_packets, p->rx_bytes);
}

static json_t *strings_json(char **v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_string(v[i]));
    }
    return a;
}

static json_t *nodeport_json(const Vswitch__NodePortInfo *np)
{
    if (!np) {
        return json_null();
    }
    return json_pack("{s:s, s:o, s:o, s:b, s:I, s:I, s:I}", "steering", np->steering,
                     "addresses", strings_json(np->addresses, np->n_addresses),
                     "uplinks", strings_json(np->uplinks, np->n_uplinks),
                     "local", np->local,
                     "entries", (json_int_t) np->entries,
                     "steered", (json_int_t) np->steered,
                     "own_socket", (json_int_t) np->own_socket);
}

/* "a,b,c", or "-" for none. */
static void print_list(char **v, size_t n)
{
    if (!n) {
        fputs("-", stdout);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%s%s", i ? "," : "", v[i]);
    }
}

static void print_nodeport_text(const Vswitch__NodePortInfo *np)
{
    if (!np) {
        return;
    }
    printf("nodeport: steering=%s uplinks=", np->steering);
    print_list(np->uplinks, np->n_uplinks);
    printf(" local=%s", np->local ? "lo" : "-");
    fputs(" addresses=", stdout);
    print_list(np->addresses, np->n_addresses);
    printf(" entries=%" PRIu64 " steered=%" PRIu64 " own_socket=%" PRIu64 "\n", np->entries,
           np->steered, np->own_socket);
}

static void print_show(const Vswitch__ShowReply *show, bool json)
{
    const Vswitch__DaemonInfo *d = show->daemon;
    Vswitch__DaemonInfo empty = VSWITCH__DAEMON_INFO__INIT;
    bool any_drops = false;

    if (!d) {
        d = &empty;
    }
    if (json) {
        json_t *root = json_object(), *ports = json_array(), *drops = json_object();

        json_t *peers = json_array();

        json_object_set_new(root, "daemon", json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:i, s:i, s:o, s:s, s:I, s:I, s:I, s:I, s:i, s:o, s:o,"
            " s:b}",
            "version", d->version, "pod_cidr", d->pod_cidr, "gateway", d->gateway,
            "router_mac", d->router_mac,
            "node_ip", *d->node_ip ? json_string(d->node_ip) : json_null(),
            "vni", (int) d->vni, "vxlan_port", (int) d->vxlan_port,
            "overlay_mtu", d->overlay_mtu ? json_integer(d->overlay_mtu) : json_null(),
            "host_port", d->host_port,
            "uptime_ms", (json_int_t) d->uptime_ms,
            "flow_cache_size", (json_int_t) d->flow_cache_size,
            "max_flow_pairs", (json_int_t) d->max_flow_pairs,
            "max_flow_pairs_per_pod", (json_int_t) d->max_flow_pairs_per_pod,
            "flow_ttl", (int) d->flow_ttl,
            "cluster_cidr", *d->cluster_cidr ? json_string(d->cluster_cidr) : json_null(),
            "service_cidr", *d->service_cidr ? json_string(d->service_cidr) : json_null(),
            "masquerade", (int) d->masquerade));
        for (size_t i = 0; i < show->n_ports; i++) {
            json_array_append_new(ports, port_json(show->ports[i]));
        }
        json_object_set_new(root, "ports", ports);
        for (size_t i = 0; i < show->n_peers; i++) {
            json_array_append_new(peers, peer_json(show->peers[i]));
        }
        json_object_set_new(root, "peers", peers);
        for (size_t i = 0; i < show->n_drops; i++) {
            json_object_set_new(drops, show->drops[i]->reason,
                                json_integer(show->drops[i]->packets));
        }
        json_object_set_new(root, "drops", drops);
        json_object_set_new(root, "n_policies", json_integer(show->n_policies));
        json_object_set_new(root, "n_flows", json_integer(show->n_flows));
        json_object_set_new(root, "n_flow_pairs", json_integer(show->n_flow_pairs));
        json_object_set_new(root, "flow_evictions", json_integer(show->flow_evictions));
        json_object_set_new(root, "flow_pair_evictions",
                            json_integer(show->flow_pair_evictions));
        json_object_set_new(root, "flow_pair_evictions_by", json_pack(
            "{s:I, s:I, s:I, s:I}",
            "closed", (json_int_t) show->flow_pair_evictions_closed,
            "unassured", (json_int_t) show->flow_pair_evictions_unassured,
            "pod_quota", (json_int_t) show->flow_pair_evictions_pod_quota,
            "idle", (json_int_t) show->flow_pair_evictions_idle));
        json_object_set_new(root, "n_flow_pair_sources",
                            json_integer(show->n_flow_pair_sources));
        json_object_set_new(root, "n_dispatch_entries", json_integer(show->n_dispatch_entries));
        json_object_set_new(root, "offload", json_pack(
            "{s:s, s:I, s:I, s:I}", "mode", show->offload,
            "n_flows_tc", (json_int_t) show->n_flows_tc,
            "packets_tc", (json_int_t) show->packets_tc,
            "packets_user", (json_int_t) show->packets_user));
        json_object_set_new(root, "nodeport", nodeport_json(show->nodeport));
        print_json(root);
        return;
    }

    printf("vswitchd %s: pod_cidr=%s gateway=%s router_mac=%s node_ip=%s vni=%" PRIu32
           " vxlan_port=%" PRIu32, d->version, d->pod_cidr, d->gateway, d->router_mac,
           *d->node_ip ? d->node_ip : "-", d->vni, d->vxlan_port);
    if (d->overlay_mtu) {
        printf(" overlay_mtu=%" PRIu32 "\n", d->overlay_mtu);
    } else {
        printf(" overlay_mtu=-\n");
    }
    if (*d->cluster_cidr || *d->service_cidr) {
        printf("cluster: cluster_cidr=%s service_cidr=%s masquerade=%s\n",
               *d->cluster_cidr ? d->cluster_cidr : "-", *d->service_cidr ? d->service_cidr : "-",
               d->masquerade ? "nftables(ip vswitch)" : "off");
    }
    for (size_t i = 0; i < show->n_ports; i++) {
        print_port_text(show->ports[i]);
    }
    for (size_t i = 0; i < show->n_peers; i++) {
        print_peer_text(show->peers[i]);
    }
    printf("policies: %" PRIu32 "\n", show->n_policies);
    printf("flows: %" PRIu64 " (max %" PRIu64 "), flow pairs: %" PRIu64, show->n_flows,
           d->flow_cache_size, show->n_flow_pairs);
    if (show->n_dispatch_entries) {
        printf(" and %" PRIu64 " dispatch entries", show->n_dispatch_entries);
    }
    printf(" from %" PRIu64 " client(s) (max %" PRIu64, show->n_flow_pair_sources,
           d->max_flow_pairs);
    if (d->max_flow_pairs_per_pod) {
        printf(", %" PRIu64 " per pod", d->max_flow_pairs_per_pod);
    }
    printf(", ttl %" PRIu32 "s)", d->flow_ttl);
    if (show->flow_evictions || show->flow_pair_evictions) {
        printf(", evicted: %" PRIu64 " flows, %" PRIu64 " flow pairs", show->flow_evictions,
               show->flow_pair_evictions);
    }
    if (show->flow_pair_evictions) {
        printf(" (closed %" PRIu64 ", unassured %" PRIu64 ", pod quota %" PRIu64
               ", idle %" PRIu64 ")", show->flow_pair_evictions_closed,
               show->flow_pair_evictions_unassured, show->flow_pair_evictions_pod_quota,
               show->flow_pair_evictions_idle);
    }
    putchar('\n');
    printf("offload: %s, flows dp=tc %" PRIu64 " dp=user %" PRIu64 ", packets dp=tc %" PRIu64
           " dp=user %" PRIu64 "\n", show->offload, show->n_flows_tc,
           show->n_flows - show->n_flows_tc, show->packets_tc,
           show->packets_user);
    print_nodeport_text(show->nodeport);
    for (size_t i = 0; i < show->n_drops; i++) {
        if (show->drops[i]->packets) {
            printf("%s %s=%" PRIu64, any_drops ? "" : "drops:", show->drops[i]->reason,
                   show->drops[i]->packets);
            any_drops = true;
        }
    }
    if (any_drops) {
        putchar('\n');
    }
}

/* "12.3s": milliseconds as seconds with one decimal, rounded down. */
static const char *secs_str(uint64_t ms, char buf[32])
{
    snprintf(buf, 32, "%" PRIu64 ".%" PRIu64 "s", ms / 1000, ms % 1000 / 100);
    return buf;
}

static json_t *tuple_json(const Vswitch__FlowTuple *t)
{
    Vswitch__FlowTuple empty = VSWITCH__FLOW_TUPLE__INIT;

    if (!t) {
        t = &empty;
    }
    return json_pack("{s:s, s:s, s:i, s:i}", "src", t->src, "dst", t->dst,
                     "sport", (int) t->sport, "dport", (int) t->dport);
}

/* "(src=A,dst=B,sport=N,dport=M)", or "(src=A,dst=B,id=N)" for ICMP. */
static void print_tuple(const char *label, const char *protocol, const Vswitch__FlowTuple *t)
{
    Vswitch__FlowTuple empty = VSWITCH__FLOW_TUPLE__INIT;

    if (!t) {
        t = &empty;
    }
    printf("%s=(src=%s,dst=%s,", label, t->src, t->dst);
    if (!strcmp(protocol, "icmp")) {
        printf("id=%" PRIu32 ")", t->sport);
    } else {
        printf("sport=%" PRIu32 ",dport=%" PRIu32 ")", t->sport, t->dport);
    }
}

static void print_flows(const Vswitch__DumpFlowsReply *reply, bool json)
{
    char idle[32], ttl[32];

    if (json) {
        json_t *flows = json_array(), *pairs = json_array(), *entries = json_array();

        for (size_t i = 0; i < reply->n_flows; i++) {
            const Vswitch__Flow *f = reply->flows[i];

            json_array_append_new(flows, json_pack(
                "{s:s, s:s, s:I, s:I, s:I, s:s}", "match", f->match, "actions", f->actions,
                "packets", (json_int_t) f->packets, "bytes", (json_int_t) f->bytes,
                "idle_ms", (json_int_t) f->idle_ms, "dp", f->dp));
        }
        for (size_t i = 0; i < reply->n_flow_pairs; i++) {
            const Vswitch__FlowPair *fp = reply->flow_pairs[i];

            json_array_append_new(pairs, json_pack(
                "{s:s, s:i, s:o, s:o, s:s, s:b, s:s, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I}",
                "protocol", fp->protocol, "protocol_number", (int) fp->protocol_number,
                "orig", tuple_json(fp->orig), "reply", tuple_json(fp->reply),
                "policy", fp->policy, "dsr", fp->dsr, "state", fp->state,
                "packets", "orig", (json_int_t) fp->orig_packets,
                "reply", (json_int_t) fp->reply_packets,
                "bytes", "orig", (json_int_t) fp->orig_bytes,
                "reply", (json_int_t) fp->reply_bytes,
                "idle_ms", (json_int_t) fp->idle_ms, "ttl_ms", (json_int_t) fp->ttl_ms));
        }
        for (size_t i = 0; i < reply->n_dispatch_entries; i++) {
            const Vswitch__DispatchEntry *d = reply->dispatch_entries[i];

            json_array_append_new(entries, json_pack(
                "{s:s, s:i, s:o, s:{s:s, s:i}, s:s, s:s, s:I, s:I, s:I, s:I}",
                "protocol", d->protocol, "protocol_number", (int) d->protocol_number,
                "orig", tuple_json(d->orig), "backend", "ip", d->backend,
                "port", (int) d->backend_port, "policy", d->policy, "state", d->state,
                "packets", (json_int_t) d->packets, "bytes", (json_int_t) d->bytes,
                "idle_ms", (json_int_t) d->idle_ms, "ttl_ms", (json_int_t) d->ttl_ms));
        }
        print_json(json_pack("{s:o, s:o, s:o}", "flows", flows, "flow_pairs", pairs,
                             "dispatch_entries", entries));
        return;
    }
    for (size_t i = 0; i < reply->n_flows; i++) {
        const Vswitch__Flow *f = reply->flows[i];

        printf("%s packets=%" PRIu64 ", bytes=%" PRIu64 ", idle_age=%s, dp=%s, actions=%s\n",
               f->match, f->packets, f->bytes, secs_str(f->idle_ms, idle), f->dp, f->actions);
    }
    /* As ovs-appctl dpctl/dump-conntrack: the protocol, then each direction's tuple. */
    for (size_t i = 0; i < reply->n_flow_pairs; i++) {
        const Vswitch__FlowPair *fp = reply->flow_pairs[i];

        printf("flow-pair %s,", fp->protocol);
        print_tuple("orig", fp->protocol, fp->orig);
        putchar(',');
        print_tuple("reply", fp->protocol, fp->reply);
        printf(",policy=%s,dsr=%s,state=%s packets=%" PRIu64 "/%" PRIu64 ", bytes=%" PRIu64
               "/%" PRIu64 ", idle_age=%s, ttl=%s\n", *fp->policy ? fp->policy : "-",
               fp->dsr ? "yes" : "no", *fp->state ? fp->state : "-", fp->orig_packets,
               fp->reply_packets, fp->orig_bytes, fp->reply_bytes,
               secs_str(fp->idle_ms, idle), secs_str(fp->ttl_ms, ttl));
    }
    /* The client's side only: the backend's node holds the pair. */
    for (size_t i = 0; i < reply->n_dispatch_entries; i++) {
        const Vswitch__DispatchEntry *d = reply->dispatch_entries[i];

        printf("dispatch %s,", d->protocol);
        print_tuple("orig", d->protocol, d->orig);
        printf(",backend=%s:%" PRIu32 ",policy=%s,state=%s packets=%" PRIu64 ", bytes=%"
               PRIu64 ", idle_age=%s, ttl=%s\n", d->backend, d->backend_port,
               *d->policy ? d->policy : "-", *d->state ? d->state : "-", d->packets,
               d->bytes, secs_str(d->idle_ms, idle), secs_str(d->ttl_ms, ttl));
    }
}

static json_t *policy_json(const Vswitch__Policy *p)
{
    const Vswitch__PolicyStats *s = p->stats;
    json_t *policy, *backends = json_array();

    for (size_t i = 0; i < p->n_backends; i++) {
        json_array_append_new(backends, json_pack("{s:s, s:i}", "ip", p->backends[i]->ip,
                                                  "port", (int) p->backends[i]->port));
    }
    policy = json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:b, s:i, s:o, s:i, s:o}",
                       "name", p->name, "service", p->service, "vip", p->vip,
                       "port", (int) p->port, "protocol", p->protocol,
                       "protocol_number", (int) p->protocol_number, "dsr", p->dsr,
                       "affinity_timeout", (int) p->affinity_timeout, "backends", backends,
                       "flow_ttl", (int) p->flow_ttl,
                       "snat_ip", *p->snat_ip ? json_string(p->snat_ip) : json_null());
    json_object_set_new(policy, "preserve_dip", json_boolean(p->preserve_dip));
    {
        json_t *ranges = json_array();

        for (size_t i = 0; i < p->n_source_ranges; i++) {
            json_array_append_new(ranges, json_string(p->source_ranges[i]));
        }
        json_object_set_new(policy, "source_ranges", ranges);
    }
    if (s) {
        json_object_set_new(policy, "stats", json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I}", "packets", (json_int_t) s->packets,
            "bytes", (json_int_t) s->bytes, "connections", (json_int_t) s->connections,
            "dispatched", (json_int_t) s->dispatched,
            "rejected", (json_int_t) s->rejected,
            "active_flow_pairs", (json_int_t) s->active_flow_pairs));
    }
    return policy;
}

/* One policy in the form of a Windows VFP "lbnat" rule dump (DESIGN.md), plus what VFP
 * shows elsewhere: DSR, session affinity and the hit counters.  A preserve-dip policy (VFP's
 * PreserveDIP flag, classic L2 DSR) only fixes the MAC: no destination is modified and no
 * flow pair is made, only the choice of backend is kept. */
static void print_policy_text(const Vswitch__Policy *p)
{
    const Vswitch__PolicyStats *s = p->stats;
    Vswitch__PolicyStats zero = VSWITCH__POLICY_STATS__INIT;
    bool port_changes = false;

    if (!s) {
        s = &zero;
    }
    for (size_t i = 0; i < p->n_backends; i++) {
        port_changes |= p->backends[i]->port != p->port;
    }
    printf("Friendly name : %s\n"
           "Priority : 100\n"
           "Flags : 1 terminating\n"
           "Type : lbnat\n"
           "    Protocols : %" PRIu32 "\n"
           "    Destination IP : %s%s\n"
           "    Destination ports : %" PRIu32 "\n",
           p->name, p->protocol_number, p->vip,
           strcmp(p->vip, "0.0.0.0") ? "" : " (every address of this node: a NodePort)",
           p->port);
    if (p->n_source_ranges) {
        /* VFP's match condition, loadBalancerSourceRanges: other clients are dropped. */
        printf("    Source IP : ");
        for (size_t i = 0; i < p->n_source_ranges; i++) {
            printf("%s%s", i ? ", " : "", p->source_ranges[i]);
        }
        putchar('\n');
    }
    printf("Flow TTL: %" PRIu32 "\n"
           "Rule Data:\n"
           "Decrementing TTL\n"
           "Fixing MAC\n", p->flow_ttl);
    if (!p->preserve_dip) {
        puts("Modifying destination IP");
    }
    if (port_changes) {
        puts("Modifying destination port");
    }
    if (!p->dsr) {
        printf("Modifying source IP (SNAT to %s)\n", p->snat_ip);
    }
    if (p->preserve_dip) {
        puts("Dispatching by MAC to backends on this and other nodes (they hold the VIP)");
        puts("Keeping the chosen backend per connection");
    } else if (p->dsr) {
        /* The same rule dispatches where the chosen backend is on another node. */
        puts("Dispatching by MAC to backends on other nodes (they create the flow pair)");
    }
    if (!p->preserve_dip) {
        puts("Creating a flow pair");
    }
    printf("Count of DIP Ranges: %zu\n"
           "DIP Range(s) :\n", p->n_backends);
    for (size_t i = 0; i < p->n_backends; i++) {
        printf("        { %s : %" PRIu32 " }\n", p->backends[i]->ip, p->backends[i]->port);
    }
    printf("IsDSR: %s\n", p->dsr ? "TRUE" : "FALSE");
    if (p->preserve_dip) {
        puts("PreserveDIP: TRUE");
    }
    if (p->affinity_timeout) {
        printf("Session affinity: ClientIP, timeout %" PRIu32 " s\n", p->affinity_timeout);
    }
    printf("Hits: packets=%" PRIu64 " bytes=%" PRIu64 " connections=%" PRIu64 " dispatched=%"
           PRIu64 " rejected=%" PRIu64 " active_flow_pairs=%" PRIu64 "\n", s->packets,
           s->bytes, s->connections, s->dispatched, s->rejected, s->active_flow_pairs);
}

static void print_policies(const Vswitch__DumpPoliciesReply *reply, bool json)
{
    if (json) {
        json_t *policies = json_array();

        for (size_t i = 0; i < reply->n_policies; i++) {
            json_array_append_new(policies, policy_json(reply->policies[i]));
        }
        print_json(json_pack("{s:o}", "policies", policies));
        return;
    }
    for (size_t i = 0; i < reply->n_policies; i++) {
        if (i) {
            putchar('\n');
        }
        print_policy_text(reply->policies[i]);
    }
}

void print_reply(const Vswitch__Response *resp, bool json)
{
    switch (resp->reply_case) {
    case VSWITCH__RESPONSE__REPLY_SHOW:
        print_show(resp->show, json);
        break;
    case VSWITCH__RESPONSE__REPLY_DUMP_FLOWS:
        print_flows(resp->dump_flows, json);
        break;
    case VSWITCH__RESPONSE__REPLY_DUMP_POLICIES:
        print_policies(resp->dump_policies, json);
        break;
    case VSWITCH__RESPONSE__REPLY_ADD_LB:
        if (json) {
            print_json(json_pack("{s:o, s:b}", "policy", resp->add_lb->policy
                                 ? policy_json(resp->add_lb->policy) : json_null(),
                                 "replaced", resp->add_lb->replaced));
        }
        break;
    case VSWITCH__RESPONSE__REPLY_ADD_PEER:
        if (json) {
            print_json(json_pack("{s:o, s:b}", "peer", resp->add_peer->peer
                                 ? peer_json(resp->add_peer->peer) : json_null(),
                                 "replaced", resp->add_peer->replaced));
        }
        break;
    case VSWITCH__RESPONSE__REPLY_BATCH:
        if (json) {
            print_json(json_pack("{s:i, s:i, s:i}", "applied", (int) resp->batch->applied,
                                 "unchanged", (int) resp->batch->unchanged,
                                 "absent", (int) resp->batch->absent));
        }
        break;
    case VSWITCH__RESPONSE__REPLY_ADD_PORT:
        if (json) {
            print_json(json_pack("{s:o}", "port", resp->add_port->port
                                 ? port_json(resp->add_port->port) : json_null()));
        }
        break;
    case VSWITCH__RESPONSE__REPLY__NOT_SET:
    default:
        if (json) {
            print_json(json_object());
        }
        break;
    }
}
