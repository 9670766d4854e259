#!/usr/bin/env bash
# TCP through the switch with the pods' default offloads left on (TSO, checksum offload:
# 64 KiB GSO frames with partial checksums cross the switch as they are).  iperf3 both ways
# pod <-> pod and node -> pod, and a transfer whose bytes are counted and hashed at both ends.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pods node 2

for p in pod1 pod2; do
    k=$(ns_exec $p ethtool -k eth0)
    assert_match "$p keeps TSO on" '^tcp-segmentation-offload: on' "$k"
    assert_match "$p keeps tx checksum offload on" '^tx-checksumming: on' "$k"
done
ping_ok pod1 10.244.1.3

# iperf3 -n: the transfer must finish.  (iperf3's receiver total may be read before the last
# segments are: it is checked loosely here; the exact count is the SHA-256 transfer's job.)
iperf_server pod2 5201
iperf_server pod1 5201
iperf_bytes() { # NS DST ARGS...: prints "sent received gbits" of the receiver's side
    local n=$1 dst=$2 js; shift 2
    js=$(ns_exec "$n" timeout 30 iperf3 -c "$dst" -p 5201 -n 200M -J "$@") || {
        echo "iperf3 failed: $(echo "$js" | jq -r .error 2>/dev/null)"; return 1; }
    echo "$js" | jq -r '"\(.end.sum_sent.bytes) \(.end.sum_received.bytes) \(.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100)"'
}
for dir in "pod1 10.244.1.3" "pod1 10.244.1.3 -R" "pod2 10.244.1.2" "node 10.244.1.2"; do
    # shellcheck disable=SC2086
    r=$(iperf_bytes $dir) || fail "iperf3 $dir: $r"
    read -r sent recv gbps <<<"$r"
    assert_ge "iperf3 $dir: bytes sent" "$sent" $((200 * 1024 * 1024))
    assert_ge "iperf3 $dir: bytes received (of $sent, $gbps Gbit/s)" "$recv" $((sent * 9 / 10))
done

# Exact byte count and content: 256 MiB each way, SHA-256 at both ends.
tcp_xfer pod1 pod2 10.244.1.3 $((256 * 1024 * 1024))
tcp_xfer pod2 pod1 10.244.1.2 $((256 * 1024 * 1024))
