#!/usr/bin/env bash
# Established DSR connections across the overlay survive a backend being added, and a kill -9
# of the dispatching node's switch.  Three nodes: a client pod on node 1, a VIP whose four
# backends live on nodes 2 and 3, the policies on every node.  24 connections from the client
# through the VIP hold an echo round trip every 0.2 s while:
#   1. the policy is replaced on every node with a fifth backend (scale-up): Maglev alone
#      would move about a fifth of them to another backend, which would answer RST; node 1
#      keeps a dispatch entry per connection (client's tuple -> backend), so every one stays
#      on its backend, also across a flush of node 1's flow cache;
#   2. node 1's vswitchd is killed (-9) and started again: it adopts the dispatch entries from
#      the flow-pair file beside its control socket, and the connections stay put.
# Every connection must survive both; new connections are balanced over all five backends,
# before and after the restart.  Also: node 1 shows the entries as "dispatch" lines (one per
# connection, assured, to the backend whose node holds the connection's pair) and no flow
# pair; its Hits count each connection dispatched once, not again after a flush, a scale-up
# or a restart.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

ROBUST="$VSW_LIB_DIR/robust.py"
VIP=10.96.0.10
N=24
HOLD_SECS=30
add_underlay
for i in 1 2 3; do add_overlay_node node$i $i; done
peer_nodes node1 node2 node3
add_pod node1 client 10.244.1.20
BES=(be21 be22 be31 be32 be33)
be_ip() { echo "10.244.${1:2:1}.1${1:3:1}"; }
for be in "${BES[@]}"; do
    add_pod "node${be:2:1}" "$be" "$(be_ip "$be")"
    svc_start "$be" http-server 8080 "$be"
    svc_start "$be" stream-server 7000 "$be"
done
for p in client "${BES[@]}"; do ip -n "$(ns "$p")" link set eth0 mtu 1450 || fail "MTU of $p"; done

# write_policies FILE BACKEND...: the two services over those backends, as a batch.
write_policies() {
    local f=$1 b; shift
    { printf 'add-lb %s:7000/tcp' $VIP; for b; do printf ' %s:7000' "$(be_ip "$b")"; done; echo
      printf 'add-lb %s:80/tcp' $VIP; for b; do printf ' %s:8080' "$(be_ip "$b")"; done; echo
    } >"$f"
}
write_policies "$VSW_TMPDIR/four.txt" be21 be22 be31 be32
write_policies "$VSW_TMPDIR/five.txt" "${BES[@]}"
for i in 1 2 3; do
    assert_ok "four backends on node$i" vsctl_on node$i batch "$VSW_TMPDIR/four.txt"
done
ping_ok client "$(be_ip be21)"
ping_ok client "$(be_ip be33)"

# balanced WHEN: 100 new connections through the VIP, every one answered, by all five.
balanced() {
    local out c be
    out=$(curl_many client "http://$VIP/" 100)
    assert_eq "$1: 100 new connections answered" 100 "$(echo "$out" | grep -c '^be[23][123] ')"
    for be in "${BES[@]}"; do
        c=$(echo "$out" | grep -c "^$be ")
        assert_ge "$1: $be served a share of the new connections ($c of 100)" "$c" 5
    done
}
dispatch_lines() { vsctl_on node1 dump-flows | grep "^dispatch tcp,orig=(src=10\.244\.1\.20,dst=${VIP//./\\.},sport=[0-9]*,dport=$1)" || true; }

# --- 24 established connections -----------------------------------------------------------------
hlog=$VSW_TMPDIR/hold.log
bg_start client "$hlog" "$VSW_PY" "$ROBUST" hold $VIP 7000 $N $HOLD_SECS 0.2 20
hold_pid=$BG_PID
wait_until 15 grep -q '^ready' "$hlog" || fail "the connections did not open: $(cat "$hlog")"
log "connections opened to: $(head -1 "$hlog" | cut -d' ' -f2- | tr ' ' '\n' | sort | uniq -c | tr -s ' \n' ' ')"
sleep 1
# Snapshots now, checked once the connections are over (the survival comes first).
entries0=$(dispatch_lines 7000)
metric0=$(ns_exec node1 curl -s --max-time 5 http://127.0.0.1:9479/metrics |
          grep '^vswitch_dispatch_entries ' || true)
pairs0=$({ flow_pairs node2; flow_pairs node3; } | grep "dst=${VIP//./\\.},sport=[0-9]*,dport=7000)")
hits0=$(policy_block node1 "$(vsctl_on node1 --json dump-policies |
        jq -r --arg s "$VIP:7000/tcp" '.policies[] | select(.service == $s) | .name')" | grep '^Hits')

# --- 1. scale-up: a fifth backend, the backends' nodes first (as their proxies would) ----------
for i in 3 2 1; do
    assert_ok "five backends on node$i" vsctl_on node$i batch "$VSW_TMPDIR/five.txt"
