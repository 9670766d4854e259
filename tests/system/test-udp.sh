#!/usr/bin/env bash
# UDP through the switch: datagrams of every size come back intact (including ones the sender
# fragments), and an iperf3 UDP stream arrives.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pods node 2
ping_ok pod1 10.244.1.3

udp_echo_server pod2 7002
out=$(ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/pkt.py" udp-echo-client 10.244.1.3 7002 \
      1 18 64 512 1472 1473 4000 8972 30000 65507) || fail "UDP echo pod1 -> pod2: $out"
log "ok: UDP echo pod1 <-> pod2, sizes 1..65507 (fragmented above 1472)"
out=$(ns_exec node "$VSW_PY" "$VSW_LIB_DIR/pkt.py" udp-echo-client 10.244.1.3 7002 \
      1 1472 8000) || fail "UDP echo node -> pod2: $out"
log "ok: UDP echo node <-> pod2"

# iperf3 UDP, a modest rate both ways: the stream is received (loss is allowed on a busy
# machine, but most of it arrives).
iperf_server pod2 5201
for r in "" "-R"; do
    js=$(ns_exec pod1 timeout 30 iperf3 -c 10.244.1.3 -p 5201 -u -b 200M -l 1400 -t 2 -J $r) ||
        fail "iperf3 -u $r failed: $(echo "$js" | jq -r .error 2>/dev/null)"
    pk=$(echo "$js" | jq -r '.end.sum.packets')
    lost=$(echo "$js" | jq -r '.end.sum.lost_packets')
    assert_ge "iperf3 -u $r: packets sent" "$pk" 1000
    assert_ge "iperf3 -u $r: at least 80% received ($lost of $pk lost)" $((pk * 8 / 10)) "$lost"
done
