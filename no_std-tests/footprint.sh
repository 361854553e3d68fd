#!/usr/bin/env bash
# The footprint table of BENCHMARKS.md ("Embedded footprint"): the UART echo
# firmware built on hyperport (uart-echo/) and on clatter (clatter-echo/),
# same target, suite, UART driver, board code and wire protocol, each at
# opt-level s and z (release profile otherwise: fat LTO, 1 codegen unit,
# panic = abort).
#
#   bash no_std-tests/footprint.sh [RUNS]      # RUNS per image and level, default 5
#
# For each build: .text, .rodata (.vector_table counted in .text), .data,
# .bss from arm-none-eabi-size; then RUNS sessions under QEMU, the images
# alternated, each against examples/uart_echo_client (hyperport initiator, 3
# messages, the first of 1,008 bytes): the image's own report of the peak
# stack and of the instructions its handshake took (SysTick under `-icount
# shift=0`, UART waits excluded; responder side, from building the
# handshake state to established). Prints medians (min-max) as a Markdown
# table. Builds go to target/footprint-{s,z}/ inside no_std-tests.
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-5}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: footprint.sh [RUNS]" >&2; exit 2; }

target=thumbv7em-none-eabihf
images=(hyperport-uart-echo hyperport-clatter-echo)
(cd .. && cargo build --quiet --example uart_echo_client --features embedded-io)
client=../target/debug/examples/uart_echo_client
for lvl in s z; do
    CARGO_PROFILE_RELEASE_OPT_LEVEL=$lvl CARGO_TARGET_DIR=target/footprint-$lvl \
        cargo build --quiet --release -p hyperport-uart-echo -p hyperport-clatter-echo --target "$target"
done

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run BIN: one session; prints "INSNS STACK".
run() {
    local bin=$1 port out entropy
    port=$(free_port)
    out=$(mktemp)
    entropy=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
    timeout 120 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -display none -monitor none \
        -icount shift=0 -serial "tcp:127.0.0.1:$port,server=on,wait=on" \
        -semihosting-config "enable=on,target=native,arg=x,arg=key=footprint,arg=rng=$entropy" \
        -kernel "$bin" >"$out" 2>/dev/null &
    local q=$!
    "$client" --port "$port" --seed footprint --messages 3 --timeout 60 >/dev/null
    wait "$q"
    echo "$(sed -n 's/^handshake instructions: \([0-9]*\).*/\1/p' "$out") $(sed -n 's/^stack: peak \([0-9]*\).*/\1/p' "$out")"
    rm -f "$out"
}

declare -A insns stack
for ((i = 0; i < runs; i++)); do
    for lvl in s z; do
        for img in "${images[@]}"; do
            read -r n st < <(run "target/footprint-$lvl/$target/release/$img")
            insns[$img-$lvl]+="$n "
            stack[$img-$lvl]+="$st "
        done
    done
done

# median (min-max) of a list of numbers
stats() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2); if (a[1] == a[NR]) print m; else printf "%d (%d-%d)\n", m, a[1], a[NR]}'; }

echo "| image | opt | flash | .text | .rodata | .data | .bss | peak stack | RAM | handshake instructions ($runs runs) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for img in "${images[@]}"; do
    for lvl in s z; do
        bin=target/footprint-$lvl/$target/release/$img
        read -r text rodata data bss < <(arm-none-eabi-size -A "$bin" | awk '
            $1 == ".vector_table" || $1 == ".text" { t += $2 }
            $1 == ".rodata" { r += $2 } $1 == ".data" { d += $2 } $1 == ".bss" { b += $2 }
            END { print t + 0, r + 0, d + 0, b + 0 }')
        st=$(stats "${stack[$img-$lvl]}")
        peak=${st%% *}
        printf '| %s | %s | %d | %d | %d | %d | %d | %s | %d | %s |\n' "$img" "$lvl" \
            $((text + rodata + data)) "$text" "$rodata" "$data" "$bss" "$st" $((data + bss + peak)) \
            "$(stats "${insns[$img-$lvl]}")"
    done
done
