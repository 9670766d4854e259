#!/usr/bin/env bash
# Two nodes on a VXLAN overlay (VNI 4242): node namespaces joined by a bridge in an underlay
# namespace, each running vswitchd with --node-ip and its own pod CIDR, each the other's peer.
# Pods on MTU 1450 reach each other across the nodes with ping, a hashed TCP transfer both ways,
# UDP datagrams up to the overlay's limit and beyond (fragmented by the pod), and iperf3 (pods
# keep their default offloads: 64 KiB GSO frames are cut to the overlay MTU) with every byte
# counted.  On the underlay, tcpdump sees VXLAN with VNI 4242 between the two node addresses in
# both directions and nothing else on the pods' addresses.  A pod left at MTU 1500 that sends a
# 1500-byte DF ping across gets "Frag needed ... mtu = 1450" from its gateway and learns the
# path MTU.  TCP data carries remote checksum offload (RCO) on the wire; a node restarted with
# --vxlan-rco off sends complete checksums and still accepts the other's partial ones.  The
# peers' counters follow the traffic.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require tcpdump

VNI=4242
add_underlay
add_overlay_node node1 1 --vni $VNI
add_overlay_node node2 2 --vni $VNI
peer_nodes node1 node2
N1=${VSW_NODE_IP[node1]} N2=${VSW_NODE_IP[node2]}
assert_match "show: overlay MTU 1450 on a 1500 underlay" \
    "node_ip=${N1//./\\.} vni=$VNI vxlan_port=4789 overlay_mtu=1450" "$(vsctl_on node1 show)"

add_pod node1 a 10.244.1.10
add_pod node2 b 10.244.2.10
add_pod node1 big 10.244.1.11          # stays at MTU 1500: the frag-needed case
for p in a b; do ip -n "$(ns $p)" link set eth0 mtu 1450 || fail "cannot set MTU 1450 in $p"; done

# --- VXLAN on the underlay, seen while the first pings cross --------------------------------
cap=$VSW_TMPDIR/underlay.txt
bg_start underlay "$cap" tcpdump -l -nn -i br0 -c 20 udp port 4789
tcpdump_pid=$BG_PID
wait_until 5 grep -q 'listening on br0' "$cap" || fail "tcpdump did not start: $(cat "$cap")"
ping_ok a 10.244.2.10
ping_ok b 10.244.1.10
wait_until 5 bash -c "[ \$(grep -c 'VXLAN' '$cap') -ge 20 ]" ||
    fail "tcpdump on the underlay saw only: $(cat "$cap")"
kill "$tcpdump_pid" 2>/dev/null
wait "$tcpdump_pid" 2>/dev/null
log "underlay capture:"; grep VXLAN "$cap" | head -4 | sed 's/^/    /'
assert_match "VXLAN node1 -> node2 with VNI $VNI" \
    "IP ${N1//./\\.}\.[0-9]+ > ${N2//./\\.}\.4789: VXLAN, flags \[I\] \(0x08\), vni $VNI\$" "$(cat "$cap")"
assert_match "VXLAN node2 -> node1 with VNI $VNI" \
    "IP ${N2//./\\.}\.[0-9]+ > ${N1//./\\.}\.4789: VXLAN, flags \[I\] \(0x08\), vni $VNI\$" "$(cat "$cap")"
assert_match "inner packet: the pods' own ICMP" \
    "IP 10\.244\.1\.10 > 10\.244\.2\.10: ICMP echo request" "$(cat "$cap")"
assert_eq "every VXLAN packet on the underlay carries VNI $VNI" 0 \
    "$(grep -E '> [0-9.]+\.4789: VXLAN' "$cap" | grep -vc "vni $VNI\$")"

# --- TCP, UDP ---------------------------------------------------------------------------------
tcp_xfer a b 10.244.2.10 $((12 << 20)) 7001
tcp_xfer b a 10.244.1.10 $((12 << 20)) 7002

