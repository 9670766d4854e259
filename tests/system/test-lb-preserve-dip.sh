#!/usr/bin/env bash
# Classic L2 DSR (`add-lb --preserve-dip`, VFP's PreserveDIP): two nodes on the overlay; the
# backends (one per node) hold the VIP on lo, set up by examples/preserve-dip/hold-vip.sh.
#   - a policy whose target port differs from the service port is refused, with a message;
#   - dump-policies: "Fixing MAC" without "Modifying destination IP", IsDSR and PreserveDIP;
#   - TCP and UDP through the VIP from a pod on node 1: both backends serve, each reports the
#     VIP as its local address and the client pod's own address as the peer;
#   - a pod holding the VIP without backing it (a rogue, default ARP sysctls) cannot send
#     from it: dropped and counted as vip_src_not_backend, nothing reaches its target; nor
#     can a backend from a port of the VIP it does not serve;
#   - an ARP request for the VIP sent into a pod port is answered by nobody (the rogue would
#     answer it if it got it) and reaches no pod;
#   - the policy and its mode survive a restart of vswitchd (the database).
. "$(dirname "$0")/../lib/lib.sh"
preflight
require tcpdump

VIP=10.96.0.40
HOLD=$VSW_REPO/examples/preserve-dip/hold-vip.sh
add_underlay
add_overlay_node node1 1
add_overlay_node node2 2
peer_nodes node1 node2
add_pod node1 client 10.244.1.20
add_pod node1 asker 10.244.1.21
add_pod node1 rogue 10.244.1.30
add_pod node1 be1 10.244.1.11
add_pod node2 be2 10.244.2.11
for p in be1 be2; do
    assert_ok "$p holds the VIP (hold-vip.sh)" ns_exec "$p" sh "$HOLD" "$VIP"
    assert_eq "$p: arp_ignore" 1 "$(ns_exec "$p" cat /proc/sys/net/ipv4/conf/all/arp_ignore)"
    svc_start "$p" whoami-server 80 "$p"
    # UDP answers from the address its socket is bound to: the VIP, as a real L2 DSR server.
    bg_start "$p" "$VSW_TMPDIR/udp-$p.log" "$VSW_PY" "$VSW_SVC" whoami-server 53 "$p" "$VIP"
    wait_until 5 grep -q listening "$VSW_TMPDIR/udp-$p.log" || fail "UDP whoami on $p"
done
# The rogue holds the VIP too, with the kernel's defaults: it would answer ARP for it.
ns_exec rogue ip addr add "$VIP/32" dev lo || fail "VIP on the rogue's lo"
ping_ok client 10.244.2.11

for n in node1 node2; do
    assert_fail "$n refuses a target port that differs from the service port" \
        vsctl_on $n add-lb $VIP:8080/tcp 10.244.1.11:80 --preserve-dip
    err=$(vsctl_on $n add-lb $VIP:8080/tcp 10.244.1.11:80 --preserve-dip 2>&1 >/dev/null)
    assert_match "the refusal says what and where" \
        'backend 1 "10\.244\.1\.11:80": a --preserve-dip policy keeps the destination port, so the target port must equal the service port 8080' "$err"
    assert_fail "$n refuses --preserve-dip with --no-dsr" \
        vsctl_on $n add-lb $VIP:80/tcp 10.244.1.11:80 --preserve-dip --no-dsr
    assert_ok "$n: add-lb $VIP:80/tcp --preserve-dip" vsctl_on $n add-lb $VIP:80/tcp \
        10.244.1.11:80 10.244.2.11:80 --preserve-dip --name l2dsr-tcp
    assert_ok "$n: add-lb $VIP:53/udp --preserve-dip" vsctl_on $n add-lb $VIP:53/udp \
        10.244.1.11:53 10.244.2.11:53 --preserve-dip --name l2dsr-udp
done

blk=$(policy_block node1 l2dsr-tcp)
log "dump-policies:"; echo "$blk" | sed 's/^/    /'
assert_match "Fixing MAC" '^Fixing MAC$' "$blk"
assert_no_match "no destination IP rewrite" 'Modifying destination IP' "$blk"
assert_no_match "no destination port rewrite" 'Modifying destination port' "$blk"
assert_no_match "no flow pair" 'Creating a flow pair' "$blk"
assert_match "IsDSR: TRUE" '^IsDSR: TRUE$' "$blk"
assert_match "PreserveDIP: TRUE" '^PreserveDIP: TRUE$' "$blk"
assert_eq "--json: preserve_dip" true \
    "$(vsctl_on node1 --json dump-policies | jq -r '.policies[] | select(.name == "l2dsr-tcp") | .preserve_dip')"

