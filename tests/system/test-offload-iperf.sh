#!/usr/bin/env bash
# The kernel fast path carries established flows: during an iperf3 pod -> pod and pod -> VIP,
# dump-flows shows the stream's flows as dp=tc with packet counts that keep growing (the
# kernel's counters merged into the flow cache), the flow pair's and the policy's counters
# grow too, `show` and /metrics count packets per tier, and the kernel executed most of the
# stream.  Then flush-flows takes the flows out of the kernel at once.
. "$(dirname "$0")/../lib/lib.sh"
preflight
VSW_OFFLOAD=tc      # this test is about the fast path, whatever the run asks
require iperf3 jq curl

add_lb_node 1 iperf:5201
ping_ok client 10.244.1.11
assert_ok "add-lb" vsctl_on node add-lb 10.96.0.10:5201/tcp 10.244.1.11:5201
assert_eq "the fast path is loaded" tc "$(vsctl_on node --json show | jq -r .offload.mode)"

# tc_flow NODE DST: packets of the dp=tc flow towards DST (port 5201), or nothing.
tc_flow() {
    vsctl_on "$1" --json dump-flows |
        jq -r --arg d "$2" '[.flows[] | select(.dp == "tc" and (.match | test("nw_dst=" + $d + ",.*tp_dst=5201")))] | max_by(.packets) | .packets // empty'
}

has_tc_flow() { [ -n "$(tc_flow "$@")" ]; }

for dst in 10.244.1.11 10.96.0.10; do
    bg_start client "$VSW_TMPDIR/iperf-$dst.json" iperf3 -c "$dst" -p 5201 -t 6 -J
    pid=$BG_PID
    wait_until 5 has_tc_flow node "$dst" || {
        vsctl_on node dump-flows >&2; fail "no dp=tc flow to $dst:5201 during iperf3"; }
    p1=$(tc_flow node "$dst")
    sleep 1.5
    p2=$(tc_flow node "$dst")
    [ "${p2:-0}" -gt "${p1:-0}" ] || fail "the dp=tc flow to $dst did not grow ($p1 -> $p2)"
    log "ok: dp=tc flow to $dst:5201 grew from $p1 to $p2 packets"
    wait "$pid" || fail "iperf3 to $dst failed: $(cat "$VSW_TMPDIR/iperf-$dst.json")"
    recv=$(jq -r .end.sum_received.bytes "$VSW_TMPDIR/iperf-$dst.json")
    assert_ge "iperf3 to $dst received bytes" "$recv" 1000000
done

# The pair and the policy saw the kernel's packets: at least as many bytes as iperf3 moved.
by=$(policy_stat node 10.96.0.10:5201/tcp bytes)
assert_ge "the policy counted the VIP stream's bytes (kernel ones merged)" "$by" "$recv"
pair=$(vsctl_on node --json dump-flows | jq '[.flow_pairs[] | .bytes.orig] | max')
assert_ge "the flow pair counted the client's bytes" "$pair" "$recv"

show=$(vsctl_on node --json show)
tc=$(echo "$show" | jq .offload.packets_tc)
user=$(echo "$show" | jq .offload.packets_user)
[ "$tc" -gt "$user" ] || fail "the kernel executed fewer packets ($tc) than the switch got ($user)"
log "ok: packets dp=tc $tc, dp=user $user"
m=$(ns_exec node curl -s 127.0.0.1:9479/metrics)
assert_match "metrics count packets per tier" 'vswitch_tier_packets_total\{dp="tc"\} [1-9]' "$m"
assert_match "metrics count flows per tier" 'vswitch_tier_flows\{dp="user"\} [0-9]' "$m"

assert_ok "flush-flows" vsctl_on node flush-flows
assert_eq "no flow left in the kernel after flush-flows" 0 \
    "$(vsctl_on node --json show | jq .offload.n_flows_tc)"
