#!/usr/bin/env bash
# The flow cache as vsctl shows it: after traffic, dump-flows has one line per cached flow
# with in_port=, nw_src=, nw_dst=, the actions and packets=/bytes=; flush-flows empties it and
# traffic re-installs what it needs.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pods node 2
ping_ok pod1 10.244.1.3
iperf_server pod2 5201
ns_exec pod1 timeout 20 iperf3 -c 10.244.1.3 -p 5201 -n 20M >/dev/null || fail "iperf3 failed"

flows=$(vsctl_on node dump-flows) || fail "dump-flows failed"
log "dump-flows:"; echo "$flows" | head -20 | sed 's/^/    /'
assert_match "a flow from pod1 to pod2" 'nw_src=10\.244\.1\.2.*nw_dst=10\.244\.1\.3|nw_dst=10\.244\.1\.3.*nw_src=10\.244\.1\.2' "$flows"
assert_match "flows carry in_port=" 'in_port=' "$flows"
assert_match "flows carry packets= and bytes=" 'packets=[0-9]+.*bytes=[0-9]+' "$flows"
assert_match "a TCP flow to port 5201" '5201' "$flows"
busy=$(echo "$flows" | grep -Eo 'packets=[0-9]+' | grep -Eo '[0-9]+' | sort -n | tail -1)
assert_ge "the busiest flow counted the iperf3 packets" "${busy:-0}" 100

assert_ok "flush-flows" vsctl_on node flush-flows
flows=$(vsctl_on node dump-flows) || fail "dump-flows failed"
assert_no_match "no flow for pod1 -> pod2 after flush" 'nw_src=10\.244\.1\.2.*nw_dst=10\.244\.1\.3' "$flows"
ping_ok pod1 10.244.1.3
flows=$(vsctl_on node dump-flows)
assert_match "traffic installs the flow again" 'nw_src=10\.244\.1\.2' "$flows"
