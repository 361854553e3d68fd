#!/usr/bin/env bash
# A recorded fuzz campaign: for each TARGET, one libFuzzer run with the
# corpus kept, then `cargo fuzz cmin`, then the figures FUZZING.md records.
#
#   scripts/fuzz_campaign.sh [--minutes N | --seconds N] [--sanitizer S]
#                            [--commit] [--all] TARGET...
#
#   --minutes N    run each target N minutes (default 10)
#   --seconds N    run each target N seconds (overrides --minutes)
#   --sanitizer S  none (default, stable toolchain) or address (sets
#                  RUSTC_BOOTSTRAP=1 and builds into fuzz/target/asan, so
#                  the uninstrumented build is left alone)
#   --commit       copy the useful new inputs into fuzz/corpus/TARGET: those
#                  of the minimised corpus that cover an edge the committed
#                  corpus does not (nothing is ever deleted from it)
#   --coverage     then scripts/fuzz_coverage.sh: the lines of src/ the
#                  corpus runs (the committed corpus with --commit, else
#                  min/); needs `rustup component add llvm-tools`
#   --all          every target `cargo fuzz list` names
#   -h, --help     this text
#
# One target at a time, one libFuzzer worker: the campaign is meant to run
# in the background of a shared machine. Per target, under
# fuzz/campaign/TARGET/ (git-ignored):
#
#   corpus/        the inputs this and earlier campaign runs found (kept
#                  across invocations, so a second run continues the first)
#   min/           committed corpus + corpus/, minimised by `cargo fuzz cmin`
#   add/           committed corpus + the inputs of min/ that add covered
#                  edges to it (`-merge=1 -use_counters=0`: hit counts do
#                  not count, so a new input must reach new code): the
#                  useful new inputs
#   run-*.log      libFuzzer's output; load-*.txt the load average samples
#
# and one line per run is appended to fuzz/campaign/results.tsv
# ("committed" the committed corpus before the run, "corpus_after_run" plus
# the kept corpus, "cmin" both minimised, "added" the useful new inputs):
#
#   target commit sanitizer seconds execs exec/s cov_start cov_end ft_start
#   ft_end committed corpus_after_run cmin added copied load_mean load_max
#   finding
#
# cov/ft are libFuzzer's own counters: `cov` covered edges (PCs of the
# sanitizer-coverage instrumentation), `ft` features (edges with hit-count
# buckets, plus compare operands). *_start is after the committed corpus and
# the kept corpus were loaded (INITED), *_end at the end of the run (DONE).
#
# The exit status is 1 if any target crashed, timed out or failed to run
# (the artifact is in fuzz/artifacts/TARGET/, the log names it), else 0.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

seconds=600
sanitizer=none
commit=0
coverage=0
all=0
targets=()
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --minutes)
        [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || {
            echo "fuzz_campaign.sh: --minutes needs a whole number" >&2
            exit 2
        }
        seconds=$(($2 * 60))
        shift 2
        ;;
    --seconds)
        [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || {
            echo "fuzz_campaign.sh: --seconds needs a whole number" >&2
            exit 2
        }
        seconds=$2
        shift 2
        ;;
    --sanitizer)
        [[ $# -ge 2 && ($2 == none || $2 == address) ]] || {
            echo "fuzz_campaign.sh: --sanitizer is none or address" >&2
            exit 2
        }
        sanitizer=$2
        shift 2
        ;;
    --commit)
        commit=1
        shift
        ;;
    --coverage)
        coverage=1
        shift
        ;;
    --all)
        all=1
        shift
        ;;
    -*)
        echo "fuzz_campaign.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    *)
        targets+=("$1")
        shift
        ;;
    esac
done

command -v cargo-fuzz >/dev/null || {
    echo "fuzz_campaign.sh: cargo-fuzz missing (cargo install cargo-fuzz --locked)" >&2
    exit 2
}
known=$(cargo fuzz list)
if [[ $all -eq 1 ]]; then
    mapfile -t targets <<<"$known"
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz_campaign.sh: name at least one target, or --all (see --help)" >&2
    exit 2
fi
for t in "${targets[@]}"; do
    grep -qx -- "$t" <<<"$known" || {
        echo "fuzz_campaign.sh: no fuzz target '$t' (cargo fuzz list: $(tr '\n' ' ' <<<"$known"))" >&2
        exit 2
    }
done

fuzz_args=(--sanitizer "$sanitizer")
if [[ $sanitizer == address ]]; then
    export RUSTC_BOOTSTRAP=1
    fuzz_args+=(--target-dir fuzz/target/asan)
fi

root=fuzz/campaign
mkdir -p "$root"
results=$root/results.tsv
[[ -f $results ]] || printf '%s\n' "target	commit	sanitizer	seconds	execs	exec_per_s	cov_start	cov_end	ft_start	ft_end	committed	corpus_after_run	cmin	added	copied	load_mean	load_max	finding" >"$results"
rev=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src fuzz/bodies fuzz/fuzz_targets fuzz/Cargo.toml 2>/dev/null || rev="$rev+dirty"

count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
# Field N of libFuzzer's first/last status line of KIND (INITED / DONE).
# Empty (not a failure) when there is none: a crashed run has no DONE line.
status_field() { # log kind field
    { grep -E "^#[0-9]+[[:space:]]+$2 " "$1" || true; } | tail -n 1 |
        sed -nE "s/.* $3: ([0-9]+).*/\1/p"
}

