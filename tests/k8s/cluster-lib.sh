# shellcheck shell=bash
# tests/k8s/cluster-lib.sh — a real Kubernetes 1.20 in namespaces made for the run, sourced
# after tests/lib/lib.sh (whose cleanup stack removes everything on exit).
#
#   underlay (bridge br0, 192.168.X.0/24)
#     ├── cp   .10  etcd, kube-apiserver (RBAC, Node authorizer, service CIDR 10.96.0.0/16),
#     │             kube-controller-manager (node IPAM: 10.244.0.0/16 in /24s), kube-scheduler
#     ├── n1   .11  containerd + kubelet, in their own mount and PID namespaces
#     └── n2   .12  (tests/k8s/node-init.sh)
#
# Certificates are made here with openssl; the images (pause, busybox, vswitch) are packed with
# examples/k8s/build-image.sh and imported into each node's containerd; the product is then
# deployed from examples/k8s/ with kubectl apply (kc_deploy).
#
#   kc_up           all of the above, nodes Ready with vswitch running (kc_deploy included)
#   kc ARGS...      kubectl as cluster-admin (from the control-plane namespace)
#   node_exec N CMD the node's namespaces (network, mount, PID): its vsctl socket, /var/lib...
#   kc_stop_apiserver / kc_start_apiserver

KC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KC_SERVICE_CIDR=10.96.0.0/16
KC_CLUSTER_CIDR=10.244.0.0/16
KC_NODES=(n1 n2)
KC_FEATURES=EndpointSliceNodeName=true,EndpointSliceTerminatingCondition=true
declare -A KC_PID KC_NODE_PID KC_NODE_IP

# kc_wait SECONDS CMD...: wait_until with a pause of 1 s between tries: kubectl costs a
# fraction of a core each time, on a machine that also runs the cluster.
kc_wait() { wait_every 1 "$@"; }

# kc_log MESSAGE with the seconds since kc_init, so that the cost of each step shows.
kc_log() { log "[$(( $(date +%s) - KC_T0 ))s] $*"; }

kc_init() {
    KC_T0=$(date +%s)
    require_root
    require_build
    require openssl kubectl curl jq etcd containerd ctr runc nsenter unshare umoci skopeo gcc
    KC_BIN=$(bash "$KC_LIB_DIR/build-kube.sh" --print-dir) ||
        fail "the kube binaries are not built (tests/k8s/build-kube.sh)"
    KC_DIR=$VSW_TMPDIR/cluster
    mkdir -p "$KC_DIR"
    KC_CGROUP=vsw-$VSW_RUN
    kc_log "kube binaries: $KC_BIN ($("$KC_BIN/kube-apiserver" --version))"
}

# --- certificates -------------------------------------------------------------------------

# _kc_cert NAME CN O [SAN]: NAME.crt/NAME.key signed by the cluster CA.
_kc_cert() {
    local d=$KC_DIR/pki name=$1 cn=$2 o=$3 san=${4:-} subj
    subj="/CN=$cn"
    [ -n "$o" ] && subj="/O=$o$subj"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$name.key" \
        -out "$d/$name.csr" -subj "$subj" >/dev/null 2>&1 || fail "openssl: key for $name"
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=serverAuth,clientAuth"
        [ -n "$san" ] && echo "subjectAltName=$san"
    } >"$d/$name.ext"
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/$name.crt" -days 2 -extfile "$d/$name.ext" >/dev/null 2>&1 ||
        fail "openssl: cannot sign $name"
}

# _kc_kubeconfig FILE CERTNAME: a kubeconfig for the API server with that client certificate.
_kc_kubeconfig() {
    local d=$KC_DIR/pki
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: vk
  cluster: {server: "https://$KC_CP_IP:6443", certificate-authority: "$d/ca.crt"}
users:
- name: u
  user: {client-certificate: "$d/$2.crt", client-key: "$d/$2.key"}
contexts:
- name: vk
  context: {cluster: vk, user: u}
current-context: vk
EOF
}

