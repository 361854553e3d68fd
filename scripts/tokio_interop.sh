#!/usr/bin/env bash
# Interop hook of the tokio adapter (run by scripts/test-all.sh with every
# scripts/*_interop.sh): builds examples/noise_echo.rs and checks it against
# the Python `noiseprotocol` package, an independent Noise implementation
# (scripts/noise_echo_interop.py: Python initiator against `noise_echo
# --listen` for many patterns, random message sizes up to 65,519 bytes,
# framing and decryption failures, a silent client; then `noise_echo
# --connect` against a Python responder). Every step is bounded by
# `timeout`. Needs `pip install noiseprotocol` (test-all.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import noise.connection' 2>/dev/null; then
    echo "the Python package 'noiseprotocol' is missing: pip install noiseprotocol" >&2
    exit 1
fi
timeout 900 cargo build --release --features tokio --example noise_echo
bin="${CARGO_TARGET_DIR:-target}/release/examples/noise_echo"
timeout 300 python3 scripts/noise_echo_interop.py "$bin"
