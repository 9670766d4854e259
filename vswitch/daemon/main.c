/* vswitchd: the switch daemon's entry point.  Parses the command line, starts the parts in
 * dependency order (database, datapath with its host port and VXLAN port, restored ports,
 * policies and peers, datapath thread, control socket, metrics), runs the control thread's
 * libuv loop until SIGTERM or SIGINT, and tears everything down in reverse.
 *
 * The control socket is created first, before anything touches the node, so that a second
 * vswitchd started by mistake stops at "already running" instead of reconfiguring vsw0 under
 * the first one; it accepts clients only once the restored ports are in place.  Policies and
 * peers are restored before the datapath thread starts, so no packet to a VIP is ever
 * forwarded as if the VIP were an ordinary address, nor a remote pod's as if it were
 * outside the cluster. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
/* uv.h brings <sys/param.h>'s MIN/MAX, which lib/types.h defines again. */
#undef MIN
#undef MAX

#define LOG_MODULE "vswitchd"
#include "daemon/ctl-server.h"
#include "daemon/db.h"
#include "daemon/handlers.h"
#include "daemon/masquerade.h"
#include "daemon/node-routes.h"
#include "daemon/nodeport.h"
#include "daemon/metrics.h"
#include "daemon/restore.h"
#include "daemon/vswitchd.h"
#include "dp/dp.h"
#include "lib/cli.h"
#include "lib/ctl-client.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/netlink.h"
#include "lib/util.h"

#define DEFAULT_DB "/var/lib/vswitch/conf.db"
#define DEFAULT_METRICS "127.0.0.1:9479"
#define DEFAULT_VNI 1
#define DEFAULT_VXLAN_PORT 4789         /* IANA-assigned VXLAN port, RFC 7348. */
#define DEFAULT_FLOW_CACHE 65536
#define VNI_MAX 0xffffff                /* 24-bit VXLAN Network Identifier, RFC 7348. */
#define FLOW_CACHE_MAX (1u << 24)
#define DEFAULT_MAX_FLOW_PAIRS 262144
#define MAX_FLOW_PAIRS_MAX (1u << 24)
/* One client may fill a quarter of the table: a flood from one pod leaves the other three
 * quarters to the rest, and a busy pod (an ingress proxy) still has room to work. */
#define DEFAULT_FLOW_PAIRS_PER_POD_DIVISOR 4
/* Seconds, as Linux's nf_conntrack_tcp_timeout_established and so kube-proxy: long-lived
 * connections that go quiet for a while (databases, streams) survive. */
#define DEFAULT_FLOW_TTL 86400
#define FLOW_TTL_MAX (30 * 86400)       /* Fits the table's 32-bit milliseconds. */
#define DEFAULT_BUSY_POLL_US 0
#define BUSY_POLL_MAX_US 100000
/* VXLAN costs 50 bytes (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14; RFC 7348).  The
 * overlay MTU is the largest inner IPv4 packet: at least IPv4's 576 (RFC 791), at most what
 * fits a UDP datagram with the overhead. */
#define VXLAN_OVERHEAD 50
#define DEFAULT_BPF_PIN_DIR "/sys/fs/bpf/vswitch"
#define OVERLAY_MTU_MIN 576
#define OVERLAY_MTU_MAX (65535 - VXLAN_OVERHEAD)

