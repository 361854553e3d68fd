// Fuzz body: hyperport's Noise handshake as the initiator, against a genuine
// peer whose messages the fuzz input mutates at every step. See
// `noise_common.rs` for the input layout and the invariants checked.

include!("noise_common.rs");

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    drive(data, true);
}
