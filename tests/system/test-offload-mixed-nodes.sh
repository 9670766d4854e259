#!/usr/bin/env bash
# A node with the kernel fast path and one without, on one overlay: node1 runs --offload tc,
# node2 --offload none.  Pods talk across the nodes both ways (hashed TCP transfers, ping) and
# through a DSR VIP on node1 whose backend is on node2; pods on node1 talk locally at the same
# time, their flows in node1's kernel (dp=tc) while the flows over VXLAN stay dp=user (the
# overlay is executed by the switch on either kind of node), and node2 shows no dp=tc flow.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require jq iperf3

add_underlay
add_overlay_node node1 1 --offload tc
add_overlay_node node2 2 --offload none
peer_nodes node1 node2
add_pod node1 a 10.244.1.10
add_pod node1 c 10.244.1.11
add_pod node2 b 10.244.2.10
for p in a b c; do ip -n "$(ns $p)" link set eth0 mtu 1450 || fail "cannot set MTU 1450 in $p"; done
assert_eq "node1's fast path" tc "$(vsctl_on node1 --json show | jq -r .offload.mode)"
assert_eq "node2's fast path" none "$(vsctl_on node2 --json show | jq -r .offload.mode)"
ping_ok a 10.244.2.10
ping_ok b 10.244.1.10
ping_ok a 10.244.1.11

iperf_server c 5201
bg_start a "$VSW_TMPDIR/iperf-local.json" iperf3 -c 10.244.1.11 -p 5201 -t 6 -J
local_pid=$BG_PID
tcp_xfer a b 10.244.2.10 $((12 << 20)) 7001
tcp_xfer b a 10.244.1.10 $((12 << 20)) 7002
for n in node1 node2; do     # as a service proxy does: every node holds every policy
    assert_ok "add-lb on $n to node2's pod" vsctl_on $n add-lb 10.96.0.10:7003/tcp 10.244.2.10:7003
done
tcp_xfer a b 10.96.0.10 $((4 << 20)) 7003

tc1=$(vsctl_on node1 --json dump-flows | jq -r '.flows[] | select(.dp == "tc") | .match')
echo "$tc1" | grep -q 'nw_dst=10.244.1.11' || fail "node1's local iperf3 is not dp=tc: $tc1"
assert_no_match "no dp=tc flow on node1 goes over the overlay" 'nw_dst=10\.244\.2\.|nw_dst=10\.96\.' "$tc1"
assert_eq "dp=tc flows on node2" 0 \
    "$(vsctl_on node2 --json dump-flows | jq '[.flows[] | select(.dp == "tc")] | length')"
wait "$local_pid" || fail "node1's local iperf3 failed: $(cat "$VSW_TMPDIR/iperf-local.json")"
