#!/usr/bin/env bash
# vswitch-proxy end to end on one node: Services and EndpointSlices created, scaled, changed
# and deleted in the test API server become policies in vswitchd (vsctl dump-policies --json),
# and real HTTP traffic through the cluster IPs follows them.  Covers named target ports,
# multi-port Services, several slices per Service, not-ready endpoints, the serving+terminating
# fallback, internalTrafficPolicy Local, ClientIP affinity, the vswitch.io/dsr annotation,
# NodePort (cluster IP, the NodePort on 0.0.0.0, and its externalIP), skipped Services
# (headless, ExternalName, service-proxy-name, counted in /metrics), a malformed Service
# (logged, the others still synced) and a policy made by hand with vsctl (never touched).
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight

add_lb_node 3 http-server:8080 http-server:9090:alt
k8s_start node

# A policy made by hand before the proxy starts: the proxy must leave it alone.
vsctl_on node add-lb 10.96.0.99:80/tcp 10.244.1.13:8080 --name by-hand ||
    fail "vsctl add-lb by hand failed"

# web: two ports, targetPorts by name, endpoints in two slices.
k8sctl service default web --ip 10.96.0.10 --port http:80/TCP --port alt:8443/TCP
k8sctl slice default web-a --service web --port http:8080/TCP --port alt:9090/TCP \
    --ep 10.244.1.11,node=node
k8sctl slice default web-b --service web --port http:8080/TCP --port alt:9090/TCP \
    --ep 10.244.1.12,node=node

proxy_start node --sync-period 2s
wait_synced node
wait_policy node 10.96.0.10:80/tcp \
    "10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0 10.244.1.11:8080,10.244.1.12:8080"
wait_policy node 10.96.0.10:8443/tcp \
    "10.96.0.10:8443/tcp k8s:default/web:alt dsr=true aff=0 10.244.1.11:9090,10.244.1.12:9090"

