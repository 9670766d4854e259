#!/usr/bin/env bash
# The control socket abused by its own clients (test-ctl.sh sends a handful of malformed
# messages; this is the rest).  After each abuse, and while it lasts, vswitchd keeps serving
# the others: a Show answers within 2 s and vsctl works.  Every connection the server closes
# is counted by reason in /metrics (vswitch_ctl_connections_closed_total) and logged.
#   - 300 random frames: random bodies behind valid length prefixes, each on its own
#     connection, and truncated frames (the client hangs up mid-body);
#   - an oversized request (length prefix over 64 MiB): answered with an error, then closed;
#   - three stalls at once, each closed by the server about 10 s after it stalled: 48 MiB of
#     a 60 MiB request and then nothing (vswitchd's VmRSS before, during and after is
#     logged), a request trickled in one byte every 2 s (slow-loris), and a client that sends
#     1000 requests and then neither reads nor writes (its replies wait in the server);
#   - six requests of 60 MiB of which 48 MiB arrive each: four fill the 256 MiB budget for
#     clients' buffers, and the oldest are closed to make room for the fifth and sixth;
#   - a client that writes 20,000 requests and never reads a reply: dropped once 4 MiB of
#     replies wait for it;
#   - the connection limit: one process opening 1030 connections keeps its share (128);
#     eight processes holding 128 each fill the 1024 slots, and then vsctl, a real CNI ADD
#     and DEL, and a client that connects and waits 3 s before its request (as the CNI
#     plugin does around its IPAM call) while a ninth process opens 128 more, are all served
#     promptly: the holders' quietest connections make room;
#   - the idle timeout (a second vswitchd with --ctl-idle-timeout 2): a connection that sends
#     nothing, and one that sent a Show and then nothing, are closed after 2 s; one asking
#     every second stays;
#   - the descriptor limit: a soft limit of 600 is raised to fit 1024 connections; under a
#     hard limit of 600 the server takes 300, and 370 connections from ten processes still
#     leave room for a newcomer, without a failed accept().
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

ROBUST="$VSW_LIB_DIR/robust.py"
ABUSE="$VSW_LIB_DIR/ctlabuse.py"
cni_setup node 10.244.1.0/24
add_pod node pod1 10.244.1.200
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
# ctl_metric NODE NAME|REASON: a control-socket sample of NODE's /metrics; a bare REASON
# names vswitch_ctl_connections_closed_total{reason="REASON"}.
ctl_metric() {
    local name=$2
    [[ $name == vswitch_* ]] || name="vswitch_ctl_connections_closed_total{reason=\"$2\"}"
    ns_exec "$1" curl -s --max-time 5 http://127.0.0.1:9479/metrics |
        awk -v n="$name" '$1 == n {print $2; found=1} END {if (!found) print "missing"}'
}
# closed_after LOG MODE MIN_MS MAX_MS: MODE's line in LOG says the server closed it within
# [MIN_MS, MAX_MS].
closed_after() {
    local line ms
    line=$(grep "^$2 " "$1" | tail -1)
    ms=$(grep -Eo 'closed_after_ms=[0-9]+' <<<"$line" | cut -d= -f2)
    [ -n "$ms" ] || fail "$2: not closed by the server: ${line:-$(cat "$1")}"
    [ "$ms" -ge "$3" ] && [ "$ms" -le "$4" ] ||
        fail "$2: closed after $ms ms, expected $3 to $4 ms: $line"
    log "ok: $2: closed by the server after $ms ms"
}

assert_eq "/metrics: the connection limit" 1024 "$(ctl_metric node vswitch_ctl_connections_max)"

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
assert_eq "oversized request counted" 1 "$(ctl_metric node oversized)"
served "after an oversized request"

