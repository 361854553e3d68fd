//! Link behaviour (latency, loss, duplication, reordering, MTU) and the
//! simulator's seeded PRNG.

use crate::time::Duration;

/// One million: probabilities are integers in parts per million.
pub const PPM: u32 = 1_000_000;

/// How one undirected link treats the messages it carries (both directions
/// use the same configuration and draw from the simulator's single PRNG).
///
/// Probabilities are integers in parts per million ([`PPM`] = certain) so a
/// run is bit-identical on every target; values above [`PPM`] act as [`PPM`].
///
/// Per message, in this order:
/// 1. larger than [`mtu`](Self::mtu): dropped (`dropped_mtu`); blocked by a
///    partition: dropped (`dropped_partition`);
/// 2. with a [`bandwidth`](Self::bandwidth), the message is serialised:
///    it leaves the sender `ceil(len * 10^6 / bandwidth)` microseconds after
///    the previous message on that direction has left (or after now), an
///    unbounded drop-free queue; without one it leaves now;
/// 3. with probability [`loss_ppm`](Self::loss_ppm): dropped (`dropped_loss`),
///    after using its share of the bandwidth;
/// 4. delivered a latency after it left, drawn uniformly from
///    `[latency_min, latency_max]` (inclusive, in microseconds);
/// 5. with probability [`reorder_ppm`](Self::reorder_ppm) the copy is held back
///    by an extra delay drawn uniformly from `[1 us, reorder_delay]` and is
///    exempt from FIFO order, so later messages may overtake it (`reordered`).
///    Every other message is FIFO per direction: its arrival is pushed to no
///    earlier than the previous FIFO arrival on that direction (equal times
///    keep send order), so **with `reorder_ppm == 0` a link never reorders**;
/// 6. with probability [`duplicate_ppm`](Self::duplicate_ppm) a second copy is
///    sent, which goes through steps 4-5 on its own (`duplicated`; the
///    duplication happens past the bottleneck, so it uses no bandwidth).
///
/// Random draws per message, in this order: loss, duplication, then per
/// copy latency and reordering (plus the hold-back when reordered).
///    With `duplicate_ppm == 0` a link never duplicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkConfig {
    /// Smallest one-way latency. Default 10 ms.
    pub latency_min: Duration,
    /// Largest one-way latency (a value below `latency_min` acts as
    /// `latency_min`). Default 10 ms.
    pub latency_max: Duration,
    /// Loss probability, parts per million. Default 0.
    pub loss_ppm: u32,
    /// Duplication probability, parts per million. Default 0.
    pub duplicate_ppm: u32,
    /// Reordering probability, parts per million. Default 0.
    pub reorder_ppm: u32,
    /// Largest extra hold-back of a reordered message. Default 20 ms; zero
    /// acts as 1 us.
    pub reorder_delay: Duration,
    /// Largest message, in bytes; larger ones are dropped. Default `None`
    /// (no limit).
    pub mtu: Option<usize>,
    /// Bytes per second each direction carries. Default `None` (infinite:
    /// no serialisation delay); `Some(0)` acts as `None`.
    pub bandwidth: Option<u64>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency_min: Duration::from_millis(10),
            latency_max: Duration::from_millis(10),
            loss_ppm: 0,
            duplicate_ppm: 0,
            reorder_ppm: 0,
            reorder_delay: Duration::from_millis(20),
            mtu: None,
            bandwidth: None,
        }
    }
}

impl LinkConfig {
    /// A perfect link with a fixed latency: no loss, duplication or reordering.
    pub fn fixed(latency: Duration) -> Self {
        LinkConfig {
            latency_min: latency,
            latency_max: latency,
            ..LinkConfig::default()
        }
    }

    /// This configuration with latency drawn from `[min, max]`.
    pub fn with_latency(self, min: Duration, max: Duration) -> Self {
        LinkConfig {
            latency_min: min,
            latency_max: max,
            ..self
        }
    }

    /// This configuration with the given loss probability (ppm).
    pub fn with_loss_ppm(self, loss_ppm: u32) -> Self {
        LinkConfig { loss_ppm, ..self }
    }

    /// This configuration with the given duplication probability (ppm).
    pub fn with_duplicate_ppm(self, duplicate_ppm: u32) -> Self {
        LinkConfig {
            duplicate_ppm,
            ..self
        }
    }

    /// This configuration with the given reordering probability (ppm).
    pub fn with_reorder_ppm(self, reorder_ppm: u32) -> Self {
        LinkConfig {
            reorder_ppm,
            ..self
        }
    }

    /// This configuration with a bandwidth in bytes per second.
    pub fn with_bandwidth(self, bytes_per_second: u64) -> Self {
        LinkConfig {
            bandwidth: Some(bytes_per_second),
            ..self
        }
    }

    /// This configuration with an MTU.
    pub fn with_mtu(self, mtu: usize) -> Self {
        LinkConfig {
            mtu: Some(mtu),
            ..self
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): the simulator's PRNG.
///
/// Not cryptographic; chosen because it is tiny, fast, has a published
/// reference output and gives the same stream on every target. Each draw
/// advances a 64-bit counter by the golden-ratio increment and mixes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose whole output is determined by `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value uniform in `[0, bound)` (0 when `bound` is 0), by the
    /// multiply-high method: bias at most `bound / 2^64`.
    pub fn below(&mut self, bound: u64) -> u64 {
        let wide = u128::from(self.next_u64()).wrapping_mul(u128::from(bound));
        // The high half of a 64x64-bit product always fits in u64.
        u64::try_from(wide.wrapping_shr(64)).unwrap_or(0)
    }

    /// A value uniform in `[lo, hi]` inclusive (`lo` when `hi <= lo`).
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.wrapping_sub(lo);
        match span.checked_add(1) {
            Some(n) => lo.wrapping_add(self.below(n)),
            None => self.next_u64(), // the full u64 range
        }
    }

    /// `true` with probability `ppm / 1_000_000`. Always draws once, so the
    /// stream position does not depend on the probability.
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        self.below(u64::from(PPM)) < u64::from(ppm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_output() {
        // First outputs for seed 0 of the reference C implementation
        // (Vigna, splitmix64.c), recomputed independently in Python.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = SplitMix64::new(42);
        for _ in 0..10_000 {
            let x = r.range_inclusive(5, 9);
            assert!((5..=9).contains(&x));
            assert!(r.below(3) < 3);
        }
        assert_eq!(r.range_inclusive(7, 7), 7);
        assert_eq!(r.below(0), 0);
        assert!(!r.chance_ppm(0));
        assert!(r.chance_ppm(PPM));
    }
}