static const char usage_text[] =
"NAME\n"
"    vswitchd - userspace virtual switch for Kubernetes pod networks\n"
"\n"
"SYNOPSIS\n"
"    vswitchd --pod-cidr CIDR [--ctl PATH] [--db PATH] [--node-ip IP] [--vni N]\n"
"             [--vxlan-port N] [--overlay-mtu N] [--vxlan-rco on|off] [--metrics ADDR:PORT]\n"
"             [--log-level LEVEL] [--ctl-group GROUP] [--flow-cache-size N]\n"
"             [--max-flow-pairs N] [--max-flow-pairs-per-pod N]\n"
"             [--tcp-established-timeout SECONDS] [--busy-poll-us N]\n"
"             [--ctl-idle-timeout SECONDS] [--cluster-cidr CIDR] [--masquerade true|false]\n"
"             [--service-cidr CIDR] [--offload tc|none] [--bpf-pin-dir DIR]\n"
"    vswitchd --help | --version\n"
"\n"
"DESCRIPTION\n"
"    vswitchd switches and routes the traffic of the pods attached to it, and is their\n"
"    gateway: it answers ARP for the first address of the pod CIDR itself.  It creates the\n"
"    host port vsw0, a TAP in its network namespace holding the gateway address, through\n"
"    which the node reaches its pods.  It load-balances connections to service VIPs itself\n"
"    (vsctl add-lb): the first packet picks a backend and creates a flow pair that\n"
"    translates the rest of the connection in both directions.  With --node-ip it joins\n"
"    the VXLAN overlay: traffic to the pod CIDRs of other nodes (vsctl add-peer) is\n"
"    encapsulated to them.  Ports, policies and peers are configured with vsctl(8) and kept\n"
"    in the database, so they come back when vswitchd restarts.  It runs in the\n"
"    foreground, logs to stderr, and stops cleanly on SIGTERM or SIGINT.\n"
"\n"
"OPTIONS\n"
"    --pod-cidr CIDR\n"
"        This node's pod subnet, e.g. 10.244.1.0/24 (required).  Its first address is the\n"
"        gateway; the router MAC is derived from it (0a:58 followed by the address).\n"
"    --ctl PATH\n"
"        Control socket for vsctl and the other clients (default " CTL_DEFAULT_PATH ").\n"
"    --ctl-group GROUP\n"
"        Let members of GROUP use the control socket (mode 0660); by default only root\n"
"        may (mode 0600).\n"
"    --ctl-idle-timeout SECONDS\n"
"        Close a control connection that has had no request in progress and no reply\n"
"        waiting for SECONDS, 0 to 86400 (default 90; 0: never).  vswitch-proxy keeps\n"
"        its connection busy every --sync-period; with a longer period it reconnects.\n"
"        Whatever this says, a request must arrive whole within 10 s and replies must be\n"
"        read within 10 s; at the limit of 1024 connections (128 per process) a new\n"
"        client closes the quietest connection of the process holding the most.\n"
"    --db PATH\n"
"        Configuration database, SQLite (default " DEFAULT_DB ").\n"
"    --cluster-cidr CIDR\n"
"        The supernet of every node's pod CIDR, e.g. 10.244.0.0/16 (kube-proxy's and\n"
"        kube-controller-manager's --cluster-cidr).  It must contain --pod-cidr.\n"
"    --masquerade true|false\n"
"        Whether pod traffic to a destination outside --cluster-cidr and --service-cidr\n"
"        leaves the node with the node's own address as its source (default true when\n"
"        --cluster-cidr is given), so that the internet, upstream DNS or another node's\n"
"        address can answer it.  vswitchd programs it as an nftables table of its own,\n"
"        ip " MASQUERADE_TABLE ", in its network namespace; the kernel translates the answers\n"
"        back.  The node must forward IPv4 (net.ipv4.ip_forward=1).\n"
"    --service-cidr CIDR\n"
"        The cluster IPs, e.g. 10.96.0.0/12 (kube-apiserver's --service-cluster-ip-range):\n"
"        the node routes it into the switch, so the node and hostNetwork pods reach\n"
"        every cluster IP, balanced by the switch.  Each peer's pod CIDR is routed the\n"
"        same way (vsctl add-peer), so the node reaches pods on other nodes.  These\n"
"        routes go via " NODE_ROUTES_NEXT_HOP " on vsw0 (proto " NODE_ROUTES_PROTO_STR "), with a\n"
"        permanent neighbor entry for it holding the router MAC.\n"
"    --node-ip IP\n"
"        This node's underlay address, the source of VXLAN traffic; it must be an\n"
"        address of an interface of this node.  Without it there is no overlay, and\n"
"        vsctl add-peer is refused.\n"
"    --vni N\n"
"        VXLAN network identifier, 1 to 16777215 (default 1).  Every node of the\n"
"        overlay must use the same.\n"
"    --vxlan-port N\n"
"        VXLAN UDP port (default 4789).  Every node of the overlay must use the same.\n"
"    --overlay-mtu N\n"
"        The largest IP packet a pod may send to a pod on another node, 576 to 65485.\n"
"        Default: the MTU of the interface holding --node-ip less the 50 bytes VXLAN\n"
"        adds (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14), read at start-up:\n"
"        1450 on a 1500-byte underlay.  Pods must be given this MTU (the CNI\n"
"        netconf's \"mtu\"): a larger packet to another node is dropped and answered\n"
"        with ICMP \"fragmentation needed\"; TCP segments from pods that offload\n"
"        segmentation are cut to fit.\n"
"    --vxlan-rco on|off\n"
"        Remote checksum offload (RCO, as Linux's vxlan remcsumtx; default on): the\n"
"        inner TCP or UDP checksum of a packet sent to a peer is left for the receiver\n"
"        to complete, and the VXLAN header says where it is.  The outer UDP checksum\n"
"        still covers the packet.  vswitchd always accepts it; turn it off when a peer\n"
"        is another VXLAN endpoint that does not (a Linux vxlan device without\n"
"        remcsumrx drops such packets), and on every node while a cluster moves from\n"
"        a vswitchd older than this option.\n"
"    --metrics ADDR:PORT\n"
"        Serve Prometheus metrics at http://ADDR:PORT/metrics and a health check at\n"
"        /healthz (default " DEFAULT_METRICS ").\n"
"    --flow-cache-size N\n"
"        Maximum number of cached flows (default 65536).\n"
"    --max-flow-pairs N\n"
"        Maximum number of flow pairs (load-balanced connections) at once, 1 to 16777216\n"
"        (default 262144).  When the table is full, a new connection evicts a closed\n"
"        pair (RST, or FIN both ways) or one idle past its timeout, else an unassured\n"
"        one (a SYN that the client did not follow up after the backend's answer; UDP\n"
"        that did not go on after the first answer for 2 s), else a closing one (one\n"
"        FIN), preferably of a client holding more than its share.  An established\n"
"        (assured) pair is never evicted: the new connection is refused instead (drop\n"
"        reason flow_table_full), and the client's retransmission tries again.\n"
"        Evictions are counted by kind.\n"
"    --max-flow-pairs-per-pod N\n"
"        Maximum number of flow pairs one client address (a pod, or a client on another\n"
"        node) may hold, 0 to 16777216 (default a quarter of --max-flow-pairs; 0: no\n"
"        limit).  At the limit, a new connection of that client recycles its own\n"
"        oldest closed, unassured or closing pair, or is refused (drop reason\n"
"        flow_pair_quota) when all its pairs are established.\n"
"    --tcp-established-timeout SECONDS\n"
"        How long an established TCP flow pair (or dispatch entry) lives without\n"
"        traffic, 1 to 2592000 (default 86400, as Linux's\n"
"        nf_conntrack_tcp_timeout_established; --flow-ttl is its older name).  Closing\n"
"        TCP connections, UDP and ICMP have shorter timeouts of their own.  A full table\n"
"        may evict an established pair idle for more than 5 minutes (see\n"
"        --max-flow-pairs).\n"
"        Flow pairs live in the file PATH.flow-pairs, PATH being --ctl's (on /run's tmpfs\n"
"        by default): a vswitchd restarted after a crash adopts them, so connections\n"
"        through a VIP survive it whichever side speaks first.\n"
"    --busy-poll-us N\n"
"        After a packet, keep polling the ports for N microseconds before sleeping, 0 to\n"
"        100000 (default 0: never).  A wakeup costs a few microseconds per packet: on a\n"
"        node with a core to spare, polling (e.g. 200) cuts round-trip latency for the\n"
"        price of that core while traffic flows; on a small, busy node it takes the core\n"
"        from the pods it waits for.  An idle switch sleeps either way.\n"
"    --offload tc|none\n"
"        tc (the default): established flows between veth pods (TCP past its handshake,\n"
"        UDP once answered) are installed in a tc eBPF program on the pods' host ends and\n"
"        executed by the kernel; the first packets, every decision and every other flow\n"
"        stay here (vsctl dump-flows marks each flow dp=tc or dp=user).  If the kernel\n"
"        refuses the program, vswitchd says why once and forwards in user space.\n"
"        none: everything in user space (and a program left by an earlier run is removed\n"
"        from each port as it is added).\n"
"    --bpf-pin-dir DIR\n"
"        Where the fast path's maps are pinned, on a bpffs (default /sys/fs/bpf/vswitch):\n"
"        a vswitchd restarted after a crash adopts them, and installed flows keep\n"
"        forwarding while it is down.  Not on a bpffs: not pinned (said once).\n"
CLI_USAGE_COMMON_OPTIONS
"\n"
"EXIT STATUS\n"
"    0 after a clean shutdown, 1 if vswitchd cannot start or fails, 2 for bad usage.\n"
"\n"
"EXAMPLES\n"
"    vswitchd --pod-cidr 10.244.1.0/24 --node-ip 192.168.0.11\n"
"    vsctl add-peer 192.168.0.12 10.244.2.0/24\n";

