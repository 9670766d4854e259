/* vsctl: the command-line client of vswitchd.  Each invocation turns one command into one
 * Request, sends it over the control socket with the shared client library (lib/ctl-client.h)
 * and prints the Response, as text for people or as JSON (--json) for scripts.  Errors go to
 * stderr with exit status 1, whether the command failed or was used wrong (as ovs-vsctl). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cli.h"
#include "ctl/batch.h"
#include "lib/ctl-client.h"
#include "lib/ctl-msg.h"

static const char usage_text[] =
"NAME\n"
"    vsctl - configure and inspect vswitchd\n"
"\n"
"SYNOPSIS\n"
"    vsctl [--ctl PATH] [--json] [--timeout SECONDS] COMMAND [ARG...]\n"
"\n"
"DESCRIPTION\n"
"    vsctl speaks vswitchd's control protocol over its unix socket: it attaches pod ports,\n"
"    load-balancing policies and overlay peers, and shows what the switch is doing.\n"
"\n"
"COMMANDS\n"
"  show                        the switch, its ports and peers with counters, and drops\n"
"                              by reason\n"
"  add-port NAME --ip IP [--mac MAC] [--type veth|tap]\n"
"           [--pod-namespace NS] [--pod-name POD] [--container-id ID] [--ifname IF]\n"
"                              attach interface NAME as the port of the pod with address\n"
"                              IP: an existing veth, or a TAP that vswitchd creates; the\n"
"                              MAC is learned from the pod's traffic unless given\n"
"  del-port NAME               detach port NAME (a TAP created by add-port is deleted)\n"
"  add-lb VIP:PORT/PROTO [BACKEND:PORT...] [--no-dsr] [--affinity-timeout SECONDS]\n"
"         [--name NAME]        create or replace the load-balancing policy of a service\n"
"                              (PROTO tcp or udp) over its backends; --no-dsr also SNATs\n"
"                              clients to the gateway; --affinity-timeout keeps a client\n"
"                              on one backend (ClientIP affinity, up to 86400 s)\n"
"  del-lb VIP:PORT/PROTO       delete the policy of a service and its flow pairs\n"
"  add-peer NODE_IP POD_CIDR   declare the remote node NODE_IP (its underlay address)\n"
"                              owning POD_CIDR on the VXLAN overlay, or move it\n"
"  del-peer NODE_IP            forget a remote node\n"
"  batch FILE                  apply the add-lb, del-lb, add-peer and del-peer lines of\n"
"                              FILE (- for stdin) all together or not at all; deleting\n"
"                              what does not exist is not an error in a batch\n"
"  dump-policies               every policy, VFP-like, with its counters\n"
"  dump-flows                  the flow cache and the flow pairs, one per line\n"
"  flush-flows                 empty the flow cache (flow pairs are connection state and\n"
"                              stay; they end with their connection, backend or policy)\n"
"\n"
"OPTIONS\n"
"  --ctl PATH         vswitchd's control socket (default: $" CTL_ENV_PATH ", else\n"
"                     " CTL_DEFAULT_PATH ")\n"
"  --json             print machine-readable JSON\n"
"  --timeout SECONDS  give up waiting for vswitchd after SECONDS (default 30)\n"
"  -h, --help         print this help\n"
"  -V, --version      print the version\n"
"\n"
"EXIT STATUS\n"
"    0 on success, 1 on any error (the message on stderr).\n"
"\n"
"EXAMPLES\n"
"    vsctl add-port h-pod1 --ip 10.244.1.2 --mac 0a:58:0a:f4:01:02\n"
"    vsctl add-lb 10.96.0.10:80/tcp 10.244.1.2:8080 10.244.2.7:8080\n"
"    vsctl add-peer 192.168.1.12 10.244.2.0/24\n"
"    vsctl dump-policies; vsctl dump-flows; vsctl --json show\n";

enum {
    OPT_CTL = 256, OPT_JSON, OPT_TIMEOUT, OPT_IP, OPT_MAC, OPT_TYPE, OPT_POD_NAMESPACE,
    OPT_POD_NAME, OPT_CONTAINER_ID, OPT_IFNAME,
    OPT_NO_DSR, OPT_AFFINITY_TIMEOUT, OPT_NAME,      /* add-lb's; keep them last. */
};

