#!/usr/bin/env bash
# tests/bench/overlay.sh BUILD_DIR — the overlay benchmark (issue 4): TCP across two nodes on
# VXLAN, this switch against the kernel's own overlay and Open vSwitch's userspace one, side by
# side.
#
# Two node namespaces joined by an underlay (a bridge in a third namespace, a veth to each
# node, MTU 1500), one pod on each node (MTU 1450, default offloads but for ovs), served by
#   kernel   flannel's vxlan backend, built by hand: in each node a bridge cni0 holding the
#            pod's veth and the gateway address 10.244.N.1/24, a VXLAN device flannel.1
#            (VNI 1, port 4789, nolearning, local = the node's underlay address) with
#            10.244.N.0/32, and for the other node a route 10.244.M.0/24 via 10.244.M.0
#            onlink, a permanent neighbour entry and an FDB entry (its flannel.1 MAC -> its
#            underlay address); ip_forward=1.  The VIP is kube-proxy's iptables mode in the
#            client's node (KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP DNAT in nat PREROUTING):
#            the reply comes back through the client's node, whose conntrack undoes the DNAT.
#   vswitch  this switch (BUILD_DIR/vswitchd) on each node, --node-ip, the other node as its
#            peer; the VIP is a DSR policy on both nodes (the client's node dispatches, the
#            backend's node translates).
#   vswitch-poll
#            (not by default) the same with --busy-poll-us 200: two switches that poll after
#            traffic share the machine's cores with the benchmark's four processes, which a real
#            pair of nodes would not; this column shows what polling costs or gains here.
#   ovs      Open vSwitch's userspace datapath with its userspace VXLAN, as OVS's "userspace
#            tunneling" howto deploys it: in each node an ovsdb-server and an ovs-vswitchd
#            (tests/bench/ovs.sh: private database, sockets and logs) with two bridges of
#            datapath_type=netdev.  br-phy (fail-mode standalone, other_config:hwaddr = u0's
#            MAC) holds the underlay port u0, whose address moves to br-phy's internal port, so
#            that OVS's route table (ovs/route, from the kernel's) sends the tunnel out through
#            br-phy and its tunnel ARP cache (tnl/arp) learns the other node's MAC there.
#            br-int (fail-mode secure) holds the pod's veth and vxlan0 (type vxlan, key 1,
#            dst_port 4789, local_ip and remote_ip the node addresses): OVS itself pushes and
#            pops the outer headers (tnl_push/tnl_pop) and sends them out of u0.  br-int's
#            OpenFlow routes as a node of an overlay does: an ARP responder for the gateway
#            10.244.N.1, the local pod by address (MACs rewritten, TTL decremented), the other
#            node's 10.244.M.0/24 over vxlan0.  The VIP is OpenFlow in node 1, as run.sh's svc
#            part has it: every IP packet through ct(zone=1,nat), a new connection to VIP:port
#            to a select group whose bucket is ct(commit,nat(dst=backend)); the reply is
#            un-DNAT'd there.  Userspace TSO is off (OVS 3.1's userspace tunnels drop every
#            packet with offload flags) and so, as OVS's userspace datapath needs of a veth
#            then, is the pods' tx checksum offload (ethtool -K eth0 tx off, which takes their
#            TSO with it): this column pays for its segmentation and checksums in the pods.
#   floor-whole, floor-segments
#            (not by default) no switch: tests/bench/relay-floor.c, built here, on each node
#            between the pod's veth (AF_PACKET) and a UDP socket to the other node, the pods
#            holding static ARP entries for their gateway with the other pod's MAC.  What any
#            user-space overlay on sockets pays at the least: floor-whole sends each frame as
#            it is, cut by the kernel into datagrams that are not frames (not VXLAN), the four
#            copies and nothing else; floor-segments makes every datagram a frame of its own
#            as RFC 7348 requires (headers copied per piece, the pieces joined again on the
#            other side), without any of a switch's work.  No VIP (n/a in the report).
# Measured, client pod on node 1, server pod on node 2:
#   pod  pod -> pod         TCP throughput (iperf3, 1 and 4 streams), TCP round-trip latency
#                           (sockperf ping-pong, 64 bytes, p50 and p99)
#   vip  pod -> VIP -> pod  the same through 10.96.0.10 (one backend: iperf3's control and
#                           data connections must meet on one server)
# Every system is built once and stays up (an idle vswitchd or ovs-vswitchd uses no CPU);
# each round measures each metric on every system back to back, the order rotating from round
# to round, so that the shared 2-core machine's noise hits them alike.  Before measuring, each
# system must show its pods' traffic on the underlay (VXLAN between the node addresses, by the
# underlay bridge's counters) and TCP through the VIP, or the run fails.  The report gives the
# median of the rounds and its ratio to the kernel overlay, a table on stdout and JSON in
# BUILD_DIR/bench-overlay.json.  Targets (issue 17's): throughput >= 0.9x, latency <= 1.1x
# the kernel's.
#
# Environment: BENCH_ROUNDS (default 4), BENCH_SECONDS per measurement (default 3),
# BENCH_SYSTEMS (default "kernel vswitch ovs", ovs skipped where Open vSwitch is not
# installed; "vswitch-poll" adds the polling switch), BENCH_VSWITCHD_ARGS (more vswitchd flags
# for the vswitch systems), BENCH_JSON (default BUILD_DIR/bench-overlay.json).  The targets
# are checked for "vswitch" (vswitchd's defaults).  About 6 minutes by default (4 without ovs).
set -u

