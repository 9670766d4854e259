#!/usr/bin/env bash
# A TAP pod port: `vsctl add-port NAME --type tap` makes the switch create the TAP (with
# IFF_VNET_HDR) in the node; the test moves it into a pod namespace.  It talks to a veth pod
# and to the node, with TCP at full offload.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_tap_pod node tpod 10.244.1.10
add_pod node vpod 10.244.1.11

ping_ok tpod 10.244.1.11
ping_ok vpod 10.244.1.10
ping_ok tpod 10.244.1.1
ping_ok node 10.244.1.10
assert_match "the TAP port is listed" '^tp-tpod$' "$(port_names node)"

# TCP both ways between the TAP pod and the veth pod, bytes counted and hashed.
tcp_xfer tpod vpod 10.244.1.11 $((128 * 1024 * 1024))
tcp_xfer vpod tpod 10.244.1.10 $((128 * 1024 * 1024))

iperf_server tpod 5201
js=$(ns_exec vpod timeout 30 iperf3 -c 10.244.1.10 -p 5201 -t 2 -J) || fail "iperf3 vpod -> tpod failed"
log "info: veth -> TAP $(echo "$js" | jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100') Gbit/s"
js=$(ns_exec vpod timeout 30 iperf3 -c 10.244.1.10 -p 5201 -t 2 -J -R) || fail "iperf3 tpod -> vpod failed"
log "info: TAP -> veth $(echo "$js" | jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100') Gbit/s"
