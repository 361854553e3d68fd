//! 128-bit node and port names.
//!
//! A name is two `u64` halves compared lexicographically as `(v1, v2)`. The
//! all-zero value is the invalid name. Port names are capabilities: any node
//! that knows a (node, port) pair can address events to that port, so names
//! are drawn from the node's injected cryptographic RNG and must not leak.

use core::fmt;
use rand_core::{CryptoRng, RngCore};

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub struct $ty {
            /// High half (compared first).
            pub v1: u64,
            /// Low half.
            pub v2: u64,
        }

        impl $ty {
            /// The invalid (all-zero) name, meaning "not set".
            pub const INVALID: $ty = $ty { v1: 0, v2: 0 };

            /// A name from its two halves.
            pub const fn new(v1: u64, v2: u64) -> Self {
                $ty { v1, v2 }
            }

            /// Whether this is a real name (not [`Self::INVALID`]).
            pub const fn is_valid(&self) -> bool {
                self.v1 != 0 || self.v2 != 0
            }

            /// A fresh random, valid name.
            pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
                loop {
                    let n = $ty { v1: rng.next_u64(), v2: rng.next_u64() };
                    if n.is_valid() {
                        return n;
                    }
                }
            }

            /// The 16-byte wire form: `v1` then `v2`, each little-endian.
            pub fn to_bytes(&self) -> [u8; 16] {
                let mut out = [0u8; 16];
                let (a, b) = out.split_at_mut(8);
                a.copy_from_slice(&self.v1.to_le_bytes());
                b.copy_from_slice(&self.v2.to_le_bytes());
                out
            }

            /// The inverse of [`Self::to_bytes`].
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                let mut a = [0u8; 8];
                let mut b = [0u8; 8];
                let (x, y) = bytes.split_at(8);
                a.copy_from_slice(x);
                b.copy_from_slice(y);
                $ty { v1: u64::from_le_bytes(a), v2: u64::from_le_bytes(b) }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:016x}.{:016x})", stringify!($ty), self.v1, self.v2)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:016x}.{:016x}", self.v1, self.v2)
            }
        }
    };
}

name_type!(
    /// The name of a node (a process or device running one [`super::Node`]).
    NodeName
);
name_type!(
    /// The name of a port, unique within its node.
    PortName
);

/// Which life of a node a name refers to.
///
/// A node that goes away and comes back under the same [`NodeName`] (a
/// restart, a new session with the same key) is a new *incarnation*: its
/// ports are new, and nothing that referred to the old one may reach it.
/// The embedder numbers incarnations (an overlay maps its peer generation
/// onto this number); a larger number is a later incarnation. The wire
/// format carries node names only: incarnations live in the embedder and
/// in [`super::Node::admit_node`] / [`super::Node::lost_connection_to_node`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Incarnation(pub u64);

impl Incarnation {
    /// The first incarnation (1); 0 is also valid and is older.
    pub const FIRST: Incarnation = Incarnation(1);

    /// The incarnation numbered `n`.
    pub const fn new(n: u64) -> Self {
        Incarnation(n)
    }

    /// Its number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_two_little_endian_halves() {
        let n = PortName::new(0x0102_0304_0506_0708, 0x1112_1314_1516_1718);
        assert_eq!(
            n.to_bytes(),
            [
                0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13,
                0x12, 0x11
            ]
        );
        assert_eq!(PortName::from_bytes(n.to_bytes()), n);
    }

    #[test]
    fn random_names_are_valid_and_distinct() {
        let mut rng = crate::rng::SeededRng::from_u64(1);
        let a = NodeName::random(&mut rng);
        let b = NodeName::random(&mut rng);
        assert!(a.is_valid() && b.is_valid());
        assert_ne!(a, b);
    }
}