build=${1:?usage: $0 BUILD_DIR}
export VSW_BUILD=$build
export VSW_TEST_NAME=bench-overlay
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-4}
SECS=${BENCH_SECONDS:-3}
SYSTEMS=${BENCH_SYSTEMS:-kernel vswitch ovs}
JSON_OUT=${BENCH_JSON:-$VSW_BUILD/bench-overlay.json}
VIP=10.96.0.10
POD1=10.244.1.2          # client, node 1
POD2=10.244.2.2          # server, node 2
MTU=1450
VSW_ARGS_EXTRA=${BENCH_VSWITCHD_ARGS:-}

require_root
require ip jq iperf3 sockperf bridge
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || fail "BENCH_ROUNDS: '$ROUNDS' is not a positive number"
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || fail "BENCH_SECONDS: '$SECS' is not a positive number"

systems=()
for s in $SYSTEMS; do
    case $s in
        kernel) systems+=(kernel) ;;
        vswitch|vswitch-poll)
            if [ -x "$VSW_BUILD/vswitchd" ] && [ -x "$VSW_BUILD/vsctl" ]; then
                systems+=("$s")
            else
                log "$VSW_BUILD/vswitchd not built: skipping this switch"
            fi ;;
        ovs)
            if have_ovs; then
                systems+=(ovs)
            else
                log "Open vSwitch not installed (openvswitch-switch): skipping it"
            fi ;;
        floor-whole|floor-segments) systems+=("$s") ;;
        *) fail "unknown system $s (kernel, vswitch, vswitch-poll, ovs, floor-whole," \
                "floor-segments)" ;;
    esac
