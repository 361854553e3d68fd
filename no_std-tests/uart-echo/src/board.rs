//! What the echo images need from QEMU's mps2-an386 board besides the UART:
//! the one-entry device vector table, SysTick as a clock (and, under
//! `-icount shift=0`, an instruction counter), semihosting output, command
//! line and exit, and stack painting. Shared by the hyperport and the
//! clatter image (`#[path]`), so that both pay for exactly the same code.
//!
//! Nothing here formats with `core::fmt`: numbers and bytes are written by
//! hand, so that the formatting machinery stays out of the flash figures.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::exception;

/// mps2-an386's core clock (SysTick counts it): 25 MHz.
pub const CORE_HZ: u64 = 25_000_000;
/// Guest instructions per SysTick tick under `-icount shift=0` (virtual time
/// advances 1 ns per instruction, SysTick 40 ns per tick; calibrated in
/// `no_std-tests/README.md`).
pub const INSNS_PER_TICK: u64 = 40;
/// SysTick's reload value: the whole 24-bit counter.
const RELOAD: u32 = 0x00ff_ffff;
/// SysTick wraps since [`init`].
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// A device interrupt vector.
#[repr(C)]
pub union Vector {
    handler: unsafe extern "C" fn(),
}

/// IRQ 0 of mps2-an386 is UART0's receive interrupt; the image enables no
/// other device interrupt, so the table ends there.
#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
pub static __INTERRUPTS: [Vector; 1] = [Vector {
    handler: uart0_rx_irq,
}];

