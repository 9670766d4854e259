#!/usr/bin/env bash
# kill -9 of vswitchd during an iperf3 through a VIP, with the kernel fast path: the stream's
# flows are installed (dp=tc), so while vswitchd is down (3 s) and while it restarts the
# kernel keeps forwarding them: no iperf3 interval of 0.5 s is empty.  The restarted vswitchd
# adopts the pinned maps, takes the adopted flows back, re-decides them with the adopted flow
# pair and installs them again (dp=tc once more); iperf3 completes.
. "$(dirname "$0")/../lib/lib.sh"
preflight
VSW_OFFLOAD=tc      # this test is about the fast path, whatever the run asks
require iperf3 jq

add_lb_node 1 iperf:5201
ping_ok client 10.244.1.11
assert_ok "add-lb" vsctl_on node add-lb 10.96.0.10:5201/tcp 10.244.1.11:5201

n_tc() { vsctl_on node --json show | jq .offload.n_flows_tc; }
has_tc() { [ "$(n_tc)" -ge 2 ]; }

bg_start client "$VSW_TMPDIR/iperf.json" iperf3 -c 10.96.0.10 -p 5201 -t 10 -i 0.5 -b 500M -J
pid=$BG_PID
wait_until 5 has_tc || fail "iperf3's flows not in the kernel: $(vsctl_on node dump-flows)"
log "ok: $(n_tc) flows dp=tc; kill -9 of vswitchd"
sleep 1
kill9_vswitchd node
sleep 3
restart_vswitchd node
wait_until 5 has_tc || fail "the restarted vswitchd did not install the flows again: $(vsctl_on node dump-flows)"
log "ok: the restarted vswitchd installed the stream again ($(n_tc) flows dp=tc)"
grep -q "adopted from the previous vswitchd" "${VSW_LOG[node]}" ||
    fail "the restarted vswitchd did not adopt the pinned maps"

wait "$pid" || fail "iperf3 failed: $(cat "$VSW_TMPDIR/iperf.json")"
js=$VSW_TMPDIR/iperf.json
zero=$(jq '[.intervals[] | select(.sum.bytes == 0)] | length' "$js")
n=$(jq '.intervals | length' "$js")
assert_eq "iperf3 intervals without a byte (of $n, 0.5 s each)" 0 "$zero"
recv=$(jq .end.sum_received.bytes "$js")
assert_ge "iperf3 received (bytes)" "$recv" $((10 * 500000000 / 8 * 8 / 10))
