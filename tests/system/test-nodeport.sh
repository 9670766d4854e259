#!/usr/bin/env bash
# NodePorts on the nodes' own addresses (issue 16): two nodes on an underlay bridge and an
# "outside" client on it (add_two_nodes_and_outside).  A policy 0.0.0.0:PORT/PROTO answers on
# every address of its node: vswitchd learns them by netlink, and a tc program on the uplink
# (u0) steers NODE_IP:NODEPORT into the switch through vsw0.
#   - TCP and UDP to both nodes' addresses, balanced over a backend on each node; every
#     backend sees the outside client (DSR); dump-policies shows the rule with IsDSR and
#     dump-flows the pair with the address the client used;
#   - a NodePort served by node 2's pod, reached through node 1: a capture on node 1's uplink
#     sees none of the replies, node 2's sees them, from NODE1_IP:NODEPORT;
#   - --no-dsr: the backend sees node 1's gateway;
#   - externalTrafficPolicy Local (as the proxy programs it): node 1 has no local endpoint and
#     balances nothing (the client is refused), node 2 serves from its own pod;
#   - source ranges on a NodePort policy: others dropped and counted;
#   - a NodePort on one node address (vswitch-proxy --nodeport-addresses): steered as well,
#     and no route made for the address;
#   - the node itself reaches its own NodePort (steered at lo's egress), TCP and UDP, and the
#     other node's;
#   - traffic to the node that is not for a NodePort (an ssh-like server on the node's
#     address) is untouched, and so is the reply to a connection the node itself opened from
#     a port that is also a NodePort;
#   - vsctl show counts what was steered; the filter goes with the last NodePort policy and
#     with a clean exit, and comes back with a restart;
#   - where the kernel refuses the program (no CAP_BPF), one warning, nothing attached, and the
#     node's pods still reach the NodePort through the switch.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require tcpdump curl setpriv

add_two_nodes_and_outside
peer_nodes node1 node2
N1=${VSW_NODE_IP[node1]} N2=${VSW_NODE_IP[node2]} OUT=${VSW_NODE_IP[outside]}
add_pod node1 be1 10.244.1.11
add_pod node2 be2 10.244.2.11
add_pod node1 client 10.244.1.20
for p in be1 be2 client; do ip -n "$(ns $p)" link set eth0 mtu 1450; done
for p in be1 be2; do
    svc_start $p whoami-server 8080 $p
done

# ingress_filters NODE: how many of vswitchd's NodePort filters NODE's uplink has.
ingress_filters() { ns_exec "$1" tc filter show dev u0 ingress 2>/dev/null | grep -c 'np_tc'; }

assert_eq "no NodePort policy yet: nothing attached to node1's uplink" 0 \
    "$(ingress_filters node1)"
for n in node1 node2; do
    assert_ok "$n: NodePort 0.0.0.0:30080/tcp over be1 and be2" vsctl_on $n add-lb \
        0.0.0.0:30080/tcp 10.244.1.11:8080 10.244.2.11:8080 --name np-tcp
    assert_ok "$n: NodePort 0.0.0.0:30053/udp over be1 and be2" vsctl_on $n add-lb \
        0.0.0.0:30053/udp 10.244.1.11:8080 10.244.2.11:8080 --name np-udp
    assert_ok "$n: NodePort 0.0.0.0:30081/tcp, only be2 (node 2)" vsctl_on $n add-lb \
        0.0.0.0:30081/tcp 10.244.2.11:8080 --name np-be2
    assert_ok "$n: NodePort 0.0.0.0:30082/tcp without DSR" vsctl_on $n add-lb \
        0.0.0.0:30082/tcp 10.244.2.11:8080 --no-dsr --name np-snat
done
assert_fail "a NodePort cannot be preserve-dip (no backend holds every node address)" \
    vsctl_on node1 add-lb 0.0.0.0:30089/tcp 10.244.1.11:30089 --preserve-dip
assert_eq "the filter is attached to node1's uplink" 1 "$(ingress_filters node1)"
assert_match "vsctl show: steering on u0 and lo, the node's address" \
    "^nodeport: steering=tc uplinks=u0 local=lo addresses=${N1//./\\.} entries=4 " \
    "$(vsctl_on node1 show)"
assert_eq "vsw0 accepts the node's own address as a source (replies)" "1 2" \
    "$(ns_exec node1 cat /proc/sys/net/ipv4/conf/vsw0/accept_local /proc/sys/net/ipv4/conf/vsw0/rp_filter | tr '\n' ' ' | sed 's/ $//')"
assert_no_match "no route for 0.0.0.0 or the node's address" "^(0\.0\.0\.0|${N1//./\\.}) " \
    "$(ip -n "$(ns node1)" route show proto 86)"
block=$(policy_block node1 np-tcp)
assert_match "dump-policies: the NodePort's rule" \
    "Destination IP : 0\.0\.0\.0 \(every address of this node: a NodePort\)" "$block"
assert_match "dump-policies: with IsDSR" "IsDSR: TRUE" "$block"

