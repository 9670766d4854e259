#!/usr/bin/env bash
# A port's interface deleted under the switch (a pod deleted without CNI DEL): a veth pod whose
# namespace is deleted, and a TAP pod whose interface is deleted, while another pod pings each
# of them 100 times a second.  For each:
#   - the port is marked down in `vsctl --json show` and in the metrics (vswitch_port_up 0);
#   - the packets for it are counted (port_down), nothing crashes, the other pods still talk;
#   - no busy loop: vswitchd's CPU time (/proc/PID/stat) over 3 s stays under 20% of a core
#     with the flood running, under 5% without it (figures logged);
#   - del-port removes it cleanly (exit 0, gone from show, not back after a restart), and a
#     new pod with the same name and address can be attached again.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

add_node node 10.244.1.0/24
add_pods node 2
add_tap_pod node pod3 10.244.1.4
add_pod node pod4 10.244.1.5
ping_ok pod1 10.244.1.3
ping_ok pod1 10.244.1.4

port_up() {
    vsctl_on node --json show | jq -r --arg p "$1" '.ports[] | select(.name == $p) | .up'
}
metric() {
    ns_exec node curl -s 127.0.0.1:9479/metrics | awk -v k="$1" '$1 == k {print $2}'
}
# cpu_pct SECONDS: vswitchd's CPU use over SECONDS, in percent of one core.
cpu_pct() {
    local pid=${VSW_PID[node]} hz t0 t1
    hz=$(getconf CLK_TCK)
    t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    sleep "$1"
    t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    echo $(( (t1 - t0) * 100 / (hz * $1) ))
}

idle=$(cpu_pct 3)
log "FIGURE vswitchd CPU idle: ${idle}%"

# gone POD PORT HOW: removes POD's interface with HOW while pod1 pings it; checks the above.
gone() {
    local pod=$1 port=$2 how=$3 ip down0 flood quiet pid
    ip=$(vsctl_on node --json show | jq -r --arg p "$port" '.ports[] | select(.name == $p) | .ip')
    down0=$(drop_count node port_down)
    ns_exec pod1 ping -q -i 0.01 -w 12 "$ip" >/dev/null 2>&1 &
    pid=$!
    on_exit "kill $pid 2>/dev/null"
    sleep 1
    eval "$how" || fail "$port: '$how' failed"
    log "$port: interface removed ($how)"
    wait_until 5 test "$(port_up "$port")" = false || fail "$port not marked down in show"
    log "ok: $port marked down in show"
    assert_eq "$port: vswitch_port_up 0 in the metrics" 0 \
        "$(metric "vswitch_port_up{port=\"$port\",type=\"$(vsctl_on node --json show |
            jq -r --arg p "$port" '.ports[] | select(.name == $p) | .type')\"}")"
    flood=$(cpu_pct 3)
    assert_ge "$port: packets for it counted as port_down" \
        "$(( $(drop_count node port_down) - down0 ))" 100
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
    quiet=$(cpu_pct 3)
    log "FIGURE $port gone: vswitchd CPU ${flood}% with 100 pings/s to it, ${quiet}% without"
    [ "$flood" -lt 20 ] || fail "$port: vswitchd uses ${flood}% CPU with the port gone"
    [ "$quiet" -lt 5 ] || fail "$port: vswitchd uses ${quiet}% CPU idle with the port gone"
    assert_ok "vswitchd alive after $port went" vswitchd_alive node
    ping_ok pod1 10.244.1.5
    assert_ok "del-port $port" vsctl_on node del-port "$port"
    assert_eq "$port gone from show" "" "$(port_names node | grep -x "$port")"
}

gone pod2 h-pod2 "ip netns del $(ns pod2)"
gone pod3 tp-pod3 "ip -n $(ns pod3) link del eth0"

kill9_vswitchd node
restart_vswitchd node
assert_eq "after a restart: only the ports left" "h-pod1 h-pod4" "$(port_names node | tr '\n' ' ' |
    sed 's/ $//')"

# The same pod again, attached as before.
add_pod node pod2 10.244.1.3
ping_ok pod1 10.244.1.3
ping_ok pod4 10.244.1.3
