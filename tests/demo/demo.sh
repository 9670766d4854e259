#!/usr/bin/env bash
# tests/demo/demo.sh [BUILD_DIR] — `make demo`: the whole product at work, in network
# namespaces, in well under two minutes.
#
#   - two nodes (namespaces) joined by an underlay bridge, vswitchd on each with --node-ip;
#   - a control-plane namespace on the same underlay running a server that speaks the
#     Kubernetes API (tests/k8s/apiserver.py), and vswitch-proxy on each node watching it;
#   - pods wired in by the CNI plugin as a container runtime does it: the reference client
#     cnitool (libcni) with host-local IPAM;
#   - a Deployment-like set of backends (web-1..web-4, two per node) answering HTTP with their
#     name and the peer address they saw, a Service in front of them, and an iperf3 Service
#     whose one backend is on the other node;
#   - a client pod on node 1 calling the Service by its VIP: which backend answered, the
#     address each backend saw (the client's own: Direct Server Return), the policy, the two
#     halves of a DSR connection in `vsctl dump-flows` on both nodes, and iperf3's throughput
#     through the VIP across the overlay.
#
# Every step is checked; the script exits 0 only if all of them worked.  Logs go to a scratch
# directory and are shown only on failure (the directory is then kept).  Namespaces, processes
# and files are removed on exit, whatever happened (tests/lib/lib.sh's cleanup stack).
# Needs root; `make demo` installs the packages first (tests/deps.sh demo).
#
# Environment: DEMO_REQUESTS (100) HTTP requests, DEMO_IPERF_SECONDS (4), DEMO_PAUSE=1 to keep
# the scene up (and print commands to explore it) until Enter is pressed, NO_COLOR, and
# tests/lib/lib.sh's VSW_KEEP=1 to keep the scratch directory.

VSW_TEST_NAME=demo
[ -n "${1:-}" ] && VSW_BUILD=$1
. "$(dirname "$0")/../lib/lib.sh"

REQUESTS=${DEMO_REQUESTS:-100}
IPERF_SECONDS=${DEMO_IPERF_SECONDS:-4}
WEB_VIP=10.96.0.10
PERF_VIP=10.96.0.20
K8S_ADDR=$VSW_UNDERLAY.100
DEMO_LOG=$VSW_TMPDIR/demo.log
DEMO_START=$SECONDS

# --- output --------------------------------------------------------------------------------

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
    C_H=$'\e[1;36m' C_OK=$'\e[32m' C_BAD=$'\e[1;31m' C_DIM=$'\e[2m' C_B=$'\e[1m' C_0=$'\e[0m'
else
    C_H='' C_OK='' C_BAD='' C_DIM='' C_B='' C_0=
fi

# The libraries' progress lines ("ok: ...", "vswitchd up in ...") go to the log, not the screen.
log() { printf '%s\n' "$*" >>"$DEMO_LOG"; }

section() {
    local t="== $1 "
    printf '\n%s%s%s%s\n' "$C_H" "$t" "$(printf '%*s' $((92 - ${#t})) '' | tr ' ' =)" "$C_0"
}
# lead WORD TEXT: a paragraph starting with WORD in bold.
lead() { printf '\n   %s%s%s%s\n' "$C_B" "$1" "$C_0" "$2"; }
# say TEXT: an explanation of what the section shows.
say() { printf '%s   %s%s\n' "$C_DIM" "$*" "$C_0"; }
# ok TEXT: a step that worked.
ok() { printf '   %s✓%s %s\n' "$C_OK" "$C_0" "$*"; log "ok: $*"; }
# show: stdin indented, as it was printed by the command.
show() { sed 's/^/     /'; }

# fail MESSAGE: replaces the library's: says what failed, shows the logs, keeps them, exits 1.
fail() {
    printf '\n   %s✗ FAILED:%s %s\n' "$C_BAD" "$C_0" "$*" >&2
    demo_logs >&2
    VSW_KEEP=1      # read by the library's cleanup: the scratch directory stays
    export VSW_KEEP
    printf '\n   %s✗ FAILED:%s %s\n   (logs kept in %s)\n' "$C_BAD" "$C_0" "$*" "$VSW_TMPDIR" >&2
    exit 1
}

