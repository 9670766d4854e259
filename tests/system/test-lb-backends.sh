#!/usr/bin/env bash
# Replacing a policy's backends mid-traffic (add-lb again without one of three), as a
# rollout does when a pod turns terminating and leaves its EndpointSlice:
#   - established TCP connections keep working, to the backends that remain and to the
#     removed one too (slow streams, a round trip every 0.1 s, never interrupted): its flow
#     pair stays until the connection closes or idles out (graceful removal, as kube-proxy);
#   - a UDP socket that was talking to the removed backend is balanced afresh on its next
#     datagram (no stale-UDP blackhole, kube-proxy #48370): its UDP pairs are gone;
#   - new connections only reach the remaining backends.
. "$(dirname "$0")/../lib/lib.sh"
preflight

VIP=10.96.0.10
add_lb_node 3 stream-server:9000 udp-server:5353
ping_ok client 10.244.1.11
assert_ok "add-lb tcp over three" vsctl_on node add-lb $VIP:9000/tcp \
    10.244.1.11:9000 10.244.1.12:9000 10.244.1.13:9000
assert_ok "add-lb udp over three" vsctl_on node add-lb $VIP:53/udp \
    10.244.1.11:5353 10.244.1.12:5353 10.244.1.13:5353

# A UDP socket that keeps asking: the backend it is balanced to is the one to remove.
stop=$VSW_TMPDIR/stop-udp
SVC_STOP=$stop bg_start client "$VSW_TMPDIR/ask.log" "$VSW_PY" "$VSW_SVC" udp-ask $VIP 53 30
wait_until 5 grep -Eq ' be[123]$' "$VSW_TMPDIR/ask.log" || fail "udp-ask got no answer"
gone=$(grep -Eo ' be[123]$' "$VSW_TMPDIR/ask.log" | head -1 | tr -d ' ')
gone_ip=10.244.1.1${gone#be}
keep=() keep_bk=()
for i in 1 2 3; do
    [ "be$i" = "$gone" ] && continue
    keep+=("be$i"); keep_bk+=("10.244.1.1$i")
done
log "the UDP socket talks to $gone: removing $gone ($gone_ip)"

# One slow stream to each backend, for 6 s.
bg_start client "$VSW_TMPDIR/streams.log" "$VSW_PY" "$VSW_SVC" streams $VIP 9000 3 6
wait_until 10 grep -q '^ready ' "$VSW_TMPDIR/streams.log" || fail "streams did not open"
assert_eq "one stream to each backend" "ready be1 be2 be3" "$(head -1 "$VSW_TMPDIR/streams.log")"
assert_eq "three established TCP flow pairs" 3 "$(flow_pairs node 'dport=9000\).*state=ESTABLISHED' | wc -l)"
sleep 1

assert_ok "add-lb replaces the policies without $gone" vsctl_on node add-lb $VIP:9000/tcp \
    "${keep_bk[0]}:9000" "${keep_bk[1]}:9000"
assert_ok "... and the UDP one" vsctl_on node add-lb $VIP:53/udp \
    "${keep_bk[0]}:5353" "${keep_bk[1]}:5353"
t_change_udp=$(date +%s.%N)
assert_eq "the TCP flow pair to $gone stays" 1 \
    "$(flow_pairs node "^flow-pair tcp,.*reply=\(src=${gone_ip//./\\.},.*state=ESTABLISHED" | wc -l)"
assert_eq "no UDP flow pair to $gone any more" "" \
    "$(flow_pairs node "^flow-pair udp,.*reply=\(src=${gone_ip//./\\.},")"

wait_until 15 grep -q "^$gone " "$VSW_TMPDIR/streams.log" || fail "streams did not finish"
wait_until 10 grep -q "^${keep[1]} " "$VSW_TMPDIR/streams.log" || fail "streams did not finish"
res=$(cat "$VSW_TMPDIR/streams.log"); log "streams: $(echo "$res" | tr '\n' ';')"
for b in "${keep[@]}"; do
    assert_match "the stream to $b (kept) survived the change" "^$b ok [0-9]+\$" "$res"
done
assert_match "the stream to $gone (removed) survived the change too" "^$gone ok [0-9]+\$" "$res"

# UDP: the socket's answers come from a remaining backend from the next datagram on.
sleep 1
touch "$stop"
after=$(awk -v t="$t_change_udp" '$1 ~ /^[0-9.]+$/ && $1 > t + 0.15 {print $2}' "$VSW_TMPDIR/ask.log" | sort | uniq -c)
log "UDP answers after the change: $(echo "$after" | tr '\n' ';')"
assert_no_match "no UDP answer from $gone after the change" " $gone\$" "$after"
assert_no_match "no UDP datagram lost after the change" " lost\$" "$after"
assert_match "UDP re-balanced to a remaining backend" " (${keep[0]}|${keep[1]})\$" "$after"

# New connections: only the remaining backends.
out=$(ns_exec client "$VSW_PY" "$VSW_SVC" streams $VIP 9000 3 0.1 30)
assert_eq "30 new connections reach only the remaining backends" \
    "ready ${keep[0]} ${keep[1]}" "$(head -1 <<<"$out")"
