#!/usr/bin/env bash
# tests/bench/run.sh BUILD_DIR — `make bench`, in three parts (BENCH_PARTS, default all):
#
# pod   pod -> pod: the same namespace topology (a node namespace, two pod namespaces on veth,
#       pods keeping their default offloads) switched by
#         bridge   the Linux bridge (the reference every ratio is taken against)
#         ovs      Open vSwitch's userspace datapath (datapath_type=netdev,
#                  other_config:userspace-tso-enable=true), its daemons started inside the
#                  node namespace with private run/db/log directories
#         vswitch  this switch (BUILD_DIR/vswitchd), when it is built
#       measuring TCP throughput (iperf3, 1 and 4 streams), TCP round-trip latency (sockperf
#       ping-pong, p50 and p99) and 64-byte UDP packets per second received (iperf3 -u -l 64).
#
# svc   pod -> VIP -> pod: a client pod and three backend pods behind service VIPs
#         10.96.0.10:5201  -> pod2:5201            (iperf3: one backend, because iperf3's
#                                                  control and data connections must meet
#                                                  on one server)
#         10.96.0.11:11111 -> pod2..pod4:11111     (sockperf ping-pong, one connection)
#         10.96.0.11:80    -> pod2..pod4:8080      (new connections per second: connrate.c,
#                                                  each connection SYN .. FIN both ways)
#       served by
#         iptables kube-proxy's iptables mode (the reference of this part's ratios): the
#                  KUBE-SERVICES / KUBE-SVC-* / KUBE-SEP-* chains with `-m statistic --mode
#                  random --probability` per backend, DNAT in nat PREROUTING, KUBE-MARK-MASQ,
#                  KUBE-POSTROUTING and KUBE-FORWARD as kube-proxy writes them, loaded with
#                  iptables-restore.  The pods are ROUTED by the node namespace, not bridged:
#                  a bridge would hand the backend's reply straight to the client without the
#                  node's conntrack undoing the DNAT, and br_netfilter (which fixes that) is a
#                  module a namespace cannot load.  So, as on a routed CNI (Calico): each pod
#                  has its address /32 and a default route via 169.254.1.1, a permanent
#                  neighbour entry for it (the host veth's MAC; Calico gets there by proxy
#                  ARP), and the node a /32 route per pod; ip_forward=1.
#         ovs      Open vSwitch userspace (as above) with OpenFlow: every IP packet through
#                  ct(table=1,zone=1,nat); a new connection to a VIP goes to a select group
#                  whose buckets are ct(commit,zone=1,nat(dst=BACKEND),table=2); table 2
#                  delivers by destination address.
#         vswitch  this switch: vsctl add-lb (DSR flow pairs).
#       measuring TCP throughput (1 and 4 streams), latency (p50, p99) and connections per
#       second (BENCH_CONN_THREADS client threads, default 4).
#
# scale this switch (and kube-proxy's iptables for comparison) holding 1, 1,000 and 10,000
#       policies (BENCH_SCALE) of 10 backends each (at least the 3 measured services of
#       "svc"; the others are fillers that no traffic hits): TCP throughput, latency and
#       connection rate through the measured VIPs, as ratios to the smallest size.  Every size
#       is set up first and the rounds then visit them in turn.  vswitchd's VmRSS is read
#       before and after the fillers (bytes per policy), and after BENCH_PAIRS (default
#       100,000) UDP flow pairs are created by raw frames from the client pod (bytes per flow
#       pair, cached flows included).
#
# The machine is small and shared: each round builds each system's topology afresh (pod and
# svc), measures it, and tears it down, the order of the systems rotating from round to round;
# the report gives the median of the rounds and its ratio to the reference.  It prints tables
# and writes the same figures as JSON to BUILD_DIR/bench.json.
#
# Environment: BENCH_PARTS (default "pod svc scale"), BENCH_ROUNDS (pod, default 5),
# BENCH_SVC_ROUNDS (default 3), BENCH_SCALE_ROUNDS (default 3), BENCH_SECONDS per measurement
# (default 2), BENCH_SYSTEMS (default "bridge ovs vswitch"), BENCH_SVC_SYSTEMS (default
# "iptables ovs vswitch"), BENCH_SCALE (default "1 1000 10000"), BENCH_SCALE_SYSTEMS (default
# "vswitch iptables"), BENCH_CONN_THREADS (default 4), BENCH_PAIRS (default 100000),
# BENCH_JSON (default BUILD_DIR/bench.json).
set -u

build=${1:?usage: $0 BUILD_DIR}
export VSW_BUILD=$build
export VSW_TEST_NAME=bench
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

PARTS=${BENCH_PARTS:-pod svc scale}
ROUNDS=${BENCH_ROUNDS:-5}
SVC_ROUNDS=${BENCH_SVC_ROUNDS:-3}
SCALE_ROUNDS=${BENCH_SCALE_ROUNDS:-3}
SECS=${BENCH_SECONDS:-2}
SYSTEMS=${BENCH_SYSTEMS:-bridge ovs vswitch}
SVC_SYSTEMS=${BENCH_SVC_SYSTEMS:-iptables ovs vswitch}
SCALE=${BENCH_SCALE:-1 1000 10000}
SCALE_SYSTEMS=${BENCH_SCALE_SYSTEMS:-vswitch iptables}
CONN_THREADS=${BENCH_CONN_THREADS:-4}
PAIRS=${BENCH_PAIRS:-100000}
JSON_OUT=${BENCH_JSON:-$VSW_BUILD/bench.json}
CIDR=10.244.1.0/24
IP1=10.244.1.2
IP2=10.244.1.3
# The services of "svc" and "scale": VIP, port and backends (IP:PORT).
VIP_TPUT=10.96.0.10
VIP_SVC=10.96.0.11
SERVICES=("$VIP_TPUT 5201 10.244.1.3:5201"
          "$VIP_SVC 11111 10.244.1.3:11111 10.244.1.4:11111 10.244.1.5:11111"
          "$VIP_SVC 80 10.244.1.3:8080 10.244.1.4:8080 10.244.1.5:8080")
