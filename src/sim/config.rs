//! [`SimConfig`]: the seed, trace recording, and the bounds of a run.

#[cfg(doc)]
use super::{Sim, SimError, TraceEntry, replay};

/// Simulator configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Seed of the PRNG driving every link. Default 0.
    pub seed: u64,
    /// Keep every [`TraceEntry`] (needed for [`Sim::trace`] and [`replay`]).
    /// The digest is computed either way. Default `true`.
    pub record_trace: bool,
    /// Step bound of [`Sim::run_until`]. Default 10 000 000.
    pub step_limit: u64,
    /// Most transmits one input may produce; more is
    /// [`SimError::TransmitFlood`]. Default 65 536.
    pub max_transmits_per_input: usize,
    /// Most message copies in flight; more is [`SimError::InFlightLimit`].
    /// Default 4 194 304 (worst case 256 MiB of queue entries plus payloads).
    pub max_in_flight: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            record_trace: true,
            step_limit: 10_000_000,
            max_transmits_per_input: 65_536,
            max_in_flight: 4_194_304,
        }
    }
}

impl SimConfig {
    /// The default configuration with the given seed.
    pub fn with_seed(seed: u64) -> Self {
        SimConfig {
            seed,
            ..SimConfig::default()
        }
    }
}
