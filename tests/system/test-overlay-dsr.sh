#!/usr/bin/env bash
# DSR across nodes: three nodes on the overlay, a client pod on node 1 and a service VIP whose
# four backends live on nodes 2 and 3, the policies on every node (one `vsctl batch`, as the
# proxy sends them).
#   - 120 HTTP requests through the VIP all answered, each node's backends get a fair share,
#     every backend sees the client pod's own address;
#   - node 1 keeps no state: its cache flows only tunnel to the backend's node with the inner
#     destination MAC set to the backend's dispatch MAC 0a:58:<pod IP>, its replies are plain
#     routing, it holds no flow pair; nodes 2 and 3 hold the flow pairs (DNAT there, un-DNAT
#     there, reply tunnelled straight to node 1), and for each of 30 more connections the backend
#     node 1 picked is the one that served it and holds its pair;
#   - a flush of node 1's flows in the middle of four long-lived connections (one per
#     backend) breaks none of them: Maglev picks the same backends again;
#   - UDP through the VIP across nodes, datagrams the client fragments included (every
#     fragment reaches the backend that got the first);
#   - a --no-dsr service across nodes: the backends see node 1's gateway, node 1 keeps the
#     pairs.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

VIP=10.96.0.10
N=120
add_underlay
for i in 1 2 3; do add_overlay_node node$i $i; done
peer_nodes node1 node2 node3
N1=${VSW_NODE_IP[node1]} N2=${VSW_NODE_IP[node2]} N3=${VSW_NODE_IP[node3]}
add_pod node1 client 10.244.1.20
BES=(be21 be22 be31 be32)
for be in "${BES[@]}"; do
    i=${be:2:1} j=${be:3:1}
    add_pod "node$i" "$be" "10.244.$i.1$j"
    svc_start "$be" http-server 8080 "$be"
    svc_start "$be" stream-server 9000 "$be"
    udp_echo_server "$be" 5353
done
for p in client "${BES[@]}"; do ip -n "$(ns "$p")" link set eth0 mtu 1450 || fail "MTU of $p"; done
be_ip() { echo "10.244.${1:2:1}.1${1:3:1}"; }

backends() { local b; for b in "${BES[@]}"; do printf ' %s:%s' "$(be_ip "$b")" "$1"; done; }
cat >"$VSW_TMPDIR/policies.txt" <<EOF
add-lb $VIP:80/tcp$(backends 8080)
add-lb $VIP:9000/tcp$(backends 9000)
add-lb $VIP:53/udp$(backends 5353)
add-lb 10.96.0.11:80/tcp$(backends 8080) --no-dsr
EOF
for i in 1 2 3; do
    assert_ok "policies on node$i (batch)" vsctl_on node$i batch "$VSW_TMPDIR/policies.txt"
done
ping_ok client "$(be_ip be21)"
ping_ok client "$(be_ip be31)"

# --- balance, and the client's address seen by every backend ----------------------------------
out=$(curl_many client "http://$VIP/" $N)
assert_eq "all $N requests through the VIP answered" "$N" "$(echo "$out" | grep -c '^be[23][12] ')"
for i in 2 3; do
    c=$(echo "$out" | grep -c "^be$i")
    assert_ge "node$i's backends served a fair share ($c of $N)" "$c" $((N * 3 / 10))
done
for be in "${BES[@]}"; do
    c=$(echo "$out" | grep -c "^$be ")
    assert_ge "$be served some ($c of $N)" "$c" $((N / 10))
done
assert_eq "every backend saw the client pod's own address (DSR)" "10.244.1.20" \
    "$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ' | sed 's/ $//')"

