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