# --- stalls: a huge request, a trickled one, replies never read ----------------------------
rss0=$(rss_kb)
bg_start node "$VSW_TMPDIR/partial.log" "$VSW_PY" "$ABUSE" partial "$SOCK" $((48 << 20)) 20
partial=$BG_PID
bg_start node "$VSW_TMPDIR/slowloris.log" "$VSW_PY" "$ABUSE" slowloris "$SOCK" 20 2
slowloris=$BG_PID
bg_start node "$VSW_TMPDIR/stuck.log" "$VSW_PY" "$ABUSE" stuck "$SOCK" 1000 20
stuck=$BG_PID
wait_until 30 grep -q '^partial sent' "$VSW_TMPDIR/partial.log" ||
    fail "the partial request was not sent: $(cat "$VSW_TMPDIR/partial.log")"
wait_until 10 grep -q '^stuck sent' "$VSW_TMPDIR/stuck.log" ||
    fail "the stuck client's requests were not sent: $(cat "$VSW_TMPDIR/stuck.log")"
sleep 0.5
rss1=$(rss_kb)
served "while 48 MiB of a 60 MiB request wait, a request trickles in, replies go unread"
assert_eq "the stalled connections are open meanwhile" 0 \
    "$(cat "$VSW_TMPDIR"/{partial,slowloris,stuck}.log | grep -c closed_after_ms)"
wait "$partial" "$slowloris" "$stuck" 2>/dev/null
# 10 s after the stall, found by a sweep once a second.
closed_after "$VSW_TMPDIR/partial.log" partial 8500 12500
closed_after "$VSW_TMPDIR/slowloris.log" slowloris 9000 12500
closed_after "$VSW_TMPDIR/stuck.log" stuck 8500 12500
assert_eq "/metrics: 2 slow requests" 2 "$(ctl_metric node slow_request)"
assert_eq "/metrics: 1 client closed for unread replies" 1 "$(ctl_metric node unread_replies)"
sleep 0.5
rss2=$(rss_kb)
log "FIGURE VmRSS ${rss0} kB before, ${rss1} kB with 48 MiB of a request buffered," \
    "${rss2} kB after the server closed it"
served "after the stalls"

# --- the memory budget ----------------------------------------------------------------------
# Six requests of 60 MiB, 48 MiB of each sent: each takes a 64 MiB buffer, and four fill the
# 256 MiB budget; the fifth and sixth close the oldest as they grow.
rss0=$(rss_kb)
bg_start node "$VSW_TMPDIR/partials.log" "$VSW_PY" "$ABUSE" partials "$SOCK" 6 $((48 << 20)) 3
partials=$BG_PID
wait_until 60 grep -q '^partials sent' "$VSW_TMPDIR/partials.log" ||
    fail "the partial requests were not sent: $(cat "$VSW_TMPDIR/partials.log")"
buffered=$(ctl_metric node vswitch_ctl_buffered_bytes)
served "while 6 requests of 48 MiB wait"
wait "$partials"
# Four fill the budget exactly: any other byte held (the Show's reply) closes one more.
closed=$(grep -Eo 'closed_by_peer=[0-9]+' "$VSW_TMPDIR/partials.log" | cut -d= -f2)
assert_ge "at least two of six were closed" "$closed" 2
assert_eq "/metrics: as many closed for memory" "$closed" "$(ctl_metric node memory)"
[ "$buffered" -le $((256 << 20)) ] || fail "$buffered bytes buffered, over 256 MiB"
log "ok: $buffered bytes buffered for clients at most 256 MiB"
sleep 0.5
log "FIGURE VmRSS ${rss0} kB before six 48 MiB requests, VmHWM (peak)" \
    "$(awk '$1 == "VmHWM:" {print $2}' "/proc/${VSW_PID[node]}/status") kB," \
    "VmRSS $(rss_kb) kB after; $buffered bytes buffered with four left"
assert_eq "/metrics: nothing buffered once they left" 0 \
    "$(ctl_metric node vswitch_ctl_buffered_bytes)"

