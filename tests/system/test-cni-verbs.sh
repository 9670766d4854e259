#!/usr/bin/env bash
# The CNI plugin in every cniVersion it speaks and for the verbs libcni 1.1.2 does not drive:
# results of 0.3.0, 0.3.1, 0.4.0 and 1.0.0 are read back by libcni (cnitool) and have exactly
# their schema's fields; 1.1.0 (called directly: host-local 1.1.1 stops at 1.0.0, so the
# plugin talks down to it) adds the interfaces' MTU; VERSION answers; STATUS is 0 with
# vswitchd up and 50 without; GC removes exactly this network's ports that are not valid
# attachments, with their veths and leases.
. "$(dirname "$0")/../lib/lib.sh"
preflight

cni_setup node 10.244.1.0/24
add_ns pod1 pod2 pod3 pod4

# ---- Results per version, through libcni. ----
for v in 0.3.0 0.3.1 0.4.0 1.0.0; do
    net=net${v//./}
    cni_conflist "$net" "$v"
    cnitool_on add "$net" pod1
    [ "$RC" -eq 0 ] || fail "cnitool add in $v: $ERR"
    assert_eq "$v: result's cniVersion" "$v" "$(jq -r .cniVersion <<<"$OUT")"
    if [ "$v" = 1.0.0 ]; then want_ip='address,gateway,interface'; else want_ip='address,gateway,interface,version'; fi
    assert_eq "$v: ips[] fields" "$want_ip" "$(jq -r '.ips[0] | keys | join(",")' <<<"$OUT")"
    assert_eq "$v: host interface fields" "mac,name" "$(jq -r '.interfaces[0] | keys | join(",")' <<<"$OUT")"
    assert_eq "$v: pod interface fields" "mac,name,sandbox" \
        "$(jq -r '.interfaces[1] | keys | join(",")' <<<"$OUT")"
    assert_eq "$v: top-level fields" "cniVersion,dns,interfaces,ips,routes" \
        "$(jq -r 'keys | join(",")' <<<"$OUT")"
    [ "$v" = 1.0.0 ] || assert_eq "$v: ips[0].version" "4" "$(jq -r '.ips[0].version' <<<"$OUT")"
    ping_ok pod1 10.244.1.1
    if [ "$v" != 0.3.0 ] && [ "$v" != 0.3.1 ]; then
        cnitool_on check "$net" pod1
        [ "$RC" -eq 0 ] || fail "cnitool check in $v: $ERR"
        log "ok: $v: cnitool check"
    fi
    cnitool_on del "$net" pod1
    [ "$RC" -eq 0 ] || fail "cnitool del in $v: $ERR"
    assert_eq "$v: nothing left" "" "$(host_veths)$(leases "$net")$(port_names node)"
done

# ---- 1.1.0, directly. ----
conf11=$(cni_conf podnet 1.1.0)
cni_call ADD c1 pod1 eth0 "$conf11"
expect_ok "ADD in 1.1.0"
res11=$OUT
assert_eq "1.1.0: result's cniVersion" "1.1.0" "$(jq -r .cniVersion <<<"$res11")"
assert_eq "1.1.0: interfaces carry the MTU" "1450 1450" "$(jq -r '[.interfaces[].mtu] | join(" ")' <<<"$res11")"
assert_eq "1.1.0: ips[] fields" "address,gateway,interface" "$(jq -r '.ips[0] | keys | join(",")' <<<"$res11")"
assert_match "1.1.0: the plugin talked down to host-local" \
    'IPAM plugin host-local does not speak cniVersion 1.1.0; using 1.0.0' "$(cat "$CNI_LOG")"
cni_call CHECK c1 pod1 eth0 "$(cni_conf podnet 1.1.0 "{\"prevResult\": $res11}")"
expect_ok "CHECK in 1.1.0"

# ---- VERSION ----
cni_exec '{"cniVersion": "0.4.0"}' CNI_COMMAND=VERSION
expect_ok "VERSION"
assert_eq "VERSION answer" '{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}' \
    "$(jq -c . <<<"$OUT")"
cni_exec '' CNI_COMMAND=VERSION
expect_ok "VERSION without input"
assert_eq "VERSION without input answers in the latest" "1.1.0" "$(jq -r .cniVersion <<<"$OUT")"

# ---- STATUS ----
cni_exec "$conf11" CNI_COMMAND=STATUS CNI_PATH="$CNI_BIN"
expect_ok "STATUS with vswitchd up"
assert_eq "STATUS prints nothing" "" "$OUT"

# ---- GC ----
# c1 (above), c2, c3 on podnet; o1 on another network sharing the switch; a port vsctl made.
cni_call ADD c2 pod2 eth0 "$conf11"
expect_ok "ADD c2"
cni_call ADD c3 pod3 eth0 "$conf11"
expect_ok "ADD c3"
host3=$(jq -r '.interfaces[0].name' <<<"$OUT")
ip3=$(pod_ip pod3)
cni_call ADD o1 pod4 eth0 "$(cni_conf othernet 1.1.0 '{"ipam": {"ranges": [[{"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.200"}]]}}')"
expect_ok "ADD o1 on othernet"
hosto=$(jq -r '.interfaces[0].name' <<<"$OUT")
vsctl_on node add-port tapx --type tap --ip 10.244.1.100 >/dev/null || fail "cannot add tapx"
before=$(port_names node)
assert_eq "five pod ports" "5" "$(wc -l <<<"$before")"

valid='{"cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "eth0"},
                                      {"containerID": "c2", "ifname": "eth0"},
                                      {"containerID": "c3", "ifname": "eth1"}]}'