static const struct option long_options[] = {
    { "ctl", required_argument, NULL, OPT_CTL },
    { "json", no_argument, NULL, OPT_JSON },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "ip", required_argument, NULL, OPT_IP },
    { "mac", required_argument, NULL, OPT_MAC },
    { "type", required_argument, NULL, OPT_TYPE },
    { "pod-namespace", required_argument, NULL, OPT_POD_NAMESPACE },
    { "pod-name", required_argument, NULL, OPT_POD_NAME },
    { "container-id", required_argument, NULL, OPT_CONTAINER_ID },
    { "ifname", required_argument, NULL, OPT_IFNAME },
    { "no-dsr", no_argument, NULL, OPT_NO_DSR },
    { "affinity-timeout", required_argument, NULL, OPT_AFFINITY_TIMEOUT },
    { "name", required_argument, NULL, OPT_NAME },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

/* What the command line says. */
struct options {
    const char *ctl;
    bool json;
    int timeout_ms;
    Vswitch__AddPort add_port;      /* add-port's own options; strings point into argv. */
    const char *port_option;        /* First add-port option seen, to reject it elsewhere. */
    Vswitch__AddLb add_lb;          /* add-lb's own options. */
    const char *lb_option;          /* First add-lb option seen. */
    char **args;                    /* Command and its arguments. */
    int n_args;
};

static void parse_options(int argc, char *argv[], struct options *opts)
{
    int c, opt_index;

    memset(opts, 0, sizeof *opts);
    opts->ctl = ctl_client_default_path();
    opts->timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    vswitch__add_port__init(&opts->add_port);
    vswitch__add_lb__init(&opts->add_lb);
    opterr = 0;
    /* Options may come anywhere (getopt permutes): "vsctl show --json" works too. */
    while ((c = getopt_long(argc, argv, ":hV", long_options, &opt_index)) != -1) {
        char *end;
        double seconds;

        if (c >= OPT_NO_DSR && !opts->lb_option) {
            opts->lb_option = long_options[opt_index].name;
        } else if (c >= OPT_IP && c < OPT_NO_DSR && !opts->port_option) {
            opts->port_option = long_options[opt_index].name;
        }
        switch (c) {
        case OPT_CTL:
            opts->ctl = optarg;
            break;
        case OPT_JSON:
            opts->json = true;
            break;
        case OPT_TIMEOUT:
            seconds = strtod(optarg, &end);
            if (!*optarg || *end || !(seconds > 0 && seconds <= 86400)) {
                cli_usage_error("invalid --timeout '%s': expected seconds, more than 0", optarg);
            }
            opts->timeout_ms = seconds * 1000 < 1 ? 1 : seconds * 1000;
            break;
        case OPT_IP:
            opts->add_port.ip = optarg;
            break;
        case OPT_MAC:
            opts->add_port.mac = optarg;
            break;
        case OPT_TYPE:
            opts->add_port.type = optarg;
            break;
        case OPT_POD_NAMESPACE:
            opts->add_port.pod_namespace = optarg;
            break;
        case OPT_POD_NAME:
            opts->add_port.pod_name = optarg;
            break;
        case OPT_CONTAINER_ID:
            opts->add_port.container_id = optarg;
            break;
        case OPT_IFNAME:
            opts->add_port.ifname = optarg;
            break;
        case OPT_NO_DSR:
            opts->add_lb.no_dsr = true;
            break;
        case OPT_AFFINITY_TIMEOUT: {
            unsigned long value;

            /* The range (0 to 86400) is vswitchd's to check, with its message. */
            if (cli_parse_ulong(optarg, 0, UINT_MAX, &value)) {
                cli_usage_error("invalid --affinity-timeout '%s': expected seconds, 0 to 86400",
                                optarg);
            }
            opts->add_lb.affinity_timeout = value;
            break;
        }
        case OPT_NAME:
            opts->add_lb.name = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case 'V':
            printf("vsctl (vswitch) %s\n", VSWITCH_VERSION);
            exit(0);
        default:
            cli_bad_option(c, argv, long_options);
        }
    }
    opts->args = argv + optind;
    opts->n_args = argc - optind;
}

