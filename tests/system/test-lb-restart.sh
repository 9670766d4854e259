#!/usr/bin/env bash
# kill -9 of vswitchd and a restart with the same --db: every policy is restored (dump-policies
# identical apart from the hit counters: names, DSR or not, affinity, backends, an empty
# policy), and every VIP works again: TCP spread over the backends with the client's address,
# the non-DSR one with the gateway's, UDP, and the empty policy still refuses.  Connections
# open across the crash survive it (Maglev picks the same backend again when their next packet
# creates a new flow pair).  A deleted policy stays deleted across a second crash.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

BACKENDS="10.244.1.11:8080 10.244.1.12:8080 10.244.1.13:8080"
add_lb_node 3 http-server:8080 udp-server:5353 stream-server:9000
# shellcheck disable=SC2086
{
    assert_ok "add-lb DSR" vsctl_on node add-lb 10.96.0.10:80/tcp $BACKENDS
    assert_ok "add-lb non-DSR, affinity, named" vsctl_on node add-lb 10.96.0.11:80/tcp \
        $BACKENDS --no-dsr --affinity-timeout 300 --name default/web:http
    assert_ok "add-lb udp" vsctl_on node add-lb 10.96.0.10:53/udp \
        10.244.1.11:5353 10.244.1.12:5353
    assert_ok "add-lb without backends" vsctl_on node add-lb 10.96.0.12:80/tcp
    assert_ok "add-lb for streams" vsctl_on node add-lb 10.96.0.10:9000/tcp \
        10.244.1.11:9000 10.244.1.12:9000 10.244.1.13:9000
}
out=$(curl_many client http://10.96.0.10/ 20)
assert_eq "VIP answers before the restart" 20 "$(echo "$out" | grep -c '^be')"
before=$(policies_sans_counters node)
[ "$(echo "$before" | grep -c '^Friendly name')" -eq 5 ] || fail "expected 5 policies: $before"
assert_ge "hits counted before the restart" "$(policy_stat node 10.96.0.10:80/tcp connections)" 20

# A slow stream to each backend, open across the crash (up to 10 s for a round trip).
SVC_TIMEOUT=10 bg_start client "$VSW_TMPDIR/streams.log" "$VSW_PY" "$VSW_SVC" \
    streams 10.96.0.10 9000 3 6
wait_until 10 grep -q '^ready ' "$VSW_TMPDIR/streams.log" || fail "streams did not open"
sleep 0.5

kill9_vswitchd node
assert_fail "control socket dead after kill -9" vsctl_on node show
restart_vswitchd node
after=$(policies_sans_counters node)
if [ "$before" != "$after" ]; then
    diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
    fail "dump-policies differs after the restart"
fi
log "ok: the 5 policies restored, dump-policies identical apart from the counters"
assert_match "the log says the policies were restored" '5 policy\(ies\) restored' \
    "$(cat "${VSW_LOG[node]}")"

out=$(curl_many client http://10.96.0.10/ 45)
assert_eq "DSR VIP: 45 requests answered after the restart" 45 "$(echo "$out" | grep -c '^be')"
for i in 1 2 3; do
    assert_ge "be$i served after the restart" "$(echo "$out" | grep -c "^be$i ")" 4
done
assert_eq "DSR kept: backends saw the client" "10.244.1.20 " \
    "$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ')"
out=$(curl_many client http://10.96.0.11/ 10)
assert_eq "non-DSR VIP: 10 answered" 10 "$(echo "$out" | grep -c '^be')"
assert_eq "non-DSR kept: backends saw the gateway" "10.244.1.1 " \
    "$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ')"
assert_eq "affinity kept: one backend" 1 "$(echo "$out" | awk '{print $1}' | sort -u | wc -l)"
out=$(ns_exec client "$VSW_PY" "$VSW_SVC" udp-ask 10.96.0.10 53 0.3)
assert_match "UDP VIP answers after the restart" ' be[12]$' "$out"
assert_ok "the empty policy still refuses" \
    ns_exec client "$VSW_PY" "$VSW_SVC" tcp-refused 10.96.0.12 80
wait_until 20 grep -q '^be3 ' "$VSW_TMPDIR/streams.log" || fail "streams did not finish"
res=$(cat "$VSW_TMPDIR/streams.log")
for i in 1 2 3; do
    assert_match "the stream to be$i survived the crash" "^be$i ok [0-9]+\$" "$res"
done
assert_ge "hit counters count again" "$(policy_stat node 10.96.0.10:80/tcp connections)" 45

# A policy deleted and one replaced before a second crash stay that way.
assert_ok "del-lb 10.96.0.12:80/tcp" vsctl_on node del-lb 10.96.0.12:80/tcp
assert_ok "replace 10.96.0.10:80/tcp with be3 alone" \
    vsctl_on node add-lb 10.96.0.10:80/tcp 10.244.1.13:8080
before=$(policies_sans_counters node)
kill9_vswitchd node
restart_vswitchd node
assert_eq "dump-policies after the second kill -9" "$before" "$(policies_sans_counters node)"
out=$(curl_many client http://10.96.0.10/ 5)
assert_eq "the replaced policy: only be3" 5 "$(echo "$out" | grep -c '^be3 ')"
