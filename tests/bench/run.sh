#!/usr/bin/env bash
# tests/bench/run.sh BUILD_DIR — `make bench`: the same namespace topology (a node namespace,
# two pod namespaces on veth, pods keeping their default offloads) switched by
#   bridge   the Linux bridge (the reference every ratio is taken against)
#   ovs      Open vSwitch's userspace datapath (datapath_type=netdev,
#            other_config:userspace-tso-enable=true), its daemons started inside the node
#            namespace with private run/db/log directories
#   vswitch  this switch (BUILD_DIR/vswitchd), when it is built
# measuring TCP throughput (iperf3, 1 and 4 streams), TCP round-trip latency (sockperf
# ping-pong, p50 and p99) and 64-byte UDP packets per second received (iperf3 -u -l 64 -b 0).
#
# The machine is small and shared: each round builds each system's topology afresh, measures
# it, and tears it down, the order of the systems rotating from round to round; the report
# gives the median of the rounds and its ratio to the bridge.  It prints a table and writes the
# same figures as JSON to BUILD_DIR/bench.json.
#
# Environment: BENCH_ROUNDS (default 5), BENCH_SECONDS per measurement (default 2),
# BENCH_SYSTEMS (default "bridge ovs vswitch"), BENCH_JSON (default BUILD_DIR/bench.json).
set -u

build=${1:?usage: $0 BUILD_DIR}
export VSW_BUILD=$build
export VSW_TEST_NAME=bench
# shellcheck source=../lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"

ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-2}
SYSTEMS=${BENCH_SYSTEMS:-bridge ovs vswitch}
JSON_OUT=${BENCH_JSON:-$VSW_BUILD/bench.json}
CIDR=10.244.1.0/24
IP1=10.244.1.2
IP2=10.244.1.3

require_root
require ip jq iperf3 sockperf
log() { printf '[bench] %s\n' "$*" >&2; }

# Which systems can run here.
systems=()
for s in $SYSTEMS; do
    case $s in
        bridge) systems+=(bridge) ;;
        ovs)
            if command -v ovs-vswitchd >/dev/null && command -v ovsdb-server >/dev/null; then
                systems+=(ovs)
            else
                log "Open vSwitch not installed (openvswitch-switch): skipping it"
            fi ;;
        vswitch)
            if [ -x "$VSW_BUILD/vswitchd" ] && [ -x "$VSW_BUILD/vsctl" ]; then
                systems+=(vswitch)
            else
                log "$VSW_BUILD/vswitchd not built: skipping this switch"
            fi ;;
        *) fail "unknown system $s (bridge, ovs, vswitch)" ;;
    esac
