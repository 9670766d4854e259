#!/usr/bin/env bash
# `make demo` keeps working: tests/demo/demo.sh, run as `make demo` runs it, against these
# binaries (and so under the sanitizers too), in this test's namespaces and scratch directory.
# It checks every step itself: two nodes, pods by cnitool, the proxies synced from the test
# API server, every backend answering through the VIP with the client's own address seen,
# IsDSR, the two halves of a DSR connection in dump-flows, iperf3 through the VIP.
NO_COLOR=1 exec bash "$(dirname "$0")/../demo/demo.sh" "${VSW_BUILD:-}"
