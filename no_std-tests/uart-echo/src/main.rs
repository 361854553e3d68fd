//! Skeleton: raw byte echo until EOT (0x04).
#![no_std]
#![no_main]

mod board;
mod uart;

use cortex_m_rt::entry;
use embedded_io::{Read, Write};

#[entry]
fn main() -> ! {
    board::init();
    let mut uart = uart::Uart::new();
    board::print(b"uart-echo: raw skeleton\n");
    let mut buf = [0u8; 64];
    let mut total = 0u64;
    loop {
        let n = match uart.read(&mut buf) {
            Ok(n) => n,
            Err(_) => board::exit(false),
        };
        total += n as u64;
        let _ = uart.write_all(&buf[..n]);
        if buf[..n].contains(&4) {
            board::print(b"bytes: ");
            board::print_u64(total);
            board::print(b"\n");
            board::exit(true);
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    board::print(b"PANIC\n");
    board::exit(false)
}
