#!/usr/bin/env bash
# Failed ADDs leave nothing behind (no veth on either side, no host-local lease, no port) and
# say why with the specification's error codes: malformed or invalid netconf, missing or bad
# environment, unknown namespace, missing IPAM plugin, interface already in the pod, vswitchd
# down, an exhausted IPAM range, an address the switch refuses (taken, outside its CIDR).
# DEL succeeds with vswitchd down or unreachable, and the port it could not remove is
# reclaimed by the next ADD that gets its address.
. "$(dirname "$0")/../lib/lib.sh"
preflight

cni_setup node 10.244.1.0/24
add_ns pod1 pod2 pod3
good=$(cni_conf podnet 1.0.0)
# A range of one address, to exhaust it and to have host-local give an address out again.
tiny=$(cni_conf tiny 1.0.0 '{"ipam": {"ranges": [[{"subnet": "10.244.1.0/24",
        "rangeStart": "10.244.1.50", "rangeEnd": "10.244.1.50", "gateway": "10.244.1.1"}]]}}')

# nothing_left POD NET DESC: no interface in POD, no vsw veth and no lease on NET beyond
# what is expected ($KEEP_VETHS, $KEEP_LEASES), no pod port beyond $KEEP_PORTS.
nothing_left() {
    local pod=$1 net=$2 desc=$3
    assert_eq "$desc: no eth0 in $pod" "" "$(ip -n "$(ns "$pod")" -o link show dev eth0 2>/dev/null)"
    assert_eq "$desc: host veths" "${KEEP_VETHS:-}" "$(host_veths)"
    assert_eq "$desc: leases on $net" "${KEEP_LEASES:-}" "$(leases "$net")"
    assert_eq "$desc: switch ports" "${KEEP_PORTS:-}" "$(port_names node)"
}

# ---- Input errors: caught before anything is changed. ----
cni_call ADD c1 pod1 eth0 '{"cniVersion": "1.0.0", "name": '
expect_cni_error "malformed JSON" 6 '^cannot decode the network configuration: .*\(line 1, column'
cni_call ADD c1 pod1 eth0 "$(jq -c 'del(.ipam)' <<<"$good")"
expect_cni_error "netconf without ipam" 7 '^network configuration: "ipam" is missing'
cni_call ADD c1 pod1 eth0 "$(jq -c '.mtu = 20' <<<"$good")"
expect_cni_error "netconf with a bad MTU" 7 '"mtu" must be an integer from 68 to 65535, not 20$'
cni_call ADD c1 pod1 eth0 "$(jq -c '.cniVersion = "0.2.0"' <<<"$good")"
expect_cni_error "unsupported cniVersion" 1 'cniVersion "0.2.0" is not supported'
cni_exec "$good" CNI_CONTAINERID=c1 CNI_NETNS="/run/netns/$(ns pod1)" CNI_IFNAME=eth0 CNI_PATH="$CNI_BIN"
expect_cni_error "no CNI_COMMAND" 4 '^CNI_COMMAND is not set$'
cni_exec "$good" CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_IFNAME=eth0 CNI_PATH="$CNI_BIN"
expect_cni_error "ADD without CNI_NETNS" 4 '^CNI_NETNS is not set \(required for ADD\)$'
cni_exec "$good" CNI_COMMAND=ADD CNI_NETNS="/run/netns/$(ns pod1)" CNI_IFNAME=eth0 CNI_PATH="$CNI_BIN"
expect_cni_error "ADD without CNI_CONTAINERID" 4 '^CNI_CONTAINERID is not set \(required for ADD\)$'
cni_call ADD c1 pod1 'eth 0' "$good"
expect_cni_error "ADD with a bad CNI_IFNAME" 4 "^CNI_IFNAME \"eth 0\" is invalid: it contains '/', ':' or white space$"
cni_call ADD c1 pod1 eth0 "$good" CNI_ARGS="K8S_POD_NAME"
expect_cni_error "ADD with malformed CNI_ARGS" 4 '^CNI_ARGS: "K8S_POD_NAME" is not KEY=VALUE$'
cni_call ADD c1 nosuchpod eth0 "$good"
expect_cni_error "ADD into a namespace that does not exist" 3 \
    "^cannot open network namespace /run/netns/$(ns nosuchpod): No such file or directory$"
cni_call ADD c1 pod1 eth0 "$(jq -c '.ipam.type = "no-such-ipam"' <<<"$good")"
expect_cni_error "IPAM plugin not in CNI_PATH" 7 "^IPAM plugin \"no-such-ipam\" not found in CNI_PATH $CNI_BIN$"
nothing_left pod1 podnet "after the input errors"

ip -n "$(ns pod1)" link add eth0 type veth peer name other0
cni_call ADD c1 pod1 eth0 "$good"
expect_cni_error "ADD of an interface the pod already has" 101 \
    "^interface eth0 already exists in network namespace /run/netns/$(ns pod1)$"
assert_eq "the pod's own eth0 is untouched" "other0" \
    "$(ip -n "$(ns pod1)" -j link show dev eth0 | jq -r '.[0].link')"
ip -n "$(ns pod1)" link del eth0
nothing_left pod1 podnet "after the existing interface"

