#!/usr/bin/env bash
# Pod <-> pod and node <-> pod ICMP through the switch: pods on a /24 behind the gateway,
# the node through the host port vsw0; full-MTU frames and fragmented datagrams too.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pods node 2
add_pod node pod3 10.244.1.4 --no-mac     # add-port without --mac: the switch learns it

ping_ok pod1 10.244.1.3
ping_ok pod2 10.244.1.2
ping_ok pod1 10.244.1.1           # the gateway: the host port vsw0
ping_ok node 10.244.1.2
ping_ok node 10.244.1.3
ping_ok pod3 10.244.1.2
ping_ok pod1 10.244.1.4
ping_ok node 10.244.1.4

# A frame of exactly the MTU (1472 bytes of ICMP payload, DF set) and a datagram the sender
# fragments (8000 bytes): non-first fragments carry no ICMP header and must still pass.
assert_ok "full-MTU ping pod1 -> pod2" ns_exec pod1 ping -n -q -c 3 -i 0.2 -W 2 -M "do" -s 1472 10.244.1.3
assert_ok "fragmented ping pod1 -> pod2" ns_exec pod1 ping -n -q -c 3 -i 0.2 -W 2 -s 8000 10.244.1.3
assert_ok "fragmented ping node -> pod1" ns_exec node ping -n -q -c 3 -i 0.2 -W 2 -s 8000 10.244.1.2

# The pod ports are listed, with the MAC given or learned.
names=$(port_names node | tr '\n' ' ')
assert_eq "ports in vsctl show" "h-pod1 h-pod2 h-pod3 " "$names"
assert_match "pod3's MAC learned" "^h-pod3	10\.244\.1\.4	$(mac_of_ip 10.244.1.4)	" "$(port_table node)"