demo_logs() {
    local f n
    for n in "${!VSW_PID[@]}"; do
        [ -n "${VSW_PID[$n]}" ] || continue
        printf '\n---- vsctl show (%s) ----\n' "$n"
        vsctl_on "$n" show 2>&1 | head -40
    done
    for f in "$VSW_TMPDIR"/*.log "$VSW_TMPDIR"/*/cni.log; do
        [ -s "$f" ] || continue
        printf '\n---- %s (last 25 lines) ----\n' "${f#"$VSW_TMPDIR"/}"
        tail -n 25 "$f"
    done
}

# --- CNI: one network configuration per node ------------------------------------------------

declare -A POD_NODE POD_IP

# cni_use NODE: points tests/lib/cni.sh's variables at NODE's CNI configuration.
cni_use() {
    CNI_NODE=$1
    CNI_CIDR=${VSW_CIDR[$1]}
    CNI_GW=$(cidr_gateway "$CNI_CIDR")
    NETCONFPATH=$VSW_TMPDIR/$1/net.d
    CNI_IPAM_DIR=$VSW_TMPDIR/$1/ipam
    CNI_CACHE=$VSW_TMPDIR/$1/cni-cache
    CNI_LOG=$VSW_TMPDIR/$1/cni.log
}

# cni_node NODE: NODE's /etc/cni/net.d: the vswitch plugin, its switch's socket, MTU 1450,
# host-local over the node's pod CIDR.
cni_node() {
    cni_use "$1"
    mkdir -p "$NETCONFPATH" "$CNI_IPAM_DIR" "$CNI_CACHE"
    cni_conflist podnet 1.0.0
}

# pod NODE POD: a pod sandbox (namespace) wired in by `cnitool add podnet`, as a runtime would.
pod() {
    local n=$1 p=$2
    add_ns "$p"
    cni_use "$n"
    cnitool_on add podnet "$p"
    [ "$RC" -eq 0 ] || fail "cnitool add podnet $p on $n: $OUT $ERR"
    on_exit "cni_use '$n'; cnitool_on del podnet '$p'"
    POD_NODE[$p]=$n
    POD_IP[$p]=$(pod_ip "$p")
    [ -n "${POD_IP[$p]}" ] || fail "$p has no address after cnitool add"
}

# --- Kubernetes objects, as kubectl create -f takes them ---------------------------------------

# node_yaml NODE: the Node object its kubelet would register: InternalIP and pod CIDR.
node_yaml() {
    cat <<EOF
apiVersion: v1
kind: Node
metadata: {name: $1}
spec: {podCIDR: ${VSW_CIDR[$1]}, podCIDRs: [${VSW_CIDR[$1]}]}
status:
  addresses:
  - {type: InternalIP, address: ${VSW_NODE_IP[$1]}}
  - {type: Hostname, address: $1}
---
EOF
}

# service_yaml NAME VIP PORT_NAME PORT TARGET_PORT: a ClusterIP Service in "default".
service_yaml() {
    cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default}
spec:
  selector: {app: $1}
  clusterIP: $2
  clusterIPs: [$2]
  ports: [{name: $3, port: $4, targetPort: $5, protocol: TCP}]
---
EOF
}

# slice_yaml NAME SERVICE PORT_NAME PORT POD...: the EndpointSlice the endpoint-slice
# controller would write for SERVICE's pods, each ready, on its node.
slice_yaml() {
    local name=$1 svc=$2 pname=$3 port=$4 p; shift 4
    cat <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name
  namespace: default
  labels:
    kubernetes.io/service-name: $svc
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
addressType: IPv4
ports: [{name: $pname, port: $port, protocol: TCP}]
endpoints:
EOF
    for p in "$@"; do
        cat <<EOF
- addresses: [${POD_IP[$p]}]
  conditions: {ready: true}
  nodeName: ${POD_NODE[$p]}
  targetRef: {kind: Pod, namespace: default, name: $p}
EOF
    done
    echo ---
}

# demo_wait_synced NODE: waits up to 30 s for NODE's proxy to report its first sync (healthz
# 200); fails at once if the proxy has exited.
demo_wait_synced() {
    local n=$1 deadline=$((SECONDS + 30))
    until [ "$(proxy_healthz "$n")" == 200 ]; do
        proxy_alive "$n" || fail "vswitch-proxy on $n exited: $(tail -5 "${PROXY_LOG[$n]}")"
        [ "$SECONDS" -lt "$deadline" ] ||
            fail "vswitch-proxy on $n did not sync in 30 s: $(tail -5 "${PROXY_LOG[$n]}")"
        sleep 0.1
    done
}

# --- dump-flows, for reading ------------------------------------------------------------------

