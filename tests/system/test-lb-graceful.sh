#!/usr/bin/env bash
# Graceful endpoint removal across the overlay, driven by vswitch-proxy from EndpointSlices
# (issue 15): a client pod on node1, two backends on node2, a DSR Service.  While one slow
# stream runs to each backend (a round trip every 0.1 s), be1 turns terminating (ready false,
# serving and terminating true) and then leaves the EndpointSlice, as in a rolling update.
# Both streams run to their end: the client's node keeps its dispatch entry and the backend's
# node its flow pair for be1 (TCP is kept until it closes or idles out, as kube-proxy keeps
# its conntrack entries), while every new connection goes to be2.  A UDP socket that was
# talking to be1 moves to be2 at its next datagram (UDP pairs of a backend that leaves go).
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight

VIP=10.96.0.10
add_underlay
add_overlay_node node1 1
add_overlay_node node2 2
add_pod node1 client 10.244.1.20
add_backends node2 2 stream-server:9000 udp-server:5353
for p in client be1 be2; do ip -n "$(ns $p)" link set eth0 mtu 1450; done

k8s_start node1
k8sctl node node1 --ip "${VSW_NODE_IP[node1]}" --cidr 10.244.1.0/24
k8sctl node node2 --ip "${VSW_NODE_IP[node2]}" --cidr 10.244.2.0/24
k8sctl service default app --ip $VIP --port tcp:9000/TCP --port dns:53/UDP
slice() { # slice BE1_CONDITIONS: the slice with be1 as given (or absent: "gone") and be2 ready
    local eps=(--ep 10.244.2.12,node=node2)
    [ "$1" != gone ] && eps+=(--ep "10.244.2.11,node=node2$1")
    k8sctl slice default app-a --service app --port tcp:9000/TCP --port dns:5353/UDP "${eps[@]}"
}
slice ""
proxy_start node1 --sync-period 2s
proxy_start_in node1 node2 --healthz-bind-address 127.0.0.1:20256 \
    --metrics-bind-address 127.0.0.1:20249 --sync-period 2s
wait_synced node1
both="$VIP:9000/tcp k8s:default/app:tcp dsr=true aff=0 10.244.2.11:9000,10.244.2.12:9000"
only_be2="$VIP:9000/tcp k8s:default/app:tcp dsr=true aff=0 10.244.2.12:9000"
for n in node1 node2; do wait_policy $n $VIP:9000/tcp "$both" 15; done

# A UDP socket that keeps asking, until it talks to be1.
stop=$VSW_TMPDIR/stop-udp
for try in 1 2 3 4 5 6 7 8; do
    rm -f "$stop"
    SVC_STOP=$stop bg_start client "$VSW_TMPDIR/ask$try.log" "$VSW_PY" "$VSW_SVC" udp-ask $VIP 53 40
    wait_until 5 grep -Eq ' be[12]$' "$VSW_TMPDIR/ask$try.log" || fail "udp-ask got no answer"
    ask=$VSW_TMPDIR/ask$try.log
    grep -Eq ' be1$' "$ask" && break
    touch "$stop"
done
grep -Eq ' be1$' "$ask" || fail "no UDP socket was balanced to be1 in 8 tries"

# One slow stream to each backend, for 9 s.
slog=$VSW_TMPDIR/streams.log
bg_start client "$slog" "$VSW_PY" "$VSW_SVC" streams $VIP 9000 2 9
wait_until 10 grep -q '^ready ' "$slog" || fail "streams did not open: $(cat "$slog")"
assert_eq "one stream to each backend" "ready be1 be2" "$(head -1 "$slog")"
sleep 1

# be1 turns terminating: the proxy takes it out of the policy (be2 is ready).
slice ",ready=false,serving=true,terminating=true"
for n in node1 node2; do wait_policy $n $VIP:9000/tcp "$only_be2"; done
t_udp=$(date +%s.%N)
assert_eq "node1 keeps its dispatch entry for the stream to be1" 1 \
    "$(vsctl_on node1 dump-flows | grep -c '^dispatch tcp,.*backend=10\.244\.2\.11:9000,.*state=ESTABLISHED')"
assert_eq "node2 keeps the flow pair of the stream to be1" 1 \
    "$(flow_pairs node2 '^flow-pair tcp,.*reply=\(src=10\.244\.2\.11,.*state=ESTABLISHED' | wc -l)"
out=$(ns_exec client "$VSW_PY" "$VSW_SVC" streams $VIP 9000 2 0.1 20)
assert_eq "20 new connections while be1 is terminating: all to be2" "ready be2" "$(head -1 <<<"$out")"
sleep 2

# ... and then leaves the EndpointSlice.
slice gone
sleep 3
out=$(ns_exec client "$VSW_PY" "$VSW_SVC" streams $VIP 9000 2 0.1 20)
assert_eq "20 new connections after be1 left: all to be2" "ready be2" "$(head -1 <<<"$out")"

wait_until 15 bash -c "[ \$(grep -c ' ok \| reset \| closed \| timeout \| corrupt' '$slog') -ge 2 ]" ||
    fail "streams did not finish: $(cat "$slog")"
res=$(tail -n +2 "$slog"); log "streams: $(echo "$res" | tr '\n' ';')"
assert_match "the stream to be2 ran to its end" "^be2 ok [0-9]+\$" "$res"
assert_match "the stream to be1 ran to its end: terminating, then gone, never reset" \
    "^be1 ok [0-9]+\$" "$res"
assert_ge "... with round trips all the way ($(grep -Eo '^be1 ok [0-9]+' <<<"$res"))" \
    "$(grep -Eo '^be1 ok [0-9]+' <<<"$res" | awk '{print $3}')" 60

# UDP moved to be2 at the first datagram after be1 turned terminating.
sleep 0.5
touch "$stop"
after=$(awk -v t="$t_udp" '$1 ~ /^[0-9.]+$/ && $1 > t + 0.3 {print $2}' "$ask" | sort | uniq -c)
log "UDP answers after be1 turned terminating: $(echo "$after" | tr '\n' ';')"
assert_no_match "no UDP answer from be1 after" " be1\$" "$after"
assert_no_match "no UDP datagram lost after" " lost\$" "$after"
assert_match "UDP moved to be2" " be2\$" "$after"
