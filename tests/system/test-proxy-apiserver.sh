#!/usr/bin/env bash
# The test API server (tests/k8s/apiserver.py) checked with the real kubectl, so that it cannot
# drift from the protocol the proxy is tested against: discovery, `get services -A` (Table
# output), `-o json`, paging with --chunk-size (limit/continue), `--watch` seeing a change,
# nodes and endpointslices, a wrong token refused, an expired continue token answered 410.
# Then vswitch-proxy's in-cluster configuration: no --kubeconfig, the service account token and
# CA at /var/run/secrets/kubernetes.io/serviceaccount (a tmpfs in a private mount namespace)
# and KUBERNETES_SERVICE_HOST/PORT.
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight

add_node node 10.244.1.0/24
k8s_start node
for i in 1 2 3 4 5; do
    k8sctl service "ns$((i % 2))" "svc$i" --ip "10.96.0.$i" --port http:80/TCP --port 53/UDP
    k8sctl slice "ns$((i % 2))" "svc$i-x" --service "svc$i" --port http:8080/TCP \
        --ep "10.244.1.$((10 + i))"
done
k8sctl node node --ip 192.168.50.1 --cidr 10.244.1.0/24
k8sctl node node-2 --ip 192.168.50.2 --cidr 10.244.2.0/24

out=$(kubectl_k version -o json 2>&1)
assert_match "kubectl version reaches the server" '"gitVersion": "v1.30.0"' "$out"
out=$(kubectl_k get services -A 2>&1) || fail "kubectl get services -A: $out"
log "kubectl get services -A:"; printf '%s\n' "$out" | while IFS= read -r l; do echo "    $l"; done
assert_match "table header" '^NAMESPACE +NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE' "$out"
assert_match "a row per Service" '^ns1 +svc3 +ClusterIP +10\.96\.0\.3 +<none> +80/TCP,53/UDP' "$out"
assert_eq "five Services" 5 "$(echo "$out" | grep -c ' svc[0-9]')"
out=$(kubectl_k get services -n ns0 -o json) || fail "kubectl -o json failed"
assert_eq "-n ns0 -o json: the namespace's items" "svc2 svc4 " \
    "$(echo "$out" | jq -r '.items[].metadata.name' | tr '\n' ' ')"
p0=$(k8s_stat pages)
out=$(kubectl_k get endpointslices -A --chunk-size=2 -o name) || fail "chunked get failed: $out"
assert_eq "paging: every slice across pages" 5 "$(echo "$out" | grep -c endpointslice)"
assert_ge "paging: kubectl followed the continue tokens" "$(($(k8s_stat pages) - p0))" 3
out=$(kubectl_k get nodes) || fail "kubectl get nodes: $out"
assert_match "nodes" '^node-2 +Ready' "$out"

# --watch: a change made while kubectl watches shows up in its output.
wlog=$VSW_TMPDIR/kubectl-watch.log
ns_exec node timeout 8 kubectl --kubeconfig "$K8S_KUBECONFIG" get services -A --watch \
    >"$wlog" 2>&1 &
wpid=$!
wait_until 5 grep -q svc5 "$wlog" || fail "kubectl --watch printed no list: $(cat "$wlog")"
k8sctl service ns0 watched --ip 10.96.0.99 --port 8080/TCP
wait_until 5 grep -q 'watched' "$wlog" || fail "kubectl --watch did not see the new Service: $(cat "$wlog")"
log "ok: kubectl --watch saw the Service created while it watched"
wait "$wpid" 2>/dev/null

# Refusals.
good=$(cat "$K8S_TOKEN_FILE")
sed "s|tokenFile: token|token: wrong|" "$K8S_KUBECONFIG" >"$VSW_TMPDIR/k8s/wrong.kubeconfig"
out=$(ns_exec node kubectl --kubeconfig "$VSW_TMPDIR/k8s/wrong.kubeconfig" get services -A 2>&1)
assert_match "a wrong token is refused" 'Unauthorized|must be logged in' "$out"
out=$(ns_exec node "$VSW_PY" "$K8S_DIR/k8sctl.py" raw GET \
      '/api/v1/services?limit=1&continue=eyJpZCI6ICJ4IiwgInN0YXJ0IjogMX0=' 2>&1)
assert_match "an expired continue token is 410 Expired" '"code": 410' "$out"
[ "$good" = "$(cat "$K8S_TOKEN_FILE")" ] || fail "token changed"

# In-cluster configuration.
sa=$VSW_TMPDIR/k8s
# shellcheck disable=SC2016
bg_start node "$VSW_TMPDIR/proxy-incluster.log" unshare -m sh -c '
    mount --make-rprivate / && mount -t tmpfs tmpfs /run &&
    mkdir -p /run/secrets/kubernetes.io/serviceaccount &&
    cp "$1/token" "$1/ca.crt" /run/secrets/kubernetes.io/serviceaccount/ &&
    KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443 \
    exec "$2/vswitch-proxy" --node-name node --ctl "$3" --log-level debug' _ \
    "$sa" "$VSW_BUILD" "${VSW_CTL[node]}"
inpid=$BG_PID
wait_until 20 grep -q 'initial sync' "$VSW_TMPDIR/proxy-incluster.log" ||
    fail "the in-cluster proxy did not sync: $(tail -5 "$VSW_TMPDIR/proxy-incluster.log")"
assert_match "in-cluster configuration used" 'in-cluster service account /var/run/secrets/kubernetes.io/serviceaccount' \
    "$(cat "$VSW_TMPDIR/proxy-incluster.log")"
assert_eq "the in-cluster proxy programmed the Services" 11 \
    "$(vsctl_on node --json dump-policies | jq '.policies | length')"
assert_eq "and node-2 as a peer... only with an overlay: none here" 0 \
    "$(vsctl_on node --json show | jq '.peers // [] | length')"
kill "$inpid"; wait "$inpid" 2>/dev/null
grep -Eq "$VSW_SANITIZER_RE" "$VSW_TMPDIR/proxy-incluster.log" &&
    fail "sanitizer report: $(grep -E -A20 "$VSW_SANITIZER_RE" "$VSW_TMPDIR/proxy-incluster.log")"
log "PASS"
