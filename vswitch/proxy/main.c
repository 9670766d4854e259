/* vswitch-proxy: the kube-proxy of vswitch.  Watches Services, EndpointSlices and Nodes in
 * the Kubernetes API and keeps vswitchd's load-balancing policies and overlay peers in step
 * with them (proxy.h).  This file holds the command line, start-up and signal handling. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "main"
#include "lib/addr.h"
#include "lib/cli.h"
#include "lib/ctl-client.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proxy/kube-client.h"
#include "proxy/kubeconfig.h"
#include "proxy/proxy-http.h"
#include "proxy/proxy.h"

/* kube-proxy's default: every address of the node, since load balancers probe /healthz on the
 * node's address to tell which nodes can take traffic (issue 16). */
#define DEFAULT_HEALTHZ "0.0.0.0:10256"
#define DEFAULT_METRICS "127.0.0.1:10249"

static const char usage_text[] =
"NAME\n"
"    vswitch-proxy - keep vswitchd's service load balancing in sync with Kubernetes\n"
"\n"
"SYNOPSIS\n"
"    vswitch-proxy --node-name NAME [--kubeconfig PATH [--context NAME]] [--ctl PATH]\n"
"                  [--dsr=true|false] [--sync-peers=true|false]\n"
"                  [--cluster-cidr CIDR] [--service-cidr CIDR]\n"
"                  [--nodeport-addresses CIDR,...]\n"
"                  [--healthz-bind-address ADDR:PORT] [--metrics-bind-address ADDR:PORT]\n"
"                  [--min-sync-period DURATION] [--sync-period DURATION]\n"
"                  [--list-page-size N] [--log-level LEVEL]\n"
"    vswitch-proxy --help | --version\n"
"\n"
"DESCRIPTION\n"
"    vswitch-proxy is to vswitchd what kube-proxy is to iptables.  It lists and watches the\n"
"    Services, EndpointSlices and Nodes of the cluster and programs the switch so that every\n"
"    Service's cluster IP works: each Service port becomes a load-balancing policy\n"
"    clusterIP:port/proto whose backends are the ready endpoints (or, when none is ready, the\n"
"    serving and terminating ones), at the target port the EndpointSlice gives for the port's\n"
"    name.  internalTrafficPolicy: Local keeps only this node's endpoints; sessionAffinity:\n"
"    ClientIP sets the affinity timeout.  Headless and ExternalName Services, and those\n"
"    labelled service.kubernetes.io/service-proxy-name, are skipped and counted; NodePort\n"
"    and LoadBalancer Services get their cluster IP.  Every other Node becomes an overlay\n"
"    peer (its InternalIP and pod CIDR).\n"
"\n"
"    The proxy keeps the wanted state and sends vswitchd only the difference, in one\n"
"    transactional batch per sync.  Its policies are named k8s:NAMESPACE/SERVICE:PORT;\n"
"    policies made by hand with vsctl are never touched.  On start, and whenever vswitchd\n"
"    restarts, it reads the switch's state back and changes only what differs, so flow\n"
"    pairs of open connections are not disturbed; an API outage changes nothing.\n"
"\n"
"    Watches resume from the last resourceVersion seen; a 410 Gone lists again; errors are\n"
"    retried with exponential backoff and jitter.  It runs in the foreground, logs to\n"
"    stderr, and stops on SIGTERM or SIGINT.\n"
"\n"
"OPTIONS\n"
"    --node-name NAME\n"
"        The Node this proxy runs on (required): its endpoints are the local ones for\n"
"        internalTrafficPolicy: Local, and it is not a peer of itself.\n"
"    --kubeconfig PATH\n"
"        kubeconfig file with the API server, its CA and the credentials (token, tokenFile\n"
"        or client certificate).  Without it, the in-cluster service account is used:\n"
"        $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with the token and ca.crt in\n"
"        " KUBE_SA_DIR ".\n"
"        A token file is read again whenever it changes.\n"
"    --context NAME\n"
"        The kubeconfig context to use (default: its current-context).\n"
"    --ctl PATH\n"
"        vswitchd's control socket (default $" CTL_ENV_PATH ", else " CTL_DEFAULT_PATH ").\n"
"    --dsr=true|false\n"
"        Program Services for Direct Server Return (default true).  A Service's annotation\n"
"        vswitch.io/dsr: \"false\" (or \"true\") overrides this.\n"
"    --sync-peers=true|false\n"
"        Manage vswitchd's overlay peers from the Nodes (default true).  The proxy then owns\n"
"        the whole peer table.\n"
"    --cluster-cidr CIDR\n"
"        The supernet of every node's pod CIDR, as kube-proxy's (give vswitchd the\n"
"        same): Nodes whose pod CIDR lies outside are still peers, but counted\n"
"        (nodes_outside_cluster_cidr) and named in the debug log.\n"
"    --service-cidr CIDR\n"
"        The range of cluster IPs (kube-apiserver's --service-cluster-ip-range; give\n"
"        vswitchd the same, which routes it from the node into the switch): Services\n"
"        whose cluster IP lies outside are still programmed, but counted\n"
"        (services_outside_service_cidr): pods reach them, the node does not.\n"
"    --nodeport-addresses CIDR,...\n"
"        The node's addresses a NodePort answers on, as kube-proxy's nodePortAddresses:\n"
"        those of its interfaces inside one of the CIDRs (read at every sync), one policy\n"
"        ADDRESS:NODEPORT/PROTO each.  Default (or empty): every address of the node, one\n"
"        policy 0.0.0.0:NODEPORT/PROTO that vswitchd answers on all of them.\n"
"    --healthz-bind-address ADDR:PORT\n"
"        Serve /healthz here (default " DEFAULT_HEALTHZ "; empty: off).  200 once the first\n"
"        full sync is done and while the last successful sync is younger than twice\n"
"        --sync-period, else 503.\n"
"    --metrics-bind-address ADDR:PORT\n"
"        Serve Prometheus /metrics here (default " DEFAULT_METRICS "; empty: off).\n"
"    --min-sync-period DURATION\n"
"        Coalesce changes: at most one sync per DURATION (default 100ms).\n"
"    --sync-period DURATION\n"
"        Read vswitchd's state back and repair any drift this often (default 30s).\n"
"    --list-page-size N\n"
"        Objects per page when listing (default 500).\n"
CLI_USAGE_COMMON_OPTIONS
"\n"
"    DURATION is a number with a unit: 100ms, 2s, 1m.\n"
"\n"
"PERMISSIONS\n"
"    list and watch on services and nodes (core) and endpointslices\n"
"    (discovery.k8s.io), cluster-wide; a missing one is named in the log (401/403).\n"
"\n"
"EXIT STATUS\n"
"    0 after SIGTERM or SIGINT, 1 if it cannot start, 2 for bad usage.\n"
"\n"
"EXAMPLES\n"
"    vswitch-proxy --kubeconfig /etc/kubernetes/proxy.conf --node-name node-1\n";

