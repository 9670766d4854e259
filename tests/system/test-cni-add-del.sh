#!/usr/bin/env bash
# The CNI plugin driven by libcni (cnitool), as container runtimes drive it: two pods added
# from a .conflist get their address, default route, MTU and MAC; vswitchd lists their ports
# with the pods' names; the pods reach each other (ICMP, TCP), the gateway and the node;
# CHECK passes; DEL frees the veth, the port and the host-local lease, and a second DEL of the
# same pod succeeds.
. "$(dirname "$0")/../lib/lib.sh"
preflight

cni_setup node 10.244.1.0/24
cni_conflist podnet 1.0.0
add_ns pod1 pod2

cnitool_on add podnet pod1
[ "$RC" -eq 0 ] || fail "cnitool add pod1: $ERR"
result1=$OUT
cnitool_on add podnet pod2
[ "$RC" -eq 0 ] || fail "cnitool add pod2: $ERR"
log "ok: cnitool add pod1, pod2"

# The result, as libcni printed it back: the host end, the pod's end in its sandbox, one
# address on the pod's end with the gateway, the route.
ip1=$(pod_ip pod1)
ip2=$(pod_ip pod2)
assert_eq "result's address is pod1's" "$ip1/24" "$(jq -r '.ips[0].address' <<<"$result1")"
assert_eq "result's gateway" "10.244.1.1" "$(jq -r '.ips[0].gateway' <<<"$result1")"
assert_eq "address on the pod's interface" "1" "$(jq -r '.ips[0].interface' <<<"$result1")"
assert_eq "pod interface in the result" "eth0 /run/netns/$(ns pod1)" \
    "$(jq -r '.interfaces[1] | "\(.name) \(.sandbox)"' <<<"$result1")"
host1=$(jq -r '.interfaces[0].name' <<<"$result1")
assert_match "host end named vsw + 12 hex digits" '^vsw[0-9a-f]{12}$' "$host1"
assert_eq "host end has no sandbox" "null" "$(jq -r '.interfaces[0].sandbox' <<<"$result1")"

# The pod as configured.
mac1=$(if_mac pod1 eth0)
IFS=. read -ra octets <<<"$ip1"
assert_eq "pod1 MAC derived from its IP" "$(printf '0a:58:%02x:%02x:%02x:%02x' "${octets[@]}")" "$mac1"
assert_eq "result's MAC is the pod's" "$mac1" "$(jq -r '.interfaces[1].mac' <<<"$result1")"
assert_eq "pod1 MTU" "1450" "$(ip -n "$(ns pod1)" -j link show dev eth0 | jq -r '.[0].mtu')"
assert_eq "host end MTU" "1450" "$(ip -n "$(ns node)" -j link show dev "$host1" | jq -r '.[0].mtu')"
assert_eq "pod1 default route" "10.244.1.1 eth0" \
    "$(ip -n "$(ns pod1)" -j route show default | jq -r '.[0] | "\(.gateway) \(.dev)"')"
assert_match "pod1 eth0 is up" 'UP' "$(ip -n "$(ns pod1)" link show dev eth0)"
assert_match "host end is up" 'UP' "$(ip -n "$(ns node)" link show dev "$host1")"
assert_eq "two host veths in the node" "2" "$(host_veths | wc -l)"
assert_eq "two leases" "$(printf '%s\n' "$ip1" "$ip2" | sort)" "$(leases podnet)"

# The switch's view: the port with the pod's metadata.
port=$(port_json node "$host1")
[ -n "$port" ] || fail "vsctl show does not list $host1"
assert_eq "port IP" "$ip1" "$(jq -r '.ip' <<<"$port")"
assert_eq "port MAC" "$mac1" "$(jq -r '.mac' <<<"$port")"
assert_eq "port pod" "default/pod1" "$(jq -r '"\(.pod_namespace)/\(.pod_name)"' <<<"$port")"
assert_eq "port ifname" "eth0" "$(jq -r '.ifname' <<<"$port")"
assert_match "port container id" '^cnitool-[0-9a-f]{20}$' "$(jq -r '.container_id' <<<"$port")"
assert_match "vsctl show names the pod" "$host1: .*pod=default/pod1" "$(vsctl_on node show)"

# Traffic through vswitchd.
ping_ok pod1 "$ip2"
ping_ok pod2 "$ip1"
ping_ok pod1 10.244.1.1
ping_ok node "$ip2"
assert_ok "full-MTU ping pod1 -> pod2" \
    ns_exec pod1 ping -n -q -c 3 -i 0.2 -W 2 -M "do" -s 1422 "$ip2"
tcp_xfer pod1 pod2 "$ip2" 4000000
tcp_xfer pod2 pod1 "$ip1" 1000000 7002

# CHECK through libcni (it hands the cached result back as prevResult).
cnitool_on check podnet pod1
[ "$RC" -eq 0 ] || fail "cnitool check pod1: $ERR"
log "ok: cnitool check pod1"

# DEL: veth (both ends), port, lease; pod2 untouched.
cnitool_on del podnet pod1
[ "$RC" -eq 0 ] || fail "cnitool del pod1: $ERR"
assert_eq "pod1 has no eth0" "" "$(ip -n "$(ns pod1)" -o link show dev eth0 2>/dev/null)"
assert_eq "pod1's host end is gone" "" "$(ip -n "$(ns node)" -o link show dev "$host1" 2>/dev/null)"
assert_eq "pod1's port is gone" "" "$(port_json node "$host1")"
assert_eq "pod1's lease is released" "$ip2" "$(leases podnet)"
cnitool_on del podnet pod1
[ "$RC" -eq 0 ] || fail "second cnitool del pod1: $ERR"
log "ok: second DEL of pod1 succeeds"
ping_ok node "$ip2"

cnitool_on del podnet pod2
[ "$RC" -eq 0 ] || fail "cnitool del pod2: $ERR"
assert_eq "no host veth left" "" "$(host_veths)"
assert_eq "no lease left" "" "$(leases podnet)"
assert_eq "no pod port left" "" "$(port_names node)"
cni_no_sanitizer_reports
