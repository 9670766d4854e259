#!/usr/bin/env bash
# Spoofed traffic is never offloaded: pod1's own UDP flow to pod3:7001 is installed in the
# kernel (dp=tc), then pod1 sends the same ports with pod2's IP, with pod2's MAC and IP, and
# with an address from nowhere.  The kernel's exact match (in-port, MACs, addresses) never
# takes them for the installed flow: every one goes up, is dropped and counted by port
# security, none reaches pod3, and no dp=tc flow carries a source that is not pod1's.
. "$(dirname "$0")/../lib/lib.sh"
preflight
VSW_OFFLOAD=tc      # this test is about the fast path, whatever the run asks
require tcpdump jq

N=30
add_node node 10.244.1.0/24
add_pods node 3
ping_ok pod1 10.244.1.4
dmac=$(neigh_mac pod1 10.244.1.4)
[ -n "$dmac" ] || fail "pod1 has no neighbour entry for pod3 after a ping"
mac1=$(mac_of_ip 10.244.1.2) mac2=$(mac_of_ip 10.244.1.3)

bg_start pod3 "$VSW_TMPDIR/tcpdump.log" tcpdump -i eth0 -nn -U -s 128 -w "$VSW_TMPDIR/pod3.pcap" udp
wait_until 5 grep -q "listening on" "$VSW_TMPDIR/tcpdump.log" || fail "tcpdump did not start"
dump_pid=$BG_PID

# udp SMAC SIP COUNT: UDP 40000 -> 10.244.1.4:7001 from pod1's eth0 with these sources.
udp() {
    ns_exec pod1 "$VSW_PY" - "$VSW_LIB_DIR" "$1" "$dmac" "$2" "$3" <<'PY' || fail "send UDP $*"
import struct, sys
sys.path.insert(0, sys.argv[1])
import pkt
smac, dmac, sip, n = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
payload = b"vswitch-offload-spoof"
udp = struct.pack("!HHHH", 40000, 7001, 8 + len(payload), 0) + payload
frame = pkt.eth(dmac, smac, 0x0800) + pkt.ipv4(sip, "10.244.1.4", 17, udp)
pkt.send_all(pkt.raw_socket("eth0"), [frame], n, gap=0.002)
PY
}

tc_sources() {
    vsctl_on node --json dump-flows |
        jq -r '.flows[] | select(.dp == "tc") | .match' | grep -Eo 'nw_src=[0-9.]+' | sort -u
}
has_own_tc_flow() { tc_sources | grep -qx 'nw_src=10.244.1.2'; }

udp "$mac1" 10.244.1.2 $N
wait_until 5 has_own_tc_flow || fail "pod1's UDP flow was not offloaded: $(vsctl_on node dump-flows)"
log "ok: pod1's own UDP flow is dp=tc"

ip0=$(drop_count node spoofed_src_ip)
mac0=$(drop_count node spoofed_src_mac)
udp "$mac1" 10.244.1.3 $N         # pod2's IP
udp "$mac2" 10.244.1.3 $N         # pod2's MAC and IP
udp "$mac1" 10.99.0.7 $N          # an address from nowhere
sleep 0.5
d=$(( $(drop_count node spoofed_src_ip) + $(drop_count node spoofed_src_mac) - ip0 - mac0 ))
assert_ge "port security dropped every spoofed datagram" "$d" $((3 * N))
assert_eq "sources of the dp=tc flows" "nw_src=10.244.1.2" "$(tc_sources | tr '\n' ' ' | sed 's/ $//')"

kill "$dump_pid"; wait "$dump_pid" 2>/dev/null
own=$(tcpdump -nn -r "$VSW_TMPDIR/pod3.pcap" 'udp and src 10.244.1.2' 2>/dev/null | wc -l)
spoofed=$(tcpdump -nn -r "$VSW_TMPDIR/pod3.pcap" 'udp and not src 10.244.1.2' 2>/dev/null | wc -l)
assert_ge "pod1's own datagrams reached pod3" "$own" $N
assert_eq "spoofed datagrams that reached pod3" 0 "$spoofed"
