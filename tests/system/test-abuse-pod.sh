#!/usr/bin/env bash
# What a pod must not be able to do, tried from a pod (pod1) on a node with an overlay (a
# peer namespace on the underlay as 192.168.X.9 owning 10.244.9.0/24), a victim pod2, a
# backend pod3 behind two VIPs and an observer pod4:
#   - connect through a VIP as another pod: TCP SYNs and UDP to the VIPs with pod2's IP (and
#     pod2's MAC and IP) are dropped and counted; no flow pair with pod2's address appears and
#     the backend sees none of them;
#   - use the control socket: a real unprivileged user (created for the test, removed after)
#     gets "Permission denied" from vsctl, in the pod's namespace and in the node's, even with
#     the socket's directory open to all; it cannot read the flow-pair file beside the socket;
#     with --ctl-group a member of the group can and a non-member still cannot; the metrics
#     endpoint is not reachable from the pod;
#   - inject VXLAN: encapsulated frames for pod2 sent by pod1 to the node's VXLAN port are not
#     decapsulated (vxlan_unknown_peer), nor when pod1 forges the peer's node address as
#     their source (spoofed_src_ip); the same frames from the real peer are (the control);
#   - answer for a VIP: pod1's gratuitous ARP for the VIP is dropped and counted, pod2's ARP
#     request for the VIP is not answered and reaches no pod, pod4 sees no ARP at all, and
#     the VIP still leads to its backend.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require tcpdump curl useradd userdel groupadd groupdel runuser

ROBUST="$VSW_LIB_DIR/robust.py"
RUNDIR=$VSW_TMPDIR/run
mkdir -p "$RUNDIR"
# Open the path to the socket to everyone, so that only the socket's own mode decides.
chmod 0711 "$VSW_TMPDIR"
chmod 0755 "$RUNDIR"
VSW_CTL[node]=$RUNDIR/node.sock
add_underlay
add_overlay_node node 1
add_ns peer
underlay_attach peer 9
PEER_IP=$VSW_UNDERLAY.9
NODE_IP=${VSW_NODE_IP[node]}
vsctl_on node add-peer "$PEER_IP" 10.244.9.0/24 >/dev/null || fail "add-peer"
add_pods node 4
svc_start pod3 stream-server 7000 pod3
svc_start pod3 udp-server 7001 pod3
vsctl_on node add-lb 10.96.0.10:7000/tcp 10.244.1.4:7000 >/dev/null || fail "add-lb tcp"
vsctl_on node add-lb 10.96.0.11:7001/udp 10.244.1.4:7001 >/dev/null || fail "add-lb udp"
MAC1=$(mac_of_ip 10.244.1.2) MAC2=$(mac_of_ip 10.244.1.3)
ROUTER=$(dispatch_mac 10.244.1.1)
ping_ok pod1 10.244.1.4
ping_ok pod2 10.244.1.4

raw() { ns_exec pod1 "$VSW_PY" "$ROBUST" "$@" || fail "robust.py $1 failed"; }
in_echos() {
    # shellcheck disable=SC2016
    ns_exec "$1" awk '$1 == "Icmp:" && !h {for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next}
                      $1 == "Icmp:" {print $c["InEchos"]}' /proc/net/snmp
}

# --- as another pod, through a VIP ------------------------------------------------------
bg_start pod3 "$VSW_TMPDIR/tcpdump-pod3.log" tcpdump -i eth0 -nn -U -w "$VSW_TMPDIR/pod3.pcap" \
    src host 10.244.1.3
dump3=$BG_PID
wait_until 5 grep -q "listening on" "$VSW_TMPDIR/tcpdump-pod3.log" || fail "tcpdump in pod3"
ip0=$(drop_count node spoofed_src_ip) mac0=$(drop_count node spoofed_src_mac)
raw raw-syn eth0 "$MAC1" "$ROUTER" 10.244.1.3 10.96.0.10 7000 20
raw raw-udp eth0 "$MAC1" "$ROUTER" 10.244.1.3 10.96.0.11 7001 20
raw raw-syn eth0 "$MAC2" "$ROUTER" 10.244.1.3 10.96.0.10 7000 20
sleep 0.5
assert_ge "SYNs and UDP to the VIPs with pod2's IP counted as spoofed_src_ip" \
    $(( $(drop_count node spoofed_src_ip) - ip0 )) 40