done
[ ${#systems[@]} -gt 0 ] || fail "nothing to measure"

# --- topologies ------------------------------------------------------------------------------
# Each system gets namespaces "<tag>-node", "<tag>-pod1", "<tag>-pod2"; pods are
# 10.244.1.2/24 and 10.244.1.3/24 with a default route via 10.244.1.1, their host ends
# h-pod1/h-pod2 in the node namespace.  Pod offloads are left at their defaults.

pods_on_veth() {
    local t=$1 p
    add_ns "$t-node"
    # shellcheck disable=SC2034  # the library's table: add_pod-like helpers read it
    VSW_CIDR["$t-node"]=$CIDR
    for p in 1 2; do
        add_ns "$t-pod$p"
        add_veth "$t-node" "h-pod$p" "$t-pod$p" eth0
    done
    _vsw_pod_addr "$t-pod1" eth0 $IP1 24 "$(mac_of_ip $IP1)" 10.244.1.1
    _vsw_pod_addr "$t-pod2" eth0 $IP2 24 "$(mac_of_ip $IP2)" 10.244.1.1
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

OVS_DIR=
ovs_vsctl() {
    ovs-vsctl --db="unix:$OVS_DIR/db.sock" --timeout=20 "$@"
}

setup_ovs() {
    local t=$1 n schema=/usr/share/openvswitch/vswitch.ovsschema
    pods_on_veth "$t"
    n=$(ns "$t-node")
    OVS_DIR=$VSW_TMPDIR/ovs-$t
    mkdir -p "$OVS_DIR"
    export OVS_RUNDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_SYSCONFDIR=$OVS_DIR
    ovsdb-tool create "$OVS_DIR/conf.db" "$schema" || fail "ovsdb-tool create failed"
    bg_start "$t-node" "$OVS_DIR/ovsdb-server.out" ovsdb-server "$OVS_DIR/conf.db" \
        --remote="punix:$OVS_DIR/db.sock" --pidfile="$OVS_DIR/ovsdb-server.pid" \
        --unixctl="$OVS_DIR/ovsdb-server.ctl" --log-file="$OVS_DIR/ovsdb-server.log"
    wait_until 10 test -S "$OVS_DIR/db.sock" || fail "ovsdb-server did not start"
    ovs_vsctl --no-wait init || fail "ovs-vsctl init failed"
    ovs_vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
    bg_start "$t-node" "$OVS_DIR/ovs-vswitchd.out" ovs-vswitchd "unix:$OVS_DIR/db.sock" \
        --pidfile="$OVS_DIR/ovs-vswitchd.pid" --unixctl="$OVS_DIR/ovs-vswitchd.ctl" \
        --log-file="$OVS_DIR/ovs-vswitchd.log"
    ovs_vsctl add-br br0 -- set bridge br0 datapath_type=netdev ||
        fail "ovs-vsctl add-br failed: $(tail -5 "$OVS_DIR/ovs-vswitchd.log")"
    ovs_vsctl add-port br0 h-pod1 -- add-port br0 h-pod2 || fail "ovs-vsctl add-port failed"
    ip -n "$n" addr add 10.244.1.1/24 dev br0
    ip -n "$n" link set br0 up
    wait_until 10 ns_exec "$t-pod1" ping -c 1 -W 1 $IP2 ||
        fail "no traffic through Open vSwitch: $(tail -5 "$OVS_DIR/ovs-vswitchd.log")"
    unset OVS_RUNDIR OVS_DBDIR OVS_LOGDIR OVS_SYSCONFDIR
}

setup_vswitch() {
    local t=$1
    add_node "$t-node" "$CIDR"
    add_pod "$t-node" "$t-pod1" $IP1
    add_pod "$t-node" "$t-pod2" $IP2
}

# teardown TAG: stops the system's daemons and removes its namespaces now (the cleanup stack
# would do it at exit too).
teardown() {
    local t=$1 x
    [ -n "${VSW_PID[$t-node]:-}" ] && stop_vswitchd "$t-node"
    for x in node pod1 pod2; do
        _vsw_del_ns "$(ns "$t-$x")"
    done
}

# --- measurements -----------------------------------------------------------------------------

declare -A R     # R[system,metric] = space-separated values, one per round

record() { R[$1,$2]="${R[$1,$2]:-} $3"; }

measure() {
    local sys=$1 t=$2 js v p50 p99 out
    local c="$t-pod1" s="$t-pod2"
    bg_start "$s" "$VSW_TMPDIR/iperf3-$t.log" iperf3 -s -p 5201
    bg_start "$s" "$VSW_TMPDIR/sockperf-$t.log" sockperf sr --tcp -i $IP2 -p 11111
    wait_until 5 _vsw_listening "$s" 5201 || fail "iperf3 server did not start"
    wait_until 5 _vsw_listening "$s" 11111 || fail "sockperf server did not start"
    ns_exec "$c" ping -c 1 -w 5 $IP2 >/dev/null || fail "$sys: pod1 cannot reach pod2"

    for p in 1 4; do
        js=$(ns_exec "$c" timeout $((SECS + 20)) iperf3 -c $IP2 -p 5201 -t "$SECS" -O 1 -P $p -J)
        v=$(echo "$js" | jq -r '.end.sum_received.bits_per_second / 1e9' 2>/dev/null)
        [[ "$v" =~ ^[0-9.e+-]+$ ]] || { log "$sys: iperf3 -P $p failed: $(echo "$js" | jq -r .error 2>/dev/null)"; v=0; }
        record "$sys" "tcp_${p}_gbps" "$v"
    done

    out=$(ns_exec "$c" timeout $((SECS + 20)) sockperf pp --tcp -i $IP2 -p 11111 -t "$SECS" \
          -m 64 --full-rtt 2>&1)
    p50=$(echo "$out" | sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p')
    p99=$(echo "$out" | sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p')
    [ -n "$p50" ] || { log "$sys: sockperf failed: $(echo "$out" | tail -3)"; p50=0 p99=0; }
    record "$sys" rr_p50_us "$p50"
    record "$sys" rr_p99_us "$p99"

    js=$(ns_exec "$c" timeout $((SECS + 20)) iperf3 -c $IP2 -p 5201 -u -l 64 -b 0 -t "$SECS" -J)
    v=$(echo "$js" | jq -r '.end.sum_received | (.packets - .lost_packets) / .seconds / 1000' 2>/dev/null)
    [[ "$v" =~ ^[0-9.e+-]+$ ]] || { log "$sys: iperf3 -u failed: $(echo "$js" | jq -r .error 2>/dev/null)"; v=0; }
    record "$sys" udp64_kpps "$v"
    log "$sys: tcp1 $(last "$sys" tcp_1_gbps) Gbit/s, tcp4 $(last "$sys" tcp_4_gbps) Gbit/s," \
        "rr p50 $p50 us p99 $p99 us, udp64 $(last "$sys" udp64_kpps) kpps"
}

last() { local a; read -ra a <<<"${R[$1,$2]}"; printf '%.2f' "${a[-1]}"; }

median() { # values...
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {
        if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'
}

# --- the run ---------------------------------------------------------------------------------

metrics=(tcp_1_gbps tcp_4_gbps rr_p50_us rr_p99_us udp64_kpps)
declare -A LABEL=([tcp_1_gbps]="TCP 1 stream (Gbit/s)" [tcp_4_gbps]="TCP 4 streams (Gbit/s)"
                  [rr_p50_us]="TCP RR p50 (us)" [rr_p99_us]="TCP RR p99 (us)"
                  [udp64_kpps]="UDP 64B rx (kpps)")
declare -A BETTER=([tcp_1_gbps]=higher [tcp_4_gbps]=higher [rr_p50_us]=lower
                   [rr_p99_us]=lower [udp64_kpps]=higher)

log "systems: ${systems[*]}; $ROUNDS rounds of ${SECS}s measurements; $(nproc) cores"
start=$SECONDS
for ((r = 1; r <= ROUNDS; r++)); do
    n=${#systems[@]}
    for ((k = 0; k < n; k++)); do
        sys=${systems[(k + r - 1) % n]}
        t="r$r$sys"
        t=${t:0:8}
        log "round $r/$ROUNDS: $sys"
        "setup_$sys" "$t"
        measure "$sys" "$t"
        teardown "$t"
    done
done
elapsed=$((SECONDS - start))

# Medians, ratios to the bridge, table and JSON.
declare -A MED
for sys in "${systems[@]}"; do
    for m in "${metrics[@]}"; do
        # shellcheck disable=SC2086
        MED[$sys,$m]=$(median ${R[$sys,$m]})
    done
done
ratio() { # sys metric -> system / bridge
    awk -v a="${MED[$1,$2]}" -v b="${MED[bridge,$2]:-0}" 'BEGIN {
        if (b > 0) printf "%.2f", a / b; else printf "n/a" }'
}

{
    printf '\nvswitch benchmark: pod -> pod on one node, %s rounds x %ss, median of rounds\n' \
        "$ROUNDS" "$SECS"
    printf '%-24s' "metric"
    for sys in "${systems[@]}"; do printf '%22s' "$sys"; done
    printf '\n'
    for m in "${metrics[@]}"; do
        printf '%-24s' "${LABEL[$m]}"
        for sys in "${systems[@]}"; do
            if [ "$sys" = bridge ] || [ -z "${MED[bridge,$m]:-}" ]; then
                printf '%22s' "$(printf '%.2f' "${MED[$sys,$m]}")"
            else
                printf '%22s' "$(printf '%.2f (%sx)' "${MED[$sys,$m]}" "$(ratio "$sys" "$m")")"
            fi
        done
        printf '\n'
    done
    printf '(ratios are to the Linux bridge; throughput: higher is better, latency: lower)\n'
    printf '\nspread of the rounds (min .. max):\n'
    for m in "${metrics[@]}"; do
        printf '%-24s' "${LABEL[$m]}"
        for sys in "${systems[@]}"; do
            # shellcheck disable=SC2086
            printf '%22s' "$(printf '%s\n' ${R[$sys,$m]} | sort -g |
                awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.1f .. %.1f", lo, hi}')"
        done
        printf '\n'
    done
} | tee "$VSW_TMPDIR/table.txt"

# Targets (issue 2): TCP >= 1.0x bridge and >= 1.3x OVS; RR p50 <= 1.2x bridge.
targets=()
if [[ " ${systems[*]} " == *" vswitch "* ]] && [[ " ${systems[*]} " == *" bridge "* ]]; then
    for m in tcp_1_gbps tcp_4_gbps; do
        r=$(ratio vswitch $m)
        targets+=("$(jq -n --arg m "$m" --arg r "$r" '{target: "\($m) >= 1.0x bridge",
            value: ($r | tonumber? // null), met: (($r | tonumber? // 0) >= 1.0)}')")
        if [[ " ${systems[*]} " == *" ovs "* ]]; then
            r=$(awk -v a="${MED[vswitch,$m]}" -v b="${MED[ovs,$m]}" 'BEGIN {
                if (b > 0) printf "%.2f", a / b; else printf "n/a" }')
            targets+=("$(jq -n --arg m "$m" --arg r "$r" '{target: "\($m) >= 1.3x ovs",
                value: ($r | tonumber? // null), met: (($r | tonumber? // 0) >= 1.3)}')")
        fi
    done
    r=$(ratio vswitch rr_p50_us)
    targets+=("$(jq -n --arg r "$r" '{target: "rr_p50_us <= 1.2x bridge",
        value: ($r | tonumber? // null), met: (($r | tonumber? // 99) <= 1.2)}')")
    printf '\ntargets:\n'
    for tj in "${targets[@]}"; do
        echo "$tj" | jq -r '"  \(if .met then "met   " else "MISSED" end)  \(.target): \(.value)x"'
    done
fi

# JSON: per system and metric, the rounds, the median and the ratio to the bridge.
{
    printf '{"rounds": %s, "seconds": %s, "cores": %s, "elapsed_s": %s, "systems": {' \
        "$ROUNDS" "$SECS" "$(nproc)" "$elapsed"
    first=1
    for sys in "${systems[@]}"; do
        [ $first = 1 ] || printf ','
        first=0
        printf '"%s": {' "$sys"
        mf=1
        for m in "${metrics[@]}"; do
            [ $mf = 1 ] || printf ','
            mf=0
            # shellcheck disable=SC2086
            printf '"%s": {"rounds": [%s], "median": %s, "ratio_to_bridge": %s, "better": "%s"}' \
                "$m" "$(echo ${R[$sys,$m]} | tr ' ' ',')" "${MED[$sys,$m]}" \
                "$(r=$(ratio "$sys" "$m"); [ "$r" = n/a ] && echo null || echo "$r")" "${BETTER[$m]}"
        done
        printf '}'
    done
    printf '}, "targets": [%s]}\n' "$(IFS=,; echo "${targets[*]:-}")"
} | jq . >"$JSON_OUT" || fail "could not write $JSON_OUT"
log "wrote $JSON_OUT (${elapsed}s)"
