#!/usr/bin/env bash
# UDP through a DSR VIP: datagrams of every size come back intact from the VIP (the larger ones
# fragmented by the sender, every fragment to the same backend), the backends see the client's
# own address, new sockets are spread over the backends, and a UDP flow pair shows both
# directions.
. "$(dirname "$0")/../lib/lib.sh"
preflight

VIP=10.96.0.53
add_lb_node 3 udp-server:5353 udp-echo:7002
ping_ok client 10.244.1.11
assert_ok "add-lb $VIP:53/udp" vsctl_on node add-lb $VIP:53/udp \
    10.244.1.11:5353 10.244.1.12:5353 10.244.1.13:5353
assert_ok "add-lb $VIP:7/udp" vsctl_on node add-lb $VIP:7/udp \
    10.244.1.11:7002 10.244.1.12:7002 10.244.1.13:7002
assert_match "UDP policy: protocol 17" '^LB_DSR_[0-9A-F]{5}_10\.96\.0\.53_53_17$' \
    "$(vsctl_on node --json dump-policies | jq -r '.policies[].name')"

# Echo through the VIP: the answer must come from VIP:7 (a connected socket only accepts
# that), intact, fragmented sizes included.
out=$(ns_exec client "$VSW_PY" "$VSW_LIB_DIR/pkt.py" udp-echo-client $VIP 7 \
      1 18 64 512 1472 1473 4000 8972 30000) || fail "UDP echo through the VIP: $out"
log "ok: UDP echo through $VIP:7, sizes 1..30000 (fragmented above 1472)"

# 45 sockets (45 source ports), one datagram each: spread over the backends.
# shellcheck disable=SC2016
out=$(ns_exec client bash -c 'for i in $(seq 45); do
    "$1" "$2" udp-ask '$VIP' 53 0.01 1 | grep -v "^sport"; done' _ "$VSW_PY" "$VSW_SVC")
lost=$(echo "$out" | grep -vc ' be[123]$')
assert_eq "45 datagrams to $VIP:53 from 45 sockets answered" 0 "$lost"
for i in 1 2 3; do
    assert_ge "be$i answered its share of the 45 sockets" "$(echo "$out" | grep -c " be$i\$")" 4
done
peers=$(ns_exec client "$VSW_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.connect((sys.argv[1], 53)); s.send(b"x"); print(s.recv(100).decode())' $VIP)
assert_match "the backend saw the client's own address" '^be[123] 10\.244\.1\.20 [0-9]+$' "$peers"

# The flow pair of a live socket: both directions, the reply from a backend to the client.
bg_start client "$VSW_TMPDIR/ask.log" "$VSW_PY" "$VSW_SVC" udp-ask $VIP 53 3
wait_until 5 grep -q ' be[123]$' "$VSW_TMPDIR/ask.log" || fail "udp-ask got no answer"
sport=$(awk '/^sport/ {print $2}' "$VSW_TMPDIR/ask.log")
pair=$(flow_pairs node "orig=\(src=10\.244\.1\.20,dst=10\.96\.0\.53,sport=$sport,dport=53\)")
log "flow pair: $pair"
assert_match "UDP flow pair, reply from a backend to the client" \
    "^flow-pair udp,.*reply=\(src=10\.244\.1\.1[123],dst=10\.244\.1\.20,sport=5353,dport=$sport\),.*dsr=yes" \
    "$pair"
assert_match "the pair counts both directions" 'packets=[1-9][0-9]*/[1-9][0-9]*' "$pair"
