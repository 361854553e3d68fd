//! Drivers that connect the sans-IO machines to real I/O, each behind its
//! own feature. They own no protocol logic: they move bytes between a
//! transport and a machine such as [`channel::Channel`](crate::channel::Channel).

#[cfg(feature = "embedded-io")]
pub mod embedded;
