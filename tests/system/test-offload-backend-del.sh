#!/usr/bin/env bash
# A backend removed while its flows are in the kernel: an iperf3 (TCP) and a UDP stream go
# through VIPs to be1, their flows installed (dp=tc); then both policies are replaced by ones
# with be2 only.  The kernel tier follows what user space decides about be1's flow pairs (the
# graceful-removal rules, lb_keeps_connection()): the moment `add-lb` returns, no dp=tc flow
# translates to be1 unless its flow pair is still there; the established TCP connection keeps
# its pair, is back in the kernel at once and iperf3 completes; the UDP pair is gone, no
# datagram reaches be1 any more and the stream goes on to be2.
. "$(dirname "$0")/../lib/lib.sh"
preflight
VSW_OFFLOAD=tc      # this test is about the fast path, whatever the run asks
require iperf3 jq tcpdump

add_lb_node 2 iperf:5201 udp-echo:7001
ping_ok client 10.244.1.11
ping_ok client 10.244.1.12
assert_ok "add-lb TCP to be1" vsctl_on node add-lb 10.96.0.10:5201/tcp 10.244.1.11:5201
assert_ok "add-lb UDP to be1" vsctl_on node add-lb 10.96.0.11:7001/udp 10.244.1.11:7001

# A UDP stream from one socket: 100 datagrams a second for 8 s, answers counted per backend
# address as the switch un-DNATs them (all from the VIP), so count answers alone.
bg_start client "$VSW_TMPDIR/udp.log" "$VSW_PY" -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("10.96.0.11", 7001)); s.setblocking(False)
got = 0; end = time.time() + 8
while time.time() < end:
    s.send(b"x" * 64)
    time.sleep(0.01)
    try:
        while True:
            s.recv(2048); got += 1
    except BlockingIOError:
        pass
print("answers", got, flush=True)'
udp_pid=$BG_PID
bg_start client "$VSW_TMPDIR/iperf.json" iperf3 -c 10.96.0.10 -p 5201 -t 8 -b 300M -J
iperf_pid=$BG_PID

# tc_to BACKEND PORT: dp=tc flows whose actions translate to BACKEND:PORT.
tc_to() {
    vsctl_on node --json dump-flows |
        jq --arg b "dst=$1:$2" '[.flows[] | select(.dp == "tc" and (.actions | contains($b)))] | length'
}
pairs_to() {
    vsctl_on node --json dump-flows |
        jq --arg b "$1" --argjson p "$2" '[.flow_pairs[] | select(.reply.src == $b and .reply.sport == $p)] | length'
}
# has_tc_to BACKEND PORT: at least one such flow (for wait_until, which runs it again).
has_tc_to() { [ "$(tc_to "$1" "$2")" -ge 1 ]; }
both_in_kernel() { [ "$(tc_to 10.244.1.11 5201)" -ge 1 ] && [ "$(tc_to 10.244.1.11 7001)" -ge 1 ]; }
wait_until 5 both_in_kernel || fail "be1's flows not in the kernel: $(vsctl_on node dump-flows)"
log "ok: TCP and UDP flows to be1 are dp=tc"

assert_ok "replace the TCP policy by be2 alone" vsctl_on node add-lb 10.96.0.10:5201/tcp 10.244.1.12:5201
assert_ok "replace the UDP policy by be2 alone" vsctl_on node add-lb 10.96.0.11:7001/udp 10.244.1.12:7001
udp_pairs=$(pairs_to 10.244.1.11 7001) udp_tc=$(tc_to 10.244.1.11 7001)
tcp_pairs=$(pairs_to 10.244.1.11 5201) tcp_tc=$(tc_to 10.244.1.11 5201)
log "right after: to be1 TCP $tcp_pairs pair(s), $tcp_tc dp=tc; UDP $udp_pairs pair(s), $udp_tc dp=tc"
assert_eq "UDP flow pairs to the removed backend" 0 "$udp_pairs"
assert_eq "dp=tc UDP flows to the removed backend" 0 "$udp_tc"
[ "$tcp_pairs" -gt 0 ] || [ "$tcp_tc" -eq 0 ] ||
    fail "TCP flows to be1 stay in the kernel without their flow pair"
log "ok: the kernel keeps TCP flows to be1 only with their pair"
assert_ge "established TCP flow pairs to be1 kept" "$tcp_pairs" 1
wait_until 5 has_tc_to 10.244.1.11 5201 ||
    fail "the established TCP connection to be1 is not back in the kernel: $(vsctl_on node dump-flows)"
log "ok: the established TCP connection to be1 is dp=tc again"

bg_start be1 "$VSW_TMPDIR/be1.log" tcpdump -i eth0 -nn -U -w "$VSW_TMPDIR/be1.pcap" udp port 7001
dump_pid=$BG_PID
wait_until 5 grep -q "listening on" "$VSW_TMPDIR/be1.log" || fail "tcpdump did not start"
sleep 1.5
kill "$dump_pid"; wait "$dump_pid" 2>/dev/null
n=$(tcpdump -nn -r "$VSW_TMPDIR/be1.pcap" 2>/dev/null | wc -l)
assert_eq "UDP datagrams reaching be1 after its removal" 0 "$n"
wait_until 5 has_tc_to 10.244.1.12 7001 ||
    fail "the UDP stream did not go on to be2 in the kernel: $(vsctl_on node dump-flows)"
log "ok: the UDP stream goes on to be2, dp=tc"

wait "$udp_pid"
wait "$iperf_pid" || fail "iperf3 through the removed backend broke: $(jq -r .error "$VSW_TMPDIR/iperf.json")"
log "ok: iperf3 to be1 completed; UDP client: $(cat "$VSW_TMPDIR/udp.log")"
