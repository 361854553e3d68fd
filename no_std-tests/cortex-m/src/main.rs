//! The no_std proof on a microcontroller: the shared checks on a Cortex-M4F
//! (`thumbv7em-none-eabihf`), run under QEMU's mps2-an386 machine.
//!
//! No `#[global_allocator]` and no `alloc` in the graph (the sysroot of this
//! target has no std at all). Output goes through semihosting to the host's
//! stdout; the exit status through semihosting `SYS_EXIT`: 0 when every
//! check passed, 1 when any failed or on panic.
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
    let failures = hyperport_nostd_checks::run_all(&mut |line: &str| {
        hprintln!("{}", line);
    });
    debug::exit(if failures == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    hprintln!("PANIC: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
