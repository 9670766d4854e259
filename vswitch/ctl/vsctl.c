/* vsctl: the command-line client of vswitchd.  Each invocation turns one command into one
 * Request, sends it over the control socket with the shared client library (lib/ctl-client.h)
 * and prints the Response, as text for people or as JSON (--json) for scripts.  Errors go to
 * stderr with exit status 1, whether the command failed or was used wrong (as ovs-vsctl). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl-client.h"
#include "lib/ctl-msg.h"

static const char usage_text[] =
"Usage: vsctl [--ctl PATH] [--json] [--timeout SECONDS] COMMAND [ARG...]\n"
"\n"
"Configure and inspect vswitchd.\n"
"\n"
"Commands:\n"
"  show                        the switch, its ports with counters, and drops by reason\n"
"  add-port NAME --ip IP [--mac MAC] [--type veth|tap]\n"
"           [--pod-namespace NS] [--pod-name POD] [--container-id ID] [--ifname IF]\n"
"                              attach interface NAME as the port of the pod with address\n"
"                              IP: an existing veth, or a TAP that vswitchd creates; the\n"
"                              MAC is learned from the pod's traffic unless given\n"
"  del-port NAME               detach port NAME (a TAP created by add-port is deleted)\n"
"  dump-flows                  the flow cache, one flow per line\n"
"  flush-flows                 empty the flow cache\n"
"\n"
"Options:\n"
"  --ctl PATH         vswitchd's control socket (default: $" CTL_ENV_PATH ", else\n"
"                     " CTL_DEFAULT_PATH ")\n"
"  --json             print machine-readable JSON\n"
"  --timeout SECONDS  give up waiting for vswitchd after SECONDS (default 30)\n"
"  -h, --help         print this help\n"
"  -V, --version      print the version\n"
"\n"
"Exit status: 0 on success, 1 on any error (message on stderr).\n";

enum {
    OPT_CTL = 256, OPT_JSON, OPT_TIMEOUT, OPT_IP, OPT_MAC, OPT_TYPE, OPT_POD_NAMESPACE,
    OPT_POD_NAME, OPT_CONTAINER_ID, OPT_IFNAME,
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
    char **args;                    /* Command and its arguments. */
    int n_args;
};

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    va_list args;

    fputs("vsctl: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputs("\nTry 'vsctl --help' for more information.\n", stderr);
    exit(1);
}

static void parse_options(int argc, char *argv[], struct options *opts)
{
    int c, opt_index;

    memset(opts, 0, sizeof *opts);
    opts->ctl = ctl_client_default_path();
    opts->timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    vswitch__add_port__init(&opts->add_port);
    opterr = 0;
    /* Options may come anywhere (getopt permutes): "vsctl show --json" works too. */
    while ((c = getopt_long(argc, argv, ":hV", long_options, &opt_index)) != -1) {
        char *end;
        double seconds;

        if (c >= OPT_IP && !opts->port_option) {
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
                usage_error("invalid --timeout '%s': expected seconds, more than 0", optarg);
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
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case 'V':
            printf("vsctl (vswitch) %s\n", VSWITCH_VERSION);
            exit(0);
        case ':':
            usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt) {
                usage_error("unknown option '-%c'", optopt);
            }
            usage_error("unknown option '%s'", argv[optind - 1]);
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

        json_object_set_new(root, "daemon", json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:i, s:i, s:s, s:I, s:I}",
            "version", d->version, "pod_cidr", d->pod_cidr, "gateway", d->gateway,
            "router_mac", d->router_mac,
            "node_ip", *d->node_ip ? json_string(d->node_ip) : json_null(),
            "vni", (int) d->vni, "vxlan_port", (int) d->vxlan_port, "host_port", d->host_port,
            "uptime_ms", (json_int_t) d->uptime_ms,
            "flow_cache_size", (json_int_t) d->flow_cache_size));
        for (size_t i = 0; i < show->n_ports; i++) {
            json_array_append_new(ports, port_json(show->ports[i]));
        }
        json_object_set_new(root, "ports", ports);
        for (size_t i = 0; i < show->n_drops; i++) {
            json_object_set_new(drops, show->drops[i]->reason,
                                json_integer(show->drops[i]->packets));
        }
        json_object_set_new(root, "drops", drops);
        print_json(root);
        return;
    }

    printf("vswitchd %s: pod_cidr=%s gateway=%s router_mac=%s node_ip=%s vni=%" PRIu32
           " vxlan_port=%" PRIu32 "\n", d->version, d->pod_cidr, d->gateway, d->router_mac,
           *d->node_ip ? d->node_ip : "-", d->vni, d->vxlan_port);
    for (size_t i = 0; i < show->n_ports; i++) {
        print_port_text(show->ports[i]);
    }
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

