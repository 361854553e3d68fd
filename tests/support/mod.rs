//! Helpers shared by integration tests.
pub mod go_clatter;
pub mod noise_vectors;
