#!/usr/bin/env bash
# The flow-pair table under a flood: vswitchd with --max-flow-pairs 512 (and a 1024-entry flow
# cache); one pod floods a UDP VIP from ever new source ports for 5 s (at least 20,000 new
# connections, as fast as it can; the backend answers each datagram once, so no pair of the
# flood is ever assured), while another pod holds 8 echo connections (it speaks first, the
# backend answers) and 4 push connections (the backend speaks every 50 ms, the client only
# reads) through TCP VIPs.  Three rounds:
#   1. the default per-pod limit (a quarter of the table, 128): the flooder never holds more
#      than its 128 pairs and recycles its own (evictions of kind pod_quota);
#   2. restarted with --max-flow-pairs-per-pod 0 (the pairs adopted from the file): the flood
#      fills the table, which gives up the flooder's unassured pairs (kind unassured);
#   3. restarted with --max-flow-pairs-per-pod 8: the other pod holds 8 echo connections and
#      its next ones are refused (drop reason flow_pair_quota, logged), its 8 unharmed; once
#      they close, its new connections recycle their pairs and work.
# In rounds 1 and 2 every one of the other pod's connections survives (they did not when a
# full table evicted in table order whatever the state: 0 of 8), the table stays within its
# bound, the evictions are counted by kind in show and in the metrics, vswitchd's VmRSS
# (sampled every 0.2 s) grows by less than 16 MiB, and new connections work once the flood is
# over.  The figures are logged: flood rate, evictions, RSS, the other pod's connections.
. "$(dirname "$0")/../lib/lib.sh"
preflight

ROBUST="$VSW_LIB_DIR/robust.py"
MAX=512
PER_POD=$((MAX / 4))
FLOOD=20000
VICTIM_PAIRS=12
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
evicted() { show | jq ".flow_pair_evictions_by.$1"; }

# flood_round NAME: the other pod's connections open, the flood runs, the figures are logged
# and the other pod's connections must all have survived.  Sets max_pairs, max_rss, rss0.
flood_round() {
    local name=$1 flood hold push hold_pid push_pid flood_pid r p
    rss0=$(rss_kb)
    bg_start victim "$VSW_TMPDIR/hold-$name.log" "$VSW_PY" "$ROBUST" hold 10.96.0.10 7000 8 10 \
        0.1 5
    hold_pid=$BG_PID
    bg_start victim "$VSW_TMPDIR/push-$name.log" "$VSW_PY" "$ROBUST" push-hold 10.96.0.11 7100 \
        4 10 3
    push_pid=$BG_PID
    wait_until 10 grep -q '^ready' "$VSW_TMPDIR/hold-$name.log" ||
        fail "$name: echo connections did not open"
    wait_until 10 grep -q '^ready' "$VSW_TMPDIR/push-$name.log" ||
        fail "$name: push connections did not open"
    sleep 1

    bg_start attacker "$VSW_TMPDIR/flood-$name.log" "$VSW_PY" "$ROBUST" flood-udp 10.96.0.20 \
        9999 "$FLOOD" 5
    flood_pid=$BG_PID
    max_rss=$rss0 max_pairs=0
    while kill -0 "$flood_pid" 2>/dev/null; do
        r=$(rss_kb); [ "$r" -gt "$max_rss" ] && max_rss=$r
        p=$(show | jq .n_flow_pairs); [ "$p" -gt "$max_pairs" ] && max_pairs=$p
        sleep 0.2
    done
    p=$(show | jq .n_flow_pairs); [ "$p" -gt "$max_pairs" ] && max_pairs=$p
    wait "$hold_pid"; wait "$push_pid"
    flood=$(grep '^flood ' "$VSW_TMPDIR/flood-$name.log") ||
        fail "$name: flood: $(cat "$VSW_TMPDIR/flood-$name.log")"
    hold=$(grep '^hold ' "$VSW_TMPDIR/hold-$name.log") ||
        fail "$name: hold: $(tail -3 "$VSW_TMPDIR/hold-$name.log")"
    push=$(grep '^push ' "$VSW_TMPDIR/push-$name.log") ||
        fail "$name: push: $(tail -3 "$VSW_TMPDIR/push-$name.log")"
    log "FIGURE $name: flood: $flood; flow pairs max $max_pairs of $MAX; evictions" \
        "$(show | jq -c '{flow_pair_evictions, flow_pair_evictions_by, flow_evictions}');" \
        "VmRSS ${rss0} kB before, ${max_rss} kB max, $(rss_kb) kB after"
    log "FIGURE $name: the other pod: $hold; $push"
    grep -v '^ready\|^hold\|^push' "$VSW_TMPDIR/hold-$name.log" "$VSW_TMPDIR/push-$name.log" |
        grep -v ' ok ' | sed 's/^/    /'

    assert_ge "$name: flood sent" "$(echo "$flood" | grep -Eo 'sent=[0-9]+' | cut -d= -f2)" \
        $((FLOOD * 9 / 10))
    assert_eq "$name: the other pod's echo connections all kept working" \
        "hold alive=8 of 8" "$(echo "$hold" | grep -Eo 'hold alive=[0-9]+ of [0-9]+')"
    assert_eq "$name: the other pod's push connections all kept working" \
        "push alive=4 of 4" "$(echo "$push" | grep -Eo 'push alive=[0-9]+ of [0-9]+')"
    [ "$max_pairs" -le $MAX ] || fail "$name: the table held $max_pairs pairs, over its $MAX"
    [ $((max_rss - rss0)) -lt 16384 ] ||
        fail "$name: vswitchd's VmRSS grew by $((max_rss - rss0)) kB under the flood"
    log "ok: $name: VmRSS grew by $((max_rss - rss0)) kB under the flood"
    assert_ok "$name: vswitchd alive" vswitchd_alive node
}

