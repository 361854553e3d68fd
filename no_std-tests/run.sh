#!/usr/bin/env bash
# The no_std proof: builds and runs the shared checks (checks/src/lib.rs)
#   1. as a freestanding x86_64 Linux binary (no std, no libc, no allocator,
#      own _start, raw syscalls), and
#   2. as a Cortex-M4F image (thumbv7em-none-eabihf) under QEMU mps2-an386,
# prints the image sizes, and exits non-zero if anything fails: a build or
# link error (e.g. something in the graph needs an allocator), a failed check,
# a panic, or a QEMU run that does not finish within the timeout.
#
# Needs: rustup target thumbv7em-none-eabihf, qemu-system-arm; for sizes
# arm-none-eabi-size (binutils-arm-none-eabi) or llvm-size (else skipped).
# scripts/test-all.sh installs all of these.
set -euo pipefail
cd "$(dirname "$0")"

HOST_TARGET=x86_64-unknown-linux-gnu
ARM_TARGET=thumbv7em-none-eabihf
QEMU_TIMEOUT=${QEMU_TIMEOUT:-120}
host_bin=target/$HOST_TARGET/release/hyperport-nostd-host
arm_bin=target/$ARM_TARGET/release/hyperport-nostd-cortex-m

say() { printf '\n--- no_std: %s\n' "$*"; }

say "fmt and clippy (-D warnings) of the proof crates"
cargo fmt --check
cargo clippy --release -p hyperport-nostd-host -p hyperport-nostd-checks --target "$HOST_TARGET" -- -D warnings

say "build: freestanding $HOST_TARGET binary (hyperport --no-default-features --features rustcrypto, no #[global_allocator])"
if [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
    echo "the freestanding host binary needs x86_64 Linux; this is $(uname -s)/$(uname -m)" >&2
    exit 1
fi
cargo build --release -p hyperport-nostd-host --target "$HOST_TARGET"
say "run: $host_bin"
rc=0
"$host_bin" || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "no_std host checks FAILED (exit status $rc)" >&2
    exit 1
fi

say "build: $ARM_TARGET image (Cortex-M4F)"
if ! rustup target list --installed 2>/dev/null | grep -qx "$ARM_TARGET"; then
    echo "missing rust target: rustup target add $ARM_TARGET" >&2
    exit 1
fi
cargo clippy --release -p hyperport-nostd-cortex-m --target "$ARM_TARGET" -- -D warnings
cargo build --release -p hyperport-nostd-cortex-m --target "$ARM_TARGET"
say "run: qemu-system-arm -machine mps2-an386 (timeout ${QEMU_TIMEOUT}s)"
rc=0
timeout "$QEMU_TIMEOUT" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$arm_bin" || rc=$?
if [[ $rc -ne 0 ]]; then
    [[ $rc -eq 124 ]] && echo "QEMU timed out after ${QEMU_TIMEOUT}s" >&2
    echo "no_std Cortex-M checks FAILED (exit status $rc)" >&2
    exit 1
fi

say "sizes (bytes; text includes .vector_table and .rodata)"
size_tool=""
if command -v arm-none-eabi-size >/dev/null; then
    size_tool=arm-none-eabi-size
elif command -v llvm-size >/dev/null; then
    size_tool=llvm-size
fi
if [[ -n $size_tool ]]; then
    echo "Cortex-M4F image ($ARM_TARGET, opt-level s, LTO):"
    "$size_tool" "$arm_bin"
    "$size_tool" -A "$arm_bin" | grep -E '^\.(vector_table|text|rodata|data|bss) '
else
    echo "(no arm-none-eabi-size or llvm-size: Cortex-M sizes skipped)"
fi
if command -v size >/dev/null; then
    echo "freestanding x86_64 binary:"
    size "$host_bin"
fi
say "OK: both no_std binaries linked without an allocator and passed every check"
