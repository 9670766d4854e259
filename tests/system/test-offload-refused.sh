#!/usr/bin/env bash
# Where the kernel refuses the fast path, vswitchd says why once and forwards in user space:
# started without CAP_BPF and CAP_SYS_ADMIN (so bpf() fails), it comes up, logs one warning,
# `show` reports offload none, and pods talk, TCP included, with every flow dp=user.  With
# --offload none it loads nothing and says nothing about it.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require jq

without_bpf

add_node node 10.244.1.0/24 --offload tc
add_pods node 2
ping_ok pod1 10.244.1.3
tcp_xfer pod1 pod2 10.244.1.3 $((4 * 1024 * 1024))
assert_eq "offload mode without CAP_BPF" none "$(vsctl_on node --json show | jq -r .offload.mode)"
n=$(grep -c "kernel fast path unavailable" "${VSW_LOG[node]}")
assert_eq "warnings about the refused fast path" 1 "$n"
log "$(grep "kernel fast path unavailable" "${VSW_LOG[node]}")"
assert_eq "flows not dp=user" 0 \
    "$(vsctl_on node --json dump-flows | jq '[.flows[] | select(.dp != "user")] | length')"

with_bpf
add_node node2 10.244.2.0/24 --offload none
assert_eq "offload mode with --offload none" none "$(vsctl_on node2 --json show | jq -r .offload.mode)"
assert_eq "fast path messages with --offload none" 0 "$(grep -c "fast path" "${VSW_LOG[node2]}")"
add_pod node2 p3 10.244.2.3      # a port added: any program left on it is removed, silently
assert_eq "libbpf messages with --offload none" 0 "$(grep -c libbpf "${VSW_LOG[node2]}")"
