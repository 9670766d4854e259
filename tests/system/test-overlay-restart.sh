#!/usr/bin/env bash
# A node's switch killed (kill -9) and restarted on the overlay: three nodes, a client pod on
# node 1, a DSR service over backends on nodes 2 and 3.  While long-lived connections through
# the VIP run, node 1's switch (the one that only dispatches) and then node 2's (the one that
# holds flow pairs) are killed and started again:
#   - each comes back with its peers, its policies and its pod ports (from the database);
#   - the connections survive both restarts (Maglev on node 1 picks the same backends again;
#     node 2 re-creates the pair from the next dispatched frame);
#   - afterwards new connections through the VIP reach both nodes' backends with the client's
#     address, and pod-to-pod traffic crosses the overlay in both directions.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

VIP=10.96.0.10
add_underlay
for i in 1 2 3; do add_overlay_node node$i $i; done
peer_nodes node1 node2 node3
add_pod node1 client 10.244.1.20
BES=(be21 be22 be31 be32)
for be in "${BES[@]}"; do
    add_pod "node${be:2:1}" "$be" "10.244.${be:2:1}.1${be:3:1}"
    svc_start "$be" http-server 8080 "$be"
    svc_start "$be" stream-server 9000 "$be"
done
for p in client "${BES[@]}"; do ip -n "$(ns $p)" link set eth0 mtu 1450 || fail "MTU of $p"; done
cat >"$VSW_TMPDIR/policies.txt" <<EOF
add-lb $VIP:80/tcp 10.244.2.11:8080 10.244.2.12:8080 10.244.3.11:8080 10.244.3.12:8080
add-lb $VIP:9000/tcp 10.244.2.11:9000 10.244.2.12:9000 10.244.3.11:9000 10.244.3.12:9000
EOF
for i in 1 2 3; do
    vsctl_on node$i batch "$VSW_TMPDIR/policies.txt" >/dev/null || fail "batch on node$i"
done
ping_ok client 10.244.2.11
ping_ok client 10.244.3.11

peers_of() { vsctl_on "$1" --json show | jq -r '.peers[] | "\(.node_ip) \(.pod_cidr)"' | sort; }
declare -A PEERS POLS PORTS
for i in 1 2; do
    PEERS[node$i]=$(peers_of node$i)
    POLS[node$i]=$(policies_sans_counters node$i)
    PORTS[node$i]=$(port_table node$i)
done

# Long-lived connections, one per backend, a round trip every 0.1 s for 14 s; a round trip may
# take up to 10 s (TCP retransmits, backing off, across the restart).
slog=$VSW_TMPDIR/streams.log
SVC_TIMEOUT=10 bg_start client "$slog" "$VSW_PY" "$VSW_SVC" streams $VIP 9000 4 14
wait_until 10 grep -q '^ready ' "$slog" || fail "streams through the VIP did not open: $(cat "$slog")"
assert_eq "one long-lived connection per backend" "ready be21 be22 be31 be32" "$(head -1 "$slog")"
sleep 1

for i in 1 2; do
    n=node$i
    kill9_vswitchd $n
    log "vswitchd of $n killed (-9)"
    sleep 0.5
    restart_vswitchd $n
    assert_eq "$n: peers back after kill -9" "${PEERS[$n]}" "$(peers_of $n)"
    assert_eq "$n: policies back after kill -9" "${POLS[$n]}" "$(policies_sans_counters $n)"
    assert_eq "$n: pod ports back after kill -9" "${PORTS[$n]}" "$(port_table $n)"
    assert_match "$n: start-up says what it restored" \
        "started: .* 2 peer\(s\) and 2 policy\(ies\) restored" "$(cat "${VSW_LOG[$n]}")"
    sleep 2
done

wait_until 30 bash -c "[ \$(grep -c '^be[23][12] ' '$slog') -ge 4 ]" ||
    fail "streams did not finish: $(cat "$slog")"
log "streams: $(tail -n +2 "$slog" | tr '\n' ';')"
assert_eq "all four connections survived the restarts of node1 and node2" 4 \
    "$(grep -Ec '^be[23][12] ok [0-9]+$' "$slog")"

out=$(curl_many client "http://$VIP/" 40)
assert_eq "after the restarts: 40 requests through the VIP answered" 40 \
    "$(echo "$out" | grep -c '^be[23][12] ')"
for i in 2 3; do
    assert_ge "node$i's backends served" "$(echo "$out" | grep -c "^be$i")" 8
done
assert_eq "the backends saw the client's address" "10.244.1.20" \
    "$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
ping_ok client 10.244.2.12
ping_ok be22 10.244.1.20
tcp_xfer client be21 10.244.2.11 $((4 << 20))
tcp_xfer be21 client 10.244.1.20 $((4 << 20)) 7002
log "PASS"
