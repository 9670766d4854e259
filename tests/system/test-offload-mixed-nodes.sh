#!/usr/bin/env bash
# A node with the kernel fast path and one without, on one overlay: node1 runs --offload tc,
# node2 --offload none.  Pods talk across the nodes both ways (hashed TCP transfers, ping) and
# through a DSR VIP on node1 whose backend is on node2; pods on node1 talk locally at the same
# time.  node1's kernel executes its flows, the local ones and those over VXLAN (encapsulated
# at the pod's port, decapsulated at the underlay), and node2's user-space VXLAN port reads
# and writes the same datagrams: a veth underlay hands it node1's GSO frames whole and with
# partial checksums, which it takes back as such.  node2 shows no dp=tc flow.
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
# tc_bytes NODE PATTERN: bytes of the dp=tc flows whose match fits PATTERN (0: none).
tc_bytes() {
    vsctl_on "$1" --json dump-flows |
        jq --arg m "$2" '[.flows[] | select(.dp == "tc" and (.match | test($m))) | .bytes] | add // 0'
}

# node1's kernel encapsulates its pod's flows to node2 and decapsulates node2's to its pod;
# node2 reads and writes the same datagrams with its user-space VXLAN port.
tcp_xfer a b 10.244.2.10 $((12 << 20)) 7001
assert_ge "node1 sent to node2's pod in the kernel (bytes)" \
    "$(tc_bytes node1 'in_port=h-a,.*nw_dst=10\.244\.2\.10,.*tp_dst=7001')" $((8 << 20))
tcp_xfer b a 10.244.1.10 $((12 << 20)) 7002
assert_ge "node1 received from node2 in the kernel (bytes)" \
    "$(tc_bytes node1 'in_port=vxlan,.*nw_dst=10\.244\.1\.10,.*tp_dst=7002')" $((8 << 20))
for n in node1 node2; do     # as a service proxy does: every node holds every policy
    assert_ok "add-lb on $n to node2's pod" vsctl_on $n add-lb 10.96.0.10:7003/tcp 10.244.2.10:7003
done
tcp_xfer a b 10.96.0.10 $((4 << 20)) 7003
assert_ge "node1 sent to the VIP in the kernel (bytes)" \
    "$(tc_bytes node1 'in_port=h-a,.*nw_dst=10\.96\.0\.10,.*tp_dst=7003')" $((2 << 20))

tc1=$(vsctl_on node1 --json dump-flows | jq -r '.flows[] | select(.dp == "tc") | .match')
echo "$tc1" | grep -q 'nw_dst=10.244.1.11' || fail "node1's local iperf3 is not dp=tc: $tc1"
assert_eq "dp=tc flows on node2" 0 \
    "$(vsctl_on node2 --json dump-flows | jq '[.flows[] | select(.dp == "tc")] | length')"
wait "$local_pid" || fail "node1's local iperf3 failed: $(cat "$VSW_TMPDIR/iperf-local.json")"
