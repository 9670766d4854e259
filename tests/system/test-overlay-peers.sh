#!/usr/bin/env bash
# VXLAN is accepted only from declared peers with the right VNI.  Two nodes and a third
# namespace "rogue" on the same underlay that is nobody's peer; hand-made VXLAN frames
# (tests/lib/vxlan.py) carry an ICMP echo request for a pod on node 1, and the pod's own
# Icmp InEchos counter says whether it was delivered:
#   - from node 2 (a peer) with VNI 1: delivered (the control case);
#   - from rogue: dropped and counted as vxlan_unknown_peer (show, --json show, metrics);
#   - from node 2 with VNI 2: dropped and counted as vxlan_bad_vni;
#   - from node 2 after `del-peer`: now unknown, dropped; pod traffic to node 2's CIDR no longer
#     crosses, and `add-peer` brings it back.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

add_underlay
add_overlay_node node1 1
add_overlay_node node2 2
peer_nodes node1 node2
add_ns rogue
underlay_attach rogue 9
N1=${VSW_NODE_IP[node1]} N2=${VSW_NODE_IP[node2]}
add_pod node1 client 10.244.1.20
add_pod node2 b 10.244.2.10
for p in client b; do ip -n "$(ns $p)" link set eth0 mtu 1450 || fail "MTU of $p"; done
ping_ok client 10.244.2.10
ping_ok rogue "$N1"                  # the rogue namespace does reach node 1 on the underlay

in_echos() {
    # shellcheck disable=SC2016
    ns_exec client awk '$1 == "Icmp:" && !h {for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next}
                        $1 == "Icmp:" {print $c["InEchos"]}' /proc/net/snmp
}
# vxlan_from NS VNI COUNT: COUNT VXLAN frames from NS to node 1, each an ICMP echo request
# 10.244.2.99 -> the client pod, inner MACs as node 2's switch would write them.
vxlan_from() {
    ns_exec "$1" "$VSW_PY" "$VSW_LIB_DIR/vxlan.py" send "$N1" 4789 "$2" 0a:58:0a:f4:02:01 \
        0a:58:0a:f4:01:01 10.244.2.99 10.244.1.20 "$3" >/dev/null || fail "vxlan.py send from $1"
}
_echos_are() { [ "$(in_echos)" -eq "$1" ]; }
_drops_are() { [ "$(drop_count node1 "$1")" -eq "$2" ]; }
metric() {
    ns_exec node1 curl -s 127.0.0.1:9479/metrics | awk -v m="$1" '$1 == m {print $2}'
}

e0=$(in_echos)
vxlan_from node2 1 5
wait_until 5 _echos_are $((e0 + 5)) || fail "control: 5 echoes from peer node2, pod saw $(( $(in_echos) - e0 ))"
log "ok: VXLAN from a peer with VNI 1 is delivered (5 echoes)"

e0=$(in_echos)
u0=$(drop_count node1 vxlan_unknown_peer)
p0=$(peer_stat node1 "$N2" rx_packets)
vxlan_from rogue 1 7
wait_until 5 _drops_are vxlan_unknown_peer $((u0 + 7)) ||
    fail "from rogue: vxlan_unknown_peer $(drop_count node1 vxlan_unknown_peer), expected $((u0 + 7))"
log "ok: 7 frames from a non-peer counted as vxlan_unknown_peer"
sleep 0.3
assert_eq "none of them reached the pod" "$e0" "$(in_echos)"
assert_match "show lists the drop reason" "^drops: .*vxlan_unknown_peer=$((u0 + 7))" \
    "$(vsctl_on node1 show)"
assert_eq "metrics: vswitch_drops_total{reason=\"vxlan_unknown_peer\"}" $((u0 + 7)) \
    "$(metric 'vswitch_drops_total{reason="vxlan_unknown_peer"}')"
assert_eq "not counted as the peer's traffic" "$p0" "$(peer_stat node1 "$N2" rx_packets)"

e0=$(in_echos)
b0=$(drop_count node1 vxlan_bad_vni)
vxlan_from node2 2 3
wait_until 5 _drops_are vxlan_bad_vni $((b0 + 3)) ||
    fail "from node2 with VNI 2: vxlan_bad_vni $(drop_count node1 vxlan_bad_vni), expected $((b0 + 3))"
log "ok: 3 frames from a peer with the wrong VNI counted as vxlan_bad_vni"
sleep 0.3
assert_eq "none of them reached the pod" "$e0" "$(in_echos)"

# del-peer: node 2 becomes unknown; add-peer: back.
assert_ok "del-peer node2" vsctl_on node1 del-peer "$N2"
u0=$(drop_count node1 vxlan_unknown_peer)
e0=$(in_echos)
vxlan_from node2 1 4
wait_until 5 _drops_are vxlan_unknown_peer $((u0 + 4)) ||
    fail "after del-peer: vxlan_unknown_peer $(drop_count node1 vxlan_unknown_peer), expected $((u0 + 4))"
sleep 0.3
assert_eq "after del-peer, node2's frames no longer reach the pod" "$e0" "$(in_echos)"
ping_fails client 10.244.2.10
assert_ok "add-peer node2 again" vsctl_on node1 add-peer "$N2" 10.244.2.0/24
ping_ok client 10.244.2.10
e0=$(in_echos)
vxlan_from node2 1 2
wait_until 5 _echos_are $((e0 + 2)) || fail "after add-peer: node2's frames not delivered"
log "ok: after add-peer, node2's frames are delivered again"
log "PASS"