failed=0
printf '%-18s %-9s %6s %12s %8s %13s %13s %8s %s\n' target commit secs execs exec/s cov ft corpus "load finding"
for t in "${targets[@]}"; do
    dir=$root/$t
    mkdir -p "$dir/corpus"
    committed=fuzz/corpus/$t
    mkdir -p "$committed"
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    log=$dir/run-$stamp.log
    loads=$dir/load-$stamp.txt
    n_committed=$(count "$committed")

    cargo fuzz build "${fuzz_args[@]}" "$t" >/dev/null 2>"$dir/build-$stamp.log" || {
        echo "$t: build failed, see $dir/build-$stamp.log" >&2
        failed=1
        continue
    }

    # One load-average sample per 15 s while the target runs.
    (
        while sleep 15; do cut -d' ' -f1 /proc/loadavg; done
    ) >"$loads" &
    sampler=$!
    rc=0
    # New inputs go to $dir/corpus (the first directory); the committed
    # corpus is only read. -timeout: an input running 25 s is a hang.
    cargo fuzz run "${fuzz_args[@]}" "$t" "$dir/corpus" "$committed" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
        >"$log" 2>&1 || rc=$?
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    cut -d' ' -f1 /proc/loadavg >>"$loads"

    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    cov0=$(status_field "$log" INITED cov)
    ft0=$(status_field "$log" INITED ft)
    cov1=$(status_field "$log" DONE cov)
    ft1=$(status_field "$log" DONE ft)
    load=$(awk '{ s += $1; if ($1 > m) m = $1 } END { if (NR) printf "%.1f %.1f", s / NR, m }' "$loads")
    read -r load_mean load_max <<<"${load:-? ?}"
    n_run=$((n_committed + $(count "$dir/corpus")))

    finding=-
    if [[ $rc -ne 0 ]]; then
        failed=1
        artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
        # (sed, not head: head would close the pipe early, and with
        # pipefail grep's SIGPIPE would end the script.)
        kind=$({ grep -oE 'ERROR: libFuzzer: [a-z-]+|panicked at [^ ]+' "$log" || true; } | sed -n 1p)
        finding="exit $rc: ${kind:-see $log} ${artifact:+($artifact)}"
        # The end-of-run figures are those of the last status line.
        cov1=$({ grep -E '^#[0-9]+' "$log" || true; } | tail -n 1 | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
        ft1=$({ grep -E '^#[0-9]+' "$log" || true; } | tail -n 1 | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
    fi

    # Minimise committed + kept corpus together (the figure "cmin").
    rm -rf "$dir/min"
    mkdir -p "$dir/min"
    cp -- "$committed"/* "$dir/corpus"/* "$dir/min"/ 2>/dev/null || true
    n_min=?
    added=?
    if cargo fuzz cmin "${fuzz_args[@]}" "$t" "$dir/min" >"$dir/cmin-$stamp.log" 2>&1; then
        n_min=$(count "$dir/min")
        # The useful new inputs: those of the minimised set that cover an
        # edge the committed corpus does not (libFuzzer's merge into a copy
        # of the committed corpus adds exactly those; -use_counters=0 makes
        # an edge one feature whatever its hit count, so inputs that only
        # run known code more often are left out).
        rm -rf "$dir/add"
        mkdir -p "$dir/add"
        cp -- "$committed"/* "$dir/add"/ 2>/dev/null || true
        if cargo fuzz run "${fuzz_args[@]}" "$t" "$dir/add" "$dir/min" -- -merge=1 -use_counters=0 \
            >"$dir/merge-$stamp.log" 2>&1; then
            declare -A have=()
            for f in "$committed"/*; do
                [[ -f $f ]] && have[$(sha1sum <"$f" | cut -d' ' -f1)]=1
            done
            added=0
            for f in "$dir/add"/*; do
                h=$(sha1sum <"$f" | cut -d' ' -f1)
                if [[ -z ${have[$h]:-} ]]; then
                    added=$((added + 1))
                    [[ $commit -eq 1 ]] && cp -- "$f" "$committed/$h"
                fi
            done
            unset have
        else
            echo "$t: merge into the committed corpus failed, see $dir/merge-$stamp.log" >&2
        fi
    else
        echo "$t: cargo fuzz cmin failed, see $dir/cmin-$stamp.log" >&2
    fi
    copied=no
    [[ $commit -eq 1 ]] && copied=yes

    printf '%s\n' "$t	$rev	$sanitizer	$seconds	${execs:-?}	${rate:-?}	${cov0:-?}	${cov1:-?}	${ft0:-?}	${ft1:-?}	$n_committed	$n_run	$n_min	$added	$copied	$load_mean	$load_max	$finding" >>"$results"
    printf '%-18s %-9s %6s %12s %8s %13s %13s %8s %s\n' "$t" "$rev" "$seconds" "${execs:-?}" "${rate:-?}" \
        "${cov0:-?}->${cov1:-?}" "${ft0:-?}->${ft1:-?}" "$n_committed->$n_run->$n_min(+$added$([[ $commit -eq 1 ]] || echo ' not copied'))" \
        "load ${load_mean}/${load_max} $finding"
    if [[ $coverage -eq 1 ]]; then
        cov_corpus=$dir/min
        [[ $commit -eq 1 ]] && cov_corpus=$committed
        scripts/fuzz_coverage.sh --corpus "$cov_corpus" "$t" || failed=1
    fi
done
echo "figures appended to $results; logs in $root/TARGET/"
exit "$failed"