enum {
    OPT_CTL = 256, OPT_DB, OPT_POD_CIDR, OPT_NODE_IP, OPT_VNI, OPT_VXLAN_PORT, OPT_METRICS,
    OPT_LOG_LEVEL, OPT_CTL_GROUP, OPT_FLOW_CACHE_SIZE, OPT_MAX_FLOW_PAIRS, OPT_FLOW_TTL,
    OPT_BUSY_POLL_US, OPT_OFFLOAD, OPT_BPF_PIN_DIR,
    OPT_MAX_FLOW_PAIRS_PER_POD,
    OPT_OVERLAY_MTU,
    OPT_CTL_IDLE_TIMEOUT,
    OPT_VXLAN_RCO,
    OPT_CLUSTER_CIDR,
    OPT_MASQUERADE,
    OPT_SERVICE_CIDR,
};

static const struct option long_options[] = {
    { "ctl", required_argument, NULL, OPT_CTL },
    { "db", required_argument, NULL, OPT_DB },
    { "pod-cidr", required_argument, NULL, OPT_POD_CIDR },
    { "node-ip", required_argument, NULL, OPT_NODE_IP },
    { "vni", required_argument, NULL, OPT_VNI },
    { "vxlan-port", required_argument, NULL, OPT_VXLAN_PORT },
    { "overlay-mtu", required_argument, NULL, OPT_OVERLAY_MTU },
    { "vxlan-rco", required_argument, NULL, OPT_VXLAN_RCO },
    { "metrics", required_argument, NULL, OPT_METRICS },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "ctl-group", required_argument, NULL, OPT_CTL_GROUP },
    { "ctl-idle-timeout", required_argument, NULL, OPT_CTL_IDLE_TIMEOUT },
    { "flow-cache-size", required_argument, NULL, OPT_FLOW_CACHE_SIZE },
    { "max-flow-pairs", required_argument, NULL, OPT_MAX_FLOW_PAIRS },
    { "max-flow-pairs-per-pod", required_argument, NULL, OPT_MAX_FLOW_PAIRS_PER_POD },
    { "tcp-established-timeout", required_argument, NULL, OPT_FLOW_TTL },
    { "flow-ttl", required_argument, NULL, OPT_FLOW_TTL },
    { "cluster-cidr", required_argument, NULL, OPT_CLUSTER_CIDR },
    { "masquerade", required_argument, NULL, OPT_MASQUERADE },
    { "service-cidr", required_argument, NULL, OPT_SERVICE_CIDR },
    { "busy-poll-us", required_argument, NULL, OPT_BUSY_POLL_US },
    { "offload", required_argument, NULL, OPT_OFFLOAD },
    { "bpf-pin-dir", required_argument, NULL, OPT_BPF_PIN_DIR },
    CLI_OPTIONS_END,
};

