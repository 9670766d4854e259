# shellcheck shell=bash
# tests/lib/cni.sh — the CNI plugin (part of tests/lib/lib.sh), for its system tests
# (tests/system/test-cni*.sh), the demo and tests/cni/bench.sh.
#
# A test gets a node namespace running vswitchd, pods as bare namespaces (the plugin creates
# their interfaces), a private CNI_PATH holding the plugin (as "vswitch") and host-local, a
# private NETCONFPATH, a private host-local dataDir, and a private libcni cache: cnitool runs
# in a mount namespace of its own where /var/lib/cni is a directory of the test, so nothing
# is written outside the test's scratch directory.
#
#   cni_setup NODE CIDR          start vswitchd in NODE; build/find cnitool; set the paths
#   cni_conf NET VERSION [JSON]  a plugin config (one line) for network NET, extra keys merged
#   cni_conflist NET VERSION [JSON]  write $NETCONFPATH/NET.conflist with that config
#   cnitool_on ACTION NET POD    run cnitool (add|check|del) for POD; sets OUT, ERR, RC
#   cni_exec CONF VAR=VALUE...   run the plugin with exactly these CNI_* variables and CONF
#                                on stdin; sets OUT, ERR, RC
#   cni_call VERB CID POD IFNAME CONF [VAR=VALUE...]   cni_exec with the usual variables
#   leases NET                   the addresses host-local holds for NET, one per line
#   host_veths                   the vsw* veths in the node namespace (not vsw0)

cni_setup() {
    CNI_NODE=$1
    local cidr=$2
    require ip jq unshare
    [ -x "$VSW_BUILD/vswitch-cni" ] || fail "$VSW_BUILD/vswitch-cni not built"
    [ -x /usr/lib/cni/host-local ] ||
        fail "host-local not found in /usr/lib/cni (containernetworking-plugins, tests/deps.sh)"
    CNITOOL=$(bash "$VSW_REPO/tests/cni/build-cnitool.sh") || fail "cannot build cnitool"

    CNI_BIN=$VSW_TMPDIR/cni-bin
    NETCONFPATH=$VSW_TMPDIR/net.d
    CNI_IPAM_DIR=$VSW_TMPDIR/ipam
    CNI_CACHE=$VSW_TMPDIR/cni-cache
    CNI_LOG=$VSW_TMPDIR/cni.log
    mkdir -p "$CNI_BIN" "$NETCONFPATH" "$CNI_IPAM_DIR" "$CNI_CACHE"
    ln -sf "$VSW_BUILD/vswitch-cni" "$CNI_BIN/vswitch"
    ln -sf /usr/lib/cni/host-local "$CNI_BIN/host-local"
    add_node "$CNI_NODE" "$cidr"
    CNI_CIDR=$cidr
    CNI_GW=$(cidr_gateway "$cidr")
}

# cni_conf NET VERSION [EXTRA_JSON]: the vswitch plugin's configuration for network NET.
# The IPAM range is the node's pod CIDR unless EXTRA_JSON replaces "ipam".
cni_conf() {
    local net=$1 version=$2 extra=${3:-"{}"}
    jq -cn --arg net "$net" --arg v "$version" --arg ctl "${VSW_CTL[$CNI_NODE]}" \
        --arg cidr "$CNI_CIDR" --arg gw "$CNI_GW" --arg dir "$CNI_IPAM_DIR" \
        --arg log "$CNI_LOG" --argjson extra "$extra" '
        {cniVersion: $v, name: $net, type: "vswitch", ctl: $ctl, mtu: 1450,
         logFile: $log, logLevel: "debug",
         ipam: {type: "host-local", dataDir: $dir,
                ranges: [[{subnet: $cidr, gateway: $gw}]], routes: [{dst: "0.0.0.0/0"}]}}
        * $extra'
}

# cni_conflist NET VERSION [EXTRA_JSON]: writes $NETCONFPATH/NET.conflist (one plugin).
cni_conflist() {
    local net=$1 version=$2
    cni_conf "$@" | jq --arg net "$net" --arg v "$version" \
        '{cniVersion: $v, name: $net, plugins: [del(.cniVersion, .name)]}' \
        >"$NETCONFPATH/$net.conflist" || fail "cannot write $net.conflist"
}

