# shellcheck shell=bash disable=SC2034
# tests/lib/netns.sh — the base of the tests' shell library (sourced through tests/lib/lib.sh,
# with the other parts).
#
# Every test builds its own network namespaces (a "node" running vswitchd, "pods" on veth),
# and everything it creates is undone by a cleanup stack that runs on EXIT, INT and TERM,
# whether the test passed or not.
#
# Rules it enforces (DESIGN.md, "Test environment rules"):
#   - nothing here touches the root namespace's interfaces, routes or firewall: veth pairs are
#     created inside the test's own namespaces (`ip -n NS link add ... peer ... netns NS2`);
#   - traffic only goes to addresses the test configured inside those namespaces;
#   - a test that cannot build its namespaces FAILS (exit 1); it never skips.
#
# Environment:
#   VSW_BUILD    directory holding vswitchd and vsctl (default: <repo>/build)
#   VSW_RUN      run id used in namespace names (default: generated, unique per process)
#   VSW_TMPDIR   scratch directory for sockets, databases and logs (default: mktemp -d)
#   VSW_KEEP=1   keep VSW_TMPDIR after the test (logs are printed on failure anyway)
#   VSW_VERBOSE=1  echo every command run by ns_exec
#   VSW_OFFLOAD  vswitchd's --offload (tc or none; default tc, as vswitchd's); a test may
#                also pass --offload to start_vswitchd, which wins
#
# Naming: add_ns NAME creates the namespace "vsw-$VSW_RUN-NAME"; every other helper takes the
# short NAME.  Interface names inside the namespaces need no prefix: the namespaces are ours.

# --- basics ------------------------------------------------------------------------------

VSW_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VSW_REPO=$(cd "$VSW_LIB_DIR/../.." && pwd)
: "${VSW_BUILD:=$VSW_REPO/build}"
VSW_BUILD=$(cd "$VSW_BUILD" 2>/dev/null && pwd || echo "$VSW_BUILD")
: "${VSW_RUN:=$(printf '%x%x' "$$" "$((RANDOM % 4096))")}"
VSW_NS_PREFIX="vsw-$VSW_RUN-"
VSW_TEST_NAME=${VSW_TEST_NAME:-$(basename "${0%.sh}")}
VSW_PY=/usr/bin/python3      # Debian's python: has scapy (python3-scapy); pyenv's does not

export VSW_BUILD VSW_RUN

# Prints a step of the test, to stdout.
log() { printf '[%s] %s\n' "$VSW_TEST_NAME" "$*"; }

# fail MESSAGE: the test has failed; prints MESSAGE and the state that helps to debug it,
# then exits 1 (which runs the cleanup stack).
fail() {
    printf '[%s] FAIL: %s\n' "$VSW_TEST_NAME" "$*" >&2
    _vsw_dump_state >&2
    exit 1
}

# --- cleanup stack -----------------------------------------------------------------------

_VSW_CLEANUP=()
_VSW_STATUS_OVERRIDE=0

# on_exit CMD: push CMD (a string, run with eval) on the cleanup stack.  The stack runs last
# in, first out when the test exits for any reason; a failing entry does not stop the others.
on_exit() { _VSW_CLEANUP+=("$1"); }