done
[ ${#systems[@]} -gt 0 ] || fail "nothing to measure"
has kernel "${systems[@]}" && require iptables-restore
has ovs "${systems[@]}" && require ovs-vsctl ovs-appctl ovs-ofctl ovsdb-tool ethtool

# --- the kernel's overlay (flannel's vxlan backend) ----------------------------------------

# k_node N: node namespace k-nodeN on the underlay (k-under) as UNDERLAY.N, with cni0, flannel.1
# and pod k-podN (10.244.N.2) on cni0.
k_node() {
    local i=$1 n p
    n=k-node$i p=k-pod$i
    add_ns $n
    underlay_attach $n "$i"
    ns_exec $n sysctl -qw net.ipv4.ip_forward=1 || fail "kernel: ip_forward in $n"
    ip -n "$(ns $n)" link add cni0 type bridge &&
    ip -n "$(ns $n)" addr add "10.244.$i.1/24" dev cni0 &&
    ip -n "$(ns $n)" link set cni0 up &&
    ip -n "$(ns $n)" link add flannel.1 type vxlan id 1 local "$VSW_UNDERLAY.$i" dev u0 \
        dstport 4789 nolearning &&
    ip -n "$(ns $n)" link set flannel.1 up &&
    ip -n "$(ns $n)" addr add "10.244.$i.0/32" dev flannel.1 || fail "kernel: cni0/flannel.1 in $n"
    add_ns $p
    add_veth $n "h-$p" $p eth0
    ip -n "$(ns $n)" link set "h-$p" mtu $MTU master cni0 || fail "kernel: pod port in $n"
    ip -n "$(ns $p)" link set eth0 mtu $MTU &&
    ip -n "$(ns $p)" addr add "10.244.$i.2/24" dev eth0 &&
    ip -n "$(ns $p)" route add default via "10.244.$i.1" || fail "kernel: pod $p"
}

# k_route FROM TO: what flanneld writes on node FROM for node TO.
k_route() {
    local a=$1 b=$2 mac
    mac=$(if_mac k-node$b flannel.1)
    ip -n "$(ns k-node$a)" route add "10.244.$b.0/24" via "10.244.$b.0" dev flannel.1 onlink &&
    ip -n "$(ns k-node$a)" neigh add "10.244.$b.0" lladdr "$mac" dev flannel.1 nud permanent &&
    bridge -n "$(ns k-node$a)" fdb append "$mac" dev flannel.1 dst "$VSW_UNDERLAY.$b" ||
        fail "kernel: routes of node$a to node$b"
}

# kube-proxy's iptables mode for the VIP's two ports, one backend each (pod 2), in node 1.
k_kube_proxy() {
    local port i=0
    {
        echo "*nat"
        echo ":KUBE-SERVICES - [0:0]"
        echo ":KUBE-MARK-MASQ - [0:0]"
        echo ":KUBE-POSTROUTING - [0:0]"
        for port in 5201 11111; do echo ":KUBE-SVC-$port - [0:0]"; echo ":KUBE-SEP-$port - [0:0]"; done
        echo "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        echo "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        echo "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"
        echo "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"
        echo "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
        echo "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0"
        echo "-A KUBE-POSTROUTING -j MASQUERADE --random-fully"
        for port in 5201 11111; do
            echo "-A KUBE-SERVICES -d $VIP/32 -p tcp -m tcp --dport $port -j KUBE-SVC-$port"
            echo "-A KUBE-SVC-$port ! -s 10.244.0.0/16 -d $VIP/32 -p tcp -m tcp --dport $port -j KUBE-MARK-MASQ"
            echo "-A KUBE-SVC-$port -j KUBE-SEP-$port"
            echo "-A KUBE-SEP-$port -s $POD2/32 -j KUBE-MARK-MASQ"
            echo "-A KUBE-SEP-$port -p tcp -m tcp -j DNAT --to-destination $POD2:$port"
            i=$((i + 1))
        done
        echo "COMMIT"
        echo "*filter"
        echo ":KUBE-FORWARD - [0:0]"
        echo "-A FORWARD -j KUBE-FORWARD"
        echo "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP"
        echo "-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT"
        echo "-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        echo "COMMIT"
    } | ns_exec k-node1 iptables-restore || fail "kernel: iptables-restore in k-node1"
}

setup_kernel() {
    VSW_UNDERLAY_NS="k-under"
    add_underlay
    k_node 1
    k_node 2
    k_route 1 2
    k_route 2 1
    k_kube_proxy
    CLIENT[kernel]=k-pod1 SERVER[kernel]=k-pod2 UNDER[kernel]=k-under NODE1[kernel]=k-node1
}

# --- this switch ------------------------------------------------------------------------------

# vswitch_overlay SYSTEM TAG [VSWITCHD ARGS...]: the overlay of this switch in namespaces
# TAG-under, TAG-node1, TAG-node2, TAG-pod1, TAG-pod2.
vswitch_overlay() {
    local sys=$1 t=$2 i; shift 2
    # shellcheck disable=SC2034  # read by the library's add_underlay and underlay_attach
    VSW_UNDERLAY_NS=$t-under
    add_underlay
    for i in 1 2; do
        add_overlay_node "$t-node$i" $i "$@"
    done
    peer_nodes "$t-node1" "$t-node2"
    add_pod "$t-node1" "$t-pod1" $POD1
    add_pod "$t-node2" "$t-pod2" $POD2
    for i in 1 2; do
        ip -n "$(ns "$t-pod$i")" link set eth0 mtu $MTU || fail "$sys: MTU of $t-pod$i"
        vsctl_on "$t-node$i" add-lb $VIP:5201/tcp $POD2:5201 >/dev/null &&
        vsctl_on "$t-node$i" add-lb $VIP:11111/tcp $POD2:11111 >/dev/null ||
            fail "$sys: add-lb on $t-node$i"
    done
    CLIENT[$sys]=$t-pod1 SERVER[$sys]=$t-pod2 UNDER[$sys]=$t-under NODE1[$sys]=$t-node1
}

setup_vswitch() {
    # shellcheck disable=SC2086
    vswitch_overlay vswitch v $VSW_ARGS_EXTRA
}

# The same with --busy-poll-us 200 (polling is off by default).
setup_vswitch_poll() {
    # shellcheck disable=SC2086
    vswitch_overlay vswitch-poll p --busy-poll-us 200 $VSW_ARGS_EXTRA
}

# --- Open vSwitch: the userspace datapath with its userspace VXLAN --------------------------

# o_gw_mac N: the MAC that br-int of node N answers for its pods' gateway 10.244.N.1 and
# writes as the source of what it routes to them.
o_gw_mac() { mac_of_ip "10.244.$1.1"; }

# o_flows N: the OpenFlow of br-int on node N, routing as a node of an overlay does.  Table 0
# answers the pod's ARP for its gateway (an ARP responder: no kernel port involved) and, on
# node 1, sends every IP packet through ct(table=1,zone=1,nat), which the VIP needs (table 1:
# ovs_services); node 2 goes straight to table 2.  Table 2 routes: to the local pod (gateway
# MAC -> pod MAC, output to its port), to the other node's pod CIDR over vxlan0 (inner
# destination MAC the other node's gateway MAC, as flannel's is the other flannel.1's), TTL
# decremented as a router does.  Anything else is dropped.
o_flows() {
    local i=$1 j=$((3 - $1)) gw=10.244.$1.1 gwmac
    gwmac=$(o_gw_mac "$i")
    # ARP request for the gateway -> reply from the gateway's MAC, out of the port it came in.
    echo "table=0,priority=200,arp,arp_op=1,arp_tpa=$gw,actions=" \
         "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:$gwmac->eth_src," \
         "set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]," \
         "move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:$gwmac->arp_sha," \
         "set_field:$gw->arp_spa,IN_PORT" | tr -d ' '
    if [ "$i" = 1 ]; then
        echo "table=0,priority=100,ip,actions=ct(table=1,zone=1,nat)"
        printf '%s' "$OVS_SVC_FLOWS"
        echo "table=1,priority=10,ip,actions=resubmit(,2)"
    else
        echo "table=0,priority=100,ip,actions=resubmit(,2)"
    fi
    echo "table=0,priority=0,actions=drop"
    echo "table=2,priority=100,ip,nw_dst=10.244.$i.2,actions=dec_ttl," \
         "set_field:$gwmac->eth_src,set_field:$(mac_of_ip "10.244.$i.2")->eth_dst," \
         "output:h-o-pod$i" | tr -d ' '
    echo "table=2,priority=100,ip,nw_dst=10.244.$j.0/24,actions=dec_ttl," \
         "set_field:$gwmac->eth_src,set_field:$(o_gw_mac "$j")->eth_dst,output:vxlan0" | tr -d ' '
    echo "table=2,priority=0,actions=drop"
}

# o_node N: node namespace o-nodeN on the underlay (o-under) with one Open vSwitch (files in
# VSW_TMPDIR/ovs-o-nodeN): br-phy holds the underlay port u0 and the node's underlay address,
# br-int the port of pod o-podN and vxlan0 to the other node, with o_flows.
o_node() {
    local i=$1 j=$((3 - $1)) n=o-node$1 p=o-pod$1 mac local_ip remote_ip groups=
    local_ip=$VSW_UNDERLAY.$i remote_ip=$VSW_UNDERLAY.$j
    add_ns "$n"
    underlay_attach "$n" "$i"
    # Userspace TSO off: with it, OVS 3.1 drops every packet that carries offload flags at a
    # tunnel port ("Tunneling packets with HW offload flags is not supported").
    ovs_start "$n" "$VSW_TMPDIR/ovs-$n" false
    # The underlay: u0 on br-phy, its address on br-phy's internal port, so that the kernel's
    # route to the underlay goes through br-phy, where OVS's route table (ovs/route) finds it.
    mac=$(if_mac "$n" u0)
    ovs_vsctl add-br br-phy -- set bridge br-phy datapath_type=netdev fail-mode=standalone \
            other_config:hwaddr="$mac" -- add-port br-phy u0 ||
        fail "ovs: br-phy in $n: $(ovs_log_tail)"
    ip -n "$(ns "$n")" addr flush dev u0 &&
    ip -n "$(ns "$n")" addr add "$local_ip/24" dev br-phy &&
    ip -n "$(ns "$n")" link set br-phy up || fail "ovs: the underlay address on br-phy in $n"
    add_ns "$p"
    add_veth "$n" "h-$p" "$p" eth0
    ip -n "$(ns "$n")" link set "h-$p" mtu $MTU || fail "ovs: MTU of h-$p"
    _vsw_pod_addr "$p" eth0 "10.244.$i.2" 24 "$(mac_of_ip "10.244.$i.2")" "10.244.$i.1"
    ip -n "$(ns "$p")" link set eth0 mtu $MTU || fail "ovs: MTU of $p"
    # Without userspace TSO, OVS reads the veth without its virtio-net header and would pass
    # the pod's partial checksums on as they are: the pod computes its own (which also turns
    # off its TSO), as the userspace datapath wants of a kernel interface.
    ns_exec "$p" ethtool -K eth0 tx off >/dev/null || fail "ovs: tx checksum offload of $p"
    ovs_vsctl add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure \
        -- add-port br-int "h-$p" \
        -- add-port br-int vxlan0 -- set interface vxlan0 type=vxlan options:key=1 \
            options:remote_ip="$remote_ip" options:local_ip="$local_ip" options:dst_port=4789 ||
        fail "ovs: br-int in $n: $(ovs_log_tail)"
    wait_until 10 o_routed "$remote_ip" ||
        fail "ovs: no route to $remote_ip through br-phy in $n: $(ovs_appctl ovs/route/show)"
    if [ "$i" = 1 ]; then
        ovs_services "$VIP 5201 $POD2:5201" "$VIP 11111 $POD2:11111"
        groups=$OVS_GROUPS
    fi
    ovs_openflow br-int "$(o_flows "$i")" "$groups"
}

# o_routed IP: OVS's route table sends IP through br-phy.
o_routed() { ovs_appctl ovs/route/lookup "$1" | grep -q 'dev br-phy'; }

# setup_ovs: the ovs system, namespaces o-under, o-node1, o-node2, o-pod1, o-pod2.
setup_ovs() {
    VSW_UNDERLAY_NS=o-under
    add_underlay
    o_node 1
    o_node 2
    CLIENT[ovs]=o-pod1 SERVER[ovs]=o-pod2 UNDER[ovs]=o-under NODE1[ovs]=o-node1
}

# --- the floor of a user-space relay ----------------------------------------------------------

# floor_overlay SYS TAG MODE: relay-floor MODE (--whole, --segments) in TAG-node1/2 between
# pods TAG-pod1/2 and the underlay TAG-under.
floor_overlay() {
    local sys=$1 t=$2 mode=$3 i p mac relay=$VSW_TMPDIR/relay-floor
    [ -x "$relay" ] || cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$relay" \
        "$(dirname "$0")/relay-floor.c" || fail "$sys: cannot build relay-floor"
    # shellcheck disable=SC2034  # read by the library's add_underlay and underlay_attach
    VSW_UNDERLAY_NS=$t-under
    add_underlay
    for i in 1 2; do
        p=$t-pod$i
        add_ns "$t-node$i"
        underlay_attach "$t-node$i" $i
        add_ns "$p"
        add_veth "$t-node$i" "h-$p" "$p" eth0
        ip -n "$(ns "$t-node$i")" link set "h-$p" mtu $MTU &&
        ip -n "$(ns "$p")" link set eth0 mtu $MTU address "$(mac_of_ip "10.244.$i.2")" &&
        ip -n "$(ns "$p")" addr add "10.244.$i.2/24" dev eth0 &&
        ip -n "$(ns "$p")" route add default via "10.244.$i.1" || fail "$sys: pod $p"
    done
    for i in 1 2; do
        # The relay hands frames over untouched: the gateway's MAC is the other pod's.
        mac=$(mac_of_ip "10.244.$((3 - i)).2")
        ip -n "$(ns "$t-pod$i")" neigh add "10.244.$i.1" lladdr "$mac" dev eth0 nud permanent ||
            fail "$sys: ARP entry in $t-pod$i"
        bg_start "$t-node$i" "$VSW_TMPDIR/$t-relay$i.log" "$relay" "$mode" "h-$t-pod$i" \
            "$VSW_UNDERLAY.$i" "$VSW_UNDERLAY.$((3 - i))"
    done
    CLIENT[$sys]=$t-pod1 SERVER[$sys]=$t-pod2 UNDER[$sys]=$t-under NODE1[$sys]=$t-node1
    NO_VIP[$sys]=1
}

setup_floor_whole() { floor_overlay floor-whole fw --whole; }
setup_floor_segments() { floor_overlay floor-segments fs --segments; }

# --- measurements -----------------------------------------------------------------------------

declare -A CLIENT SERVER UNDER NODE1 NO_VIP

servers() { # SYS: iperf3 and sockperf in the server pod; the client reaches it and the VIP.
    local s=${SERVER[$1]} c=${CLIENT[$1]}
    bg_start "$s" "$VSW_TMPDIR/iperf3-$1.log" iperf3 -s -p 5201
    bg_start "$s" "$VSW_TMPDIR/sockperf-$1.log" sockperf sr --tcp -i $POD2 -p 11111
    wait_until 5 _vsw_listening "$s" 5201 || fail "$1: iperf3 server did not start"
    wait_until 5 _vsw_listening "$s" 11111 || fail "$1: sockperf server did not start"
    ns_exec "$c" ping -c 1 -w 5 $POD2 >/dev/null || fail "$1: pod 1 cannot reach pod 2 across nodes"
    # The pods' packets cross the underlay as VXLAN: 20 pings, 40 datagrams of 148 bytes on
    # node 1's underlay port (ICMP 98 bytes + 50 of VXLAN) in the 100..200-byte range.
    local port=u-${NODE1[$1]} a b
    a=$(ns_exec "${UNDER[$1]}" cat "/sys/class/net/$port/statistics/rx_packets")
    ns_exec "$c" ping -q -c 20 -i 0.01 $POD2 >/dev/null || fail "$1: pings across nodes lost"
    b=$(ns_exec "${UNDER[$1]}" cat "/sys/class/net/$port/statistics/rx_packets")
    [ $((b - a)) -ge 20 ] || fail "$1: the pings did not cross the underlay ($((b - a)) packets)"
    [ -n "${NO_VIP[$1]:-}" ] && return
    ns_exec "$c" timeout 10 iperf3 -c $VIP -p 5201 -t 1 >/dev/null ||
        fail "$1: no TCP through the VIP $VIP:5201"
}

# measure SYS PATH TEST: one measurement of TEST (tcp1, tcp4, rr) on PATH (pod, vip).
measure() {
    local sys=$1 path=$2 test=$3 dst=$POD2 c=${CLIENT[$1]} p50 p99
    [ "$path" = vip ] && [ -n "${NO_VIP[$sys]:-}" ] && return
    [ "$path" = vip ] && dst=$VIP
    case $test in
        tcp1) record "$sys" "$path/tcp_1_gbps" "$(iperf_gbps "$c" $dst 5201 1)"
              log "$sys $path: tcp1 $(last "$sys" "$path/tcp_1_gbps") Gbit/s" ;;
        tcp4) record "$sys" "$path/tcp_4_gbps" "$(iperf_gbps "$c" $dst 5201 4)"
              log "$sys $path: tcp4 $(last "$sys" "$path/tcp_4_gbps") Gbit/s" ;;
        rr)   read -r p50 p99 < <(sockperf_pp "$c" $dst 11111)
              record "$sys" "$path/rr_p50_us" "$p50"
              record "$sys" "$path/rr_p99_us" "$p99"
              log "$sys $path: rr p50 $p50 us, p99 $p99 us" ;;
    esac
}