# wrap_flows: dump-flows lines on stdin, wrapped for a terminal: a new line before the
# counters, the actions, a pair's reply tuple and policy; long parts broken after top-level
# commas (never inside parentheses).
wrap_flows() {
    awk -v IND="     " -v WIDTH=94 '
    function part(s, first,    i, c, d, tok, n, toks, line, w) {
        n = 0; tok = ""; d = 0
        for (i = 1; i <= length(s); i++) {
            c = substr(s, i, 1); tok = tok c
            if (c == "(") d++
            else if (c == ")") d--
            else if (c == "," && d == 0) { toks[++n] = tok; tok = "" }
        }
        if (tok != "") toks[++n] = tok
        line = first ? IND : IND "    "
        w = length(line)
        for (i = 1; i <= n; i++) {
            if (w + length(toks[i]) > WIDTH && w > length(IND) + 8) {
                print line; line = IND "      "; w = length(line)
            }
            line = line toks[i]; w += length(toks[i])
        }
        print line
    }
    {
        s = $0
        gsub(/,reply=/, ",\001reply=", s); gsub(/,policy=/, ",\001policy=", s)
        gsub(/ packets=/, "\001packets=", s); gsub(/ actions=/, "\001actions=", s)
        n = split(s, parts, "\001")
        for (k = 1; k <= n; k++) part(parts[k], k == 1)
    }'
}

# explain_flows NODE: the dump-flows lines on stdin, each under a line saying what it is.
explain_flows() {
    local n=$1 line what
    while IFS= read -r line; do
        case "$n:$line" in
            node1:in_port=vxlan,*)
                what="<- the replies from node2, already from the VIP: routed to the client" ;;
            node1:in_port=*)
                what="-> the client's packets to the VIP: backend chosen, MAC fixed, tunneled" ;;
            node2:in_port=vxlan,*)
                what="-> from node1, to the VIP but for a pod: DNAT to perf-server (pair, orig)" ;;
            node2:in_port=*)
                what="<- perf-server's replies: un-NAT (source VIP:5201), tunneled to node1" ;;
            node1:dispatch*)
                what="the dispatch entry: the backend this connection went to (no reverse state)" ;;
            *:flow-pair*)
                what="the flow pair: the connection as the client sent it (orig) and as the pod"
                what+=" answers (reply)" ;;
            *) what='' ;;
        esac
        [ -n "$what" ] && printf '%s     %s%s\n' "$C_DIM" "$what" "$C_0"
        wrap_flows <<<"$line"
    done
}

# --- the scene -----------------------------------------------------------------------------

preflight
require openssl kubectl curl jq iperf3 unshare
[ -x "$VSW_BUILD/vswitch-proxy" ] || fail "$VSW_BUILD/vswitch-proxy not built"
[ -x "$VSW_BUILD/vswitch-cni" ] || fail "$VSW_BUILD/vswitch-cni not built"
[ -x /usr/lib/cni/host-local ] || fail "host-local missing (containernetworking-plugins)"
CNITOOL=$(bash "$VSW_REPO/tests/cni/build-cnitool.sh" 2>>"$DEMO_LOG") ||
    fail "cannot build cnitool"
CNI_BIN=$VSW_TMPDIR/cni-bin
mkdir -p "$CNI_BIN"
ln -sf "$VSW_BUILD/vswitch-cni" "$CNI_BIN/vswitch"
ln -sf /usr/lib/cni/host-local "$CNI_BIN/host-local"

printf '%svswitch demo%s: two nodes on a VXLAN overlay, pods wired in by the CNI plugin, a\n' \
    "$C_B" "$C_0"
printf 'Kubernetes Service load-balanced by the switch itself with Direct Server Return.\n'
printf '%sEverything runs in network namespaces named %s*; nothing else is touched.%s\n' \
    "$C_DIM" "$VSW_NS_PREFIX" "$C_0"

section "1. Two nodes on an underlay"
say "Each node is a network namespace with an interface on a shared underlay bridge; vswitchd"
say "runs in it with --node-ip (the VXLAN endpoint) and the node's pod CIDR (its gateway)."
add_underlay
for i in 1 2; do
    # Each node has its own run directory (its /run/vswitch: the control socket and what
    # vswitchd keeps beside it) and database.
    mkdir -p "$VSW_TMPDIR/node$i"
    VSW_CTL["node$i"]=$VSW_TMPDIR/node$i/vswitchd.sock
    # shellcheck disable=SC2034  # read by the library's start_vswitchd
    VSW_DB["node$i"]=$VSW_TMPDIR/node$i/conf.db
    add_overlay_node "node$i" "$i"
    ok "node$i   underlay ${VSW_NODE_IP[node$i]}  pods ${VSW_CIDR[node$i]}  vswitchd" \
       "pid ${VSW_PID[node$i]}"
