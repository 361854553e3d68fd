//! Cortex-M4F image: only the overlay check (see the crate docs), so that
//! its flash, RAM and peak stack are those of a small overlay firmware (two
//! `overlay::Node`s, each with one neighbour and one correspondent slot).
#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    hyperport_nostd_cortex_m::run_image("overlay", hyperport_nostd_checks::OVERLAY_CHECKS)
}
