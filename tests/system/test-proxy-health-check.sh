#!/usr/bin/env bash
# kube-proxy's health check node ports, served by vswitch-proxy (issue 16): a LoadBalancer
# Service with externalTrafficPolicy Local and a healthCheckNodePort gets an HTTP server on
# that port on every address of the node: 503 with localEndpoints 0 while this node has no
# endpoint of it, 200 with the count once it has (kube-proxy's JSON body), gone when the
# Service is deleted; its LoadBalancer IP's policy holds only this node's endpoints.
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight

add_lb_node 2 http-server:8080
k8s_start node
svc() {
    cat <<EOF2
{"apiVersion": "v1", "kind": "Service",
 "metadata": {"name": "lb", "namespace": "shop"},
 "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.40", "clusterIPs": ["10.96.0.40"],
          "externalTrafficPolicy": "Local", "healthCheckNodePort": 32100,
          "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}]},
 "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.40"}]}}}
EOF2
}
svc | k8sctl apply - || fail "cannot create the Service"
k8sctl slice shop lb-a --service lb --port http:8080/TCP --ep 10.244.1.11,node=elsewhere
proxy_start node --sync-period 2s
wait_synced node

hc() { ns_exec node curl -s -o "$VSW_TMPDIR/hc.body" -w '%{http_code}' --max-time 3 "$1"; }
_hc_is() { [ "$(hc "$1")" = "$2" ]; }
wait_until 10 _hc_is http://10.244.1.1:32100/ 503 ||
    fail "no 503 on the node's address :32100: $(hc http://10.244.1.1:32100/) $(proxy_log node | tail -5)"
assert_eq "no local endpoint: 503, kube-proxy's body" \
    '{"service":{"namespace":"shop","name":"lb"},"localEndpoints":0,"serviceProxyHealthy":true}' \
    "$(cat "$VSW_TMPDIR/hc.body")"
wait_policy node 203.0.113.40:80/tcp "203.0.113.40:80/tcp k8s:shop/lb:http dsr=true aff=0 "

k8sctl slice shop lb-a --service lb --port http:8080/TCP --ep 10.244.1.11,node=elsewhere \
    --ep 10.244.1.12,node=node
wait_until 10 _hc_is http://127.0.0.1:32100/healthz 200 || fail "no 200 once an endpoint is local"
assert_eq "one local endpoint: 200 with the count" \
    '{"service":{"namespace":"shop","name":"lb"},"localEndpoints":1,"serviceProxyHealthy":true}' \
    "$(cat "$VSW_TMPDIR/hc.body")"
wait_policy node 203.0.113.40:80/tcp \
    "203.0.113.40:80/tcp k8s:shop/lb:http dsr=true aff=0 10.244.1.12:8080"
wait_policy node 10.96.0.40:80/tcp \
    "10.96.0.40:80/tcp k8s:shop/lb:http dsr=true aff=0 10.244.1.11:8080,10.244.1.12:8080"

k8sctl delete services shop lb || fail "cannot delete the Service"
_hc_gone() { [ "$(hc http://127.0.0.1:32100/)" = 000 ]; }
wait_until 10 _hc_gone || fail "the health check server outlived its Service"
log "ok: the health check server stopped with its Service"