out=$(curl_many client http://10.96.0.10/ 30)
assert_eq "30 requests through the ClusterIP answered" 30 "$(echo "$out" | grep -c '^be[12] ')"
assert_eq "both endpoints served" "be1 be2 " "$(echo "$out" | awk '{print $1}' | sort -u | tr '\n' ' ')"
out=$(curl_many client http://10.96.0.10:8443/ 10)
assert_eq "the second port reaches the named target port 9090" 10 \
    "$(echo "$out" | grep -c '^be[12]-alt ')"

# Scale up: a third endpoint in slice b.
k8sctl slice default web-b --service web --port http:8080/TCP --port alt:9090/TCP \
    --ep 10.244.1.12,node=node --ep 10.244.1.13,node=node
wait_policy node 10.96.0.10:80/tcp \
    "10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0 10.244.1.11:8080,10.244.1.12:8080,10.244.1.13:8080"
out=$(curl_many client http://10.96.0.10/ 45)
assert_eq "three endpoints serve after the scale-up" "be1 be2 be3 " \
    "$(echo "$out" | awk '{print $1}' | sort -u | tr '\n' ' ')"

# Not ready: be2 leaves the policy.
k8sctl slice default web-b --service web --port http:8080/TCP --port alt:9090/TCP \
    --ep 10.244.1.12,ready=false,node=node --ep 10.244.1.13,node=node
wait_policy node 10.96.0.10:80/tcp \
    "10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0 10.244.1.11:8080,10.244.1.13:8080"

# Nothing ready: the serving and terminating endpoints are used (kube-proxy's fallback), and
# not one that is neither.
k8sctl slice default web-a --service web --port http:8080/TCP --port alt:9090/TCP \
    --ep 10.244.1.11,ready=false,serving=true,terminating=true,node=node
k8sctl slice default web-b --service web --port http:8080/TCP --port alt:9090/TCP \
    --ep 10.244.1.12,ready=false,serving=false,terminating=true,node=node
wait_policy node 10.96.0.10:80/tcp \
    "10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0 10.244.1.11:8080"
out=$(curl_many client http://10.96.0.10/ 5)
assert_eq "the terminating endpoint still serves" 5 "$(echo "$out" | grep -c '^be1 ')"

# internalTrafficPolicy Local: only this node's endpoints.
k8sctl service default local --ip 10.96.0.11 --port 80/TCP --itp Local
k8sctl slice default local-a --service local --port 8080/TCP \
    --ep 10.244.1.11,node=node --ep 10.244.2.5,node=node-2 --ep 10.244.1.12,node=node-3
wait_policy node 10.96.0.11:80/tcp \
    "10.96.0.11:80/tcp k8s:default/local dsr=true aff=0 10.244.1.11:8080"

# ClientIP affinity and the DSR opt-out, on a UDP port too.
k8sctl service default sticky --ip 10.96.0.12 --port dns:53/UDP --port web:80/TCP \
    --affinity 600 --annotation vswitch.io/dsr=false
k8sctl slice default sticky-a --service sticky --port dns:5353/UDP --port web:8080/TCP \
    --ep 10.244.1.11 --ep 10.244.1.12 --ep 10.244.1.13
wait_policy node 10.96.0.12:80/tcp \
    "10.96.0.12:80/tcp k8s:default/sticky:web dsr=false aff=600 10.244.1.11:8080,10.244.1.12:8080,10.244.1.13:8080"
wait_policy node 10.96.0.12:53/udp \
    "10.96.0.12:53/udp k8s:default/sticky:dns dsr=false aff=600 10.244.1.11:5353,10.244.1.12:5353,10.244.1.13:5353"
out=$(curl_many client http://10.96.0.12/ 12)
assert_eq "affinity: one backend for every connection of the client" 1 \
    "$(echo "$out" | awk '{print $1}' | sort -u | wc -l)"
assert_eq "no DSR: the backend sees the gateway" "10.244.1.1" \
    "$(echo "$out" | awk '{print $2}' | sort -u)"

# NodePort and externalIPs: the cluster IP, the NodePort on every node address (0.0.0.0) and
# the externalIP are programmed (issue 16).
k8sctl service default np --ip 10.96.0.13 --port 80/TCP --type NodePort --node-port 30013 \
    --external-ip 192.0.2.7
k8sctl slice default np-a --service np --port 8080/TCP --ep 10.244.1.13
wait_policy node 10.96.0.13:80/tcp "10.96.0.13:80/tcp k8s:default/np dsr=true aff=0 10.244.1.13:8080"
wait_policy node 0.0.0.0:30013/tcp "0.0.0.0:30013/tcp k8s:default/np dsr=true aff=0 10.244.1.13:8080"
wait_policy node 192.0.2.7:80/tcp "192.0.2.7:80/tcp k8s:default/np dsr=true aff=0 10.244.1.13:8080"

# Skipped, and counted.
k8sctl service default headless --ip None --port 80/TCP
k8sctl service default ext --port 80/TCP --type ExternalName --external-name example.org
k8sctl service default other --ip 10.96.0.14 --port 80/TCP \
    --label service.kubernetes.io/service-proxy-name=someone-else
k8sctl slice default other-a --service other --port 8080/TCP --ep 10.244.1.11
wait_metric node 'vswitch_proxy_services_skipped{reason="service_proxy_name"}' 1
assert_eq "headless counted" 1 "$(proxy_metric node 'vswitch_proxy_services_skipped{reason="headless"}')"
assert_eq "ExternalName counted" 1 "$(proxy_metric node 'vswitch_proxy_services_skipped{reason="external_name"}')"
assert_eq "no policy for the service-proxy-name Service" "" "$(policy_of node 10.96.0.14:80/tcp)"

# A malformed Service is logged with its name and skipped; the others keep syncing.
k8sctl raw PUT /api/v1/namespaces/default/services/broken - <<'EOJ' >/dev/null
{"metadata": {"name": "broken", "namespace": "default"},
 "spec": {"clusterIP": "10.96.0.15", "ports": [{"port": 70000}]}}
EOJ
k8sctl service default after --ip 10.96.0.16 --port 80/TCP
wait_policy node 10.96.0.16:80/tcp "10.96.0.16:80/tcp k8s:default/after dsr=true aff=0 "
assert_match "the malformed Service is named in the log" \
    'skipping malformed service default/broken: spec.ports\[0\].port' "$(proxy_log node)"

# A Service claiming the hand-made policy's VIP: reported, not programmed; the hand-made
# policy is untouched.
k8sctl service default thief --ip 10.96.0.99 --port 80/TCP
k8sctl slice default thief-a --service thief --port 8080/TCP --ep 10.244.1.11
wait_until 10 grep -q '10.96.0.99:80/tcp (k8s:default/thief): a policy made by hand' \
    "${PROXY_LOG[node]}" || fail "the VIP conflict was not reported"
assert_eq "the hand-made policy is untouched" \
    "10.96.0.99:80/tcp by-hand dsr=true aff=0 10.244.1.13:8080" "$(policy_of node 10.96.0.99:80/tcp)"

# Deletes: the Service goes, its policies go; traffic to the VIP stops.
k8sctl delete services default web
wait_policy node 10.96.0.10:80/tcp ""
wait_policy node 10.96.0.10:8443/tcp ""
out=$(curl_many client http://10.96.0.10/ 1)
assert_match "no answer through a deleted Service's VIP" '^FAILED' "$out"

# Metrics: sync histogram, last sync time, objects, policies.
m=$(ns_exec node curl -s http://127.0.0.1:10249/metrics)
assert_match "sync duration histogram" '^vswitch_proxy_sync_proxy_rules_duration_seconds_count [1-9]' "$m"
assert_match "programming latency histogram" '^vswitch_proxy_network_programming_duration_seconds_count [1-9]' "$m"
assert_match "last sync timestamp" '^vswitch_proxy_sync_proxy_rules_last_timestamp_seconds [1-9]' "$m"
assert_match "objects per resource" '^vswitch_proxy_objects\{resource="services"\} 8$' "$m"
assert_match "policies programmed (the NodePort's among them)" '^vswitch_proxy_policies 7$' "$m"
assert_match "malformed objects counted" '^vswitch_proxy_malformed_objects_total\{resource="services"\} [1-9]' "$m"
h=$(ns_exec node curl -s http://127.0.0.1:10256/healthz)
assert_match "healthz body like kube-proxy's" '"lastUpdated": "[0-9]{4}-' "$h"
assert_eq "healthz also on the node's own address by default (0.0.0.0:10256, as kube-proxy)" \
    200 "$(ns_exec node curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.244.1.1:10256/healthz)"
proxy_stop node
log "PASS"
