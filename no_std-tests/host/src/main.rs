//! The no_std proof on the host: a freestanding x86_64 Linux binary.
//!
//! * `#![no_std]`, `#![no_main]`, `panic = "abort"`: no std in the graph
//!   (a crate that links std would fail the build with a duplicate
//!   `panic_impl` lang item).
//! * NO `#[global_allocator]`: if anything reachable from the graph needs
//!   `alloc`, the link fails ("no global memory allocator found"). That it
//!   links is the proof that `hyperport --no-default-features --features
//!   rustcrypto` needs no allocator.
//! * Its own naked `_start` (aligns the stack), raw `write(2)` and
//!   `exit_group(2)` syscalls, its own `memcpy`/`memset`/`memcmp` (`mem.rs`):
//!   linked `-nostdlib -static` with `relocation-model=static`, the ELF has
//!   no interpreter, no libc and no undefined symbols.
//!
//! Exit status: 0 when every check passed, 1 when any failed, 101 on panic.
//! `unsafe` lives here, in the test binary only; the crate forbids it.
#![no_std]
#![no_main]

mod mem;

use core::arch::{asm, naked_asm};
use core::panic::PanicInfo;

const SYS_WRITE: usize = 1;
const SYS_EXIT_GROUP: usize = 231;
const STDOUT: usize = 1;

fn write_all(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let ret: isize;
        // SAFETY: write(2) reads `len` bytes from a valid, live slice.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") SYS_WRITE => ret,
                in("rdi") STDOUT,
                in("rsi") bytes.as_ptr(),
                in("rdx") bytes.len(),
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        if ret <= 0 {
            return; // stdout closed or failing: nothing better to do
        }
        bytes = bytes.get(ret as usize..).unwrap_or(&[]);
    }
}

fn exit(code: i32) -> ! {
    // SAFETY: exit_group(2) never returns.
    unsafe {
        asm!(
            "syscall",
            in("rax") SYS_EXIT_GROUP,
            in("rdi") code as isize,
            options(noreturn, nostack),
        );
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    write_all(b"PANIC in no_std host checks\n");
    exit(101)
}

/// Process entry. The kernel enters with `rsp` pointing at `argc`
/// (16-byte aligned); aligning explicitly and `call`ing gives `rmain` the
/// ABI's stack alignment (SSE code faults otherwise).
///
/// # Safety
/// Only the kernel calls this, once, as the ELF entry point.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "xor ebp, ebp",
        "and rsp, -16",
        "call {main}",
        "ud2",
        main = sym rmain,
    )
}

extern "C" fn rmain() -> ! {
    write_all(b"hyperport no_std checks: x86_64 freestanding, no allocator\n");
    let mut log = |line: &str| {
        write_all(line.as_bytes());
        write_all(b"\n");
    };
    let failures = hyperport_nostd_checks::run_all(&mut log);
    exit(if failures == 0 { 0 } else { 1 })
}