/// UART0 RX: only wakes the core from `wfi`; the driver reads the byte.
/// Clears the UART's RX interrupt status (write-1-to-clear), or the level
/// interrupt would fire again at once.
unsafe extern "C" fn uart0_rx_irq() {
    crate::uart::clear_rx_interrupt();
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick (core clock, interrupt at each wrap) and enables UART0's
/// receive interrupt in the NVIC.
pub fn init() {
    let Some(mut p) = cortex_m::Peripherals::take() else {
        return;
    };
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(RELOAD);
    p.SYST.clear_current();
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();
    // SAFETY: writing ISER0 bit 0 enables IRQ 0 (UART0 RX), whose handler
    // only clears the UART's interrupt status.
    unsafe { p.NVIC.iser[0].write(1) };
    // The counter reads 0 until its first tick loads RELOAD.
    for _ in 0..10_000 {
        if SYST::get_current() != 0 {
            break;
        }
    }
}

/// Core clock ticks since [`init`] (40 instructions each under `-icount
/// shift=0`, else 40 ns of host time).
pub fn ticks() -> u64 {
    loop {
        let wraps = WRAPS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == wraps {
            return u64::from(wraps) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
        }
    }
}

/// Writes `bytes` to the host's stdout (semihosting).
pub fn print(bytes: &[u8]) {
    if let Ok(mut out) = cortex_m_semihosting::hio::hstdout() {
        let _ = out.write_all(bytes);
    }
}

/// Writes `n` in decimal, by subtracting powers of ten: no 64-bit division,
/// which would link compiler-builtins' `u64_div_rem` (864 bytes).
pub fn print_u64(n: u64) {
    let mut buf = [0u8; 20];
    let mut len = 0;
    let mut rest = n;
    let mut power = 1u64;
    let mut powers = [0u64; 20];
    for p in powers.iter_mut() {
        *p = power;
        power = power.wrapping_mul(10);
    }
    for (i, &power) in powers.iter().enumerate().rev() {
        let mut digit = 0u8;
        while rest >= power {
            rest -= power;
            digit += 1;
        }
        if digit > 0 || len > 0 || i == 0 {
            buf[len] = b'0' + digit;
            len += 1;
        }
    }
    print(&buf[..len]);
}

/// Writes `bytes` in lower-case hex.
pub fn print_hex(bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (i, b) in chunk.iter().enumerate() {
            buf[2 * i] = HEX[usize::from(b >> 4)];
            buf[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        print(&buf[..2 * chunk.len()]);
    }
}

/// The semihosting command line (QEMU: the `arg=` values of
/// `-semihosting-config`, joined by spaces) copied into `buf`, or `None`.
pub fn cmdline(buf: &mut [u8]) -> Option<&[u8]> {
    #[repr(C)]
    struct Block {
        ptr: *mut u8,
        len: usize,
    }
    let mut block = Block {
        ptr: buf.as_mut_ptr(),
        len: buf.len(),
    };
    let block_ptr = core::ptr::addr_of_mut!(block);
    // SAFETY: SYS_GET_CMDLINE writes at most `len` bytes (NUL included) to
    // `ptr` and the length it wrote (NUL excluded) back into the block,
    // which is passed as a raw pointer and read back volatile (the host
    // writes behind the compiler's back).
    let (rc, len) = unsafe {
        let rc = cortex_m_semihosting::syscall1(
            cortex_m_semihosting::nr::GET_CMDLINE,
            block_ptr as usize,
        );
        (
            rc,
            core::ptr::read_volatile(core::ptr::addr_of!((*block_ptr).len)),
        )
    };
    if rc != 0 {
        return None;
    }
    let line = buf.get(..len)?;
    // Up to the terminating NUL, should the length be off.
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    Some(&line[..end])
}

/// Ends QEMU with exit status 0 (`ok`) or 1.
pub fn exit(ok: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::bkpt();
    }
}

/// `key=SEED rng=HEX` (any order, other words ignored) → (seed, entropy).
pub fn parse_args(cmd: &[u8]) -> Option<(&[u8], [u8; 32])> {
    let (mut seed, mut entropy) = (None, None);
    for word in cmd.split(|&b| b == b' ') {
        if let Some(s) = word.strip_prefix(b"key=") {
            seed = Some(s);
        } else if let Some(h) = word.strip_prefix(b"rng=") {
            entropy = parse_hex32(h);
        }
    }
    Some((seed?, entropy?))
}

fn parse_hex32(h: &[u8]) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if h.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(h.chunks(2)) {
        *o = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// Prints `label`, `bytes` in hex, and a newline.
pub fn line_hex(label: &[u8], bytes: &[u8]) {
    print(label);
    print_hex(bytes);
    print(b"\n");
}

/// Prints `label`, `n` in decimal, and `tail`.
pub fn line_u64(label: &[u8], n: u64, tail: &[u8]) {
    print(label);
    print_u64(n);
    print(tail);
}

/// Prints `error: what` and exits with status 1.
pub fn fail(what: &[u8]) -> ! {
    print(b"error: ");
    print(what);
    print(b"\n");
    exit(false)
}

/// Prints the session's figures (messages echoed, `.data + .bss`, peak
/// stack, their sum) and exits with status 0, or 1 if the stack ran through
/// the whole painted range.
pub fn finish(messages: u64, bytes: u64, painted: (u32, u32)) -> ! {
    line_u64(b"echoed: ", messages, b" messages");
    line_u64(
        b", ",
        bytes,
        b" payload bytes, then the final empty message\n",
    );
    let ram = static_ram();
    line_u64(b"ram: .data+.bss ", u64::from(ram), b" bytes\n");
    let Some(addr) = deepest_write(painted) else {
        fail(b"stack: the whole painted range was used (ran into .bss)")
    };
    let peak = stack_top() - addr;
    line_u64(b"stack: peak ", u64::from(peak), b" bytes\n");
    line_u64(
        b"ram total: ",
        u64::from(ram + peak),
        b" bytes (.data + .bss + peak stack)\n",
    );
    exit(true)
}

const PAINT: u32 = 0xa5a5_a5a5;

unsafe extern "C" {
    /// End of .bss/.uninit (cortex-m-rt's link.x).
    static __sheap: u32;
}

/// Fills the free stack between the end of .bss and (a little below) the
/// caller's frame with a pattern; returns the painted range.
#[inline(never)]
pub fn paint_stack() -> (u32, u32) {
    let sp = cortex_m::register::msp::read();
    let top = (sp - 64) & !3;
    let bottom = core::ptr::addr_of!(__sheap) as u32;
    let mut p = bottom;
    while p < top {
        // SAFETY: free RAM between the end of .bss and the live stack, used
        // by nothing else (interrupt frames land on the live stack, above).
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    (bottom, top)
}

/// The lowest overwritten address of the painted range, or `None` if even
/// its bottom word was overwritten (the stack may have run into .bss).
pub fn deepest_write((bottom, top): (u32, u32)) -> Option<u32> {
    let mut p = bottom;
    // SAFETY: the range `paint_stack` wrote; reading it has no effects.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    (p > bottom).then_some(p)
}

/// RAM used by .data + .bss (cortex-m-rt symbols).
pub fn static_ram() -> u32 {
    unsafe extern "C" {
        static __sdata: u32;
    }
    core::ptr::addr_of!(__sheap) as u32 - core::ptr::addr_of!(__sdata) as u32
}

/// The top of the stack (cortex-m-rt's `_stack_start`, the end of RAM).
pub fn stack_top() -> u32 {
    unsafe extern "C" {
        static _stack_start: u32;
    }
    core::ptr::addr_of!(_stack_start) as u32
}
