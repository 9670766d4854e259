#!/usr/bin/env bash
# Bulk TCP through a VIP with the pods' offloads on (64 KiB GSO frames with partial checksums
# are DNAT'd and un-DNAT'd): iperf3 -n both ways completes with the right byte count, through a
# single-backend VIP, through a three-backend VIP with affinity (iperf3's control and data
# connections must meet on one server) and port translation (80 -> 5201), and through a
# non-DSR VIP; a 256 MiB transfer arrives intact (SHA-256 at both ends).
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_lb_node 3 iperf:5201
ping_ok client 10.244.1.11
assert_ok "add-lb single backend" vsctl_on node add-lb 10.96.0.10:5201/tcp 10.244.1.11:5201
assert_ok "add-lb three backends, affinity, 80 -> 5201" vsctl_on node add-lb 10.96.0.11:80/tcp \
    10.244.1.11:5201 10.244.1.12:5201 10.244.1.13:5201 --affinity-timeout 60
assert_ok "add-lb non-DSR" vsctl_on node add-lb 10.96.0.12:5201/tcp 10.244.1.12:5201 --no-dsr
assert_ok "add-lb for the SHA-256 transfer" vsctl_on node add-lb 10.96.0.13:7001/tcp \
    10.244.1.13:7001

bytes=$((200 * 1024 * 1024))
recv10=0
for t in "10.96.0.10 5201" "10.96.0.10 5201 -R" "10.96.0.11 80" "10.96.0.11 80 -R -P 4" \
         "10.96.0.12 5201" "10.96.0.12 5201 -R"; do
    # shellcheck disable=SC2086
    set -- $t
    vip=$1 port=$2; shift 2
    js=$(ns_exec client timeout 40 iperf3 -c "$vip" -p "$port" -n $bytes -J "$@") ||
        fail "iperf3 -c $vip -p $port $*: $(echo "$js" | jq -r .error 2>/dev/null)"
    read -r sent recv gbps < <(echo "$js" | jq -r '"\(.end.sum_sent.bytes) \(.end.sum_received.bytes) \(.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100)"')
    assert_ge "iperf3 via $vip:$port${*:+ $*}: bytes sent" "$sent" $bytes
    assert_ge "iperf3 via $vip:$port${*:+ $*}: bytes received (of $sent, $gbps Gbit/s)" "$recv" \
        $((sent * 9 / 10))
    [ "$vip" = 10.96.0.10 ] && recv10=$((recv10 + recv))
done
pk=$(policy_stat node 10.96.0.10:5201/tcp packets)
by=$(policy_stat node 10.96.0.10:5201/tcp bytes)
# (iperf3 -n: the sender's last bytes may be cut by the receiver's close; count what arrived.)
assert_ge "the policy counted the bytes of both transfers" "$by" $recv10
log "policy 10.96.0.10:5201: $pk packets, $by bytes (a GSO frame counts as one packet)"

tcp_xfer client be3 10.96.0.13 $((256 * 1024 * 1024)) 7001
