#!/usr/bin/env bash
# The database (--db) under faults.
#   - kill -9 in the middle of writes, three times: a loop of add-lb commands and batches runs
#     against vswitchd when it is killed; each restart succeeds, SQLite's integrity check says
#     "ok", and every change that vsctl saw acknowledged is there (at most the one in flight
#     beyond them);
#   - a file at --db that is not ours is refused, with a message naming the file and what is
#     wrong, and left byte for byte as it was: garbage over the SQLite header, a text file, a
#     foreign SQLite database, one of a newer schema, pages of a good one overwritten, and a
#     directory; the good file put back, vswitchd starts with its configuration;
#   - the flow-pair file beside the control socket (kept across a crash) damaged: all random,
#     or cut short: vswitchd starts afresh and its VIP works.
. "$(dirname "$0")/../lib/lib.sh"
preflight

add_node node 10.244.1.0/24
add_pod node pod1 10.244.1.2
DB=${VSW_DB[node]}

# integrity DB: SQLite's full integrity check, read-only (the daemon may hold the file).
integrity() {
    "$VSW_PY" - "$1" <<'EOF'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
print(c.execute("PRAGMA integrity_check").fetchone()[0])
EOF
}

# writer FILE FIRST: numbered writes from FIRST until vswitchd dies; appends N to FILE when
# write N was acknowledged.
# Odd N: add-lb 10.96.X.Y:80/tcp; even N: a batch adding that VIP and deleting and re-adding
# a scratch one, so both kinds of transaction are in flight when the kill comes.
writer() {
    local acked=$1 n=$(($2 - 1)) vip
    while :; do
        n=$((n + 1))
        vip=10.96.$((n / 200)).$((n % 200 + 1))
        if [ $((n % 2)) = 1 ]; then
            vsctl_on node add-lb "$vip:80/tcp" 10.244.1.2:8080 >/dev/null 2>&1 || break
        else
            printf 'add-lb %s:80/tcp 10.244.1.2:8080\ndel-lb 10.97.0.1:80/tcp\nadd-lb 10.97.0.1:80/tcp 10.244.1.2:1\n' \
                "$vip" | vsctl_on node batch - >/dev/null 2>&1 || break
        fi
        echo "$n" >>"$acked"
    done
}

vips() { vsctl_on node --json dump-policies | jq -r '.policies[].vip' | grep '^10\.96\.' | sort -u; }

next=1
for round in 1 2 3; do
    acked=$VSW_TMPDIR/acked-$round
    : >"$acked"
    writer "$acked" "$next" &
    wpid=$!
    on_exit "kill $wpid 2>/dev/null"
    sleep "0.$((RANDOM % 6 + 5))"
    kill9_vswitchd node
    wait "$wpid"
    last=$(tail -1 "$acked")
    [ -n "$last" ] || fail "round $round: no write was acknowledged before the kill"
    restart_vswitchd node
    assert_eq "round $round: integrity check after kill -9 mid-write" ok "$(integrity "$DB")"
    have=$(vips)
    missing=0
    for ((i = 1; i <= last; i++)); do
        echo "$have" | grep -qx "10.96.$((i / 200)).$((i % 200 + 1))" || missing=$((missing + 1))
    done
    n_have=$(echo "$have" | grep -c .)
    log "round $round: $((last - next + 1)) writes acknowledged (up to $last), $n_have policies stored"
    assert_eq "round $round: every acknowledged write survived kill -9" 0 "$missing"
    [ "$n_have" -le $((last + 1)) ] ||
        fail "round $round: $n_have policies, more than the $last acknowledged and one in flight"
    next=$((last + 1))
    # The one in flight, if it made it, is kept: go on after it either way.
    echo "$have" | grep -qx "10.96.$((next / 200)).$((next % 200 + 1))" && next=$((next + 1))
done
policies=$(vsctl_on node --json dump-policies | jq '.policies | length')

# A file at --db that is not ours: vswitchd must exit non-zero saying why, file untouched.
stop_vswitchd node
cp "$DB" "$VSW_TMPDIR/good.db"
rm -f "$DB-wal" "$DB-shm"

