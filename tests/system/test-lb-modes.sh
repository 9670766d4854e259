#!/usr/bin/env bash
# The policy variants, with real HTTP traffic to backends that report the peer they saw:
#   --no-dsr              the backend sees the gateway, not the client; IsDSR: FALSE and the
#                         source rewrite in dump-policies; the reply comes back through the
#                         switch, still not through the node's IP stack
#   hairpin               a backend reaching itself through a VIP works and sees the gateway
#                         (the connections that land on other backends keep DSR)
#   --affinity-timeout    every connection of one client goes to one backend
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

BACKENDS="10.244.1.11:8080 10.244.1.12:8080 10.244.1.13:8080"
add_lb_node 3 http-server:8080
add_pod node client2 10.244.1.21
ping_ok client 10.244.1.11

# --- --no-dsr ----------------------------------------------------------------------------------
# shellcheck disable=SC2086
assert_ok "add-lb --no-dsr" vsctl_on node add-lb 10.96.0.12:80/tcp $BACKENDS --no-dsr
name=$(vsctl_on node --json dump-policies |
       jq -r '.policies[] | select(.service == "10.96.0.12:80/tcp") | .name')
assert_match "non-DSR default name LB_<hash>_..." '^LB_[0-9A-F]{5}_10\.96\.0\.12_80_6$' "$name"
blk=$(policy_block node "$name")
assert_match "IsDSR: FALSE" '^IsDSR: FALSE$' "$blk"
assert_match "source rewrite listed" '^Modifying source IP \(SNAT to 10\.244\.1\.1\)$' "$blk"
rx0=$(ip_in_receives node)
out=$(curl_many client http://10.96.0.12/ 30)
rx1=$(ip_in_receives node)
assert_eq "30 requests through the non-DSR VIP answered" 30 "$(echo "$out" | grep -c '^be')"
assert_eq "backends saw the gateway, not the client" "10.244.1.1 " \
    "$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ')"
assert_ge "node Ip InReceives moved by $((rx1 - rx0)) (< 20 allowed)" $((19 - rx1 + rx0)) 0
pair=$(flow_pairs node 'dport=80\)' | head -1)
log "flow pair: $pair"
assert_match "non-DSR flow pair: reply addressed to the gateway, dsr=no" \
    'orig=\(src=10\.244\.1\.20,dst=10\.96\.0\.12,sport=[0-9]+,dport=80\),reply=\(src=10\.244\.1\.1[123],dst=10\.244\.1\.1,sport=8080,dport=[0-9]+\),.*dsr=no' \
    "$pair"

# --- hairpin -----------------------------------------------------------------------------------
# shellcheck disable=SC2086
assert_ok "add-lb DSR over the three backends" vsctl_on node add-lb 10.96.0.10:80/tcp $BACKENDS
assert_ok "add-lb DSR over be1 alone" vsctl_on node add-lb 10.96.0.11:80/tcp 10.244.1.11:8080
out=$(curl_many be1 http://10.96.0.11/ 10)
assert_eq "be1 -> VIP -> be1: 10 requests answered" 10 "$(echo "$out" | grep -c '^be1 ')"
assert_eq "be1 reaching itself sees the gateway" "10.244.1.1 " \
    "$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ')"
out=$(curl_many be1 http://10.96.0.10/ 45)
assert_eq "be1 -> VIP over three: 45 requests answered" 45 "$(echo "$out" | grep -c '^be')"
self=$(echo "$out" | awk '$1 == "be1" {print $2}' | sort -u | tr '\n' ' ')
other=$(echo "$out" | awk '$1 != "be1" {print $2}' | sort -u | tr '\n' ' ')
[ -n "$self" ] || fail "no request from be1 landed on be1 itself in 45: $out"
assert_eq "hairpin (be1 -> be1) through the shared VIP sees the gateway" "10.244.1.1 " "$self"
assert_eq "be1 -> be2/be3 through the VIP keeps DSR (be1's address)" "10.244.1.11 " "$other"

# --- ClientIP affinity -------------------------------------------------------------------------
# shellcheck disable=SC2086
assert_ok "add-lb --affinity-timeout 60" vsctl_on node add-lb 10.96.0.13:80/tcp $BACKENDS \
    --affinity-timeout 60
assert_match "dump-policies shows the affinity" '^Session affinity: ClientIP, timeout 60 s$' \
    "$(vsctl_on node dump-policies)"
for c in client client2; do
    out=$(curl_many $c http://10.96.0.13/ 30)
    assert_eq "$c: 30 requests answered" 30 "$(echo "$out" | grep -c '^be')"
    bes=$(echo "$out" | awk '{print $1}' | sort -u | tr '\n' ' ')
    assert_match "$c: every connection went to one backend ($bes)" '^be[123] $' "$bes"
done
# The same clients without affinity spread (so the check above can tell the difference).
# shellcheck disable=SC2086
assert_ok "replace: no affinity" vsctl_on node add-lb 10.96.0.13:80/tcp $BACKENDS
out=$(curl_many client http://10.96.0.13/ 30)
assert_ge "without affinity the client reaches several backends" \
    "$(echo "$out" | awk '{print $1}' | sort -u | wc -l)" 2