static gid_t parse_group(const char *name)
{
    struct group *gr = getgrnam(name);
    unsigned long gid;

    if (gr) {
        return gr->gr_gid;
    }
    /* (gid_t) -1 means "no group" to chown(). */
    if (!cli_parse_ulong(name, 0, (gid_t) -1 - 1, &gid)) {
        return gid;
    }
    cli_usage_error("invalid --ctl-group '%s': no such group", name);
}

static void parse_cidr_arg(const char *flag, const char *arg, const char *example,
                           struct cidr *cidr)
{
    if (addr_parse_cidr(arg, cidr)) {
        cli_usage_error("invalid %s '%s': expected A.B.C.D/N with the host bits zero, e.g. %s",
                        flag, arg, example);
    }
}

/* The relations between the CIDRs, once all are known. */
static void check_cidrs(const struct vswitchd_config *cfg, const char *pod_cidr,
                        const char *masquerade)
{
    char cluster[IP_STR_LEN], service[IP_STR_LEN];

    addr_ip_str(cfg->cluster_cidr.net, cluster);
    addr_ip_str(cfg->service_cidr.net, service);
    if (cfg->has_cluster_cidr
        && (cfg->cluster_cidr.prefix > cfg->pod_cidr.prefix
            || !cidr_contains(&cfg->cluster_cidr, cfg->pod_cidr.net))) {
        cli_usage_error("--cluster-cidr %s/%d does not contain --pod-cidr %s: it is the "
                        "supernet of every node's pod CIDR", cluster, cfg->cluster_cidr.prefix,
                        pod_cidr);
    }
    if (cfg->has_service_cidr && cidr_overlaps(&cfg->service_cidr, &cfg->pod_cidr)) {
        cli_usage_error("--service-cidr %s/%d overlaps --pod-cidr %s", service,
                        cfg->service_cidr.prefix, pod_cidr);
    }
    if (cfg->has_service_cidr && cfg->has_cluster_cidr
        && cidr_overlaps(&cfg->service_cidr, &cfg->cluster_cidr)) {
        cli_usage_error("--service-cidr %s/%d overlaps --cluster-cidr %s/%d", service,
                        cfg->service_cidr.prefix, cluster, cfg->cluster_cidr.prefix);
    }
    if (masquerade && !strcmp(masquerade, "true") && !cfg->has_cluster_cidr) {
        cli_usage_error("--masquerade true needs --cluster-cidr: traffic leaving it is what "
                        "is masqueraded");
    }
}