# --- TCP and UDP to both nodes' addresses: DSR, the backends see the outside client ----------
for a in "$N1" "$N2"; do
    out=$(for _ in $(seq 30); do ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$a" 30080 tcp; done)
    log "TCP via $a:30080: $(sort <<<"$out" | uniq -c | tr '\n' ';')"
    assert_eq "30 TCP connections to $a:30080 answered, each seeing $OUT" 30 \
        "$(grep -Ec "^be[12] ${OUT//./\\.} " <<<"$out")"
    assert_ge "via $a: be1 (node 1) served" "$(grep -c '^be1 ' <<<"$out")" 1
    assert_ge "via $a: be2 (node 2) served" "$(grep -c '^be2 ' <<<"$out")" 1
    out=$(for _ in $(seq 20); do ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$a" 30053 udp; done)
    log "UDP via $a:30053: $(sort <<<"$out" | uniq -c | tr '\n' ';')"
    assert_eq "20 UDP datagrams to $a:30053 answered, each seeing $OUT" 20 \
        "$(grep -Ec "^be[12] ${OUT//./\\.} " <<<"$out")"
done
pairs=$(flow_pairs node1)
assert_match "dump-flows: node1's pairs carry the node address the client used" \
    "orig=\(src=${OUT//./\\.},dst=(${N1//./\\.}|${N2//./\\.}),sport=[0-9]+,dport=30080\),reply=\(src=10\.244\.1\.11,dst=${OUT//./\\.}," \
    "$pairs"
assert_no_match "and never 0.0.0.0" "dst=0\.0\.0\.0" "$pairs"
assert_match "vsctl show counts the steered packets" "steered=[1-9][0-9]* " \
    "$(vsctl_on node1 show | grep '^nodeport:')"
assert_match "and /metrics" "^vswitch_nodeport_steered_packets_total [1-9]" \
    "$(ns_exec node1 curl -s http://127.0.0.1:9479/metrics)"

# A pod reaches the NodePorts too: its own node's (balanced by its switch; a reply of node 2's
# backend comes back over the overlay from N1:30080) and the other node's (through node 1's
# masquerade and node 2's uplink).
for a in "$N1" "$N2"; do
    out=$(for _ in $(seq 20); do ns_exec client "$VSW_PY" "$VSW_SVC" whoami "$a" 30080 tcp; done)
    log "pod client via $a:30080: $(sort <<<"$out" | uniq -c | tr '\n' ';')"
    assert_eq "20 connections of pod client to $a:30080 answered" 20 \
        "$(grep -Ec '^be[12] ' <<<"$out")"
    assert_ge "via $a: both backends served the pod" "$(cut -d' ' -f1 <<<"$out" | sort -u | wc -l)" 2
done

# The node itself reaches its own NodePort (steered at lo's egress) and the other node's: a
# local backend sees the node's address, a remote one its gateway (the node is source-NAT'd
# for a backend on another node, whose answer would otherwise come over the underlay).
for proto in tcp udp; do
    port=30080
    [ $proto = udp ] && port=30053
    out=$(for _ in $(seq 20); do ns_exec node1 "$VSW_PY" "$VSW_SVC" whoami "$N1" $port $proto; done)
    log "node1 via $N1:$port/$proto: $(sort <<<"$out" | uniq -c | tr '\n' ';')"
    assert_eq "node1 -> its own $N1:$port/$proto: 20 answered" 20 \
        "$(grep -Ec "^(be1 ${N1//./\\.}|be2 10\.244\.1\.1) " <<<"$out")"
    assert_ge "and both backends served it" "$(cut -d' ' -f1 <<<"$out" | sort -u | wc -l)" 2
done
out=$(for _ in $(seq 10); do ns_exec node1 "$VSW_PY" "$VSW_SVC" whoami "$N2" 30080 tcp; done)
assert_eq "node1 -> node2's $N2:30080: 10 answered" 10 "$(grep -Ec '^be[12] ' <<<"$out")"

# --- node 2's replies never pass node 1 ------------------------------------------------------
assert_replies_skip_node1 "$N1" 30081

# --- without DSR: source NAT to the node -------------------------------------------------------
assert_eq "--no-dsr: be2 sees node 1's gateway" "be2 10.244.1.1 10.244.2.11" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$N1" 30082 tcp)"

# --- externalTrafficPolicy Local: each node only its own endpoints ------------------------------
assert_ok "node1: 0.0.0.0:30083/tcp with no local endpoint" vsctl_on node1 add-lb \
    0.0.0.0:30083/tcp --name np-local
assert_ok "node2: 0.0.0.0:30083/tcp with its own be2" vsctl_on node2 add-lb \
    0.0.0.0:30083/tcp 10.244.2.11:8080 --name np-local
assert_match "node1, without a local endpoint, balances nothing: refused" "^refused " \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" tcp-refused "$N1" 30083)"
assert_eq "and counts it as rejected" 1 "$(policy_stat node1 0.0.0.0:30083/tcp rejected)"
assert_eq "node2 serves it from be2, keeping the client's address" "be2 $OUT 10.244.2.11" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$N2" 30083 tcp)"

# --- source ranges -------------------------------------------------------------------------------
assert_ok "node1: 0.0.0.0:30084/tcp admits only 192.0.2.0/24" vsctl_on node1 add-lb \
    0.0.0.0:30084/tcp 10.244.1.11:8080 --source-ranges 192.0.2.0/24 --name np-ranges
assert_ok "node1: 0.0.0.0:30085/tcp admits the outside's subnet" vsctl_on node1 add-lb \
    0.0.0.0:30085/tcp 10.244.1.11:8080 --source-ranges "${OUT%.*}.0/24" --name np-ranges-ours
d0=$(drop_count node1 source_range)
assert_match "a client outside the ranges gets nothing" "^timeout" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$N1" 30084 tcp)"
assert_ge "and its SYNs were dropped and counted (source_range)" \
    "$(drop_count node1 source_range)" $((d0 + 1))
assert_eq "a client inside them is served" "be1 $OUT 10.244.1.11" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$N1" 30085 tcp)"

# --- a NodePort on one node address (what vswitch-proxy --nodeport-addresses makes) -----------
assert_ok "node1: $N1:30086/tcp, a NodePort on that address alone" vsctl_on node1 add-lb \
    "$N1:30086/tcp" 10.244.1.11:8080 --name np-one-address
assert_eq "served on that address, the client's address kept" "be1 $OUT 10.244.1.11" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$N1" 30086 tcp)"
assert_no_match "and no route is made for the node's own address" "^${N1//./\\.} " \
    "$(ip -n "$(ns node1)" route show proto 86)"

# --- what is not for a NodePort is untouched ----------------------------------------------------
assert_node1_traffic_untouched
# The node's own connection from local port 30080, a NodePort: its replies arrive for
# N1:30080 and must reach the node's socket, not the switch.
svc_start outside http-server 9000 outside-web
own0=$(vsctl_on node1 --json show | jq '.nodeport.own_socket')
assert_match "node1 -> outside from local port 30080 (a NodePort) is answered" \
    "^outside-web ${N1//./\\.} 30080" \
    "$(ns_exec node1 curl -s --max-time 3 --local-port 30080 "http://$OUT:9000/")"
assert_ge "its replies were left to the node's socket (counted)" \
    "$(vsctl_on node1 --json show | jq '.nodeport.own_socket')" $((own0 + 1))

# --- the filter goes with the last NodePort policy and a clean exit -----------------------------
for s in 30080/tcp 30053/udp 30081/tcp 30082/tcp 30083/tcp 30084/tcp 30085/tcp; do
    vsctl_on node1 del-lb "0.0.0.0:$s" >/dev/null || fail "del-lb 0.0.0.0:$s on node1"
done
vsctl_on node1 del-lb "$N1:30086/tcp" >/dev/null || fail "del-lb $N1:30086/tcp on node1"
assert_eq "no NodePort policy left: the filter is detached" 0 "$(ingress_filters node1)"
assert_match "vsctl show: steering idle" "^nodeport: steering=idle uplinks=- local=- " \
    "$(vsctl_on node1 show)"
assert_eq "and nothing left at lo's egress" 0 \
    "$(ns_exec node1 tc filter show dev lo egress 2>/dev/null | grep -c np_tc)"
assert_eq "and $N1:30080 is the node's own again (refused by its stack)" 0 \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" tcp-refused "$N1" 30080 >/dev/null; echo $?)"
vsctl_on node1 add-lb 0.0.0.0:30080/tcp 10.244.1.11:8080 --name np-tcp >/dev/null ||
    fail "add-lb again"
assert_eq "attached again with a NodePort policy" 1 "$(ingress_filters node1)"
stop_vswitchd node1
assert_eq "a clean exit detaches it" 0 "$(ingress_filters node1)"
restart_vswitchd node1
assert_eq "a restart with the policy restored attaches it again" 1 "$(ingress_filters node1)"
assert_eq "and serves $N1:30080" "be1 $OUT 10.244.1.11" \
    "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$N1" 30080 tcp)"

# --- where the kernel refuses the program: said once, and no steering ---------------------------
stop_vswitchd node1
without_bpf
restart_vswitchd node1
vsctl_on node1 add-lb 0.0.0.0:30081/tcp 10.244.1.11:8080 --name np-more >/dev/null ||
    fail "add-lb without CAP_BPF"
assert_match "vsctl show: steering refused" "^nodeport: steering=refused " \
    "$(vsctl_on node1 show)"
assert_eq "one warning about it, however many policies" 1 \
    "$(grep -c 'NodePort steering program' "${VSW_LOG[node1]}")"
assert_eq "nothing attached" 0 "$(ingress_filters node1)"
assert_eq "a pod of the node still reaches the NodePort through its switch" \
    "be1 10.244.1.20 10.244.1.11" \
    "$(ns_exec client "$VSW_PY" "$VSW_SVC" whoami "$N1" 30080 tcp)"
with_bpf
