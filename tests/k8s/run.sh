#!/usr/bin/env bash
# The cluster tests: one real Kubernetes 1.20 (tests/k8s/cluster-lib.sh) brought up for the
# run, the product deployed with kubectl apply, then every tests/k8s/test-*.sh (or those
# named) run against it in order, each in a subshell, one PASS/FAIL line each, as
# tests/system/run.sh prints them.  Starting the cluster costs about a minute and is paid
# once; everything is removed on exit.
#   tests/k8s/run.sh BUILD_DIR [TEST...]
# VSW_KEEP=1 keeps the scratch directory (logs of every component) after the run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILD_DIR [TEST...]}
shift
VSW_BUILD=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build directory $build" >&2; exit 2; }
export VSW_BUILD
VSW_TEST_NAME=k8s-cluster
. "$here/../lib/lib.sh"
. "$here/cluster-lib.sh"
# shellcheck source=../lib/runner.sh
. "$here/../lib/runner.sh"

if [ $# -gt 0 ]; then
    tests=()
    for t in "$@"; do t=${t#test-}; tests+=("$here/test-${t%.sh}.sh"); done
else
    # In this order: the cheap checks of the deployment first, the API server's outage last.
    tests=()
    for t in deploy rbac service pod-delete restart apiserver-down; do
        tests+=("$here/test-$t.sh")
    done
    for t in "$here"/test-*.sh; do
        case " ${tests[*]} " in *" $t "*) ;; *) tests+=("$t") ;; esac
    done
fi
echo "cluster tests: ${#tests[@]} tests, binaries in $VSW_BUILD"

# kc_up runs in this shell (its cleanups are this shell's); if it fails, the report is the
# last cleanup, written to the runner's stdout (fd 3: the cleanup stack silences the others).
exec 3>&1
KC_UP_DONE=0
_kc_up_report() {
    [ "$KC_UP_DONE" = 1 ] && return 0
    {
        echo "FAIL  cluster-up                   $((SECONDS - start))s"
        sed 's/^/    | /' "$VSW_TMPDIR/cluster-up.log" | tail -n 60
        for f in "$VSW_TMPDIR"/cluster/*.log "$VSW_TMPDIR"/cluster/node-*/*.log; do
            [ -f "$f" ] || continue
            echo "    --- $f"; tail -n 12 "$f" | sed 's/^/    | /'
        done
        echo "0 passed, 1 failed"
    } >&3
}
on_exit _kc_up_report
start=$SECONDS
kc_up >"$VSW_TMPDIR/cluster-up.log" 2>&1
KC_UP_DONE=1
echo "PASS  cluster-up                   $((SECONDS - start))s"
[ "${VSW_SHOW_OUTPUT:-0}" = 1 ] && sed 's/^/    /' "$VSW_TMPDIR/cluster-up.log"

passed=1 failed=0 failed_names=()
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    out=$VSW_TMPDIR/$name.out
    start=$SECONDS
    if [ ! -f "$t" ]; then
        echo "no such test: $t" >"$out"; rc=2
    else
        (VSW_TEST_NAME=$name; . "$t") >"$out" 2>&1 </dev/null
        rc=$?
    fi
    runner_report "$name" $((SECONDS - start)) "$rc" "$out" 100
done
runner_summary
