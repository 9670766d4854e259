#!/usr/bin/env bash
# The deployment examples do not rot.  Every manifest of examples/k8s/ is read by the real
# kubectl (`apply --dry-run=client --validate=false`, against tests/k8s/discovery-stub.py, so
# an unknown apiVersion or kind fails as on a cluster); the objects agree with each other
# (selector and labels, mounts and volumes, ConfigMap keys, the binding, the service account)
# and grant exactly list and watch on services, nodes and endpointslices; the flags given to
# vswitchd and vswitch-proxy exist; the init container's script, run against the test API
# server, installs the plugin and writes a conflist with which cnitool wires a pod into
# vswitchd; examples/cni/10-vswitch.conflist is valid.  KUBECTL names another kubectl (the
# manifests are checked with Debian's 1.20 as well as with current ones).
# shellcheck disable=SC2016  # jq programs in single quotes
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight
KUBECTL=${KUBECTL:-kubectl}
require "$KUBECTL"
EX=$VSW_REPO/examples

# --- every manifest through kubectl ----------------------------------------------------------

cni_setup node 10.244.7.0/24
bg_start node "$VSW_TMPDIR/discovery-stub.log" "$VSW_PY" "$K8S_DIR/discovery-stub.py" 18080
wait_until 5 grep -q listening "$VSW_TMPDIR/discovery-stub.log" ||
    fail "discovery-stub.py did not start: $(cat "$VSW_TMPDIR/discovery-stub.log")"
cat >"$VSW_TMPDIR/stub.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: stub
  cluster: {server: "http://127.0.0.1:18080"}
contexts:
- name: stub
  context: {cluster: stub, namespace: kube-system}
current-context: stub
EOF
kc() {
    ns_exec node "$KUBECTL" --kubeconfig "$VSW_TMPDIR/stub.kubeconfig" \
        --cache-dir "$VSW_TMPDIR/kube-cache" "$@"
}
log "kubectl: $(kc version --client 2>/dev/null | head -1)"

