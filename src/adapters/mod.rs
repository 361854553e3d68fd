//! Adapters: feature-gated drivers that move bytes between the core machines
//! and a runtime's sockets and clocks. They own no protocol logic.

#[cfg(all(feature = "wasi", target_os = "wasi", target_env = "p2"))]
pub mod wasi;