# The metrics say what show says, kind by kind.
check_metrics() {
    local name=$1 kind
    assert_eq "$name: evictions in the metrics as in show" "$(show | jq .flow_pair_evictions)" \
        "$(metric vswitch_flow_pair_evictions_total)"
    for kind in closed unassured pod_quota; do
        assert_eq "$name: $kind evictions in the metrics as in show" "$(evicted $kind)" \
            "$(metric "vswitch_flow_pair_evictions_by_kind_total{kind=\"$kind\"}")"
    done
}

# --- 1. the default limit per pod ------------------------------------------------------------
assert_eq "default --max-flow-pairs-per-pod" $PER_POD "$(show | jq .daemon.max_flow_pairs_per_pod)"
assert_eq "the limit in the metrics" $PER_POD "$(metric vswitch_flow_pairs_per_pod_max)"
q0=$(evicted pod_quota)
flood_round limited
[ "$max_pairs" -le $((PER_POD + VICTIM_PAIRS)) ] ||
    fail "limited: $max_pairs pairs: the flooder held more than its $PER_POD"
log "ok: limited: at most $max_pairs pairs, the flooder within its $PER_POD"
assert_ge "limited: the flooder's own pairs recycled (pod_quota)" $(( $(evicted pod_quota) - q0 )) \
    $((FLOOD / 2))
assert_eq "limited: nothing taken from a full table" "0 0" "$(evicted closed) $(evicted unassured)"
check_metrics limited
out=$(ns_exec victim "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 1 | tail -1)
assert_match "limited: new connections after the flood" 'fail=0' "$out"
out=$(ns_exec attacker "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 1 | tail -1)
assert_match "limited: the flooder's own new connections after the flood" 'fail=0' "$out"

# --- 2. no limit per pod: the table fills ----------------------------------------------------
stop_vswitchd node
start_vswitchd node 10.244.1.0/24 --max-flow-pairs $MAX --flow-cache-size 1024 \
    --max-flow-pairs-per-pod 0
adopted=$(grep -Eo 'adopted [0-9]+ flow pair' "${VSW_LOG[node]}" | grep -Eo '[0-9]+')
assert_ge "the restarted vswitchd adopted the pairs of the first" "${adopted:-0}" 1
# The clients of the adopted pairs are counted (again, should a pair expire in between).
sources_counted() {
    [ "$(vsctl_on node --json dump-flows | jq '[.flow_pairs[].orig.src] | unique | length')" \
        = "$(show | jq .n_flow_pair_sources)" ]
}
wait_until 3 sources_counted || fail "the clients of the adopted pairs are not counted:" \
    "$(show | jq .n_flow_pair_sources) in show"
log "ok: $adopted pairs adopted, from $(show | jq .n_flow_pair_sources) clients"
u0=$(evicted unassured)
flood_round full
assert_ge "full: the table filled" "$max_pairs" $((MAX - 8))
assert_ge "full: unassured pairs taken from the full table" $(( $(evicted unassured) - u0 )) \
    $((FLOOD / 2))
check_metrics full
assert_eq "full: no connection refused" "0 0" \
    "$(drop_count node flow_table_full) $(drop_count node flow_pair_quota)"
out=$(ns_exec victim "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 1 | tail -1)
assert_match "full: new connections after the flood" 'fail=0' "$out"

# --- 3. a pod at its limit with established connections only ---------------------------------
stop_vswitchd node
# A fresh table: the pod's closed pairs of round 2 would be recycled for its new connections.
rm -f "${VSW_CTL[node]}.flow-pairs"
start_vswitchd node 10.244.1.0/24 --max-flow-pairs $MAX --flow-cache-size 1024 \
    --max-flow-pairs-per-pod 8
bg_start victim "$VSW_TMPDIR/hold-quota.log" "$VSW_PY" "$ROBUST" hold 10.96.0.10 7000 8 4 0.1 5
hold_pid=$BG_PID
wait_until 10 grep -q '^ready' "$VSW_TMPDIR/hold-quota.log" || fail "quota: echo connections"
out=$(ns_exec victim "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 1 | tail -1)
assert_match "quota: a ninth connection of the pod is refused" ' ok=0 ' "$out"
assert_ge "quota: refusals counted (flow_pair_quota)" "$(drop_count node flow_pair_quota)" 1
assert_eq "quota: refusals in the metrics as in show" "$(drop_count node flow_pair_quota)" \
    "$(metric 'vswitch_drops_total{reason="flow_pair_quota"}')"
grep -q "10.244.1.3 holds 8 flow pairs, its limit" "${VSW_LOG[node]}" ||
    fail "quota: no log line for the refusal"
out=$(ns_exec attacker "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 1 | tail -1)
assert_match "quota: another pod's connections are not limited by it" 'fail=0' "$out"
wait "$hold_pid"
assert_eq "quota: the pod's established connections unharmed" "hold alive=8 of 8" \
    "$(grep -Eo 'hold alive=[0-9]+ of [0-9]+' "$VSW_TMPDIR/hold-quota.log")"
out=$(ns_exec victim "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 1 | tail -1)
assert_match "quota: once they closed, its new connections recycle their pairs" 'fail=0' "$out"
log "FIGURE quota: $(show | jq -c '{n_flow_pairs, flow_pair_evictions_by}'), refused" \
    "$(drop_count node flow_pair_quota)"
