# shellcheck shell=bash
# kube-apiserver killed for 20 s: the datapath keeps forwarding (requests from the client
# pod's network namespace, entered from the node: kubectl exec needs the API server), the
# proxies keep their policies.  Meanwhile etcd's revision moves on and is compacted
# (etcdctl compact), so the resourceVersions the proxies watch from are gone: the API server
# back, their watches get a real 410 and they list again; a change made then (scale up)
# reaches both switches: the proxies caught up.
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
etcd() { ns_exec cp etcdctl --endpoints=http://127.0.0.1:2379 "$@"; }
for i in 1 2 3; do etcd put "/vswitch-test/bump" "$i" >/dev/null || fail "etcdctl put"; done
rev=$(etcd endpoint status -w json | jq '.[0].Status.header.revision')
etcd compact "$rev" >/dev/null || fail "etcdctl compact $rev"
etcd del /vswitch-test/bump >/dev/null
log "etcd compacted at revision $rev"
for n in n1 n2; do
    node_exec "$n" pgrep -x vswitch-proxy >/dev/null || fail "vswitch-proxy on $n died while the API server was down"
done
log "ok: 20 s without the API server, traffic flowed"
kc_start_apiserver
log "kube-apiserver back"
for p in $(kc -n kube-system get pods -l k8s-app=vswitch -o jsonpath='{.items[*].metadata.name}'); do
    kc_wait 60 _proxy_saw_410 "$p" ||
        fail "$p: no 410 after the compaction: $(kc -n kube-system logs "$p" -c vswitch-proxy --since=2m | tail -5)"
done
log "ok: both proxies got 410 Gone for a compacted resourceVersion and listed again"
kc scale deployment/web --replicas=4 >/dev/null
kc rollout status deployment/web --timeout=90s >/dev/null || fail "scale to 4 after the outage"
wait_backends 60
out=$(from_client 30) || fail "kubectl exec after the outage: $out"
assert_eq "every backend answers after the outage" "$(web_pods | awk '{print $1}' | tr '\n' ' ')" \
    "$(awk '{print $1}' <<<"$out" | sort -u | tr '\n' ' ')"
log "PASS"
