#!/usr/bin/env bash
# tests/fuzz/run.sh FUZZ_DIR [SECONDS] [TARGET...] — runs the libFuzzer targets built by
# `make fuzz` in FUZZ_DIR (build/fuzz): first every seed and every regression input once
# (tests/fuzz/corpus/TARGET, tests/fuzz/regress/TARGET, and the seeds gen-seeds writes into
# FUZZ_DIR/seeds/TARGET), then each target for SECONDS (default 20) of fuzzing, growing its
# corpus in FUZZ_DIR/corpus/TARGET (kept between runs).  TARGET names a target ("pipeline"
# or "fuzz-pipeline"); default: all of them.
#
# Prints one PASS/FAIL line per target with its executions and coverage; a finding leaves
# its input in FUZZ_DIR/artifacts/ and the command that reproduces it; exits non-zero if any
# target failed.  FUZZ_JOBS=N runs N fuzzing processes per target (for long runs).
set -u

fuzz_dir=${1:?usage: $0 FUZZ_DIR [SECONDS] [TARGET...]}
secs=${2:-20}
shift $(($# >= 2 ? 2 : 1))
here=$(cd "$(dirname "$0")" && pwd)
fuzz_dir=$(cd "$fuzz_dir" 2>/dev/null && pwd) || { echo "run.sh: no $1 (make fuzz)" >&2; exit 2; }
jobs=${FUZZ_JOBS:-1}

if [ $# -gt 0 ]; then
    targets=()
    for t in "$@"; do t=${t#fuzz-}; targets+=("$t"); done
else
    targets=()
    for f in "$here"/fuzz-*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz-}"); done
fi

mkdir -p "$fuzz_dir/seeds" "$fuzz_dir/artifacts" "$fuzz_dir/logs"
"$fuzz_dir/gen-seeds" "$fuzz_dir/seeds" || { echo "run.sh: gen-seeds failed" >&2; exit 1; }

echo "fuzz: ${#targets[@]} targets, ${secs}s each, $jobs job(s) each, binaries in $fuzz_dir"
failed=()
for t in "${targets[@]}"; do
    bin=$fuzz_dir/fuzz-$t
    log=$fuzz_dir/logs/$t.log
    corpus=$fuzz_dir/corpus/$t
    [ -x "$bin" ] || { echo "FAIL  fuzz-$t: $bin not built (make fuzz)"; failed+=("$t"); continue; }
    mkdir -p "$corpus"
    inputs=()
    for d in "$here/corpus/$t" "$here/regress/$t" "$fuzz_dir/seeds/$t"; do
        [ -d "$d" ] && inputs+=("$d")
    done
    opts=(-timeout=10 -rss_limit_mb=2560 -print_final_stats=1
          "-artifact_prefix=$fuzz_dir/artifacts/$t-")
    start=$SECONDS

    # Every seed and regression input must pass before anything is mutated.
    if ! "$bin" "${opts[@]}" -runs=0 "${inputs[@]}" >"$log" 2>&1; then
        echo "FAIL  fuzz-$t: a seed or regression input fails"
        grep -a -E -A25 'ERROR:|fuzz-[a-z-]+: |runtime error' "$log" | head -60 | sed 's/^/    | /'
        failed+=("$t")
        continue
    fi
    if [ "$jobs" -gt 1 ]; then
        opts+=(-jobs="$jobs" -workers="$jobs")
    fi
    "$bin" "${opts[@]}" -max_total_time="$secs" "$corpus" "${inputs[@]}" >>"$log" 2>&1
    rc=$?
    runs=$(grep -a -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' |
           awk '{s += $1} END {print s + 0}')
    cov=$(grep -a -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+')
    dur=$((SECONDS - start))
    if [ $rc -eq 0 ] && ! grep -a -q -E 'ERROR: (libFuzzer|[A-Za-z]+Sanitizer)' "$log"; then
        printf 'PASS  fuzz-%-12s %4ss %10s runs  cov %s  corpus %s\n' "$t" "$dur" "$runs" \
            "${cov:-?}" "$(find "$corpus" -type f | wc -l)"
    else
        printf 'FAIL  fuzz-%-12s %4ss (exit %s)\n' "$t" "$dur" "$rc"
        grep -a -E -A30 'ERROR:|fuzz-[a-z-]+: |runtime error' "$log" | head -80 | sed 's/^/    | /'
        grep -a -Eo "Test unit written to [^ ]+" "$log" | awk '{print $NF}' |
            while read -r a; do echo "    reproduce: $bin $a"; done
        failed+=("$t")
    fi
done

[ ${#failed[@]} -gt 0 ] && echo "fuzz: failed: ${failed[*]}"
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
