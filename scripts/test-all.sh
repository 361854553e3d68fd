#!/usr/bin/env bash
# Runs every test of hyperport: the README's "run every test" command and
# what CI runs (.ci/run).
#
#   bash scripts/test-all.sh
#
# First installs what a fresh machine lacks (idempotent, skips what is
# present): rustup components rustfmt and clippy, the thumbv7em-none-eabihf
# and wasm32-wasip2 targets, apt packages qemu-system-arm and binutils-arm-none-eabi (apt-get
# update only if something is missing), cargo-fuzz, and the Python package
# `cryptography` for the vector cross-check, and `noiseprotocol` for the
# tokio adapter's interop hook. Then runs each step
# with a banner, stopping at the first failure:
#
#   fmt, clippy x5 (default / firmware / all features / the minimal firmware
#   lib / wasm32-wasip2 with the WASI adapter), rustdoc -D warnings,
#   crypto vector cross-check (Python, if `cryptography` is importable),
#   the no_std proof (no_std-tests/run.sh), a short run of every fuzz target,
#   every scripts/*_interop.sh hook (scripts/wasi_interop.sh installs
#   wasmtime from PyPI and runs the wasm leg in it), the ports hardening mutants
#   (scripts/ports_mutations.sh: each check removed must fail a test), and
#   `cargo test --all-features`.
#
# The per-step times are printed before the test run, so that the last lines
# of the whole run are cargo's own `test result:` lines (CI reads them).
#
# Environment: FUZZ_SECONDS (default 10) per fuzz target, FUZZ_SEED (default
# 1) its libFuzzer seed; SKIP_INSTALL=1 to
# skip the installation phase; CI=true is honoured (no prompts either way).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-10}
# The smoke run's libFuzzer seed: fixed, so that CI tries the same inputs
# every time (a red smoke run reproduces; the result depends on the tree,
# not on the draw).
# The campaign (FUZZING.md) uses fresh seeds.
FUZZ_SEED=${FUZZ_SEED:-1}
ARM_TARGET=thumbv7em-none-eabihf
WASI_TARGET=wasm32-wasip2
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export DEBIAN_FRONTEND=noninteractive
# Disk and time: CI machines may have little free disk. No incremental
# caches, and line tables only in test binaries (backtraces keep file and
# line); each can be overridden from the environment.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
export CARGO_PROFILE_TEST_DEBUG=${CARGO_PROFILE_TEST_DEBUG:-line-tables-only}

STEP_NAMES=()
STEP_TIMES=()
RUN_START=$(date +%s)

banner() {
    printf '\n==================== %s ====================\n' "$*"
}

print_times() {
    printf '\n==================== time per step ====================\n'
    local i
    for i in "${!STEP_NAMES[@]}"; do
        printf '%6ss  %s\n' "${STEP_TIMES[$i]}" "${STEP_NAMES[$i]}"
    done
    printf '%6ss  total so far\n' "$(($(date +%s) - RUN_START))"
}

# step NAME COMMAND...: runs COMMAND with a banner and records its time;
# on failure prints the times so far and exits with the command's status.
step() {
    local name=$1
    shift
    banner "$name"
    local start rc
    start=$(date +%s)
    # A subshell outside any `||`/`&&` list, so `set -e` holds inside the
    # step's functions too.
    set +e
    (
        set -e
        "$@"
    )
    rc=$?
    set -e
    STEP_NAMES+=("$name")
    STEP_TIMES+=("$(($(date +%s) - start))")
    if [[ $rc -ne 0 ]]; then
        print_times
        printf '\nFAILED: %s (exit status %s)\n' "$name" "$rc" >&2
        exit "$rc"
    fi
}

# ---------------------------------------------------------------- install

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo -n "$@"
    else
        echo "need root (or sudo) to run: $*" >&2
        return 1
    fi
}