done
add_ns k8s-api
underlay_attach k8s-api 100
ok "k8s-api underlay $K8S_ADDR  (the control plane: a Kubernetes API server, below)"

section "2. Pods, wired in by the CNI plugin"
say "cnitool (the reference CNI client, libcni as containerd uses it) runs the plugin \"vswitch\""
say "with host-local IPAM: a veth into the pod, address, MTU 1450, routes, a port on the switch."
cni_node node1
cni_node node2
for p in web-1:node1 web-2:node1 web-3:node2 web-4:node2 perf-server:node2 client:node1; do
    pod "${p#*:}" "${p%:*}"
done
printf '     %-12s %-6s %-12s %-18s %s\n' POD NODE IP MAC "PORT (host end)"
for p in web-1 web-2 web-3 web-4 perf-server client; do
    n=${POD_NODE[$p]}
    port=$(vsctl_on "$n" --json show |
           jq -r --arg ip "${POD_IP[$p]}" '.ports[] | select(.ip == $ip) | .name')
    [ -n "$port" ] || fail "vswitchd on $n has no port for $p (${POD_IP[$p]})"
    printf '     %-12s %-6s %-12s %-18s %s\n' "$p" "$n" "${POD_IP[$p]}" "$(if_mac "$p" eth0)" \
        "$port"
done
for p in web-1 web-2 web-3 web-4; do
    svc_start "$p" http-server 8080 "$p"
done
ok "web-1..web-4 serve HTTP on :8080: each answers with its name and the address it saw"
iperf_server perf-server 5201
ok "perf-server runs iperf3 -s on :5201"

section "3. Kubernetes: Nodes, two Services and their EndpointSlices"
say "A test API server (real list/watch protocol, TLS, bearer token) runs in k8s-api; the"
say "objects are created with the real kubectl; vswitch-proxy on each node watches them."
k8s_start k8s-api
objects=$VSW_TMPDIR/objects.yaml
{
    node_yaml node1
    node_yaml node2
    service_yaml web "$WEB_VIP" http 80 8080
    slice_yaml web-x7k2p web http 8080 web-1 web-2 web-3 web-4
    service_yaml iperf "$PERF_VIP" iperf 5201 5201
    slice_yaml iperf-m4q8z iperf iperf 5201 perf-server
} >"$objects"
out=$(kubectl_k create --validate=false -f "$objects" 2>&1) ||
    fail "kubectl create -f objects.yaml: $out"
log "$out"
ok "kubectl create -f objects.yaml: $(grep -c created <<<"$out") objects created"
out=$(kubectl_k get nodes,services,endpointslices 2>&1) || fail "kubectl get: $out"
printf '     %s$ kubectl get nodes,services,endpointslices%s\n' "$C_B" "$C_0"
show <<<"$out"
for n in node1 node2; do
    proxy_start "$n"
done
for n in node1 node2; do
    demo_wait_synced "$n"
done
web_backends=$(for p in web-1 web-2 web-3 web-4; do echo "${POD_IP[$p]}:8080"; done |
               sort -t. -k1,1n -k2,2n -k3,3n -k4,4n | paste -sd,)
for n in node1 node2; do
    wait_policy "$n" "$WEB_VIP:80/tcp" \
        "$WEB_VIP:80/tcp k8s:default/web:http dsr=true aff=0 $web_backends"
    wait_policy "$n" "$PERF_VIP:5201/tcp" \
        "$PERF_VIP:5201/tcp k8s:default/iperf:iperf dsr=true aff=0 ${POD_IP[perf-server]}:5201"
done
_peer_is() {
    [ "$(vsctl_on "$1" --json show | jq -r '.peers[] | "\(.node_ip) \(.pod_cidr)"')" == "$2" ]
}
wait_until 10 _peer_is node1 "${VSW_NODE_IP[node2]} ${VSW_CIDR[node2]}" ||
    fail "node1's overlay peers are not node2's from the Node objects"
wait_until 10 _peer_is node2 "${VSW_NODE_IP[node1]} ${VSW_CIDR[node1]}" ||
    fail "node2's overlay peers are not node1's from the Node objects"
