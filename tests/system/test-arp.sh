#!/usr/bin/env bash
# The switch answers ARP itself and never floods it: a third pod, listening, sees no ARP for
# the others' addresses (known, unknown, gratuitous) and no broadcast; an address that no pod
# holds gets no answer.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require tcpdump

add_node node 10.244.1.0/24
add_pods node 3

bg_start pod3 "$VSW_TMPDIR/tcpdump.log" tcpdump -i eth0 -nn -l -e 'arp or icmp or (ip and udp)'
wait_until 5 grep -q "listening on" "$VSW_TMPDIR/tcpdump.log" || fail "tcpdump did not start"
dump_pid=$BG_PID

ns_exec pod1 ip neigh flush dev eth0
ping_ok pod1 10.244.1.3                         # ARP for a pod: answered by the switch
ping_ok pod2 10.244.1.2
ping_ok pod1 10.244.1.1                         # ARP for the gateway
ping_ok node 10.244.1.2                         # the node's ARP through vsw0
ping_fails pod1 10.244.1.99                      # ARP for an address nobody holds
st=$(ns_exec pod1 ip -j neigh show 10.244.1.99 dev eth0 | jq -r '.[0].state[0] // "none"')
[ "$st" != REACHABLE ] && [ "$st" != STALE ] || fail "10.244.1.99 was resolved ($st): someone answered for it"
log "ok: nobody answers ARP for 10.244.1.99 (neighbour state $st)"
ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/pkt.py" garp eth0 "$(mac_of_ip 10.244.1.2)" 10.244.1.2 5 ||
    fail "garp failed"
ns_exec pod1 ping -n -q -b -c 3 -i 0.2 -W 1 10.244.1.255 >/dev/null 2>&1
ns_exec pod1 ping -n -q -b -c 2 -i 0.2 -W 1 255.255.255.255 >/dev/null 2>&1
sleep 0.5
kill "$dump_pid"; wait "$dump_pid" 2>/dev/null

# tcpdump's closing counts say "1 packet", not "1 packets": both are its summary, not traffic.
seen=$(grep -Ev '^tcpdump: |listening on|packets? (captured|received|dropped)|^$' "$VSW_TMPDIR/tcpdump.log")
[ -z "$seen" ] || fail "pod3 saw traffic that was not for it (flooded): $seen"
assert_eq "the switch sent pod3 nothing" 0 \
    "$(vsctl_on node --json show | jq -r '.ports[] | select(.name == "h-pod3") | .stats.tx_packets')"
log "ok: pod3 saw no ARP, broadcast or other pods' traffic"