SVC_PODS=4      # pod1 the client, pod2..pod4 the backends

# shellcheck disable=SC2086
has_part() { has "$1" $PARTS; }

require_root
require ip jq iperf3 sockperf

have_vswitch() { [ -x "$VSW_BUILD/vswitchd" ] && [ -x "$VSW_BUILD/vsctl" ]; }
have_iptables() { command -v iptables-restore >/dev/null; }

# pick_systems LIST...: the systems of LIST that can run here, on stdout.
pick_systems() {
    local s
    for s in "$@"; do
        case $s in
            bridge) echo bridge ;;
            ovs) if have_ovs; then echo ovs; else
                     log "Open vSwitch not installed (openvswitch-switch): skipping it"; fi ;;
            vswitch) if have_vswitch; then echo vswitch; else
                         log "$VSW_BUILD/vswitchd not built: skipping this switch"; fi ;;
            iptables) if have_iptables; then echo iptables; else
                          log "iptables-restore not installed: skipping iptables"; fi ;;
            *) fail "unknown system $s (bridge, iptables, ovs, vswitch)" ;;
        esac
    done
}
systems=() svc_systems=() scale_systems=()
# shellcheck disable=SC2086
{
    has_part pod && mapfile -t systems < <(pick_systems $SYSTEMS)
    has_part svc && mapfile -t svc_systems < <(pick_systems $SVC_SYSTEMS)
    has_part scale && mapfile -t scale_systems < <(pick_systems $SCALE_SYSTEMS)
}
for s in "${scale_systems[@]}"; do
    case $s in vswitch|iptables) ;; *) fail "scale: only vswitch and iptables" ;; esac
