#!/usr/bin/env bash
# kill -9 of vswitchd under load, twice, and what it costs.  One node on an underlay (so it
# can hold an overlay peer), a client pod and three backends; policies of every kind (DSR TCP,
# UDP, non-DSR with affinity, empty) and a peer.  While the client runs, through the VIPs:
#   - iperf3 (round 1 only), a UDP probe every 10 ms, a loop of new TCP connections (churn),
#     and 12 established echo connections,
# vswitchd is killed (-9) and started again at once with the same --db.  Then:
#   - every port, policy and peer is back: `vsctl --json show` ports and peers, and
#     `--json dump-policies` without counters, identical to before;
#   - traffic resumed: iperf3, the probe and the churn all succeed after the restart;
#   - every established connection survived (backends unchanged, so Maglev picks the same one
#     and the flow pairs are adopted or re-created): all 12 still echo;
#   - the figures are logged as "FIGURE ...": the restart time (kill to control socket
#     answering), the forwarding gap (longest time without a UDP answer), the longest gap
#     without a new connection, the longest stall of an established one, iperf3's zero
#     intervals, and the connection failures during the outage.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require bc

ROBUST="$VSW_LIB_DIR/robust.py"
N_HOLD=12
add_underlay
add_overlay_node node 1
add_pod node client 10.244.1.20
# A client that opens thousands of connections a second: the whole port range, and reuse of
# ports in TIME_WAIT, as such clients are configured (else the churn runs out of ports).
ns_exec client sysctl -qw net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1
add_backends node 3 stream-server:7000 udp-server:7001
iperf_server be1 5201
cat >"$VSW_TMPDIR/config.txt" <<EOF
add-lb 10.96.0.10:7000/tcp 10.244.1.11:7000 10.244.1.12:7000 10.244.1.13:7000
add-lb 10.96.0.11:5201/tcp 10.244.1.11:5201
add-lb 10.96.0.12:7001/udp 10.244.1.11:7001 10.244.1.12:7001 10.244.1.13:7001
add-lb 10.96.0.13:80/tcp 10.244.1.12:7000 --no-dsr --affinity-timeout 60 --name default/x:y
add-lb 10.96.0.14:80/tcp
add-peer $VSW_UNDERLAY.9 10.244.9.0/24
EOF
vsctl_on node batch "$VSW_TMPDIR/config.txt" >/dev/null || fail "batch of policies and a peer"

# The state that must come back: ports, peers, policies (counters left out).
state() {
    vsctl_on node --json show | jq -S '{ports: ([.ports[] | {name, type, ip, mac, up}] | sort_by(.name)),
                                        peers: [.peers[] | {node_ip, pod_cidr}]}'
    vsctl_on node --json dump-policies | jq -S '[.policies[] | del(.stats)]'
}
before=$(state) || fail "cannot read the state"
[ "$(echo "$before" | jq -s '.[1] | length')" -eq 5 ] || fail "expected 5 policies: $before"

# field NAME LINE: the value of NAME=VALUE in LINE.
field() { echo "$2" | grep -Eo "(^| )$1=[0-9.]+" | cut -d= -f2; }