static void parse_options(int argc, char *argv[], struct vswitchd_config *cfg)
{
    const char *pod_cidr = NULL, *masquerade = NULL;
    bool per_pod_given = false;
    int c;

    *cfg = (struct vswitchd_config) {
        .ctl_path = CTL_DEFAULT_PATH,
        .db_path = DEFAULT_DB,
        .vni = DEFAULT_VNI,
        .vxlan_port = DEFAULT_VXLAN_PORT,
        .vxlan_rco = true,
        .metrics_addr = DEFAULT_METRICS,
        .ctl_gid = (gid_t) -1,
        .ctl_idle_timeout = CTL_DEFAULT_IDLE_TIMEOUT,
        .flow_cache_size = DEFAULT_FLOW_CACHE,
        .max_flow_pairs = DEFAULT_MAX_FLOW_PAIRS,
        .flow_ttl = DEFAULT_FLOW_TTL,
        .busy_poll_us = DEFAULT_BUSY_POLL_US,
        .offload = true,
        .bpf_pin_dir = DEFAULT_BPF_PIN_DIR,
    };
    while ((c = cli_getopt(argc, argv, long_options, usage_text,
                           "vswitchd (vswitch) " VSWITCH_VERSION)) != -1) {
        switch (c) {
        case OPT_CTL:
            if (!*optarg) {
                cli_usage_error("--ctl needs a path");
            }
            cfg->ctl_path = optarg;
            break;
        case OPT_DB:
            if (!*optarg) {
                cli_usage_error("--db needs a path");
            }
            cfg->db_path = optarg;
            break;
        case OPT_POD_CIDR:
            pod_cidr = optarg;
            if (addr_parse_cidr(optarg, &cfg->pod_cidr)) {
                cli_usage_error("invalid --pod-cidr '%s': expected A.B.C.D/N with the host "
                                "bits zero, e.g. 10.244.1.0/24", optarg);
            }
            if (cfg->pod_cidr.prefix > 30) {
                cli_usage_error("invalid --pod-cidr '%s': a /%d has no room for a gateway "
                                "and pods (use /30 or shorter)", optarg, cfg->pod_cidr.prefix);
            }
            break;
        case OPT_NODE_IP:
            if (addr_parse_ip(optarg, &cfg->node_ip) || !cfg->node_ip) {
                cli_usage_error("invalid --node-ip '%s': expected an IPv4 address", optarg);
            }
            break;
        case OPT_VNI:
            cfg->vni = cli_ulong_arg("--vni", optarg, 1, VNI_MAX);
            break;
        case OPT_VXLAN_PORT:
            cfg->vxlan_port = cli_ulong_arg("--vxlan-port", optarg, 1, 65535);
            break;
        case OPT_OVERLAY_MTU:
            cfg->overlay_mtu = cli_ulong_arg("--overlay-mtu", optarg, OVERLAY_MTU_MIN,
                                             OVERLAY_MTU_MAX);
            break;
        case OPT_VXLAN_RCO:
            if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
                cli_usage_error("invalid --vxlan-rco '%s': expected on or off", optarg);
            }
            cfg->vxlan_rco = !strcmp(optarg, "on");
            break;
        case OPT_METRICS:
            cfg->metrics_addr = optarg;
            break;
        case OPT_LOG_LEVEL:
            cli_log_level_arg(optarg);
            break;
        case OPT_CTL_GROUP:
            cfg->ctl_gid = parse_group(optarg);
            break;
        case OPT_CTL_IDLE_TIMEOUT:
            cfg->ctl_idle_timeout = cli_ulong_arg("--ctl-idle-timeout", optarg, 0,
                                                  CTL_MAX_IDLE_TIMEOUT);
            break;
        case OPT_FLOW_CACHE_SIZE:
            cfg->flow_cache_size = cli_ulong_arg("--flow-cache-size", optarg, 1,
                                                 FLOW_CACHE_MAX);
            break;
        case OPT_MAX_FLOW_PAIRS:
            cfg->max_flow_pairs = cli_ulong_arg("--max-flow-pairs", optarg, 1,
                                                MAX_FLOW_PAIRS_MAX);
            break;
        case OPT_MAX_FLOW_PAIRS_PER_POD:
            cfg->max_flow_pairs_per_pod = cli_ulong_arg("--max-flow-pairs-per-pod", optarg,
                                                        0, MAX_FLOW_PAIRS_MAX);
            per_pod_given = true;
            break;
        case OPT_FLOW_TTL:
            cfg->flow_ttl = cli_ulong_arg("--tcp-established-timeout", optarg, 1,
                                          FLOW_TTL_MAX);
            break;
        case OPT_CLUSTER_CIDR:
            parse_cidr_arg("--cluster-cidr", optarg, "10.244.0.0/16", &cfg->cluster_cidr);
            cfg->has_cluster_cidr = true;
            break;
        case OPT_SERVICE_CIDR:
            parse_cidr_arg("--service-cidr", optarg, "10.96.0.0/12", &cfg->service_cidr);
            cfg->has_service_cidr = true;
            break;
        case OPT_MASQUERADE:
            if (strcmp(optarg, "true") && strcmp(optarg, "false")) {
                cli_usage_error("invalid --masquerade '%s': expected true or false", optarg);
            }
            masquerade = optarg;
            break;
        case OPT_BUSY_POLL_US:
            cfg->busy_poll_us = cli_ulong_arg("--busy-poll-us", optarg, 0, BUSY_POLL_MAX_US);
            break;
        case OPT_OFFLOAD:
            if (strcmp(optarg, "tc") && strcmp(optarg, "none")) {
                cli_usage_error("invalid --offload '%s': expected tc or none", optarg);
            }
            cfg->offload = !strcmp(optarg, "tc");
            break;
        case OPT_BPF_PIN_DIR:
            if (optarg[0] != '/') {
                cli_usage_error("invalid --bpf-pin-dir '%s': expected an absolute path",
                                optarg);
            }
            cfg->bpf_pin_dir = optarg;
            break;
        }
    }
    cli_no_operands(argc, argv);
    if (!pod_cidr) {
        cli_usage_error("--pod-cidr is required (this node's pod subnet, e.g. 10.244.1.0/24)");
    }
    if (!per_pod_given) {
        cfg->max_flow_pairs_per_pod = MAX(cfg->max_flow_pairs
                                          / DEFAULT_FLOW_PAIRS_PER_POD_DIVISOR, 1);
    }
    check_cidrs(cfg, pod_cidr, masquerade);
    cfg->masquerade = masquerade ? !strcmp(masquerade, "true") : cfg->has_cluster_cidr;
    if (cfg->overlay_mtu && !cfg->node_ip) {
        cli_usage_error("--overlay-mtu needs --node-ip: without it there is no overlay");
    }
    if (addr_parse_ip_port(cfg->metrics_addr, &cfg->metrics_ip, &cfg->metrics_port)) {
        cli_usage_error("invalid --metrics '%s': expected ADDR:PORT, e.g. %s",
                        cfg->metrics_addr, DEFAULT_METRICS);
    }
    cfg->gateway = htonl(ntohl(cfg->pod_cidr.net) + 1);
    cfg->router_mac = addr_mac_from_ip(cfg->gateway);
}

