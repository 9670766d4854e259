#!/usr/bin/env bash
# The kernel fast path across nodes: two nodes with --offload tc, an iperf3 pod -> pod and one
# through a DSR VIP whose backend is on the other node.  On both nodes the stream's flows are
# dp=tc (the sender's encapsulates in tc, the receiver's decapsulates at the underlay's tc
# ingress) with packet counts that keep growing; the peers' counters take the kernel's
# packets; a capture on the underlay shows RFC 7348 VXLAN on the node's port with its VNI,
# checksum 0 and a source port in 49152-65535.  Then a peer removed while its flows are in the
# kernel takes them out of the kernel at once, and its traffic stops.
. "$(dirname "$0")/../lib/lib.sh"
preflight
VSW_OFFLOAD=tc      # this test is about the fast path, whatever the run asks
require iperf3 jq tcpdump

VNI=4242
add_underlay
add_overlay_node node1 1 --vni $VNI
add_overlay_node node2 2 --vni $VNI
peer_nodes node1 node2
add_pod node1 a 10.244.1.10
add_pod node2 b 10.244.2.10
for p in a b; do ip -n "$(ns $p)" link set eth0 mtu 1450 || fail "cannot set MTU 1450 in $p"; done
for n in node1 node2; do
    assert_eq "$n's fast path" tc "$(vsctl_on $n --json show | jq -r .offload.mode)"
    assert_ok "add-lb on $n" vsctl_on $n add-lb 10.96.0.10:5201/tcp 10.244.2.10:5201
done
ping_ok a 10.244.2.10
iperf_server b 5201
# The decapsulating program sits at the underlay's ingress ahead of NodePort steering.
filters=$(ns_exec node2 tc filter show dev u0 ingress)
assert_match "fp_tc_vxlan at u0's ingress, priority 1" "pref 1 bpf .*fp_tc_vxlan" "$(echo $filters)"

# tc_flow NODE PATTERN: packets of the biggest dp=tc flow whose match fits PATTERN, or nothing.
tc_flow() {
    vsctl_on "$1" --json dump-flows |
        jq -r --arg m "$2" '[.flows[] | select(.dp == "tc" and (.match | test($m)))] | max_by(.packets) | .packets // empty'
}
has_tc_flow() { [ -n "$(tc_flow "$@")" ]; }

cap="$VSW_TMPDIR/underlay.pcap"
cap_pid=
for dst in 10.244.2.10 10.96.0.10; do
    tx1=$(peer_stat node1 "${VSW_NODE_IP[node2]}" tx_packets)
    bg_start a "$VSW_TMPDIR/iperf-$dst.json" iperf3 -c "$dst" -p 5201 -t 6 -J
    pid=$BG_PID
    # node1: to the peer (encapsulated in tc); node2: from the peer (decapsulated in tc).
    wait_until 5 has_tc_flow node1 "nw_dst=$dst,.*tp_dst=5201" || {
        vsctl_on node1 dump-flows >&2; fail "no dp=tc flow to $dst on node1 during iperf3"; }
    wait_until 5 has_tc_flow node2 "in_port=vxlan,.*nw_dst=$dst,.*tp_dst=5201" || {
        vsctl_on node2 dump-flows >&2; fail "no dp=tc flow from node1 on node2 during iperf3"; }
    if [ -z "$cap_pid" ]; then
        # Once the flow is in the kernel, what node1 sends is the kernel tier's.
        ns_exec "$VSW_UNDERLAY_NS" timeout 5 tcpdump -i br0 -w "$cap" -c 100 -nn \
            "udp port 4789 and src host ${VSW_NODE_IP[node1]}" 2>/dev/null &
        cap_pid=$!
    fi
    s1=$(tc_flow node1 "nw_dst=$dst,.*tp_dst=5201"); r1=$(tc_flow node2 "in_port=vxlan,.*nw_dst=$dst,.*tp_dst=5201")
    sleep 1.5
    s2=$(tc_flow node1 "nw_dst=$dst,.*tp_dst=5201"); r2=$(tc_flow node2 "in_port=vxlan,.*nw_dst=$dst,.*tp_dst=5201")
    [ "${s2:-0}" -gt "${s1:-0}" ] || fail "node1's dp=tc flow to $dst did not grow ($s1 -> $s2)"
    [ "${r2:-0}" -gt "${r1:-0}" ] || fail "node2's dp=tc flow from node1 did not grow ($r1 -> $r2)"
    log "ok: $dst: node1 encap flow $s1 -> $s2 packets, node2 decap flow $r1 -> $r2"
    wait "$pid" || fail "iperf3 to $dst failed: $(cat "$VSW_TMPDIR/iperf-$dst.json")"
    recv=$(jq -r .end.sum_received.bytes "$VSW_TMPDIR/iperf-$dst.json")
    assert_ge "iperf3 to $dst received bytes" "$recv" 1000000
    tx2=$(peer_stat node1 "${VSW_NODE_IP[node2]}" tx_packets)
    [ "$tx2" -gt "$((tx1 + 1000))" ] || fail "node1's peer counters missed the kernel ($tx1 -> $tx2)"
