//! One overlay node: link sessions, the routing protocol and ports, composed.
//!
//! (Work in progress: see /work/notes/overlay-design.md.)

pub mod identity;
pub(crate) mod stream;
pub mod wire;

pub use identity::{Binding, BindingError, Identity, node_name};
pub use stream::MAX_WINDOW;