/* Puts the gateway address (and only it) on the host port and brings it up. */
static int configure_host_port(const struct vswitchd_config *cfg, char *err, size_t errlen)
{
    unsigned int ifindex;
    struct nl_sock *nl;
    char nl_err[256];
    int error = vswitchd_host_port_open(&ifindex, &nl, err, errlen);

    if (error) {
        return error;
    }
    error = nl_addr_replace(nl, ifindex, cfg->gateway, cfg->pod_cidr.prefix, nl_err,
                            sizeof nl_err);
    if (!error) {
        error = nl_addr_flush_except(nl, ifindex, cfg->gateway, cfg->pod_cidr.prefix, nl_err,
                                     sizeof nl_err);
    }
    if (!error) {
        error = nl_link_set_up(nl, ifindex, nl_err, sizeof nl_err);
    }
    nl_close(nl);
    if (error) {
        snprintf(err, errlen, "cannot configure host port %s: %s", VSWITCHD_HOST_PORT, nl_err);
    }
    return error;
}

/* Chooses the overlay MTU when --overlay-mtu is not given: the MTU of the interface that holds
 * --node-ip, less VXLAN's overhead.  An address that no interface holds is left for the
 * datapath to refuse when it binds the VXLAN socket, with its message. */
static int choose_overlay_mtu(struct vswitchd_config *cfg, char *err, size_t errlen)
{
    char nl_err[256], ip[IP_STR_LEN], name[IF_NAMESIZE];
    struct nl_addr *addrs = NULL;
    struct nl_link link;
    struct nl_sock *nl;
    int error, ifindex = 0;
    size_t n = 0;

    addr_ip_str(cfg->node_ip, ip);
    error = nl_open(&nl, nl_err, sizeof nl_err);
    if (!error) {
        error = nl_addr_list(nl, 0, &addrs, &n, nl_err, sizeof nl_err);
    }
    for (size_t i = 0; !error && i < n && !ifindex; i++) {
        if (addrs[i].local == cfg->node_ip) {
            ifindex = addrs[i].ifindex;
        }
    }
    free(addrs);
    if (!error && ifindex) {
        if (!if_indextoname(ifindex, name)) {
            error = -errno;
            snprintf(nl_err, sizeof nl_err, "interface %d: %s", ifindex, strerror(errno));
        } else {
            error = nl_link_get(nl, name, &link, nl_err, sizeof nl_err);
        }
    }
    nl_close(nl);
    if (error) {
        snprintf(err, errlen, "cannot find the MTU of the interface holding --node-ip %s: %s "
                 "(give --overlay-mtu)", ip, nl_err);
        return error;
    }
    if (!ifindex) {
        return 0;
    }
    if (link.mtu < OVERLAY_MTU_MIN + VXLAN_OVERHEAD) {
        snprintf(err, errlen, "the MTU of %s, which holds --node-ip %s, is %u: too small for "
                 "VXLAN (at least %d, so that pods get %d)", link.name, ip, link.mtu,
                 OVERLAY_MTU_MIN + VXLAN_OVERHEAD, OVERLAY_MTU_MIN);
        return -EINVAL;
    }
    cfg->overlay_mtu = MIN(link.mtu - VXLAN_OVERHEAD, OVERLAY_MTU_MAX);
    LOG_INFO("overlay MTU %u: the MTU of %s (%u), which holds %s, less %d bytes of VXLAN",
             cfg->overlay_mtu, link.name, link.mtu, ip, VXLAN_OVERHEAD);
    return 0;
}