# --- a client that never reads --------------------------------------------------------------
bg_start node "$VSW_TMPDIR/noread.log" "$VSW_PY" "$ROBUST" ctl-noread "$SOCK" 20000 4
noread=$BG_PID
sleep 1
served "while a client writes requests and reads no reply"
wait "$noread" 2>/dev/null
out=$(grep '^noread' "$VSW_TMPDIR/noread.log") || fail "noread: $(cat "$VSW_TMPDIR/noread.log")"
assert_match "the client that never reads was dropped" 'closed_by_peer=yes' "$out"
assert_eq "/metrics: 1 reply backlog" 1 "$(ctl_metric node reply_backlog)"

# --- the connection limit ------------------------------------------------------------------
"$VSW_PY" "$ABUSE" hold "$SOCK" 1 1030 2 >"$VSW_TMPDIR/one.log" 2>&1 ||
    fail "1030 connections: $(cat "$VSW_TMPDIR/one.log")"
assert_match "one process opening 1030 connections keeps 128: the server closed 902" \
    'hold proc 0 open=1030 closed_by_peer=902$' "$(cat "$VSW_TMPDIR/one.log")"
assert_eq "/metrics: 902 closed for the process's share" 902 "$(ctl_metric node process_share)"
served "after one process opened 1030 connections"

evicted0=$(ctl_metric node evicted)
bg_start node "$VSW_TMPDIR/hold.log" "$VSW_PY" "$ABUSE" hold "$SOCK" 8 128 15
hold=$BG_PID
wait_until 20 grep -q '^hold open=' "$VSW_TMPDIR/hold.log" || fail "the holders did not connect"
assert_match "eight processes hold 128 connections each" 'hold open=1024' \
    "$(cat "$VSW_TMPDIR/hold.log")"
assert_eq "/metrics: 1024 connections open" 1024 "$(ctl_metric node vswitch_ctl_connections)"
served "with all 1024 connections held"
bg_start node "$VSW_TMPDIR/quiet.log" "$VSW_PY" "$ABUSE" quiet "$SOCK" 3
quiet=$BG_PID
sleep 0.5
"$VSW_PY" "$ABUSE" hold "$SOCK" 1 128 2 >"$VSW_TMPDIR/flood.log" 2>&1 &
flood=$!
add_ns cnipod
t0=$(date +%s%N)
cni_call ADD cni1 cnipod eth0 "$(cni_conf podnet 1.0.0)"
add_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$RC" -eq 0 ] || fail "CNI ADD with every connection slot held: $OUT $ERR"
[ "$add_ms" -lt 5000 ] || fail "CNI ADD with every connection slot held took $add_ms ms"
log "ok: CNI ADD with every connection slot held, in $add_ms ms"
wait "$flood" "$quiet"
assert_match "a client quiet for 3 s while 128 more connections came is served" \
    '^quiet ok ms=[0-9]{1,3}$' "$(cat "$VSW_TMPDIR/quiet.log")"
cni_call DEL cni1 cnipod eth0 "$(cni_conf podnet 1.0.0)"
[ "$RC" -eq 0 ] || fail "CNI DEL with every connection slot held: $OUT $ERR"
log "ok: CNI DEL with every connection slot held"
served "at the limit, after 128 more connections"
wait "$hold"
evicted=$(( $(ctl_metric node evicted) - evicted0 ))
assert_ge "at least 128 connections made room for newcomers" "$evicted" 128
held=$(grep -Eo 'closed_by_peer=[0-9]+ of' "$VSW_TMPDIR/hold.log" | grep -Eo '[0-9]+')
flooded=$(grep -Eo 'closed_by_peer=[0-9]+ of' "$VSW_TMPDIR/flood.log" | grep -Eo '[0-9]+')
log "FIGURE at the limit: $evicted connections evicted, $held of the 8 holders'" \
    "($(grep -c '^hold proc .*closed_by_peer=[1-9]' "$VSW_TMPDIR/hold.log") holders hit)," \
    "$flooded of the ninth process's; the quiet client's round trip:" \
    "$(grep -Eo 'ms=[0-9]+' "$VSW_TMPDIR/quiet.log")"