# --- Remote checksum offload (--vxlan-rco) -----------------------------------------------------
# TCP data between the nodes leaves its inner checksum to the receiver: byte 1 of the VXLAN
# header carries the RCO flag (0x20), byte 7 the checksum's start, 34 / 2 = 0x11.  Restarted
# with --vxlan-rco off, node1 sends complete checksums (both bytes 0) and still takes node2's
# partial ones: the hashed transfers prove every byte arrived.
# rco_bytes CAP: bytes 1 and 7 of the VXLAN header of each datagram in a tcpdump -x capture.
rco_bytes() {
    awk 'function out() { if (h != "") print substr(h, 59, 2), substr(h, 71, 2); h = "" }
         /^[0-9]/ { out(); next } /0x[0-9a-f]+:/ { for (i = 2; i <= NF; i++) h = h $i }
         END { out() }' "$1"
}
# rco_during FROM_NODE_IP CAP XFER_ARGS...: captures 5 data datagrams from FROM_NODE_IP while
# tcp_xfer XFER_ARGS runs.
rco_during() {
    local from=$1 cap=$2; shift 2
    bg_start underlay "$cap" tcpdump -l -nn -x -i br0 -c 5 \
        "udp dst port 4789 and src host $from and greater 1000"
    local pid=$BG_PID
    wait_until 5 grep -q 'listening on br0' "$cap" || fail "tcpdump did not start: $(cat "$cap")"
    tcp_xfer "$@"
    wait_until 5 bash -c "[ \$(grep -c '^[0-9]' '$cap') -ge 5 ]" ||
        fail "no TCP data from $from on the underlay: $(cat "$cap")"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
# With the kernel fast path (the default) established TCP data is encapsulated by the kernel
# tier, which leaves the inner checksum to the device as the kernel's VXLAN does and never
# sets RCO: RCO is the user-space VXLAN port's, which then sends only a connection's first
# datagrams (before its flow is installed).  The transfers are hashed either way.
# rco_check DESC WANT CAP: the datagrams' RCO bytes are WANT (--offload none), or include the
# kernel tier's "00 00" and nothing but it and WANT (tc).
rco_check() {
    local got
    got=$(rco_bytes "$3" | sort -u | tr '\n' ' ')
    if [ "${VSW_OFFLOAD:-tc}" = none ]; then
        assert_eq "$1" "$2 " "$got"
    else
        assert_match "$1: the kernel tier's datagrams carry no RCO" "00 00" "$got"
        assert_eq "$1: nothing else" "" "$(echo "$got" | sed "s/00 00//; s/$2//; s/ //g")"
    fi
}
rco_during "$N1" "$VSW_TMPDIR/rco-on.txt" a b 10.244.2.10 $((4 << 20)) 7011
rco_check "node1 -> node2, RCO on: flag and start in every data datagram" "20 11" \
    "$VSW_TMPDIR/rco-on.txt"
stop_vswitchd node1
VSW_ARGS[node1]="${VSW_ARGS[node1]} --vxlan-rco off"
restart_vswitchd node1
rco_during "$N1" "$VSW_TMPDIR/rco-off.txt" a b 10.244.2.10 $((4 << 20)) 7012
assert_eq "node1 -> node2, RCO off: complete checksums" "00 00" \
    "$(rco_bytes "$VSW_TMPDIR/rco-off.txt" | sort -u)"
rco_during "$N2" "$VSW_TMPDIR/rco-mixed.txt" b a 10.244.1.10 $((4 << 20)) 7013
rco_check "node2 -> node1 still RCO, taken by node1 with RCO off" "20 11" \
    "$VSW_TMPDIR/rco-mixed.txt"
log "ok: RCO on the wire; a node with it off sends complete checksums and accepts partial ones"

udp_echo_server b 7003
out=$(ns_exec a "$VSW_PY" "$VSW_LIB_DIR/pkt.py" udp-echo-client 10.244.2.10 7003 \
      1 64 512 1422 1423 4000 30000 65507) || fail "UDP echo a -> b across nodes: $out"
log "ok: UDP echo across nodes, sizes 1..65507 (fragmented by the pod above 1422)"

# --- iperf3 with the byte count --------------------------------------------------------------
# iperf3 (3.12) closes its receiver's count when the client's TEST_END arrives, before the
# last bytes in flight are read, so sum_received falls short of sum_sent even on a bare veth.
# The byte count is checked at the receiving pod's eth0 instead: everything iperf3 wrote must
# have arrived there (headers and retransmissions only add to it).
iperf_server b 5201
rxb() { ns_exec "$1" cat /sys/class/net/eth0/statistics/rx_bytes; }
for dir in "" -R; do
    want=$((64 << 20))
    if [ -z "$dir" ]; then rcv=b; else rcv=a; fi
    rx0=$(rxb $rcv)
    js=$(ns_exec a timeout 40 iperf3 -c 10.244.2.10 -p 5201 -n $want -J $dir) ||
        fail "iperf3 -n $want $dir across nodes failed: $(echo "$js" | jq -r .error 2>/dev/null)"
    rx1=$(rxb $rcv)
    sent=$(echo "$js" | jq -r .end.sum_sent.bytes)
    rcvd=$(echo "$js" | jq -r .end.sum_received.bytes)
    gbps=$(echo "$js" | jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100')
    log "iperf3 $dir across nodes: $sent bytes sent, $gbps Gbit/s"
    assert_eq "iperf3 $dir: no error" "null" "$(echo "$js" | jq -r .error)"
    assert_ge "iperf3 $dir: the $want bytes asked for were sent" "$sent" $want
    # iperf3 stops its server at TEST_END with the last bytes still in flight, so eth0 is
    # held to what the server counted, not to what the client wrote.
    assert_ge "iperf3 $dir: $rcv's eth0 carried what the server received ($((rx1 - rx0)) bytes)" \
        $((rx1 - rx0)) "$rcvd"
    assert_ge "iperf3 $dir: the receiver counted most before TEST_END ($rcvd)" \
        "$rcvd" $((sent * 3 / 4))
done

# --- ICMP fragmentation needed -----------------------------------------------------------------
out=$(ns_exec big ping -n -M "do" -s 1472 -c 1 -W 2 10.244.2.10 2>&1)
log "ping -M do -s 1472 from a 1500-byte pod: $(echo "$out" | grep -m1 -i 'frag')"
assert_match "frag needed from the gateway with the overlay MTU" \
    "From 10\.244\.1\.1 icmp_seq=1 Frag needed and DF set \(mtu = 1450\)" "$out"
assert_match "the pod learned the path MTU" "mtu 1450" \
    "$(ns_exec big ip route get 10.244.2.10)"
out=$(ns_exec big ping -n -M "do" -s 1422 -c 2 -W 2 10.244.2.10 2>&1) ||
    fail "a 1450-byte DF ping across nodes did not come back: $out"
log "ok: a 1450-byte DF ping crosses"

# --- the peers' counters -------------------------------------------------------------------------
assert_ge "node1's peer node2: tx_bytes" "$(peer_stat node1 "$N2" tx_bytes)" $((12 << 20))
assert_ge "node1's peer node2: rx_bytes" "$(peer_stat node1 "$N2" rx_bytes)" $((12 << 20))
assert_ge "node2's peer node1: rx_packets" "$(peer_stat node2 "$N1" rx_packets)" 1000
assert_eq "no unknown-peer or bad-VNI drops" "0 0" \
    "$(drop_count node1 vxlan_unknown_peer) $(drop_count node2 vxlan_bad_vni)"
log "PASS"