kc_certs() {
    local d=$KC_DIR/pki n
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 -subj /CN=vswitch-k8s-test-ca \
        >/dev/null 2>&1 || fail "openssl: cannot make the cluster CA"
    _kc_cert apiserver kube-apiserver "" \
        "IP:$KC_CP_IP,IP:10.96.0.1,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    _kc_cert apiserver-kubelet kube-apiserver-kubelet-client system:masters
    _kc_cert admin kubernetes-admin system:masters
    _kc_cert kcm system:kube-controller-manager ""
    _kc_cert scheduler system:kube-scheduler ""
    for n in "${KC_NODES[@]}"; do
        _kc_cert "node-$n" "system:node:$n" system:nodes "IP:${KC_NODE_IP[$n]},DNS:$n"
    done
    openssl genrsa -out "$d/sa.key" 2048 >/dev/null 2>&1 || fail "openssl: service account key"
    openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" >/dev/null 2>&1 ||
        fail "openssl: service account public key"
    KC_KUBECONFIG=$KC_DIR/admin.kubeconfig
    _kc_kubeconfig "$KC_KUBECONFIG" admin
    _kc_kubeconfig "$KC_DIR/kcm.kubeconfig" kcm
    _kc_kubeconfig "$KC_DIR/scheduler.kubeconfig" scheduler
}

# --- images -------------------------------------------------------------------------------

