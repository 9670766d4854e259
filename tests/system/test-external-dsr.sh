#!/usr/bin/env bash
# Traffic from outside the cluster to a Service's external addresses (issue 16): two nodes on
# an underlay bridge, each vswitchd with --service-cidr, and an "outside" namespace on the
# underlay whose route to the LoadBalancer IP and the externalIP points at node 1, as an
# upstream router's would.
#   - vswitchd routes each external address (a policy VIP outside the service CIDR) into the
#     switch (/32 via 169.254.1.1 on vsw0, proto 86) and takes the route away with the policy;
#   - TCP and UDP to the LB IP, balanced over a backend on each node: every answer comes, and
#     every backend sees the outside client's own address (DSR);
#   - an externalIP whose only backend is on node 2: answered, and a capture on node 1's
#     underlay interface shows none of the replies (they leave node 2 straight for the
#     client, source the externalIP and port the client used), while node 2's shows them;
#   - --no-dsr: the backend sees node 1 (its gateway), the answer comes back through node 1;
#   - traffic to the node that is not for a Service (an ssh-like TCP server of node 1) is
#     untouched;
#   - source ranges (loadBalancerSourceRanges): a client outside them gets nothing, its SYNs
#     counted as source_range; one inside is served; they survive a restart.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require tcpdump

LB=203.0.113.10 EXT=198.51.100.20 EXT_SNAT=198.51.100.21
add_two_nodes_and_outside
peer_nodes node1 node2
N1=${VSW_NODE_IP[node1]}
OUT=${VSW_NODE_IP[outside]}
for a in $LB $EXT $EXT_SNAT; do
    ns_exec outside ip route add "$a/32" via "$N1" || fail "outside: route to $a via node1"
done
add_pod node1 be1 10.244.1.11
add_pod node2 be2 10.244.2.11
for p in be1 be2; do
    ip -n "$(ns $p)" link set eth0 mtu 1450
    svc_start $p whoami-server 8080 $p
done

for n in node1 node2; do
    assert_ok "$n: LB IP $LB:80/tcp over be1 and be2" vsctl_on $n add-lb $LB:80/tcp \
        10.244.1.11:8080 10.244.2.11:8080 --name lb-tcp
    assert_ok "$n: LB IP $LB:53/udp over be1 and be2" vsctl_on $n add-lb $LB:53/udp \
        10.244.1.11:8080 10.244.2.11:8080 --name lb-udp
    assert_ok "$n: externalIP $EXT:80/tcp, only be2 (node 2)" vsctl_on $n add-lb $EXT:80/tcp \
        10.244.2.11:8080 --name ext-tcp
    assert_ok "$n: externalIP $EXT_SNAT:80/tcp without DSR" vsctl_on $n add-lb \
        $EXT_SNAT:80/tcp 10.244.2.11:8080 --no-dsr --name ext-snat
done
routes=$(ip -n "$(ns node1)" route show proto 86)
for a in $LB $EXT $EXT_SNAT; do
    assert_match "node1 routes $a into the switch" \
        "^${a//./\\.} via 169\.254\.1\.1 dev vsw0 src 10\.244\.1\.1 onlink" "$routes"
done
assert_eq "one route per address, however many ports" 1 "$(grep -c "^${LB//./\\.} " <<<"$routes")"
assert_no_match "no route for the node's own address" "^${N1//./\\.} " "$routes"

# --- the LB IP, TCP and UDP: DSR, the backends see the outside client ---------------------------
out=$(for _ in $(seq 30); do ns_exec outside "$VSW_PY" "$VSW_SVC" whoami $LB 80 tcp; done)
log "TCP via $LB: $(sort <<<"$out" | uniq -c | tr '\n' ';')"
assert_eq "30 TCP connections to the LB IP answered, each seeing $OUT" 30 \
    "$(grep -Ec "^be[12] ${OUT//./\\.} " <<<"$out")"
assert_ge "be1 (node 1) served" "$(grep -c '^be1 ' <<<"$out")" 1
assert_ge "be2 (node 2) served" "$(grep -c '^be2 ' <<<"$out")" 1
out=$(for _ in $(seq 20); do ns_exec outside "$VSW_PY" "$VSW_SVC" whoami $LB 53 udp; done)
log "UDP via $LB: $(sort <<<"$out" | uniq -c | tr '\n' ';')"
assert_eq "20 UDP datagrams to the LB IP answered, each seeing $OUT" 20 \
    "$(grep -Ec "^be[12] ${OUT//./\\.} " <<<"$out")"

# --- node 2's replies never pass node 1 ------------------------------------------------------------
assert_replies_skip_node1 "$EXT" 80

# --- without DSR: source NAT to the node ------------------------------------------------------------
out=$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami $EXT_SNAT 80 tcp)
assert_eq "--no-dsr: be2 sees node 1's gateway" "be2 10.244.1.1 10.244.2.11" "$out"

# --- traffic to the node that is not for a Service ---------------------------------------------------
assert_node1_traffic_untouched

# --- loadBalancerSourceRanges: others dropped and counted ----------------------------------------
LB2=203.0.113.11 LB3=203.0.113.12
ns_exec outside ip route add "$LB2/32" via "$N1" || fail "outside: route to $LB2"
ns_exec outside ip route add "$LB3/32" via "$N1" || fail "outside: route to $LB3"
assert_ok "node1: $LB2 admits only 192.0.2.0/24" vsctl_on node1 add-lb $LB2:80/tcp \
    10.244.1.11:8080 --source-ranges 192.0.2.0/24 --name lb-ranges-other
assert_ok "node1: $LB3 admits the outside's subnet" vsctl_on node1 add-lb $LB3:80/tcp \
    10.244.1.11:8080 --source-ranges 192.0.2.0/24,"${OUT%.*}.0/24" --name lb-ranges-ours
assert_fail "a range with host bits is refused" vsctl_on node1 add-lb $LB3:81/tcp \
    10.244.1.11:8080 --source-ranges 192.0.2.1/24
assert_match "dump-policies shows the ranges" "^    Source IP : 192\.0\.2\.0/24, ${OUT%.*}\.0/24\$" \
    "$(policy_block node1 lb-ranges-ours)"
d0=$(drop_count node1 source_range)
assert_match "a client outside the ranges gets nothing" "^timeout" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami $LB2 80 tcp)"
assert_ge "and its SYNs were dropped and counted (source_range)" \
    "$(drop_count node1 source_range)" $((d0 + 1))
assert_eq "a client inside them is served" "be1 $OUT 10.244.1.11" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami $LB3 80 tcp)"
stop_vswitchd node1
restart_vswitchd node1
assert_match "after a restart the ranges are restored from the database" \
    "^    Source IP : 192\.0\.2\.0/24, ${OUT%.*}\.0/24\$" "$(policy_block node1 lb-ranges-ours)"
assert_match "and still enforced" "^timeout" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami $LB2 80 tcp)"

# --- a policy gone takes its route with it -----------------------------------------------------------
assert_ok "del-lb $EXT_SNAT:80/tcp on node1" vsctl_on node1 del-lb $EXT_SNAT:80/tcp
assert_no_match "the route to $EXT_SNAT is gone" "^${EXT_SNAT//./\\.} " \
    "$(ip -n "$(ns node1)" route show proto 86)"
