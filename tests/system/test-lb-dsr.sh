#!/usr/bin/env bash
# A service VIP over three backend pods (HTTP servers that report the peer address they saw),
# DSR: 150 short connections from a client pod all succeed, are spread over the backends (each
# gets at least 20%), every backend sees the client pod's own address, and the node
# namespace's IP stack never sees the service traffic (its Ip InReceives hardly moves).
# dump-policies shows the policy with IsDSR: TRUE and hit counters that follow the traffic;
# dump-flows shows both directions of a connection and its flow pair, and a connection
# survives flush-flows (Maglev sends its next packet to the same backend).
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

VIP=10.96.0.10
N=150
add_lb_node 3 http-server:8080 stream-server:9000
ping_ok client 10.244.1.11
assert_ok "add-lb $VIP:80/tcp over three backends" vsctl_on node add-lb $VIP:80/tcp \
    10.244.1.11:8080 10.244.1.12:8080 10.244.1.13:8080
assert_ok "add-lb $VIP:9000/tcp over three backends" vsctl_on node add-lb $VIP:9000/tcp \
    10.244.1.11:9000 10.244.1.12:9000 10.244.1.13:9000

pol=$(vsctl_on node dump-policies) || fail "dump-policies failed"
log "dump-policies:"; echo "$pol" | sed 's/^/    /'
name=$(vsctl_on node --json dump-policies |
       jq -r --arg s "$VIP:80/tcp" '.policies[] | select(.service == $s) | .name')
assert_match "default name LB_DSR_<hash>_VIP_PORT_6" "^LB_DSR_[0-9A-F]{5}_${VIP//./\\.}_80_6\$" "$name"
blk=$(policy_block node "$name")
assert_match "Type : lbnat" '^Type : lbnat$' "$blk"
assert_match "destination IP is the VIP" "Destination IP : ${VIP//./\\.}\$" "$blk"
assert_match "port rewritten 80 -> 8080" '^Modifying destination port$' "$blk"
assert_match "three DIP ranges" '^Count of DIP Ranges: 3$' "$blk"
assert_match "a DIP range per backend" '\{ 10\.244\.1\.13 : 8080 \}' "$blk"
assert_match "IsDSR: TRUE" '^IsDSR: TRUE$' "$blk"
assert_no_match "no source rewrite under DSR" 'Modifying source IP' "$blk"
pk0=$(policy_stat node $VIP:80/tcp packets)
cn0=$(policy_stat node $VIP:80/tcp connections)

# The service traffic: N connections, each its own flow pair.
rx0=$(ip_in_receives node)
out=$(curl_many client "http://$VIP/" $N)
rx1=$(ip_in_receives node)
ok=$(echo "$out" | grep -c '^be[123] ')
assert_eq "all $N requests through the VIP answered" "$N" "$ok"
for i in 1 2 3; do
    c=$(echo "$out" | grep -c "^be$i ")
    assert_ge "be$i served a fair share ($c of $N)" "$c" $((N / 5))
done
peers=$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ')
assert_eq "every backend saw the client's own address (DSR)" "10.244.1.20 " "$peers"
for i in 1 2 3; do
    seen=$(awk '$1 == "req" {print $3}' "$VSW_TMPDIR/http-server-be$i-8080.log" | sort -u |
           tr '\n' ' ')
    assert_eq "be$i's own log: peers" "10.244.1.20 " "$seen"
done
# Each connection is >= 5 packets through the switch; none of them may reach the node's stack.
d=$((rx1 - rx0))
assert_ge "node Ip InReceives moved by $d for $N connections (< 20 allowed)" $((19 - d)) 0

pk1=$(policy_stat node $VIP:80/tcp packets)
cn1=$(policy_stat node $VIP:80/tcp connections)
assert_ge "policy hit counter: connections grew by the requests" "$cn1" $((cn0 + N))
assert_ge "policy hit counter: packets grew" "$pk1" $((pk0 + 5 * N))
assert_match "Hits line in dump-policies" \
    "^Hits: packets=$pk1 bytes=[0-9]+ connections=$cn1 dispatched=0 rejected=0 active_flow_pairs=[0-9]+\$" \
    "$(policy_block node "$name")"

# A long-lived connection: both directions in the flow cache and one flow pair naming them.
_pair_again() {
    flow_pairs node "orig=\(src=10\.244\.1\.20,dst=${VIP//./\\.},sport=$sport,dport=9000\),reply=\(src=${beip//./\\.},"
}
bg_start client "$VSW_TMPDIR/streams.log" "$VSW_PY" "$VSW_SVC" streams $VIP 9000 1 6
wait_until 10 grep -q '^ready ' "$VSW_TMPDIR/streams.log" || fail "stream through the VIP did not open"
be=$(awk '/^ready / {print $2}' "$VSW_TMPDIR/streams.log")
beip=10.244.1.1${be#be}
flows=$(vsctl_on node dump-flows)
pair=$(echo "$flows" | grep "^flow-pair tcp,orig=(src=10\.244\.1\.20,dst=${VIP//./\\.},sport=[0-9]*,dport=9000)")
log "flow pair: $pair"
[ -n "$pair" ] || fail "no flow pair for the stream in: $flows"
sport=$(echo "$pair" | sed -n 's/.*orig=(src=[0-9.]*,dst=[0-9.]*,sport=\([0-9]*\),.*/\1/p')
assert_match "reply tuple: from the backend to the client itself" \
    "reply=\(src=${beip//./\\.},dst=10\.244\.1\.20,sport=9000,dport=$sport\),policy=LB_DSR_[0-9A-F]{5}_${VIP//./\\.}_9000_6,dsr=yes,state=ESTABLISHED" "$pair"
assert_match "original direction cached, DNAT to $beip" \
    "^in_port=h-client,.*tcp,nw_src=10\.244\.1\.20,nw_dst=${VIP//./\\.},tp_src=$sport,tp_dst=9000 .*actions=ct\(pair=[0-9]+,dir=orig\),nat\(src=10\.244\.1\.20:$sport,dst=${beip//./\\.}:9000\)" "$flows"
assert_match "reply direction cached, un-DNAT to the VIP" \
    "^in_port=h-$be,.*tcp,nw_src=${beip//./\\.},nw_dst=10\.244\.1\.20,tp_src=9000,tp_dst=$sport .*actions=ct\(pair=[0-9]+,dir=reply\),nat\(src=${VIP//./\\.}:9000,dst=10\.244\.1\.20:$sport\).*output:h-client" "$flows"
# flush-flows forgets the pair; the stream's next packet makes a new one to the same backend.
assert_ok "flush-flows mid-stream" vsctl_on node flush-flows
wait_until 5 _pair_again || fail "no flow pair for the stream after flush-flows"
log "ok: the stream's flow pair is back after flush-flows, to $beip"
wait_until 15 grep -q "^$be " "$VSW_TMPDIR/streams.log" || fail "stream did not finish"
assert_match "the stream through the VIP worked throughout" "^$be ok [0-9]+" \
    "$(cat "$VSW_TMPDIR/streams.log")"
