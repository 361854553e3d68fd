#!/usr/bin/env bash
# Builds and starts examples/frame_echo.rs on port 0, runs the Python interop
# client against the printed address, and stops the server. Every step is
# bounded by `timeout`. Exits non-zero if the client fails.
set -euo pipefail
cd "$(dirname "$0")/.."

timeout 600 cargo build --release --example frame_echo
bin="${CARGO_TARGET_DIR:-target}/release/examples/frame_echo"
log="$(mktemp)"

timeout 180 "$bin" 127.0.0.1:0 >"$log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    echo "--- server log ---"
    cat "$log"
    rm -f "$log"
}
trap cleanup EXIT

addr=""
for _ in $(seq 1 100); do
    addr="$(grep -m1 -oE 'listening on [0-9.]+:[0-9]+' "$log" | awk '{print $3}' || true)"
    [ -n "$addr" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$addr" ]; then
    echo "frame_echo did not print its address" >&2
    exit 1
fi
echo "frame_echo listening on $addr"

timeout 120 python3 scripts/frame_echo_interop.py "$addr"