# kc_images: pause (a static C program), busybox (Debian's busybox-static) and the product's
# image (make image), as archives in $KC_DIR/images.
kc_images() {
    local d=$KC_DIR/images r
    mkdir -p "$d"
    r=$KC_DIR/rootfs-pause
    mkdir -p "$r"
    printf '%s\n' '#include <signal.h>' '#include <unistd.h>' \
        'static void done(int sig) { (void) sig; _exit(0); }' \
        'int main(void) { signal(SIGTERM, done); signal(SIGINT, done); for (;;) pause(); }' \
        >"$KC_DIR/pause.c"
    gcc -Os -static -o "$r/pause" "$KC_DIR/pause.c" || fail "cannot build the pause program"
    bash "$VSW_REPO/examples/k8s/build-image.sh" --rootfs "$r" --name k8s.gcr.io/pause:3.2 \
        --out "$d/pause.tar" --entrypoint /pause || fail "cannot pack the pause image"
    r=$KC_DIR/rootfs-busybox
    mkdir -p "$r/bin" "$r/tmp" "$r/etc" "$r/www/cgi-bin"
    cp /bin/busybox "$r/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
    # The backends' CGI: which pod answered, and the client address it saw (DSR keeps it).
    printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%%s %%s\\n" "$(hostname)" "$REMOTE_ADDR"\n' \
        >"$r/www/cgi-bin/who"
    chmod 0755 "$r/www/cgi-bin/who"
    # The clients' HTTP tool: busybox-static's wget and nc crash (SIGSEGV) resolving even an
    # address literal, in an image without glibc's NSS modules: curl with its libraries.
    local lib
    install -D -m 0755 "$(command -v curl)" "$r/usr/bin/curl"
    for lib in $(ldd "$(command -v curl)" | awk '/=> \//{print $3} /^[ \t]*\//{print $1}'); do
        [ -e "$r$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$r$lib"
    done
    bash "$VSW_REPO/examples/k8s/build-image.sh" --rootfs "$r" --name vswitch.test/busybox:1 \
        --out "$d/busybox.tar" || fail "cannot pack the busybox image"
    bash "$VSW_REPO/examples/k8s/build-image.sh" "$VSW_BUILD" >/dev/null ||
        fail "make image failed"
    cp "$VSW_BUILD/image/vswitch.tar" "$d/vswitch.tar"
    kc_log "images packed: $(cd "$d" && ls)"
}

# --- control plane ------------------------------------------------------------------------

# _kc_bg NAME CMD...: CMD in the control-plane namespace, log in $KC_DIR/NAME.log (appended:
# the API server restarted by a test writes on).  `ip netns exec` itself goes to the
# background, as in bg_start, so that $! is the process _kc_stop stops.
_kc_bg() {
    local name=$1; shift
    ip netns exec "$(ns cp)" "$@" >>"$KC_DIR/$name.log" 2>&1 &
    KC_PID[$name]=$!
    # A test's subshell may stop what the runner's shell started (the API server's outage):
    # out of the job table, the runner does not print "Killed ..." when it reaps it.
    disown "$!"
}

# _kc_stop NAME: stop_pid on what _kc_bg NAME started, with 5 s before SIGKILL.  The call's
# stderr is silenced as a whole: bash reports a killed job ("Killed ...") on whichever
# command reaps it, not only on the wait.
_kc_stop() {
    [ -n "${KC_PID[$1]:-}" ] || return 0
    stop_pid "${KC_PID[$1]}" 5 2>/dev/null
    KC_PID[$1]=
}

# kc ARGS...: kubectl as cluster-admin.
kc() { ns_exec cp kubectl --kubeconfig "$KC_KUBECONFIG" "$@" 2> >(grep -v 'version skew\|WARNING: version difference' >&2); }

_kc_apiserver_ready() {
    ns_exec cp curl -sf --max-time 2 --cacert "$KC_DIR/pki/ca.crt" \
        --cert "$KC_DIR/pki/admin.crt" --key "$KC_DIR/pki/admin.key" \
        "https://$KC_CP_IP:6443/readyz" >/dev/null
}

kc_start_apiserver() {
    local d=$KC_DIR/pki
    _kc_bg apiserver "$KC_BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
        --bind-address=0.0.0.0 --secure-port=6443 --advertise-address="$KC_CP_IP" \
        --insecure-port=0 --cert-dir="$KC_DIR/apiserver-certs" \
        --service-cluster-ip-range="$KC_SERVICE_CIDR" --authorization-mode=Node,RBAC \
        --enable-admission-plugins=NodeRestriction --allow-privileged=true \
        --client-ca-file="$d/ca.crt" --tls-cert-file="$d/apiserver.crt" \
        --tls-private-key-file="$d/apiserver.key" \
        --kubelet-client-certificate="$d/apiserver-kubelet.crt" \
        --kubelet-client-key="$d/apiserver-kubelet.key" \
        --kubelet-preferred-address-types=InternalIP \
        --service-account-key-file="$d/sa.pub" --service-account-signing-key-file="$d/sa.key" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --feature-gates="$KC_FEATURES" --profiling=false --v=1
    kc_wait 60 _kc_apiserver_ready ||
        fail "kube-apiserver did not become ready: $(tail -20 "$KC_DIR/apiserver.log")"
}

kc_stop_apiserver() { _kc_stop apiserver; }

kc_start_cp() {
    mkdir -p "$KC_DIR/etcd"
    _kc_bg etcd etcd --name cp --data-dir "$KC_DIR/etcd" \
        --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
        --listen-peer-urls http://127.0.0.1:2380 \
        --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster cp=http://127.0.0.1:2380
    on_exit "_kc_stop etcd"
    kc_wait 20 ns_exec cp etcdctl --endpoints=http://127.0.0.1:2379 \
        endpoint health >/dev/null 2>&1 || fail "etcd did not start: $(tail -5 "$KC_DIR/etcd.log")"
    kc_start_apiserver
    on_exit "_kc_stop apiserver"
    kc_log "kube-apiserver ready at https://$KC_CP_IP:6443"
    _kc_bg kcm "$KC_BIN/kube-controller-manager" --kubeconfig="$KC_DIR/kcm.kubeconfig" \
        --authentication-kubeconfig="$KC_DIR/kcm.kubeconfig" \
        --authorization-kubeconfig="$KC_DIR/kcm.kubeconfig" \
        --bind-address=127.0.0.1 --port=0 --leader-elect=false \
        --service-account-private-key-file="$KC_DIR/pki/sa.key" \
        --root-ca-file="$KC_DIR/pki/ca.crt" --use-service-account-credentials=true \
        --allocate-node-cidrs=true --cluster-cidr="$KC_CLUSTER_CIDR" --node-cidr-mask-size=24 \
        --service-cluster-ip-range="$KC_SERVICE_CIDR" --configure-cloud-routes=false \
        --controllers='*' --feature-gates="$KC_FEATURES" --v=1
    on_exit "_kc_stop kcm"
    _kc_bg scheduler "$KC_BIN/kube-scheduler" --kubeconfig="$KC_DIR/scheduler.kubeconfig" \
        --authentication-kubeconfig="$KC_DIR/scheduler.kubeconfig" \
        --authorization-kubeconfig="$KC_DIR/scheduler.kubeconfig" \
        --bind-address=127.0.0.1 --port=0 --leader-elect=false --v=1
    on_exit "_kc_stop scheduler"
    kc_wait 60 _kc_sa_ready || fail "the default ServiceAccount never appeared (kube-controller-manager): $(tail -20 "$KC_DIR/kcm.log")"
    kc_log "controller-manager and scheduler up"
}

_kc_sa_ready() { kc get serviceaccount default -n default >/dev/null 2>&1; }

# --- nodes --------------------------------------------------------------------------------

kc_start_node() {
    local n=$1 d pid
    d=$KC_DIR/node-$n
    mkdir -p "$d/images"
    cp "$KC_DIR"/images/*.tar "$d/images/"
    cat >"$d/node.env" <<EOF
NAME=$n
IP=${KC_NODE_IP[$n]}
KUBE_BIN=$KC_BIN
EOF
    _kc_kubeconfig "$d/kubeconfig" "node-$n"
    cat >"$d/containerd.toml" <<EOF
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "k8s.gcr.io/pause:3.2"
  # No CAP_SYS_RESOURCE here: never lower a process's OOM score below containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
EOF
    # A cgroup root of the node's own: two kubelets on one machine must not manage (and clean
    # up as orphans) each other's pod cgroups, and every container's cgroup is then under a
    # directory the run removes (kc_stop_node).  kubelet wants the root in every hierarchy.
    local c
    on_exit "_kc_rm_cgroups '$n'"
    for c in /sys/fs/cgroup/*/; do
        [ -e "$c/cgroup.procs" ] && mkdir -p "$c$KC_CGROUP-$n"
    done
    cat >"$d/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${KC_NODE_IP[$n]}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$KC_DIR/pki/ca.crt"}
authorization: {mode: AlwaysAllow}
tlsCertFile: "$KC_DIR/pki/node-$n.crt"
tlsPrivateKeyFile: "$KC_DIR/pki/node-$n.key"
cgroupDriver: cgroupfs
cgroupsPerQOS: true
cgroupRoot: /$KC_CGROUP-$n
enforceNodeAllocatable: []
makeIPTablesUtilChains: false
failSwapOn: false
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
staticPodPath: ""
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
fileCheckFrequency: 10s
featureGates: {EndpointSliceNodeName: true, EndpointSliceTerminatingCondition: true}
EOF
    nsenter --net="/run/netns/$(ns "$n")" unshare -m -u -p -f --propagation private --mount-proc \
        bash "$KC_LIB_DIR/node-init.sh" "$d" >"$d/init.log" 2>&1 &
    pid=$!
    KC_NODE_PID[$n]=$pid
    on_exit "kc_stop_node '$n'"
    kc_wait 60 test -e "$d/ready" ||
        fail "node $n did not start: $(cat "$d/init.log"; tail -20 "$d/containerd.log")"
    kc_log "node $n: containerd and kubelet started ($(grep -o 'images: .*' "$d/init.log"))"
}

