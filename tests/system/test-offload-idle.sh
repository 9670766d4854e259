#!/usr/bin/env bash
# Idle timeouts see the kernel's packets: with --tcp-established-timeout 2, an iperf3 of 6 s
# through a VIP runs in the kernel (dp=tc) while the switch sees none of its data, yet its flow
# pair never looks idle (its idle age stays under the timeout, merged from the kernel's
# last-seen time every second) and stays the same pair; iperf3 completes.  Once it ended, the
# pair times out and its flows leave the kernel by themselves.
. "$(dirname "$0")/../lib/lib.sh"
preflight
VSW_OFFLOAD=tc      # this test is about the fast path, whatever the run asks
require iperf3 jq

add_node node 10.244.1.0/24 --tcp-established-timeout 2
add_pod node client 10.244.1.20
add_pod node be1 10.244.1.11
iperf_server be1 5201
ping_ok client 10.244.1.11
assert_ok "add-lb" vsctl_on node add-lb 10.96.0.10:5201/tcp 10.244.1.11:5201

# The data connection's pair: the busiest one.
pair() {
    vsctl_on node --json dump-flows |
        jq -r '[.flow_pairs[]] | max_by(.bytes.orig) | "\(.orig.sport) \(.idle_ms) \(.state)"'
}
n_tc() { vsctl_on node --json show | jq .offload.n_flows_tc; }
# For wait_until, which runs them again each time.
streaming() { [ "$(n_tc)" -ge 2 ]; }
none_in_kernel() { [ "$(n_tc)" -eq 0 ]; }

bg_start client "$VSW_TMPDIR/iperf.json" iperf3 -c 10.96.0.10 -p 5201 -t 6 -b 200M -J
pid=$BG_PID
wait_until 5 streaming || fail "iperf3's flows not in the kernel: $(vsctl_on node dump-flows)"
read -r sport0 _ _ < <(pair)
for i in 1 2 3 4; do
    sleep 1
    read -r sport idle state < <(pair)
    [ "$sport" = "$sport0" ] || fail "the data connection's pair changed ($sport0 -> $sport)"
    [ "$idle" -lt 2000 ] || fail "the pair looks idle (${idle} ms, $state) while the kernel carries it"
    log "ok: t+${i}s: pair of port $sport, $state, idle ${idle} ms"
done
wait "$pid" || fail "iperf3 failed: $(jq -r .error "$VSW_TMPDIR/iperf.json")"
wait_until 15 none_in_kernel ||
    fail "flows still in the kernel after their pairs timed out: $(vsctl_on node dump-flows)"
log "ok: the flows left the kernel after iperf3 ended"