# --- the run ----------------------------------------------------------------------------------

log "systems: ${systems[*]}; $ROUNDS rounds x ${SECS}s; $(nproc) cores"
start=$SECONDS
for s in "${systems[@]}"; do
    "setup_${s//-/_}"
    servers "$s"
done

metrics=(pod/tcp_1_gbps pod/tcp_4_gbps pod/rr_p50_us pod/rr_p99_us
         vip/tcp_1_gbps vip/tcp_4_gbps vip/rr_p50_us vip/rr_p99_us)
declare -A LABEL=([tcp_1_gbps]="TCP 1 stream (Gbit/s)" [tcp_4_gbps]="TCP 4 streams (Gbit/s)"
                  [rr_p50_us]="TCP RR p50 (us)" [rr_p99_us]="TCP RR p99 (us)")
declare -A SHORT=([kernel]=k [vswitch]=v [vswitch-poll]=p [ovs]=o [floor-whole]=fw
                  [floor-segments]=fs)
declare -A BETTER=([tcp_1_gbps]=higher [tcp_4_gbps]=higher [rr_p50_us]=lower [rr_p99_us]=lower)
n=${#systems[@]}
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r/$ROUNDS"
    for path in pod vip; do
        for test in tcp1 tcp4 rr; do
            for ((k = 0; k < n; k++)); do
                measure "${systems[(k + r - 1) % n]}" $path $test
            done
        done
    done
done
elapsed=$((SECONDS - start))

# --- the report -------------------------------------------------------------------------------

declare -A MED
for k in "${!R[@]}"; do
    # shellcheck disable=SC2086
    MED[$k]=$(median ${R[$k]})
done
ratio() { # SYS METRIC: median of SYS / median of kernel ("n/a" without the kernel)
    awk -v a="${MED[$1,$2]:-0}" -v b="${MED[kernel,$2]:-0}" 'BEGIN {
        if (b > 0) printf "%.2f", a / b; else printf "n/a" }'
}
{
    printf '\noverlay: pod on node 1 -> pod on node 2 over VXLAN, %s rounds x %ss, median of rounds\n' \
        "$ROUNDS" "$SECS"
    printf '%-30s' metric
    for s in "${systems[@]}"; do printf '%22s' "$s"; done
    printf '%22s\n' "spread (min .. max)"
    for m in "${metrics[@]}"; do
        path=${m%%/*} base=${m#*/}
        printf '%-30s' "$path: ${LABEL[$base]}"
        for s in "${systems[@]}"; do
            if [ -z "${R[$s,$m]:-}" ]; then
                printf '%22s' "n/a"
            elif [ "$s" = kernel ] || ! has kernel "${systems[@]}"; then
                printf '%22s' "$(printf '%.2f' "${MED[$s,$m]}")"
            else
                printf '%22s' "$(printf '%.2f (%sx)' "${MED[$s,$m]}" "$(ratio "$s" "$m")")"
            fi
        done
        printf '   '
        for s in "${systems[@]}"; do
            [ -n "${R[$s,$m]:-}" ] || continue
            # shellcheck disable=SC2086
            printf ' %s %s' "${SHORT[$s]}" "$(printf '%s\n' ${R[$s,$m]} | sort -g |
                awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.1f..%.1f", lo, hi}')"
        done
        printf '\n'
    done
    printf '(kernel: two Linux bridges joined by VXLAN devices, flannel'"'"'s design, the VIP by kube-proxy'"'"'s\n'
    printf ' iptables DNAT in the client'"'"'s node; vswitch: DSR across nodes; ratios are to the kernel'
    if has floor-whole "${systems[@]}" || has floor-segments "${systems[@]}"; then
        printf ';\n floor-*: no switch, tests/bench/relay-floor.c between veth and UDP, the least a\n'
        printf ' user-space overlay pays: -whole not VXLAN, -segments one frame per datagram'
    fi
    if has ovs "${systems[@]}"; then
        printf ';\n ovs: Open vSwitch %s userspace datapath, userspace VXLAN (br-int + br-phy), the VIP by\n' \
            "$(ovs-vswitchd --version | awk 'NR == 1 {print $NF}')"
        printf ' ct(nat) and a select group in the client'"'"'s node; no userspace TSO, pods without tx\n'
        printf ' checksum offload, which its tunnels need)\n'
    else
        printf ')\n'
    fi
} | tee "$VSW_TMPDIR/table.txt"