/* Programs (or removes) the masquerade rules.  Only a failure to program them stops the
 * daemon: removing a table left by an earlier configuration is best effort, so a node
 * without nf_tables runs as long as it is not asked to masquerade. */
static int setup_masquerade(const struct vswitchd_config *cfg)
{
    char err[1024], net[IP_STR_LEN];
    int error = masquerade_sync(cfg, err, sizeof err);
    FILE *f;

    if (error && cfg->masquerade) {
        LOG_ERR("%s", err);
        return error;
    }
    if (error) {
        LOG_DBG("no masquerade table to remove: %s", err);
        return 0;
    }
    if (!cfg->masquerade) {
        return 0;
    }
    LOG_INFO("masquerade: pod traffic from %s/%d to outside it%s leaves with the node's "
             "address (nftables table ip " MASQUERADE_TABLE ")",
             addr_ip_str(cfg->cluster_cidr.net, net), cfg->cluster_cidr.prefix,
             cfg->has_service_cidr ? " and the service CIDR" : "");
    f = fopen("/proc/sys/net/ipv4/ip_forward", "r");
    if (f) {
        if (fgetc(f) == '0') {
            LOG_WARN("net.ipv4.ip_forward is 0 in this network namespace: the node does not "
                     "forward, so pods cannot reach anything outside the cluster");
        }
        fclose(f);
    }
    return 0;
}

static void on_signal(uv_signal_t *sig, int signum)
{
    LOG_INFO("%s received; shutting down", strsignal(signum));
    uv_stop(sig->loop);
}

static void close_walk(uv_handle_t *handle, void *arg)
{
    if (!uv_is_closing(handle)) {
        uv_close(handle, NULL);
    }
}

