// Fuzz body: the Noise datagram transport's receive path.
//
// The input is a little program: a sender seals datagrams into a bounded
// pool; the receiver is handed pool entries (in any order, any number of
// times), tampered copies, and arbitrary (nonce, bytes) pairs; the sender's
// clock advances and its time-based rekey fires. Every delivery is checked
// against a reference model of the receiver (a set of accepted nonces plus
// the per-epoch window and epoch rules written out directly):
//
// * an authentic datagram is accepted exactly when the model accepts it, and
//   then yields the payload that was sealed;
// * a duplicate is never accepted (checked against every nonce ever
//   accepted, independently of the model);
// * tampered and arbitrary datagrams are never accepted and never change
//   what the receiver accepts later;
// * nothing panics.

use std::collections::{BTreeMap, BTreeSet};

use hyperport::crypto::{AeadAlgorithm, DefaultProvider, Digest};
use hyperport::noise::cipher::SplitKeys;
use hyperport::noise::datagram::{Config, DatagramTransport, RekeyPolicy, TIME_ONLY_EPOCH_LEN};
use hyperport::noise::replay::REPLAY_WINDOW;
use hyperport::noise::transport::MAX_EPOCH_SKIP;
use hyperport::time::{Duration, Instant, Timed};

type T = DatagramTransport<DefaultProvider>;