# cnitool_on ACTION NET POD [IFNAME]: cnitool ACTION NET /run/netns/<POD> in the node's
# namespace, with the pod's Kubernetes name in CNI_ARGS.  Sets OUT, ERR and RC.
cnitool_on() {
    local action=$1 net=$2 pod=$3 ifname=${4:-eth0} errf=$VSW_TMPDIR/cnitool.err
    # shellcheck disable=SC2016  # the script is for the inner shell
    OUT=$(ip netns exec "$(ns "$CNI_NODE")" unshare -m --propagation private sh -c '
            mount -t tmpfs tmpfs /var/lib && mkdir /var/lib/cni &&
            mount --bind "$0" /var/lib/cni && exec "$@"' "$CNI_CACHE" \
          env NETCONFPATH="$NETCONFPATH" CNI_PATH="$CNI_BIN" CNI_IFNAME="$ifname" \
              CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$pod" \
              "$CNITOOL" "$action" "$net" "/run/netns/$(ns "$pod")" 2>"$errf")
    RC=$?
    ERR=$(cat "$errf")
    cat "$errf" >>"$VSW_TMPDIR/cni-stderr.log"
}

# cni_exec CONF VAR=VALUE...: the plugin with exactly these variables (and PATH, and the
# sanitizer options) and CONF on stdin, in the node's namespace.  Sets OUT, ERR and RC.
cni_exec() {
    local conf=$1 errf=$VSW_TMPDIR/cni.err; shift
    OUT=$(printf '%s' "$conf" | ip netns exec "$(ns "$CNI_NODE")" env -i PATH="$PATH" \
          ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
          UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
          "$@" "$VSW_BUILD/vswitch-cni" 2>"$errf")
    RC=$?
    ERR=$(cat "$errf")
    cat "$errf" >>"$VSW_TMPDIR/cni-stderr.log"
}

# cni_call VERB CID POD IFNAME CONF [VAR=VALUE...]: the usual variables; POD may be "" (no
# CNI_NETNS).
cni_call() {
    local verb=$1 cid=$2 pod=$3 ifname=$4 conf=$5 netns=(); shift 5
    [ -n "$pod" ] && netns=("CNI_NETNS=/run/netns/$(ns "$pod")")
    cni_exec "$conf" CNI_COMMAND="$verb" CNI_CONTAINERID="$cid" "${netns[@]}" \
        CNI_IFNAME="$ifname" CNI_PATH="$CNI_BIN" \
        CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$cid" "$@"
}

# expect_cni_error DESC CODE REGEX: the last call failed with CNI error CODE and a message
# matching REGEX, printed as the specification's error object on stdout.
expect_cni_error() {
    local desc=$1 code=$2 re=$3 got msg
    [ "$RC" -ne 0 ] || fail "$desc: succeeded but should have failed: $OUT"
    [ "$RC" -eq 1 ] || fail "$desc: exit status $RC, expected 1 (stderr: $ERR)"
    got=$(jq -r '.code' <<<"$OUT" 2>/dev/null) ||
        fail "$desc: stdout is not a CNI error object: '$OUT' (stderr: $ERR)"
    msg=$(jq -r '.msg' <<<"$OUT")
    [ "$got" = "$code" ] || fail "$desc: error code $got, expected $code: $msg"
    jq -e 'has("cniVersion") and (.msg | type == "string")' <<<"$OUT" >/dev/null ||
        fail "$desc: error object lacks cniVersion or msg: $OUT"
    printf '%s\n' "$msg" | grep -Eq -- "$re" || fail "$desc: message '$msg' does not match '$re'"
    log "ok: $desc (code $code: $msg)"
}

# expect_ok DESC: the last call succeeded.
expect_ok() {
    [ "$RC" -eq 0 ] || fail "$1: exit $RC: $OUT $ERR"
    log "ok: $1"
}

# leases NET: the addresses host-local has leased on NET.
leases() {
    local d=$CNI_IPAM_DIR/$1
    [ -d "$d" ] || return 0
    find "$d" -maxdepth 1 -type f -printf '%f\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | sort
}

# host_veths: the plugin's host-side veths in the node ("vsw" + 12 hex digits).
host_veths() {
    ip -n "$(ns "$CNI_NODE")" -o link show type veth | awk -F': ' '{print $2}' |
        sed 's/@.*//' | grep -E '^vsw[0-9a-f]{12}$' | sort
}

# pod_ip POD [IFNAME]: the IPv4 address of IFNAME (eth0) in POD, without its prefix length.
pod_ip() {
    ip -n "$(ns "$1")" -j addr show dev "${2:-eth0}" |
        jq -r '.[0].addr_info[] | select(.family == "inet") | .local'
}

# port_json NODE NAME: the port NAME of `vsctl --json show`, or nothing.
port_json() {
    vsctl_on "$1" --json show | jq -c --arg n "$2" '.ports[] | select(.name == $n)'
}

# cni_no_sanitizer_reports: fails if the plugin's log or stderr holds a sanitizer report.
cni_no_sanitizer_reports() {
    sanitizer_reports "$CNI_LOG" "$VSW_TMPDIR/cni-stderr.log" ||
        fail "sanitizer report in the plugin's output"
}