manifests=("$EX"/k8s/*.yaml)
[ ${#manifests[@]} -ge 3 ] || fail "examples/k8s has ${#manifests[@]} manifests"
for f in "${manifests[@]}"; do
    out=$(kc apply --dry-run=client --validate=false -f "$f" 2>&1) ||
        fail "kubectl apply --dry-run=client -f $f: $out"
    assert_eq "$(basename "$f"): every object accepted" "$(grep -c '^kind:' "$f")" \
        "$(grep -c 'created (dry run)' <<<"$out")"
done
all=$(kc apply --dry-run=client --validate=false -f "$EX/k8s" -o json 2>&1) ||
    fail "kubectl apply --dry-run=client -f examples/k8s -o json: $all"
all=$(jq -c 'if .kind == "List" then .items else [.] end' <<<"$all") ||
    fail "kubectl printed no JSON: $all"

# check DESCRIPTION JQ_FILTER: the filter, over the array of every object, must be true.
check() {
    local out
    out=$(jq -e "$2" <<<"$all" 2>&1) || fail "$1: ($2) is ${out:-false}"
    log "ok: $1"
}
# q JQ_FILTER: the filter's value, over the array of every object.
q() { jq -r "$1" <<<"$all"; }

check "the kinds" \
    '[.[].kind] | sort == ["ClusterRole","ClusterRoleBinding","ConfigMap","DaemonSet",
                           "ServiceAccount"]'
check "the ClusterRole grants exactly list and watch on services, nodes, endpointslices" \
    '[.[] | select(.kind == "ClusterRole") | .rules[] | .apiGroups[] as $g | .resources[] as $r
      | .verbs[] as $v | "\($g)/\($r):\($v)"] | sort
     == ["/nodes:list", "/nodes:watch", "/services:list", "/services:watch",
         "discovery.k8s.io/endpointslices:list", "discovery.k8s.io/endpointslices:watch"]'
check "the binding gives that ClusterRole to the ServiceAccount" \
    '(map(select(.kind == "ServiceAccount"))[0]) as $sa
     | (map(select(.kind == "ClusterRole"))[0]) as $role
     | map(select(.kind == "ClusterRoleBinding"))[0]
     | .roleRef == {apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole",
                    name: $role.metadata.name}
       and .subjects == [{kind: "ServiceAccount", name: $sa.metadata.name,
                          namespace: $sa.metadata.namespace}]'

ds='(map(select(.kind == "DaemonSet"))[0])'
cm='(map(select(.kind == "ConfigMap"))[0])'
pod="$ds.spec.template.spec"
check "the DaemonSet runs as the ServiceAccount, in its namespace" \
    "(map(select(.kind == \"ServiceAccount\"))[0]) as \$sa
     | $ds.metadata.namespace == \$sa.metadata.namespace
       and $pod.serviceAccountName == \$sa.metadata.name"
check "the selector matches the pod template's labels" \
    "$ds | .spec.template.metadata.labels as \$l
     | (.spec.selector.matchLabels | length > 0)
       and (.spec.selector.matchLabels | to_entries | all(\$l[.key] == .value))"
check "host network, an init container and the two daemons" \
    "$pod | .hostNetwork == true and [.initContainers[].name] == [\"install-cni\"]
            and [.containers[].name] == [\"vswitchd\", \"vswitch-proxy\"]"
check "one image for every container" \
    "[$pod | (.initContainers + .containers)[].image] | unique | length == 1"
check "every volume mounted exists" \
    "$pod | ([(.initContainers + .containers)[].volumeMounts[].name] | unique)
            - [.volumes[].name] == []"
check "the hostPaths: database, control socket, CNI binaries and configuration" \
    "[$pod.volumes[] | .hostPath.path // empty] | sort
     == [\"/etc/cni/net.d\", \"/opt/cni/bin\", \"/run/vswitch\", \"/var/lib/vswitch\"]"
check "every ConfigMap key referenced exists" \
    "$cm as \$c | [$pod | .. | objects | .configMapKeyRef // empty]
     | length > 0 and all(. as \$r | \$r.name == \$c.metadata.name and (\$c.data | has(\$r.key)))"
check "the ConfigMap volume is that ConfigMap, in the same namespace" \
    "$cm as \$c | [$pod.volumes[] | .configMap.name // empty] == [\$c.metadata.name]
     and \$c.metadata.namespace == $ds.metadata.namespace"
check "the init container runs the ConfigMap's script where the volume is mounted" \
    "$pod.initContainers[0] as \$i
     | (\$i.volumeMounts[] | select(.name == \"config\") | .mountPath) as \$m
     | \$i.command[-1] == \"\(\$m)/install-cni.sh\" and ($cm.data | has(\"install-cni.sh\"))"
check "every \$(VAR) and \$VAR a container uses is in its env" \
    '[map(select(.kind == "DaemonSet"))[0].spec.template.spec
      | (.initContainers + .containers)[]
      | [.env[].name] as $env
      | ((.command // []) + (.args // []) | join(" "))
      | [scan("\\$\\(([A-Z_]+)\\)|\\$([A-Z_]+)")[] | select(. != null)]
      | all(. as $v | $env | index($v))] | all'

# The flags given to the daemons are theirs.
vswitchd_help=$("$VSW_BUILD/vswitchd" --help 2>&1)
proxy_help=$("$VSW_BUILD/vswitch-proxy" --help 2>&1)
for flag in $(q "$pod.containers[] | select(.name == \"vswitchd\") | .args | join(\" \")" |
              grep -oE -- '--[a-z-]+' | sort -u); do
    grep -qE -- "^ +$flag( |$)" <<<"$vswitchd_help" || fail "vswitchd has no flag $flag"
done
log "ok: every vswitchd flag exists"
for flag in $(q "$pod.containers[] | select(.name == \"vswitch-proxy\") | .args[]" |
              grep -oE -- '^--[a-z-]+' | sort -u); do
    grep -qE -- "^ +$flag([ =]|$)" <<<"$proxy_help" || fail "vswitch-proxy has no flag $flag"
done
log "ok: every vswitch-proxy flag exists"

# --- the init container's script, for real ---------------------------------------------------

k8s_start node
k8sctl node node-a --ip 192.168.1.11 --cidr 10.244.7.0/24
k8sctl node node-b --ip 192.168.1.12 --cidr 10.244.8.0/24
k8sctl node node-c --ip 192.168.1.13
script=$VSW_TMPDIR/install-cni.sh
q "$cm.data[\"install-cni.sh\"]" >"$script"
assert_ok "install-cni.sh parses (sh -n)" sh -n "$script"
if command -v shellcheck >/dev/null; then
    assert_ok "install-cni.sh is shellcheck clean" shellcheck -s sh "$script"
fi
mtu=$(q "$cm.data.mtu")
mkdir -p "$VSW_TMPDIR/sa"
cp "$K8S_CA" "$VSW_TMPDIR/sa/ca.crt"
cp "$K8S_TOKEN_FILE" "$VSW_TMPDIR/sa/token"
host=$VSW_TMPDIR/host
install_cni() {
    ns_exec node env NODE_NAME="$1" KUBERNETES_SERVICE_HOST=127.0.0.1 \
        KUBERNETES_SERVICE_PORT="$K8S_PORT" MTU="$mtu" SA_DIR="$VSW_TMPDIR/sa" \
        HOST_CNI_BIN="$host/opt/cni/bin" HOST_CNI_CONF="$host/etc/cni/net.d" \
        RUN_DIR="$host/run/vswitch" PLUGIN="$VSW_BUILD/vswitch-cni" \
        HOST_LOCAL=/usr/lib/cni/host-local PORTMAP=/usr/lib/cni/portmap sh "$script"
}
assert_ok "install-cni.sh for node-a" install_cni node-a
assert_ok "install-cni.sh again (it replaces what it installed)" install_cni node-a
assert_ok "the plugin installed as vswitch" \
    cmp "$VSW_BUILD/vswitch-cni" "$host/opt/cni/bin/vswitch"
assert_ok "host-local installed" test -x "$host/opt/cni/bin/host-local"
assert_ok "portmap installed" test -x "$host/opt/cni/bin/portmap"
assert_ok "loopback installed (containerd's CRI needs it for every pod's lo)" \
    test -x "$host/opt/cni/bin/loopback"
assert_eq "the pod CIDR left for vswitchd" "10.244.7.0/24" "$(cat "$host/run/vswitch/pod-cidr")"
conflist=$host/etc/cni/net.d/10-vswitch.conflist
want="vswitch vswitch /run/vswitch/vswitchd.sock $mtu host-local 10.244.7.0/24 10.244.7.1"
assert_eq "the conflist" "$want 0.0.0.0/0" \
    "$(jq -r '[.name, (.plugins[0] | .type, .ctl, .mtu, .ipam.type, .ipam.ranges[0][0].subnet,
                                      .ipam.ranges[0][0].gateway, .ipam.routes[0].dst)]
              | map(tostring) | join(" ")' "$conflist")"
assert_eq "the conflist chains portmap for hostPorts" "portmap true" \
    "$(jq -r '.plugins[1] | "\(.type) \(.capabilities.portMappings)"' "$conflist")"
out=$(install_cni node-c 2>&1) && fail "install-cni.sh for a Node without a pod CIDR succeeded"
assert_match "a Node without a pod CIDR is refused, saying why" "node-c has no spec.podCIDR" "$out"
out=$(install_cni node-z 2>&1) && fail "install-cni.sh for an unknown Node succeeded"
log "ok: an unknown Node is refused: $out"

# That conflist wires a pod into vswitchd with the installed binaries (the socket and the
# host-local data directory moved into the test's scratch directory).
jq --arg ctl "${VSW_CTL[node]}" --arg dir "$CNI_IPAM_DIR" \
    '.plugins[0].ctl = $ctl | .plugins[0].ipam.dataDir = $dir' "$conflist" \
    >"$NETCONFPATH/vswitch.conflist"
# shellcheck disable=SC2034  # read by tests/lib/cni.sh's cnitool_on
CNI_BIN=$host/opt/cni/bin
add_ns pod1
cnitool_on add vswitch pod1
[ "$RC" -eq 0 ] || fail "cnitool add with the installed conflist: $OUT $ERR"
assert_eq "the pod's address from the node's pod CIDR" "10.244.7.2" "$(pod_ip pod1)"
assert_eq "the pod's MTU" "$mtu" "$(ip -n "$(ns pod1)" -j link show dev eth0 | jq -r '.[0].mtu')"
ping_ok pod1 10.244.7.1
cnitool_on del vswitch pod1
[ "$RC" -eq 0 ] || fail "cnitool del: $OUT $ERR"

# --- examples/cni -----------------------------------------------------------------------------

assert_eq "examples/cni/10-vswitch.conflist" "vswitch host-local portmap true" \
    "$(jq -r '(.plugins[0] | "\(.type) \(.ipam.type)"), (.plugins[1] | "\(.type) \(.capabilities.portMappings)")' \
       "$EX/cni/10-vswitch.conflist" | tr '\n' ' ' | sed 's/ $//')"
log "PASS"