/* ---- Output ------------------------------------------------------------------------------ */

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
            "{s:s, s:s, s:s, s:s, s:o, s:i, s:i, s:o, s:s, s:I, s:I, s:I, s:I, s:i}",
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
            "flow_ttl", (int) d->flow_ttl));
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
            "{s:I, s:I, s:I}",
            "closed", (json_int_t) show->flow_pair_evictions_closed,
            "unassured", (json_int_t) show->flow_pair_evictions_unassured,
            "pod_quota", (json_int_t) show->flow_pair_evictions_pod_quota));
        json_object_set_new(root, "n_flow_pair_sources",
                            json_integer(show->n_flow_pair_sources));
        json_object_set_new(root, "n_dispatch_entries", json_integer(show->n_dispatch_entries));
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
        printf(" (closed %" PRIu64 ", unassured %" PRIu64 ", pod quota %" PRIu64 ")",
               show->flow_pair_evictions_closed, show->flow_pair_evictions_unassured,
               show->flow_pair_evictions_pod_quota);
    }
    putchar('\n');
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
                "{s:s, s:s, s:I, s:I, s:I}", "match", f->match, "actions", f->actions,
                "packets", (json_int_t) f->packets, "bytes", (json_int_t) f->bytes,
                "idle_ms", (json_int_t) f->idle_ms));
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

        printf("%s packets=%" PRIu64 ", bytes=%" PRIu64 ", idle_age=%s, actions=%s\n",
               f->match, f->packets, f->bytes, secs_str(f->idle_ms, idle), f->actions);
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
 * shows elsewhere: DSR, session affinity and the hit counters. */
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
           "    Destination IP : %s\n"
           "    Destination ports : %" PRIu32 "\n"
           "Flow TTL: %" PRIu32 "\n"
           "Rule Data:\n"
           "Decrementing TTL\n"
           "Fixing MAC\n"
           "Modifying destination IP\n",
           p->name, p->protocol_number, p->vip, p->port, p->flow_ttl);
    if (port_changes) {
        puts("Modifying destination port");
    }
    if (!p->dsr) {
        printf("Modifying source IP (SNAT to %s)\n", p->snat_ip);
    }
    if (p->dsr) {
        /* The same rule dispatches where the chosen backend is on another node. */
        puts("Dispatching by MAC to backends on other nodes (they create the flow pair)");
    }
    printf("Creating a flow pair\n"
           "Count of DIP Ranges: %zu\n"
           "DIP Range(s) :\n", p->n_backends);
    for (size_t i = 0; i < p->n_backends; i++) {
        printf("        { %s : %" PRIu32 " }\n", p->backends[i]->ip, p->backends[i]->port);
    }
    printf("IsDSR: %s\n", p->dsr ? "TRUE" : "FALSE");
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

/* ---- Commands ---------------------------------------------------------------------------- */

static void need_args(const struct options *opts, int n, const char *synopsis)
{
    if (opts->n_args - 1 < n) {
        cli_usage_error("%s: missing argument; usage: vsctl %s", opts->args[0], synopsis);
    }
    if (opts->n_args - 1 > n) {
        cli_usage_error("%s: unexpected argument '%s'; usage: vsctl %s", opts->args[0],
                        opts->args[n + 1], synopsis);
    }
}

/* Reads the batch file 'path' ("-": stdin) into 'batch'; exits with a message naming the
 * line on any error. */
