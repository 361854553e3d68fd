//! The tokio adapter (feature `tokio`): drives the core machines on tokio.
//! It owns no protocol logic; it supplies sockets, a clock, randomness and
//! tasks, and keeps the adapter rules of `reference/failure-modes.md` §1:
//! every await races a deadline or is cancel-safe for the caller's own
//! select, file operations run off the async workers under a timeout, and
//! every I/O error is surfaced.
//!
//! * [`identity`]: load or generate a node's static key file (atomic
//!   writes, permission checks, never a silent replacement). Unix only.

#[cfg(unix)]
pub mod identity;

#[cfg(unix)]
pub use identity::{Identity, IdentityError, IdentityOptions};
