# shellcheck shell=bash
# tests/bench/lib.sh — what the benchmarks (tests/bench/run.sh, overlay.sh) share: the tests'
# library and Open vSwitch's helpers (ovs.sh), logging under the benchmark's name
# (VSW_TEST_NAME), the results R[SYSTEM,METRIC] holding one value per round, their medians,
# and the two measurements both take: iperf3 TCP throughput and sockperf TCP latency, SECS
# seconds each.

# shellcheck source=../lib/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
# shellcheck source=ovs.sh
. "$(dirname "${BASH_SOURCE[0]}")/ovs.sh"

# Progress goes to stderr: stdout is the report.
log() { printf '[%s] %s\n' "$VSW_TEST_NAME" "$*" >&2; }

# has WORD LIST...: WORD is one of LIST.
has() { local x=$1; shift; [[ " $* " == *" $x "* ]]; }

declare -A R     # R[system,metric] = space-separated values, one per round

# record SYSTEM METRIC VALUE: one more round's VALUE.
record() { R[$1,$2]="${R[$1,$2]:-} $3"; }

# last SYSTEM METRIC: the latest value, two decimals.
last() { local a; read -ra a <<<"${R[$1,$2]}"; printf '%.2f' "${a[-1]}"; }

# median VALUE...: their median (0 for none).
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {
        if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'
}

# iperf_gbps CLIENT_NS DST PORT STREAMS: TCP throughput in Gbit/s (0 on failure).
iperf_gbps() {
    local js v
    js=$(ns_exec "$1" timeout $((SECS + 20)) iperf3 -c "$2" -p "$3" -t "$SECS" -O 1 -P "$4" -J)
    v=$(echo "$js" | jq -r '.end.sum_received.bits_per_second / 1e9' 2>/dev/null)
    [[ "$v" =~ ^[0-9.e+-]+$ ]] || {
        log "iperf3 -c $2 -p $3 -P $4 failed: $(echo "$js" | jq -r .error 2>/dev/null)"; v=0; }
    echo "$v"
}

# sockperf_pp CLIENT_NS DST PORT: "p50 p99" of a TCP ping-pong in microseconds (0 0 on failure).
sockperf_pp() {
    local out p50 p99
    out=$(ns_exec "$1" timeout $((SECS + 20)) sockperf pp --tcp -i "$2" -p "$3" -t "$SECS" \
          -m 64 --full-rtt 2>&1)
    p50=$(echo "$out" | sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p')
    p99=$(echo "$out" | sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p')
    [ -n "$p50" ] || { log "sockperf to $2:$3 failed: $(echo "$out" | tail -3)"; p50=0 p99=0; }
    echo "$p50 $p99"
}
