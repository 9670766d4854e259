#!/usr/bin/env bash
# One client port used directly and through a VIP over the same backend (DESIGN.md's
# "same 4-tuple" pitfall), both orders: each connection must work.
. "$(dirname "$0")/../lib/lib.sh"
preflight
add_node node 10.244.1.0/24
add_pod node client 10.244.1.20
add_pod node be1 10.244.1.11
svc_start be1 http-server 8080 be1            # HTTP/1.0, closes first: TIME_WAIT on be1
vsctl_on node add-lb 10.96.0.10:80/tcp 10.244.1.11:8080

# get DST DST_PORT CLIENT_PORT: one request from the client bound to CLIENT_PORT with
# SO_REUSEADDR (curl's --local-port is refused while that port sits in TIME_WAIT on the
# client's side, which happens when the client closes first).
get() { ns_exec client /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.244.1.20", int(sys.argv[3]))); s.settimeout(5)
s.connect((sys.argv[1], int(sys.argv[2]))); s.sendall(b"GET / HTTP/1.0\r\n\r\n")
print(s.recv(1000).decode().splitlines()[-1])' "$@"; }

# Directly first, then through the VIP from the same port: the switch must not hand the
# backend the 4-tuple that sits in TIME_WAIT there.
get 10.244.1.11 8080 40000 >/dev/null || fail "direct request from port 40000 failed"
out=$(get 10.96.0.10 80 40000 2>&1) ||
    fail "same client port through the VIP: $out; $(vsctl_on node dump-flows | grep -E 'tp_dst=40000|flow-pair')"
log "ok: directly, then through the VIP: $out"
assert_match "the pair's backend side uses a port above the ephemeral range" \
    'reply=\(src=10.244.1.11,dst=10.244.1.20,sport=8080,dport=6[1-5][0-9]{3}\)' \
    "$(vsctl_on node dump-flows | grep flow-pair)"

# Through the VIP first, then directly from the same port: the closed pair must not
# translate the backend's answers to the VIP.
get 10.96.0.10 80 40001 >/dev/null || fail "VIP from port 40001 failed"
out=$(get 10.244.1.11 8080 40001 2>&1) ||
    fail "same client port directly after the VIP: $out; $(vsctl_on node dump-flows | grep -E 'tp_dst=40001|flow-pair')"
log "ok: through the VIP, then directly: $out"
