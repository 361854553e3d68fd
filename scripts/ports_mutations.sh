#!/usr/bin/env bash
# Mutation check for the ports hardening: proves that each hardening check in
# src/ports/ has a test that FAILS without it.
#
# Usage:
#   scripts/ports_mutations.sh              # every mutant
#   scripts/ports_mutations.sh 03 merge     # only mutants whose file name
#                                           # contains one of the words
#
# Each mutant is scripts/mutants/ports/NN-name.patch: a small unified diff
# (paths a/src/ports/..., b/src/ports/..., applied with `patch -p1`) that
# removes or weakens exactly one check. Its header (lines before the diff,
# ignored by patch) names the check and one or more tests:
#
#   # check: what the mutant removes
#   # test: <cargo test build args> -- <test filter>
#
# e.g. `# test: --features sim --test ports_hardening -- stale_and_duplicate`.
#
# What the script does:
#   1. copies the working tree (tracked and untracked, not ignored files, so
#      uncommitted test edits count) into a scratch directory; the real tree
#      is never modified;
#   2. baseline: every distinct `# test:` line must PASS on the unmutated
#      copy and run at least one test (a filter matching nothing would make
#      every mutant "survive" for the wrong reason, and a test that fails
#      anyway would "kill" everything);
#   3. per mutant: restores src/ports from the real tree, applies the patch,
#      builds the test targets (`cargo test --no-run`), then runs the tests;
#      the mutant is killed if at least one of its tests fails (or hangs past
#      PORTS_MUTANTS_TIMEOUT seconds, default 300).
#
# Output: one line per mutant, `killed|SURVIVED name test...`, then a total
# and the wall time. A patch that does not apply or does not compile is
# reported as `NOT-APPLICABLE name reason`. Exit status is non-zero if any
# mutant survived, was not applicable, or a baseline test failed.
#
# Environment:
#   PORTS_MUTANTS_TARGET_DIR target dir shared by all mutants, so each
#                            rebuilds only this crate (default:
#                            <repo>/target/ports-mutants; the first run builds
#                            the dependencies there once). Never the tree's own
#                            target dir: see the comment at its definition.
#   PORTS_MUTANTS_TIMEOUT    per test run, seconds (default 300)
#   PORTS_MUTANTS_KEEP_LOGS  if set, logs stay in $PORTS_MUTANTS_TARGET_DIR/scratch.logs/
#
# The scratch copy is $PORTS_MUTANTS_TARGET_DIR/scratch (rebuilt each run).
#
# Cost: one crate rebuild plus test-binary links per mutant, a few seconds
# each (58 mutants: about 2.5 minutes on a shared 2-core machine, once the
# dependencies are built; about 8 minutes from cold). Run by
# scripts/test-all.sh, hence by CI.

set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
MUT_DIR="$ROOT/scripts/mutants/ports"
# A target dir of its own: cargo names a path package's artifacts without
# its location, so building the scratch copy in the tree's own target dir
# would overwrite the tree's artifacts with mutated ones that a later
# `cargo test` in the tree could take as fresh.
export CARGO_TARGET_DIR="${PORTS_MUTANTS_TARGET_DIR:-$ROOT/target/ports-mutants}"
# Always the same path for a given target dir: cargo's dependency info for
# the crate records absolute source paths, so a second scratch path sharing
# this target dir could have its build judged fresh against the first one's
# (older) files.
SCRATCH="$CARGO_TARGET_DIR/scratch"
LOGS="$SCRATCH.logs"
TIMEOUT="${PORTS_MUTANTS_TIMEOUT:-300}"
start=$(date +%s)

case "$CARGO_TARGET_DIR" in
"$ROOT" | "$ROOT/" | "/" | "") echo "refusing target dir '$CARGO_TARGET_DIR'" >&2; exit 2 ;;
esac

# 1. Scratch copy of the working tree.
rm -rf "$SCRATCH" "$LOGS"
mkdir -p "$SCRATCH" "$LOGS"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf -) | tar -C "$SCRATCH" -m -xf -

restore() {
    rm -rf "$SCRATCH/src/ports"
    cp -r "$ROOT/src/ports" "$SCRATCH/src/ports"
}

