#!/usr/bin/env bash
# Soak: two nodes on the overlay, mixed traffic through VIPs for VSW_SOAK_SECONDS (default 40;
# give the run more with VSW_SOAK_SECONDS=600 VSW_TEST_TIMEOUT=900) while the configuration
# changes every second.  Traffic, from a client pod on each node:
#   - new TCP connections in a loop (churn) through a DSR VIP whose backends are on both nodes,
#     6 established echo connections, a UDP probe every 20 ms through a UDP VIP, and iperf3
#     (100 Mbit/s) from node 1 to a backend on node 2 through a third VIP;
# and every second, on both nodes: a scratch policy added and the previous one deleted (add-lb
# and del-lb, alternately by batch), a fourth backend added to or removed from the DSR VIP, a
# silent pod's port deleted and added again, and every fifth second the flows flushed.
# At the end:
#   - no crash: both vswitchds ran throughout and stop cleanly on SIGTERM (exit 0; under the
#     sanitizer build LeakSanitizer reports make that fail, and run.sh checks the logs too);
#   - counters consistent on each node: the frames received by all ports equal the frames
#     sent plus the drops counted by reason (`vsctl --json show`), exactly (what the deleted
#     port had counted is added back: a port's counters go with it);
#   - the traffic flowed: most new connections and UDP probes succeeded, iperf3 moved data;
#   - the figures are logged: connections, failures, the established connections that
#     survived the backend changes, UDP answers, throughput, VmRSS at the start and the end.
. "$(dirname "$0")/../lib/lib.sh"
preflight

SOAK=${VSW_SOAK_SECONDS:-40}
ROBUST="$VSW_LIB_DIR/robust.py"
add_underlay
add_overlay_node node1 1
add_overlay_node node2 2
peer_nodes node1 node2
add_pod node1 c1 10.244.1.20
add_pod node2 c2 10.244.2.20
add_pod node1 be11 10.244.1.11
add_pod node1 be12 10.244.1.12
add_pod node2 be21 10.244.2.11
add_pod node2 be22 10.244.2.12
add_pod node1 quiet 10.244.1.30
for p in c1 c2 be11 be12 be21 be22 quiet; do
    ip -n "$(ns $p)" link set eth0 mtu 1450 || fail "MTU of $p"
done
# Clients that open thousands of connections a second: the whole port range, and reuse of
# ports in TIME_WAIT, as such clients are configured (else the churn runs out of ports).
for c in c1 c2; do
    ns_exec $c sysctl -qw net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1
done
# The quiet pod sends nothing (no IPv6 either), so that deleting its port loses no counts.
ns_exec quiet sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
for be in be11 be12 be21 be22; do
    svc_start $be stream-server 7000 $be
    svc_start $be udp-server 7001 $be
done
iperf_server be21 5201
BES="10.244.1.11:7000 10.244.2.11:7000 10.244.2.12:7000"
cat >"$VSW_TMPDIR/policies.txt" <<EOF
add-lb 10.96.0.10:7000/tcp $BES
add-lb 10.96.0.11:7001/udp 10.244.1.11:7001 10.244.2.11:7001 10.244.2.12:7001
add-lb 10.96.0.12:5201/tcp 10.244.2.11:5201
add-lb 10.96.1.1:80/tcp 10.244.2.11:7000
EOF
for n in node1 node2; do
    vsctl_on $n batch "$VSW_TMPDIR/policies.txt" >/dev/null || fail "policies on $n"
done
ping_ok c1 10.244.2.11
ping_ok c2 10.244.1.11

rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/${VSW_PID[$1]}/status"; }
declare -A RSS0
for n in node1 node2; do RSS0[$n]=$(rss_kb $n); done

# --- traffic --------------------------------------------------------------------------------
export ROBUST_STOP=$VSW_TMPDIR/stop
on_exit "touch $ROBUST_STOP"
pids=()
for c in c1 c2; do
    ns_exec $c "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 "$SOAK" >"$VSW_TMPDIR/churn-$c.log" 2>&1 &
    pids+=($!)
    ns_exec $c "$VSW_PY" "$ROBUST" udp-probe 10.96.0.11 7001 "$SOAK" 0.02 \
        >"$VSW_TMPDIR/probe-$c.log" 2>&1 &
    pids+=($!)
done
ns_exec c1 "$VSW_PY" "$ROBUST" hold 10.96.0.10 7000 6 "$SOAK" 0.2 10 >"$VSW_TMPDIR/hold.log" 2>&1 &
pids+=($!)
ns_exec c1 iperf3 -c 10.96.0.12 -p 5201 -t "$SOAK" -b 100M -J >"$VSW_TMPDIR/iperf.json" 2>&1 &
pids+=($!)
on_exit "kill ${pids[*]} 2>/dev/null"

