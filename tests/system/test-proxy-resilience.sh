#!/usr/bin/env bash
# vswitch-proxy when things go wrong: 410 Gone as an ERROR event and as an HTTP status (relist,
# changes made meanwhile arrive), dropped watch streams (resumed from the last
# resourceVersion, no relist), watch events split into pieces of 1-7 bytes, the API server
# down then up (nothing changes in the datapath meanwhile), vswitchd killed and restarted
# (the proxy reconnects and pushes what the switch lacks, including a change made while it
# was down), a proxy restart (nothing reprogrammed: no batch), a wrong token (a clear 401 line,
# then recovery when the token file is fixed, without a restart), a missing permission (403
# naming it), /healthz going 503 while syncs fail and back to 200, a request that meets
# vswitchd's close of an idle connection (sent again on a new one, without a warning; a close
# right after an answer still warns), and vswitchd closing the proxy's idle connection every
# --ctl-idle-timeout (quiet reconnects, changes still prompt).
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight

add_lb_node 2 http-server:8080
k8s_start node
k8sctl service default web --ip 10.96.0.10 --port http:80/TCP
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.11

proxy_start node --sync-period 1s
wait_synced node
P="10.96.0.10:80/tcp k8s:default/web:http dsr=true aff=0"
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.11:8080"

lists() { proxy_metric node "vswitch_proxy_lists_total{resource=\"$1\"}"; }
test_gt() { metric_gt node "vswitch_proxy_lists_total{resource=\"$1\"}" "$2"; }

# --- 410 as an ERROR event: relist, and the store is replaced whole ---
l0=$(lists endpointslices)
k8sctl test expire-watches
wait_until 10 test_gt endpointslices "$l0" || fail "no relist after an ERROR 410 event"
log "ok: an ERROR 410 event made the proxy list again"
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.11 --ep 10.244.1.12
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.11:8080,10.244.1.12:8080"
assert_match "410 logged" 'watch endpointslices: 410 Gone' "$(proxy_log node)"

# --- 410 as an HTTP status on the next watch ---
k8sctl test gone-mode mode=status
l0=$(lists services)
k8sctl test expire-watches
wait_until 10 test_gt services "$l0" || fail "no relist after an HTTP 410"
log "ok: an HTTP 410 on a watch made the proxy list again"
k8sctl test gone-mode mode=event

# --- dropped streams: resumed from the last resourceVersion, no relist ---
l0=$(lists services)
w0=$(proxy_metric node 'vswitch_proxy_watches_total{resource="services"}')
k8sctl test drop-watches
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.12
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.12:8080"
wait_until 10 metric_gt node 'vswitch_proxy_watches_total{resource="services"}' "$w0" ||
    fail "no new watch after the drop"
assert_eq "a dropped stream is resumed, not relisted" "$l0" "$(lists services)"
assert_match "the resumed watch starts from the last resourceVersion" \
    'watch services from resourceVersion [0-9]+ dropped' "$(proxy_log node)"

# --- events split anywhere ---
k8sctl test split on=1
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.11 --ep 10.244.1.12
k8sctl service default split --ip 10.96.0.20 --port 80/TCP
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.11:8080,10.244.1.12:8080"
wait_policy node 10.96.0.20:80/tcp "10.96.0.20:80/tcp k8s:default/split dsr=true aff=0 "
k8sctl test split on=0

