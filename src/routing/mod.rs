//! Spanning-tree coordinates and greedy forwarding with a watermark.
//!
//! * [`coords`]: exact coordinates (slot paths from the root) and the exact
//!   integer tree distance every forwarding decision uses; why this is the
//!   hyperbolic embedding's distance up to a monotone map.
//! * [`greedy`]: the forwarding decision (greedy over all links, watermark,
//!   "path broken") and the packet header codec.

pub mod coords;
pub mod greedy;

pub use coords::{Coord, CoordError, MAX_COORD_WIRE_LEN, MAX_DEPTH, MAX_DISTANCE};
pub use greedy::{Decision, Header, HeaderError, LinkId, MAX_HEADER_LEN, PacketKind, decide};
