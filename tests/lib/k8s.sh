# shellcheck shell=bash
# tests/lib/k8s.sh — the test API server and vswitch-proxy (part of tests/lib/lib.sh), for
# the proxy's system tests (tests/system/test-proxy-*.sh), the demo and the benchmarks.
#
# The test API server (apiserver.py) runs inside the test's node namespace on 127.0.0.1, with
# TLS (a CA and server certificate made here with openssl) and a bearer token in a file; the
# proxy runs in the same namespace with a kubeconfig naming both.  k8sctl changes objects,
# kubectl_k reads them with the real kubectl.
#
# K8S_ADDR (set before k8s_start) makes the server listen on another address of its namespace,
# e.g. an underlay address, so that proxies in other namespaces reach it as in a real cluster;
# the certificate then names that address too.  Default 127.0.0.1.

K8S_DIR="$VSW_REPO/tests/k8s"
K8S_PORT=6443
: "${K8S_ADDR:=127.0.0.1}"

# k8s_certs: a CA, a server certificate for 127.0.0.1/localhost (and K8S_ADDR), a token and a
# kubeconfig in $VSW_TMPDIR/k8s.  Sets K8S_CA, K8S_TOKEN_FILE, K8S_KUBECONFIG, K8S_SERVER.
k8s_certs() {
    local d=$VSW_TMPDIR/k8s
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 -subj /CN=vswitch-test-ca \
        >/dev/null 2>&1 || fail "openssl: cannot make the test CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/server.key" -out "$d/server.csr" -subj /CN=kube-apiserver \
        >/dev/null 2>&1 || fail "openssl: cannot make the server key"
    local san=IP:127.0.0.1,DNS:localhost
    [ "$K8S_ADDR" != 127.0.0.1 ] && san+=",IP:$K8S_ADDR"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" \
        >"$d/ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/server.crt" -days 2 -extfile "$d/ext" >/dev/null 2>&1 ||
        fail "openssl: cannot sign the server certificate"
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/token"
    K8S_CA=$d/ca.crt
    K8S_TOKEN_FILE=$d/token
    K8S_SERVER=https://$K8S_ADDR:$K8S_PORT
    K8S_KUBECONFIG=$d/kubeconfig
    cat >"$K8S_KUBECONFIG" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $K8S_SERVER
    certificate-authority: ca.crt
users:
- name: vswitch-proxy
  user:
    tokenFile: token
contexts:
- name: test
  context:
    cluster: test
    user: vswitch-proxy
current-context: test
EOK
    export K8S_CA K8S_TOKEN_FILE K8S_SERVER
}

declare -A K8S_PID
K8S_STARTS=0

# k8s_start NODE [ARGS...]: starts the test API server in NODE's namespace (state kept in
# $VSW_TMPDIR/k8s/state.json across restarts) and waits until it listens.
k8s_start() {
    local n=$1 logf; shift
    [ -n "${K8S_CA:-}" ] || k8s_certs
    K8S_NODE=$n
    K8S_STARTS=$((K8S_STARTS + 1))
    logf=$VSW_TMPDIR/apiserver.$K8S_STARTS.log
    ip netns exec "$(ns "$n")" "$VSW_PY" "$K8S_DIR/apiserver.py" \
        --addr "$K8S_ADDR" --port "$K8S_PORT" \
        --cert "$VSW_TMPDIR/k8s/server.crt" --key "$VSW_TMPDIR/k8s/server.key" \
        --token-file "$K8S_TOKEN_FILE" --state "$VSW_TMPDIR/k8s/state.json" \
        --bookmark-interval 1 "$@" >"$logf" 2>&1 &
    K8S_PID[$n]=$!
    on_exit "k8s_stop '$n'"
    wait_until 30 grep -q '^listening' "$logf" || fail "the test API server did not start: $(cat "$logf")"
}

