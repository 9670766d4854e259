#!/usr/bin/env bash
# Malformed frames from a pod (raw AF_PACKET socket): runts, bad IHL, bad total length, bad
# version, truncated TCP/UDP/ICMP.  Each is dropped and counted under its reason in
# `vsctl show`, none reaches the other pod, and traffic that runs at the same time (ping and a
# TCP transfer) keeps flowing.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require tcpdump

N=50
add_node node 10.244.1.0/24
add_pods node 2
ping_ok pod1 10.244.1.3
dmac=$(neigh_mac pod1 10.244.1.3)
[ -n "$dmac" ] || fail "pod1 has no neighbour entry for pod2 after a ping"

bad_ip0=$(drop_count node bad_ip_header)
bad_l40=$(drop_count node bad_l4_header)
runt0=$(drop_count node runt_frame)
eth0_=$(drop_count node unsupported_ethertype)

# Capture everything pod2 receives while the malformed frames fly.
bg_start pod2 "$VSW_TMPDIR/tcpdump.log" tcpdump -i eth0 -nn -U -s 256 -w "$VSW_TMPDIR/pod2.pcap"
wait_until 5 grep -q "listening on" "$VSW_TMPDIR/tcpdump.log" || fail "tcpdump did not start"
dump_pid=$BG_PID

# Concurrent good traffic: a ping train and a TCP transfer.
bg_start pod1 "$VSW_TMPDIR/ping.log" ping -n -i 0.02 -c 150 -W 2 10.244.1.3
ping_pid=$BG_PID
bg_start pod2 "$VSW_TMPDIR/xfer-srv.log" "$VSW_PY" "$VSW_LIB_DIR/pkt.py" xfer-server 7001
wait_until 5 _vsw_listening pod2 7001 || fail "xfer server did not start"
bg_start pod1 "$VSW_TMPDIR/xfer-cli.log" "$VSW_PY" "$VSW_LIB_DIR/pkt.py" xfer-client 10.244.1.3 7001 $((256 * 1024 * 1024))
xfer_pid=$BG_PID

out=$(ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/pkt.py" malformed eth0 "$(mac_of_ip 10.244.1.2)" \
      "$dmac" 10.244.1.2 10.244.1.3 $N 2>&1) || fail "sending malformed frames failed: $out"
log "sent from pod1: $(echo "$out" | tr '\n' ' ')"

wait "$ping_pid"
wait "$xfer_pid"; xfer_rc=$?
sleep 0.5
kill "$dump_pid"; wait "$dump_pid" 2>/dev/null

assert_eq "the TCP transfer during the storm finished" 0 "$xfer_rc"
wait_until 10 grep -Eq '^[0-9]+ ' "$VSW_TMPDIR/xfer-srv.log"
assert_eq "the TCP transfer's bytes arrived intact" "$(cat "$VSW_TMPDIR/xfer-cli.log")" \
    "$(grep -E '^[0-9]+ ' "$VSW_TMPDIR/xfer-srv.log")"
rcvd=$(grep -Eo '[0-9]+ received' "$VSW_TMPDIR/ping.log" | grep -Eo '^[0-9]+')
assert_ge "pings answered during the storm (of 150)" "${rcvd:-0}" 145

# 7 kinds of bad IPv4 header, 4 kinds of truncated L4 header (tests/lib/pkt.py malformed).
d_ip=$(( $(drop_count node bad_ip_header) - bad_ip0 ))
d_l4=$(( $(drop_count node bad_l4_header) - bad_l40 ))
d_runt=$(( $(drop_count node runt_frame) - runt0 ))
d_eth=$(( $(drop_count node unsupported_ethertype) - eth0_ ))
log "drop counter deltas: bad_ip_header=$d_ip bad_l4_header=$d_l4 runt_frame=$d_runt unsupported_ethertype=$d_eth"
assert_ge "bad_ip_header counts the bad IPv4 headers" "$d_ip" $((6 * N))
assert_ge "bad_l4_header counts the truncated TCP/UDP/ICMP headers" "$d_l4" $((4 * N))
assert_ge "every malformed frame is counted" $((d_ip + d_l4 + d_runt + d_eth)) $((11 * N))

res=$("$VSW_PY" "$VSW_LIB_DIR/pkt.py" pcap-bad "$VSW_TMPDIR/pod2.pcap")
log "pod2 capture: $res"
assert_match "no malformed frame reached pod2" '^bad=0 ' "$res"
assert_ok "the switch is still running" vswitchd_alive node
ping_ok pod1 10.244.1.3