# _kc_node_init_pid N: the host PID of the node's first process (the child of unshare).
_kc_node_init_pid() {
    local upid=${KC_NODE_PID[$1]:-}
    [ -n "$upid" ] && cat "/proc/$upid/task/$upid/children" 2>/dev/null | awk '{print $1}'
}

# node_exec N CMD...: CMD in node N's network, mount and PID namespaces.
node_exec() {
    local n=$1 pid; shift
    pid=$(_kc_node_init_pid "$n")
    [ -n "$pid" ] || fail "node $n is not running"
    nsenter -t "$pid" -n -m -p -- "$@"
}

kc_stop_node() {
    local n=$1 upid=${KC_NODE_PID[$1]:-} pid i
    [ -n "$upid" ] || return 0
    pid=$(_kc_node_init_pid "$n")
    # The namespace's first process: when it ends, the kernel kills the rest (containers too).
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$upid" 2>/dev/null || break
        [ $i = 50 ] && [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
        sleep 0.1
    done
    kill -9 "$upid" 2>/dev/null
    wait "$upid" 2>/dev/null
    KC_NODE_PID[$n]=
    _kc_rm_cgroups "$n"
}

# _kc_rm_cgroups N: the node's cgroup root in every hierarchy, with the pods' and containers'
# cgroups kubelet and runc made under it (empty once the node's processes are gone).
_kc_rm_cgroups() {
    local i
    for ((i = 0; i < 25; i++)); do
        find /sys/fs/cgroup/*/ -maxdepth 1 -name "$KC_CGROUP-$1" 2>/dev/null | grep -q . || return 0
        find /sys/fs/cgroup/*/"$KC_CGROUP-$1" -depth -type d -exec rmdir {} + 2>/dev/null
        sleep 0.2
    done
}

_kc_nodes_registered() {
    [ "$(kc get nodes -o json 2>/dev/null | jq '[.items[] | select(.spec.podCIDR != null)] | length')" = "${#KC_NODES[@]}" ]
}

# --- the product --------------------------------------------------------------------------

# kc_deploy: examples/k8s/ applied as a user does: the image name is the one `make image`
# wrote; the API server's address, the cluster and service CIDRs are this cluster's.
kc_deploy() {
    local out=$KC_DIR/manifests
    mkdir -p "$out"
    cp "$VSW_REPO"/examples/k8s/*.yaml "$out/"
    sed -i "s|apiserver-host: \".*\"|apiserver-host: \"$KC_CP_IP\"|; s|log-level: \"info\"|log-level: \"debug\"|
            s|cluster-cidr: \".*\"|cluster-cidr: \"$KC_CLUSTER_CIDR\"|; s|service-cidr: \".*\"|service-cidr: \"$KC_SERVICE_CIDR\"|" \
        "$out/01-config.yaml"
    grep -q "apiserver-host: \"$KC_CP_IP\"" "$out/01-config.yaml" ||
        fail "cannot set apiserver-host in 01-config.yaml"
    kc apply -f "$out/" >"$KC_DIR/apply.log" 2>&1 || fail "kubectl apply -f examples/k8s/: $(cat "$KC_DIR/apply.log")"
    kc_log "kubectl apply -f examples/k8s/: $(tr '\n' ';' <"$KC_DIR/apply.log")"
    kc_wait 180 _kc_ds_ready || {
        kc -n kube-system get pods -o wide >&2
        kc -n kube-system describe pods -l k8s-app=vswitch | tail -40 >&2
        fail "the vswitch DaemonSet did not become ready on both nodes"
    }
    kc_wait 60 _kc_nodes_ready || fail "the nodes did not become Ready: $(kc get nodes -o wide)"
    kc_log "vswitch DaemonSet ready on ${#KC_NODES[@]} nodes; nodes Ready"
}

_kc_ds_ready() {
    [ "$(kc -n kube-system get ds vswitch -o jsonpath='{.status.numberReady}' 2>/dev/null)" = "${#KC_NODES[@]}" ]
}

_kc_nodes_ready() {
    [ "$(kc get nodes -o json | jq '[.items[] | select(.status.conditions[] | select(.type == "Ready" and .status == "True"))] | length')" = "${#KC_NODES[@]}" ]
}

# vsctl_node N ARGS...: vsctl on node N, through the socket the DaemonSet's vswitchd made.
vsctl_node() { node_exec "$1" "$VSW_BUILD/vsctl" --ctl /run/vswitch/vswitchd.sock "${@:2}"; }

# kc_up: the whole cluster with the product deployed.
kc_up() {
    local i=10 n
    kc_init
    add_underlay
    add_ns cp
    underlay_attach cp 10 eth0
    KC_CP_IP=${VSW_NODE_IP[cp]}
    for n in "${KC_NODES[@]}"; do
        i=$((i + 1))
        add_ns "$n"
        underlay_attach "$n" "$i" eth0
        KC_NODE_IP[$n]=${VSW_NODE_IP[$n]}
    done
    kc_certs
    kc_images
    kc_start_cp
    for n in "${KC_NODES[@]}"; do
        kc_start_node "$n"
    done
    kc_wait 90 _kc_nodes_registered ||
        fail "the nodes did not register with pod CIDRs: $(kc get nodes -o wide 2>&1; tail -30 "$KC_DIR/node-n1/kubelet.log")"
    kc_log "nodes registered: $(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.spec.podCIDR} {end}')"
    kc_deploy
}

# --- what the tests use --------------------------------------------------------------------

# kc_workloads: Deployment "web" (busybox httpd answering /cgi-bin/who with the pod's name
# and the client address it saw), spread over the nodes, its Service, and a client pod on n1.
kc_workloads() {
    kc apply -f - >/dev/null <<EOF2 || fail "kubectl apply of the workloads failed"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: httpd
        image: vswitch.test/busybox:1
        command: [/bin/httpd, -f, -p, "8080", -h, /www]
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec:
  nodeSelector: {kubernetes.io/hostname: n1}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: vswitch.test/busybox:1
    command: [/bin/sleep, "1000001"]
EOF2
    kc rollout status deployment/web --timeout=120s >/dev/null ||
        fail "the web Deployment did not roll out: $(kc get pods -o wide)"
    kc wait --for=condition=Ready pod/client --timeout=60s >/dev/null ||
        fail "the client pod is not ready: $(kc describe pod client | tail -20)"
    WEB_VIP=$(kc get service web -o jsonpath='{.spec.clusterIP}')
    CLIENT_IP=$(kc get pod client -o jsonpath='{.status.podIP}')
}

# web_pods: "NAME IP NODE" of every running web pod.
web_pods() {
    kc get pods -l app=web -o json |
        jq -r '.items[] | select(.metadata.deletionTimestamp == null and .status.phase == "Running") | "\(.metadata.name) \(.status.podIP) \(.spec.nodeName)"' | sort
}

# from_client N [URL]: N requests from the client pod (kubectl exec: the API server, then
# kubelet's streaming server over the underlay), one "POD CLIENT_ADDR" answer a line.
from_client() {
    local n=$1 url=${2:-http://$WEB_VIP/cgi-bin/who}
    kc exec client -- sh -c "for i in \$(seq $n); do curl -s --max-time 3 '$url' || echo FAILED; done"
}

# client_pid: the client container's process as the node n1 sees it, to enter its network
# namespace without the API server.
client_pid() { node_exec n1 pgrep -f 'sleep 1000001' | head -1; }

# from_client_netns N: N requests from the client pod's network namespace with curl from
# the node (no API server needed).
from_client_netns() {
    local n=$1 pid i
    pid=$(client_pid)
    [ -n "$pid" ] || fail "the client's process is not found on n1"
    for ((i = 0; i < n; i++)); do
        node_exec n1 nsenter -t "$pid" -n curl -s --max-time 3 "http://$WEB_VIP/cgi-bin/who" || echo FAILED
    done
}

# policy_backends NODE: the web Service's backends in NODE's switch, "IP:PORT" sorted.
policy_backends() {
    vsctl_node "$1" --json dump-policies |
        jq -r --arg v "$WEB_VIP:80/tcp" '.policies[] | select(.service == $v) | .backends[] | "\(.ip):\(.port)"' | sort | tr '\n' ' '
}

# slice_endpoints: the web Service's ready endpoints in the API's EndpointSlices, what the
# proxies read, "IP:8080" sorted.
slice_endpoints() {
    kc get endpointslices -l kubernetes.io/service-name=web -o json |
        jq -r '.items[].endpoints[]? | select(.conditions.ready != false) | .addresses[0] + ":8080"' |
        sort | tr '\n' ' '
}

_slices_are() { [ "$(slice_endpoints)" = "$1" ]; }

# wait_backends [SECONDS]: both switches hold exactly the running web pods as backends.
# Kubernetes' own EndpointSlice controller is waited for first, apart: after an API server
# outage its retries back off exponentially (1 s doubling, per Service), so the slices can
# trail the pods by a minute or more; that is not the proxies' lag, which SECONDS bounds.
wait_backends() {
    local want
    want=$(web_pods | awk '{print $2 ":8080"}' | sort | tr '\n' ' ')
    kc_wait 180 _slices_are "$want" ||
        fail "Kubernetes' EndpointSlices did not follow the pods in 180 s: want '$want', the slices have '$(slice_endpoints)'"
    kc_wait "${1:-30}" _backends_are "$want" ||
        fail "backends: want '$want', n1 has '$(policy_backends n1)', n2 has '$(policy_backends n2)'"
    log "ok: both switches balance ${WEB_VIP}:80 to $want"
}

_backends_are() { [ "$(policy_backends n1)" = "$1" ] && [ "$(policy_backends n2)" = "$1" ]; }

_has_peer() {
    vsctl_node "$1" --json show | jq -r '.peers[]? | "\(.node_ip) \(.pod_cidr)"' | grep -qx "$2"
}

_port_gone() { ! vsctl_node "$1" --json show | jq -e --arg p "$2" '.ports[] | select(.name == $p)' >/dev/null; }

# _ds_pod_ready NODE OLD: a vswitch pod other than OLD is ready on NODE.
_ds_pod_ready() {
    kc -n kube-system get pods -l k8s-app=vswitch --field-selector "spec.nodeName=$1" -o json |
        jq -e --arg old "$2" '[.items[] | select(.metadata.name != $old and .metadata.deletionTimestamp == null) | .status.containerStatuses[]?.ready] | length == 2 and all' >/dev/null
}

_web_count_is() { [ "$(web_pods | wc -l)" = "$1" ]; }
# _web_pods_left_are N: N web pods exist at all (the terminating ones are gone).
_web_pods_left_are() { [ "$(kc get pods -l app=web --no-headers 2>/dev/null | wc -l)" = "$1" ]; }

_proxy_saw_410() { kc -n kube-system logs "$1" -c vswitch-proxy --since=3m | grep -q '410 Gone'; }

_proxy_restarted() {
    [ "$(kc -n kube-system get pod "$1" -o json | jq '.status.containerStatuses[] | select(.name == "vswitch-proxy") | .restartCount')" -gt "$2" ]
}
_proxy_log_has() { kc -n kube-system logs "$1" -c vswitch-proxy | grep -qF "$2"; }
_proxy_ready() {
    kc -n kube-system get pod "$1" -o json |
        jq -e '.status.containerStatuses[] | select(.name == "vswitch-proxy") | .ready' >/dev/null
}