# k8s_stop NODE: SIGTERM (the server saves its state) and wait.
k8s_stop() {
    local pid=${K8S_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    K8S_PID[$1]=
}

# k8sctl ARGS...: tests/k8s/k8sctl.py against the test server (from its namespace).
k8sctl() {
    ns_exec "$K8S_NODE" "$VSW_PY" "$K8S_DIR/k8sctl.py" "$@" || fail "k8sctl $* failed"
}

# kubectl_k ARGS...: the real kubectl against the test server, its discovery cache in the
# scratch directory (in ~/.kube/cache it would outlive the test, and answer for whatever
# server listened on the same address before).
kubectl_k() {
    ns_exec "$K8S_NODE" kubectl --kubeconfig "$K8S_KUBECONFIG" \
        --cache-dir "$VSW_TMPDIR/k8s/kube-cache" "$@"
}

# k8s_stat FIELD: a counter of the test server (/_test/stats).
k8s_stat() {
    ns_exec "$K8S_NODE" "$VSW_PY" "$K8S_DIR/k8sctl.py" raw GET /_test/stats | jq -r ".$1"
}

declare -A PROXY_PID PROXY_LOG
PROXY_STARTS=0

# proxy_start NODE [ARGS...]: vswitch-proxy in NODE's namespace against the test server and
# NODE's vswitchd, as node NODE, healthz on 127.0.0.1:10256 and metrics on :10249.  Stopped on
# exit; its log is checked for sanitizer reports.
proxy_start() { proxy_start_in "$1" "$@"; }

# proxy_start_in NS NODE [ARGS...]: NODE's proxy as proxy_start starts it, but in namespace NS
# (the test server's, when NODE's namespace does not reach it); ARGS then move its healthz and
# metrics off the ports of NS's own proxy.
proxy_start_in() {
    local in=$1 n=$2; shift 2
    PROXY_STARTS=$((PROXY_STARTS + 1))
    PROXY_LOG[$n]=$VSW_TMPDIR/proxy-$n.$PROXY_STARTS.log
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        ip netns exec "$(ns "$in")" "$VSW_BUILD/vswitch-proxy" --kubeconfig "$K8S_KUBECONFIG" \
            --node-name "$n" --ctl "${VSW_CTL[$n]}" --log-level debug "$@" \
            >"${PROXY_LOG[$n]}" 2>&1 &
    PROXY_PID[$n]=$!
    on_exit "proxy_stop '$n'"
}

# proxy_stop NODE: stop_pid on NODE's proxy; a sanitizer report in a proxy log fails the test.
proxy_stop() {
    [ -n "${PROXY_PID[$1]:-}" ] || return 0
    stop_pid "${PROXY_PID[$1]}"
    PROXY_PID[$1]=
    sanitizer_reports "$VSW_TMPDIR"/proxy-*.log || _VSW_STATUS_OVERRIDE=1
}

# proxy_alive NODE
proxy_alive() { [ -n "${PROXY_PID[$1]:-}" ] && kill -0 "${PROXY_PID[$1]}" 2>/dev/null; }

# proxy_log NODE: the current proxy log of NODE.
proxy_log() { cat "${PROXY_LOG[$1]}"; }

# policies NODE: one line per policy held by NODE's vswitchd: "SERVICE NAME dsr=B aff=N
# BACKEND,..." (backends as "IP:PORT" in the switch's order), sorted.
policies() {
    vsctl_on "$1" --json dump-policies | jq -r '.policies[] | "\(.service) \(.name) dsr=\(.dsr) aff=\(.affinity_timeout) \([.backends[] | "\(.ip):\(.port)"] | join(","))"' | sort
}

# policy_of NODE SERVICE: that policy's line of `policies`, or nothing.
policy_of() { policies "$1" | awk -v s="$2" '$1 == s'; }

# wait_policy NODE SERVICE EXPECTED [SECONDS]: waits until policy_of is EXPECTED (a line as
# `policies` prints it; "" for no policy).
wait_policy() {
    local n=$1 svc=$2 want=$3 t=${4:-10} got
    if ! wait_until "$t" _policy_is "$n" "$svc" "$want"; then
        got=$(policy_of "$n" "$svc")
        fail "policy $svc on $n: expected '$want', got '$got'"
    fi
    log "ok: policy $svc on $n is '${want:-<none>}'"
}

_policy_is() { [ "$(policy_of "$1" "$2")" == "$3" ]; }

# proxy_metric NODE NAME: a metric's value from the proxy's /metrics (NAME with labels as
# printed, e.g. 'vswitch_proxy_services_skipped{reason="headless"}').
proxy_metric() {
    ns_exec "$1" curl -s --max-time 3 http://127.0.0.1:10249/metrics |
        awk -v m="$2" '$1 == m {print $2}'
}

# wait_metric NODE NAME VALUE [SECONDS]: waits until proxy_metric NODE NAME is VALUE.
wait_metric() {
    wait_until "${4:-10}" _metric_is "$1" "$2" "$3" ||
        fail "metric $2 on $1: expected $3, got '$(proxy_metric "$1" "$2")'"
    log "ok: $2 = $3"
}

_metric_is() { [ "$(proxy_metric "$1" "$2")" == "$3" ]; }

# metric_gt NODE NAME VALUE: the metric is now greater than VALUE (for wait_until).
metric_gt() {
    local v
    v=$(proxy_metric "$1" "$2")
    [ -n "$v" ] && [ "${v%.*}" -gt "$3" ]
}

# proxy_healthz NODE: the HTTP status of the proxy's /healthz.
proxy_healthz() {
    ns_exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:10256/healthz
}

# wait_synced NODE: waits until the proxy reports its initial sync (healthz 200).
wait_synced() {
    wait_until "${2:-20}" _healthz_is "$1" 200 ||
        fail "the proxy on $1 did not sync: healthz $(proxy_healthz "$1"); log: $(tail -20 "${PROXY_LOG[$1]}")"
}

_healthz_is() { [ "$(proxy_healthz "$1")" == "$2" ]; }

# proxy_preflight: what every proxy test checks first.
proxy_preflight() {
    preflight
    require openssl kubectl curl jq
    [ -x "$VSW_BUILD/vswitch-proxy" ] || fail "$VSW_BUILD/vswitch-proxy not built"
}