targets=()
if has kernel "${systems[@]}" && has vswitch "${systems[@]}"; then
    for m in "${metrics[@]}"; do
        r=$(ratio vswitch "$m")
        case $m in
            */tcp_*) t=">= 0.9x"; met=$(awk -v a="$r" 'BEGIN {print (a != "n/a" && a + 0 >= 0.9) ? "true" : "false"}') ;;
            */rr_p50_us) t="<= 1.1x"; met=$(awk -v a="$r" 'BEGIN {print (a != "n/a" && a + 0 <= 1.1) ? "true" : "false"}') ;;
            *) continue ;;
        esac
        targets+=("$(jq -n --arg t "$m $t kernel" --arg v "$r" --argjson m "$met" \
            '{target: $t, value: ($v | tonumber? // null), met: $m}')")
    done
    printf '\ntargets:\n'
    for tj in "${targets[@]}"; do
        echo "$tj" | jq -r '"  \(if .met then "met   " else "MISSED" end)  \(.target): \(.value)x"'
    done
fi

# JSON: per system, path and metric, the rounds, the median and the ratio to the kernel.
{
    for s in "${systems[@]}"; do
        for m in "${metrics[@]}"; do
            path=${m%%/*} base=${m#*/}
            [ -n "${R[$s,$m]:-}" ] || continue
            # shellcheck disable=SC2086
            jq -n --arg s "$s" --arg p "$path" --arg m "$base" \
                --argjson rounds "[$(echo ${R[$s,$m]} | tr ' ' ',')]" \
                --argjson med "${MED[$s,$m]}" --arg r "$(ratio "$s" "$m")" --arg b "${BETTER[$base]}" \
                '{($s): {($p): {($m): {rounds: $rounds, median: $med,
                  ratio_to_kernel: ($r | tonumber? // null), better: $b}}}}'
        done
    done | jq -s 'reduce .[] as $x ({}; . * $x)' >"$VSW_TMPDIR/systems.json"
    jq -n --argjson rounds "$ROUNDS" --argjson secs "$SECS" --argjson cores "$(nproc)" \
        --argjson elapsed "$elapsed" --slurpfile sys "$VSW_TMPDIR/systems.json" \
        --argjson targets "[$(IFS=,; echo "${targets[*]:-}")]" --argjson mtu $MTU \
        '{benchmark: "overlay", rounds: $rounds, seconds: $secs, cores: $cores,
          elapsed_s: $elapsed, pod_mtu: $mtu, reference: "kernel",
          paths: {pod: "pod -> pod across nodes", vip: "pod -> VIP -> pod across nodes"},
          systems: $sys[0], targets: $targets}'
} >"$JSON_OUT" || fail "could not write $JSON_OUT"
log "wrote $JSON_OUT (${elapsed}s)"