sleep 0.3
served "after the holders left"
assert_match "vswitchd logs a close" \
    'closing a control connection of pid [0-9]+ \(uid 0\): ' "$(cat "${VSW_LOG[node]}")"
assert_match "vswitchd sums up the closes it did not log one by one" \
    'closed [0-9]+ more control connections: ' "$(cat "${VSW_LOG[node]}")"
assert_eq "/metrics: nothing closed for idleness (90 s)" 0 "$(ctl_metric node idle)"

# --- the idle timeout ----------------------------------------------------------------------
assert_fail "--ctl-idle-timeout refuses a negative number" \
    "$VSW_BUILD/vswitchd" --pod-cidr 10.244.9.0/24 --ctl-idle-timeout -1
add_node node2 10.244.2.0/24 --ctl-idle-timeout 2
SOCK2=${VSW_CTL[node2]}
bg_start node2 "$VSW_TMPDIR/idle.log" "$VSW_PY" "$ABUSE" idle "$SOCK2" 8
idle=$BG_PID
bg_start node2 "$VSW_TMPDIR/idle-shown.log" "$VSW_PY" "$ABUSE" idle "$SOCK2" 8 shows
shown=$BG_PID
bg_start node2 "$VSW_TMPDIR/pulse.log" "$VSW_PY" "$ABUSE" pulse "$SOCK2" 6 1
pulse=$BG_PID
wait "$idle" "$shown" "$pulse"
closed_after "$VSW_TMPDIR/idle.log" idle 1500 3500
closed_after "$VSW_TMPDIR/idle-shown.log" idle 1500 3500
assert_match "a client asking every second is not idle" '^pulse ok rounds=[0-9]+$' \
    "$(cat "$VSW_TMPDIR/pulse.log")"
assert_eq "/metrics: 2 idle connections closed" 2 "$(ctl_metric node2 idle)"
assert_match "vswitchd logs an idle close" 'closing a control connection .*: idle: nothing' \
    "$(cat "${VSW_LOG[node2]}")"

# --- the descriptor limit ------------------------------------------------------------------
# Last: the test's own limits drop here for good.  A soft limit too low is raised (systemd's
# default soft limit is 1024); a hard one too low lowers the connection limit instead, so
# that accept() never runs out of descriptors (libuv would then drop waiting clients unseen).
ulimit -Sn 600
add_node node3 10.244.3.0/24
assert_eq "a soft limit of 600 descriptors is raised: 1024 connections" 1024 \
    "$(ctl_metric node3 vswitch_ctl_connections_max)"
assert_match "vswitchd says it raised it" 'raised the descriptor limit from 600 to 1536' \
    "$(cat "${VSW_LOG[node3]}")"
ulimit -n 600
add_node node4 10.244.4.0/24
SOCK4=${VSW_CTL[node4]}
assert_eq "a hard limit of 600 descriptors: 300 connections" 300 \
    "$(ctl_metric node4 vswitch_ctl_connections_max)"
"$VSW_PY" "$ABUSE" hold "$SOCK4" 10 37 2 >"$VSW_TMPDIR/hold4.log" 2>&1 &
hold4=$!
wait_until 20 grep -q '^hold open=' "$VSW_TMPDIR/hold4.log" || fail "node4: holders did not connect"
sleep 0.5
out=$(timeout 10 "$VSW_PY" "$ROBUST" ctl-show "$SOCK4" 2>&1) ||
    fail "node4: Show with 370 connections against 300 slots: $out"
log "ok: node4: a newcomer is served with 370 connections against 300 slots ($out)"
wait "$hold4"
assert_ge "node4: at least 70 connections made room" "$(ctl_metric node4 evicted)" 70
assert_eq "node4: no accept() failed" 0 "$(ctl_metric node4 vswitch_ctl_accept_errors_total)"

served "at the end"
ping_ok pod1 10.244.1.1
cni_no_sanitizer_reports
