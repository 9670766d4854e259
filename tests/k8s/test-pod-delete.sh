# shellcheck shell=bash
# kubectl delete of a backend pod: kubelet's CNI DEL through containerd removes its port from
# the switch, its veth from the node and its host-local lease; the Service stops using it.
[ -n "${WEB_VIP:-}" ] || kc_workloads
kc scale deployment/web --replicas=4 >/dev/null
kc rollout status deployment/web --timeout=90s >/dev/null || fail "scale to 4 did not roll out"
wait_backends 30
read -r pod ip node < <(web_pods | awk '$3 == "n2"' | head -1)
[ -n "${pod:-}" ] || fail "no web pod on n2: $(web_pods)"
port=$(vsctl_node n2 --json show | jq -r --arg p "$pod" '.ports[] | select(.pod_name == $p) | .name')
[ -n "$port" ] || fail "$pod has no port in n2's switch: $(vsctl_node n2 show)"
node_exec n2 ip link show dev "$port" >/dev/null || fail "$pod's veth $port is not on n2"
lease=$(node_exec n2 sh -c "grep -l . /var/lib/cni/networks/*/$ip 2>/dev/null" | head -1)
[ -n "$lease" ] || fail "$pod's address $ip has no host-local lease on n2"
log "$pod ($ip) on n2: port and veth $port, lease $lease"

kc delete pod "$pod" --wait=true --timeout=60s >/dev/null || fail "kubectl delete pod $pod"
kc_wait 20 _port_gone n2 "$port" || fail "port $port still in n2's switch: $(vsctl_node n2 show)"
node_exec n2 ip link show dev "$port" >/dev/null 2>&1 && fail "veth $port still on n2"
node_exec n2 test -e "$lease" && fail "lease $lease still held"
log "ok: port, veth and lease of $pod are gone"
kc rollout status deployment/web --timeout=90s >/dev/null || fail "the replacement pod did not start"
wait_backends 30
grep -q " $ip:8080 " <<<" $(policy_backends n1)" && [ "$(web_pods | awk -v i="$ip" '$2 == i' | wc -l)" = 0 ] &&
    fail "the deleted pod's address is still a backend"
log "PASS"