done
[ $((${#systems[@]} + ${#svc_systems[@]} + ${#scale_systems[@]})) -gt 0 ] ||
    fail "nothing to measure"

CONNRATE=
if [ ${#svc_systems[@]} -gt 0 ] || [ ${#scale_systems[@]} -gt 0 ]; then
    require cc iptables-restore
    CONNRATE=$VSW_BUILD/connrate
    cc -O2 -Wall -Wextra -pthread -o "$CONNRATE" "$BENCH_DIR/connrate.c" ||
        fail "cannot compile tests/bench/connrate.c"
fi

# --- topologies ------------------------------------------------------------------------------
# Each system gets namespaces "<tag>-node", "<tag>-pod1", "<tag>-pod2"...; pod N is
# 10.244.1.(N+1), its host end h-podN in the node namespace.  Pod offloads are left at their
# defaults.

pod_addr() { echo "10.244.1.$(($1 + 1))"; }

# pods_on_veth TAG [N]: N pods (default 2) with /24 addresses and a default route via
# 10.244.1.1, on veth pairs into TAG-node.
pods_on_veth() {
    local t=$1 npods=${2:-2} p ip
    add_ns "$t-node"
    # shellcheck disable=SC2034  # the library's table: add_pod-like helpers read it
    VSW_CIDR["$t-node"]=$CIDR
    for ((p = 1; p <= npods; p++)); do
        ip=$(pod_addr $p)
        add_ns "$t-pod$p"
        add_veth "$t-node" "h-pod$p" "$t-pod$p" eth0
        _vsw_pod_addr "$t-pod$p" eth0 "$ip" 24 "$(mac_of_ip "$ip")" 10.244.1.1
    done
}

setup_bridge() {
    local t=$1 n
    pods_on_veth "$t"
    n=$(ns "$t-node")
    ip -n "$n" link add br0 type bridge || fail "cannot create br0"
    ip -n "$n" addr add 10.244.1.1/24 dev br0
    ip -n "$n" link set br0 up
    ip -n "$n" link set h-pod1 master br0 || fail "cannot enslave h-pod1"
    ip -n "$n" link set h-pod2 master br0 || fail "cannot enslave h-pod2"
}

# setup_ovs TAG [N]: N pods (default 2) on an Open vSwitch userspace bridge br0 (NORMAL).
setup_ovs() {
    local t=$1 npods=${2:-2} n p ports=()
    pods_on_veth "$t" "$npods"
    n=$(ns "$t-node")
    ovs_start "$t-node" "$VSW_TMPDIR/ovs-$t"
    ovs_vsctl add-br br0 -- set bridge br0 datapath_type=netdev ||
        fail "ovs-vsctl add-br failed: $(ovs_log_tail)"
    for ((p = 1; p <= npods; p++)); do
        ports+=(-- add-port br0 "h-pod$p")
    done
    ovs_vsctl "${ports[@]:1}" || fail "ovs-vsctl add-port failed"
    ip -n "$n" addr add 10.244.1.1/24 dev br0
    ip -n "$n" link set br0 up
    wait_until 10 ns_exec "$t-pod1" ping -c 1 -W 1 $IP2 ||
        fail "no traffic through Open vSwitch: $(ovs_log_tail)"
}

setup_vswitch() {
    local t=$1
    add_node "$t-node" "$CIDR"
    add_pod "$t-node" "$t-pod1" $IP1
    add_pod "$t-node" "$t-pod2" $IP2
}

# teardown TAG [N]: stops the system's daemons and removes its namespaces now (the cleanup
# stack would do it at exit too).
teardown() {
    local t=$1 npods=${2:-2} p
    [ -n "${VSW_PID[$t-node]:-}" ] && stop_vswitchd "$t-node"
    _vsw_del_ns "$(ns "$t-node")"
    for ((p = 1; p <= npods; p++)); do
        _vsw_del_ns "$(ns "$t-pod$p")"
    done
}

# --- service topologies ("svc" and "scale") ---------------------------------------------------

# kube_proxy_rules: reads services, one per line "VIP PORT BACKEND:PORT...", and prints the
# iptables-restore input kube-proxy's iptables mode would write for them (nat and filter),
# with cluster CIDR 10.244.0.0/16.
kube_proxy_rules() {
    awk '
    BEGIN { n = 0 }
    { svc[n] = $0; n++ }
    END {
        print "*nat"
        print ":KUBE-SERVICES - [0:0]"; print ":KUBE-POSTROUTING - [0:0]"
        print ":KUBE-MARK-MASQ - [0:0]"
        for (i = 0; i < n; i++) {
            k = split(svc[i], f, " ")
            printf ":KUBE-SVC-%06d - [0:0]\n", i
            for (j = 3; j <= k; j++) printf ":KUBE-SEP-%06d-%04d - [0:0]\n", i, j - 3
        }
        print "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        print "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        print "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"
        print "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"
        print "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
        print "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0"
        print "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully"
        for (i = 0; i < n; i++) {
            k = split(svc[i], f, " ")
            vip = f[1]; port = f[2]; nb = k - 2
            printf "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"bench/svc%d cluster IP\" -m tcp --dport %s -j KUBE-SVC-%06d\n", vip, i, port, i
            printf "-A KUBE-SVC-%06d ! -s 10.244.0.0/16 -d %s/32 -p tcp -m tcp --dport %s -j KUBE-MARK-MASQ\n", i, vip, port
            for (j = 0; j < nb; j++) {
                if (j < nb - 1)
                    printf "-A KUBE-SVC-%06d -m statistic --mode random --probability %.11f -j KUBE-SEP-%06d-%04d\n", i, 1 / (nb - j), i, j
                else
                    printf "-A KUBE-SVC-%06d -j KUBE-SEP-%06d-%04d\n", i, i, j
                split(f[j + 3], b, ":")
                printf "-A KUBE-SEP-%06d-%04d -s %s/32 -j KUBE-MARK-MASQ\n", i, j, b[1]
                printf "-A KUBE-SEP-%06d-%04d -p tcp -m tcp -j DNAT --to-destination %s\n", i, j, f[j + 3]
            }
        }
        print "COMMIT"
        print "*filter"
        print ":KUBE-FORWARD - [0:0]"
        print "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"
        print "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP"
        print "-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT"
        print "-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        print "COMMIT"
    }'
}

# fillers N: N services "VIP 80 BACKEND..." of 10 backends each that no traffic reaches.
fillers() {
    awk -v n="$1" 'BEGIN {
        for (i = 0; i < n; i++) {
            a = 1 + int(i / 250); b = i % 250 + 1
            printf "10.96.%d.%d 80", a, b
            for (j = 0; j < 10; j++) printf " 10.245.%d.%d:%d", a, b, 8080 + j
            printf "\n"
        }
    }'
}

# svc_servers TAG: iperf3 in pod2; sockperf and connrate servers in pod2..pod4.
svc_servers() {
    local t=$1 p ip
    bg_start "$t-pod2" "$VSW_TMPDIR/iperf3-$t.log" iperf3 -s -p 5201
    for ((p = 2; p <= SVC_PODS; p++)); do
        ip=$(pod_addr $p)
        bg_start "$t-pod$p" "$VSW_TMPDIR/sockperf-$t-$p.log" sockperf sr --tcp -i "$ip" -p 11111
        bg_start "$t-pod$p" "$VSW_TMPDIR/connrate-$t-$p.log" "$CONNRATE" server 8080
    done
    wait_until 5 _vsw_listening "$t-pod2" 5201 || fail "$t: iperf3 server did not start"
    for ((p = 2; p <= SVC_PODS; p++)); do
        wait_until 5 _vsw_listening "$t-pod$p" 11111 || fail "$t: sockperf server did not start"
        wait_until 5 _vsw_listening "$t-pod$p" 8080 || fail "$t: connrate server did not start"
    done
    # The client's whole port range: connrate reuses ports at a high rate.
    ns_exec "$t-pod1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
}

# setup_svc_iptables TAG [FILLERS]: routed pods, kube-proxy's rules for the services (and
# FILLERS more).  Sets INSTALL_S (seconds iptables-restore took).
setup_svc_iptables() {
    local t=$1 nf=${2:-0} n p ip pns hmac pmac t0
    add_ns "$t-node"
    n=$(ns "$t-node")
    ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0 || fail "cannot enable forwarding in $t-node"
    for ((p = 1; p <= SVC_PODS; p++)); do
        ip=$(pod_addr $p)
        add_ns "$t-pod$p"
        add_veth "$t-node" "h-pod$p" "$t-pod$p" eth0
        pns=$(ns "$t-pod$p")
        hmac=$(if_mac "$t-node" "h-pod$p")
        pmac=$(if_mac "$t-pod$p" eth0)
        ip -n "$pns" addr add "$ip/32" dev eth0 &&
        ip -n "$pns" route add 169.254.1.1 dev eth0 scope link &&
        ip -n "$pns" route add default via 169.254.1.1 dev eth0 &&
        ip -n "$pns" neigh add 169.254.1.1 lladdr "$hmac" dev eth0 nud permanent &&
        ip -n "$n" route add "$ip/32" dev "h-pod$p" &&
        ip -n "$n" neigh replace "$ip" lladdr "$pmac" dev "h-pod$p" nud permanent ||
            fail "cannot route pod $p in $t"
    done
    t0=$(date +%s.%N)
    { printf '%s\n' "${SERVICES[@]}"; fillers "$nf"; } | kube_proxy_rules |
        ip netns exec "$n" iptables-restore || fail "iptables-restore failed in $t-node"
    INSTALL_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
    wait_until 10 ns_exec "$t-pod1" ping -c 1 -W 1 $IP2 || fail "$t: no routing between pods"
    svc_servers "$t"
}

# setup_svc_ovs TAG: Open vSwitch userspace with the services as a select group per service.
setup_svc_ovs() {
    local t=$1 p ip flows
    setup_ovs "$t" $SVC_PODS
    ovs_services "${SERVICES[@]}"
    flows="table=0,priority=100,arp,actions=NORMAL
table=0,priority=90,ip,actions=ct(table=1,zone=1,nat)
table=0,priority=0,actions=NORMAL
table=1,priority=10,ip,actions=resubmit(,2)
table=2,priority=0,actions=NORMAL
$OVS_SVC_FLOWS"
    for ((p = 1; p <= SVC_PODS; p++)); do
        ip=$(pod_addr $p)
        flows+="table=2,priority=100,ip,nw_dst=$ip,actions=mod_dl_dst:$(mac_of_ip "$ip"),output:h-pod$p"$'\n'
    done
    ovs_openflow br0 "$flows" "$OVS_GROUPS"
    svc_servers "$t"
}

# setup_svc_vswitch TAG: this switch with the services as policies.
setup_svc_vswitch() {
    local t=$1 p s
    add_node "$t-node" "$CIDR"
    for ((p = 1; p <= SVC_PODS; p++)); do
        add_pod "$t-node" "$t-pod$p" "$(pod_addr $p)"
    done
    for s in "${SERVICES[@]}"; do
        # shellcheck disable=SC2086
        set -- $s
        vsctl_on "$t-node" add-lb "$1:$2/tcp" "${@:3}" >/dev/null || fail "$t: add-lb $s failed"
    done
    svc_servers "$t"
}

# vswitch_fillers TAG N: N filler policies, added by 8 vsctl processes at a time (vsctl has
# no batch command).  Sets INSTALL_S (seconds).
vswitch_fillers() {
    local t=$1 nf=$2 t0 n
    t0=$(date +%s.%N)
    # shellcheck disable=SC2016
    fillers "$nf" | VSCTL_SOCK=${VSW_CTL[$t-node]} xargs -r -P 8 -L 1 sh -c \
        'vip=$1 port=$2; shift 2; exec "$0" --ctl "$VSCTL_SOCK" add-lb "$vip:$port/tcp" "$@" >/dev/null' \
        "$VSW_BUILD/vsctl" || fail "$t: adding $nf filler policies failed"
    INSTALL_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
    n=$(vsctl_on "$t-node" --json show | jq -r .n_policies)
    [ "$n" = $((nf + ${#SERVICES[@]})) ] || fail "$t: $n policies, expected $((nf + ${#SERVICES[@]}))"
}

# router_mac: the switch's router MAC for CIDR (0a:58: and the gateway address).
router_mac() {
    local mac
    mac=$(mac_of_ip "$(cidr_gateway $CIDR)")
    echo "0a:58:${mac#02:00:}"
}

# vm_rss_kb NODE: VmRSS of NODE's vswitchd, in kB.
vm_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/${VSW_PID[$1]}/status"; }

# --- measurements -----------------------------------------------------------------------------

# conn_rate CLIENT_NS DST PORT: "rate failed" of connrate over SECS.
conn_rate() {
    local out
    out=$(ns_exec "$1" timeout $((SECS + 20)) "$CONNRATE" client "$2" "$3" "$SECS" \
          "$CONN_THREADS")
    echo "$out" | awk '/^conns/ {print $8, $4; ok = 1} END {if (!ok) print 0, -1}'
}

measure() {
    local sys=$1 t=$2 js v p50 p99 out
    local c="$t-pod1" s="$t-pod2"
    bg_start "$s" "$VSW_TMPDIR/iperf3-$t.log" iperf3 -s -p 5201
    bg_start "$s" "$VSW_TMPDIR/sockperf-$t.log" sockperf sr --tcp -i $IP2 -p 11111
    wait_until 5 _vsw_listening "$s" 5201 || fail "iperf3 server did not start"
    wait_until 5 _vsw_listening "$s" 11111 || fail "sockperf server did not start"
    ns_exec "$c" ping -c 1 -w 5 $IP2 >/dev/null || fail "$sys: pod1 cannot reach pod2"

    for p in 1 4; do
        record "$sys" "tcp_${p}_gbps" "$(iperf_gbps "$c" $IP2 5201 $p)"
    done
    read -r p50 p99 < <(sockperf_pp "$c" $IP2 11111)
    record "$sys" rr_p50_us "$p50"
    record "$sys" rr_p99_us "$p99"

    js=$(ns_exec "$c" timeout $((SECS + 20)) iperf3 -c $IP2 -p 5201 -u -l 64 -b 0 -t "$SECS" -J)
    v=$(echo "$js" | jq -r '.end.sum_received | (.packets - .lost_packets) / .seconds / 1000' 2>/dev/null)
    [[ "$v" =~ ^[0-9.e+-]+$ ]] || { log "$sys: iperf3 -u failed: $(echo "$js" | jq -r .error 2>/dev/null)"; v=0; }
    record "$sys" udp64_kpps "$v"
    log "$sys: tcp1 $(last "$sys" tcp_1_gbps) Gbit/s, tcp4 $(last "$sys" tcp_4_gbps) Gbit/s," \
        "rr p50 $p50 us p99 $p99 us, udp64 $(last "$sys" udp64_kpps) kpps"
}

# check_vip SYS TAG: one connection through each VIP must work before anything is measured.
check_vip() {
    local out
    out=$(ns_exec "$2-pod1" "$CONNRATE" client $VIP_SVC 80 0.3 1)
    [[ "$out" =~ ^conns\ [1-9][0-9]*\ failed\ 0 ]] || fail "$1: no connection through $VIP_SVC:80: $out"
}

# measure_svc KEY TAG [full]: throughput, latency and connection rate through the VIPs of
# topology TAG, recorded under system KEY; "full" adds 4 streams and p99.
measure_svc() {
    local key=$1 t=$2 full=${3:-} c="$2-pod1" p50 p99 rate failed
    check_vip "$key" "$t"
    record "$key" tcp_1_gbps "$(iperf_gbps "$c" $VIP_TPUT 5201 1)"
    [ -n "$full" ] && record "$key" tcp_4_gbps "$(iperf_gbps "$c" $VIP_TPUT 5201 4)"
    read -r p50 p99 < <(sockperf_pp "$c" $VIP_SVC 11111)
    record "$key" rr_p50_us "$p50"
    [ -n "$full" ] && record "$key" rr_p99_us "$p99"
    read -r rate failed < <(conn_rate "$c" $VIP_SVC 80)
    record "$key" conn_per_s "$rate"
    record "$key" conn_failed "$failed"
    log "$key: tcp1 $(last "$key" tcp_1_gbps) Gbit/s${full:+, tcp4 $(last "$key" tcp_4_gbps) Gbit/s}," \
        "rr p50 $p50 us${full:+ p99 $p99 us}, $rate conn/s ($failed failed)"
}

# --- the runs ---------------------------------------------------------------------------------

metrics=(tcp_1_gbps tcp_4_gbps rr_p50_us rr_p99_us udp64_kpps)
svc_metrics=(tcp_1_gbps tcp_4_gbps rr_p50_us rr_p99_us conn_per_s)
scale_metrics=(tcp_1_gbps rr_p50_us conn_per_s)
declare -A LABEL=([tcp_1_gbps]="TCP 1 stream (Gbit/s)" [tcp_4_gbps]="TCP 4 streams (Gbit/s)"
                  [rr_p50_us]="TCP RR p50 (us)" [rr_p99_us]="TCP RR p99 (us)"
                  [udp64_kpps]="UDP 64B rx (kpps)" [conn_per_s]="TCP conn/s")
declare -A BETTER=([tcp_1_gbps]=higher [tcp_4_gbps]=higher [rr_p50_us]=lower
                   [rr_p99_us]=lower [udp64_kpps]=higher [conn_per_s]=higher
                   [conn_failed]=lower)

# run_rounds PART N SYSTEM...: N rounds over the systems in rotating order.
run_rounds() {
    local part=$1 nr=$2 r k n sys t; shift 2
    local list=("$@")
    n=${#list[@]}
    for ((r = 1; r <= nr; r++)); do
        for ((k = 0; k < n; k++)); do
            sys=${list[(k + r - 1) % n]}
            log "$part round $r/$nr: $sys"
            if [ "$part" = pod ]; then
                t="r$r$sys"; t=${t:0:8}
                "setup_$sys" "$t"
                measure "$sys" "$t"
                teardown "$t"
            else
                t="s$r$sys"; t=${t:0:8}
                "setup_svc_$sys" "$t"
                measure_svc "svc/$sys" "$t" full
                teardown "$t" $SVC_PODS
            fi
        done
    done
}

log "parts: $PARTS; $(nproc) cores; ${SECS}s measurements"
start=$SECONDS
[ ${#systems[@]} -gt 0 ] && run_rounds pod "$ROUNDS" "${systems[@]}"
[ ${#svc_systems[@]} -gt 0 ] && run_rounds svc "$SVC_ROUNDS" "${svc_systems[@]}"

# Scale: every (system, size) set up first, then the rounds visit them in turn.
declare -A SC_TAG SC_INSTALL SC_RSS0 SC_RSS1 SC_NPOL
MEM_JSON=null
if [ ${#scale_systems[@]} -gt 0 ]; then
    read -ra sizes <<<"$SCALE"
    keys=()
    for sys in "${scale_systems[@]}"; do
        for sz in "${sizes[@]}"; do
            [[ "$sz" =~ ^[0-9]+$ ]] || fail "BENCH_SCALE: '$sz' is not a number"
            t="z${sys:0:1}$sz"
            [ ${#t} -le 8 ] || fail "BENCH_SCALE: $sz too large"
            nf=$((sz > ${#SERVICES[@]} ? sz - ${#SERVICES[@]} : 0))
            SC_TAG[$sys,$sz]=$t
            SC_NPOL[$sys,$sz]=$((nf + ${#SERVICES[@]}))
            log "scale: $sys with ${SC_NPOL[$sys,$sz]} policies ($nf fillers)"
            if [ "$sys" = vswitch ]; then
                setup_svc_vswitch "$t"
                SC_RSS0[$sys,$sz]=$(vm_rss_kb "$t-node")
                vswitch_fillers "$t" "$nf"
                SC_INSTALL[$sys,$sz]=$INSTALL_S
                SC_RSS1[$sys,$sz]=$(vm_rss_kb "$t-node")
            else
                setup_svc_iptables "$t" "$nf"
                SC_INSTALL[$sys,$sz]=$INSTALL_S
            fi
            keys+=("$sys,$sz")
        done
    done
    for ((r = 1; r <= SCALE_ROUNDS; r++)); do
        n=${#keys[@]}
        for ((k = 0; k < n; k++)); do
            key=${keys[(k + r - 1) % n]}
            log "scale round $r/$SCALE_ROUNDS: ${key%,*} with ${SC_NPOL[$key]} policies"
            measure_svc "scale/$key" "${SC_TAG[$key]}"
        done
    done

    for key in "${keys[@]}"; do
        teardown "${SC_TAG[$key]}" $SVC_PODS
    done

    # Memory per flow pair: BENCH_PAIRS UDP flow pairs in a fresh vswitchd (no earlier pair
    # has touched its tables), from the client pod to two UDP services of three backends.
    if [[ " ${scale_systems[*]} " == *" vswitch "* ]] && [ "$PAIRS" -gt 0 ]; then
        t=zmem
        log "memory: $PAIRS UDP flow pairs"
        setup_svc_vswitch $t
        for p in 2 3 4; do
            bg_start "$t-pod$p" /dev/null "$VSW_PY" -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9999)); time.sleep(3600)'
        done
        for port in 9998 9999; do
            vsctl_on "$t-node" add-lb "10.96.0.20:$port/udp" 10.244.1.3:9999 10.244.1.4:9999 \
                10.244.1.5:9999 >/dev/null || fail "add-lb 10.96.0.20:$port/udp failed"
        done
        sleep 0.5
        pairs0=$(vsctl_on "$t-node" --json show | jq -r .n_flow_pairs)
        flows0=$(vsctl_on "$t-node" --json show | jq -r .n_flows)
        rss0=$(vm_rss_kb "$t-node")
        for pass in 1 2 3; do
            ns_exec "$t-pod1" "$VSW_PY" "$BENCH_DIR/udp-pairs.py" eth0 "$(mac_of_ip $IP1)" \
                "$(router_mac)" $IP1 10.96.0.20 9998,9999 "$PAIRS" >/dev/null ||
                fail "udp-pairs.py failed"
            sleep 0.5
            pairs1=$(vsctl_on "$t-node" --json show | jq -r .n_flow_pairs)
            [ $((pairs1 - pairs0)) -ge $((PAIRS * 99 / 100)) ] && break
            log "memory: $((pairs1 - pairs0)) of $PAIRS flow pairs after pass $pass"
        done
        flows1=$(vsctl_on "$t-node" --json show | jq -r .n_flows)
        rss1=$(vm_rss_kb "$t-node")
        np=$((pairs1 - pairs0))
        [ "$np" -gt 0 ] || fail "memory: no flow pairs created"
        log "memory: $np flow pairs, $((flows1 - flows0)) cached flows: VmRSS $rss0 -> $rss1 kB"
        teardown $t $SVC_PODS
        # The flow-pair table is allocated and initialised whole at start: its cost per pair
        # is the difference in VmRSS between two idle switches of different --max-flow-pairs.
        add_node zm1 $CIDR --max-flow-pairs 65536
        add_node zm2 $CIDR --max-flow-pairs 1048576
        cap1=$(vm_rss_kb zm1)
        cap2=$(vm_rss_kb zm2)
        stop_vswitchd zm1; stop_vswitchd zm2
        _vsw_del_ns "$(ns zm1)"; _vsw_del_ns "$(ns zm2)"
        MEM_JSON=$(jq -n --argjson n "$np" --argjson f "$((flows1 - flows0))" \
            --argjson a "$rss0" --argjson b "$rss1" --argjson c1 "$cap1" --argjson c2 "$cap2" \
            '{flow_pairs_created: $n, cached_flows: $f, rss_before_kb: $a, rss_after_kb: $b,
              rss_growth_bytes_per_created_pair: ((($b - $a) * 1024 / $n) | floor),
              rss_kb_max_flow_pairs_65536: $c1, rss_kb_max_flow_pairs_1048576: $c2,
              bytes_per_flow_pair: ((($c2 - $c1) * 1024 / (1048576 - 65536)) | floor)}')
    fi
fi
elapsed=$((SECONDS - start))

# --- the report -------------------------------------------------------------------------------

# Medians of every recorded series.
declare -A MED
for k in "${!R[@]}"; do
    # shellcheck disable=SC2086
    MED[$k]=$(median ${R[$k]})
done
# ratio A B METRIC: median of A / median of B ("n/a" when B has none).
ratio() {
    awk -v a="${MED[$1,$3]:-0}" -v b="${MED[$2,$3]:-0}" 'BEGIN {
        if (b > 0) printf "%.2f", a / b; else printf "n/a" }'
}
# table TITLE REF METRICS SYSTEM_KEYS...: the median of each and its ratio to REF's.
table() {
    local title=$1 ref=$2 m k; shift 2
    local -a ms
    read -ra ms <<<"$1"; shift
    printf '\n%s\n' "$title"
    printf '%-24s' "metric"
    for k in "$@"; do printf '%22s' "${k#*/}"; done
    printf '\n'
    for m in "${ms[@]}"; do
        printf '%-24s' "${LABEL[$m]}"
        for k in "$@"; do
            if [ -z "${MED[$k,$m]:-}" ]; then
                printf '%22s' -
            elif [ "$k" = "$ref" ] || [ -z "${MED[$ref,$m]:-}" ]; then
                printf '%22s' "$(printf '%.2f' "${MED[$k,$m]}")"
            else
                printf '%22s' "$(printf '%.2f (%sx)' "${MED[$k,$m]}" "$(ratio "$k" "$ref" "$m")")"
            fi
        done
        printf '\n'
    done
    printf '%-24s' "spread (min .. max)"
    printf '\n'
    for m in "${ms[@]}"; do
        printf '%-24s' "  ${LABEL[$m]}"
        for k in "$@"; do
            # shellcheck disable=SC2086
            printf '%22s' "$(printf '%s\n' ${R[$k,$m]:-} | sort -g |
                awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR) printf "%.1f .. %.1f", lo, hi; else print "-"}')"
        done
        printf '\n'
    done
}

targets=()
target() { # TEXT VALUE MET
    targets+=("$(jq -n --arg t "$1" --arg v "$2" --argjson m "$3" \
        '{target: $t, value: ($v | tonumber? // null), met: $m}')")
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN {print (a != "n/a" && a + 0 >= b) ? "true" : "false"}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {print (a != "n/a" && a + 0 <= b) ? "true" : "false"}'; }

{
    if [ ${#systems[@]} -gt 0 ]; then
        table "vswitch benchmark: pod -> pod on one node, $ROUNDS rounds x ${SECS}s, median of rounds" \
            bridge "${metrics[*]}" "${systems[@]}"
        printf '(ratios are to the Linux bridge; throughput: higher is better, latency: lower)\n'
    fi
    if [ ${#svc_systems[@]} -gt 0 ]; then
        keys=()
        for s in "${svc_systems[@]}"; do keys+=("svc/$s"); done
        table "pod -> VIP -> pod, $SVC_ROUNDS rounds x ${SECS}s, median of rounds (iptables: kube-proxy's rules, pods routed)" \
            svc/iptables "${svc_metrics[*]}" "${keys[@]}"
        printf '(ratios are to kube-proxy iptables; connections: %s client threads, failed: ' "$CONN_THREADS"
        for s in "${svc_systems[@]}"; do
            # shellcheck disable=SC2086
            printf '%s %s ' "$s" "$(echo ${R[svc/$s,conn_failed]:-} | awk '{for (i = 1; i <= NF; i++) t += $i} END {print t + 0}')"
        done
        printf ')\n'
    fi
    if [ ${#scale_systems[@]} -gt 0 ]; then
        for s in "${scale_systems[@]}"; do
            keys=()
            for sz in "${sizes[@]}"; do keys+=("scale/$s,$sz"); done
            table "scale: $s, policies of 10 backends: ${sizes[*]} (columns), $SCALE_ROUNDS rounds, ratios to ${sizes[0]}" \
                "scale/$s,${sizes[0]}" "${scale_metrics[*]}" "${keys[@]}"
            printf '%-24s' "policies installed in (s)"
            for sz in "${sizes[@]}"; do printf '%22s' "${SC_INSTALL[$s,$sz]}"; done
            printf '\n'
            if [ "$s" = vswitch ]; then
                printf '%-24s' "vswitchd VmRSS (MB)"
                for sz in "${sizes[@]}"; do
                    printf '%22s' "$(awk -v k="${SC_RSS1[$s,$sz]}" 'BEGIN {printf "%.1f", k / 1024}')"
                done
                printf '\n%-24s' "bytes per policy"
                for sz in "${sizes[@]}"; do
                    printf '%22s' "$(awk -v a="${SC_RSS0[$s,$sz]}" -v b="${SC_RSS1[$s,$sz]}" \
                        -v n=$((SC_NPOL[$s,$sz] - ${#SERVICES[@]})) \
                        'BEGIN {if (n > 0) printf "%.0f", (b - a) * 1024 / n; else print "-"}')"
                done
                printf '\n'
            fi
        done
        if [ "$MEM_JSON" != null ]; then
            echo "$MEM_JSON" | jq -r '"\nmemory per flow pair: \(.bytes_per_flow_pair) bytes, preallocated (VmRSS of an idle vswitchd: \(.rss_kb_max_flow_pairs_65536) kB with --max-flow-pairs 65536, \(.rss_kb_max_flow_pairs_1048576) kB with 1048576);\ncreating \(.flow_pairs_created) UDP flow pairs (and \(.cached_flows) cached flows) moved VmRSS \(.rss_before_kb) -> \(.rss_after_kb) kB"'
        fi
    fi
} | tee "$VSW_TMPDIR/table.txt"

# Targets. pod (issues 2 and 17): TCP >= 1.0x bridge and >= 1.3x OVS; RR p50 <= 1.0x bridge
# and 64-byte UDP >= 1.0x its packet rate (issue 17, with the kernel fast path).
# svc and scale (issues 3 and 17): TCP and connection rate >= 1.0x iptables; flat within 5%.
if has vswitch "${systems[@]}" && has bridge "${systems[@]}"; then
    for m in tcp_1_gbps tcp_4_gbps; do
        r=$(ratio vswitch bridge $m); target "$m >= 1.0x bridge" "$r" "$(ge "$r" 1.0)"
        if has ovs "${systems[@]}"; then
            r=$(ratio vswitch ovs $m); target "$m >= 1.3x ovs" "$r" "$(ge "$r" 1.3)"
        fi
    done
    r=$(ratio vswitch bridge rr_p50_us); target "rr_p50_us <= 1.0x bridge" "$r" "$(le "$r" 1.0)"
    r=$(ratio vswitch bridge udp64_kpps); target "udp64_kpps >= 1.0x bridge" "$r" "$(ge "$r" 1.0)"
fi
if has vswitch "${svc_systems[@]}" && has iptables "${svc_systems[@]}"; then
    for m in tcp_1_gbps tcp_4_gbps conn_per_s; do
        r=$(ratio svc/vswitch svc/iptables $m)
        target "pod->VIP->pod $m >= 1.0x iptables" "$r" "$(ge "$r" 1.0)"
    done
fi
if has vswitch "${scale_systems[@]}" && [ ${#sizes[@]} -gt 1 ]; then
    lo=${sizes[0]} hi=${sizes[-1]}
    for m in tcp_1_gbps conn_per_s; do
        r=$(ratio "scale/vswitch,$hi" "scale/vswitch,$lo" $m)
        target "scale: $m with ${SC_NPOL[vswitch,$hi]} policies within 5% of ${SC_NPOL[vswitch,$lo]}" \
            "$r" "$(ge "$r" 0.95)"
    done
    r=$(ratio "scale/vswitch,$hi" "scale/vswitch,$lo" rr_p50_us)
    target "scale: rr_p50_us with ${SC_NPOL[vswitch,$hi]} policies within 5% of ${SC_NPOL[vswitch,$lo]}" \
        "$r" "$(le "$r" 1.05)"
fi
if [ ${#targets[@]} -gt 0 ]; then
    printf '\ntargets:\n'
    for tj in "${targets[@]}"; do
        echo "$tj" | jq -r '"  \(if .met then "met   " else "MISSED" end)  \(.target): \(.value)x"'
    done
fi

# JSON: per system and metric, the rounds, the median and the ratio to the reference.
series_json() { # KEY REF METRIC
    local k=$1 ref=$2 m=$3 r
    r=$(ratio "$k" "$ref" "$m")
    # shellcheck disable=SC2086
    jq -n --argjson rounds "[$(echo ${R[$k,$m]} | tr ' ' ',')]" --argjson med "${MED[$k,$m]}" \
        --arg r "$r" --arg b "${BETTER[$m]}" \
        '{rounds: $rounds, median: $med, ratio: ($r | tonumber? // null), better: $b}'
}
systems_json() { # REF PREFIX METRICS SYSTEMS...
    local ref=$1 pre=$2 s m; shift 2
    local -a ms
    read -ra ms <<<"$1"; shift
    for s in "$@"; do
        for m in "${ms[@]}"; do
            [ -n "${R[$pre$s,$m]:-}" ] || continue
            series_json "$pre$s" "$ref" "$m" | jq --arg s "$s" --arg m "$m" '{($s): {($m): .}}'
        done
    done | jq -s 'reduce .[] as $x ({}; . * $x)'
}
{
    pod=$(systems_json bridge "" "${metrics[*]}" "${systems[@]}" |
          jq 'with_entries(.value |= with_entries(.value |= (.ratio_to_bridge = .ratio | del(.ratio))))')
    svc=$(systems_json svc/iptables svc/ "${svc_metrics[*]} conn_failed" "${svc_systems[@]}")
    scale='{}'
    for s in "${scale_systems[@]}"; do
        for sz in "${sizes[@]}"; do
            one=$(systems_json "scale/$s,${sizes[0]}" "scale/$s," "${scale_metrics[*]}" "$sz" |
                  jq --arg s "$s" --arg z "$sz" --argjson n "${SC_NPOL[$s,$sz]}" \
                     --arg i "${SC_INSTALL[$s,$sz]}" --arg r0 "${SC_RSS0[$s,$sz]:-}" \
                     --arg r1 "${SC_RSS1[$s,$sz]:-}" \
                     '{($s): {($z): (.[$z] + {policies: $n, install_s: ($i | tonumber),
                        rss_kb_before_fillers: ($r0 | tonumber? // null),
                        rss_kb: ($r1 | tonumber? // null)})}}')
            scale=$(jq -n --argjson a "$scale" --argjson b "$one" '$a * $b')
        done
    done
    jq -n --argjson rounds "$ROUNDS" --argjson svc_rounds "$SVC_ROUNDS" \
        --argjson scale_rounds "$SCALE_ROUNDS" --argjson secs "$SECS" --argjson cores "$(nproc)" \
        --argjson elapsed "$elapsed" --argjson pod "$pod" --argjson svc "$svc" \
        --argjson scale "$scale" --argjson mem "$MEM_JSON" --argjson threads "$CONN_THREADS" \
        --argjson targets "[$(IFS=,; echo "${targets[*]:-}")]" \
        '{rounds: $rounds, seconds: $secs, cores: $cores, elapsed_s: $elapsed, systems: $pod,
          svc: {rounds: $svc_rounds, conn_threads: $threads, reference: "iptables",
                systems: $svc},
          scale: {rounds: $scale_rounds, reference: "smallest size", systems: $scale,
                  memory: $mem},
          targets: $targets}'
} >"$JSON_OUT" || fail "could not write $JSON_OUT"
log "wrote $JSON_OUT (${elapsed}s)"
