#!/usr/bin/env bash
# tests/cni/bench.sh [BUILD_DIR] — the CNI plugin's share of `make bench`: time per ADD and
# per DEL (median and 90th percentile of 50, each a real plugin run with host-local, timed
# from inside the node's namespace so `ip netns exec` is not counted), and pods wired per
# second over the 50 ADDs.  Target (issue 5): ADD under 50 ms.
#
# Prints a table, then one line of JSON starting with "cni-bench: ", and exits non-zero if the
# median ADD misses the target.
. "$(dirname "$0")/../lib/lib.sh"
[ -n "${1:-}" ] && VSW_BUILD=$(cd "$1" && pwd)
N=${CNI_BENCH_N:-50}
TARGET_MS=50
preflight

cni_setup node 10.244.0.0/16
conf=$(cni_conf podnet 1.0.0 '{"logLevel": "info"}')
for i in $(seq 1 "$N"); do
    add_ns "b$i"
done

# One shell in the node runs every call and prints "VERB SECONDS" per call.
times=$VSW_TMPDIR/times
printf '%s' "$conf" >"$VSW_TMPDIR/conf.json"
# shellcheck disable=SC2016  # the script is for the inner shell
ip netns exec "$(ns node)" bash -c '
    set -e
    n=$1 prefix=$2 plugin=$3 cnibin=$4 conf=$5
    for verb in ADD DEL; do
        for i in $(seq 1 "$n"); do
            start=$EPOCHREALTIME
            CNI_COMMAND=$verb CNI_CONTAINERID=b$i CNI_NETNS=/run/netns/${prefix}b$i \
            CNI_IFNAME=eth0 CNI_PATH=$cnibin \
            CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=b$i" \
                "$plugin" <"$conf" >/dev/null
            echo "$verb $start $EPOCHREALTIME"
        done
    done' _ "$N" "$VSW_NS_PREFIX" "$VSW_BUILD/vswitch-cni" "$CNI_BIN" "$VSW_TMPDIR/conf.json" \
    >"$times" || fail "a plugin run failed (log: $(tail -3 "$CNI_LOG"))"

stats() {
    awk -v verb="$1" '$1 == verb { d = ($3 - $2) * 1000; print d; total += d }' "$times" |
        sort -n | awk '{ v[NR] = $1; s += $1 } END {
            printf "%.1f %.1f %.1f %.1f\n", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR], s }'
}
read -r add_med add_p90 add_max add_total <<<"$(stats ADD)"
read -r del_med del_p90 del_max _ <<<"$(stats DEL)"
pods_per_s=$(awk -v n="$N" -v t="$add_total" 'BEGIN { printf "%.1f", n / (t / 1000) }')

printf '\nCNI plugin (vswitch-cni + host-local), %d pods, one at a time\n' "$N"
printf '  %-6s %10s %10s %10s\n' "" "median ms" "p90 ms" "max ms"
printf '  %-6s %10s %10s %10s\n' ADD "$add_med" "$add_p90" "$add_max"
printf '  %-6s %10s %10s %10s\n' DEL "$del_med" "$del_p90" "$del_max"
printf '  pods wired per second: %s (target: ADD median under %d ms)\n' "$pods_per_s" "$TARGET_MS"
printf 'cni-bench: {"pods": %d, "add_ms": {"median": %s, "p90": %s, "max": %s}, "del_ms": {"median": %s, "p90": %s, "max": %s}, "pods_per_second": %s, "add_target_ms": %d}\n' \
    "$N" "$add_med" "$add_p90" "$add_max" "$del_med" "$del_p90" "$del_max" "$pods_per_s" "$TARGET_MS"

[ "$(leases podnet)$(host_veths)$(port_names node)" = "" ] || fail "the benchmark left pods behind"
awk -v m="$add_med" -v t="$TARGET_MS" 'BEGIN { exit !(m < t) }' ||
    fail "median ADD ${add_med} ms misses the ${TARGET_MS} ms target"
