//! The no_std proof on a microcontroller: the shared checks on a Cortex-M4F
//! (`thumbv7em-none-eabihf`), run under QEMU's mps2-an386 machine.
//!
//! No `#[global_allocator]` and no `alloc` in the graph (the sysroot of this
//! target has no std at all). Output goes through semihosting to the host's
//! stdout; the exit status through semihosting `SYS_EXIT`: 0 when every
//! check passed, 1 when any failed or on panic.
//!
//! It also reports the peak stack depth of the checks, measured by painting
//! the free stack below `main` with a pattern and looking for the deepest
//! overwritten word afterwards (`unsafe`, in this test binary only).
#![no_std]
#![no_main]

use core::panic::PanicInfo;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

#[entry]
fn main() -> ! {
    hprintln!(
        "hyperport no_std checks: thumbv7em-none-eabihf (Cortex-M4F, QEMU mps2-an386), no allocator"
    );
    let main_sp = cortex_m::register::msp::read();
    let painted = paint_stack();
    let failures = hyperport_nostd_checks::run_all(&mut |line: &str| {
        hprintln!("{}", line);
    });
    match deepest_write(painted) {
        Some(addr) => hprintln!(
            "stack: peak {} bytes below main (checks + semihosting output)",
            main_sp - addr
        ),
        None => hprintln!("stack: the whole painted range was used (peak unknown)"),
    }
    debug::exit(if failures == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::bkpt();
    }
}

const PAINT: u32 = 0xa5a5_a5a5;
/// How much free stack to paint (the RAM of mps2-an386 is 4 MiB).
const PAINT_BYTES: u32 = 256 * 1024;

unsafe extern "C" {
    /// End of .bss/.uninit: nothing below the stack may be painted past it
    /// (cortex-m-rt's link.x defines it).
    static __sheap: u32;
}

/// Fills `[bottom, top)` below the caller's stack with `PAINT`; returns it.
#[inline(never)]
fn paint_stack() -> (u32, u32) {
    let sp = cortex_m::register::msp::read();
    // Stay clear of this function's own frame.
    let top = (sp - 128) & !3;
    let heap_start = core::ptr::addr_of!(__sheap) as u32;
    let bottom = top.saturating_sub(PAINT_BYTES).max(heap_start);
    let mut p = bottom;
    while p < top {
        // SAFETY: free RAM between the end of .bss and the live stack, which
        // nothing else uses (no interrupts are enabled).
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    (bottom, top)
}

/// The lowest overwritten address of the painted range, or `None` if even
/// its bottom word was overwritten (the peak may be deeper).
fn deepest_write((bottom, top): (u32, u32)) -> Option<u32> {
    let mut p = bottom;
    // SAFETY: the same range `paint_stack` wrote; reading it has no effects.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    (p > bottom).then_some(p)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    hprintln!("PANIC: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