# --- TCP and UDP: the VIP is the backends' local address, the client's address kept ----------
out=$(for _ in $(seq 40); do ns_exec client "$VSW_PY" "$VSW_SVC" whoami $VIP 80 tcp; done)
log "TCP answers: $(echo "$out" | sort | uniq -c | tr '\n' ';')"
assert_eq "40 TCP connections answered" 40 "$(echo "$out" | grep -Ec '^be[12] ')"
assert_eq "every TCP answer: client 10.244.1.20, local address the VIP" 40 \
    "$(echo "$out" | grep -Ec "^be[12] 10\.244\.1\.20 ${VIP//./\\.}\$")"
assert_ge "be1 (node 1) served" "$(echo "$out" | grep -c '^be1 ')" 1
assert_ge "be2 (node 2, by MAC over the overlay) served" "$(echo "$out" | grep -c '^be2 ')" 1
out=$(for _ in $(seq 20); do ns_exec client "$VSW_PY" "$VSW_SVC" whoami $VIP 53 udp; done)
log "UDP answers: $(echo "$out" | sort | uniq -c | tr '\n' ';')"
assert_eq "every UDP answer from the VIP, to the client itself" 20 \
    "$(echo "$out" | grep -Ec "^be[12] 10\.244\.1\.20 ${VIP//./\\.}\$")"
assert_eq "no flow pair on node 1" 0 "$(vsctl_on node1 --json dump-flows | jq '[.flow_pairs[]?] | length')"
assert_eq "no flow pair on node 2" 0 "$(vsctl_on node2 --json dump-flows | jq '[.flow_pairs[]?] | length')"

# --- port security: only a backend sends from the VIP -----------------------------------------
# Sent to be2 (another node: routed by the gateway; a pod of the rogue's subnet would be
# ARPed for directly, from the VIP, and that is refused before any datagram).
bg_start be2 "$VSW_TMPDIR/be2-dump.log" tcpdump -i eth0 -nn -l "udp port 9999"
dump_pid=$BG_PID
wait_until 5 grep -q "listening on" "$VSW_TMPDIR/be2-dump.log" || fail "tcpdump did not start"
# The rogue resolves the gateway from its own address first: asking from the VIP (it has
# arp_announce=0) is itself refused, as a spoof, so no datagram would ever be sent.
ping_ok rogue 10.244.1.1
d0=$(drop_count node1 vip_src_not_backend)
for _ in 1 2 3; do
    ns_exec rogue "$VSW_PY" "$VSW_SVC" send-from $VIP 10.244.2.11 9999 || fail "send-from"
done
wait_until 5 test "$(drop_count node1 vip_src_not_backend)" -ge $((d0 + 3)) ||
    fail "the rogue's datagrams from the VIP were not counted: $(drop_count node1 vip_src_not_backend)"
log "ok: vip_src_not_backend $d0 -> $(drop_count node1 vip_src_not_backend)"
# A backend sending from the VIP on a port it does not serve is a rogue too.
ns_exec be1 "$VSW_PY" "$VSW_SVC" send-from $VIP 10.244.2.11 9999 || fail "send-from on be1"
wait_until 5 test "$(drop_count node1 vip_src_not_backend)" -ge $((d0 + 4)) ||
    fail "be1's datagram from VIP:ephemeral was not dropped"
sleep 0.3
kill "$dump_pid"; wait "$dump_pid" 2>/dev/null
assert_eq "be2 got none of them" 0 "$(grep -c 'UDP' "$VSW_TMPDIR/be2-dump.log")"

# --- ARP for the VIP: nobody answers, no pod hears it -------------------------------------------
bg_start rogue "$VSW_TMPDIR/rogue-arp.log" tcpdump -i eth0 -nn -l arp
rogue_dump=$BG_PID
wait_until 5 grep -q "listening on" "$VSW_TMPDIR/rogue-arp.log" || fail "tcpdump did not start"
a0=$(drop_count node1 arp_ignored)
# The asker believes the VIP is on its link, so its kernel ARPs for it on eth0.
ns_exec asker ip route add "$VIP/32" dev eth0 || fail "on-link route in the asker"
ping_fails asker $VIP
st=$(ns_exec asker ip -j neigh show "$VIP" dev eth0 | jq -r '.[0].state[0] // "none"')
[ "$st" != REACHABLE ] && [ "$st" != STALE ] || fail "the VIP was resolved ($st): a pod answered ARP for it"
assert_ge "the ARP requests were dropped (arp_ignored)" "$(drop_count node1 arp_ignored)" $((a0 + 1))
sleep 0.3
kill "$rogue_dump"; wait "$rogue_dump" 2>/dev/null
assert_eq "the rogue never heard an ARP for the VIP" 0 \
    "$(grep -c "who-has ${VIP//./\\.} " "$VSW_TMPDIR/rogue-arp.log")"
log "ok: ARP for $VIP answered by nobody (neighbour state $st)"

# --- the database keeps the mode ------------------------------------------------------------------
stop_vswitchd node1
restart_vswitchd node1
assert_match "PreserveDIP after a restart (restored from the database)" '^PreserveDIP: TRUE$' \
    "$(policy_block node1 l2dsr-tcp)"
out=$(for _ in $(seq 10); do ns_exec client "$VSW_PY" "$VSW_SVC" whoami $VIP 80 tcp; done)
assert_eq "after the restart, answers from the VIP again" 10 \
    "$(echo "$out" | grep -Ec "^be[12] 10\.244\.1\.20 ${VIP//./\\.}\$")"
