# shellcheck shell=bash
# tests/lib/runner.sh — what the suite runners (tests/system/run.sh, tests/k8s/run.sh) share:
# one PASS/FAIL line per test, the failed test's output, and the closing "N passed, N failed"
# that make check's readers look for.  The runner keeps the counts in passed, failed and
# failed_names, which it starts itself (the cluster runner counts its start-up as a test).

# runner_report NAME SECONDS RC OUTPUT TAIL: counts the test and prints its line; a failed
# test's last TAIL lines of OUTPUT follow it.
runner_report() {
    local name=$1 dur=$2 rc=$3 out=$4 tail_lines=$5
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'PASS  %-28s %3ss\n' "$name" "$dur"
        [ "${VSW_SHOW_OUTPUT:-0}" = 1 ] && sed 's/^/    /' "$out"
    else
        failed=$((failed + 1)); failed_names+=("$name")
        printf 'FAIL  %-28s %3ss (exit %s)\n' "$name" "$dur" "$rc"
        sed 's/^/    | /' "$out" | tail -n "$tail_lines"
    fi
    return 0
}

# runner_summary: the closing lines; its status is the suite's (0 when nothing failed).
runner_summary() {
    [ "$failed" -gt 0 ] && echo "failed: ${failed_names[*]}"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
