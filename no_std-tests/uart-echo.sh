#!/usr/bin/env bash
# Runs the Cortex-M4F UART echo image (uart-echo/: a
# Noise_XX_25519_ChaChaPoly_BLAKE2s responder on UART0 echoing every
# transport message) under QEMU mps2-an386, with UART0 as a TCP server on
# 127.0.0.1:PORT that waits for one client before the image starts.
#
#   no_std-tests/uart-echo.sh PORT [--seed SEED] [--image hyperport|hybrid|clatter] [--timeout SECS]
#
# Builds the image first if needed (release, opt-level s, LTO). The client
# (any Noise implementation framing each message as a 4-byte big-endian
# length + the message; frame cap 1,024 bytes) is the initiator; it ends the
# session with an empty transport message, which the image echoes before it
# exits. QEMU's exit status is the script's: 0 when the session ended that
# way, 1 on any error, 124 if --timeout killed it. The image's report (static public key, handshake
# hash, client key, handshake instructions, RAM) goes to stdout.
#
# --seed SEED (default "hyperport"): the image's static private key is
#   BLAKE2s-256("hyperport-uart-echo static key:" || SEED).
# The ephemeral key's entropy: 32 bytes from /dev/urandom, passed with the
# seed on the semihosting command line (the board has no RNG).
# --image clatter runs the comparison image built on clatter instead
#   (clatter-echo/, same UART driver, same wire protocol).
# --image hybrid runs the image's hybrid variant (uart-echo/ with its
#   feature `hybrid`: Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s,
#   frame cap 4,096 bytes, an ML-KEM-768 static key derived from SEED too;
#   built into target/uart-echo-hybrid so that it never replaces the
#   classical binary).
# --timeout SECS (default 300): QEMU is killed after that long.
#
# Needs qemu-system-arm and the thumbv7em-none-eabihf target.
set -euo pipefail
self=$0
cd "$(dirname "$0")"
self=$(basename "$self")

usage() { sed -n '2,/^set -euo/p' "$self" | sed -e '$d' -e 's/^# \{0,1\}//'; }

port="" seed="hyperport" image="hyperport" timeout_s=300
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --seed) seed=${2:?--seed needs a value}; shift 2 ;;
        --image) image=${2:?--image needs a value}; shift 2 ;;
        --timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
        -*) echo "uart-echo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *)
            [[ -z $port ]] || { echo "uart-echo.sh: one PORT only (see --help)" >&2; exit 2; }
            port=$1; shift ;;
    esac
done
if ! [[ $port =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
    echo "uart-echo.sh: PORT must be 1..65535 (see --help)" >&2
    exit 2
fi
if ! [[ $seed =~ ^[A-Za-z0-9._-]+$ ]]; then
    echo "uart-echo.sh: SEED must be letters, digits, '.', '_' or '-'" >&2
    exit 2
fi
build_args=() target_dir=target
case $image in
    hyperport) pkg=hyperport-uart-echo ;;
    hybrid)
        pkg=hyperport-uart-echo
        target_dir=target/uart-echo-hybrid
        build_args=(--features hybrid --target-dir "$target_dir") ;;
    clatter) pkg=hyperport-clatter-echo ;;
    *) echo "uart-echo.sh: --image is hyperport, hybrid or clatter" >&2; exit 2 ;;
esac
[[ $timeout_s =~ ^[0-9]+$ ]] || { echo "uart-echo.sh: --timeout takes seconds" >&2; exit 2; }

target=thumbv7em-none-eabihf
bin=$target_dir/$target/release/$pkg
# cargo decides whether anything changed (a no-op build takes well under a second).
cargo build --quiet --release -p "$pkg" --target "$target" "${build_args[@]}" >&2

entropy=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
exec timeout "$timeout_s" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 \
    -display none -monitor none -icount shift=0 \
    -serial "tcp:127.0.0.1:$port,server=on,wait=on" \
    -semihosting-config "enable=on,target=native,arg=$pkg,arg=key=$seed,arg=rng=$entropy" \
    -kernel "$bin"
