# shellcheck shell=bash
# The DaemonSet's pod on the client's node deleted: the DaemonSet controller makes a new one,
# vswitchd comes back with its ports, policies and peers from its database (a hostPath), the
# proxy syncs, and traffic through the ClusterIP resumes with new flow pairs; the pods kept
# their network meanwhile (no pod restarted).
[ -n "${WEB_VIP:-}" ] || kc_workloads
wait_backends 30
old=$(kc -n kube-system get pods -l k8s-app=vswitch --field-selector spec.nodeName=n1 -o jsonpath='{.items[0].metadata.name}')
restarts=$(kc get pod client -o jsonpath='{.status.containerStatuses[0].restartCount}')
kc -n kube-system delete pod "$old" --wait=true --timeout=60s >/dev/null || fail "cannot delete $old"
kc_wait 90 _ds_pod_ready n1 "$old" || fail "no new vswitch pod ready on n1: $(kc -n kube-system get pods -o wide)"
new=$(kc -n kube-system get pods -l k8s-app=vswitch --field-selector spec.nodeName=n1 -o jsonpath='{.items[0].metadata.name}')
log "ok: $old replaced by $new, ready"
vsctl_node n1 flush-flows >/dev/null 2>&1 || true
wait_backends 30
out=$(from_client 20) || fail "kubectl exec into the client failed: $out"
assert_eq "traffic through the ClusterIP resumed" 0 "$(grep -c FAILED <<<"$out")"
assert_eq "20 answers" 20 "$(grep -c . <<<"$out")"
pairs=$(vsctl_node n1 --json dump-flows | jq --arg c "$CLIENT_IP" '[.flow_pairs[]? | select(.orig.src == $c)] | length')
assert_ge "the new vswitchd made flow pairs for the client" "$pairs" 1
assert_eq "the client pod was not restarted" "$restarts" \
    "$(kc get pod client -o jsonpath='{.status.containerStatuses[0].restartCount}')"
log "PASS"