_vsw_run_cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    set +e
    for ((i = ${#_VSW_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${_VSW_CLEANUP[i]}" >/dev/null 2>&1
    done
    _VSW_CLEANUP=()
    _vsw_check_sanitizer_logs || rc=1
    [ "$_VSW_STATUS_OVERRIDE" -ne 0 ] && rc=$_VSW_STATUS_OVERRIDE
    if [ -n "${_VSW_OWN_TMPDIR:-}" ] && [ "${VSW_KEEP:-0}" != 1 ]; then
        rm -rf "$VSW_TMPDIR"
    fi
    exit "$rc"
}
trap _vsw_run_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${VSW_TMPDIR:-}" ]; then
    VSW_TMPDIR=$(mktemp -d "/tmp/vsw-$VSW_RUN.XXXXXX") || { echo "mktemp failed" >&2; exit 1; }
    _VSW_OWN_TMPDIR=1
fi
mkdir -p "$VSW_TMPDIR" || exit 1
export VSW_TMPDIR

# --- requirements --------------------------------------------------------------------------

# require CMD...: every CMD must be on PATH (or an executable path), or the test fails.
require() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || fail "required command '$c' not found (tests/deps.sh)"
    done
}

# require_root: system tests need root to create namespaces.  Without it they fail.
require_root() {
    [ "$(id -u)" -eq 0 ] || fail "system tests need root (network namespaces)"
}

# require_build: vswitchd and vsctl must be built in VSW_BUILD.
require_build() {
    [ -x "$VSW_BUILD/vswitchd" ] || fail "$VSW_BUILD/vswitchd not built"
    [ -x "$VSW_BUILD/vsctl" ] || fail "$VSW_BUILD/vsctl not built"
}

# --- namespaces and links -----------------------------------------------------------------

# ns NAME: prints the full namespace name of short NAME.
ns() { printf '%s%s' "$VSW_NS_PREFIX" "$1"; }

# add_ns NAME...: creates namespace NAME (prefixed) for each NAME, with lo up; removed on exit
# together with every process still running in it.
add_ns() {
    local name full
    for name in "$@"; do
        full=$(ns "$name")
        ip netns add "$full" || fail "cannot create network namespace $full"
        on_exit "_vsw_del_ns '$full'"
        ip -n "$full" link set lo up || fail "cannot set lo up in $full"
    done
}

_vsw_del_ns() {
    local full=$1 pids
    pids=$(ip netns pids "$full" 2>/dev/null)
    if [ -n "$pids" ]; then
        kill $pids 2>/dev/null
        sleep 0.2
        pids=$(ip netns pids "$full" 2>/dev/null)
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    fi
    ip netns del "$full" 2>/dev/null
}

# ns_exec NAME CMD...: runs CMD inside namespace NAME.  VSW_VERBOSE's echo goes to stderr,
# so CMD's output stays what callers parse.
ns_exec() {
    local n=$1; shift
    [ "${VSW_VERBOSE:-0}" = 1 ] && log "($n) $*" >&2
    ip netns exec "$(ns "$n")" "$@"
}

# add_veth NS1 IF1 NS2 IF2: a veth pair, IF1 in NS1 and IF2 in NS2, both up.
add_veth() {
    local ns1=$1 if1=$2 ns2=$3 if2=$4
    ip -n "$(ns "$ns1")" link add "$if1" type veth peer name "$if2" netns "$(ns "$ns2")" ||
        fail "cannot create veth $ns1/$if1 <-> $ns2/$if2"
    ip -n "$(ns "$ns1")" link set "$if1" up || fail "cannot set $ns1/$if1 up"
    ip -n "$(ns "$ns2")" link set "$if2" up || fail "cannot set $ns2/$if2 up"
}

# if_mac NS IF: prints the MAC address of IF in NS.
if_mac() {
    ip -n "$(ns "$1")" -j link show dev "$2" | jq -r '.[0].address'
}

# neigh_mac NS IP: prints the MAC that eth0 in NS has resolved IP to, or nothing.
neigh_mac() {
    ns_exec "$1" ip -j neigh show "$2" dev eth0 | jq -r '.[0].lladdr // empty'
}

# mac_of_ip IP: a deterministic, locally administered MAC for a pod address (02:00:a.b.c.d).
mac_of_ip() {
    local IFS=.
    # shellcheck disable=SC2086
    set -- $1
    printf '02:00:%02x:%02x:%02x:%02x' "$1" "$2" "$3" "$4"
}

# cidr_gateway CIDR: the first address of CIDR (the switch's gateway), e.g. 10.244.1.1.
cidr_gateway() {
    local net=${1%/*} IFS=.
    # shellcheck disable=SC2086
    set -- $net
    printf '%d.%d.%d.%d' "$1" "$2" "$3" "$(($4 + 1))"
}

# --- waiting and asserting ----------------------------------------------------------------

# wait_every INTERVAL SECONDS CMD...: polls CMD every INTERVAL seconds until it succeeds;
# returns 1 on timeout.
wait_every() {
    local interval=$1 deadline=$((SECONDS + $2)); shift 2
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep "$interval"
    done
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds; returns 1 on timeout.
wait_until() { wait_every 0.1 "$@"; }

# assert_ok DESCRIPTION CMD...: CMD must exit 0; otherwise fail with its output.
assert_ok() {
    local desc=$1 out rc; shift
    out=$("$@" 2>&1); rc=$?
    [ $rc -eq 0 ] || fail "$desc: '$*' exited $rc: $out"
    log "ok: $desc"
}

# assert_fail DESCRIPTION CMD...: CMD must exit non-zero.
assert_fail() {
    local desc=$1 out rc; shift
    out=$("$@" 2>&1); rc=$?
    [ $rc -ne 0 ] || fail "$desc: '$*' succeeded but should have failed: $out"
    log "ok: $desc"
}

# assert_eq DESCRIPTION EXPECTED ACTUAL
assert_eq() {
    [ "$2" == "$3" ] || fail "$1: expected '$2', got '$3'"
    log "ok: $1"
}

# assert_ge DESCRIPTION A B: integer A >= integer B.
assert_ge() {
    [[ "$2" =~ ^-?[0-9]+$ ]] || fail "$1: '$2' is not a number"
    [ "$2" -ge "$3" ] || fail "$1: expected >= $3, got $2"
    log "ok: $1 ($2 >= $3)"
}

# assert_match DESCRIPTION REGEX TEXT: TEXT must match extended REGEX.
assert_match() {
    printf '%s\n' "$3" | grep -Eq -- "$2" || fail "$1: '$2' not found in: $3"
    log "ok: $1"
}

# assert_no_match DESCRIPTION REGEX TEXT
assert_no_match() {
    ! printf '%s\n' "$3" | grep -Eq -- "$2" || fail "$1: '$2' unexpectedly found in: $3"
    log "ok: $1"
}

# --- background processes -----------------------------------------------------------------

# bg_start NS LOGFILE CMD...: runs CMD in NS in the background, output to LOGFILE; prints
# nothing, sets BG_PID.  The process is killed on exit.
bg_start() {
    local n=$1 logf=$2; shift 2
    ip netns exec "$(ns "$n")" "$@" >"$logf" 2>&1 &
    BG_PID=$!
    on_exit "kill $BG_PID 2>/dev/null; wait $BG_PID 2>/dev/null"
}

# --- vswitchd and vsctl --------------------------------------------------------------------

declare -A VSW_CTL VSW_DB VSW_PID VSW_LOG VSW_CIDR VSW_ARGS VSW_STARTS

# vsctl_on NODE ARGS...: runs vsctl against NODE's vswitchd (from the root namespace: the
# control socket is a path, so vsctl works from any namespace).
vsctl_on() {
    local n=$1; shift
    "$VSW_BUILD/vsctl" --ctl "${VSW_CTL[$n]}" "$@"
}

# start_vswitchd NODE CIDR [EXTRA ARGS...]: starts vswitchd in namespace NODE (which must
# exist) with a private control socket and database, and waits until it answers `vsctl show`
# and its host port vsw0 holds the gateway address.  Stopped on exit (SIGTERM, so that
# LeakSanitizer can report), and its stderr is checked for sanitizer reports.
start_vswitchd() {
    local n=$1 cidr=$2; shift 2
    VSW_CTL[$n]=${VSW_CTL[$n]:-$VSW_TMPDIR/$n.sock}
    VSW_DB[$n]=${VSW_DB[$n]:-$VSW_TMPDIR/$n.db}
    VSW_CIDR[$n]=$cidr
    VSW_ARGS[$n]="$*"
    [ -z "${VSW_STARTS[$n]:-}" ] && on_exit "stop_vswitchd '$n'"
    _vsw_launch "$n" "$@"
}

# The fast path's maps are pinned on a bpffs of the test's own (VSW_TMPDIR/bpffs, one
# directory per node), never under /sys/fs/bpf; unmounted on exit.
_vsw_bpffs() {
    local dir=$VSW_TMPDIR/bpffs
    mountpoint -q "$dir" && return 0
    mkdir -p "$dir" && mount -t bpf bpf "$dir" || fail "cannot mount a bpffs on $dir"
    on_exit "umount -l '$dir'"
}

_vsw_launch() {
    local n=$1 gw; shift
    _vsw_bpffs
    VSW_STARTS[$n]=$(( ${VSW_STARTS[$n]:-0} + 1 ))
    VSW_LOG[$n]=$VSW_TMPDIR/vswitchd-$n.${VSW_STARTS[$n]}.log
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        ip netns exec "$(ns "$n")" "$VSW_BUILD/vswitchd" --ctl "${VSW_CTL[$n]}" \
            --db "${VSW_DB[$n]}" --pod-cidr "${VSW_CIDR[$n]}" --metrics 127.0.0.1:9479 \
            --log-level debug --offload "${VSW_OFFLOAD:-tc}" \
            --bpf-pin-dir "$VSW_TMPDIR/bpffs/$n" "$@" >"${VSW_LOG[$n]}" 2>&1 &
    VSW_PID[$n]=$!
    gw=$(cidr_gateway "${VSW_CIDR[$n]}")
    wait_until 20 _vsw_ready "$n" "$gw" ||
        fail "vswitchd in $n did not come up (socket ${VSW_CTL[$n]}, vsw0 with $gw)"
    log "vswitchd up in $n (pid ${VSW_PID[$n]}, gateway $gw)"
}

_vsw_ready() {
    local n=$1 gw=$2
    kill -0 "${VSW_PID[$n]}" 2>/dev/null || return 2
    [ -S "${VSW_CTL[$n]}" ] || return 1
    vsctl_on "$n" show >/dev/null 2>&1 || return 1
    ip -n "$(ns "$n")" -br addr show dev vsw0 2>/dev/null | grep -q " $gw/"
}

# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 10: sanitizers report at
# exit), then SIGKILL.
stop_pid() {
    local pid=$1 tenths=$((${2:-10} * 10)) i
    kill "$pid" 2>/dev/null
    for ((i = 0; i < tenths; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# stop_vswitchd NODE: stop_pid on NODE's vswitchd.
stop_vswitchd() {
    [ -n "${VSW_PID[$1]:-}" ] || return 0
    stop_pid "${VSW_PID[$1]}"
    VSW_PID[$1]=
}

# kill9_vswitchd NODE: kill -9, as a crash would.
kill9_vswitchd() {
    local n=$1 pid=${VSW_PID[$1]}
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    VSW_PID[$n]=
}

# restart_vswitchd NODE: starts it again with the same --ctl, --db, --pod-cidr and flags.
restart_vswitchd() {
    local n=$1
    # shellcheck disable=SC2086
    _vsw_launch "$n" ${VSW_ARGS[$n]}
}

# vswitchd_alive NODE: vswitchd of NODE is still running.
vswitchd_alive() { [ -n "${VSW_PID[$1]:-}" ] && kill -0 "${VSW_PID[$1]}" 2>/dev/null; }

# add_node NODE CIDR [EXTRA ARGS...]: a node namespace running vswitchd for pod CIDR.
add_node() {
    local n=$1; shift
    add_ns "$n"
    start_vswitchd "$n" "$@"
}

# add_pod NODE POD IP [--slash32] [--mac MAC] [--no-mac] [--no-port]: a pod namespace POD
# with eth0 (veth; its host end "h-POD" stays in NODE), address IP/24 and a default route via
# the node's gateway, attached to the switch with `vsctl add-port h-POD --ip IP --mac MAC`.
# --slash32 gives eth0 IP/32 with an on-link route to the gateway instead.  The pod MAC is
# mac_of_ip IP unless --mac is given; --no-mac leaves --mac out of add-port (the switch
# learns it); --no-port skips add-port.  Sets POD_IF (the host end's name).
add_pod() {
    local n=$1 pod=$2 ip=$3 mask=24 mac port=1 host gw macarg=1; shift 3
    mac=$(mac_of_ip "$ip")
    while [ $# -gt 0 ]; do
        case $1 in
            --slash32) mask=32 ;;
            --mac) mac=$2; shift ;;
            --no-port) port=0 ;;
            --no-mac) macarg=0 ;;
            *) fail "add_pod: unknown option $1" ;;
        esac
        shift
    done
    host="h-$pod"
    [ ${#host} -le 15 ] || fail "add_pod: interface name $host too long"
    gw=$(cidr_gateway "${VSW_CIDR[$n]}")
    add_ns "$pod"
    add_veth "$n" "$host" "$pod" eth0
    _vsw_pod_addr "$pod" eth0 "$ip" "$mask" "$mac" "$gw"
    POD_IF=$host
    if [ "$port" = 1 ]; then
        local args=(add-port "$host" --ip "$ip")
        [ "$macarg" = 1 ] && args+=(--mac "$mac")
        vsctl_on "$n" "${args[@]}" || fail "vsctl ${args[*]} failed"
    fi
}

# add_pods NODE N: pods pod1 .. podN at the addresses .2 .. .N+1 of NODE's pod CIDR.
add_pods() {
    local n=$1 count=$2 net=${VSW_CIDR[$1]%.*} i
    for ((i = 1; i <= count; i++)); do
        add_pod "$n" "pod$i" "$net.$((i + 1))"
    done
}

# _vsw_pod_addr POD IF IP MASK MAC GW: address, MAC and routes of a pod interface.
_vsw_pod_addr() {
    local pod=$1 dev=$2 ip=$3 mask=$4 mac=$5 gw=$6 p
    p=$(ns "$pod")
    ip -n "$p" link set "$dev" down &&
    ip -n "$p" link set "$dev" address "$mac" &&
    ip -n "$p" link set "$dev" up &&
    ip -n "$p" addr add "$ip/$mask" dev "$dev" || fail "cannot address $pod/$dev with $ip/$mask"
    if [ "$mask" = 32 ]; then
        ip -n "$p" route add "$gw" dev "$dev" scope link || fail "cannot add on-link $gw in $pod"
        ip -n "$p" route add default via "$gw" dev "$dev" onlink ||
            fail "cannot add default route in $pod"
    else
        ip -n "$p" route add default via "$gw" dev "$dev" || fail "cannot add default route in $pod"
    fi
}

# add_tap_pod NODE POD IP: a pod whose interface is a TAP created by the switch
# (`vsctl add-port tp-POD --type tap`), moved into the pod namespace, renamed eth0 and
# addressed like add_pod's.  Sets POD_IF.
add_tap_pod() {
    local n=$1 pod=$2 ip=$3 mac tap gw
    mac=$(mac_of_ip "$ip")
    tap="tp-$pod"
    gw=$(cidr_gateway "${VSW_CIDR[$n]}")
    add_ns "$pod"
    vsctl_on "$n" add-port "$tap" --ip "$ip" --mac "$mac" --type tap ||
        fail "vsctl add-port $tap --type tap failed"
    wait_until 5 ip -n "$(ns "$n")" link show dev "$tap" ||
        fail "add-port --type tap did not create $tap in $n"
    ip -n "$(ns "$n")" link set "$tap" netns "$(ns "$pod")" ||
        fail "cannot move $tap into $pod"
    ip -n "$(ns "$pod")" link set "$tap" name eth0 || fail "cannot rename $tap to eth0 in $pod"
    _vsw_pod_addr "$pod" eth0 "$ip" 24 "$mac" "$gw"
    POD_IF=$tap
}

# --- traffic helpers -----------------------------------------------------------------------

# ping_ok NS DST: DST answers from NS: waits up to 5 s for a first reply (ARP, flow setup),
# then 5 pings must all come back.
ping_ok() {
    local n=$1 dst=$2 out
    ns_exec "$n" ping -n -q -c 1 -w 5 "$dst" >/dev/null 2>&1 ||
        fail "$n cannot ping $dst: $(ns_exec "$n" ping -n -c 1 -w 1 "$dst" 2>&1 | tail -2)"
    out=$(ns_exec "$n" ping -n -q -c 5 -i 0.1 -W 2 "$dst" 2>&1) ||
        fail "$n -> $dst: not every ping came back: $out"
    log "ok: $n pings $dst"
}

# ping_fails NS DST: no ping from NS to DST comes back.
ping_fails() {
    local n=$1 dst=$2 out
    if out=$(ns_exec "$n" ping -n -q -c 3 -i 0.2 -W 1 "$dst" 2>&1); then
        fail "$n -> $dst: ping should fail but got: $out"
    fi
    log "ok: $n cannot ping $dst"
}

# iperf_server NS PORT: an iperf3 server on PORT in NS (one per test; stopped on exit).
iperf_server() {
    local n=$1 port=$2
    bg_start "$n" "$VSW_TMPDIR/iperf3-$n-$port.log" iperf3 -s -p "$port"
    wait_until 5 _vsw_listening "$n" "$port" || fail "iperf3 server in $n did not start"
}

_vsw_listening() { ns_exec "$1" ss -Hltn "sport = :$2" | grep -q LISTEN; }

# udp_echo_server NS PORT: tests/lib/pkt.py's UDP echo server on PORT in NS (stopped on exit).
udp_echo_server() {
    local n=$1 port=$2 logf=$VSW_TMPDIR/udp-echo-$1-$2.log
    bg_start "$n" "$logf" "$VSW_PY" "$VSW_LIB_DIR/pkt.py" udp-echo-server "$port"
    wait_until 5 grep -q listening "$logf" || fail "UDP echo server in $n did not start"
}

# tcp_xfer FROM TO TO_IP BYTES [PORT]: a TCP transfer of BYTES from namespace FROM to a server
# in TO, listening on TO_IP:PORT (default 7001); both ends count and hash (SHA-256) the bytes,
# and they must agree.
tcp_xfer() {
    local from=$1 to=$2 ip=$3 bytes=$4 port=${5:-7001} logf cli srv
    logf=$VSW_TMPDIR/xfer-$to-$port.log
    bg_start "$to" "$logf" "$VSW_PY" "$VSW_LIB_DIR/pkt.py" xfer-server "$port"
    local spid=$BG_PID
    wait_until 5 _vsw_listening "$to" "$port" || fail "TCP transfer server in $to did not start"
    cli=$(ns_exec "$from" timeout 60 "$VSW_PY" "$VSW_LIB_DIR/pkt.py" xfer-client "$ip" "$port" \
          "$bytes" 2>&1) || fail "TCP transfer $from -> $to:$ip failed: $cli"
    wait_until 10 grep -Eq '^[0-9]+ ' "$logf" || fail "TCP transfer server in $to did not finish"
    srv=$(grep -E '^[0-9]+ ' "$logf")
    wait "$spid" 2>/dev/null
    [ "$cli" == "$srv" ] ||
        fail "TCP transfer $from -> $to: sent '$cli', received '$srv' (bytes SHA-256)"
    log "ok: TCP $from -> $to ($ip): $bytes bytes arrived intact"
}

# --- drop counters and show -----------------------------------------------------------------

# drop_count NODE REASON: the switch-wide counter for drop REASON, from `vsctl --json show`
# (the first number found under a key named REASON), or 0 when it is not listed.
drop_count() {
    local n=$1 reason=$2 v
    v=$(vsctl_on "$n" --json show 2>/dev/null |
        jq -r --arg r "$reason" '[.. | objects | select(has($r)) | .[$r]
                                  | if type == "object" then (.packets // .count // empty)
                                    else . end | numbers] | .[0] // 0' 2>/dev/null)
    if ! [[ "$v" =~ ^[0-9]+$ ]]; then
        # Fallback: the text form, "reason: N" or "reason=N".
        v=$(vsctl_on "$n" show 2>/dev/null | grep -Eo -- "${reason}[\"]?[:= ]+[0-9]+" |
            head -1 | grep -Eo '[0-9]+$')
    fi
    echo "${v:-0}"
}

# port_names NODE: the names of the pod ports (not the host port) in `vsctl --json show`,
# sorted, one per line.
port_names() {
    vsctl_on "$1" --json show | jq -r '(.ports // .Ports // [])
        | if type == "object" then keys[] else .[] | (.name // .Name) end' |
        grep -vx vsw0 | sort
}

# port_table NODE: a canonical listing of the pod ports (name, ip, mac, type), one per line,
# for comparing the switch's state before and after a restart.
port_table() {
    vsctl_on "$1" --json show | jq -r '(.ports // [])
        | if type == "object" then to_entries | map(.value + {name: .key}) else . end
        | .[] | select(.name != "vsw0")
        | [.name, (.ip // .address // ""), ((.mac // "") | ascii_downcase), (.type // "")]
        | @tsv' | sort
}

# --- diagnostics -------------------------------------------------------------------------

_vsw_dump_state() {
    local n
    for n in "${!VSW_PID[@]}"; do
        echo "---- vsctl show ($n) ----"
        vsctl_on "$n" show 2>&1 | head -60
        echo "---- vswitchd log ($n, ${VSW_LOG[$n]}), last 40 lines ----"
        tail -40 "${VSW_LOG[$n]}" 2>/dev/null
    done
}

# Sanitizer reports in any vswitchd log fail the test.
VSW_SANITIZER_RE='ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer'

# sanitizer_reports FILE...: prints the sanitizer reports found in the FILEs (those that
# exist) to stderr, each under the file's name; returns 1 if there was one.
sanitizer_reports() {
    local f bad=0
    for f in "$@"; do
        [ -f "$f" ] || continue
        if grep -Eq "$VSW_SANITIZER_RE" "$f"; then
            printf '[%s] FAIL: sanitizer report in %s:\n' "$VSW_TEST_NAME" "$(basename "$f")" >&2
            grep -E -A30 "$VSW_SANITIZER_RE" "$f" | head -80 >&2
            bad=1
        fi
    done
    return $bad
}

_vsw_check_sanitizer_logs() { sanitizer_reports "$VSW_TMPDIR"/vswitchd-*.log; }

# preflight: what every system test checks first.
preflight() {
    require_root
    require ip jq ping iperf3 ss
    require_build
}

# --- overlay: nodes joined by an underlay (issue 4) ---------------------------------------
# Node namespaces joined by a bridge in an "underlay" namespace, each with a veth into it and
# an address UNDERLAY.N/24, running vswitchd with --node-ip and pod CIDR 10.244.N.0/24.
# UNDERLAY is 192.168.X with X drawn from the run id, so every run has its own addresses.

VSW_UNDERLAY=192.168.$(( $(printf '%s' "$VSW_RUN" | cksum | cut -d' ' -f1) % 200 + 20 ))
declare -A VSW_NODE_IP

# The underlay namespace the helpers below use: "underlay" unless VSW_UNDERLAY_NS names
# another (a benchmark with two overlays side by side).
: "${VSW_UNDERLAY_NS:=underlay}"

# add_underlay: the namespace $VSW_UNDERLAY_NS holding bridge br0 (no address of its own).
add_underlay() {
    local u=$VSW_UNDERLAY_NS
    add_ns "$u"
    ip -n "$(ns "$u")" link add br0 type bridge || fail "cannot create the underlay bridge"
    ip -n "$(ns "$u")" link set br0 up || fail "cannot set the underlay bridge up"
}

# underlay_attach NS N [IF]: a veth from NS (interface IF, default u0, address UNDERLAY.N/24)
# into the underlay bridge (port u-NS).  Prints nothing; NODE_IP of NS is recorded.
underlay_attach() {
    local n=$1 idx=$2 dev=${3:-u0} port="u-$1"
    [ ${#port} -le 15 ] || fail "underlay_attach: interface name $port too long"
    add_veth "$n" "$dev" "$VSW_UNDERLAY_NS" "$port"
    ip -n "$(ns "$VSW_UNDERLAY_NS")" link set "$port" master br0 ||
        fail "cannot attach $port to br0"
    ip -n "$(ns "$n")" addr add "$VSW_UNDERLAY.$idx/24" dev "$dev" ||
        fail "cannot address $n/$dev with $VSW_UNDERLAY.$idx/24"
    VSW_NODE_IP[$n]=$VSW_UNDERLAY.$idx
}

# add_overlay_node NODE N [EXTRA ARGS...]: node namespace NODE on the underlay as UNDERLAY.N,
# running vswitchd with --node-ip UNDERLAY.N and pod CIDR 10.244.N.0/24.
add_overlay_node() {
    local n=$1 idx=$2; shift 2
    add_ns "$n"
    underlay_attach "$n" "$idx"
    start_vswitchd "$n" "10.244.$idx.0/24" --node-ip "$VSW_UNDERLAY.$idx" "$@"
}

# without_bpf: the vswitchd started from now on runs without the capabilities bpf() needs
# (setpriv drops CAP_BPF and CAP_SYS_ADMIN), as in a container that was not granted them;
# with_bpf undoes it.
without_bpf() {
    local bin=$VSW_TMPDIR/no-bpf-bin
    require setpriv
    mkdir -p "$bin"
    ln -sf "$VSW_BUILD/vsctl" "$bin/vsctl"
    cat >"$bin/vswitchd" <<WRAP
#!/bin/sh
exec setpriv --bounding-set -bpf,-sys_admin --inh-caps -bpf,-sys_admin "$VSW_BUILD/vswitchd" "\$@"
WRAP
    chmod +x "$bin/vswitchd"
    VSW_REAL_BUILD=$VSW_BUILD
    VSW_BUILD=$bin
}

with_bpf() { VSW_BUILD=${VSW_REAL_BUILD:-$VSW_BUILD}; }

# add_two_nodes_and_outside [VSWITCHD ARGS...]: the scene of traffic from outside the
# cluster.  The underlay; node1 and node2 on it (UNDERLAY.1 and .2, forwarding on), each
# running vswitchd with --node-ip, pod CIDR 10.244.N.0/24, --cluster-cidr 10.244.0.0/16,
# --service-cidr $VSW_SVC_CIDR (10.96.0.0/12) and the ARGS; not yet peers (peer_nodes); and a
# client namespace "outside" on the underlay at UNDERLAY.100, as a host beyond the cluster.
VSW_SVC_CIDR=10.96.0.0/12
add_two_nodes_and_outside() {
    local i
    add_underlay
    for i in 1 2; do
        add_ns node$i
        ns_exec node$i sysctl -qw net.ipv4.ip_forward=1 ||
            fail "cannot enable forwarding in node$i"
        underlay_attach node$i $i
        start_vswitchd node$i 10.244.$i.0/24 --node-ip "$VSW_UNDERLAY.$i" \
            --cluster-cidr 10.244.0.0/16 --service-cidr $VSW_SVC_CIDR "$@"
    done
    add_ns outside
    underlay_attach outside 100
}

# peer_nodes NODE...: every NODE gets every other NODE as an overlay peer (add-peer).
peer_nodes() {
    local a b
    for a in "$@"; do
        for b in "$@"; do
            [ "$a" = "$b" ] && continue
            vsctl_on "$a" add-peer "${VSW_NODE_IP[$b]}" "${VSW_CIDR[$b]}" >/dev/null ||
                fail "add-peer ${VSW_NODE_IP[$b]} ${VSW_CIDR[$b]} on $a failed"
        done
    done
}

# peer_stat NODE NODE_IP FIELD: a peer's counter (tx_packets, tx_bytes, rx_packets, rx_bytes)
# from `vsctl --json show`.
peer_stat() {
    vsctl_on "$1" --json show |
        jq -r --arg p "$2" --arg f "$3" '.peers[] | select(.node_ip == $p) | .stats[$f]'
}

# dispatch_mac IP: the dispatch MAC of a pod address, 0a:58: and its four bytes.
dispatch_mac() {
    local IFS=.
    # shellcheck disable=SC2086
    set -- $1
    printf '0a:58:%02x:%02x:%02x:%02x' "$1" "$2" "$3" "$4"
}
