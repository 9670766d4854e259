#!/usr/bin/env bash
# del-port: traffic to the port stops, the port leaves `vsctl show`, the other pods are not
# affected, and adding it back restores traffic.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pods node 3
ping_ok pod1 10.244.1.3
ping_ok pod3 10.244.1.3

assert_ok "del-port h-pod2" vsctl_on node del-port h-pod2
assert_no_match "h-pod2 gone from show" '^h-pod2$' "$(port_names node)"
assert_match "h-pod1 still in show" '^h-pod1$' "$(port_names node)"
ping_fails pod1 10.244.1.3
ping_fails pod2 10.244.1.1
ping_fails node 10.244.1.3
ping_ok pod1 10.244.1.4

# Deleting it twice is an error for an unknown port.
out=$(vsctl_on node del-port h-pod2 2>&1); rc=$?
assert_eq "del-port of a deleted port exits 1 ($out)" 1 "$rc"

assert_ok "add-port h-pod2 again" vsctl_on node add-port h-pod2 --ip 10.244.1.3 --mac "$(mac_of_ip 10.244.1.3)"
ping_ok pod1 10.244.1.3
ping_ok node 10.244.1.3