/// Largest number of sealed datagrams kept for (re)delivery.
const POOL: usize = 32;
/// Longest payload sealed.
const MAX_PAYLOAD: usize = 200;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u64(&mut self) -> Option<u64> {
        let mut v = [0u8; 8];
        for b in &mut v {
            *b = self.byte()?;
        }
        Some(u64::from_le_bytes(v))
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

/// Reference model of the receiver's acceptance rule.
struct Model {
    epoch_len: Option<u64>,
    cur: u64,
    have_prev: bool,
    seen: BTreeSet<u64>,
    highest: BTreeMap<u64, u64>,
}

impl Model {
    fn epoch(&self, n: u64) -> u64 {
        self.epoch_len.map_or(0, |l| n / l)
    }

    fn accepts(&self, n: u64) -> bool {
        if n == u64::MAX {
            return false;
        }
        let e = self.epoch(n);
        let in_window = |e: u64| {
            !self.seen.contains(&n)
                && self
                    .highest
                    .get(&e)
                    .is_none_or(|&h| n > h || h - n < REPLAY_WINDOW)
        };
        if e == self.cur || (e + 1 == self.cur && self.have_prev) {
            in_window(e)
        } else {
            e > self.cur && e - self.cur <= MAX_EPOCH_SKIP
        }
    }

    fn accept(&mut self, n: u64) {
        let e = self.epoch(n);
        if e > self.cur {
            self.cur = e;
            self.have_prev = true;
        }
        self.seen.insert(n);
        let h = self.highest.entry(e).or_insert(n);
        *h = (*h).max(n);
    }
}

pub fn run(data: &[u8]) {
    let mut input = Input(data);
    let Some(mode) = input.byte() else { return };
    let alg = if mode & 0x80 == 0 {
        AeadAlgorithm::ChaCha20Poly1305
    } else {
        AeadAlgorithm::Aes256Gcm
    };
    let period = Duration::from_secs(1);
    let rekey = match mode % 4 {
        0 => RekeyPolicy::default(),
        1 => RekeyPolicy {
            after_messages: Some(u64::from((mode >> 2) & 0x1f)),
            after_time: None,
        },
        2 => RekeyPolicy {
            after_messages: None,
            after_time: Some(period),
        },
        _ => RekeyPolicy {
            after_messages: Some(u64::from((mode >> 2) & 0x1f) + 1),
            after_time: Some(period),
        },
    };
    let epoch_len = rekey
        .after_messages
        .map(|m| m.max(1))
        .or(rekey.after_time.map(|_| TIME_ONLY_EPOCH_LEN));
    let config = Config { rekey };
    let h = Digest::from_slice(&[7; 32]);
    let mut now = Instant::ZERO;
    let mut tx = T::new(
        SplitKeys::new([1; 32], [2; 32], alg, h.clone(), true),
        config,
        now,
    );
    let mut rx = T::new(SplitKeys::new([1; 32], [2; 32], alg, h, false), config, now);
    let mut model = Model {
        epoch_len,
        cur: 0,
        have_prev: false,
        seen: BTreeSet::new(),
        highest: BTreeMap::new(),
    };
    let mut accepted = BTreeSet::new();
    // (nonce, ciphertext, payload)
    let mut pool: Vec<(u64, Vec<u8>, Vec<u8>)> = Vec::new();
    let mut sealed = 0usize;
    let mut out = [0u8; MAX_PAYLOAD + 16];

    let mut deliver =
        |rx: &mut T, model: &mut Model, nonce: u64, ct: &[u8], payload: Option<&[u8]>| {
            let expect = payload.is_some() && model.accepts(nonce);
            let got = rx.read_message(nonce, ct, &mut out);
            match got {
                Ok(len) => {
                    assert!(expect, "accepted nonce {nonce} the model refuses: {got:?}");
                    assert!(accepted.insert(nonce), "duplicate nonce {nonce} accepted");
                    assert_eq!(Some(&out[..len]), payload, "wrong payload");
                    model.accept(nonce);
                }
                Err(e) => assert!(!expect, "refused nonce {nonce} the model accepts: {e}"),
            }
        };

    while let Some(op) = input.byte() {
        match op % 6 {
            // Seal a datagram into the pool.
            0 => {
                let len = usize::from(input.byte().unwrap_or(0)) % MAX_PAYLOAD;
                let payload: Vec<u8> = (0..len).map(|i| (i as u8) ^ (sealed as u8)).collect();
                sealed += 1;
                let mut buf = vec![0u8; len + 16];
                let Ok((nonce, n)) = tx.write_message(&payload, &mut buf) else {
                    continue;
                };
                buf.truncate(n);
                if pool.len() == POOL {
                    pool.remove(0);
                }
                pool.push((nonce, buf, payload));
            }
            // Deliver a pooled datagram (perhaps again).
            1 | 2 => {
                let Some(i) = input.byte() else { break };
                if pool.is_empty() {
                    continue;
                }
                let (nonce, ct, payload) = &pool[usize::from(i) % pool.len()];
                deliver(&mut rx, &mut model, *nonce, ct, Some(payload));
            }
            // Deliver a tampered pooled datagram: flipped bit, other nonce,
            // or truncated.
            3 => {
                let (Some(i), Some(how)) = (input.byte(), input.byte()) else {
                    break;
                };
                if pool.is_empty() {
                    continue;
                }
                let (nonce, ct, _) = &pool[usize::from(i) % pool.len()];
                let mut ct = ct.clone();
                let mut nonce = *nonce;
                match how % 3 {
                    0 => {
                        let at = usize::from(how) % ct.len();
                        ct[at] ^= 1 << (how % 8);
                    }
                    1 => nonce ^= 1 << (how % 64),
                    _ => ct.truncate(usize::from(how) % ct.len()),
                }
                deliver(&mut rx, &mut model, nonce, &ct, None);
            }
            // Deliver arbitrary bytes under an arbitrary nonce.
            4 => {
                let Some(nonce) = input.u64() else { break };
                let len = usize::from(input.byte().unwrap_or(0));
                let ct = input.bytes(len).to_vec();
                deliver(&mut rx, &mut model, nonce, &ct, None);
            }
            // Let time pass on the sender (time-based rekey).
            _ => {
                now += period;
                if let Some(t) = tx.poll_timeout() {
                    assert!(t > Instant::ZERO);
                }
                tx.handle_timeout(now);
                if let Some(t) = tx.poll_timeout() {
                    assert!(t > now, "poll_timeout must move past now");
                }
            }
        }
    }
}
