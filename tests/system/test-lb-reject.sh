#!/usr/bin/env bash
# A policy with no backends refuses at once: a TCP connect gets a RST (ECONNREFUSED, no
# timeout), a UDP datagram an ICMP port unreachable (ECONNREFUSED on a connected socket), and
# the policy counts them as rejected.  del-lb: the VIP stops answering, its flow pairs leave
# dump-flows and the policy leaves dump-policies; a second del-lb is an error.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

add_node node 10.244.1.0/24
add_pod node client 10.244.1.20
add_pod node be1 10.244.1.11
svc_start be1 http-server 8080 be1
svc_start be1 udp-server 5353 be1
ping_ok client 10.244.1.11

# --- no backends -------------------------------------------------------------------------------
assert_ok "add-lb 10.96.0.20:80/tcp without backends" vsctl_on node add-lb 10.96.0.20:80/tcp
assert_ok "add-lb 10.96.0.20:53/udp without backends" vsctl_on node add-lb 10.96.0.20:53/udp
assert_match "dump-policies: no DIP ranges" '^Count of DIP Ranges: 0$' \
    "$(vsctl_on node dump-policies)"
for i in 1 2 3; do
    out=$(ns_exec client "$VSW_PY" "$VSW_SVC" tcp-refused 10.96.0.20 80) ||
        fail "TCP to a VIP without backends: $out"
    ms=${out#refused }
    assert_ge "TCP connect $i refused by RST within 500 ms ($ms ms)" $((500 - ms)) 0
    out=$(ns_exec client "$VSW_PY" "$VSW_SVC" udp-refused 10.96.0.20 53) ||
        fail "UDP to a VIP without backends: $out"
    ms=${out#refused }
    assert_ge "UDP datagram $i refused by ICMP port unreachable within 500 ms ($ms ms)" \
        $((500 - ms)) 0
done
assert_ge "rejected counter (tcp)" "$(policy_stat node 10.96.0.20:80/tcp rejected)" 3
assert_ge "rejected counter (udp)" "$(policy_stat node 10.96.0.20:53/udp rejected)" 3
assert_eq "no flow pair for a refused connection" "" "$(flow_pairs node 'dst=10\.96\.0\.20,')"

# Backends added later: the same VIP now answers.
assert_ok "add-lb replaces the empty policy" vsctl_on node add-lb 10.96.0.20:80/tcp 10.244.1.11:8080
out=$(curl_many client http://10.96.0.20/ 5)
assert_eq "VIP answers once it has a backend" 5 "$(echo "$out" | grep -c '^be1 ')"

# --- del-lb ------------------------------------------------------------------------------------
assert_ok "add-lb 10.96.0.10:80/tcp" vsctl_on node add-lb 10.96.0.10:80/tcp 10.244.1.11:8080
assert_ok "add-lb 10.96.0.10:53/udp" vsctl_on node add-lb 10.96.0.10:53/udp 10.244.1.11:5353
out=$(curl_many client http://10.96.0.10/ 5)
assert_eq "VIP answers before del-lb" 5 "$(echo "$out" | grep -c '^be1 ')"
out=$(ns_exec client "$VSW_PY" "$VSW_SVC" udp-ask 10.96.0.10 53 0.3)
assert_match "UDP VIP answers before del-lb" ' be1$' "$out"
[ -n "$(flow_pairs node 'dst=10\.96\.0\.10,')" ] || fail "no flow pairs for 10.96.0.10 before del-lb"

# A live UDP socket across the del-lb: its answers stop.
bg_start client "$VSW_TMPDIR/ask.log" "$VSW_PY" "$VSW_SVC" udp-ask 10.96.0.10 53 4
wait_until 5 grep -q ' be1$' "$VSW_TMPDIR/ask.log" || fail "udp-ask got no answer"
assert_ok "del-lb 10.96.0.10:80/tcp" vsctl_on node del-lb 10.96.0.10:80/tcp
assert_ok "del-lb 10.96.0.10:53/udp" vsctl_on node del-lb 10.96.0.10:53/udp
t_del=$(date +%s.%N)
assert_eq "flow pairs of the deleted policies gone" "" "$(flow_pairs node 'dst=10\.96\.0\.10,')"
pol=$(vsctl_on node --json dump-policies | jq -r '.policies[].service' | tr '\n' ' ')
assert_eq "dump-policies lists only the other policies" "10.96.0.20:53/udp 10.96.0.20:80/tcp " "$pol"
assert_fail "a second del-lb fails" vsctl_on node del-lb 10.96.0.10:80/tcp
rc=0; ns_exec client curl -s --max-time 2 http://10.96.0.10/ >/dev/null || rc=$?
[ $rc -ne 0 ] || fail "curl to the deleted VIP succeeded"
log "ok: curl to the deleted VIP fails (curl exit $rc)"
wait "$BG_PID" 2>/dev/null
late=$(awk -v t="$t_del" '$1 > t + 0.2 && $2 == "be1"' "$VSW_TMPDIR/ask.log")
assert_eq "no UDP answer from the VIP after del-lb" "" "$late"
out=$(curl_many client http://10.96.0.20/ 2)
assert_eq "the other VIP still answers" 2 "$(echo "$out" | grep -c '^be1 ')"