# ---- A DEL that cannot reach vswitchd still succeeds; the port it leaves is reclaimed. ----
cni_call ADD c1 pod1 eth0 "$tiny"
expect_ok "ADD c1 into pod1 on the one-address range"
assert_eq "c1 got the range's address" "10.244.1.50" "$(pod_ip pod1)"
host1=$(jq -r '.interfaces[0].name' <<<"$OUT")

# The netconf names a socket nobody listens on: to the plugin, vswitchd is down.
unreachable=$(jq -c --arg s "$VSW_TMPDIR/nobody.sock" '.ctl = $s' <<<"$tiny")
cni_call DEL c1 pod1 eth0 "$unreachable"
expect_ok "DEL with vswitchd unreachable"
assert_eq "DEL with vswitchd unreachable removed the veth" "" "$(host_veths)"
assert_eq "DEL with vswitchd unreachable released the lease" "" "$(leases tiny)"
assert_match "the log says the port stays" "port $host1 stays in the switch until GC" "$(cat "$CNI_LOG")"
cni_call DEL c1 pod1 eth0 "$unreachable"
expect_ok "second DEL with vswitchd unreachable"
assert_eq "the stale port is still in the switch" "$host1" "$(port_names node)"

# host-local gives 10.244.1.50 out again; the switch still has it on the stale port.
cni_call ADD c2 pod2 eth0 "$tiny"
expect_ok "ADD of c2 reclaims the address from the stale port"
host2=$(jq -r '.interfaces[0].name' <<<"$OUT")
assert_eq "c2 got 10.244.1.50" "10.244.1.50" "$(pod_ip pod2)"
assert_eq "only c2's port" "$host2" "$(port_names node)"
assert_match "the log names the reclaimed port" "port $host1 .* has no veth any more; removing it" "$(cat "$CNI_LOG")"
ping_ok pod2 10.244.1.1

# ---- An exhausted range: host-local's error, nothing left for c3. ----
cni_call ADD c3 pod3 eth0 "$tiny"
[ "$RC" -ne 0 ] || fail "ADD on an exhausted range succeeded"
assert_match "exhausted range: host-local's message" \
    '^IPAM plugin host-local \(ADD\): .*no IP addresses available' "$(jq -r .msg <<<"$OUT")"
KEEP_VETHS=$host2 KEEP_LEASES=10.244.1.50 KEEP_PORTS=$host2 nothing_left pod3 tiny "exhausted range"
ping_ok pod2 10.244.1.1

# ---- The switch refuses the address: the lease and the veth are undone. ----
cni_call DEL c2 pod2 eth0 "$tiny"
expect_ok "DEL c2"
vsctl_on node add-port tapx --type tap --ip 10.244.1.50 >/dev/null || fail "cannot add tapx"
cni_call ADD c3 pod3 eth0 "$tiny"
expect_cni_error "ADD of an address another port holds" 102 \
    '^cannot attach port vsw[0-9a-f]{12}: vswitchd: IP address 10.244.1.50 is already used by port tapx$'
KEEP_PORTS=tapx nothing_left pod3 tiny "address taken"

outside=$(cni_conf outside 1.0.0 '{"ipam": {"ranges": [[{"subnet": "10.99.0.0/24"}]]}}')
cni_call ADD c3 pod3 eth0 "$outside"
expect_cni_error "ADD of an address outside the switch's CIDR" 102 \
    'vswitchd: IP address 10.99.0.2 is outside the pod CIDR 10.244.1.0/24$'
KEEP_PORTS=tapx nothing_left pod3 outside "address outside the CIDR"

# The failures did not disturb a working pod.
cni_call ADD c4 pod1 eth0 "$good"
expect_ok "ADD after all the failures"
host4=$(jq -r '.interfaces[0].name' <<<"$OUT")
ip4=$(pod_ip pod1)
ping_ok pod1 10.244.1.1

# ---- vswitchd down: ADD fails (try again later) and leaves nothing; DEL succeeds. ----
stop_vswitchd node
cni_call ADD c5 pod2 eth0 "$good"
expect_cni_error "ADD with vswitchd down (after waiting 10 s for it)" 11 \
    "^cannot connect to vswitchd at ${VSW_CTL[node]}: .*\(is vswitchd running\?\); vswitchd did not start within 10000 ms$"
assert_eq "pod2 has no eth0" "" "$(ip -n "$(ns pod2)" -o link show dev eth0 2>/dev/null)"
assert_eq "ADD with vswitchd down: only c4's veth" "$host4" "$(host_veths)"
assert_eq "ADD with vswitchd down: only c4's lease" "$ip4" "$(leases podnet)"
cni_call DEL c4 pod1 eth0 "$good"
expect_ok "DEL with vswitchd down"
assert_eq "DEL with vswitchd down removed the veth" "" "$(host_veths)"
assert_eq "DEL with vswitchd down released the lease" "" "$(leases podnet)"
assert_eq "pod1 has no eth0" "" "$(ip -n "$(ns pod1)" -o link show dev eth0 2>/dev/null)"
cni_call DEL c4 pod1 eth0 "$good"
expect_ok "second DEL with vswitchd down"
cni_no_sanitizer_reports
