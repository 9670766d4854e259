#!/usr/bin/env bash
# The control socket and vsctl's errors: the socket is mode 0600; bad input (unknown port, bad
# address, missing interface, unknown command) exits 1 with a message on stderr and nothing on
# stdout; a dead daemon is an error too; malformed control messages never crash the daemon.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pod node pod1 10.244.1.2

mode=$(stat -c %a "${VSW_CTL[node]}")
assert_eq "control socket mode" 600 "$mode"

# expect_error DESCRIPTION ARGS...: vsctl ARGS exits 1 and says why on stderr.
expect_error() {
    local desc=$1 rc; shift
    "$VSW_BUILD/vsctl" "$@" >"$VSW_TMPDIR/out" 2>"$VSW_TMPDIR/err"; rc=$?
    [ $rc -eq 1 ] || fail "$desc: 'vsctl $*' exited $rc, expected 1 (stderr: $(cat "$VSW_TMPDIR/err"))"
    [ -s "$VSW_TMPDIR/err" ] || fail "$desc: 'vsctl $*' printed no message on stderr"
    log "ok: $desc: $(head -1 "$VSW_TMPDIR/err")"
}
c=(--ctl "${VSW_CTL[node]}")
expect_error "del-port of an unknown port" "${c[@]}" del-port no-such-port
expect_error "add-port with a bad IP" "${c[@]}" add-port h-pod1 --ip 10.244.1.300
expect_error "add-port with a non-address" "${c[@]}" add-port h-pod1 --ip banana
expect_error "add-port with a bad MAC" "${c[@]}" add-port h-pod1 --ip 10.244.1.7 --mac 02:00:zz:00:00:01
expect_error "add-port of a missing interface" "${c[@]}" add-port no-such-if --ip 10.244.1.8
expect_error "add-port with a bad type" "${c[@]}" add-port h-pod1 --ip 10.244.1.9 --type bridge
expect_error "add-port without --ip" "${c[@]}" add-port h-pod1
expect_error "unknown command" "${c[@]}" frobnicate
expect_error "daemon not running" --ctl "$VSW_TMPDIR/nobody.sock" show
VSWITCH_CTL=$VSW_TMPDIR/nobody.sock expect_error "daemon not running (VSWITCH_CTL)" show

# VSWITCH_CTL names the socket when --ctl is absent.
out=$(VSWITCH_CTL=${VSW_CTL[node]} "$VSW_BUILD/vsctl" show 2>&1) || fail "VSWITCH_CTL show: $out"
assert_match "VSWITCH_CTL is honoured" 'h-pod1' "$out"

# vsctl works from any namespace: the socket is a path.
out=$(ns_exec pod1 "$VSW_BUILD/vsctl" --ctl "${VSW_CTL[node]}" show 2>&1) ||
    fail "vsctl from a pod namespace: $out"
assert_match "vsctl show from a pod namespace" 'h-pod1' "$out"

# --json show is JSON and lists the port with its address.
js=$(vsctl_on node --json show) || fail "--json show failed"
echo "$js" | jq -e . >/dev/null || fail "--json show is not JSON: $js"
assert_match "--json show lists h-pod1 with 10.244.1.2" '10\.244\.1\.2' "$(port_table node)"

# The failed add-ports left no port behind, and the good one still works.
assert_eq "ports after the errors" "h-pod1" "$(port_names node | tr -d '\n')"

# Malformed control messages: an error reply or a closed connection, never a crash.
out=$("$VSW_PY" "$VSW_LIB_DIR/pkt.py" ctl-garbage "${VSW_CTL[node]}" 2>&1) ||
    fail "ctl-garbage: $out"
sleep 0.3
assert_ok "vswitchd survives malformed control messages" vswitchd_alive node
assert_ok "vsctl show works after them" vsctl_on node show
ping_ok pod1 10.244.1.1
