#!/usr/bin/env bash
# The flow-pair table full: vswitchd with --max-flow-pairs 512 (and a 1024-entry flow cache);
# one pod floods a UDP VIP from ever new source ports for 5 s (at least 20,000 new
# connections, as fast as it can), while another pod holds 8 echo connections (it speaks
# first, the backend answers) and 4 push connections (the backend speaks every 50 ms, the
# client only reads) through TCP VIPs.
#   - the table stays within its bound and the evictions are counted, in show and metrics;
#   - vswitchd's memory stays bounded: VmRSS sampled every 0.2 s grows by less than 16 MiB;
#   - vswitchd stays healthy and new connections work once the flood is over;
#   - the figures are logged: flood rate, evictions, RSS, and how the other pod's connections
#     fared.  They do not survive today: eviction (ct_create -> evict_one, vswitch/dp/
#     conntrack.c) takes the next in-use pair in table order whatever its state or age, so
#     the flood evicts the established pairs of other pods too; the backend's next segment
#     then leaves un-NAT'd (source the backend, not the VIP), the client's kernel answers it
#     with RST and the connection dies.  VSW_STRICT_EVICTION=1 asserts that every one of them
#     survives (turn it on by default once eviction spares established pairs).
. "$(dirname "$0")/../lib/netns.sh"
. "$VSW_LIB_DIR/lb.sh"
preflight

ROBUST="$VSW_LIB_DIR/robust.py"
MAX=512
FLOOD=20000
add_node node 10.244.1.0/24 --max-flow-pairs $MAX --flow-cache-size 1024
add_pod node attacker 10.244.1.2
add_pod node victim 10.244.1.3
for i in 1 2; do
    add_pod node be$i 10.244.1.1$i
    svc_start be$i stream-server 7000 be$i
    svc_start be$i udp-server 9999 be$i
    bg_start be$i "$VSW_TMPDIR/push-be$i.log" "$VSW_PY" "$ROBUST" push-server 7100 be$i
    wait_until 5 grep -q listening "$VSW_TMPDIR/push-be$i.log" || fail "push-server on be$i"
done
cat >"$VSW_TMPDIR/policies.txt" <<EOF
add-lb 10.96.0.10:7000/tcp 10.244.1.11:7000 10.244.1.12:7000
add-lb 10.96.0.11:7100/tcp 10.244.1.11:7100 10.244.1.12:7100
add-lb 10.96.0.20:9999/udp 10.244.1.11:9999 10.244.1.12:9999
EOF
vsctl_on node batch "$VSW_TMPDIR/policies.txt" >/dev/null || fail "policies"

show() { vsctl_on node --json show; }
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/${VSW_PID[node]}/status"; }
metric() {
    ns_exec node curl -s 127.0.0.1:9479/metrics | awk -v k="$1" '$1 == k {print $2}'
}

rss0=$(rss_kb)
ev0=$(show | jq .flow_pair_evictions)
bg_start victim "$VSW_TMPDIR/hold.log" "$VSW_PY" "$ROBUST" hold 10.96.0.10 7000 8 10 0.1 5
hold_pid=$BG_PID
bg_start victim "$VSW_TMPDIR/push.log" "$VSW_PY" "$ROBUST" push-hold 10.96.0.11 7100 4 10 3
push_pid=$BG_PID
wait_until 10 grep -q '^ready' "$VSW_TMPDIR/hold.log" || fail "echo connections did not open"
wait_until 10 grep -q '^ready' "$VSW_TMPDIR/push.log" || fail "push connections did not open"
sleep 1

bg_start attacker "$VSW_TMPDIR/flood.log" "$VSW_PY" "$ROBUST" flood-udp 10.96.0.20 9999 "$FLOOD" 5
flood_pid=$BG_PID
max_rss=$rss0 max_pairs=0
while kill -0 "$flood_pid" 2>/dev/null; do
    r=$(rss_kb); [ "$r" -gt "$max_rss" ] && max_rss=$r
    p=$(show | jq .n_flow_pairs); [ "$p" -gt "$max_pairs" ] && max_pairs=$p
    sleep 0.2
done
p=$(show | jq .n_flow_pairs); [ "$p" -gt "$max_pairs" ] && max_pairs=$p
wait "$hold_pid"; wait "$push_pid"
flood=$(grep '^flood ' "$VSW_TMPDIR/flood.log") || fail "flood: $(cat "$VSW_TMPDIR/flood.log")"
hold=$(grep '^hold ' "$VSW_TMPDIR/hold.log") || fail "hold: $(tail -3 "$VSW_TMPDIR/hold.log")"
push=$(grep '^push ' "$VSW_TMPDIR/push.log") || fail "push: $(tail -3 "$VSW_TMPDIR/push.log")"
ev=$(( $(show | jq .flow_pair_evictions) - ev0 ))
fev=$(show | jq .flow_evictions)
rss1=$(rss_kb)
log "FIGURE flood: $flood; flow pairs max $max_pairs of $MAX, evictions $ev," \
    "flow cache evictions $fev;" \
    "VmRSS ${rss0} kB before, ${max_rss} kB max, ${rss1} kB after"
log "FIGURE the other pod: $hold; $push"
grep -v '^ready\|^hold\|^push' "$VSW_TMPDIR/hold.log" "$VSW_TMPDIR/push.log" | grep -v ' ok ' |
    sed 's/^/    /'

assert_ge "flood sent" "$(echo "$flood" | grep -Eo 'sent=[0-9]+' | cut -d= -f2)" $((FLOOD * 9 / 10))
[ "$max_pairs" -le $MAX ] || fail "the flow-pair table held $max_pairs pairs, over its $MAX"
log "ok: the table stayed within $MAX pairs (max seen $max_pairs)"
assert_ge "evictions counted in show" "$ev" $((FLOOD / 2))
assert_eq "evictions in the metrics as in show" "$(show | jq .flow_pair_evictions)" \
    "$(metric vswitch_flow_pair_evictions_total)"
[ $((max_rss - rss0)) -lt 16384 ] ||
    fail "vswitchd's VmRSS grew by $((max_rss - rss0)) kB under the flood"
log "ok: VmRSS grew by $((max_rss - rss0)) kB under the flood"
if [ "${VSW_STRICT_EVICTION:-0}" = 1 ]; then
    assert_eq "the other pod's echo connections all kept working" \
        "hold alive=8 of 8" "$(echo "$hold" | grep -Eo 'hold alive=[0-9]+ of [0-9]+')"
    assert_eq "the other pod's push connections all kept working" \
        "push alive=4 of 4" "$(echo "$push" | grep -Eo 'push alive=[0-9]+ of [0-9]+')"
fi
assert_ok "vswitchd alive" vswitchd_alive node
# New connections work once the flood is over.
out=$(ns_exec victim "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 1 | tail -1)
assert_match "new connections after the flood" 'fail=0' "$out"
