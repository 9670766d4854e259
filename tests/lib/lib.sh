# shellcheck shell=bash
# tests/lib/lib.sh — the one shell library of the system tests, the demo and the benchmarks:
# every script sources this file, and this file sources the library's parts, one subject each:
#
#   netns.sh  the base: scratch directory, cleanup stack, logging and assertions, namespaces,
#             veths, vswitchd and vsctl, pods, the overlay's underlay and nodes, traffic
#             (ping, iperf3, TCP transfers), drop counters, sanitizer reports
#   lb.sh     services: the backend pods and their servers (tests/lib/svc.py), policies
#   k8s.sh    the test API server (tests/k8s/apiserver.py) and vswitch-proxy
#   cni.sh    the CNI plugin: cnitool, direct calls, host-local leases
#
# It plays the part of Open vSwitch's system-common-macros.at and the kernel's selftests/net
# lib.sh; netns.sh's header says the rules every test follows.
[ -n "${VSW_LIB_LOADED:-}" ] && return 0
VSW_LIB_LOADED=1

# shellcheck source=netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
# shellcheck source=lb.sh
. "$VSW_LIB_DIR/lb.sh"
# shellcheck source=k8s.sh
. "$VSW_LIB_DIR/k8s.sh"
# shellcheck source=cni.sh
. "$VSW_LIB_DIR/cni.sh"
