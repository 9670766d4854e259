# shellcheck shell=bash
# The product as kubectl apply left it (tests/k8s/run.sh sources this with the cluster up):
# the DaemonSet's pod on each node with its init container done and both containers ready
# (probes on /healthz), the CNI plugin and conflist installed by the init container where
# containerd reads them, each switch holding the other node as its overlay peer (from the
# Node objects, through RBAC's list/watch only), and the proxy never refused (no 403).
pods=$(kc -n kube-system get pods -l k8s-app=vswitch -o json)
assert_eq "one vswitch pod per node" "n1 n2" \
    "$(jq -r '[.items[].spec.nodeName] | sort | join(" ")' <<<"$pods")"
assert_eq "every container ready" "true true true true" \
    "$(jq -r '[.items[].status.containerStatuses[].ready | tostring] | join(" ")' <<<"$pods")"
assert_eq "the init container completed on both" "Completed Completed" \
    "$(jq -r '[.items[].status.initContainerStatuses[].state.terminated.reason] | join(" ")' <<<"$pods")"
assert_eq "the probes are the DaemonSet's" "/healthz /healthz /healthz" \
    "$(jq -r '[.items[0].spec.containers[] | (.livenessProbe, .readinessProbe) | select(.) | .httpGet.path] | join(" ")' <<<"$pods")"
for n in n1 n2; do
    node_exec "$n" test -x /opt/cni/bin/vswitch || fail "$n: /opt/cni/bin/vswitch not installed"
    cidr=$(kc get node "$n" -o jsonpath='{.spec.podCIDR}')
    assert_eq "$n: the conflist for its pod CIDR" "$cidr" \
        "$(node_exec "$n" jq -r '.plugins[0].ipam.ranges[0][0].subnet' /etc/cni/net.d/10-vswitch.conflist)"
done
for pair in "n1 n2" "n2 n1"; do
    set -- $pair
    want="${KC_NODE_IP[$2]} $(kc get node "$2" -o jsonpath='{.spec.podCIDR}')"
    kc_wait 20 _has_peer "$1" "$want" || fail "$1 does not hold $2 as a peer ($want): $(vsctl_node "$1" show)"
    log "ok: $1 has peer $want"
done
for p in $(jq -r '.items[].metadata.name' <<<"$pods"); do
    if kc -n kube-system logs "$p" -c vswitch-proxy | grep -q ' 403 '; then
        fail "vswitch-proxy in $p was refused: $(kc -n kube-system logs "$p" -c vswitch-proxy | grep ' 403 ' | head -3)"
    fi
    kc -n kube-system logs "$p" -c vswitch-proxy | grep -q 'using /apis/discovery.k8s.io/v1beta1/endpointslices' ||
        fail "$p: the proxy did not say it fell back to v1beta1 on this 1.20 server"
done
log "ok: the proxies read v1beta1 EndpointSlices and were never refused"

# RBAC is exactly what the proxy uses: list and watch on its three resources, nothing more.
sa=system:serviceaccount:kube-system:vswitch
for r in services nodes endpointslices.discovery.k8s.io; do
    for v in list watch; do
        assert_eq "the ServiceAccount may $v $r" yes "$(kc auth can-i "$v" "$r" --as="$sa" -A 2>/dev/null)"
    done
    for v in get update delete; do
        assert_eq "the ServiceAccount may not $v $r" no "$(kc auth can-i "$v" "$r" --as="$sa" -A 2>/dev/null)"
    done
done
assert_eq "nor read pods or secrets" "no no" \
    "$(kc auth can-i list pods --as="$sa" -A 2>/dev/null) $(kc auth can-i get secrets --as="$sa" -n kube-system 2>/dev/null)"
log "PASS"
