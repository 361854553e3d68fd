#!/usr/bin/env bash
# Source coverage of the crate reached by a fuzz target's corpus:
# `cargo fuzz coverage` (stable toolchain, no sanitizer) replays the corpus
# through a binary built with -Cinstrument-coverage, then `llvm-cov report`
# prints, per file of src/, the lines, regions and functions executed.
#
#   scripts/fuzz_coverage.sh [--corpus DIR] [--show] TARGET...
#
#   --corpus DIR  replay DIR instead of the committed corpus fuzz/corpus/TARGET
#                 (only with one TARGET)
#   --show        also print the lines never executed of the files reached
#   -h, --help    this text
#
# Needs the llvm-tools rustup component (`rustup component add llvm-tools`).
# Needs python3 (for the table). The report is also written to
# fuzz/campaign/TARGET/coverage.txt (llvm-cov's JSON summary to coverage.json,
# the unexecuted lines to uncovered.txt). Lines of the fuzz body itself, of std
# and of dependencies are left out of the figures: TOTAL is the crate's own
# code that the target links.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

corpus=
show=0
targets=()
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --corpus)
        [[ $# -ge 2 ]] || {
            echo "fuzz_coverage.sh: --corpus needs a directory" >&2
            exit 2
        }
        corpus=$2
        shift 2
        ;;
    --show)
        show=1
        shift
        ;;
    -*)
        echo "fuzz_coverage.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    *)
        targets+=("$1")
        shift
        ;;
    esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz_coverage.sh: name at least one target (see --help)" >&2
    exit 2
fi
if [[ -n $corpus && ${#targets[@]} -ne 1 ]]; then
    echo "fuzz_coverage.sh: --corpus goes with exactly one target" >&2
    exit 2
fi
llvm=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin
[[ -x $llvm/llvm-cov ]] || {
    echo "fuzz_coverage.sh: llvm-cov missing (rustup component add llvm-tools)" >&2
    exit 2
}
host=$(rustc -vV | sed -n 's/^host: //p')
known=$(cargo fuzz list)
# Leave out std, dependencies and the fuzz bodies: the crate's src/ only.
ignore='(/\.cargo/|/rustc/|/library/|(^|/)fuzz/)'

for t in "${targets[@]}"; do
    grep -qx -- "$t" <<<"$known" || {
        echo "fuzz_coverage.sh: no fuzz target '$t'" >&2
        exit 2
    }
    dir=${corpus:-fuzz/corpus/$t}
    out=fuzz/campaign/$t
    mkdir -p "$out"
    cargo fuzz coverage --sanitizer none "$t" "$dir" >"$out/coverage-run.log" 2>&1 || {
        echo "$t: cargo fuzz coverage failed, see $out/coverage-run.log" >&2
        exit 1
    }
    bin=target/$host/coverage/$host/release/$t
    prof=fuzz/coverage/$t/coverage.profdata
    "$llvm/llvm-cov" export "$bin" -instr-profile="$prof" -summary-only \
        -ignore-filename-regex="$ignore" >"$out/coverage.json"
    "$llvm/llvm-cov" show "$bin" -instr-profile="$prof" \
        -ignore-filename-regex="$ignore" |
        awk '/^[^ ].*\.rs:$/ { file = $0; sub(/^.*\/src\//, "src/", file); next }
             /^ *[0-9]+\| *0\|/ { print file " " $0 }' >"$out/uncovered.txt" || true
    n=$(find "$dir" -maxdepth 1 -type f | wc -l)
    echo "== $t: $n inputs from $dir (lines / regions / functions executed)"
    python3 - "$out/coverage.json" "$out/reached.txt" <<'PY' | tee "$out/coverage.txt"
import json, re, sys
data = json.load(open(sys.argv[1]))["data"][0]
def row(name, s):
    l, r, f = s["lines"], s["regions"], s["functions"]
    return (f"  {name:<34} lines {l['covered']:>5} of {l['count']:>5} {l['percent']:7.2f}%"
            f"   regions {r['percent']:7.2f}%   functions {f['covered']:>3} of {f['count']:>3}")
reached = [f for f in data["files"] if f["summary"]["lines"]["covered"] > 0]
for f in sorted(reached, key=lambda f: f["filename"]):
    print(row(re.sub(r"^.*?/src/", "src/", f["filename"]), f["summary"]))
total = {k: {"covered": sum(f["summary"][k]["covered"] for f in reached),
             "count": sum(f["summary"][k]["count"] for f in reached)}
         for k in ("lines", "regions", "functions")}
for v in total.values():
    v["percent"] = 100.0 * v["covered"] / v["count"] if v["count"] else 0.0
print(row(f"files reached ({len(reached)})", total))
with open(sys.argv[2], "w") as out:
    for f in reached:
        out.write(re.sub(r"^.*?/src/", "src/", f["filename"]) + ":\n")
print(f"  ({len(data['files']) - len(reached)} other files of src/ in the binary, none of their lines run)")
PY
    if [[ $show -eq 1 ]]; then
        # The unexecuted lines of the files reached.
        awk 'NR == FNR { reached[$0] = 1; next } ($1 in reached) { print "  never run: " $0 }' \
            "$out/reached.txt" "$out/uncovered.txt"
    fi
done