done

wait "$cap_pid" 2>/dev/null
dump=$(tcpdump -r "$cap" -nn -v 2>/dev/null)
assert_match "the underlay carries VXLAN to port 4789 with VNI $VNI" \
    "${VSW_NODE_IP[node1]}\.(49|5[0-9]|6[0-5])[0-9]{3} > ${VSW_NODE_IP[node2]}\.4789: VXLAN, flags \[I\] \(0x08\), vni $VNI" "$dump"
assert_no_match "every datagram has VNI $VNI" "vni ([0-9]{1,3}|[0-35-9][0-9]*|4[013-9][0-9]*)\$" "$dump"
# The first big datagram's outer IPv4 and UDP headers, as 16-bit words.
words=$(tcpdump -r "$cap" -nn -x "greater 1000" 2>/dev/null |
        awk '/0x0000:|0x0010:/ {for (i = 2; i <= 9; i++) printf "%s ", $i} /0x0010:/ {exit}')
read -r -a w <<<"$words"
[ "${#w[@]}" -eq 16 ] || fail "no large VXLAN datagram from node1 in the capture"
assert_eq "outer IPv4 version, IHL, TOS" 4500 "${w[0]}"
assert_eq "outer IPv4 DF" 4000 "${w[3]}"
assert_eq "outer UDP destination port" 12b5 "${w[11]}"
assert_eq "outer UDP checksum (RFC 7348: zero)" 0000 "${w[13]}"

# A peer removed while its flows are in the kernel: they leave the kernel at once.
bg_start a "$VSW_TMPDIR/iperf-del.json" iperf3 -c 10.244.2.10 -p 5201 -t 8 -J
pid=$BG_PID
wait_until 5 has_tc_flow node1 "nw_dst=10.244.2.10,.*tp_dst=5201" || fail "no dp=tc flow before del-peer"
assert_ok "del-peer" vsctl_on node1 del-peer "${VSW_NODE_IP[node2]}"
left=$(vsctl_on node1 --json dump-flows | jq '[.flows[] | select(.dp == "tc" and (.match | test("nw_dst=10.244.2.")))] | length')
assert_eq "node1's kernel flows to the removed peer" 0 "$left"
n=$(vsctl_on node1 --json show | jq .offload.n_flows_tc)
assert_eq "no flow left in node1's kernel" 0 "$n"
# The kernel map itself: nothing tunnels to the removed peer.
rx1=$(ns_exec node2 ip -s link show u0 | awk '/RX:/ {getline; print $2}')
sleep 1
rx2=$(ns_exec node2 ip -s link show u0 | awk '/RX:/ {getline; print $2}')
[ $((rx2 - rx1)) -lt 200 ] || fail "node2 still receives $((rx2 - rx1)) packets/s after del-peer"
log "ok: node2 received $((rx2 - rx1)) packets in the second after del-peer"
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true     # its peer is gone: it would hang
