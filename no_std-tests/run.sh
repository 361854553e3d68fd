#!/usr/bin/env bash
# The no_std proof: builds and runs the shared checks (checks/src/lib.rs)
#   1. as a freestanding x86_64 Linux binary (no std, no libc, no allocator,
#      own _start, raw syscalls), and
#   2. as a Cortex-M4F image (thumbv7em-none-eabihf) under QEMU mps2-an386,
#   3. and a second Cortex-M4F image with only the Noise checks (an XX
#      handshake and 100 transport messages each way),
#   4. and another Cortex-M4F image with hyperport's `mlkem` feature: a
#      post-quantum hybridXX handshake (issue #19), its sizes and peak stack,
#   5. and builds (does not run: it needs a TCP client, see
#      scripts/embedded_interop.sh) the UART echo firmware, uart-echo/, whose
#      linker script holds it to 48 KiB of flash;
# prints the image sizes (and the Noise image's flash, RAM = .data + .bss +
# peak stack, and QEMU wall time), and exits non-zero if anything fails: a build or
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
noise_bin=target/$ARM_TARGET/release/hyperport-nostd-noise
overlay_bin=target/$ARM_TARGET/release/hyperport-nostd-overlay
echo_bin=target/$ARM_TARGET/release/hyperport-uart-echo
hybrid_bin=target/$ARM_TARGET/release/hyperport-nostd-hybrid

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
# The UART echo firmware (hyperport with `rustcrypto-minimal,embedded-io`)
# and its clatter twin: lints; the hyperport one is built (a flash overflow
# of its 48 KiB budget fails the link).
cargo clippy --release -p hyperport-uart-echo -p hyperport-clatter-echo --target "$ARM_TARGET" -- -D warnings
cargo build --release -p hyperport-uart-echo --target "$ARM_TARGET"
# The hybrid image: hyperport with `mlkem` (built on its own, so the other
# images keep the feature set without it).
cargo clippy --release -p hyperport-nostd-cortex-m --features mlkem --target "$ARM_TARGET" -- -D warnings
cargo build --release -p hyperport-nostd-cortex-m --features mlkem --bin hyperport-nostd-hybrid --target "$ARM_TARGET"

# Runs one image under QEMU, echoing its output to stdout and to $qemu_out;
# sets $qemu_ms to the wall time of the QEMU process (start-up included).
qemu_out=$(mktemp)
trap 'rm -f "$qemu_out"' EXIT
run_qemu() {
    local bin=$1 rc=0 t0 t1
    say "run: qemu-system-arm -machine mps2-an386 $(basename "$bin") (timeout ${QEMU_TIMEOUT}s)"
    t0=$(date +%s%N)
    timeout "$QEMU_TIMEOUT" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -icount shift=0 \
        -semihosting-config enable=on,target=native -kernel "$bin" >"$qemu_out" || rc=$?
    t1=$(date +%s%N)
    cat "$qemu_out"
    qemu_ms=$(( (t1 - t0) / 1000000 ))
    if [[ $rc -ne 0 ]]; then
        [[ $rc -eq 124 ]] && echo "QEMU timed out after ${QEMU_TIMEOUT}s" >&2
        echo "no_std Cortex-M checks FAILED ($(basename "$bin"), exit status $rc)" >&2
        exit 1
    fi
}
run_qemu "$arm_bin"
checks_ms=$qemu_ms
run_qemu "$noise_bin"
noise_ms=$qemu_ms
noise_stack=$(sed -n 's/^stack: peak \([0-9]*\) bytes.*/\1/p' "$qemu_out")
noise_insns=$(sed -n 's/^time: \([0-9]*\) instructions.*/\1/p' "$qemu_out")
run_qemu "$overlay_bin"
overlay_ms=$qemu_ms
overlay_stack=$(sed -n 's/^stack: peak \([0-9]*\) bytes.*/\1/p' "$qemu_out")
overlay_insns=$(sed -n 's/^time: \([0-9]*\) instructions.*/\1/p' "$qemu_out")
run_qemu "$hybrid_bin"
hybrid_ms=$qemu_ms
hybrid_stack=$(sed -n 's/^stack: peak \([0-9]*\) bytes.*/\1/p' "$qemu_out")
hybrid_insns=$(sed -n 's/^time: \([0-9]*\) instructions.*/\1/p' "$qemu_out")