refused() {
    local desc=$1 pattern=$2 sum out rc i
    sum=$(sha256sum "$DB" 2>/dev/null | cut -d' ' -f1)
    out=$VSW_TMPDIR/refused.log
    ip netns exec "$(ns node)" "$VSW_BUILD/vswitchd" --ctl "${VSW_CTL[node]}" --db "$DB" \
        --pod-cidr 10.244.1.0/24 --metrics 127.0.0.1:9479 >"$out" 2>&1 &
    local pid=$!
    for ((i = 0; i < 100; i++)); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    if kill -0 $pid 2>/dev/null; then
        kill -9 $pid
        fail "$desc: vswitchd accepted it and runs: $(tail -3 "$out")"
    fi
    wait $pid; rc=$?
    [ $rc -ne 0 ] || fail "$desc: vswitchd exited 0: $(cat "$out")"
    grep -q -- "$DB" "$out" || fail "$desc: the message does not name the file: $(cat "$out")"
    grep -Eqi -- "$pattern" "$out" || fail "$desc: the message does not say '$pattern': $(cat "$out")"
    [ "$(sha256sum "$DB" 2>/dev/null | cut -d' ' -f1)" = "$sum" ] ||
        fail "$desc: vswitchd changed the file"
    log "ok: $desc refused (exit $rc): $(grep -Ei -- "$pattern" "$out" | head -1 | cut -c1-200)"
    rm -f "$DB-wal" "$DB-shm"
}

head -c 100 /dev/urandom | dd of="$DB" conv=notrunc status=none
refused "garbage over the SQLite header" 'not a vswitch database'
head -c 20000 /dev/zero | tr '\0' 'x' >"$DB"
refused "a text file" 'not a vswitch database'
rm -f "$DB"
"$VSW_PY" -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
c.execute('create table t(x)'); c.execute('insert into t values (1)'); c.commit()" "$DB"
refused "a foreign SQLite database" 'another application'
cp "$VSW_TMPDIR/good.db" "$DB"
"$VSW_PY" -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
c.execute('pragma user_version = 999'); c.commit()" "$DB"
rm -f "$DB-wal" "$DB-shm"
refused "a newer schema" 'newer'
cp "$VSW_TMPDIR/good.db" "$DB"
size=$(stat -c %s "$DB")
pages=$((size / 4096))
[ "$pages" -ge 3 ] || fail "the database has only $pages pages"
head -c $(( (pages - 1) * 4096 )) /dev/urandom | dd of="$DB" bs=4096 seek=1 conv=notrunc status=none
refused "pages overwritten" 'corrupt|malformed|not a vswitch database'
rm -f "$DB"
mkdir "$DB"
refused "a directory" 'directory|cannot open|unable'
rmdir "$DB"

cp "$VSW_TMPDIR/good.db" "$DB"
restart_vswitchd node
assert_eq "the good file back: every policy" "$policies" \
    "$(vsctl_on node --json dump-policies | jq '.policies | length')"
assert_eq "the good file back: the port" h-pod1 "$(port_names node | tr -d '\n')"
ping_ok pod1 10.244.1.1

# --- the flow-pair file ---------------------------------------------------------------------
PAIRS=${VSW_CTL[node]}.flow-pairs
[ -f "$PAIRS" ] || fail "no flow-pair file at $PAIRS"
add_pod node pod2 10.244.1.3
svc_start pod2 stream-server 7000 pod2
vsctl_on node add-lb 10.96.200.1:7000/tcp 10.244.1.3:7000 >/dev/null || fail "add-lb"
churn_ok() {
    ns_exec pod1 "$VSW_PY" "$VSW_LIB_DIR/robust.py" churn 10.96.200.1 7000 "$1" | tail -1
}
assert_match "the VIP works" ' fail=0 ' "$(churn_ok 0.5)"
size=$(stat -c %s "$PAIRS")
damaged() {
    local desc=$1 msg
    kill9_vswitchd node
    eval "$2"
    restart_vswitchd node
    assert_match "flow-pair file $desc: the VIP works after the restart" ' fail=0 ' \
        "$(churn_ok 0.5)"
    msg=$(grep -E 'adopted|dropped|flow pairs' "${VSW_LOG[node]}" | sed 's/.*info: //' |
          tr '\n' ' ')
    log "ok: flow-pair file $desc: ${msg:-nothing adopted}"
}
damaged "all random" "head -c $size /dev/urandom >'$PAIRS'"
damaged "cut short" "truncate -s $((size / 3)) '$PAIRS'"
assert_ok "vswitchd alive" vswitchd_alive node