# round R SECONDS KILL_AT IPERF: the load for SECONDS, vswitchd killed after KILL_AT seconds.
round() {
    local r=$1 secs=$2 kill_at=$3 iperf=$4 t_kill t_ready pids=() p
    local stop=$VSW_TMPDIR/stop-$r
    export ROBUST_STOP=$stop
    if [ "$iperf" = 1 ]; then
        ns_exec client iperf3 -c 10.96.0.11 -p 5201 -t "$secs" -i 0.2 -b 400M -J \
            >"$VSW_TMPDIR/iperf-$r.json" 2>&1 &
        pids+=($!)
    fi
    ns_exec client "$VSW_PY" "$ROBUST" udp-probe 10.96.0.12 7001 "$secs" 0.01 \
        >"$VSW_TMPDIR/probe-$r.log" 2>&1 &
    pids+=($!)
    ns_exec client "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 "$secs" \
        >"$VSW_TMPDIR/churn-$r.log" 2>&1 &
    pids+=($!)
    ns_exec client "$VSW_PY" "$ROBUST" hold 10.96.0.10 7000 "$N_HOLD" "$((secs + 2))" 0.1 20 \
        >"$VSW_TMPDIR/hold-$r.log" 2>&1 &
    pids+=($!)
    on_exit "touch $stop; kill ${pids[*]} 2>/dev/null"
    wait_until 10 grep -q '^ready ' "$VSW_TMPDIR/hold-$r.log" ||
        fail "round $r: the established connections did not open: $(cat "$VSW_TMPDIR/hold-$r.log")"
    sleep "$kill_at"

    t_kill=$(date +%s.%N)
    kill9_vswitchd node
    restart_vswitchd node
    t_ready=$(date +%s.%N)
    for p in "${pids[@]}"; do wait "$p"; done

    # What came back.
    after=$(state) || fail "round $r: cannot read the state after the restart"
    if [ "$before" != "$after" ]; then
        diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
        fail "round $r: ports, peers or policies differ after kill -9 and restart"
    fi
    log "ok: round $r: every port, peer and policy back (show, dump-policies identical)"

    # The figures.
    local probe churn hold restart_ms gap_ms after_ok alive
    probe=$(grep '^probe ' "$VSW_TMPDIR/probe-$r.log") || fail "round $r: no probe result"
    churn=$(grep '^churn ' "$VSW_TMPDIR/churn-$r.log") || fail "round $r: no churn result"
    hold=$(grep '^hold ' "$VSW_TMPDIR/hold-$r.log") ||
        fail "round $r: no hold result: $(tail -5 "$VSW_TMPDIR/hold-$r.log")"
    restart_ms=$(echo "($t_ready - $t_kill) * 1000 / 1" | bc)
    gap_ms=$(field max_gap_ms "$probe")
    after_ok=$(awk -v t="$t_ready" '$2 == "ok" && $1 > t' "$VSW_TMPDIR/churn-$r.log" | wc -l)
    alive=$(field alive "$hold")
    log "FIGURE round=$r restart_ms=$restart_ms udp_forwarding_gap_ms=$gap_ms" \
        "churn_max_gap_ms=$(field max_gap_ms "$churn") churn_failed=$(field fail "$churn")" \
        "churn_ok=$(field ok "$churn") churn_ok_after_restart=$after_ok" \
        "established_alive=$alive/$N_HOLD" \
        "established_max_stall_ms=$(field max_stall_ms "$hold")" \
        "udp_sent=$(field sent "$probe") udp_answered=$(field answered "$probe")"
    if [ "$iperf" = 1 ]; then
        local j=$VSW_TMPDIR/iperf-$r.json zero total resumed
        jq -e '.intervals' "$j" >/dev/null 2>&1 ||
            fail "round $r: iperf3 failed: $(head -c 600 "$j")"
        zero=$(jq '[.intervals[].sum.bytes | select(. == 0)] | length' "$j")
        total=$(jq '.intervals | length' "$j")
        resumed=$(jq '[.intervals[-5:][].sum.bytes] | add' "$j")
        log "FIGURE round=$r iperf3_zero_intervals=$zero/$total (0.2 s each," \
            "$((zero * 200)) ms) iperf3_last_second_bytes=$resumed" \
            "iperf3_mbit_s=$(jq '.end.sum_sent.bits_per_second / 1e6 | floor' "$j")" \
            "iperf3_retransmits=$(jq '.end.sum_sent.retransmits' "$j")"
        assert_ge "round $r: iperf3 through the VIP resumed (bytes in its last second)" \
            "$resumed" 1
    fi
    assert_eq "round $r: every established connection survived" "$N_HOLD" "$alive"
    assert_ge "round $r: new connections after the restart" "$after_ok" 10
    assert_ge "round $r: UDP answers" "$(field answered "$probe")" 100
    # A bound far above any restart time: forwarding came back within the round.
    [ "$gap_ms" -lt 10000 ] || fail "round $r: forwarding was down ${gap_ms} ms"
    unset ROBUST_STOP
}

round 1 10 3 1
round 2 8 3 0
ping_ok client 10.244.1.12
