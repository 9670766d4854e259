# shellcheck shell=bash
# tests/bench/ovs.sh — Open vSwitch for the benchmarks, sourced by tests/bench/run.sh (one
# node) and tests/bench/overlay.sh (two nodes on VXLAN), after tests/lib/lib.sh.
#
# One instance is an ovsdb-server and an ovs-vswitchd started inside a node namespace, with
# every file of theirs (database, sockets, pidfiles, logs, the bridges' OpenFlow management
# sockets) in a private directory under VSW_TMPDIR; both are killed on exit by the library's
# cleanup stack.  The functions below act on the instance of OVS_DIR: ovs_start sets it, and
# a caller with several instances sets it back before it talks to one of them.

OVS_DIR=

# have_ovs: Open vSwitch is installed (openvswitch-switch).
have_ovs() { command -v ovs-vswitchd >/dev/null && command -v ovsdb-server >/dev/null; }

# ovs_vsctl ARGS...: ovs-vsctl against the instance of OVS_DIR.
ovs_vsctl() {
    ovs-vsctl --db="unix:$OVS_DIR/db.sock" --timeout=20 "$@"
}

# ovs_appctl ARGS...: ovs-appctl against that instance's ovs-vswitchd.
ovs_appctl() {
    ovs-appctl -t "$OVS_DIR/ovs-vswitchd.ctl" --timeout=20 "$@"
}

# ovs_log_tail: the last lines of that instance's ovs-vswitchd log, for failure messages.
ovs_log_tail() { tail -5 "$OVS_DIR/ovs-vswitchd.log" 2>/dev/null; }

# ovs_start NODE DIR [TSO]: an instance in namespace NODE (which must exist) with its files
# in DIR; sets OVS_DIR=DIR.  other_config:userspace-tso-enable=TSO (default true: pods keep
# their default offloads, as with the other systems; ovs-vswitchd reads it only when it
# starts).  Returns once ovs-vswitchd answers; bridges are the caller's
# (datapath_type=netdev).
ovs_start() {
    local n=$1 tso=${3:-true} schema=/usr/share/openvswitch/vswitch.ovsschema
    OVS_DIR=$2
    mkdir -p "$OVS_DIR" || fail "cannot create $OVS_DIR"
    ovsdb-tool create "$OVS_DIR/conf.db" "$schema" || fail "ovsdb-tool create failed"
    bg_start "$n" "$OVS_DIR/ovsdb-server.out" ovsdb-server "$OVS_DIR/conf.db" \
        --remote="punix:$OVS_DIR/db.sock" --pidfile="$OVS_DIR/ovsdb-server.pid" \
        --unixctl="$OVS_DIR/ovsdb-server.ctl" --log-file="$OVS_DIR/ovsdb-server.log"
    wait_until 10 test -S "$OVS_DIR/db.sock" || fail "ovsdb-server did not start in $n"
    ovs_vsctl --no-wait init || fail "ovs-vsctl init failed in $n"
    ovs_vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable="$tso" ||
        fail "ovs-vsctl: userspace-tso-enable in $n"
    # The bridges' management sockets (BRIDGE.mgmt) go to OVS_RUNDIR.
    OVS_RUNDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_SYSCONFDIR=$OVS_DIR \
        bg_start "$n" "$OVS_DIR/ovs-vswitchd.out" ovs-vswitchd "unix:$OVS_DIR/db.sock" \
        --pidfile="$OVS_DIR/ovs-vswitchd.pid" --unixctl="$OVS_DIR/ovs-vswitchd.ctl" \
        --log-file="$OVS_DIR/ovs-vswitchd.log"
    wait_until 10 ovs_appctl version ||
        fail "ovs-vswitchd did not start in $n: $(tail -5 "$OVS_DIR/ovs-vswitchd.out")"
}

# ovs_services SERVICE...: kube-proxy's services in OpenFlow.  Each SERVICE is
# "VIP PORT BACKEND..." (BACKEND = IP:PORT, TCP); it becomes select group N (N = 1, 2, ...
# in order) with one bucket per backend, ct(commit,zone=1,nat(dst=BACKEND),table=2), and a
# flow in table 1 that sends a new connection (ct_state=+new+trk) to VIP:PORT to that group.
# The bridge's table 0 must have sent IP through ct(table=1,zone=1,nat) (which also undoes
# the DNAT on replies), and table 2 delivers.  Sets OVS_GROUPS and OVS_SVC_FLOWS (one per
# line).
ovs_services() {
    local g=0 s vip port b
    OVS_GROUPS="" OVS_SVC_FLOWS=""
    for s in "$@"; do
        read -r vip port _ <<<"$s"
        g=$((g + 1))
        OVS_SVC_FLOWS+="table=1,priority=100,ct_state=+new+trk,tcp,nw_dst=$vip,tp_dst=$port,"
        OVS_SVC_FLOWS+="actions=group:$g"$'\n'
        OVS_GROUPS+="group_id=$g,type=select"
        for b in ${s#* * }; do
            OVS_GROUPS+=",bucket=actions=ct(commit,zone=1,nat(dst=$b),table=2)"
        done
        OVS_GROUPS+=$'\n'
    done
}

# ovs_openflow BRIDGE FLOWS [GROUPS]: replaces BRIDGE's flows by FLOWS (one per line) after
# adding GROUPS (one per line), OpenFlow 1.3, through the bridge's management socket.
ovs_openflow() {
    local br=$1 flows=$2 groups=${3:-} mgmt=unix:$OVS_DIR/$1.mgmt
    if [ -n "$groups" ]; then
        printf '%s' "$groups" >"$OVS_DIR/$br.groups"
        ovs-ofctl -O OpenFlow13 add-groups "$mgmt" "$OVS_DIR/$br.groups" ||
            fail "ovs-ofctl add-groups on $br failed"
    fi
    printf '%s\n' "$flows" >"$OVS_DIR/$br.flows"
    ovs-ofctl -O OpenFlow13 replace-flows "$mgmt" "$OVS_DIR/$br.flows" ||
        fail "ovs-ofctl replace-flows on $br failed"
}
