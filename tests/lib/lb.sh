# shellcheck shell=bash
# tests/lib/lb.sh — helpers for the load-balancer system tests (tests/system/test-lb-*.sh),
# sourced after netns.sh.  The servers are tests/lib/svc.py run under Debian's python3: each
# answers with its own name and the peer address it saw.

VSW_SVC="$VSW_LIB_DIR/svc.py"

# svc_start POD KIND PORT NAME: starts `svc.py KIND PORT NAME` (http-server, stream-server,
# udp-server) in POD and waits until it listens.  Stopped on exit.
svc_start() {
    local pod=$1 kind=$2 port=$3 name=$4 logf
    logf=$VSW_TMPDIR/$kind-$pod-$port.log
    bg_start "$pod" "$logf" "$VSW_PY" "$VSW_SVC" "$kind" "$port" "$name"
    wait_until 5 grep -q listening "$logf" || fail "$kind on $pod:$port did not start: $(cat "$logf")"
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