enum {
    OPT_KUBECONFIG = 256, OPT_CONTEXT, OPT_NODE_NAME, OPT_CTL, OPT_DSR, OPT_SYNC_PEERS,
    OPT_HEALTHZ, OPT_METRICS, OPT_MIN_SYNC, OPT_SYNC, OPT_PAGE, OPT_LOG_LEVEL,
    OPT_CLUSTER_CIDR, OPT_SERVICE_CIDR, OPT_NODEPORT_ADDRESSES,
};

static const struct option long_options[] = {
    { "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
    { "context", required_argument, NULL, OPT_CONTEXT },
    { "node-name", required_argument, NULL, OPT_NODE_NAME },
    { "ctl", required_argument, NULL, OPT_CTL },
    { "dsr", required_argument, NULL, OPT_DSR },
    { "sync-peers", required_argument, NULL, OPT_SYNC_PEERS },
    { "healthz-bind-address", required_argument, NULL, OPT_HEALTHZ },
    { "metrics-bind-address", required_argument, NULL, OPT_METRICS },
    { "min-sync-period", required_argument, NULL, OPT_MIN_SYNC },
    { "sync-period", required_argument, NULL, OPT_SYNC },
    { "list-page-size", required_argument, NULL, OPT_PAGE },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "cluster-cidr", required_argument, NULL, OPT_CLUSTER_CIDR },
    { "service-cidr", required_argument, NULL, OPT_SERVICE_CIDR },
    { "nodeport-addresses", required_argument, NULL, OPT_NODEPORT_ADDRESSES },
    CLI_OPTIONS_END,
};

