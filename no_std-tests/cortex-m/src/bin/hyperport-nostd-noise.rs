//! Cortex-M4F image: only the Noise checks (see the crate docs), so that its
//! flash, RAM and run time are those of a Noise-only firmware.
#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    hyperport_nostd_cortex_m::run_image("Noise", hyperport_nostd_checks::NOISE_CHECKS)
}
