//! Pipes: how two nodes get a ports pipe knowing only each other's key.
//!
//! Port names are random capabilities, so a node cannot address a port of
//! another node it has never heard from. The driver therefore keeps, for
//! every node it exchanges pipes with, one hidden **doorbell** port whose
//! name both sides compute from the two node keys
//! ([`doorbell_name`]): `BLAKE2s("hyperport/tokio/doorbell/v1" || own key
//! || other key)`, first 16 bytes. The two doorbells are each other's peer.
//! Opening a pipe to node `B` makes a local port pair `(u, v)`, sends `v`
//! attached to one message on the doorbell to `B`, and hands `u` to the
//! application; `B` takes `v` out of its doorbell and hands it to its
//! application as an incoming pipe. So the pipes themselves have random
//! names, the ports node's transfer rules carry anything sent on `u` before
//! `v` arrived, and the receiving node learns which node opened the pipe
//! from its authenticated doorbell.
//!
//! Ordering: a message sent to a port that does not exist yet is dropped
//! by the ports node, so the driver sends on its doorbell to `B` only after
//! `B` spoke to it ([`Event::NodeUp`](crate::overlay::Event::NodeUp)). To
//! make `B` speak, `A` *knocks*: one message on a throwaway port whose peer
//! is a random name on `B`. `B`'s ports node drops it (no such port), but
//! `B`'s overlay admits `A`, and `B`'s driver makes its doorbell to `A` in
//! the same wake-up, before it reads another datagram; `B`'s
//! acknowledgement then admits `B` at `A`, and `A` rings.
//!
//! The ports node creates port names from its random generator; the
//! driver gives it [`PipeRng`], which returns a name set just before
//! (only for the doorbells) and operating-system randomness otherwise.

use std::sync::{Arc, Mutex};
use std::vec::Vec;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::ports::PortName;

const DOORBELL_LABEL: &[u8] = b"hyperport/tokio/doorbell/v1";

/// The name of `own`'s doorbell port towards `other`.
pub fn doorbell_name(own: &[u8; 32], other: &[u8; 32]) -> PortName {
    use blake2::Digest as _;
    let mut h = blake2::Blake2s256::new();
    h.update(DOORBELL_LABEL);
    h.update(own);
    h.update(other);
    let d = h.finalize();
    let mut name = [0u8; 16];
    for (o, i) in name.iter_mut().zip(d.iter()) {
        *o = *i;
    }
    PortName::from_bytes(name)
}

/// The ports node's random generator: ChaCha20 seeded from the operating
/// system, except that the next two `next_u64` calls (one port name) can
/// be set beforehand by the driver (only for doorbell ports).
pub struct PipeRng {
    rng: ChaCha20Rng,
    forced: Arc<Mutex<Vec<u64>>>,
}

/// The driver's side of a [`PipeRng`]: sets the next port name.
#[derive(Clone)]
pub(crate) struct NameOverride(Arc<Mutex<Vec<u64>>>);

impl NameOverride {
    /// The next port name the ports node creates is `name` (unless it is
    /// in use, then a random one).
    pub(crate) fn set(&self, name: PortName) {
        let b = name.to_bytes();
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        for (i, x) in b.iter().enumerate() {
            if let Some(s) = lo.get_mut(i) {
                *s = *x;
            } else if let Some(s) = hi.get_mut(i.saturating_sub(8)) {
                *s = *x;
            }
        }
        let mut f = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.clear();
        // Popped from the back: v1 (the first half) first.
        f.push(u64::from_le_bytes(hi));
        f.push(u64::from_le_bytes(lo));
    }

    /// Forgets an unused name.
    pub(crate) fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

impl PipeRng {
    /// A generator seeded from `seed`, and its override.
    pub(crate) fn new(seed: [u8; 32]) -> (Self, NameOverride) {
        let forced = Arc::new(Mutex::new(Vec::with_capacity(2)));
        (
            PipeRng {
                rng: ChaCha20Rng::from_seed(seed),
                forced: Arc::clone(&forced),
            },
            NameOverride(forced),
        )
    }
}

impl RngCore for PipeRng {
    fn next_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        let forced = self
            .forced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        forced.unwrap_or_else(|| self.rng.next_u64())
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.rng.fill_bytes(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.rng.try_fill_bytes(dest)
    }
}

impl CryptoRng for PipeRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doorbells_are_distinct_per_direction() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        assert_ne!(doorbell_name(&a, &b), doorbell_name(&b, &a));
        assert_eq!(doorbell_name(&a, &b), doorbell_name(&a, &b));
        assert!(doorbell_name(&a, &b).is_valid());
    }

    #[test]
    fn the_override_gives_the_name_once() {
        let (mut rng, o) = PipeRng::new([7; 32]);
        let name = doorbell_name(&[1; 32], &[2; 32]);
        o.set(name);
        assert_eq!(PortName::random(&mut rng), name);
        assert_ne!(PortName::random(&mut rng), name);
    }
}