# --- changes every second -------------------------------------------------------------------
start=$SECONDS changes=0 gone_rx=0 gone_tx=0
for ((i = 1; SECONDS - start < SOAK; i++)); do
    for n in node1 node2; do
        vswitchd_alive $n || fail "vswitchd on $n died after $((SECONDS - start)) s of soak"
        if [ $((i % 2)) = 0 ]; then
            printf 'add-lb 10.96.1.%d:80/tcp 10.244.1.11:7000 10.244.2.12:7000\ndel-lb 10.96.1.%d:80/tcp\n' \
                "$((i % 250 + 1))" "$(((i - 1) % 250 + 1))" | vsctl_on $n batch - >/dev/null
        else
            vsctl_on $n add-lb "10.96.1.$((i % 250 + 1)):80/tcp" 10.244.2.11:7000 >/dev/null &&
                vsctl_on $n del-lb "10.96.1.$(((i - 1) % 250 + 1)):80/tcp" >/dev/null
        fi 2>"$VSW_TMPDIR/change.err" ||
            fail "policy change $i on $n failed: $(cat "$VSW_TMPDIR/change.err")"
        if [ $((i % 2)) = 0 ]; then
            # shellcheck disable=SC2086
            vsctl_on $n add-lb 10.96.0.10:7000/tcp $BES 10.244.1.12:7000 >/dev/null
        else
            # shellcheck disable=SC2086
            vsctl_on $n add-lb 10.96.0.10:7000/tcp $BES >/dev/null
        fi || fail "backend change $i on $n failed"
        [ $((i % 5)) = 0 ] && { vsctl_on $n flush-flows >/dev/null || fail "flush-flows on $n"; }
    done
    # What the port counted goes with it: keep it for the totals.
    q=$(vsctl_on node1 --json show | jq -c '.ports[] | select(.name == "h-quiet") | .stats')
    gone_rx=$((gone_rx + $(echo "$q" | jq .rx_packets)))
    gone_tx=$((gone_tx + $(echo "$q" | jq .tx_packets)))
    vsctl_on node1 del-port h-quiet >/dev/null || fail "del-port h-quiet ($i)"
    vsctl_on node1 add-port h-quiet --ip 10.244.1.30 --mac "$(mac_of_ip 10.244.1.30)" \
        >/dev/null || fail "add-port h-quiet ($i)"
    changes=$i
    sleep 0.5
done
for p in "${pids[@]}"; do wait "$p"; done
unset ROBUST_STOP
log "soak: $SOAK s, $changes rounds of changes on both nodes"

# --- the traffic's figures --------------------------------------------------------------------
field() { echo "$2" | grep -Eo "(^| )$1=[0-9.]+" | cut -d= -f2; }
for c in c1 c2; do
    churn=$(grep '^churn ' "$VSW_TMPDIR/churn-$c.log") || fail "no churn result on $c"
    probe=$(grep '^probe ' "$VSW_TMPDIR/probe-$c.log") || fail "no probe result on $c"
    log "FIGURE $c: $churn; $probe"
    ok=$(field ok "$churn") att=$(field attempts "$churn")
    assert_ge "$c: 90% of new connections succeeded ($ok of $att)" $((ok * 10)) $((att * 9))
    assert_ge "$c: 90% of UDP probes answered" $(( $(field answered "$probe") * 10 )) \
        $(( $(field sent "$probe") * 9 ))
done
hold=$(grep '^hold ' "$VSW_TMPDIR/hold.log") || fail "no hold result: $(tail -3 "$VSW_TMPDIR/hold.log")"
log "FIGURE established connections through backend changes: $hold"
grep '^conn ' "$VSW_TMPDIR/hold.log" | grep -v ' ok ' | sed 's/^/    /'
jq -e .end.sum_received "$VSW_TMPDIR/iperf.json" >/dev/null 2>&1 ||
    fail "iperf3 failed: $(head -c 600 "$VSW_TMPDIR/iperf.json")"
log "FIGURE iperf3 node1 -> node2 through a VIP:" \
    "$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$VSW_TMPDIR/iperf.json") Mbit/s," \
    "$(jq .end.sum_sent.retransmits "$VSW_TMPDIR/iperf.json") retransmits"
assert_ge "iperf3 moved data" "$(jq '.end.sum_received.bytes' "$VSW_TMPDIR/iperf.json")" 1000000

# --- counters: in = out + drops -----------------------------------------------------------------
sleep 2
for n in node1 node2; do
    js=$(vsctl_on $n --json show) || fail "show on $n"
    in=$(echo "$js" | jq '[.ports[].stats.rx_packets] | add')
    out=$(echo "$js" | jq '[.ports[].stats.tx_packets] | add')
    if [ $n = node1 ]; then
        in=$((in + gone_rx)) out=$((out + gone_tx))
    fi
    drops=$(echo "$js" | jq '[.drops[]] | add')
    rxd=$(echo "$js" | jq '[.ports[].stats.rx_dropped] | add')
    txd=$(echo "$js" | jq '[.ports[].stats.tx_dropped] | add')
    log "FIGURE $n counters: in=$in out=$out drops=$drops (port rx_dropped $rxd, tx_dropped" \
        "$txd) by reason: $(echo "$js" | jq -c '.drops | with_entries(select(.value > 0))');" \
        "evictions $(echo "$js" | jq -c '{flow_evictions, flow_pair_evictions}')"
    [ "$in" -eq $((out + drops)) ] ||
        fail "$n: counters do not add up: in $in != out $out + drops $drops (gap $((in - out - drops)))"
    log "ok: $n: frames in ($in) = out ($out) + drops by reason ($drops)"
done

# --- a clean stop, and memory ---------------------------------------------------------------------
for n in node1 node2; do
    rss=$(rss_kb $n)
    log "FIGURE $n VmRSS ${RSS0[$n]} kB before the soak, $rss kB after"
    pid=${VSW_PID[$n]}
    kill -TERM "$pid"
    wait "$pid"; rc=$?
    VSW_PID[$n]=
    assert_eq "$n: vswitchd stops cleanly on SIGTERM (exit status; LeakSanitizer would fail it)" \
        0 "$rc"
done
_vsw_check_sanitizer_logs || fail "sanitizer report in a vswitchd log"
log "ok: no sanitizer report in the vswitchd logs"
