#!/usr/bin/env bash
# The node's routes into the switch (issue 15): two nodes on an overlay, each vswitchd with
# --cluster-cidr and --service-cidr.  add-peer gives the node one route to the peer's pod
# CIDR (via 169.254.1.1 on vsw0, proto 86, source the gateway), never two, and del-peer takes
# it away; the service CIDR is routed the same way.  With them the node reaches pods on the
# other node (ping, a hashed TCP transfer), a process in the node namespace (hostNetwork)
# reaches a cluster IP whose backends are on both nodes, balanced by the switch, and a pod
# reaches the other node's own address and a Service whose endpoint is that address (as the
# `kubernetes` Service's are).  A restart restores the routes, and one with another
# --service-cidr replaces the old route, leaving nobody else's routes touched.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl nft

add_two_nodes_and_outside
N1=${VSW_NODE_IP[node1]} N2=${VSW_NODE_IP[node2]}
add_pod node1 a 10.244.1.10
add_pod node2 b 10.244.2.10
add_pod node2 c 10.244.2.11
for p in a b c; do ip -n "$(ns $p)" link set eth0 mtu 1450; done

# vsw_routes NODE: the routes vswitchd installed in NODE, one per line.
vsw_routes() { ip -n "$(ns "$1")" route show proto 86 | sed "s/ *$//" | sort; }

NH="169.254.1.1 dev vsw0 scope link src 10.244.1.1"
assert_match "vsctl show: the cluster's CIDRs and the masquerade" \
    "^cluster: cluster_cidr=10\.244\.0\.0/16 service_cidr=10\.96\.0\.0/12 masquerade=nftables\(ip vswitch\)\$" \
    "$(vsctl_on node1 show)"
assert_eq "vsctl --json show: the same" "10.244.0.0/16 10.96.0.0/12 true" \
    "$(vsctl_on node1 --json show | jq -r '.daemon | "\(.cluster_cidr) \(.service_cidr) \(.masquerade)"')"
assert_eq "before add-peer: only the service CIDR is routed into the switch" \
    "10.96.0.0/12 via 169.254.1.1 dev vsw0 src 10.244.1.1 onlink
$NH" "$(vsw_routes node1)"
assert_match "the next hop is the router MAC, permanently" \
    "169.254.1.1 lladdr 0a:58:0a:f4:01:01 PERMANENT" "$(ip -n "$(ns node1)" neigh show dev vsw0)"
peer_nodes node1 node2
peer_nodes node1 node2          # twice: replaced, never duplicated
assert_eq "add-peer twice: one route to node2's pods" \
    "10.244.2.0/24 via 169.254.1.1 dev vsw0 src 10.244.1.1 onlink
10.96.0.0/12 via 169.254.1.1 dev vsw0 src 10.244.1.1 onlink
$NH" "$(vsw_routes node1)"

# --- node -> pod on another node ---------------------------------------------------------
ping_ok node1 10.244.2.10
ping_ok node2 10.244.1.10
tcp_xfer node1 b 10.244.2.10 $((8 << 20)) 7001
tcp_xfer b node1 10.244.1.1 $((2 << 20)) 7002

# --- pod -> the other node's own address, and a Service whose endpoint it is ------------------
ping_ok a "$N2"
svc_start node2 http-server 6443 apiserver-node2
out=$(ns_exec a curl -s --max-time 3 "http://$N2:6443/")
assert_match "pod a -> node2's own address (masqueraded as node1)" "^apiserver-node2 ${N1//./\\.} " "$out"
vsctl_on node1 add-lb 10.96.0.1:443/tcp "$N2:6443" --name default/kubernetes:https ||
    fail "add-lb with a node address as endpoint"