# --- node 1 dispatches; nodes 2 and 3 translate ------------------------------------------------
# 30 more connections, dumped at once (closed connections' flows and pairs expire after 10 s).
M=30
out=$(curl_many client "http://$VIP/" $M)
assert_eq "$M more requests answered" "$M" "$(echo "$out" | grep -c '^be[23][12] ')"
f1=$(vsctl_on node1 dump-flows) || fail "dump-flows on node1"
# shellcheck disable=SC2034  # f2 and f3 are read as ${!fi}
f2=$(vsctl_on node2 dump-flows) || fail "dump-flows on node2"
# shellcheck disable=SC2034
f3=$(vsctl_on node3 dump-flows) || fail "dump-flows on node3"
log "node1 (client's node):"; echo "$f1" | grep "nw_dst=$VIP" | head -2 | sed 's/^/    /'
log "node2 (a backend's node):"; echo "$f2" | grep -E "nw_dst=$VIP|^flow-pair" | head -3 | sed 's/^/    /'
assert_eq "node1 holds no flow pair" 0 "$(echo "$f1" | grep -c '^flow-pair')"
assert_eq "node1: n_flow_pairs 0" 0 "$(vsctl_on node1 --json show | jq .n_flow_pairs)"
assert_no_match "node1 translates nothing (no ct, no nat)" '(ct|nat)\(' "$f1"
r1=${N1//./\\.} r2=${N2//./\\.} r3=${N3//./\\.}
disp="policy\(slot=[0-9]+\),tunnel\(dst=($r2|$r3),mtu=1450\),set_eth\(src=0a:58:0a:f4:01:01,dst=0a:58:0a:f4:0[23]:0[bc]\),dec_ttl,output:vxlan"
n_to_vip=$(echo "$f1" | grep -c "nw_dst=${VIP//./\\.},tp_src=[0-9]*,tp_dst=80 ")
assert_ge "node1: a cache flow per connection to the VIP" "$n_to_vip" "$M"
assert_eq "node1: every flow to the VIP only tunnels with a dispatch MAC" 0 \
    "$(echo "$f1" | grep "nw_dst=${VIP//./\\.}," | grep -Evc "actions=$disp\$")"
assert_match "node1: flows dispatched to node2's pods" \
    "actions=policy\(slot=[0-9]+\),tunnel\(dst=$r2,mtu=1450\),set_eth\(src=0a:58:0a:f4:01:01,dst=0a:58:0a:f4:02:0[bc]\)" "$f1"
assert_match "node1: flows dispatched to node3's pods" \
    "actions=policy\(slot=[0-9]+\),tunnel\(dst=$r3,mtu=1450\),set_eth\(src=0a:58:0a:f4:01:01,dst=0a:58:0a:f4:03:0[bc]\)" "$f1"
assert_no_match "node1: never a dispatch MAC of node3 tunnelled to node2 or the reverse" \
    "tunnel\(dst=$r2,[^)]*\),set_eth\([^)]*dst=0a:58:0a:f4:03|tunnel\(dst=$r3,[^)]*\),set_eth\([^)]*dst=0a:58:0a:f4:02" "$f1"
assert_match "node1: replies from the VIP delivered by plain routing" \
    "^in_port=vxlan,.*tcp,nw_src=${VIP//./\\.},nw_dst=10\.244\.1\.20,tp_src=80,tp_dst=[0-9]+ .*actions=set_eth\(src=0a:58:0a:f4:01:01,dst=02:00:0a:f4:01:14\),dec_ttl,output:h-client\$" "$f1"

# The backend node 1 chose (its dispatch MAC) served the connection, and that node holds its
# pair: per answered request, "BACKEND CLIENT_IP CLIENT_PORT".
bad=0 checked=0
while read -r be _ sport; do
    i=${be:2:1}
    mac=$(dispatch_mac "$(be_ip "$be")")
    ip=$(be_ip "$be")
    fi=f$i
    echo "$f1" | grep -q "tp_src=$sport,tp_dst=80 .*tunnel(dst=${VSW_NODE_IP[node$i]},mtu=1450),set_eth(src=0a:58:0a:f4:01:01,dst=$mac)" || {
        log "connection from port $sport: node1 did not dispatch it to $be ($mac)"; bad=$((bad + 1)); }
    echo "${!fi}" | grep -q "^flow-pair tcp,orig=(src=10.244.1.20,dst=$VIP,sport=$sport,dport=80),reply=(src=$ip,dst=10.244.1.20,sport=8080,dport=$sport),policy=LB_DSR_[0-9A-F]*_${VIP}_80_6,dsr=yes" || {
        log "connection from port $sport: no flow pair to $ip on node$i"; bad=$((bad + 1)); }
    checked=$((checked + 1))
done < <(echo "$out" | grep '^be')
assert_eq "each of $checked connections: dispatched by node1 to the backend that served it, pair on that backend's node" 0 "$bad"
for i in 2 3; do
    fi=f$i
    assert_ge "node$i holds flow pairs for the VIP" \
        "$(echo "${!fi}" | grep -c "^flow-pair tcp,orig=(src=10\.244\.1\.20,dst=${VIP//./\\.},")" $((M * 3 / 10))
    assert_match "node$i: DNAT of a dispatched frame to its pod" \
        "^in_port=vxlan,dl_src=0a:58:0a:f4:01:01,dl_dst=0a:58:0a:f4:0$i:0[bc],tcp,nw_src=10\.244\.1\.20,nw_dst=${VIP//./\\.},.* actions=ct\(pair=[0-9]+,dir=orig\),nat\(src=10\.244\.1\.20:[0-9]+,dst=10\.244\.$i\.1[12]:8080\),set_eth\(src=0a:58:0a:f4:0$i:01,dst=02:00:0a:f4:0$i:0[bc]\),dec_ttl,output:h-be${i}[12]\$" "${!fi}"
    assert_match "node$i: reply un-NAT'd and tunnelled straight to node1" \
        "^in_port=h-be${i}[12],.*tcp,nw_src=10\.244\.$i\.1[12],nw_dst=10\.244\.1\.20,tp_src=8080,.* actions=ct\(pair=[0-9]+,dir=reply\),nat\(src=${VIP//./\\.}:80,dst=10\.244\.1\.20:[0-9]+\),tunnel\(dst=$r1,mtu=1450\),set_eth\(src=0a:58:0a:f4:0$i:01,dst=0a:58:0a:f4:01:01\),dec_ttl,output:vxlan\$" "${!fi}"
done

# --- flush node 1 in the middle of long-lived connections -------------------------------------
slog=$VSW_TMPDIR/streams.log
bg_start client "$slog" "$VSW_PY" "$VSW_SVC" streams $VIP 9000 4 6
wait_until 10 grep -q '^ready ' "$slog" || fail "streams through the VIP did not open: $(cat "$slog")"
assert_eq "one long-lived connection per backend" "ready be21 be22 be31 be32" "$(head -1 "$slog")"
sleep 1
# The four open connections' source ports (streams closed the surplus ones it opened).
sports=$(ns_exec client ss -Htn state established "( dst $VIP and dport = :9000 )" |
         awk '{split($3, a, ":"); print a[2]}' | sort -n | tr '\n' ' ')
disp_of() { # FLOWS: "sport dispatch-mac" of the node1 flows of the open connections
    local p
    for p in $sports; do
        echo "$1" | sed -n "s/.*nw_dst=${VIP//./\\.},tp_src=\($p\),tp_dst=9000 .*set_eth(src=[^,]*,dst=\([0-9a-f:]*\)).*/\1 \2/p"
    done
}
before=$(disp_of "$(vsctl_on node1 dump-flows)")
log "node1's dispatch of the four connections: $(echo "$before" | tr '\n' ';')"
assert_eq "node1 dispatches the four connections" 4 "$(echo "$before" | grep -c .)"
pairs_of() { # the backend of each open connection, from the flow pairs of nodes 2 and 3
    local p
    for p in $sports; do
        { flow_pairs node2; flow_pairs node3; } |
            sed -n "s/^flow-pair tcp,orig=(src=10\.244\.1\.20,dst=${VIP//./\\.},sport=$p,dport=9000),reply=(src=\([0-9.]*\),.*/$p \1/p"
    done
}
pairs_before=$(pairs_of)
assert_eq "nodes 2 and 3 hold a pair for each of the four connections" 4 "$(echo "$pairs_before" | grep -c .)"
assert_ok "flush-flows on node1 mid-connection" vsctl_on node1 flush-flows
assert_no_match "node1's cache emptied" "tp_dst=9000 packets=[0-9]{2,}" "$(vsctl_on node1 dump-flows)"
wait_until 15 bash -c "[ \$(grep -c ' ok \| reset \| closed \| timeout \| corrupt \| error' '$slog') -ge 4 ]" ||
    fail "streams did not finish: $(cat "$slog")"
log "streams: $(tail -n +2 "$slog" | tr '\n' ';')"
assert_eq "all four connections survived the flush of node1" 4 "$(grep -Ec '^be[23][12] ok [0-9]+$' "$slog")"
after=$(disp_of "$(vsctl_on node1 dump-flows)")
assert_eq "Maglev picked the same backend for each connection after the flush" "$before" "$after"
assert_eq "the backends' nodes kept the same pairs" "$pairs_before" "$(pairs_of)"

# --- UDP through the VIP across nodes, fragments included -------------------------------------
for k in 1 2 3 4 5 6; do
    out=$(ns_exec client "$VSW_PY" "$VSW_LIB_DIR/pkt.py" udp-echo-client $VIP 53 \
          1 1422 4000 30000 65507) || fail "UDP through $VIP:53 across nodes (try $k): $out"
done
log "ok: UDP echo through $VIP:53 across nodes, 6 sockets, datagrams up to 65507 (fragmented)"
assert_ge "UDP pairs on the backends' nodes" \
    $(( $(flow_pairs node2 "^flow-pair udp" | wc -l) + $(flow_pairs node3 "^flow-pair udp" | wc -l) )) 6
assert_eq "node1 still holds no flow pair" 0 "$(vsctl_on node1 --json show | jq .n_flow_pairs)"

# --- --no-dsr across nodes -------------------------------------------------------------------
out=$(curl_many client http://10.96.0.11/ 24)
assert_eq "24 requests through the --no-dsr VIP answered" 24 "$(echo "$out" | grep -c '^be[23][12] ')"
assert_eq "--no-dsr: the backends saw node1's gateway" "10.244.1.1" \
    "$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
assert_ge "--no-dsr: node1 holds the pairs" "$(flow_pairs node1 'dst=10\.96\.0\.11,' | wc -l)" 24
for k in 1 2 3; do
    assert_eq "no drops on node$k for want of a backend" 0 "$(drop_count node$k no_backend)"
done
log "PASS"
