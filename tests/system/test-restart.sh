#!/usr/bin/env bash
# kill -9 of vswitchd and a restart with the same --db: every port is attached again (the
# same port list in `vsctl --json show`), the host port still holds the gateway, and traffic
# flows, TCP included.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pods node 2
add_pod node pod3 10.244.1.4 --slash32
ping_ok pod1 10.244.1.3
ping_ok pod3 10.244.1.2

before=$(port_table node)
[ "$(echo "$before" | wc -l)" -eq 3 ] || fail "expected 3 ports before the restart, got: $before"
log "ports before: $(echo "$before" | tr '\t\n' ' ;')"

kill9_vswitchd node
assert_fail "control socket dead after kill -9" vsctl_on node show
restart_vswitchd node
after=$(port_table node)
assert_eq "ports after kill -9 and restart" "$before" "$after"

ping_ok pod1 10.244.1.3
ping_ok pod2 10.244.1.4
ping_ok pod3 10.244.1.2
ping_ok node 10.244.1.2
ping_ok pod1 10.244.1.1

tcp_xfer pod1 pod2 10.244.1.3 $((64 * 1024 * 1024))

# A second crash, this time with a port added after the first restart, and one deleted.
assert_ok "del-port h-pod3" vsctl_on node del-port h-pod3
add_pod node pod4 10.244.1.5
before=$(port_table node)
kill9_vswitchd node
restart_vswitchd node
assert_eq "ports after the second kill -9" "$before" "$(port_table node)"
ping_ok pod4 10.244.1.2
ping_fails pod3 10.244.1.2
