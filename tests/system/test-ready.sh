#!/usr/bin/env bash
# Readiness as kubelet and scripts see it.  (1) vswitchd's control socket appears only when
# vswitchd listens on it: a watcher that connects the moment the file exists is never refused,
# over several starts (a fresh one, and after kill -9 left a stale socket); no temporary name
# is left behind.  (2) A CNI ADD that arrives while vswitchd is down waits for it: vswitchd
# started 2 s after the ADD, the ADD succeeds and the pod is wired.  (3) With no vswitchd at
# all the ADD gives up after its bound (10 s) with code 11 and a message saying so, and leaves
# no veth and no lease behind.
. "$(dirname "$0")/../lib/lib.sh"
preflight

cni_setup node 10.244.1.0/24
cni_conflist podnet 1.0.0
sock=${VSW_CTL[node]}

# The watcher: polls for the file every millisecond and connects at once; prints "refused"
# if the file answered ECONNREFUSED, "ok" if it connected, "timeout" if no file came.
watch_sock() {
    ns_exec node "$VSW_PY" - "$1" <<'EOF'
import os, socket, sys, time
path, end = sys.argv[1], time.time() + 20
while time.time() < end:
    if os.path.exists(path):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            print("ok")
        except ConnectionRefusedError:
            print("refused")
        sys.exit(0)
    time.sleep(0.001)
print("timeout")
EOF
}

for round in 1 2 3 4; do
    if [ $((round % 2)) = 1 ]; then
        stop_vswitchd node                       # SIGTERM: the socket is removed
        [ ! -e "$sock" ] || fail "round $round: the socket outlived vswitchd's SIGTERM"
    else
        kill9_vswitchd node                      # the socket file stays, dead
        [ -S "$sock" ] || fail "round $round: kill -9 should have left the socket file"
        rm -f "$sock"     # the watcher must see the new one, not the stale file
    fi
    watch_sock "$sock" >"$VSW_TMPDIR/watch.$round" &
    wpid=$!
    sleep 0.2
    restart_vswitchd node
    wait "$wpid"
    assert_eq "round $round: the socket file accepted its first connection" ok \
        "$(cat "$VSW_TMPDIR/watch.$round")"
done
left=$(find "$(dirname "$sock")" -maxdepth 1 -name "$(basename "$sock").*.tmp")
assert_eq "no temporary socket left" "" "$left"

# (2) ADD while vswitchd is down: it waits, vswitchd comes 2 s later, the ADD succeeds.
add_ns pod1
stop_vswitchd node
start=$(date +%s%N)
( cnitool_on add podnet pod1; echo "$RC $ERR" >"$VSW_TMPDIR/add1" ) &
add_pid=$!
sleep 2
restart_vswitchd node
wait $add_pid
assert_match "the ADD succeeded" '^0 ' "$(cat "$VSW_TMPDIR/add1")"
cnitool_on check podnet pod1
expect_ok "CHECK of the pod added while vswitchd was starting"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_ge "the ADD waited for vswitchd (ms)" "$ms" 2000
assert_eq "its port is in the switch" 1 "$(vsctl_on node --json show | jq '[.ports[] | select(.pod_name == "pod1")] | length')"
ping_ok pod1 "$CNI_GW" || fail "pod1 cannot reach its gateway"
log "ok: an ADD issued while vswitchd was down succeeded when it came up (${ms} ms)"

# (3) No vswitchd: the bounded wait, then a clear error and nothing left.
add_ns pod2
stop_vswitchd node
start=$(date +%s%N)
cnitool_on add podnet pod2
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$RC" -ne 0 ] || fail "ADD without vswitchd succeeded"
assert_match "the error says why" 'vswitchd did not start within 10000 ms' "$ERR$OUT"
assert_ge "it waited the bound (ms)" "$ms" 10000
[ "$ms" -lt 20000 ] || fail "it waited $ms ms, more than the bound"
assert_eq "no veth left but pod1's" 1 "$(host_veths | wc -l)"
assert_eq "one lease left (pod1's)" 1 "$(leases podnet | wc -l)"
restart_vswitchd node
cni_no_sanitizer_reports
log "PASS"
