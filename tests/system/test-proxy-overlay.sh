#!/usr/bin/env bash
# vswitch-proxy on two nodes: Node objects become overlay peers on each switch (every other
# node's InternalIP and pod CIDR, never itself), a Service whose endpoints live on the other
# node is reached through its cluster IP across VXLAN (DSR: the backend sees the client's own
# address), a Node deleted removes its peer, and a pod CIDR moved to another node moves the peer
# in one batch.
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight

add_ns node1 node2
add_veth node1 u0 node2 u0
ip -n "$(ns node1)" addr add 192.168.50.1/24 dev u0 || fail "underlay address"
ip -n "$(ns node2)" addr add 192.168.50.2/24 dev u0 || fail "underlay address"
start_vswitchd node1 10.244.1.0/24 --node-ip 192.168.50.1
start_vswitchd node2 10.244.2.0/24 --node-ip 192.168.50.2
add_pod node1 client 10.244.1.20
add_pod node2 be1 10.244.2.11
add_pod node2 be2 10.244.2.12
for p in client be1 be2; do ip -n "$(ns $p)" link set eth0 mtu 1450; done
svc_start be1 http-server 8080 be1
svc_start be2 http-server 8080 be2

# The API server runs in node1; both proxies run there too (they reach their switch by its
# control socket, which is a path), on their own health and metrics ports.
k8s_start node1
k8sctl node node1 --ip 192.168.50.1 --cidr 10.244.1.0/24
k8sctl node node2 --ip 192.168.50.2 --cidr 10.244.2.0/24
k8sctl node node3 --ip 192.168.50.3 --cidr 10.244.3.0/24
k8sctl service default web --ip 10.96.0.10 --port http:80/TCP
k8sctl slice default web-a --service web --port http:8080/TCP \
    --ep 10.244.2.11,node=node2 --ep 10.244.2.12,node=node2

proxy_start node1 --sync-period 2s
proxy_start_in node1 node2 --healthz-bind-address 127.0.0.1:20256 \
    --metrics-bind-address 127.0.0.1:20249 --sync-period 2s
wait_synced node1

peers() { vsctl_on "$1" --json show | jq -r '.peers[] | "\(.node_ip) \(.pod_cidr)"' | sort | tr '\n' ' '; }
_peers_are() { [ "$(peers "$1")" == "$2" ]; }
wait_peers() {
    wait_until 10 _peers_are "$1" "$2" || fail "peers of $1: expected '$2', got '$(peers "$1")'"
    log "ok: peers of $1: $2"
}
wait_peers node1 "192.168.50.2 10.244.2.0/24 192.168.50.3 10.244.3.0/24 "
wait_peers node2 "192.168.50.1 10.244.1.0/24 192.168.50.3 10.244.3.0/24 "
wait_policy node1 10.96.0.10:80/tcp \
    "10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0 10.244.2.11:8080,10.244.2.12:8080"
wait_policy node2 10.96.0.10:80/tcp \
    "10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0 10.244.2.11:8080,10.244.2.12:8080"

out=$(curl_many client http://10.96.0.10/ 20)
assert_eq "20 requests across the overlay answered" 20 "$(echo "$out" | grep -c '^be[12] ')"
assert_eq "both remote endpoints served" "be1 be2 " "$(echo "$out" | awk '{print $1}' | sort -u | tr '\n' ' ')"
assert_eq "DSR across nodes: the backends saw the client" "10.244.1.20" \
    "$(echo "$out" | awk '{print $2}' | sort -u)"

# A Node deleted: its peer goes.  A pod CIDR that moves to another node moves the peer.
k8sctl delete nodes - node3
wait_peers node1 "192.168.50.2 10.244.2.0/24 "
k8sctl node node4 --ip 192.168.50.4 --cidr 10.244.4.0/24
wait_peers node1 "192.168.50.2 10.244.2.0/24 192.168.50.4 10.244.4.0/24 "
k8sctl delete nodes - node4
k8sctl node node5 --ip 192.168.50.5 --cidr 10.244.4.0/24
wait_peers node1 "192.168.50.2 10.244.2.0/24 192.168.50.5 10.244.4.0/24 "
out=$(curl_many client http://10.96.0.10/ 4)
assert_eq "traffic still flows after the peer changes" 4 "$(echo "$out" | grep -c '^be[12] ')"
proxy_stop node2
proxy_stop node1
log "PASS"