cni_exec "$(cni_conf podnet 1.1.0 "$valid")" CNI_COMMAND=GC CNI_PATH="$CNI_BIN"
expect_ok "GC"
assert_eq "GC removed exactly c3's port" "$(grep -vx "$host3" <<<"$before")" "$(port_names node)"
assert_no_match "GC removed c3's veth" "$host3" "$(host_veths)"
assert_eq "GC released c3's lease" "" "$(leases podnet | grep -x "$ip3")"
assert_eq "c1 and c2 keep their leases" "2" "$(leases podnet | wc -l)"
assert_eq "othernet keeps its lease" "1" "$(leases othernet | wc -l)"
assert_match "othernet's port is untouched" "$hosto" "$(port_names node)"
assert_match "vsctl's port is untouched" "tapx" "$(port_names node)"
ping_ok pod1 10.244.1.1
ping_ok pod2 10.244.1.1
ping_ok pod4 10.244.1.1
cni_exec "$(cni_conf podnet 1.1.0 "$valid")" CNI_COMMAND=GC CNI_PATH="$CNI_BIN"
expect_ok "a second GC"
assert_eq "a second GC removes nothing" "4" "$(port_names node | wc -l)"

cni_exec "$(cni_conf podnet 1.0.0 "$valid")" CNI_COMMAND=GC CNI_PATH="$CNI_BIN"
expect_cni_error "GC in 1.0.0" 1 '^GC is not defined for cniVersion 1.0.0 \(it needs 1.1.0 or later\)$'
cni_exec "$conf11" CNI_COMMAND=GC CNI_PATH="$CNI_BIN"
expect_cni_error "GC without valid attachments" 7 '^network configuration: GC needs "cni.dev/valid-attachments"$'

# ---- STATUS and GC with vswitchd down ----
stop_vswitchd node
cni_exec "$conf11" CNI_COMMAND=STATUS CNI_PATH="$CNI_BIN"
expect_cni_error "STATUS with vswitchd down" 50 '^vswitchd is not available: cannot connect to vswitchd at '
cni_exec "$(cni_conf podnet 1.1.0 "$valid")" CNI_COMMAND=GC CNI_PATH="$CNI_BIN"
expect_cni_error "GC with vswitchd down" 11 '^cannot connect to vswitchd at '
cni_no_sanitizer_reports