static void print_flows(const Vswitch__DumpFlowsReply *reply, bool json)
{
    if (json) {
        json_t *flows = json_array();

        for (size_t i = 0; i < reply->n_flows; i++) {
            const Vswitch__Flow *f = reply->flows[i];

            json_array_append_new(flows, json_pack(
                "{s:s, s:s, s:I, s:I, s:I}", "match", f->match, "actions", f->actions,
                "packets", (json_int_t) f->packets, "bytes", (json_int_t) f->bytes,
                "idle_ms", (json_int_t) f->idle_ms));
        }
        print_json(json_pack("{s:o}", "flows", flows));
        return;
    }
    for (size_t i = 0; i < reply->n_flows; i++) {
        const Vswitch__Flow *f = reply->flows[i];

        printf("%s packets=%" PRIu64 ", bytes=%" PRIu64 ", idle_age=%" PRIu64 ".%" PRIu64
               "s, actions=%s\n", f->match, f->packets, f->bytes, f->idle_ms / 1000,
               f->idle_ms % 1000 / 100, f->actions);
    }
}

/* ---- Commands ---------------------------------------------------------------------------- */

static void need_args(const struct options *opts, int n, const char *synopsis)
{
    if (opts->n_args - 1 < n) {
        usage_error("%s: missing argument; usage: vsctl %s", opts->args[0], synopsis);
    }
    if (opts->n_args - 1 > n) {
        usage_error("%s: unexpected argument '%s'; usage: vsctl %s", opts->args[0],
                    opts->args[n + 1], synopsis);
    }
}

int main(int argc, char *argv[])
{
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__Show show = VSWITCH__SHOW__INIT;
    Vswitch__DelPort del_port = VSWITCH__DEL_PORT__INIT;
    Vswitch__DumpFlows dump_flows = VSWITCH__DUMP_FLOWS__INIT;
    Vswitch__FlushFlows flush_flows = VSWITCH__FLUSH_FLOWS__INIT;
    Vswitch__Response *resp;
    struct options opts;
    const char *cmd;
    char err[512];
    int error;

    parse_options(argc, argv, &opts);
    if (!opts.n_args) {
        usage_error("missing command (show, add-port, del-port, dump-flows, flush-flows)");
    }
    cmd = opts.args[0];
    if (opts.port_option && strcmp(cmd, "add-port")) {
        usage_error("option '--%s' is only for add-port", opts.port_option);
    }

    if (!strcmp(cmd, "show")) {
        need_args(&opts, 0, "show");
        req.command_case = VSWITCH__REQUEST__COMMAND_SHOW;
        req.show = &show;
    } else if (!strcmp(cmd, "add-port")) {
        need_args(&opts, 1, "add-port NAME --ip IP [--mac MAC] [--type veth|tap]");
        if (!*opts.add_port.ip) {
            usage_error("add-port: --ip is required; usage: vsctl add-port NAME --ip IP "
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
    } else if (!strcmp(cmd, "dump-flows")) {
        need_args(&opts, 0, "dump-flows");
        req.command_case = VSWITCH__REQUEST__COMMAND_DUMP_FLOWS;
        req.dump_flows = &dump_flows;
    } else if (!strcmp(cmd, "flush-flows")) {
        need_args(&opts, 0, "flush-flows");
        req.command_case = VSWITCH__REQUEST__COMMAND_FLUSH_FLOWS;
        req.flush_flows = &flush_flows;
    } else {
        usage_error("unknown command '%s'", cmd);
    }

    error = ctl_client_call(opts.ctl, opts.timeout_ms, &req, &resp, err, sizeof err);
    if (error) {
        fprintf(stderr, "vsctl: %s: %s\n", cmd, err);
        ctl_msg_response_free(resp);
        return 1;
    }

    switch (resp->reply_case) {
    case VSWITCH__RESPONSE__REPLY_SHOW:
        print_show(resp->show, opts.json);
        break;
    case VSWITCH__RESPONSE__REPLY_DUMP_FLOWS:
        print_flows(resp->dump_flows, opts.json);
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
