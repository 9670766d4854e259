#!/usr/bin/env bash
# vswitchd refuses bad flags and impossible start-ups: non-zero exit, a message on stderr,
# within seconds.  Each attempt runs in a scratch namespace, so nothing it might create leaks.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_ns scratch
d=$VSW_TMPDIR
i=0
# expect_refusal DESCRIPTION ARGS...
expect_refusal() {
    local desc=$1 rc logf; shift
    i=$((i + 1))
    logf=$d/vswitchd-flags.$i.log
    ns_exec scratch timeout 10 "$VSW_BUILD/vswitchd" "$@" >"$logf" 2>&1 </dev/null; rc=$?
    [ $rc -ne 124 ] || fail "$desc: vswitchd $* still running after 10 s"
    [ $rc -ne 0 ] || fail "$desc: vswitchd $* exited 0"
    [ -s "$logf" ] || fail "$desc: vswitchd $* exited $rc with no message"
    log "ok: $desc: exit $rc: $(head -1 "$logf")"
}
base=(--ctl "$d/s.sock" --db "$d/s.db")
expect_refusal "unknown flag" "${base[@]}" --pod-cidr 10.244.1.0/24 --no-such-flag
expect_refusal "pod CIDR prefix > 32" "${base[@]}" --pod-cidr 10.244.1.0/33
expect_refusal "pod CIDR not an address" "${base[@]}" --pod-cidr banana/24
expect_refusal "missing flag argument" "${base[@]}" --pod-cidr
expect_refusal "bad log level" "${base[@]}" --pod-cidr 10.244.1.0/24 --log-level loud
expect_refusal "bad metrics address" "${base[@]}" --pod-cidr 10.244.1.0/24 --metrics nowhere
expect_refusal "VNI out of range" "${base[@]}" --pod-cidr 10.244.1.0/24 --vni 16777216
expect_refusal "VXLAN port out of range" "${base[@]}" --pod-cidr 10.244.1.0/24 --vxlan-port 70000
expect_refusal "remote checksum offload neither on nor off" "${base[@]}" \
    --pod-cidr 10.244.1.0/24 --vxlan-rco yes
grep -q "invalid --vxlan-rco 'yes': expected on or off" "$d/vswitchd-flags.$i.log" ||
    fail "--vxlan-rco yes: the message does not say what is wrong: $(cat "$d/vswitchd-flags.$i.log")"
expect_refusal "flow pairs per pod out of range" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --max-flow-pairs-per-pod 16777217
expect_refusal "flow pairs per pod negative" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --max-flow-pairs-per-pod -1
# expect_message: the last refusal's message says this (what is wrong, and with what).
expect_message() {
    grep -qF -- "$1" "$d/vswitchd-flags.$i.log" ||
        fail "the message does not say '$1': $(cat "$d/vswitchd-flags.$i.log")"
}
expect_refusal "cluster CIDR not a CIDR" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --cluster-cidr 10.244.0.1/16
expect_message "invalid --cluster-cidr '10.244.0.1/16': expected A.B.C.D/N with the host bits zero"
expect_refusal "cluster CIDR without the pod CIDR" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --cluster-cidr 10.245.0.0/16
expect_message "--cluster-cidr 10.245.0.0/16 does not contain --pod-cidr 10.244.1.0/24"
expect_refusal "service CIDR overlapping the pods" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --cluster-cidr 10.244.0.0/16 --service-cidr 10.0.0.0/8
expect_message "--service-cidr 10.0.0.0/8 overlaps --pod-cidr 10.244.1.0/24"
expect_refusal "masquerade neither true nor false" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --cluster-cidr 10.244.0.0/16 --masquerade yes
expect_message "invalid --masquerade 'yes': expected true or false"
expect_refusal "masquerade without a cluster CIDR" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --masquerade true
expect_message "--masquerade true needs --cluster-cidr"
expect_refusal "established timeout out of range" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --tcp-established-timeout 0
expect_message "invalid --tcp-established-timeout '0'"
expect_refusal "offload neither tc nor none" "${base[@]}" --pod-cidr 10.244.1.0/24 --offload xdp
expect_message "invalid --offload 'xdp': expected tc or none"
expect_refusal "relative bpffs pin directory" "${base[@]}" --pod-cidr 10.244.1.0/24 \
    --bpf-pin-dir bpf/vswitch
expect_message "invalid --bpf-pin-dir 'bpf/vswitch': expected an absolute path"
expect_refusal "database in a missing directory" --ctl "$d/s.sock" --db /proc/nonexistent/conf.db \
    --pod-cidr 10.244.1.0/24
expect_refusal "control socket in a missing directory" --ctl /proc/nonexistent/s.sock \
    --db "$d/s2.db" --pod-cidr 10.244.1.0/24

# A second vswitchd on a socket that one is serving must refuse, and leave the first working.
add_node node 10.244.1.0/24
i=$((i + 1))
ns_exec scratch timeout 10 "$VSW_BUILD/vswitchd" --ctl "${VSW_CTL[node]}" --db "$d/other.db" \
    --pod-cidr 10.244.2.0/24 --metrics 127.0.0.1:9479 >"$d/vswitchd-flags.$i.log" 2>&1 </dev/null
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a second vswitchd on a live socket: exit $rc"
log "ok: second vswitchd on a live socket refused: $(head -1 "$d/vswitchd-flags.$i.log")"
assert_ok "the first one still answers" vsctl_on node show
