//! Cortex-M4F image: every shared check (see the crate docs).
#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    hyperport_nostd_cortex_m::run_image("checks", hyperport_nostd_checks::CHECKS)
}
