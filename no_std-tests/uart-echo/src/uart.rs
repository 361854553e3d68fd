//! A driver for UART0 of mps2-an386, an Arm CMSDK APB UART (Cortex-M System
//! Design Kit TRM, ARM DDI 0479: one-byte transmit and receive buffers, no
//! FIFO, 8N1), implementing `embedded_io::{Read, Write}`.
//!
//! Receiving sleeps (`wfi`) until the RX interrupt wakes the core, so that
//! under QEMU's `-icount` the time spent waiting for the host is idle time,
//! not instructions; the driver counts it ([`Uart::idle_ticks`]) so that the
//! image can tell how many instructions its own work took. A read deadline
//! ([`Uart::set_deadline`]) turns a silent peer into [`UartError::TimedOut`].

use crate::board;

const BASE: usize = 0x4000_4000;
const DATA: *mut u32 = BASE as *mut u32;
const STATE: *mut u32 = (BASE + 0x04) as *mut u32;
const CTRL: *mut u32 = (BASE + 0x08) as *mut u32;
const INTSTATUS: *mut u32 = (BASE + 0x0c) as *mut u32;
const BAUDDIV: *mut u32 = (BASE + 0x10) as *mut u32;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_RX_INT_EN: u32 = 1 << 3;
const INT_RX: u32 = 1 << 1;

fn read_reg(reg: *mut u32) -> u32 {
    // SAFETY: a register of UART0 in the board's peripheral region; reading
    // STATE/INTSTATUS has no side effect, reading DATA takes the received
    // byte, which the caller wants.
    unsafe { core::ptr::read_volatile(reg) }
}

fn write_reg(reg: *mut u32, v: u32) {
    // SAFETY: a register of UART0 in the board's peripheral region.
    unsafe { core::ptr::write_volatile(reg, v) }
}

/// Clears UART0's RX interrupt status (the interrupt handler calls this).
pub fn clear_rx_interrupt() {
    write_reg(INTSTATUS, INT_RX);
}

/// What can go wrong on the UART.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartError {
    /// The read deadline passed before a byte arrived.
    TimedOut,
}

impl core::fmt::Display for UartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("UART read deadline passed")
    }
}

impl core::error::Error for UartError {}

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::TimedOut
    }
}

/// UART0, owned.
pub struct Uart {
    deadline: Option<u64>,
    idle: u64,
}

impl Uart {
    /// Sets UART0 up: 115,200 baud (25 MHz / 217; QEMU only needs a valid
    /// divider), transmitter and receiver on, receive interrupt on.
    pub fn new() -> Self {
        write_reg(BAUDDIV, 217);
        write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN);
        Uart {
            deadline: None,
            idle: 0,
        }
    }

    /// Reads fail with [`UartError::TimedOut`] once [`board::ticks`] passes
    /// `deadline` (`None`: wait forever).
    pub fn set_deadline(&mut self, deadline: Option<u64>) {
        self.deadline = deadline;
    }

    /// Ticks spent asleep waiting for received bytes so far.
    pub fn idle_ticks(&self) -> u64 {
        self.idle
    }

    /// Waits until a received byte is in the buffer.
    fn wait_rx(&mut self) -> Result<(), UartError> {
        loop {
            if read_reg(STATE) & STATE_RX_FULL != 0 {
                return Ok(());
            }
            let t0 = board::ticks();
            if self.deadline.is_some_and(|d| t0 >= d) {
                return Err(UartError::TimedOut);
            }
            // Interrupts off between the check and `wfi`, so that a byte
            // arriving in between leaves its interrupt pending and `wfi`
            // returns at once; the handler runs when they are back on. The
            // SysTick wrap interrupt wakes the core at least every 0.67 s
            // (for the deadline).
            cortex_m::interrupt::free(|_| {
                if read_reg(STATE) & STATE_RX_FULL == 0 {
                    cortex_m::asm::wfi();
                }
            });
            self.idle += board::ticks().saturating_sub(t0);
        }
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = UartError;
}

impl embedded_io::Read for Uart {
    /// Waits for one byte, then takes every byte that is already there
    /// (the CMSDK UART buffers one at a time).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.wait_rx()?;
        let mut n = 0;
        for slot in buf.iter_mut() {
            if read_reg(STATE) & STATE_RX_FULL == 0 {
                break;
            }
            *slot = read_reg(DATA) as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        for &b in buf {
            while read_reg(STATE) & STATE_TX_FULL != 0 {}
            write_reg(DATA, u32::from(b));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), UartError> {
        while read_reg(STATE) & STATE_TX_FULL != 0 {}
        Ok(())
    }
}
