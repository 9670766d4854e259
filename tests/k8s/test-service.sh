# shellcheck shell=bash
# A Deployment of busybox httpd backends spread over both nodes and a Service, both made with
# kubectl: the ClusterIP the API server allocated is balanced by the client pod's switch to
# every backend, on its own node and across the overlay, and each backend sees the client
# pod's own address (DSR: no source NAT).  Then the Deployment scaled up (the new backends
# are used) and down (the removed ones are not).
kc_workloads
log "web: $(web_pods | tr '\n' ';') VIP $WEB_VIP, client $CLIENT_IP on n1"
assert_eq "backends on both nodes" "n1 n2" "$(web_pods | awk '{print $3}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
wait_backends 30

# check_balance N: N requests from the client; every running backend answers, nothing fails,
# every answer saw the client's address (busybox httpd, on a dual-stack socket, writes it
# as [::ffff:A.B.C.D]).
check_balance() {
    local n=$1 out want got
    out=$(from_client "$n") || fail "kubectl exec into the client failed: $out"
    assert_eq "no request failed" 0 "$(grep -c FAILED <<<"$out")"
    want=$(web_pods | awk '{print $1}' | tr '\n' ' ')
    got=$(awk '{print $1}' <<<"$out" | sort -u | tr '\n' ' ')
    assert_eq "$n requests reached every backend" "$want" "$got"
    assert_eq "every backend saw the client's own address (DSR)" "$CLIENT_IP" \
        "$(awk '{print $2}' <<<"$out" | sed 's/^\[::ffff://; s/\]$//' | sort -u | tr '\n' ' ' | sed 's/ $//')"
}
check_balance 40
pairs=$(vsctl_node n1 --json dump-flows | jq --arg c "$CLIENT_IP" '[.flow_pairs[]? | select(.orig.src == $c)] | length')
log "n1 holds $pairs flow pairs from the client"

kc scale deployment/web --replicas=6 >/dev/null
kc rollout status deployment/web --timeout=90s >/dev/null || fail "scale up to 6 did not roll out"
wait_backends 30
check_balance 60

kc scale deployment/web --replicas=2 >/dev/null
kc_wait 60 _web_count_is 2 || fail "scale down to 2: $(web_pods)"
kc_wait 90 _web_pods_left_are 2 ||
    fail "the removed pods did not go: $(kc get pods -o wide; kc describe pods -l app=web | grep -A3 -i 'events\|state' | tail -30)"
wait_backends 30
check_balance 20
log "PASS"
