#!/usr/bin/env bash
# Port security: a pod port accepts only its own MAC and IP as source.  pod1 sends ICMP to
# pod3 with pod2's IP, then with pod2's MAC and IP, then with its MAC but a random address, and
# finally claims pod2's IP in gratuitous ARP.  Nothing reaches pod3, the drops are counted, and
# pod1's own traffic and pod3 <-> pod2 keep working.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require tcpdump

N=20
add_node node 10.244.1.0/24
add_pods node 3
ping_ok pod1 10.244.1.4
ping_ok pod3 10.244.1.3
dmac=$(neigh_mac pod1 10.244.1.4)
[ -n "$dmac" ] || fail "pod1 has no neighbour entry for pod3 after a ping"
mac1=$(mac_of_ip 10.244.1.2) mac2=$(mac_of_ip 10.244.1.3)

ip0=$(drop_count node spoofed_src_ip)
mac0=$(drop_count node spoofed_src_mac)

bg_start pod3 "$VSW_TMPDIR/tcpdump.log" tcpdump -i eth0 -nn -U -s 256 -w "$VSW_TMPDIR/pod3.pcap" icmp
wait_until 5 grep -q "listening on" "$VSW_TMPDIR/tcpdump.log" || fail "tcpdump did not start"
dump_pid=$BG_PID

send() { ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/pkt.py" icmp eth0 "$@" $N || fail "send $* failed"; }
send "$mac1" "$dmac" 10.244.1.3 10.244.1.4        # pod2's IP
sleep 0.3
d=$(( $(drop_count node spoofed_src_ip) - ip0 ))
assert_ge "spoofed_src_ip counts pod2's IP sent from pod1" "$d" $N

send "$mac2" "$dmac" 10.244.1.3 10.244.1.4        # pod2's MAC and IP
send "$mac2" "$dmac" 10.244.1.2 10.244.1.4        # pod2's MAC, pod1's IP
sleep 0.3
d=$(( $(drop_count node spoofed_src_mac) + $(drop_count node spoofed_src_ip) - mac0 - ip0 ))
assert_ge "spoofed frames with pod2's MAC are counted" "$d" $((3 * N))

send "$mac1" "$dmac" 10.99.0.7 10.244.1.4         # an address from nowhere
send "$mac1" "$dmac" 10.244.1.1 10.244.1.4        # the gateway's address
sleep 0.3
d=$(( $(drop_count node spoofed_src_ip) - ip0 ))
assert_ge "spoofed_src_ip counts foreign and gateway source addresses" "$d" $((3 * N))

# Gratuitous ARP claiming pod2's address (and the gateway's).
ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/pkt.py" garp eth0 "$mac1" 10.244.1.3 10 || fail "garp failed"
ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/pkt.py" garp eth0 "$mac1" 10.244.1.1 10 || fail "garp failed"
sleep 0.5
kill "$dump_pid"; wait "$dump_pid" 2>/dev/null

res=$("$VSW_PY" "$VSW_LIB_DIR/pkt.py" pcap-bad "$VSW_TMPDIR/pod3.pcap")
log "pod3 capture: $res"
assert_match "no spoofed ICMP reached pod3" ' marked=0 ' "$res"

# pod3 still reaches pod2 (not pod1) and the gateway; pod1's own traffic still passes.
ns_exec pod3 ip neigh flush dev eth0
ping_ok pod3 10.244.1.3
n=$(neigh_mac pod3 10.244.1.3)
[ "$n" != "$mac1" ] || fail "pod3 resolved pod2's address to pod1's MAC: ARP spoofing worked"
log "ok: pod3 resolves pod2 to $n, not to pod1's MAC"
ping_ok pod3 10.244.1.1
ping_ok pod1 10.244.1.4
ping_ok pod1 10.244.1.3
