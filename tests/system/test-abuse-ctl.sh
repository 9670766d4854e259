#!/usr/bin/env bash
# The control socket abused by its own clients (test-ctl.sh sends a handful of malformed
# messages; this is the rest).  After each abuse, and while it lasts, vswitchd keeps serving
# the others: a Show answers (its round trip is logged) and vsctl works.
#   - 300 random frames: random bodies behind valid length prefixes, each on its own
#     connection, and truncated frames (the client hangs up mid-body);
#   - an oversized request (length prefix over 64 MiB): answered with an error, then closed;
#   - a request announced at 60 MiB of which 48 MiB arrive and then nothing: others served
#     meanwhile; vswitchd's VmRSS before, during and after is logged;
#   - 1000 idle connections (the server takes 1024): others served, the cost per connection
#     logged; then 30 more than the limit: what happens to a new client is logged;
#   - a client that writes 20,000 requests and never reads a reply: dropped once 4 MiB of
#     replies wait for it, others served throughout.
. "$(dirname "$0")/../lib/netns.sh"
preflight

ROBUST="$VSW_LIB_DIR/robust.py"
add_node node 10.244.1.0/24
add_pod node pod1 10.244.1.2
SOCK=${VSW_CTL[node]}

rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/${VSW_PID[node]}/status"; }
show_ms() {
    local out
    out=$(timeout 10 "$VSW_PY" "$ROBUST" ctl-show "$SOCK" 2>&1) || { echo "$out"; return 1; }
    echo "$out" | grep -Eo 'ms=[0-9]+' | cut -d= -f2
}
# served DESCRIPTION: Show answers within 2 s and vsctl works.
served() {
    local ms
    ms=$(show_ms) || fail "$1: Show got no answer: $ms"
    [ "$ms" -lt 2000 ] || fail "$1: Show took $ms ms"
    vsctl_on node show >/dev/null || fail "$1: vsctl show failed"
    log "ok: $1: others served (Show in $ms ms)"
}

# --- random and truncated frames ----------------------------------------------------------
"$VSW_PY" - "$SOCK" <<'EOF' || fail "random frames could not be sent"
import os, random, socket, struct, sys
random.seed(7)
for i in range(300):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(sys.argv[1])
    body = os.urandom(random.choice([1, 2, 7, 30, 200, 4000]))
    if i % 3 == 0:          # a Request-looking start: the command tags, then noise
        body = bytes([random.choice([0x82, 0x8a, 0x92, 0xc2, 0xca, 0xe2, 0x82]), 0x01]) + body
    frame = struct.pack("!I", len(body)) + body
    if i % 10 == 9:         # truncated: the peer hangs up in the middle of the body
        frame = frame[:4 + len(body) // 2]
    try:
        s.sendall(frame)
        s.shutdown(socket.SHUT_WR)
        s.recv(65536)
    except OSError:
        pass
    s.close()
EOF
assert_ok "vswitchd alive after 300 random frames" vswitchd_alive node
served "after random and truncated frames"

# --- oversized ------------------------------------------------------------------------------
out=$("$VSW_PY" - "$SOCK" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(struct.pack("!I", (64 << 20) + 1) + b"x" * 100)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print("reply %d bytes, then closed: %r" % (len(data), data[4:].decode(errors="replace")))
EOF
) || fail "oversized request: $out"
assert_match "oversized request: an error reply, then the connection closed" \
    'exceeds the maximum.*' "$out"
served "after an oversized request"

# --- a huge request that stalls -----------------------------------------------------------
rss0=$(rss_kb)
bg_start node "$VSW_TMPDIR/partial.log" "$VSW_PY" "$ROBUST" ctl-partial "$SOCK" $((48 << 20)) 6
partial=$BG_PID
wait_until 30 grep -q '^partial sent' "$VSW_TMPDIR/partial.log" ||
    fail "the partial request was not sent: $(cat "$VSW_TMPDIR/partial.log")"
sleep 0.5
rss1=$(rss_kb)
served "while 48 MiB of a 60 MiB request wait"
wait "$partial" 2>/dev/null
sleep 0.5
rss2=$(rss_kb)
log "FIGURE VmRSS ${rss0} kB before, ${rss1} kB with 48 MiB of a request buffered," \
    "${rss2} kB after the client left"

# --- idle connections -----------------------------------------------------------------------
rss0=$(rss_kb)
bg_start node "$VSW_TMPDIR/idle.log" "$VSW_PY" "$ROBUST" ctl-idle "$SOCK" 1000 8
idle=$BG_PID
wait_until 20 grep -q '^idle open=' "$VSW_TMPDIR/idle.log" || fail "idle connections not open"
assert_match "1000 idle connections open" 'idle open=1000' "$(cat "$VSW_TMPDIR/idle.log")"
sleep 0.5
rss1=$(rss_kb)
served "with 1000 idle connections"
log "FIGURE VmRSS ${rss0} kB, ${rss1} kB with 1000 idle connections" \
    "($(( (rss1 - rss0) * 1024 / 1000 )) bytes each)"
bg_start node "$VSW_TMPDIR/idle2.log" "$VSW_PY" "$ROBUST" ctl-idle "$SOCK" 30 3
wait_until 10 grep -q '^idle open=' "$VSW_TMPDIR/idle2.log" || fail "30 more did not connect"
sleep 0.3
if ms=$(show_ms); then over="Show answered in $ms ms"; else over="refused: $ms"; fi
log "FIGURE with 1030 connections, over the server's 1024: a new client: $over"
wait "$BG_PID" 2>/dev/null
log "FIGURE the 30 over the limit: $(grep closed_by_peer "$VSW_TMPDIR/idle2.log")"
wait "$idle" 2>/dev/null
sleep 0.3
served "after the idle connections left"

# --- a client that never reads --------------------------------------------------------------
bg_start node "$VSW_TMPDIR/noread.log" "$VSW_PY" "$ROBUST" ctl-noread "$SOCK" 20000 6
noread=$BG_PID
sleep 1
served "while a client writes requests and reads no reply"
wait "$noread" 2>/dev/null
out=$(grep '^noread' "$VSW_TMPDIR/noread.log") || fail "noread: $(cat "$VSW_TMPDIR/noread.log")"
assert_match "the client that never reads was dropped" 'closed_by_peer=yes' "$out"
assert_match "vswitchd says why" 'dropping a client that left [0-9]+ bytes of replies unread' \
    "$(cat "${VSW_LOG[node]}")"
served "at the end"
ping_ok pod1 10.244.1.1
