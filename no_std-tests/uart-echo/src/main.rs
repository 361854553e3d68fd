//! Cortex-M4F firmware for QEMU's mps2-an386: a
//! `Noise_XX_25519_ChaChaPoly_BLAKE2s` **responder** on UART0, built on
//! hyperport's embedded adapter (`adapters::embedded::FramedNoise` over the
//! UART driver in `uart.rs`), that echoes every transport message.
//!
//! Wire: each frame is a 4-byte big-endian length and one Noise message;
//! the frame cap is 1,024 bytes (payloads up to 1,008). The client (the
//! initiator) runs the handshake, sends transport messages and gets each
//! one back with the same payload; it ends the session by sending an
//! **empty** transport message, which the image echoes (empty) before it
//! prints its figures and exits through semihosting with status 0. Any
//! error (a refused frame, a handshake not finished within 60 s, 60 s
//! without a message) exits with status 1.
//!
//! The command line (semihosting `SYS_GET_CMDLINE`, QEMU's
//! `-semihosting-config arg=...`) carries `key=SEED rng=HEX`:
//!
//! * the static private key is `BLAKE2s-256("hyperport-uart-echo static
//!   key:" || SEED)` (SEED as given, in bytes), so the client can compute
//!   the public key it must see;
//! * `rng=` is 64 hex digits of entropy from the host for the ephemeral key
//!   (mps2-an386 has no random number generator; a real device would use
//!   its TRNG): the ephemeral private key is `BLAKE2s-256(entropy || 0u64
//!   little-endian)`.
//!
//! Output (semihosting stdout), one fact per line: the static public key,
//! the handshake hash, the client's static key, the instructions the
//! handshake took (under `-icount shift=0`, idle waits for the UART
//! excluded), the messages echoed, `.data + .bss`, and the peak stack.
//!
//! With the feature `hybrid` (`uart-echo.sh --image hybrid`) the
//! protocol is `Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s` (issue
//! #19), the frame cap 4,096 bytes (payloads up to 4,080; the largest
//! handshake message is 3,568 bytes), and the static key also has an
//! ML-KEM-768 key pair from the FIPS 203 seed `d || z`, `d =
//! BLAKE2s-256("hyperport-uart-echo kem seed d:" || SEED)`, `z =
//! BLAKE2s-256("hyperport-uart-echo kem seed z:" || SEED)`; the image prints
//! `static kem public key blake2s: ` and the BLAKE2s-256 of that public key
//! (the client derives and pins the key itself).
#![no_std]
#![no_main]

mod board;
mod uart;

use cortex_m_rt::entry;
use hyperport::adapters::embedded::{Error, FramedNoise};
use hyperport::channel::{Channel, PREFIX_LEN, RecvError};
use hyperport::crypto::x25519::KeyPair;
use hyperport::crypto::{HashAlgorithm, Provider, RustCrypto};
use hyperport::noise::Builder;
use uart::{Uart, UartError};

/// The protocol, as the issue fixes it.
#[cfg(not(feature = "hybrid"))]
const PROTOCOL: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// The protocol of the hybrid variant.
#[cfg(feature = "hybrid")]
const PROTOCOL: &str = "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s";
/// The frame cap: the channel's receive storage.
#[cfg(not(feature = "hybrid"))]
const FRAME_CAP: usize = 1024;
/// The frame cap of the hybrid variant (its largest handshake message is
/// 3,568 bytes).
#[cfg(feature = "hybrid")]
const FRAME_CAP: usize = 4096;
/// How long the handshake and then each message may take to arrive.
const DEADLINE_TICKS: u64 = 60 * board::CORE_HZ;
/// Domain separation for the static key derived from the seed.
const KEY_LABEL: &[u8] = b"hyperport-uart-echo static key:";
/// Domain separation for the two halves of the ML-KEM seed (hybrid).
#[cfg(feature = "hybrid")]
const KEM_LABELS: [&[u8]; 2] = [
    b"hyperport-uart-echo kem seed d:",
    b"hyperport-uart-echo kem seed z:",
];

