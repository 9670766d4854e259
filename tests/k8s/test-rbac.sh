# shellcheck shell=bash
# The ClusterRole is exactly what the proxy needs: take `watch` on endpointslices away and
# restart the proxy on n1 (SIGTERM to its container; kubelet starts it again): its watch is
# refused with a 403 that names the missing permission, as the API server answered it; give
# the verb back and the proxy recovers by itself (its backoff), its policies intact.
p=$(kc -n kube-system get pods -l k8s-app=vswitch --field-selector spec.nodeName=n1 -o jsonpath='{.items[0].metadata.name}')
restarts=$(kc -n kube-system get pod "$p" -o json | jq '.status.containerStatuses[] | select(.name == "vswitch-proxy") | .restartCount')
kc patch clusterrole vswitch-proxy --type=json \
    -p '[{"op":"replace","path":"/rules/1/verbs","value":["list"]}]' >/dev/null ||
    fail "cannot patch the ClusterRole"
kc -n kube-system exec "$p" -c vswitch-proxy -- kill 1 >/dev/null 2>&1
kc_wait 60 _proxy_restarted "$p" "$restarts" || fail "the proxy on n1 did not restart"
kc_wait 60 _proxy_log_has "$p" '403 Forbidden: missing permission to watch discovery.k8s.io/endpointslices' ||
    fail "no 403 naming watch on endpointslices: $(kc -n kube-system logs "$p" -c vswitch-proxy | tail -5)"
log "ok: without watch on endpointslices, the proxy says: $(kc -n kube-system logs "$p" -c vswitch-proxy | grep -m1 -o 'watch endpointslices: 403 Forbidden: missing permission to watch [^ ]*')"
kc patch clusterrole vswitch-proxy --type=json \
    -p '[{"op":"replace","path":"/rules/1/verbs","value":["list","watch"]}]' >/dev/null ||
    fail "cannot restore the ClusterRole"
kc_wait 60 _proxy_ready "$p" || fail "the proxy on n1 did not become ready again"
log "ok: watch given back, the proxy is ready again"
log "PASS"