assert_ge "SYNs with pod2's MAC counted as spoofed_src_mac" \
    $(( $(drop_count node spoofed_src_mac) - mac0 )) 20
pairs=$(vsctl_on node --json dump-flows | jq '[.flow_pairs[] | select(.orig.src == "10.244.1.3")] | length')
assert_eq "no flow pair in pod2's name" 0 "$pairs"
kill "$dump3"; wait "$dump3" 2>/dev/null
seen=$(tcpdump -nn -r "$VSW_TMPDIR/pod3.pcap" 2>/dev/null | wc -l)
assert_eq "the backend saw nothing from pod2's address" 0 "$seen"
out=$(ns_exec pod2 "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 0.5 | tail -1)
assert_match "pod2's own connections through the VIP work" ' fail=0 ' "$out"

# --- the control socket ------------------------------------------------------------------
USER_A=vswa$VSW_RUN USER_B=vswb$VSW_RUN GROUP=vswg$VSW_RUN
USER_A=${USER_A:0:31} USER_B=${USER_B:0:31} GROUP=${GROUP:0:31}
groupadd "$GROUP" || fail "groupadd $GROUP"
on_exit "groupdel $GROUP"
useradd -M -N -s /usr/sbin/nologin "$USER_A" || fail "useradd $USER_A"
on_exit "userdel $USER_A"
useradd -M -N -G "$GROUP" -s /usr/sbin/nologin "$USER_B" || fail "useradd $USER_B"
on_exit "userdel $USER_B"
runuser -u "$USER_A" -- test -x "$VSW_BUILD/vsctl" ||
    fail "vsctl is not executable by an unprivileged user (path $VSW_BUILD)"

# as USER [NS] vsctl ARGS...: runs vsctl as USER, in namespace NS if given.
as() {
    local user=$1; shift
    if [ "$1" = node ] || [ "$1" = pod1 ]; then
        local n=$1; shift
        ip netns exec "$(ns "$n")" runuser -u "$user" -- "$VSW_BUILD/vsctl" \
            --ctl "${VSW_CTL[node]}" "$@"
    else
        runuser -u "$user" -- "$VSW_BUILD/vsctl" --ctl "${VSW_CTL[node]}" "$@"
    fi
}
denied() {
    local desc=$1 out; shift
    if out=$("$@" 2>&1); then
        fail "$desc: it worked: $out"
    fi
    echo "$out" | grep -qi "permission denied" || fail "$desc: not a permission error: $out"
    log "ok: $desc: $(echo "$out" | head -1)"
}
assert_eq "control socket mode" 600 "$(stat -c %a "${VSW_CTL[node]}")"
denied "an unprivileged user in the pod's namespace cannot use vsctl" as "$USER_A" pod1 show
denied "nor in the node's namespace" as "$USER_A" node show
denied "nor add a port" as "$USER_A" add-port h-x --ip 10.244.1.99
pairs_file=${VSW_CTL[node]}.flow-pairs
[ -e "$pairs_file" ] || fail "no flow-pair file beside the control socket ($pairs_file)"
assert_eq "the flow-pair file's mode" 600 "$(stat -c %a "$pairs_file")"
assert_fail "an unprivileged user cannot read the flow-pair file" \
    runuser -u "$USER_A" -- head -c 1 "$pairs_file"
assert_fail "the metrics endpoint is not reachable from the pod" \
    ns_exec pod1 curl -s --max-time 2 "http://10.244.1.1:9479/metrics"
assert_fail "nor on the node's address" \
    ns_exec pod1 curl -s --max-time 2 "http://$NODE_IP:9479/metrics"

stop_vswitchd node
start_vswitchd node 10.244.1.0/24 --node-ip "$NODE_IP" --ctl-group "$GROUP"
assert_eq "with --ctl-group: mode" 660 "$(stat -c %a "${VSW_CTL[node]}")"
assert_eq "with --ctl-group: group" "$GROUP" "$(stat -c %G "${VSW_CTL[node]}")"
assert_ok "a member of the group can use vsctl" as "$USER_B" pod1 show
denied "a non-member still cannot" as "$USER_A" pod1 show

# --- VXLAN from a pod ---------------------------------------------------------------------
e0=$(in_echos pod2) unk0=$(drop_count node vxlan_unknown_peer) ip0=$(drop_count node spoofed_src_ip)
ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/vxlan.py" send "$NODE_IP" 4789 1 \
    "$(dispatch_mac 10.244.9.1)" "$ROUTER" 10.244.9.5 10.244.1.3 10 >/dev/null ||
    fail "vxlan.py from pod1"
raw raw-vxlan eth0 "$MAC1" "$ROUTER" "$PEER_IP" "$NODE_IP" 1 10.244.9.5 10.244.1.3 10
sleep 0.5
assert_eq "VXLAN from pod1 (its own address, then the peer's) not decapsulated" "$e0" \
    "$(in_echos pod2)"
assert_ge "counted as vxlan_unknown_peer" $(( $(drop_count node vxlan_unknown_peer) - unk0 )) 10
assert_ge "the forged peer address counted as spoofed_src_ip" \
    $(( $(drop_count node spoofed_src_ip) - ip0 )) 10
ns_exec peer "$VSW_PY" "$VSW_LIB_DIR/vxlan.py" send "$NODE_IP" 4789 1 \
    "$(dispatch_mac 10.244.9.1)" "$ROUTER" 10.244.9.5 10.244.1.3 5 >/dev/null ||
    fail "vxlan.py from the peer"
wait_until 5 test "$(in_echos pod2)" -ge $((e0 + 5)) ||
    fail "the control failed: VXLAN from the real peer was not delivered either"
log "ok: the same frames from the real peer are delivered (the control)"

# --- ARP for a VIP ------------------------------------------------------------------------
for p in pod2 pod4; do
    bg_start $p "$VSW_TMPDIR/tcpdump-arp-$p.log" tcpdump -i eth0 -nn -U \
        -w "$VSW_TMPDIR/arp-$p.pcap" arp
    wait_until 5 grep -q "listening on" "$VSW_TMPDIR/tcpdump-arp-$p.log" || fail "tcpdump in $p"
    eval "dump_$p=\$BG_PID"
done
ip0=$(drop_count node spoofed_src_ip) ign0=$(drop_count node arp_ignored)
ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/pkt.py" garp eth0 "$MAC1" 10.96.0.10 10 || fail "garp"
ns_exec pod2 "$VSW_PY" "$ROBUST" arp-request eth0 "$MAC2" 10.244.1.3 10.96.0.10 10 ||
    fail "arp-request"
sleep 0.5
# shellcheck disable=SC2154
kill "$dump_pod2" "$dump_pod4"; wait "$dump_pod2" "$dump_pod4" 2>/dev/null
assert_ge "pod1's ARP for the VIP dropped as spoofed_src_ip" \
    $(( $(drop_count node spoofed_src_ip) - ip0 )) 20
assert_ge "pod2's request for the VIP not answered (arp_ignored)" \
    $(( $(drop_count node arp_ignored) - ign0 )) 10
assert_eq "no ARP reply for the VIP reached pod2" 0 \
    "$(tcpdump -nn -r "$VSW_TMPDIR/arp-pod2.pcap" 2>/dev/null | grep -c 'Reply 10.96.0.10')"
assert_eq "pod4 saw no ARP at all" 0 "$(tcpdump -nn -r "$VSW_TMPDIR/arp-pod4.pcap" 2>/dev/null |
    wc -l)"
out=$(ns_exec pod2 "$VSW_PY" "$ROBUST" churn 10.96.0.10 7000 0.5)
assert_eq "the VIP still leads to its backend only" "pod3" \
    "$(echo "$out" | awk '$2 == "ok" {print $3}' | sort -u | tr -d '\n')"