say "sizes (bytes; text includes .vector_table and .rodata)"
size_tool=""
if command -v arm-none-eabi-size >/dev/null; then
    size_tool=arm-none-eabi-size
elif command -v llvm-size >/dev/null; then
    size_tool=llvm-size
fi
# Prints the size table of one image; sets $flash and $static_ram.
arm_sizes() {
    local bin=$1
    "$size_tool" "$bin"
    "$size_tool" -A "$bin" | grep -E '^\.(vector_table|text|rodata|data|bss) '
    # flash = vectors + text + rodata + data (its load image); RAM = data + bss.
    read -r flash static_ram < <("$size_tool" -A "$bin" | awk '
        $1 ~ /^\.(vector_table|text|rodata)$/ { f += $2 }
        $1 == ".data" { f += $2; r += $2 }
        $1 == ".bss" { r += $2 }
        END { print f + 0, r + 0 }')
}
if [[ -n $size_tool ]]; then
    echo "Cortex-M4F image, all checks ($ARM_TARGET, opt-level s, LTO; QEMU wall time ${checks_ms} ms):"
    arm_sizes "$arm_bin"
    echo "Cortex-M4F image, Noise only ($(basename "$noise_bin")):"
    arm_sizes "$noise_bin"
    echo "Noise on Cortex-M4 (QEMU): flash ${flash} B; RAM ${static_ram} B (.data+.bss) + ${noise_stack:-?} B peak stack = $(( static_ram + ${noise_stack:-0} )) B; ${noise_insns:-?} instructions; QEMU wall time ${noise_ms} ms"
    echo "Cortex-M4F image, overlay only ($(basename "$overlay_bin")):"
    arm_sizes "$overlay_bin"
    echo "Overlay on Cortex-M4 (QEMU): flash ${flash} B; RAM ${static_ram} B (.data+.bss) + ${overlay_stack:-?} B peak stack = $(( static_ram + ${overlay_stack:-0} )) B; ${overlay_insns:-?} instructions; QEMU wall time ${overlay_ms} ms"
    echo "Cortex-M4F image, hybrid Noise only ($(basename "$hybrid_bin"), hyperport feature mlkem):"
    arm_sizes "$hybrid_bin"
    echo "Hybrid Noise on Cortex-M4 (QEMU): flash ${flash} B; RAM ${static_ram} B (.data+.bss) + ${hybrid_stack:-?} B peak stack = $(( static_ram + ${hybrid_stack:-0} )) B; ${hybrid_insns:-?} instructions; QEMU wall time ${hybrid_ms} ms"
    echo "UART echo firmware ($(basename "$echo_bin"); run by scripts/embedded_interop.sh, which checks its RAM):"
    arm_sizes "$echo_bin"
    echo "UART echo firmware: flash ${flash} B of the 49,152 B budget; .data+.bss ${static_ram} B"
else
    echo "(no arm-none-eabi-size or llvm-size: Cortex-M sizes skipped)"
    echo "Noise on Cortex-M4 (QEMU): peak stack ${noise_stack:-?} B; ${noise_insns:-?} instructions; QEMU wall time ${noise_ms} ms"
    echo "Overlay on Cortex-M4 (QEMU): peak stack ${overlay_stack:-?} B; ${overlay_insns:-?} instructions; QEMU wall time ${overlay_ms} ms"
fi
if command -v size >/dev/null; then
    echo "freestanding x86_64 binary:"
    size "$host_bin"
fi
say "OK: every no_std binary linked without an allocator and passed every check"