static bool parse_bool(const char *flag, const char *s)
{
    if (!strcmp(s, "true")) {
        return true;
    } else if (!strcmp(s, "false")) {
        return false;
    }
    cli_usage_error("invalid %s '%s': expected true or false", flag, s);
}

/* "100ms", "2s", "1m", "1h" (Go's time.ParseDuration for one unit) into ms. */
static uint32_t parse_duration(const char *flag, const char *s, uint32_t min, uint32_t max)
{
    static const struct { const char *unit; double ms; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
    };
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    for (size_t i = 0; !errno && end != s && v >= 0 && i < sizeof units / sizeof *units; i++) {
        if (!strcmp(end, units[i].unit)) {
            double ms = v * units[i].ms;

            if (ms >= min && ms <= max) {
                return (uint32_t) ms;
            }
            break;
        }
    }
    cli_usage_error("invalid %s '%s': expected a duration from %ums to %us, e.g. 100ms or 2s",
                    flag, s, min, max / 1000);
}

static void parse_cidr(const char *flag, const char *s, const char *example, struct cidr *cidr)
{
    if (addr_parse_cidr(s, cidr)) {
        cli_usage_error("invalid %s '%s': expected A.B.C.D/N with the host bits zero, e.g. %s",
                        flag, s, example);
    }
}

/* "A/N,B/M,..." into cfg->nodeport_cidrs (at most PROXY_MAX_NODEPORT_CIDRS); "" is none,
 * kube-proxy's default (every address), so that a manifest can pass an empty setting. */
static void parse_cidr_list(const char *flag, const char *s, struct proxy_config *cfg)
{
    char *copy = xstrdup(s), *save = NULL;

    cfg->n_nodeport_cidrs = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (cfg->n_nodeport_cidrs == PROXY_MAX_NODEPORT_CIDRS) {
            cli_usage_error("invalid %s '%s': at most %d CIDRs", flag, s,
                            PROXY_MAX_NODEPORT_CIDRS);
        }
        parse_cidr(flag, tok, "192.168.0.0/16,10.0.0.0/8",
                   &cfg->nodeport_cidrs[cfg->n_nodeport_cidrs++]);
    }
    free(copy);
    if (!cfg->n_nodeport_cidrs && *s) {
        cli_usage_error("invalid %s '%s': expected CIDR,..., e.g. 192.168.0.0/16", flag, s);
    }
}

struct options {
    const char *kubeconfig;
    const char *context;
    const char *healthz;
    const char *metrics;
    struct proxy_config proxy;
};

