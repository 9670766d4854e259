#!/usr/bin/env bash
# CHECK: passes on a pod as ADD left it, and after each kind of tampering fails with code 103
# (or the IPAM plugin's error) and a message that says exactly what differs: the pod's MAC,
# MTU, route, address, link state; the host end's state; the switch port's presence and
# owner; the lease; the interface itself.  After each repair CHECK passes again.  CHECK is
# refused for cniVersion < 0.4.0 and without prevResult.
. "$(dirname "$0")/../lib/lib.sh"
preflight

cni_setup node 10.244.1.0/24
cni_conflist podnet 1.0.0
add_ns pod1
cnitool_on add podnet pod1
[ "$RC" -eq 0 ] || fail "cnitool add pod1: $ERR"
result=$OUT
host=$(jq -r '.interfaces[0].name' <<<"$result")
ip=$(pod_ip pod1)
mac=$(if_mac pod1 eth0)
cid=$(port_json node "$host" | jq -r '.container_id')
nsp=/run/netns/$(ns pod1)
conf=$(cni_conf podnet 1.0.0 "{\"prevResult\": $result}")
P=(ip -n "$(ns pod1)")
N=(ip -n "$(ns node)")

check() { cni_call CHECK "$cid" pod1 eth0 "$conf"; }
check_ok() {
    check
    [ "$RC" -eq 0 ] || fail "CHECK after $1: $OUT"
    log "ok: CHECK passes after $1"
}

cnitool_on check podnet pod1
[ "$RC" -eq 0 ] || fail "cnitool check: $ERR"
check_ok "ADD"

"${P[@]}" link set eth0 address 0a:58:00:00:00:99
check
expect_cni_error "CHECK with a changed MAC" 103 \
    "^interface eth0 in $nsp has MAC 0a:58:00:00:00:99, expected $mac$"
"${P[@]}" link set eth0 address "$mac"
check_ok "restoring the MAC"

"${P[@]}" link set eth0 mtu 1500
check
expect_cni_error "CHECK with a changed MTU" 103 "^interface eth0 in $nsp has MTU 1500, expected 1450$"
"${P[@]}" link set eth0 mtu 1450
check_ok "restoring the MTU"

"${P[@]}" route del default
check
expect_cni_error "CHECK without the default route" 103 \
    "^network namespace $nsp has no route 0.0.0.0/0 via 10.244.1.1 on eth0$"
"${P[@]}" route add default via 10.244.1.1 dev eth0
check_ok "restoring the route"

"${P[@]}" addr del "$ip/24" dev eth0
check
expect_cni_error "CHECK without the address" 103 "^interface eth0 in $nsp does not have address $ip/24$"
"${P[@]}" addr add "$ip/24" dev eth0
"${P[@]}" route add default via 10.244.1.1 dev eth0
check_ok "restoring the address"

"${P[@]}" link set eth0 down
check
expect_cni_error "CHECK with the pod's interface down" 103 "^interface eth0 in $nsp is down$"
"${P[@]}" link set eth0 up
"${P[@]}" route replace default via 10.244.1.1 dev eth0
check_ok "setting it up"

"${N[@]}" link set "$host" down
check
expect_cni_error "CHECK with the host end down" 103 "^host interface $host is down$"
"${N[@]}" link set "$host" up
check_ok "setting the host end up"

vsctl_on node del-port "$host" >/dev/null
check
expect_cni_error "CHECK without the switch port" 103 "^port $host is not attached to vswitchd$"
vsctl_on node add-port "$host" --ip "$ip" --mac "$mac" --container-id someone-else \
    --ifname eth0 >/dev/null || fail "cannot re-add $host"
check
expect_cni_error "CHECK with the port of another container" 103 \
    "^port $host belongs to someone-else/eth0 in vswitchd, expected $cid/eth0$"
vsctl_on node del-port "$host" >/dev/null
vsctl_on node add-port "$host" --ip "$ip" --mac "$mac" --container-id "$cid" --ifname eth0 \
    >/dev/null || fail "cannot re-add $host"
check_ok "re-attaching the port"
ping_ok pod1 10.244.1.1

mv "$CNI_IPAM_DIR/podnet/$ip" "$VSW_TMPDIR/lease"
check
[ "$RC" -ne 0 ] || fail "CHECK without the lease passed"
msg=$(jq -r .msg <<<"$OUT")
assert_match "CHECK without the lease is host-local's error" '^IPAM plugin host-local \(CHECK\): ' "$msg"
mv "$VSW_TMPDIR/lease" "$CNI_IPAM_DIR/podnet/$ip"
check_ok "restoring the lease"

# Versions and inputs CHECK does not accept.
cni_call CHECK "$cid" pod1 eth0 "$(cni_conf podnet 0.3.1 "{\"prevResult\": $result}")"
expect_cni_error "CHECK in cniVersion 0.3.1" 1 \
    '^CHECK is not defined for cniVersion 0.3.1 \(it needs 0.4.0 or later\)$'
cni_call CHECK "$cid" pod1 eth0 "$(cni_conf podnet 1.0.0)"
expect_cni_error "CHECK without prevResult" 7 '^network configuration: CHECK needs "prevResult"$'
cni_call CHECK "$cid" pod1 eth1 "$conf"
expect_cni_error "CHECK of an interface the result does not have" 103 \
    '^prevResult has no interface eth1 in a sandbox$'

# Last: the interface itself (deleting it deletes the host end too).
"${P[@]}" link del eth0
check
expect_cni_error "CHECK without the pod's interface" 103 "^interface eth0 is not in network namespace $nsp$"

cnitool_on del podnet pod1
[ "$RC" -eq 0 ] || fail "cnitool del after the interface vanished: $ERR"
assert_eq "port gone after DEL" "" "$(port_json node "$host")"
assert_eq "lease gone after DEL" "" "$(leases podnet)"
cni_no_sanitizer_reports
