#!/usr/bin/env bash
# vswitch-proxy against a server that serves EndpointSlices only as discovery.k8s.io/v1beta1
# (Kubernetes 1.19 and 1.20): the v1 list answers 404, the proxy says so once and reads
# v1beta1, whose endpoints name their node only in topology["kubernetes.io/hostname"] (the
# EndpointSliceNodeName gate off), and the policies are the same as from v1: all endpoints for
# a Service, this node's only with internalTrafficPolicy Local; a watch event on v1beta1 is
# followed; real HTTP through the cluster IP.
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight

add_node node 10.244.1.0/24
add_pod node client 10.244.1.20
for i in 1 2; do
    add_pod node be$i 10.244.1.1$i
    svc_start be$i http-server 8080 be$i
done
export K8S_DISCOVERY_VERSION=v1beta1
k8s_start node --discovery-version v1beta1

out=$(ns_exec node "$VSW_PY" "$K8S_DIR/k8sctl.py" raw GET \
      /apis/discovery.k8s.io/v1/endpointslices 2>&1)
assert_match "the server does not serve discovery.k8s.io/v1" '"code": 404' "$out"

k8sctl service default web --ip 10.96.0.10 --port http:80/TCP
k8sctl service default local --ip 10.96.0.11 --port http:80/TCP --itp Local
k8sctl slice default web-a --service web --port http:8080/TCP \
    --ep 10.244.1.11,node=node --ep 10.244.2.11,node=node-2
k8sctl slice default local-a --service local --port http:8080/TCP \
    --ep 10.244.1.12,node=node --ep 10.244.2.12,node=node-2
out=$(kubectl_k get endpointslices.v1beta1.discovery.k8s.io -n default web-a -o json) ||
    fail "kubectl get the v1beta1 slice: $out"
assert_eq "the slice is v1beta1 with topology and no nodeName" \
    "discovery.k8s.io/v1beta1 node null" \
    "$(echo "$out" | jq -r '"\(.apiVersion) \(.endpoints[0].topology["kubernetes.io/hostname"]) \(.endpoints[0].nodeName)"')"

proxy_start node --sync-period 2s
wait_synced node
wait_policy node 10.96.0.10:80/tcp \
    "10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0 10.244.1.11:8080,10.244.2.11:8080"
wait_policy node 10.96.0.11:80/tcp \
    "10.96.0.11:80/tcp k8s:default/local:http dsr=true aff=0 10.244.1.12:8080"
assert_eq "the fallback logged once" 1 \
    "$(proxy_log node | grep -c 'discovery.k8s.io/v1/endpointslices is not served (404): using /apis/discovery.k8s.io/v1beta1/endpointslices')"

# A watch event on v1beta1: the remote endpoint leaves, the local one stays.
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.11,node=node
wait_policy node 10.96.0.10:80/tcp \
    "10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0 10.244.1.11:8080"
out=$(curl_many client http://10.96.0.10/ 10)
assert_eq "10 requests through the ClusterIP to be1" 10 "$(echo "$out" | grep -c '^be1 ')"
out=$(curl_many client http://10.96.0.11/ 5)
assert_eq "the Local Service reaches the node's own endpoint" 5 "$(echo "$out" | grep -c '^be2 ')"
log "PASS"