done
log "fifth backend be33 added on every node"
sleep 2
assert_ok "flush-flows on node1 mid-connection" vsctl_on node1 flush-flows
entries1=$(dispatch_lines 7000)
balanced "after the scale-up"
name80=$(vsctl_on node1 --json dump-policies |
         jq -r --arg s "$VIP:80/tcp" '.policies[] | select(.service == $s) | .name')
hits80=$(policy_block node1 "$name80" | grep '^Hits')

# --- 2. kill -9 of node 1's switch ---------------------------------------------------------------
kill9_vswitchd node1
log "vswitchd of node1 killed (-9)"
sleep 0.5
restart_vswitchd node1
adopted=$(grep -Eo 'adopted [0-9]+ flow pair\(s\) and [0-9]+ dispatch entr' "${VSW_LOG[node1]}" |
          tail -1 | awk '{print $6}')
sleep 2
entries2=$(dispatch_lines 7000)
balanced "after the restart of node1"

# --- the connections ----------------------------------------------------------------------------
wait "$hold_pid"
log "hold: $(grep -v '^ready' "$hlog" | grep -v ' ok ' | tr '\n' ';')"
assert_eq "every established connection survived the scale-up and the restart of node1" \
    "hold alive=$N of $N" "$(grep -Eo 'hold alive=[0-9]+ of [0-9]+' "$hlog")"
log "$(grep '^hold ' "$hlog")"

# --- what node 1 kept ---------------------------------------------------------------------------
log "node1's dispatch entries, e.g.: $(echo "$entries0" | head -1)"
assert_eq "node1: a dispatch entry per connection" $N "$(echo "$entries0" | grep -c .)"
assert_eq "node1's metrics count the dispatch entries" "vswitch_dispatch_entries $N" "$metric0"
assert_eq "node1: every entry assured (ESTABLISHED)" $N "$(echo "$entries0" | grep -c ',state=ESTABLISHED ')"
assert_eq "node1: no flow pair for them" 0 "$(flow_pairs node1 "dport=7000" | wc -l)"
bad=0
while read -r sport backend; do
    echo "$entries0" | grep -q "sport=$sport,dport=7000),backend=$backend:7000," || {
        log "connection from port $sport: its pair is to $backend, node1's entry is not"
        bad=$((bad + 1)); }
done < <(echo "$pairs0" |
         sed -n 's/.*sport=\([0-9]*\),dport=7000),reply=(src=\([0-9.]*\),.*/\1 \2/p')
assert_eq "node1: each entry names the backend whose node holds the connection's pair" 0 "$bad"
assert_eq "node1: the pairs of the 24 connections on nodes 2 and 3" $N "$(echo "$pairs0" | grep -c .)"
# The entries stay what they were: same connections, same backends.
strip() { sed 's/ packets=.*//'; }
assert_eq "node1: the entries unchanged by the scale-up and the flush" \
    "$(echo "$entries0" | strip | sed 's/state=[A-Z_]*//')" "$(echo "$entries1" | strip | sed 's/state=[A-Z_]*//')"
assert_ge "node1: the restart adopted the entries from the flow-pair file" "${adopted:-0}" $N
assert_eq "node1: the entries adopted by the restarted switch" \
    "$(echo "$entries0" | strip | sed 's/state=[A-Z_]*//')" "$(echo "$entries2" | strip | sed 's/state=[A-Z_]*//')"
assert_match "node1: the 24 connections dispatched once, no pair ($hits0)" \
    "connections=0 dispatched=$N rejected=0 active_flow_pairs=0\$" "$hits0"
assert_match "node1: 100 new connections dispatched once each across the flush ($hits80)" \
    "connections=0 dispatched=100 rejected=0 active_flow_pairs=0\$" "$hits80"
assert_match "node1 after the restart: nothing re-dispatched, the entries were followed" \
    "connections=0 dispatched=0 rejected=0 active_flow_pairs=0\$" \
    "$(policy_block node1 "$(vsctl_on node1 --json dump-policies |
       jq -r --arg s "$VIP:7000/tcp" '.policies[] | select(.service == $s) | .name')" | grep '^Hits')"
assert_eq "node1: n_flow_pairs 0 (entries are not pairs)" 0 "$(vsctl_on node1 --json show | jq .n_flow_pairs)"
assert_ge "node1: show counts the entries" "$(vsctl_on node1 --json show | jq .n_dispatch_entries)" $N
assert_match "node1: show says so" "flow pairs: 0 and [0-9]+ dispatch entries from 1 client\(s\)" \
    "$(vsctl_on node1 show)"
assert_eq "node1: --json dump-flows has the entries, with their backends" "ok" \
    "$(vsctl_on node1 --json dump-flows | jq -r --arg v $VIP '[.dispatch_entries[]
       | select(.orig.dst == $v and .orig.dport == 7000 and (.backend.ip | test("^10\\.244\\.[23]\\."))
                and .backend.port == 7000)] | length
       | if . == '$N' then "ok" else "\(.) of '$N'" end')"
log "PASS"