int main(int argc, char *argv[])
{
    struct vswitchd vd = { .start_msec = time_msec(), .owns_node_routes = true };
    struct vswitchd_config *cfg = &vd.cfg;
    uv_signal_t sigterm, sigint;
    struct dp_config dp_cfg;
    char err[512], net[IP_STR_LEN], gw[IP_STR_LEN], mac[ETH_STR_LEN], pairs_path[PATH_MAX];
    uv_loop_t loop;
    int error, restored, policies, peers;

    log_set_program("vswitchd");
    cli_set_program("vswitchd", 2);
    parse_options(argc, argv, cfg);
    /* A client that hangs up before its reply is written must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);

    error = uv_loop_init(&loop);
    if (error) {
        LOG_ERR("cannot create the event loop: %s", uv_strerror(error));
        return 1;
    }
    error = ctl_server_open(&loop, cfg->ctl_path, cfg->ctl_gid, cfg->ctl_idle_timeout,
                            handlers_handle, &vd, &vd.ctl, err, sizeof err);
    if (error) {
        LOG_ERR("%s", err);
        goto out;
    }
    error = db_open(cfg->db_path, &vd.db, err, sizeof err);
    if (error) {
        LOG_ERR("%s", err);
        goto out;
    }

    if (cfg->node_ip && !cfg->overlay_mtu) {
        error = choose_overlay_mtu(cfg, err, sizeof err);
        if (error) {
            LOG_ERR("%s", err);
            goto out;
        }
    }
    /* Named after the control socket, which no two switches share, on /run's tmpfs: a
     * restarted vswitchd adopts the flow pairs of the one before, and a reboot forgets them. */
    snprintf(pairs_path, sizeof pairs_path, "%s.flow-pairs", cfg->ctl_path);
    dp_cfg = (struct dp_config) {
        .pod_cidr = cfg->pod_cidr,
        .gateway = cfg->gateway,
        .router_mac = cfg->router_mac,
        .host_port = VSWITCHD_HOST_PORT,
        .flow_cache_size = cfg->flow_cache_size,
        .node_ip = cfg->node_ip,
        .vni = cfg->vni,
        .vxlan_port = cfg->vxlan_port,
        .overlay_mtu = cfg->overlay_mtu,
        .vxlan_rco = cfg->vxlan_rco,
        .max_flow_pairs = cfg->max_flow_pairs,
        .max_flow_pairs_per_pod = cfg->max_flow_pairs_per_pod,
        .flow_ttl = cfg->flow_ttl,
        .busy_poll_us = cfg->busy_poll_us,
        .pairs_path = pairs_path,
        .offload = cfg->offload,
        .bpf_pin_dir = cfg->bpf_pin_dir,
    };
    err[0] = '\0';
    error = dp_create(&dp_cfg, &vd.dp, err, sizeof err);
    if (error) {
        LOG_ERR("cannot create the datapath: %s", *err ? err : strerror(-error));
        goto out;
    }
    error = configure_host_port(cfg, err, sizeof err);
    if (error) {
        LOG_ERR("%s", err);
        goto out;
    }
    restored = restore_ports(&vd, err, sizeof err);
    if (restored < 0) {
        error = restored;
        LOG_ERR("cannot restore ports: %s", err);
        goto out;
    }
    policies = restore_policies(&vd, err, sizeof err);
    if (policies < 0) {
        error = policies;
        LOG_ERR("cannot restore policies: %s", err);
        goto out;
    }
    peers = restore_peers(&vd, err, sizeof err);
    if (peers < 0) {
        error = peers;
        LOG_ERR("cannot restore peers: %s", err);
        goto out;
    }
    /* Before the routes, which leave the node's own addresses alone. */
    error = nodeport_open(&vd, &loop, &vd.nodeport, err, sizeof err);
    if (error) {
        LOG_ERR("%s", err);
        goto out;
    }
    /* Before any traffic: the node reaches what lies behind the switch, and pods the
     * outside, as soon as the switch forwards. */
    error = node_routes_update(&vd);
    if (error) {
        goto out;
    }
    error = setup_masquerade(cfg);
    if (error) {
        goto out;
    }
    error = dp_start(vd.dp);
    if (error) {
        LOG_ERR("cannot start the datapath thread: %s", strerror(-error));
        goto out;
    }
    error = ctl_server_start(vd.ctl, err, sizeof err);
    if (error) {
        LOG_ERR("%s", err);
        goto out;
    }
    error = metrics_start(&vd, &vd.metrics, err, sizeof err);
    if (error) {
        LOG_ERR("%s", err);
        goto out;
    }

    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_init(&loop, &sigint);
    uv_signal_start(&sigint, on_signal, SIGINT);
    LOG_INFO("vswitchd %s started: pod CIDR %s/%d, gateway %s, router MAC %s, %d port(s), "
             "%d peer(s) and %d policy(ies) restored", VSWITCH_VERSION,
             addr_ip_str(cfg->pod_cidr.net, net), cfg->pod_cidr.prefix,
             addr_ip_str(cfg->gateway, gw), addr_mac_str(cfg->router_mac, mac), restored,
             peers, policies);
    if (cfg->node_ip) {
        LOG_INFO("overlay: node IP %s, VNI %u, UDP port %u, MTU %u (pods need this MTU), "
                 "remote checksum offload %s", addr_ip_str(cfg->node_ip, net), cfg->vni,
                 cfg->vxlan_port, cfg->overlay_mtu, cfg->vxlan_rco ? "on" : "off");
    } else {
        LOG_INFO("no overlay (no --node-ip): single node");
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    error = 0;

out:
    metrics_stop(vd.metrics);
    ctl_server_close(vd.ctl);
    /* Let every handle's close callback run so that nothing is left allocated. */
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop)) {
        LOG_WARN("event loop closed with handles still open");
    }
    nodeport_close(vd.nodeport);
    dp_destroy(vd.dp);
    db_close(vd.db);
    if (!error) {
        LOG_INFO("stopped");
    }
    return error ? 1 : 0;
}