static void read_batch(const char *path, struct ctl_batch *batch)
{
    bool is_stdin = !strcmp(path, "-");
    FILE *file = is_stdin ? stdin : fopen(path, "r");
    const char *name = is_stdin ? "<stdin>" : path;
    char *line = NULL, err[512];
    size_t size = 0, lineno = 0;

    if (!file) {
        fprintf(stderr, "vsctl: batch: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while (getline(&line, &size, file) >= 0) {
        if (ctl_batch_add_line(batch, line, ++lineno, err, sizeof err)) {
            fprintf(stderr, "vsctl: batch: %s:%zu: %s\n", name, lineno, err);
            exit(1);
        }
    }
    if (ferror(file)) {
        fprintf(stderr, "vsctl: batch: cannot read %s: %s\n", name, strerror(errno));
        exit(1);
    }
    free(line);
    if (!is_stdin) {
        fclose(file);
    }
}

int main(int argc, char *argv[])
{
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__Show show = VSWITCH__SHOW__INIT;
    Vswitch__DelPort del_port = VSWITCH__DEL_PORT__INIT;
    Vswitch__DumpFlows dump_flows = VSWITCH__DUMP_FLOWS__INIT;
    Vswitch__FlushFlows flush_flows = VSWITCH__FLUSH_FLOWS__INIT;
    Vswitch__DelLb del_lb = VSWITCH__DEL_LB__INIT;
    Vswitch__DumpPolicies dump_policies = VSWITCH__DUMP_POLICIES__INIT;
    Vswitch__AddPeer add_peer = VSWITCH__ADD_PEER__INIT;
    Vswitch__DelPeer del_peer = VSWITCH__DEL_PEER__INIT;
    struct ctl_batch batch;
    const char *batch_name = NULL;
    Vswitch__Response *resp;
    struct options opts;
    const char *cmd;
    char err[512];
    int error;

    cli_set_program("vsctl", 1);
    parse_options(argc, argv, &opts);
    ctl_batch_init(&batch);
    if (!opts.n_args) {
        cli_usage_error("missing command (show, add-port, del-port, add-lb, del-lb, add-peer, "
                        "del-peer, batch, dump-policies, dump-flows, flush-flows)");
    }
    cmd = opts.args[0];
    if (opts.port_option && strcmp(cmd, "add-port")) {
        cli_usage_error("option '--%s' is only for add-port", opts.port_option);
    }
    if (opts.lb_option && strcmp(cmd, "add-lb")) {
        cli_usage_error("option '--%s' is only for add-lb", opts.lb_option);
    }

    if (!strcmp(cmd, "show")) {
        need_args(&opts, 0, "show");
        req.command_case = VSWITCH__REQUEST__COMMAND_SHOW;
        req.show = &show;
    } else if (!strcmp(cmd, "add-port")) {
        need_args(&opts, 1, "add-port NAME --ip IP [--mac MAC] [--type veth|tap]");
        if (!*opts.add_port.ip) {
            cli_usage_error("add-port: --ip is required; usage: vsctl add-port NAME --ip IP "
                            "[--mac MAC] [--type veth|tap]");
        }
        opts.add_port.name = opts.args[1];
        req.command_case = VSWITCH__REQUEST__COMMAND_ADD_PORT;
        req.add_port = &opts.add_port;
    } else if (!strcmp(cmd, "del-port")) {
        need_args(&opts, 1, "del-port NAME");
        del_port.name = opts.args[1];
        req.command_case = VSWITCH__REQUEST__COMMAND_DEL_PORT;
        req.del_port = &del_port;
    } else if (!strcmp(cmd, "add-lb")) {
        if (opts.n_args < 2) {
            cli_usage_error("add-lb: missing argument; usage: vsctl add-lb VIP:PORT/PROTO "
                            "[BACKEND:PORT...] [--no-dsr] [--affinity-timeout SECONDS] "
                            "[--name NAME]");
        }
        opts.add_lb.service = opts.args[1];
        opts.add_lb.backends = opts.args + 2;
        opts.add_lb.n_backends = opts.n_args - 2;
        req.command_case = VSWITCH__REQUEST__COMMAND_ADD_LB;
        req.add_lb = &opts.add_lb;
    } else if (!strcmp(cmd, "del-lb")) {
        need_args(&opts, 1, "del-lb VIP:PORT/PROTO");
        del_lb.service = opts.args[1];
        req.command_case = VSWITCH__REQUEST__COMMAND_DEL_LB;
        req.del_lb = &del_lb;
    } else if (!strcmp(cmd, "add-peer")) {
        need_args(&opts, 2, "add-peer NODE_IP POD_CIDR");
        add_peer.node_ip = opts.args[1];
        add_peer.pod_cidr = opts.args[2];
        req.command_case = VSWITCH__REQUEST__COMMAND_ADD_PEER;
        req.add_peer = &add_peer;
    } else if (!strcmp(cmd, "del-peer")) {
        need_args(&opts, 1, "del-peer NODE_IP");
        del_peer.node_ip = opts.args[1];
        req.command_case = VSWITCH__REQUEST__COMMAND_DEL_PEER;
        req.del_peer = &del_peer;
    } else if (!strcmp(cmd, "batch")) {
        need_args(&opts, 1, "batch FILE");
        batch_name = strcmp(opts.args[1], "-") ? opts.args[1] : "<stdin>";
        read_batch(opts.args[1], &batch);
        req.command_case = VSWITCH__REQUEST__COMMAND_BATCH;
        req.batch = &batch.msg;
    } else if (!strcmp(cmd, "dump-policies")) {
        need_args(&opts, 0, "dump-policies");
        req.command_case = VSWITCH__REQUEST__COMMAND_DUMP_POLICIES;
        req.dump_policies = &dump_policies;
    } else if (!strcmp(cmd, "dump-flows")) {
        need_args(&opts, 0, "dump-flows");
        req.command_case = VSWITCH__REQUEST__COMMAND_DUMP_FLOWS;
        req.dump_flows = &dump_flows;
    } else if (!strcmp(cmd, "flush-flows")) {
        need_args(&opts, 0, "flush-flows");
        req.command_case = VSWITCH__REQUEST__COMMAND_FLUSH_FLOWS;
        req.flush_flows = &flush_flows;
    } else {
        cli_usage_error("unknown command '%s'", cmd);
    }

    error = ctl_client_call(opts.ctl, opts.timeout_ms, &req, &resp, err, sizeof err);
    if (error) {
        size_t op = resp && resp->reply_case == VSWITCH__RESPONSE__REPLY_BATCH
                    ? resp->batch->failed_op : 0;

        if (batch_name && op && op <= batch.msg.n_ops) {
            fprintf(stderr, "vsctl: batch: %s:%zu: %s\n", batch_name, batch.lines[op - 1],
                    err);
        } else {
            fprintf(stderr, "vsctl: %s: %s\n", cmd, err);
        }
        ctl_msg_response_free(resp);
        ctl_batch_destroy(&batch);
        return 1;
    }
    ctl_batch_destroy(&batch);

    switch (resp->reply_case) {
    case VSWITCH__RESPONSE__REPLY_SHOW:
        print_show(resp->show, opts.json);
        break;
    case VSWITCH__RESPONSE__REPLY_DUMP_FLOWS:
        print_flows(resp->dump_flows, opts.json);
        break;
    case VSWITCH__RESPONSE__REPLY_DUMP_POLICIES:
        print_policies(resp->dump_policies, opts.json);
        break;
    case VSWITCH__RESPONSE__REPLY_ADD_LB:
        if (opts.json) {
            print_json(json_pack("{s:o, s:b}", "policy", resp->add_lb->policy
                                 ? policy_json(resp->add_lb->policy) : json_null(),
                                 "replaced", resp->add_lb->replaced));
        }
        break;
    case VSWITCH__RESPONSE__REPLY_ADD_PEER:
        if (opts.json) {
            print_json(json_pack("{s:o, s:b}", "peer", resp->add_peer->peer
                                 ? peer_json(resp->add_peer->peer) : json_null(),
                                 "replaced", resp->add_peer->replaced));
        }
        break;
    case VSWITCH__RESPONSE__REPLY_BATCH:
        if (opts.json) {
            print_json(json_pack("{s:i, s:i, s:i}", "applied", (int) resp->batch->applied,
                                 "unchanged", (int) resp->batch->unchanged,
                                 "absent", (int) resp->batch->absent));
        }
        break;
    case VSWITCH__RESPONSE__REPLY_ADD_PORT:
        if (opts.json) {
            print_json(json_pack("{s:o}", "port", resp->add_port->port
                                 ? port_json(resp->add_port->port) : json_null()));
        }
        break;
    case VSWITCH__RESPONSE__REPLY__NOT_SET:
    default:
        if (opts.json) {
            print_json(json_object());
        }
        break;
    }
    ctl_msg_response_free(resp);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "vsctl: cannot write the output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
