#!/usr/bin/env bash
# Pods addressed as /32 with an on-link route to the gateway (as Calico and Cilium do): they
# reach each other, /24 pods and the node through the gateway; routed packets have their TTL
# decremented.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pod node pod1 10.244.1.2 --slash32
add_pod node pod2 10.244.1.3 --slash32
add_pod node pod3 10.244.1.4

ping_ok pod1 10.244.1.3
ping_ok pod2 10.244.1.2
ping_ok pod1 10.244.1.4
ping_ok pod3 10.244.1.2
ping_ok pod1 10.244.1.1
ping_ok node 10.244.1.2

# /32 to /32 is routed both ways: the echo reply arrives with TTL 64 - 1.
out=$(ns_exec pod1 ping -n -c 1 -W 2 10.244.1.3)
assert_match "routed reply has TTL 63" 'ttl=63' "$out"

tcp_xfer pod1 pod2 10.244.1.3 $((64 * 1024 * 1024))
