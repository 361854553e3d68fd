//! Sliding anti-replay window for explicit-nonce (datagram) transports, in
//! the style of RFC 6479: a ring of 64-bit words indexed by `nonce / 64`, so
//! advancing the window clears whole words instead of shifting bits.
//!
//! Noise requires the application to reject repeated nonces when it uses
//! explicit nonces (spec rev 34, section 11.4). [`ReplayWindow`] accepts each
//! nonce at most once, accepts nonces that arrive out of order as long as
//! they are within [`REPLAY_WINDOW`] of the highest nonce accepted so far,
//! and rejects everything older.
//!
//! The check is split in two so that a forged packet cannot move the window:
//! [`ReplayWindow::check`] is pure and runs before decryption;
//! [`ReplayWindow::commit`] runs only after the packet authenticated.

use core::fmt;

/// Number of most recent nonces (counting the highest accepted one) the
/// window remembers. A nonce `n` with `highest - n >= REPLAY_WINDOW` is
/// rejected as too old.
pub const REPLAY_WINDOW: u64 = 2048;

const WORD_BITS: u64 = 64;
/// Words in the ring: the window plus one word, so the word holding the
/// highest nonce never shares a slot with the oldest one still in the window
/// (RFC 6479, section 2). Memory: 33 x 8 = 264 bytes plus 16 of bookkeeping.
const WORDS_U64: u64 = REPLAY_WINDOW / WORD_BITS + 1;
const WORDS: usize = WORDS_U64 as usize;

/// Why [`ReplayWindow::check`] rejected a nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// This nonce was already accepted: a replay or a network duplicate. Drop
    /// the packet.
    Duplicate,
    /// The nonce is [`REPLAY_WINDOW`] or more below the highest accepted
    /// nonce; it can no longer be told apart from a replay. Drop the packet.
    TooOld,
    /// The nonce is `2^64 - 1`, which Noise reserves (spec section 5.1) and
    /// no honest sender uses. Drop the packet.
    Reserved,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Duplicate => {
                f.write_str("nonce already received (replay); drop the packet")
            }
            ReplayError::TooOld => write!(
                f,
                "nonce older than the {REPLAY_WINDOW}-packet replay window; drop the packet"
            ),
            ReplayError::Reserved => {
                f.write_str("nonce 2^64-1 is reserved and never sent; drop the packet")
            }
        }
    }
}

impl core::error::Error for ReplayError {}

/// A sliding window over the last [`REPLAY_WINDOW`] nonces.
///
/// ```
/// use hyperport::noise::replay::{ReplayError, ReplayWindow};
///
/// let mut w = ReplayWindow::new();
/// for n in [5, 3, 4000] {
///     w.check(n)?;
///     // ... decrypt and authenticate the packet, then:
///     w.commit(n);
/// }
/// assert_eq!(w.check(3), Err(ReplayError::TooOld));
/// assert_eq!(w.check(4000), Err(ReplayError::Duplicate));
/// assert_eq!(w.check(3999), Ok(()));
/// # Ok::<(), ReplayError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    bits: [u64; WORDS],
    /// Highest nonce committed so far; `None` before the first commit.
    highest: Option<u64>,
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("highest", &self.highest)
            .finish_non_exhaustive()
    }
}

/// Ring slot of the word holding nonces `64 * word .. 64 * word + 63`.
fn slot_of_word(word: u64) -> usize {
    // The remainder is below WORDS (33), so the cast is lossless.
    (word % WORDS_U64) as usize
}

/// Ring slot and bit mask of nonce `n`.
fn position(n: u64) -> (usize, u64) {
    (slot_of_word(n / WORD_BITS), 1u64 << (n % WORD_BITS))
}

impl ReplayWindow {
    /// An empty window: every nonce except `2^64 - 1` is acceptable.
    pub const fn new() -> Self {
        ReplayWindow {
            bits: [0; WORDS],
            highest: None,
        }
    }

    /// The highest nonce committed so far.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Whether `n` would be accepted now. Pure: call it before decrypting.
    ///
    /// # Errors
    /// [`ReplayError`] says why the nonce is refused.
    pub fn check(&self, n: u64) -> Result<(), ReplayError> {
        if n == u64::MAX {
            return Err(ReplayError::Reserved);
        }
        let Some(highest) = self.highest else {
            return Ok(());
        };
        let Some(age) = highest.checked_sub(n) else {
            return Ok(()); // newer than anything seen
        };
        if age >= REPLAY_WINDOW {
            return Err(ReplayError::TooOld);
        }
        let (slot, mask) = position(n);
        match self.bits.get(slot) {
            Some(word) if word & mask == 0 => Ok(()),
            _ => Err(ReplayError::Duplicate),
        }
    }