# run_tests LOG SPEC: builds then runs one `# test:` spec in the scratch tree.
# Returns 0 pass, 1 test failure, 2 build failure, 3 timeout.
run_tests() {
    local log=$1 spec=$2 build filter
    build=${spec%% -- *}
    filter=""
    [[ "$spec" == *" -- "* ]] && filter=${spec#* -- }
    # shellcheck disable=SC2086 # word splitting of the spec is intended
    if ! (cd "$SCRATCH" && cargo test -q $build --no-run) >>"$log" 2>&1; then
        return 2
    fi
    local rc=0
    # shellcheck disable=SC2086
    (cd "$SCRATCH" && timeout "$TIMEOUT" cargo test -q $build -- $filter) >>"$log" 2>&1 || rc=$?
    if [ "$rc" -eq 124 ]; then return 3; fi
    if [ "$rc" -ne 0 ]; then return 1; fi
    return 0
}

specs_of() { sed -n 's/^# test: *//p' "$1"; }

shopt -s nullglob
mutants=()
for f in "$MUT_DIR"/*.patch; do
    base=$(basename "$f" .patch)
    if [ $# -gt 0 ]; then
        hit=0
        for w in "$@"; do [[ "$base" == *"$w"* ]] && hit=1; done
        [ $hit -eq 1 ] || continue
    fi
    mutants+=("$f")
done
if [ ${#mutants[@]} -eq 0 ]; then
    echo "no mutants found in $MUT_DIR" >&2
    exit 2
fi

status=0

# 2. Baseline: each distinct spec passes on the unmutated tree and runs tests.
restore
declare -A seen=()
for f in "${mutants[@]}"; do
    while IFS= read -r spec; do
        [ -n "$spec" ] || continue
        [ -z "${seen[$spec]:-}" ] || continue
        seen[$spec]=1
        log="$LOGS/baseline.log"
        echo "=== $spec" >>"$log"
        before=$(wc -l <"$log")
        if run_tests "$log" "$spec"; then
            # `cargo test -q` prints one "test result" line per test binary.
            if ! tail -n +"$before" "$log" | grep -Eq 'test result: ok\. [1-9]'; then
                echo "BASELINE-EMPTY $spec (no test matched)"
                status=1
            fi
        else
            echo "BASELINE-FAILED $spec (see $log)"
            status=1
        fi
    done < <(specs_of "$f")
done
if [ $status -ne 0 ]; then
    PORTS_MUTANTS_KEEP_LOGS=1
    echo "baseline failed; logs in $LOGS" >&2
    exit 1
fi

# 3. Mutants.
killed=0
survived=0
broken=0
for f in "${mutants[@]}"; do
    name=$(basename "$f" .patch)
    log="$LOGS/$name.log"
    restore
    mapfile -t specs < <(specs_of "$f")
    if [ ${#specs[@]} -eq 0 ]; then
        echo "NOT-APPLICABLE $name no '# test:' line"
        broken=$((broken + 1))
        continue
    fi
    if ! (cd "$SCRATCH" && patch -p1 -s --no-backup-if-mismatch -r - <"$f") >>"$log" 2>&1; then
        echo "NOT-APPLICABLE $name patch does not apply (see $log)"
        broken=$((broken + 1))
        continue
    fi
    verdict=SURVIVED
    why=()
    for spec in "${specs[@]}"; do
        rc=0
        before=$(($(wc -l <"$log") + 1))
        run_tests "$log" "$spec" || rc=$?
        # Where the first failing assertion is, to check the kill's reason.
        at=$(tail -n +"$before" "$log" | grep -o 'panicked at [^ ]*' | head -n 1 || true)
        case $rc in
        0) why+=("[$spec: passed]") ;;
        1) verdict=killed; why+=("[$spec: FAILED${at:+ $at}]") ;;
        3) verdict=killed; why+=("[$spec: TIMEOUT]") ;;
        2) verdict=NOT-APPLICABLE; why+=("[$spec: does not compile, see $log]"); break ;;
        esac
    done
    case $verdict in
    killed) killed=$((killed + 1)) ;;
    SURVIVED) survived=$((survived + 1)) ;;
    *) broken=$((broken + 1)) ;;
    esac
    echo "$verdict $name ${why[*]}"
done
restore

end=$(date +%s)
echo "total ${#mutants[@]}: killed $killed, survived $survived, not applicable $broken; wall $((end - start)) s"
if [ -z "${PORTS_MUTANTS_KEEP_LOGS:-}" ] && [ $survived -eq 0 ] && [ $broken -eq 0 ]; then
    rm -rf "$LOGS"
else
    echo "logs in $LOGS"
fi
[ $survived -eq 0 ] && [ $broken -eq 0 ]