answers=$(curl_many a http://10.96.0.1:443/ 10)
assert_eq "pod a -> 10.96.0.1:443 (endpoint: node2's address): 10/10 answered" 10 \
    "$(grep -c '^apiserver-node2 ' <<<"$answers")"

# --- the node (hostNetwork) -> a cluster IP with backends on both nodes -----------------------
svc_start a http-server 8080 web-a
svc_start b http-server 8080 web-b
svc_start c http-server 8080 web-c
for n in node1 node2; do
    vsctl_on $n add-lb 10.96.0.10:80/tcp 10.244.1.10:8080 10.244.2.10:8080 10.244.2.11:8080 ||
        fail "add-lb on $n"
done
answers=$(ns_exec node1 bash -c 'for ((i = 0; i < 60; i++)); do
    curl -s --max-time 3 --local-port $((30000 + i)) http://10.96.0.10/ || echo FAILED; done')
assert_eq "node1 -> 10.96.0.10: 60/60 answered" 60 "$(grep -c '^web-' <<<"$answers")"
for w in web-a web-b web-c; do
    assert_ge "node1 -> 10.96.0.10: $w served some" "$(grep -c "^$w " <<<"$answers")" 1
done
assert_eq "every backend saw the node's gateway address (DSR, no SNAT)" "10.244.1.1" \
    "$(awk '{print $2}' <<<"$answers" | sort -u)"
# A hostNetwork process bound to the node's own address: DSR to a pod on another node would
# be answered over the underlay, so those connections are source-NAT'd to the gateway.
answers=$(ns_exec node1 bash -c 'for ((i = 0; i < 40; i++)); do
    curl -s --max-time 3 --interface "$0" http://10.96.0.10/ || echo FAILED; done' "$N1")
assert_eq "node1 from its own address $N1 -> 10.96.0.10: 40/40 answered" 40 \
    "$(grep -c '^web-' <<<"$answers")"
assert_eq "... seen by a's as $N1 (local, DSR), by b and c as the gateway (SNAT)" \
    "web-a $N1
web-b 10.244.1.1
web-c 10.244.1.1" "$(awk '{print $1, $2}' <<<"$answers" | sort -u)"
# The node through a Service whose endpoint is its own address (the kubernetes Service on a
# control-plane node): sent back to the host port from the host router's address.
svc_start node1 http-server 6443 apiserver-node1
vsctl_on node1 add-lb 10.96.0.2:443/tcp "$N1:6443" || fail "add-lb to node1's own address"
answers=$(ns_exec node1 bash -c 'for ((i = 0; i < 10; i++)); do
    curl -s --max-time 3 http://10.96.0.2:443/ || echo FAILED; done')
assert_eq "node1 -> 10.96.0.2:443 (endpoint: node1's own address): 10/10, from 169.254.1.1" \
    "10 apiserver-node1 169.254.1.1" "$(awk '{print $1, $2}' <<<"$answers" | sort | uniq -c | sed 's/^ *//')"
answers=$(ns_exec node2 bash -c 'for ((i = 0; i < 20; i++)); do
    curl -s --max-time 3 http://10.96.0.10/ || echo FAILED; done')
assert_eq "node2 -> 10.96.0.10: 20/20 answered" 20 "$(grep -c '^web-' <<<"$answers")"

# --- del-peer, restart ----------------------------------------------------------------------
ip -n "$(ns node1)" route add 10.250.0.0/16 dev vsw0 || fail "cannot add a foreign route"
vsctl_on node1 del-peer "$N2" || fail "del-peer"
assert_eq "del-peer: the route to node2's pods is gone" \
    "10.96.0.0/12 via 169.254.1.1 dev vsw0 src 10.244.1.1 onlink
$NH" "$(vsw_routes node1)"
ping_fails node1 10.244.2.10
peer_nodes node1 node2
for n in node1 node2; do
    vsctl_on $n add-lb 10.112.0.10:80/tcp 10.244.1.10:8080 10.244.2.10:8080 10.244.2.11:8080 ||
        fail "add-lb 10.112.0.10 on $n"
done
stop_vswitchd node1
VSW_ARGS[node1]=${VSW_ARGS[node1]/$VSW_SVC_CIDR/10.112.0.0/16}
restart_vswitchd node1
# The policies of 10.96.0.0/12 are now outside the service CIDR: external addresses to this
# vswitchd (issue 16), routed one /32 each.
EXT="via 169.254.1.1 dev vsw0 src 10.244.1.1 onlink"
assert_eq "restart with --service-cidr 10.112.0.0/16: peer route restored, service route moved" \
    "10.112.0.0/16 via 169.254.1.1 dev vsw0 src 10.244.1.1 onlink
10.244.2.0/24 via 169.254.1.1 dev vsw0 src 10.244.1.1 onlink
10.96.0.1 $EXT
10.96.0.10 $EXT
10.96.0.2 $EXT
$NH" "$(vsw_routes node1)"
assert_match "a route vswitchd did not make is left alone" "^10.250.0.0/16 scope link" \
    "$(ip -n "$(ns node1)" route show dev vsw0)"
ping_ok node1 10.244.2.10
tcp_xfer node1 c 10.244.2.11 $((4 << 20)) 7003
answers=$(ns_exec node1 bash -c 'for ((i = 0; i < 20; i++)); do
    curl -s --max-time 3 http://10.112.0.10/ || echo FAILED; done')
assert_eq "after the restart: node1 -> 10.112.0.10, 20/20 answered (policy restored, routed)" 20 \
    "$(grep -c '^web-' <<<"$answers")"
assert_match "after the restart: the masquerade rule, with the new service CIDR" \
    'ip daddr != \{ 10\.112\.0\.0/16, 10\.244\.0\.0/16, 224\.0\.0\.0/4 \}' \
    "$(ns_exec node1 nft list table ip vswitch)"
assert_match "after the restart: pod a -> node2's own address" "^apiserver-node2 ${N1//./\\.} " \
    "$(ns_exec a curl -s --max-time 3 "http://$N2:6443/")"