    /// Records `n` as received. Call it only after the packet carrying `n`
    /// authenticated and [`check`](Self::check) accepted `n`; a nonce that
    /// `check` would refuse is ignored, so a misplaced call cannot reopen a
    /// slot or move the window backwards. Constant work: at most
    /// [`REPLAY_WINDOW`]` / 64 + 1` words are cleared, however far `n` jumps.
    pub fn commit(&mut self, n: u64) {
        if self.check(n).is_err() {
            return;
        }
        let (slot, mask) = position(n);
        match self.highest {
            Some(highest) if n <= highest => {}
            Some(highest) => {
                // Clear the words strictly after the highest one, up to and
                // including n's word; a jump of WORDS or more clears all.
                let from = highest / WORD_BITS;
                let to = n / WORD_BITS;
                let steps = to.saturating_sub(from).min(WORDS_U64);
                let mut word = from;
                for _ in 0..steps {
                    word = word.wrapping_add(1);
                    if let Some(w) = self.bits.get_mut(slot_of_word(word)) {
                        *w = 0;
                    }
                }
                self.highest = Some(n);
            }
            None => {
                self.bits = [0; WORDS];
                self.highest = Some(n);
            }
        }
        if let Some(w) = self.bits.get_mut(slot) {
            *w |= mask;
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::BTreeSet;
    use std::vec::Vec;

    /// Reference model: every accepted nonce in a set, plus the highest.
    #[derive(Default)]
    struct Model {
        seen: BTreeSet<u64>,
        highest: Option<u64>,
    }

    impl Model {
        fn check(&self, n: u64) -> Result<(), ReplayError> {
            if n == u64::MAX {
                return Err(ReplayError::Reserved);
            }
            if let Some(h) = self.highest
                && n <= h
                && h - n >= REPLAY_WINDOW
            {
                return Err(ReplayError::TooOld);
            }
            if self.seen.contains(&n) {
                return Err(ReplayError::Duplicate);
            }
            Ok(())
        }
        fn commit(&mut self, n: u64) {
            if self.check(n).is_ok() {
                self.seen.insert(n);
                self.highest = Some(self.highest.map_or(n, |h| h.max(n)));
            }
        }
    }

    fn drive(seq: &[u64]) {
        let mut w = ReplayWindow::new();
        let mut m = Model::default();
        for &n in seq {
            let got = w.check(n);
            assert_eq!(got, m.check(n), "check({n}) after {:?}", m.highest);
            let before = w.clone();
            w.commit(n);
            m.commit(n);
            if got.is_err() {
                assert!(w == before, "rejected nonce {n} changed the window");
            }
            assert_eq!(w.highest(), m.highest);
        }
    }

    #[test]
    fn basics() {
        let mut w = ReplayWindow::new();
        assert_eq!(w.check(0), Ok(()));
        w.commit(0);
        assert_eq!(w.check(0), Err(ReplayError::Duplicate));
        assert_eq!(w.check(1), Ok(()));
        assert_eq!(w.check(u64::MAX), Err(ReplayError::Reserved));
        w.commit(2047);
        // 0 is exactly REPLAY_WINDOW - 1 below: still tracked (duplicate).
        assert_eq!(w.check(0), Err(ReplayError::Duplicate));
        assert_eq!(w.check(1), Ok(()));
        w.commit(2048);
        assert_eq!(w.check(0), Err(ReplayError::TooOld));
        assert_eq!(w.check(1), Ok(()));
        w.commit(1);
        assert_eq!(w.check(1), Err(ReplayError::Duplicate));
    }

    #[test]
    fn window_holds_at_least_2048_out_of_order() {
        // Receive 2048 nonces in reverse order after the highest: all accepted.
        let mut w = ReplayWindow::new();
        w.commit(10_000);
        for n in (10_000 - 2047..10_000).rev() {
            assert_eq!(w.check(n), Ok(()), "{n}");
            w.commit(n);
        }
        for n in 10_000 - 2047..=10_000 {
            assert_eq!(w.check(n), Err(ReplayError::Duplicate));
        }
        assert_eq!(w.check(10_000 - 2048), Err(ReplayError::TooOld));
    }

    #[test]
    fn edge_sequences_match_model() {
        let max = u64::MAX;
        drive(&[0, 0, 1, 64, 63, 65, 2111, 63, 64, 2112, 64, 65]);
        drive(&[5, 5 + 64 * 33, 5 + 64 * 32, 5, 6 + 64 * 32, 5 + 64 * 33]);
        drive(&[max - 1, max - 2, max, max - 1, max - 2049, max - 2048, 0]);
        drive(&[0, max - 1, 0, 1, max - 3000, max - 10]);
        drive(&[1 << 40, (1 << 40) - 1, (1 << 40) + 2048, (1 << 40) - 1]);
        // Word boundaries around the ring size.
        let seq: Vec<u64> = (0..200).map(|i| i * 63 % 4096).collect();
        drive(&seq);
    }

    #[test]
    fn random_sequences_match_model() {
        let mut s: u64 = 0x1234_5678_9abc_def1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for round in 0..200 {
            let mut base = next() % 1_000_000;
            if round % 10 == 0 {
                base = u64::MAX - 5000;
            }
            let seq: Vec<u64> = (0..400)
                .map(|_| {
                    let r = next();
                    match r % 8 {
                        // mostly near the front, some jumps, some old
                        0 => base.saturating_add(r % 5000),
                        1 => {
                            base = base.saturating_add(r % 3000);
                            base
                        }
                        2 => base.saturating_sub(r % 2500),
                        _ => base.saturating_add(r % 64).saturating_sub(32),
                    }
                })
                .collect();
            drive(&seq);
        }
    }
}