#[entry]
fn main() -> ! {
    board::init();
    let painted = board::paint_stack();
    let (static_key, entropy, seed) = keys_from_cmdline();
    #[cfg(feature = "hybrid")]
    let kem_key = kem_key(&seed);
    #[cfg(not(feature = "hybrid"))]
    let _ = seed;

    let uart = Uart::new();
    let t0 = board::ticks();
    let mut rng = HashRng {
        seed: entropy,
        counter: 0,
    };
    let Ok(hs) = Builder::from_name(PROTOCOL).and_then(|b| {
        let b = b.local_static(static_key);
        #[cfg(feature = "hybrid")]
        let b = b.local_static_kem(&kem_key);
        b.build_responder::<RustCrypto>(&mut rng)
    }) else {
        board::fail(b"cannot build the handshake")
    };
    let Ok(channel) = Channel::new(hs, [0u8; FRAME_CAP]) else {
        board::fail(b"cannot build the channel")
    };
    let mut link = FramedNoise::new(uart, channel);
    let mut buf = [0u8; FRAME_CAP + PREFIX_LEN];

    let deadline = t0 + DEADLINE_TICKS;
    link.io_mut().set_deadline(Some(deadline));
    if let Err(e) = link.handshake(&mut buf, || board::ticks() > deadline) {
        fail_with(b"handshake failed: ", &e)
    }
    let busy = board::ticks() - t0 - link.io_mut().idle_ticks();
    let ch = link.channel();
    board::line_hex(b"handshake hash: ", ch.handshake_hash().unwrap_or_default());
    board::line_hex(
        b"client static key: ",
        ch.remote_static().map(|k| &k[..]).unwrap_or_default(),
    );
    board::line_u64(
        b"handshake instructions: ",
        busy * board::INSNS_PER_TICK,
        b" (responder, from building the handshake state to established; UART waits excluded)\n",
    );

    // Echo: receive into buf[PREFIX_LEN..], seal in place, send.
    let (mut messages, mut bytes) = (0u64, 0u64);
    loop {
        link.io_mut()
            .set_deadline(Some(board::ticks() + DEADLINE_TICKS));
        let n = match link.receive(&mut buf[PREFIX_LEN..]) {
            Ok(Some(n)) => n,
            Ok(None) => board::fail(b"the stream ended"),
            Err(e) => fail_with(b"receive failed: ", &e),
        };
        if let Err(e) = link.send_in_place(&mut buf, n) {
            fail_with(b"send failed: ", &e)
        }
        if n == 0 {
            break;
        }
        messages += 1;
        bytes += n as u64;
    }
    board::finish(messages, bytes, painted)
}

/// The ephemeral key's randomness: BLAKE2s-256(entropy || counter), the
/// entropy coming from the host (module docs). Uses the BLAKE2s the Noise
/// suite needs anyway, so it adds no crypto code.
struct HashRng {
    seed: [u8; 32],
    counter: u64,
}

impl rand_core::RngCore for HashRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            let block = RustCrypto::hash(
                HashAlgorithm::Blake2s,
                &[&self.seed, &self.counter.to_le_bytes()],
            );
            chunk.copy_from_slice(&block.as_bytes()[..chunk.len()]);
            self.counter += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for HashRng {}

/// The static key (from the command line's seed; its public half printed),
/// the host's entropy, and the ML-KEM seed of the hybrid variant (derived
/// from the command line's seed; unused otherwise). A function of its own,
/// so that the command-line buffer is off the stack before the handshake
/// runs.
#[inline(never)]
fn keys_from_cmdline() -> (KeyPair, [u8; 32], [u8; 64]) {
    let mut cmd = [0u8; 256];
    let Some((seed, entropy)) = board::cmdline(&mut cmd).and_then(board::parse_args) else {
        board::print(b"usage: semihosting command line `key=SEED rng=<64 hex digits>`\n");
        board::exit(false)
    };
    let secret = RustCrypto::hash(HashAlgorithm::Blake2s, &[KEY_LABEL, seed]);
    let mut secret_bytes = [0u8; 32];
    secret_bytes.copy_from_slice(secret.as_bytes());
    let static_key = KeyPair::from_secret_bytes(secret_bytes);
    board::line_hex(b"static public key: ", static_key.public());
    #[cfg(feature = "hybrid")]
    let kem_seed = {
        let mut both = [0u8; 64];
        for (half, label) in both.chunks_mut(32).zip(KEM_LABELS) {
            half.copy_from_slice(
                RustCrypto::hash(HashAlgorithm::Blake2s, &[label, seed]).as_bytes(),
            );
        }
        both
    };
    #[cfg(not(feature = "hybrid"))]
    let kem_seed = [0u8; 64];
    (static_key, entropy, kem_seed)
}

/// The static ML-KEM-768 key pair of the hybrid variant; prints the
/// BLAKE2s-256 of its public key.
#[cfg(feature = "hybrid")]
fn kem_key(seed: &[u8; 64]) -> hyperport::crypto::mlkem::KeyPair {
    let key = hyperport::crypto::mlkem::KeyPair::from_seed(seed);
    let digest = RustCrypto::hash(HashAlgorithm::Blake2s, &[key.public_bytes()]);
    board::line_hex(b"static kem public key blake2s: ", digest.as_bytes());
    key
}

/// Names the error without `core::fmt` (which would add kilobytes).
fn fail_with(what: &[u8], e: &Error<UartError>) -> ! {
    board::print(b"error: ");
    board::print(what);
    board::print(match e {
        Error::Read(UartError::TimedOut) => b"no byte from the client within the deadline",
        Error::Recv(RecvError::Framing(_)) => b"framing: frame over the cap, or cut off",
        Error::Recv(RecvError::Handshake(_)) => b"handshake message refused",
        Error::Recv(RecvError::Transport(_)) => b"transport message failed authentication",
        Error::Recv(_) => b"received bytes refused",
        Error::Send(_) => b"cannot seal",
        Error::TimedOut => b"handshake deadline passed",
        Error::WriteZero => b"UART wrote nothing",
        Error::NotEstablished => b"not established",
        Error::Closed => b"closed",
        _ => b"other",
    });
    board::print(b"\n");
    board::exit(false)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    board::print(b"PANIC\n");
    board::exit(false)
}
