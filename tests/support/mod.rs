//! Helpers shared by integration tests.
pub mod noise_vectors;
