#!/usr/bin/env bash
# tests/system/run.sh BUILD_DIR [TEST...] — runs the system tests against the binaries in
# BUILD_DIR (build/ or build/san).  Each tests/system/test-*.sh runs alone, as root, with a
# time limit (VSW_TEST_TIMEOUT seconds, default 90), its own run id and scratch directory.
# Prints one PASS/FAIL line per test, the output of every failed test, and closes with
# "N passed, N failed"; exits non-zero when any test failed.
#
# TEST may name tests to run ("ping", "test-ping.sh" or a path); default: all of them.
# VSW_OFFLOAD=none runs every vswitchd without the kernel fast path (default: tc).
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILD_DIR [TEST...]}
shift
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build directory $1" >&2; exit 2; }
timeout_s=${VSW_TEST_TIMEOUT:-90}

if [ $# -gt 0 ]; then
    tests=()
    for t in "$@"; do
        if [ -f "$t" ]; then
            tests+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")")
        else
            t=${t#test-}; t=${t%.sh}
            tests+=("$here/test-$t.sh")
        fi
    done
else
    tests=("$here"/test-*.sh)
fi

# A sanitizer build announces itself: say so, so that the two passes of `make check` differ.
flavour=plain
if nm -an "$build/vswitchd" 2>/dev/null | grep -q __asan_init; then
    flavour="ASan/UBSan"
fi
echo "system tests: ${#tests[@]} tests, binaries in $build ($flavour), --offload ${VSW_OFFLOAD:-tc}, ${timeout_s}s each"

# shellcheck source=../lib/runner.sh
. "$here/../lib/runner.sh"
passed=0 failed=0 failed_names=()
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    run_id=$(printf '%x%x' "$$" "$((RANDOM % 4096))")
    tmp=$(mktemp -d "/tmp/vsw-$run_id.XXXXXX")
    out=$tmp/output
    start=$SECONDS
    if [ ! -f "$t" ]; then
        echo "no such test: $t" >"$out"; rc=2
    else
        VSW_BUILD=$build VSW_RUN=$run_id VSW_TMPDIR=$tmp VSW_TEST_NAME=$name \
            timeout --kill-after=15 "$timeout_s" bash "$t" >"$out" 2>&1 </dev/null
        rc=$?
    fi
    [ $rc -eq 124 ] && echo "TIMEOUT after ${timeout_s}s" >>"$out"

    # Whatever the test left behind (it should leave nothing): its namespaces and processes.
    for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^vsw-$run_id-"); do
        pids=$(ip netns pids "$n" 2>/dev/null)
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null
        ip netns del "$n" 2>/dev/null
        echo "run.sh: removed leftover namespace $n" >>"$out"
        [ $rc -eq 0 ] && rc=1 && echo "FAIL: the test left namespace $n behind" >>"$out"
    done
    # Sanitizer reports fail the test even if the test itself missed them.
    if [ $rc -eq 0 ] && grep -Eqs 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$tmp"/vswitchd-*.log
    then
        echo "FAIL: sanitizer report in a vswitchd log" >>"$out"
        grep -Ehs -A20 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$tmp"/vswitchd-*.log >>"$out"
        rc=1
    fi

    runner_report "$name" $((SECONDS - start)) "$rc" "$out" 120
    # The bpffs the test library mounted for the fast path's pins (tests/lib/netns.sh).
    umount -l "$tmp/bpffs" 2>/dev/null
    rm -rf "$tmp"
done

runner_summary
