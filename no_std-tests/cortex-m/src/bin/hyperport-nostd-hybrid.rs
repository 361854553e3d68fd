//! Cortex-M4F image: only the post-quantum check (a hybrid XX handshake,
//! `hyperport_nostd_checks::HYBRID_CHECKS`), built with hyperport's `mlkem`
//! feature, so that its flash, RAM and peak stack are those of a hybrid
//! Noise firmware. Prints the sizes of the values the check keeps first.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;

#[entry]
fn main() -> ! {
    for (what, bytes) in hyperport_nostd_checks::hybrid::SIZES {
        hprintln!("size: {} {} bytes", what, bytes);
    }
    hprintln!(
        "size: message buffer {} bytes",
        hyperport_nostd_checks::hybrid::MSG_BUF
    );
    hyperport_nostd_cortex_m::run_image("hybrid Noise", hyperport_nostd_checks::HYBRID_CHECKS)
}
