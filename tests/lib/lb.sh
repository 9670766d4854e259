# shellcheck shell=bash
# tests/lib/lb.sh — services (part of tests/lib/lib.sh): backend pods and their servers,
# policies as vsctl shows them.  The servers are tests/lib/svc.py run under Debian's python3:
# each answers with its own name and the peer address it saw.

VSW_SVC="$VSW_LIB_DIR/svc.py"

# svc_start POD KIND PORT NAME: starts `svc.py KIND PORT NAME` (http-server, stream-server,
# udp-server) in POD and waits until it listens.  Stopped on exit.
svc_start() {
    local pod=$1 kind=$2 port=$3 name=$4 logf
    logf=$VSW_TMPDIR/$kind-$pod-$port.log
    bg_start "$pod" "$logf" "$VSW_PY" "$VSW_SVC" "$kind" "$port" "$name"
    wait_until 5 grep -q listening "$logf" || fail "$kind on $pod:$port did not start: $(cat "$logf")"
}

# add_backends NODE N SERVER...: backend pods be1 .. beN (N <= 9) at the addresses .11 ..
# .1N of NODE's pod CIDR, each running every SERVER, given as KIND:PORT[:SUFFIX]: a svc.py
# server (http-server, stream-server, udp-server) answering with the pod's name (and
# -SUFFIX), "iperf:PORT" an iperf3 server, "udp-echo:PORT" a UDP echo server.
add_backends() {
    local n=$1 count=$2 net=${VSW_CIDR[$1]%.*} i srv kind port suffix; shift 2
    for ((i = 1; i <= count; i++)); do
        add_pod "$n" "be$i" "$net.1$i"
        for srv in "$@"; do
            IFS=: read -r kind port suffix <<<"$srv"
            case $kind in
                iperf) iperf_server "be$i" "$port" ;;
                udp-echo) udp_echo_server "be$i" "$port" ;;
                *) svc_start "be$i" "$kind" "$port" "be$i${suffix:+-$suffix}" ;;
            esac
        done
    done
}

# add_lb_node N SERVER...: the load-balancing tests' node: "node" with pod CIDR 10.244.1.0/24,
# a client pod "client" (10.244.1.20) and N backends running SERVER... (add_backends).
add_lb_node() {
    add_node node 10.244.1.0/24
    add_pod node client 10.244.1.20
    add_backends node "$@"
}

# curl_many POD URL N: N sequential HTTP GETs from POD (a new connection each), one answer
# line per success ("NAME PEER_IP PEER_PORT"), "FAILED rc" per failure.
curl_many() {
    local pod=$1 url=$2 n=$3
    # shellcheck disable=SC2016
    ns_exec "$pod" bash -c 'for ((i = 0; i < $2; i++)); do
        curl -s --max-time 3 "$1" || echo "FAILED $?"; done' _ "$url" "$n"
}

# ip_in_receives NODE: the Ip InReceives counter of NODE's namespace (/proc/net/snmp).
ip_in_receives() {
    # shellcheck disable=SC2016
    ns_exec "$1" awk '$1 == "Ip:" && !h {for (i = 1; i <= NF; i++) col[$i] = i; h = 1; next}
                      $1 == "Ip:" {print $col["InReceives"]}' /proc/net/snmp
}

# policy_block NODE NAME: the dump-policies block of policy NAME.
policy_block() {
    vsctl_on "$1" dump-policies |
        awk -v n="$2" '/^Friendly name : / {on = ($4 == n)} on && NF {print}'
}

# policy_stat NODE SERVICE FIELD: a policy's counter (packets, bytes, connections, rejected,
# active_flow_pairs) from `vsctl --json dump-policies`.
policy_stat() {
    vsctl_on "$1" --json dump-policies |
        jq -r --arg s "$2" --arg f "$3" '.policies[] | select(.service == $s) | .stats[$f]'
}

# flow_pairs NODE [REGEX]: the flow-pair lines of dump-flows (matching REGEX).
flow_pairs() {
    vsctl_on "$1" dump-flows | grep '^flow-pair ' | grep -E -- "${2:-.}"
}

# policies_sans_counters NODE: dump-policies without the Hits lines, for comparing policies
# across a restart.
policies_sans_counters() {
    vsctl_on "$1" dump-policies | grep -v '^Hits:'
}

# assert_replies_skip_node1 ADDR PORT: DSR from outside.  10 TCP connections from "outside" to
# ADDR:PORT (which must reach be2, on node2) are each answered by be2 seeing the outside
# client's address; a capture on both nodes' underlays shows node 2 sending every reply from
# ADDR:PORT and node 1, which balanced, none.
assert_replies_skip_node1() {
    local addr=$1 port=$2 out=${VSW_NODE_IP[outside]} i n1 n2 dump1 dump2 answers
    for i in 1 2; do
        bg_start node$i "$VSW_TMPDIR/u0-node$i.log" tcpdump -i u0 -nn -l \
            "tcp and src host $addr and src port $port"
        [ "$i" = 1 ] && dump1=$BG_PID || dump2=$BG_PID
        wait_until 5 grep -q "listening on" "$VSW_TMPDIR/u0-node$i.log" || fail "tcpdump on node$i"
    done
    answers=$(for _ in $(seq 10); do ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$addr" "$port" tcp; done)
    assert_eq "10 connections to $addr:$port answered by be2, seeing $out" 10 \
        "$(grep -Ec "^be2 ${out//./\\.} " <<<"$answers")"
    sleep 0.5
    kill "$dump1" "$dump2"; wait "$dump1" "$dump2" 2>/dev/null
    n1=$(grep -c "IP ${addr//./\\.}\.$port > ${out//./\\.}\." "$VSW_TMPDIR/u0-node1.log")
    n2=$(grep -c "IP ${addr//./\\.}\.$port > ${out//./\\.}\." "$VSW_TMPDIR/u0-node2.log")
    assert_eq "node 1's underlay carried no reply from $addr:$port" 0 "$n1"
    assert_ge "node 2's underlay carried the replies from $addr:$port ($n2)" "$n2" 20
}

# assert_node1_traffic_untouched: a server on node1's own address (port 2222, as ssh would
# be) answers the outside client itself, and node1's switch sees none of it: traffic to the
# node that is not for a Service is never steered.
assert_node1_traffic_untouched() {
    local n1=${VSW_NODE_IP[node1]} out=${VSW_NODE_IP[outside]} pk0 pk1
    bg_start node1 "$VSW_TMPDIR/ssh-like.log" "$VSW_PY" "$VSW_SVC" whoami-server 2222 node1 "$n1"
    wait_until 5 grep -q listening "$VSW_TMPDIR/ssh-like.log" || fail "node1's server did not start"
    pk0=$(vsctl_on node1 --json show | jq '.ports[] | select(.name == "vsw0") | .stats.rx_packets')
    assert_eq "an ssh-like connection to node 1 is answered by node 1 itself" \
        "node1 $out $n1" "$(ns_exec outside "$VSW_PY" "$VSW_SVC" whoami "$n1" 2222 tcp)"
    pk1=$(vsctl_on node1 --json show | jq '.ports[] | select(.name == "vsw0") | .stats.rx_packets')
    assert_eq "and the switch saw none of it (vsw0 rx unchanged)" "$pk0" "$pk1"
}
