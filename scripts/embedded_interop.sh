#!/usr/bin/env bash
# The embedded adapter end to end (issue #15); scripts/test-all.sh runs it.
#
#   bash scripts/embedded_interop.sh
#
# 1. The firmware feature set on the host: tests/crypto_features.rs built
#    with `--no-default-features --features rustcrypto-minimal` (what a
#    build without AES-GCM, SHA-2 and BLAKE2b refuses, and that what it
#    keeps still interoperates with snow).
# 2. The Cortex-M4F UART echo image (no_std-tests/uart-echo.sh) under QEMU
#    against two initiators over UART0's TCP socket:
#      - examples/uart_echo_client.rs with hyperport's blocking embedded
#        adapter over std::net::TcpStream: the handshake, 100 messages each
#        way of 1..=1,008 bytes (the image's frame cap of 1,024 less the tag),
#        the final empty message;
#      - the same program with `--impl snow` (an independent Noise
#        implementation, framing by hand), 20 messages;
#      - the image's hybrid variant (uart-echo.sh --image hybrid:
#        Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s, issue #19; built
#        into a target directory of its own, about 45 s) against the client
#        with `--pattern hybridXX` (built with `mlkem`), which pins both of
#        the image's static keys (X25519 and ML-KEM-768, from the seed);
#        20 messages of up to 4,080 bytes, RAM within 192 KiB.
#    Each session must end with QEMU's exit status 0, both sides printing
#    the same handshake hash, the image's static key being the one its seed
#    gives (the client pins it), and the image's RAM (.data + .bss + peak
#    stack) within 10 KiB (its flash within 48 KiB is enforced by its
#    linker script).
#
# Needs what no_std-tests/run.sh needs (qemu-system-arm, the
# thumbv7em-none-eabihf target) and python3 (to find free ports).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- firmware features on the host: crypto_features with rustcrypto-minimal"
timeout 900 cargo test --quiet --no-default-features --features rustcrypto-minimal --test crypto_features

echo "--- build: examples/uart_echo_client, the uart-echo image"
timeout 900 cargo build --quiet --example uart_echo_client --features embedded-io,mlkem
client="${CARGO_TARGET_DIR:-target}/debug/examples/uart_echo_client"
(cd no_std-tests && timeout 900 cargo build --quiet --release -p hyperport-uart-echo --target thumbv7em-none-eabihf)
# The hybrid variant, built now so that its session does not wait for it.
(cd no_std-tests && timeout 900 cargo build --quiet --release -p hyperport-uart-echo --features hybrid \
    --target-dir target/uart-echo-hybrid --target thumbv7em-none-eabihf)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# session IMPL MESSAGES SEED [hybrid]: one image run against one client.
session() {
    local impl=$1 messages=$2 seed=$3 variant=${4:-} port rc=0 qrc=0 qemu
    local image=hyperport pattern=XX max_payload=1008 ram_max=10240
    if [[ $variant == hybrid ]]; then
        image=hybrid pattern=hybridXX max_payload=4080 ram_max=196608
    fi
    port=$(free_port)
    echo "--- session: $impl initiator, $pattern, $messages messages, port $port, seed $seed"
    no_std-tests/uart-echo.sh "$port" --seed "$seed" --image "$image" --timeout 180 \
        >"$work/image.out" 2>"$work/image.err" &
    qemu=$!
    timeout 180 "$client" --port "$port" --seed "$seed" --impl "$impl" --messages "$messages" \
        --pattern "$pattern" --max-payload "$max_payload" \
        --timeout 60 >"$work/client.out" 2>&1 || rc=$?
    wait "$qemu" || qrc=$?
    echo "image:"
    sed 's/^/    /' "$work/image.out"
    grep -v 'waiting for connection' "$work/image.err" | sed 's/^/    /' || true
    echo "client:"
    sed 's/^/    /' "$work/client.out"
    if [[ $rc -ne 0 || $qrc -ne 0 ]]; then
        echo "FAILED: client exit status $rc, image (QEMU) exit status $qrc" >&2
        return 1
    fi
    local h_image h_client k_image k_client ram
    h_image=$(sed -n 's/^handshake hash: //p' "$work/image.out")
    h_client=$(sed -n 's/^handshake hash: //p' "$work/client.out")
    k_image=$(sed -n 's/^static public key: //p' "$work/image.out")
    k_client=$(sed -n 's/^server static key: //p' "$work/client.out")
    ram=$(sed -n 's/^ram total: \([0-9]*\) bytes.*/\1/p' "$work/image.out")
    if [[ -z $h_image || $h_image != "$h_client" ]]; then
        echo "FAILED: handshake hashes differ (image '$h_image', client '$h_client')" >&2
        return 1
    fi
    if [[ -z $k_image || $k_image != "$k_client" ]]; then
        echo "FAILED: static keys differ (image '$k_image', client '$k_client')" >&2
        return 1
    fi
    if ! grep -q "^echoed: $messages messages" "$work/image.out"; then
        echo "FAILED: the image did not echo $messages messages" >&2
        return 1
    fi
    if [[ -z $ram || $ram -gt $ram_max ]]; then
        echo "FAILED: image RAM ${ram:-?} B exceeds its budget ($ram_max B)" >&2
        return 1
    fi
    echo "OK: same handshake hash $h_image; image RAM $ram B"
}

session hyperport 100 "interop-$RANDOM"
session snow 20 "interop-$RANDOM"
session hyperport 20 "interop-$RANDOM" hybrid
echo "--- embedded interop: OK"