install_missing() {
    if command -v rustup >/dev/null; then
        local have
        have=$(rustup component list --installed 2>/dev/null || true)
        for c in rustfmt clippy; do
            if ! grep -q "^$c" <<<"$have"; then
                echo "rustup component add $c"
                rustup component add "$c" >/dev/null
            fi
        done
        local t
        for t in "$ARM_TARGET" "$WASI_TARGET"; do
            if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
                echo "rustup target add $t"
                rustup target add "$t" >/dev/null
            fi
        done
    else
        echo "no rustup: rustfmt, clippy and the $ARM_TARGET and $WASI_TARGET targets must already be installed"
    fi

    local pkgs=()
    command -v qemu-system-arm >/dev/null || pkgs+=(qemu-system-arm)
    command -v arm-none-eabi-size >/dev/null || pkgs+=(binutils-arm-none-eabi)
    command -v cc >/dev/null || pkgs+=(gcc libc6-dev)          # ring's C code
    command -v c++ >/dev/null || pkgs+=(g++)                   # libFuzzer
    if [[ ${#pkgs[@]} -gt 0 ]]; then
        echo "apt-get install ${pkgs[*]}"
        as_root apt-get update -qq
        as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    fi

    # The independent Python cross-check of vectors/crypto/ uses OpenSSL
    # through the `cryptography` package (PyPI); best effort.
    if command -v python3 >/dev/null && ! python3 -c 'import cryptography' 2>/dev/null; then
        echo "pip install cryptography"
        python3 -m pip install --quiet --disable-pip-version-check cryptography >/dev/null 2>&1 \
            || echo "pip install cryptography failed; the cross-check step will be skipped"
    fi

    # The tokio adapter's interop hook (scripts/tokio_interop.sh) checks
    # examples/noise_echo.rs against the `noiseprotocol` package (PyPI), an
    # independent Noise implementation.
    if command -v python3 >/dev/null && ! python3 -c 'import noise.connection' 2>/dev/null; then
        echo "pip install noiseprotocol"
        python3 -m pip install --quiet --disable-pip-version-check noiseprotocol >/dev/null 2>&1 \
            || echo "pip install noiseprotocol failed; scripts/tokio_interop.sh will fail"
    fi

    if ! command -v cargo-fuzz >/dev/null; then
        echo "cargo install cargo-fuzz --locked"
        cargo install cargo-fuzz --locked --quiet
    fi
    echo "toolchain: $(rustc --version); $(cargo fuzz --version 2>/dev/null || echo 'cargo-fuzz ?'); $(qemu-system-arm --version | head -n1)"
}

# ------------------------------------------------------------------ steps

verify_vectors() {
    if command -v python3 >/dev/null && python3 -c 'import cryptography' 2>/dev/null; then
        python3 vectors/crypto/verify.py
    else
        echo "skipped: python3 with the 'cryptography' package is not available"
        echo "(pip install cryptography && python3 vectors/crypto/verify.py)"
    fi
}

fuzz_smoke() {
    local targets
    targets=$(cargo fuzz list)
    if [[ -z $targets ]]; then
        echo "no fuzz targets listed in fuzz/Cargo.toml"
        return 0
    fi
    echo "targets: $(tr '\n' ' ' <<<"$targets")"
    cargo fuzz build --sanitizer none
    local scratch t
    scratch=$(mktemp -d)
    for t in $targets; do
        echo "--- fuzz $t (${FUZZ_SECONDS}s)"
        # New inputs go to a scratch directory, never into the committed
        # corpus (which is only read).
        local dirs=("$scratch/$t")
        mkdir -p "$scratch/$t"
        [[ -d fuzz/corpus/$t ]] && dirs+=("fuzz/corpus/$t")
        local rc=0
        cargo fuzz run --sanitizer none "$t" "${dirs[@]}" -- \
            -max_total_time="$FUZZ_SECONDS" -seed="$FUZZ_SEED" -print_final_stats=1 >"$scratch/$t.log" 2>&1 || rc=$?
        # Show the summary only; on failure the whole tail.
        grep -E 'stat::number_of_executed_units|^Done ' "$scratch/$t.log" || true
        if [[ $rc -ne 0 ]]; then
            tail -n 60 "$scratch/$t.log"
            echo "fuzz target $t FAILED (exit status $rc); artifacts in fuzz/artifacts/$t" >&2
            rm -rf "$scratch"
            return 1
        fi
    done
    rm -rf "$scratch"
}

interop_hooks() {
    local found=0 s
    shopt -s nullglob
    for s in scripts/*_interop.sh; do
        found=1
        echo "--- $s"
        bash "$s"
    done
    shopt -u nullglob
    [[ $found -eq 1 ]] || echo "no scripts/*_interop.sh hooks present"
}

if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
    step "install missing tools" install_missing
fi
step "cargo fmt --check" cargo fmt --check
step "clippy: default features" cargo clippy --all-targets -- -D warnings
step "clippy: --no-default-features --features rustcrypto" \
    cargo clippy --all-targets --no-default-features --features rustcrypto -- -D warnings
step "clippy: --all-features" cargo clippy --all-targets --all-features -- -D warnings
step "clippy: firmware features (lib: rustcrypto-minimal, embedded-io-async)" \
    cargo clippy --lib --no-default-features --features rustcrypto-minimal,embedded-io-async -- -D warnings
# The WASI adapter compiles only for wasm32-wasip2: lint it there.
step "clippy: $WASI_TARGET --no-default-features --features wasi,rustcrypto" \
    cargo clippy --target "$WASI_TARGET" --no-default-features --features wasi,rustcrypto \
    --lib --example wasi_leg -- -D warnings
step "rustdoc -D warnings" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features
step "rustdoc -D warnings: $WASI_TARGET (the WASI adapter)" env RUSTDOCFLAGS="-D warnings" \
    cargo doc --no-deps --target "$WASI_TARGET" --no-default-features --features wasi,rustcrypto
step "crypto vectors: independent Python cross-check" verify_vectors
step "no_std proof: freestanding x86_64 + Cortex-M4 under QEMU" bash no_std-tests/run.sh
step "fuzz smoke (${FUZZ_SECONDS}s per target, stable, no sanitizer)" fuzz_smoke
step "interop hooks (scripts/*_interop.sh)" interop_hooks
step "ports hardening: every mutant killed (scripts/ports_mutations.sh)" bash scripts/ports_mutations.sh
# The scratch builds of the steps above are not needed any more: on CI, free
# their disk before the largest build of the run.
if [[ ${CI:-} == true ]]; then
    rm -rf target/ports-mutants fuzz/target no_std-tests/target
    df -h . | tail -n 1
fi
step "cargo test --all-features (build)" cargo test --all-features --no-run
print_times
printf '(the test run follows; its output ends the log)\n'
banner "cargo test --all-features"
cargo test --all-features
