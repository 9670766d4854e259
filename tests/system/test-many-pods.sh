#!/usr/bin/env bash
# Many pods on one switch: 24 pods, each reaching its neighbour, the gateway and the node;
# then half of them deleted and the rest still reachable.
. "$(dirname "$0")/../lib/lib.sh"
preflight

N=24
add_node node 10.244.1.0/24
for ((i = 1; i <= N; i++)); do
    add_pod node "p$i" "10.244.1.$((i + 10))"
done
assert_eq "all pod ports listed" $N "$(port_names node | wc -l)"

pids=()
for ((i = 1; i <= N; i++)); do
    j=$(( i % N + 1 ))
    ns_exec "p$i" ping -n -q -c 3 -i 0.2 -w 10 "10.244.1.$((j + 10))" >"$VSW_TMPDIR/p$i.ping" 2>&1 &
    pids+=($!)
done
for ((i = 1; i <= N; i++)); do
    wait "${pids[i - 1]}" || fail "p$i cannot reach its neighbour: $(tail -2 "$VSW_TMPDIR/p$i.ping")"
done
log "ok: every pod reaches its neighbour"
ping_ok "p$N" 10.244.1.1
ping_ok node 10.244.1.11

for ((i = 1; i <= N; i += 2)); do
    vsctl_on node del-port "h-p$i" || fail "del-port h-p$i failed"
done
assert_eq "half the ports left" $((N / 2)) "$(port_names node | wc -l)"
ping_ok p2 10.244.1.14
ping_fails p2 10.244.1.11
ping_ok node "10.244.1.$((N + 10))"
