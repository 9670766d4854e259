#!/usr/bin/env bash
# Hit counters of a DSR policy across nodes: the client's node counts the connections it
# dispatched by MAC and their packets; the backend's node counts the flow pairs it created.
# dump-policies says that the rule dispatches.
. "$(dirname "$0")/../lib/lib.sh"
preflight
add_underlay
add_overlay_node node1 1
add_overlay_node node2 2
peer_nodes node1 node2
add_pod node1 client 10.244.1.20
add_pod node2 be 10.244.2.11
svc_start be http-server 8080 be
for n in node1 node2; do vsctl_on $n add-lb 10.96.0.10:80/tcp 10.244.2.11:8080 >/dev/null; done
answered=$(curl_many client http://10.96.0.10/ 10 | grep -c '^be ')
assert_eq "10 requests answered through the VIP" 10 "$answered"

hits1=$(vsctl_on node1 dump-policies | grep '^Hits')
hits2=$(vsctl_on node2 dump-policies | grep '^Hits')
assert_match "node1 dispatched the 10 connections and created no pair ($hits1)" \
    'connections=0 dispatched=10 rejected=0 active_flow_pairs=0$' "$hits1"
assert_no_match "node1 counted their packets ($hits1)" 'packets=0 ' "$hits1"
assert_match "node2 created the 10 pairs ($hits2)" 'connections=10 dispatched=0 ' "$hits2"
assert_match "dump-policies says the rule dispatches" \
    '^Dispatching by MAC to backends on other nodes' "$(vsctl_on node1 dump-policies)"
