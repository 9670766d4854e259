# shellcheck shell=bash
# kube-apiserver killed for 20 s: the datapath keeps forwarding (requests from the client
# pod's network namespace, entered from the node: kubectl exec needs the API server), the
# proxies keep their policies; the API server back, a change made then (scale up) reaches both
# switches: the proxies caught up.
[ -n "${WEB_VIP:-}" ] || kc_workloads
kc scale deployment/web --replicas=2 >/dev/null
kc_wait 60 _web_count_is 2 || fail "scale to 2: $(web_pods)"
wait_backends 30
before=$(policy_backends n1)
kc_stop_apiserver
log "kube-apiserver stopped"
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 20 ]; do
    out=$(from_client_netns 5)
    assert_eq "requests while the API server is down" 0 "$(grep -c FAILED <<<"$out")"
    sleep 2
done
assert_eq "the policies did not change meanwhile" "$before" "$(policy_backends n1)"
for n in n1 n2; do
    node_exec "$n" pgrep -x vswitch-proxy >/dev/null || fail "vswitch-proxy on $n died while the API server was down"
done
log "ok: 20 s without the API server, traffic flowed"
kc_start_apiserver
log "kube-apiserver back"
kc scale deployment/web --replicas=4 >/dev/null
kc rollout status deployment/web --timeout=90s >/dev/null || fail "scale to 4 after the outage"
wait_backends 60
out=$(from_client 30) || fail "kubectl exec after the outage: $out"
assert_eq "every backend answers after the outage" "$(web_pods | awk '{print $1}' | tr '\n' ' ')" \
    "$(awk '{print $1}' <<<"$out" | sort -u | tr '\n' ' ')"
log "PASS"