static void parse_options(int argc, char *argv[], struct options *o)
{
    unsigned long page_limit;
    int c;

    *o = (struct options) {
        .healthz = DEFAULT_HEALTHZ,
        .metrics = DEFAULT_METRICS,
        .proxy = {
            .ctl_path = ctl_client_default_path(),
            .dsr = true,
            .sync_peers = true,
            .min_sync_period_ms = 100,
            .sync_period_ms = 30000,
            .page_limit = 500,
            .ctl_timeout_ms = 60000,
        },
    };
    while ((c = cli_getopt(argc, argv, long_options, usage_text,
                           "vswitch-proxy " VSWITCH_VERSION)) != -1) {
        switch (c) {
        case OPT_KUBECONFIG: o->kubeconfig = optarg; break;
        case OPT_CONTEXT: o->context = optarg; break;
        case OPT_NODE_NAME: o->proxy.node_name = optarg; break;
        case OPT_CTL: o->proxy.ctl_path = optarg; break;
        case OPT_DSR: o->proxy.dsr = parse_bool("--dsr", optarg); break;
        case OPT_SYNC_PEERS: o->proxy.sync_peers = parse_bool("--sync-peers", optarg); break;
        case OPT_HEALTHZ: o->healthz = optarg; break;
        case OPT_METRICS: o->metrics = optarg; break;
        case OPT_MIN_SYNC:
            o->proxy.min_sync_period_ms = parse_duration("--min-sync-period", optarg, 0,
                                                         60000);
            break;
        case OPT_SYNC:
            o->proxy.sync_period_ms = parse_duration("--sync-period", optarg, 1000, 86400000);
            break;
        case OPT_PAGE:
            if (cli_parse_ulong(optarg, 1, 100000, &page_limit)) {
                cli_usage_error("invalid --list-page-size '%s': expected 1 to 100000", optarg);
            }
            o->proxy.page_limit = page_limit;
            break;
        case OPT_LOG_LEVEL:
            cli_log_level_arg(optarg);
            break;
        case OPT_CLUSTER_CIDR:
            parse_cidr("--cluster-cidr", optarg, "10.244.0.0/16", &o->proxy.cluster_cidr);
            o->proxy.has_cluster_cidr = true;
            break;
        case OPT_SERVICE_CIDR:
            parse_cidr("--service-cidr", optarg, "10.96.0.0/12", &o->proxy.service_cidr);
            o->proxy.has_service_cidr = true;
            break;
        case OPT_NODEPORT_ADDRESSES:
            parse_cidr_list("--nodeport-addresses", optarg, &o->proxy);
            break;
        }
    }
    cli_no_operands(argc, argv);
    if (!o->proxy.node_name || !*o->proxy.node_name) {
        cli_usage_error("--node-name is required");
    }
    if (o->context && !o->kubeconfig) {
        cli_usage_error("--context needs --kubeconfig");
    }
}

static struct proxy the_proxy;

static void on_signal(int sig)
{
    proxy_stop(&the_proxy);
}

int main(int argc, char *argv[])
{
    struct proxy_http *healthz = NULL, *metrics = NULL;
    struct kube_config kcfg;
    struct sigaction sa = { .sa_handler = on_signal };
    struct options o;
    char err[512];
    int error;

    log_set_program("vswitch-proxy");
    cli_set_program("vswitch-proxy", 2);
    parse_options(argc, argv, &o);

    error = o.kubeconfig ? kubeconfig_load(o.kubeconfig, o.context, &kcfg, err, sizeof err)
                         : kubeconfig_in_cluster(KUBE_SA_DIR, &kcfg, err, sizeof err);
    if (error) {
        fprintf(stderr, "vswitch-proxy: %s\n", err);
        return 1;
    }
    if (kcfg.insecure) {
        LOG_WARN("%s sets insecure-skip-tls-verify: the API server's certificate is NOT "
                 "verified", kcfg.source);
    }
    if (!strncmp(kcfg.server, "http://", 7)) {
        LOG_WARN("%s uses plain http://: no TLS", kcfg.source);
    }

    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    kube_client_global_init();

    proxy_init(&the_proxy, &o.proxy, &kcfg);
    if (*o.healthz && proxy_http_start(&the_proxy, o.healthz, &healthz, err, sizeof err)) {
        fprintf(stderr, "vswitch-proxy: --healthz-bind-address: %s\n", err);
        error = 1;
        goto out;
    }
    if (*o.metrics && strcmp(o.metrics, o.healthz) &&
        proxy_http_start(&the_proxy, o.metrics, &metrics, err, sizeof err)) {
        fprintf(stderr, "vswitch-proxy: --metrics-bind-address: %s\n", err);
        error = 1;
        goto out;
    }
    LOG_INFO("vswitch-proxy %s: API server %s (%s), node %s, vswitchd at %s, dsr=%s",
             VSWITCH_VERSION, kcfg.server, kcfg.source, o.proxy.node_name, o.proxy.ctl_path,
             o.proxy.dsr ? "true" : "false");
    if (proxy_start(&the_proxy)) {
        error = 1;
        goto out;
    }
    proxy_run(&the_proxy);
    LOG_INFO("stopping");

out:
    proxy_stop(&the_proxy);
    proxy_http_stop(metrics);
    proxy_http_stop(healthz);
    proxy_destroy(&the_proxy);
    kubeconfig_destroy(&kcfg);
    kube_client_global_cleanup();
    return error ? 1 : 0;
}