# --- API server down: the datapath keeps what it has; up again: changes flow ---
before=$(policies node)
k8s_stop node
sleep 3
assert_eq "policies unchanged while the API server is down" "$before" "$(policies node)"
out=$(curl_many client http://10.96.0.10/ 6)
assert_eq "the VIP keeps working during the API outage" 6 "$(echo "$out" | grep -c '^be[12] ')"
assert_eq "healthz stays 200 during an API outage (syncs still succeed)" 200 "$(proxy_healthz node)"
k8s_start node
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.11
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.11:8080" 30
log "ok: changes flow again after the API server came back"

# --- vswitchd restart: reconnect, read back, push what differs ---
c0=$(proxy_metric node vswitch_proxy_vswitchd_connects_total)
kill9_vswitchd node
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.12
k8sctl delete services default split
wait_until 10 _healthz_is node 503 || fail "healthz did not go 503 while vswitchd was down"
log "ok: healthz 503 while syncs fail"
restart_vswitchd node
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.12:8080" 20
wait_policy node 10.96.0.20:80/tcp "" 5
wait_until 10 metric_gt node vswitch_proxy_vswitchd_connects_total "$c0" ||
    fail "no reconnect counted"
wait_synced node
out=$(curl_many client http://10.96.0.10/ 4)
assert_eq "traffic through the VIP after the vswitchd restart" 4 "$(echo "$out" | grep -c '^be2 ')"

# --- vswitchd restarted with an empty database: everything pushed again ---
stop_vswitchd node
rm -f "${VSW_DB[node]}"*
restart_vswitchd node
vsctl_on node add-port h-client --ip 10.244.1.20 --mac "$(mac_of_ip 10.244.1.20)" >/dev/null
vsctl_on node add-port h-be2 --ip 10.244.1.12 --mac "$(mac_of_ip 10.244.1.12)" >/dev/null
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.12:8080" 20
out=$(curl_many client http://10.96.0.10/ 4)
assert_eq "traffic after vswitchd lost its database" 4 "$(echo "$out" | grep -c '^be2 ')"

# --- proxy restart: lists, compares, changes nothing ---
sleep 1.5
b0=$(grep -c 'batch of' "${VSW_LOG[node]}")
proxy_stop node
proxy_start node --sync-period 1s
wait_synced node
sleep 2
assert_eq "a restarted proxy sent no batch (nothing to change)" "$b0" \
    "$(grep -c 'batch of' "${VSW_LOG[node]}")"
assert_match "its initial sync applied 0 operations" 'initial sync: .* 0 operations applied' \
    "$(proxy_log node)"

# --- a wrong token: a clear 401 line; fixing the token file recovers without a restart ---
proxy_stop node
bad=$VSW_TMPDIR/k8s/bad-token
echo not-the-token >"$bad"
sed "s|tokenFile: token|tokenFile: $bad|" "$K8S_KUBECONFIG" >"$VSW_TMPDIR/k8s/bad.kubeconfig"
saved=$K8S_KUBECONFIG
K8S_KUBECONFIG=$VSW_TMPDIR/k8s/bad.kubeconfig
proxy_start node --sync-period 1s
K8S_KUBECONFIG=$saved
wait_until 10 grep -q '401 Unauthorized' "${PROXY_LOG[node]}" || fail "no 401 line in the log"
assert_match "the 401 line says what is wrong" \
    'list services: 401 Unauthorized: the API server did not accept the credentials.*token is invalid or expired' \
    "$(proxy_log node)"
assert_eq "healthz 503 before the first sync" 503 "$(proxy_healthz node)"
cp "$K8S_TOKEN_FILE" "$bad"
wait_synced node 30
assert_match "the new token was picked up" "token file $bad changed" "$(proxy_log node)"

# --- a missing permission: 403 names it ---
proxy_stop node
k8sctl test deny resource=endpointslices
proxy_start node --sync-period 1s
wait_until 10 grep -q '403 Forbidden' "${PROXY_LOG[node]}" || fail "no 403 line in the log"
assert_match "the 403 line names the permission" \
    'list endpointslices: 403 Forbidden: missing permission to list discovery.k8s.io/endpointslices' \
    "$(proxy_log node)"
k8sctl test deny resource=
wait_synced node 30
proxy_stop node

# --- a request that meets vswitchd's close of the idle connection: sent again once on a new
# connection, without a warning; a close right after an answer is no idle close and warns.
# A relay between the proxy and vswitchd closes the connection on the Nth request from now
# (N read from $R.drop) instead of passing it on. ---
R=$VSW_TMPDIR/relay
cat >"$R.py" <<'EOF'
import socket, struct, sys, threading
listen, upstream, drop = sys.argv[1:]
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b
def pump(src, dst):
    try:
        while b := src.recv(65536):
            dst.sendall(b)
        dst.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
def serve(client):
    up = socket.socket(socket.AF_UNIX)
    up.connect(upstream)
    threading.Thread(target=pump, args=(up, client), daemon=True).start()
    while (hdr := recv_exact(client, 4)) is not None:
        body = recv_exact(client, struct.unpack(">I", hdr)[0])
        n = int(open(drop).read() or 0)
        open(drop, "w").write(str(max(n - 1, 0)))
        if body is None or n == 1:
            print("closed on a request" if body is not None else "client left", flush=True)
            break
        up.sendall(hdr + body)
    for s in (client, up):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
srv = socket.socket(socket.AF_UNIX)
srv.bind(listen)
srv.listen(8)
print("ready", flush=True)
while True:
    threading.Thread(target=serve, args=(srv.accept()[0],), daemon=True).start()
EOF
echo 0 >"$R.drop"
bg_start node "$R.log" "$VSW_PY" "$R.py" "$R.sock" "${VSW_CTL[node]}" "$R.drop"
wait_until 5 grep -q ready "$R.log" || fail "the relay did not start: $(cat "$R.log")"
proxy_start node --ctl "$R.sock" --sync-period 10m
wait_synced node
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.11
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.11:8080"
sleep 1.5               # longer than vswitchd's shortest idle timeout
echo 1 >"$R.drop"
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.12
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.12:8080" 3
assert_eq "the relay closed the connection on the batch" 1 "$(grep -c '^closed' "$R.log")"
assert_match "the batch was sent again on a new connection" \
    'debug: batch: .* closed the connection .*: sending the change again on a new connection' \
    "$(proxy_log node)"
assert_no_match "no warning for a request that met an idle close" '\] warn: ' "$(proxy_log node)"
echo 2 >"$R.drop"       # the second of two batches, less than 1 s apart
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.11
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.11:8080"
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.12
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.12:8080"
assert_eq "the relay closed the connection on the second batch" 2 "$(grep -c '^closed' "$R.log")"
assert_match "a close right after an answer is a warning" \
    'warn: sync failed: batch: vswitchd at .* closed the connection while waiting for the reply' \
    "$(proxy_log node)"
proxy_stop node

# --- vswitchd closes idle control connections (--ctl-idle-timeout 2) and the proxy's
# --sync-period is longer: it reconnects at once and quietly, and a change still arrives at
# once ---
stop_vswitchd node
VSW_ARGS[node]="--ctl-idle-timeout 2"
restart_vswitchd node
proxy_start node --sync-period 10m
wait_synced node
c0=$(proxy_metric node vswitch_proxy_vswitchd_connects_total)
wait_until 10 metric_gt node vswitch_proxy_vswitchd_connects_total "$((c0 + 1))" ||
    fail "the proxy did not reconnect twice after idle closes: $(tail -5 "${PROXY_LOG[node]}")"
assert_match "vswitchd closed the proxy's idle connection" \
    'closing a control connection of pid [0-9]+ .*: idle' "$(cat "${VSW_LOG[node]}")"
k8sctl slice default web-a --service web --port http:8080/TCP --ep 10.244.1.11
wait_policy node 10.96.0.10:80/tcp "$P 10.244.1.11:8080" 2
assert_match "the reconnects are logged at debug level" \
    'debug: reconnected to vswitchd at .* after it closed the idle connection' \
    "$(proxy_log node)"
assert_no_match "no warning for the idle closes" '\] warn: ' "$(proxy_log node)"
proxy_stop node
log "PASS"
