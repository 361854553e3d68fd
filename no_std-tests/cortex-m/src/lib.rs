//! The no_std proof on a microcontroller: shared code of the Cortex-M4F
//! (`thumbv7em-none-eabihf`) images run under QEMU's mps2-an386 machine.
//!
//! Two images (`src/bin/`), each a `#[entry]` that calls [`run_image`]:
//!
//! * `hyperport-nostd-cortex-m`: every check in
//!   [`hyperport_nostd_checks::CHECKS`];
//! * `hyperport-nostd-noise`: only [`hyperport_nostd_checks::NOISE_CHECKS`]
//!   (an XX handshake and 100 transport messages each way), so that its
//!   flash, RAM and run time are those of a Noise-only firmware.
//!
//! No `#[global_allocator]` and no `alloc` in the graph (the sysroot of this
//! target has no std at all). Output goes through semihosting to the host's
//! stdout; the exit status through semihosting `SYS_EXIT`: 0 when every
//! check passed, 1 when any failed or on panic.
//!
//! It also reports the peak stack depth of the checks, measured by painting
//! the free stack below `main` with a pattern and looking for the deepest
//! overwritten word afterwards, and what each check cost: guest
//! instructions, counted with SysTick while QEMU runs with `-icount shift=0`
//! (as `run.sh` runs it; QEMU is not cycle-accurate, so this is an
//! instruction count, not M4 cycles), and QEMU's host CPU time by the
//! semihosting clock (`SYS_CLOCK`, centiseconds).
//! `unsafe` lives in these test binaries only.
#![no_std]

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::exception;
use cortex_m_semihosting::{debug, hprintln};
use hyperport_nostd_checks::Check;

/// Runs `checks` with stack painting and timing, prints the results and
/// exits QEMU with status 0 (all passed) or 1.
pub fn run_image(banner: &str, checks: &[Check]) -> ! {
    hprintln!(
        "hyperport no_std {}: thumbv7em-none-eabihf (Cortex-M4F, QEMU mps2-an386), no allocator",
        banner
    );
    let main_sp = cortex_m::register::msp::read();
    let painted = paint_stack();
    start_systick();
    let start = clock_cs();
    let (mut last, mut last_ticks) = (start, 0u64);
    let failures = hyperport_nostd_checks::run(checks, &mut |line: &str| {
        let (now, ticks) = (clock_cs(), systick_ticks());
        hprintln!(
            "{} [{} k instructions, {} ms host CPU]",
            line,
            ticks
                .saturating_sub(last_ticks)
                .saturating_mul(INSNS_PER_TICK)
                / 1000,
            now.wrapping_sub(last).wrapping_mul(10)
        );
        (last, last_ticks) = (now, ticks);
    });
    let total = clock_cs().wrapping_sub(start);
    let insns = systick_ticks().saturating_mul(INSNS_PER_TICK);
    match deepest_write(painted) {
        Some(addr) => hprintln!(
            "stack: peak {} bytes below main (checks + semihosting output)",
            main_sp - addr
        ),
        None => hprintln!("stack: the whole painted range was used (peak unknown)"),
    }
    hprintln!(
        "time: {} instructions executed by the checks (SysTick under `-icount shift=0`, 40-instruction resolution); {} ms of QEMU host CPU time (semihosting SYS_CLOCK, 10 ms resolution)",
        insns,
        total.wrapping_mul(10)
    );
    debug::exit(if failures == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::bkpt();
    }
}

/// Guest instructions per SysTick tick when QEMU runs with
/// `-icount shift=0` (virtual time advances 1 ns per instruction) and
/// SysTick counts the 25 MHz core clock of mps2-an386 (40 ns per tick).
/// Calibrated by hand: a `subs`/`bne` loop of 20 M instructions read
/// 500,000 ticks, one of 800 M instructions 20,000,014 (across a wrap).
/// Without `-icount` the figure is meaningless (virtual time follows the
/// host clock).
const INSNS_PER_TICK: u64 = 40;
/// SysTick's reload value: the whole 24-bit counter.
const RELOAD: u32 = 0x00ff_ffff;
/// SysTick wraps (interrupts) since [`start_systick`].
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick counting core clock cycles down from [`RELOAD`], with an
/// interrupt at each wrap.
fn start_systick() {
    let Some(mut p) = cortex_m::Peripherals::take() else {
        return;
    };
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(RELOAD);
    p.SYST.clear_current();
    WRAPS.store(0, Ordering::Relaxed);
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();
    // The counter reads 0 until its first tick loads RELOAD; wait for that
    // (a few instructions) so that `systick_ticks` starts from 0.
    for _ in 0..10_000 {
        if SYST::get_current() != 0 {
            break;
        }
    }
}

/// Core clock ticks since [`start_systick`] (re-read if a wrap interrupt
/// came between reading the wrap count and the counter). A wrap whose
/// interrupt is still pending during these few instructions would read
/// 2^24 ticks short; under `-icount` runs are deterministic, so that would
/// show as the same absurd figure on every run, not as noise.
fn systick_ticks() -> u64 {
    loop {
        let wraps = WRAPS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == wraps {
            return u64::from(wraps) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
        }
    }
}

/// Semihosting `SYS_CLOCK`: centiseconds since the program started; QEMU
/// answers with its own process's host CPU time (C `clock()`).
fn clock_cs() -> u32 {
    // SAFETY: SYS_CLOCK takes no argument block (r1 = 0) and only returns
    // a value; QEMU implements it.
    unsafe { cortex_m_semihosting::syscall!(CLOCK) as u32 }
}

const PAINT: u32 = 0xa5a5_a5a5;
/// How much free stack to paint (the RAM of mps2-an386 is 4 MiB; the
/// overlay check needs more than 256 KiB).
const PAINT_BYTES: u32 = 1024 * 1024;

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
        // nothing else uses (no interrupt is enabled yet: SysTick starts
        // after painting; its exception frames then land on this stack and
        // count towards the peak).
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