for n in node1 node2; do
    other=node$((3 - ${n#node}))
    ok "vswitch-proxy on $n synced: 2 policies, overlay peer $other" \
       "(${VSW_NODE_IP[$other]} ${VSW_CIDR[$other]})"
done

section "4. The client pod calls the Service by its VIP"
client_ip=${POD_IP[client]}
say "client ($client_ip, node1) runs curl http://$WEB_VIP/ $REQUESTS times, a new connection"
say "each time."
answers=$(curl_many client "http://$WEB_VIP/" "$REQUESTS")
good=$(grep -cE '^web-[1-4] ' <<<"$answers")
printf '     %-8s %-6s %8s   %s\n' BACKEND NODE ANSWERED "CLIENT ADDRESS IT SAW"
for p in web-1 web-2 web-3 web-4; do
    cnt=$(grep -c "^$p " <<<"$answers")
    seen=$(awk -v p="$p" '$1 == p {print $2}' <<<"$answers" | sort -u | paste -sd' ')
    printf '     %-8s %-6s %8s   %s\n' "$p" "${POD_NODE[$p]}" "$cnt" "${seen:--}"
    [ "$cnt" -gt 0 ] || fail "$p (on ${POD_NODE[$p]}) never answered in $REQUESTS requests"
done
[ "$good" -eq "$REQUESTS" ] ||
    fail "$good of $REQUESTS requests answered: $(grep -v '^web-' <<<"$answers" | sort | uniq -c)"
ok "$good/$REQUESTS requests answered, by all four backends, on both nodes (Maglev)"
seen=$(awk '{print $2}' <<<"$answers" | sort -u)
[ "$seen" == "$client_ip" ] ||
    fail "the backends saw $(paste -sd' ' <<<"$seen"), not the client's address $client_ip"
ok "every backend saw $client_ip, the client pod itself: no SNAT, the replies went straight"
say "  from the backend's switch to the client (DSR), also from node2 across the overlay."

section "5. vsctl dump-policies (node1)"
say "The Service port as a VFP-style lbnat rule: the VIP, the rewrites done to the first packet,"
say "the backends (DIP ranges), IsDSR, and the hits: the same policy is on every node."
block=$(policy_block node1 k8s:default/web:http)
printf '     %s$ vsctl dump-policies%s   (the web Service'"'"'s policy)\n' "$C_B" "$C_0"
show <<<"$block"
grep -q '^IsDSR: TRUE' <<<"$block" || fail "the web policy is not DSR on node1: $block"
ok "IsDSR: TRUE"

section "6. One DSR connection across the overlay, in vsctl dump-flows on both nodes"
say "iperf3 from client (node1) to the iperf Service $PERF_VIP:5201, whose one backend,"
say "perf-server (${POD_IP[perf-server]}), is on node2.  Dumped while the transfer runs."
ns_exec client iperf3 -c "$PERF_VIP" -p 5201 -t "$IPERF_SECONDS" -J \
    >"$VSW_TMPDIR/iperf3-client.json" 2>&1 &
iperf_pid=$!
on_exit "kill $iperf_pid 2>/dev/null"
# The data connection: the pair on node2 with the most bytes from the client.
_data_pair() {
    local sp
    sp=$(vsctl_on node2 --json dump-flows | jq -r --arg v "$PERF_VIP" '
        [.flow_pairs[] | select(.orig.dst == $v and .state == "ESTABLISHED"
                                 and .bytes.orig > 10000000)]
        | max_by(.bytes.orig) | .orig.sport // empty')
    [ -n "$sp" ] && DATA_SPORT=$sp
}
DATA_SPORT=
wait_until 10 _data_pair || fail "no established flow pair for $PERF_VIP:5201 on node2"
sleep 1
flows1=$(vsctl_on node1 dump-flows) || fail "vsctl dump-flows on node1"
flows2=$(vsctl_on node2 dump-flows) || fail "vsctl dump-flows on node2"
wait "$iperf_pid"
iperf_rc=$?
mine1=$(grep -E "tp_(src|dst)=$DATA_SPORT(,| )|sport=$DATA_SPORT," <<<"$flows1")
mine2=$(grep -E "tp_(src|dst)=$DATA_SPORT(,| )|sport=$DATA_SPORT," <<<"$flows2")
log "data connection source port $DATA_SPORT"
lead node1 ", the client's node, balances: it picks the backend, fixes the MAC to that pod's"
say "dispatch MAC (0a:58 + its IP) and tunnels the packet to node2, still addressed to the VIP;"
say "it remembers only the backend chosen (a dispatch entry, so the connection stays there when"
say "backends are added), no reverse state: the replies come back from the VIP, simply routed."
printf '     %s$ vsctl dump-flows%s   (the lines of this connection, port %s; wrapped)\n' \
    "$C_B" "$C_0" "$DATA_SPORT"
explain_flows node1 <<<"$mine1"
lead node2 ", the backend's node, holds the flow pair: it DNATs VIP:5201 to the pod,"
say "un-NATs the replies (source back to VIP:5201) and tunnels them straight to node1."
printf '     %s$ vsctl dump-flows%s\n' "$C_B" "$C_0"
explain_flows node2 <<<"$mine2"
want="nw_dst=$PERF_VIP,.*actions=.*tunnel\(dst=${VSW_NODE_IP[node2]}[,)]"
want+=".*set_eth\([^)]*dst=$(dispatch_mac "${POD_IP[perf-server]}")"
grep -Eq "$want" <<<"$mine1" ||
    fail "node1 has no flow tunneling the connection to node2 with the backend's MAC: $mine1"
grep -q '^flow-pair ' <<<"$mine1" &&
    fail "node1 holds a flow pair for the connection (it should only dispatch): $mine1"
want="^flow-pair tcp,orig=\(src=$client_ip,dst=$PERF_VIP,sport=$DATA_SPORT,dport=5201\),"
want+="reply=\(src=${POD_IP[perf-server]},dst=$client_ip,sport=5201,dport=$DATA_SPORT\),.*dsr=yes"
grep -Eq "$want" <<<"$mine2" ||
    fail "node2 has no DSR flow pair for the connection: $mine2"
grep -Eq "^dispatch tcp,orig=\(src=$client_ip,dst=$PERF_VIP,sport=$DATA_SPORT,dport=5201\),backend=${POD_IP[perf-server]}:5201," <<<"$mine1" ||
    fail "node1 has no dispatch entry naming perf-server for the connection: $mine1"
ok "node1: MAC fixed and tunneled, a dispatch entry, no flow pair; node2: the DSR flow pair"

section "7. Throughput through the VIP, across the overlay"
[ "$iperf_rc" -eq 0 ] || fail "iperf3 failed: $(tail -5 "$VSW_TMPDIR/iperf3-client.json")"
json=$VSW_TMPDIR/iperf3-client.json
bps=$(jq -r '.end.sum_received.bits_per_second' "$json")
retr=$(jq -r '.end.sum_sent.retransmits // 0' "$json")
gbps=$(awk -v b="$bps" 'BEGIN {printf "%.2f", b / 1e9}')
srv_log=$VSW_TMPDIR/iperf3-perf-server-5201.log
wait_until 5 grep -q 'Accepted connection from' "$srv_log" || fail "iperf3 server saw no client"
seen=$(grep -oE 'Accepted connection from [0-9.]+' "$srv_log" |
       awk '{print $4}' | sort -u | paste -sd' ')
[ "$seen" == "$client_ip" ] || fail "iperf3 server saw '$seen', not the client $client_ip"
awk -v b="$bps" 'BEGIN {exit !(b > 0)}' || fail "iperf3 measured no throughput"
printf '   %s%s Gbit/s%s  client (node1) -> %s:5201 -> perf-server (node2): TCP, %s s, %s\n' \
    "$C_B" "$gbps" "$C_0" "$PERF_VIP" "$IPERF_SECONDS" "$retr retransmits"
say "(VXLAN, pod MTU 1450, the switch cutting the pod's 64 KiB GSO frames; one core per switch)"
ok "perf-server saw the connection come from $client_ip"

elapsed=$((SECONDS - DEMO_START))
if [ "${DEMO_PAUSE:-0}" = 1 ]; then
    section "Your turn: the scene stays up until you press Enter"
    cat <<EOF
     export VSWITCH_CTL=${VSW_CTL[node1]}     # node1 (node2: ${VSW_CTL[node2]})
     $VSW_BUILD/vsctl show
     $VSW_BUILD/vsctl dump-flows
     ip netns exec $(ns client) curl -s http://$WEB_VIP/
     ip netns exec $(ns node1) curl -s 127.0.0.1:9479/metrics     # vswitchd
     ip netns exec $(ns node1) curl -s 127.0.0.1:10249/metrics    # vswitch-proxy
     ip netns exec $(ns k8s-api) kubectl --kubeconfig $K8S_KUBECONFIG get services
EOF
    read -r -p "   Press Enter to tear the scene down. " _ </dev/tty || true
fi

section "Done"
ok "every step worked, in $elapsed s; cleaning up the namespaces"
