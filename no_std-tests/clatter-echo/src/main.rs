//! The footprint comparison for `hyperport-uart-echo`: the same
//! `Noise_XX_25519_ChaChaPoly_BLAKE2s` responder echoing every transport
//! message over UART0 of mps2-an386, with the same UART driver, board code,
//! memory budget, command line, wire protocol (4-byte big-endian length +
//! one Noise message, 1,024-byte frame cap, an empty message ends the
//! session) and report, built on clatter 2.3 instead of hyperport. clatter
//! has no framing or stream adapter, so the few lines that read and write
//! frames are here.
//!
//! Run it with `no_std-tests/uart-echo.sh PORT --image clatter`; the same
//! host client (`examples/uart_echo_client.rs`) talks to it.
#![no_std]
#![no_main]

#[path = "../../uart-echo/src/board.rs"]
mod board;
#[path = "../../uart-echo/src/uart.rs"]
mod uart;

use clatter::bytearray::{ByteArray, SensitiveByteArray};
use clatter::crypto::cipher::ChaChaPoly;
use clatter::crypto::dh::X25519;
use clatter::crypto::hash::Blake2s;
use clatter::handshakepattern::noise_xx;
use clatter::traits::{Dh, Hash};
use clatter::{Handshaker, KeyPair, NqHandshakeCore};
use cortex_m_rt::entry;
use embedded_io::{Read, Write};
use uart::Uart;

/// clatter's X25519 key pair.
type X25519KeyPair = KeyPair<[u8; 32], SensitiveByteArray<[u8; 32]>>;

/// The frame cap, as in the hyperport image.
const FRAME_CAP: usize = 1024;
const PREFIX_LEN: usize = 4;
/// How long the handshake and then each message may take to arrive.
const DEADLINE_TICKS: u64 = 60 * board::CORE_HZ;
/// Domain separation for the static key derived from the seed (the same
/// derivation as the hyperport image, so the same seed gives the same key).
const KEY_LABEL: &[u8] = b"hyperport-uart-echo static key:";

#[entry]
fn main() -> ! {
    board::init();
    let painted = board::paint_stack();
    let (static_key, entropy) = keys_from_cmdline();

    let mut uart = Uart::new();
    let t0 = board::ticks();
    let mut rng = HashRng {
        seed: Some(entropy),
        counter: 0,
    };
    let Ok(ephemeral) = X25519::genkey_rng(&mut rng) else {
        board::fail(b"cannot make the ephemeral key")
    };
    let Ok(mut hs) = NqHandshakeCore::<X25519, ChaChaPoly, Blake2s, HashRng>::new(
        noise_xx(),
        &[],
        false,
        Some(static_key),
        Some(ephemeral),
        None,
        None,
    ) else {
        board::fail(b"cannot build the handshake")
    };

    let mut buf = [0u8; FRAME_CAP + PREFIX_LEN];
    uart.set_deadline(Some(t0 + DEADLINE_TICKS));
    while !hs.is_finished() {
        if hs.is_write_turn() {
            let Ok(n) = hs.write_message(&[], &mut buf[PREFIX_LEN..]) else {
                board::fail(b"handshake: cannot write")
            };
            write_frame(&mut uart, &mut buf, n);
        } else {
            let len = read_frame(&mut uart, &mut buf[PREFIX_LEN..]);
            let (msg, out) = buf[PREFIX_LEN..].split_at_mut(len);
            if hs.read_message(msg, out).is_err() {
                board::fail(b"handshake failed: handshake message refused")
            }
        }
    }
    let client = hs.get_remote_static();
    let Ok(mut transport) = hs.finalize() else {
        board::fail(b"cannot finish the handshake")
    };
    let hash = transport.get_handshake_hash();
    let busy = board::ticks() - t0 - uart.idle_ticks();
    board::line_hex(b"handshake hash: ", hash.as_slice());
    board::line_hex(
        b"client static key: ",
        client.as_ref().map(|k| &k[..]).unwrap_or_default(),
    );
    board::line_u64(
        b"handshake instructions: ",
        busy * board::INSNS_PER_TICK,
        b" (responder, from building the handshake state to established; UART waits excluded)\n",
    );

    let (mut messages, mut bytes) = (0u64, 0u64);
    loop {
        uart.set_deadline(Some(board::ticks() + DEADLINE_TICKS));
        let len = read_frame(&mut uart, &mut buf[PREFIX_LEN..]);
        let Ok(n) = transport.receive_in_place(&mut buf[PREFIX_LEN..], len) else {
            board::fail(b"receive failed: transport message failed authentication")
        };
        let Ok(m) = transport.send_in_place(&mut buf[PREFIX_LEN..], n) else {
            board::fail(b"send failed: cannot seal")
        };
        write_frame(&mut uart, &mut buf, m);
        if n == 0 {
            break;
        }
        messages += 1;
        bytes += n as u64;
    }
    board::finish(messages, bytes, painted)
}

/// As in the hyperport image: the static key from the command line's seed
/// (its public half printed) and the host's entropy, in a function of its
/// own so that the command-line buffer is off the stack afterwards.
#[inline(never)]
fn keys_from_cmdline() -> (X25519KeyPair, [u8; 32]) {
    let mut cmd = [0u8; 256];
    let Some((seed, entropy)) = board::cmdline(&mut cmd).and_then(board::parse_args) else {
        board::print(b"usage: semihosting command line `key=SEED rng=<64 hex digits>`\n");
        board::exit(false)
    };
    let mut input = [0u8; 256];
    let Some(label_seed) = input.get_mut(..KEY_LABEL.len() + seed.len()) else {
        board::fail(b"seed too long")
    };
    label_seed[..KEY_LABEL.len()].copy_from_slice(KEY_LABEL);
    label_seed[KEY_LABEL.len()..].copy_from_slice(seed);
    let secret = SensitiveByteArray::<[u8; 32]>::from_slice(Blake2s::hash(label_seed).as_slice());
    let static_key = KeyPair {
        public: X25519::pubkey(&secret),
        secret,
    };
    board::line_hex(b"static public key: ", &static_key.public);
    (static_key, entropy)
}

/// Reads one frame's body into `buf` and returns its length.
fn read_frame(uart: &mut Uart, buf: &mut [u8]) -> usize {
    let mut prefix = [0u8; PREFIX_LEN];
    if uart.read_exact(&mut prefix).is_err() {
        board::fail(b"receive failed: no byte from the client within the deadline")
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > FRAME_CAP {
        board::fail(b"framing: frame over the cap")
    }
    if uart.read_exact(&mut buf[..len]).is_err() {
        board::fail(b"receive failed: no byte from the client within the deadline")
    }
    len
}

/// Writes the message in `buf[PREFIX_LEN..PREFIX_LEN + n]` as one frame.
fn write_frame(uart: &mut Uart, buf: &mut [u8], n: usize) {
    buf[..PREFIX_LEN].copy_from_slice(&(n as u32).to_be_bytes());
    if uart.write_all(&buf[..PREFIX_LEN + n]).is_err() || uart.flush().is_err() {
        board::fail(b"UART write failed")
    }
}

/// The ephemeral key's randomness, as in the hyperport image:
/// BLAKE2s-256(entropy || counter). clatter's RNG bound asks for `Default`;
/// a default-made one has no entropy and fails the run if ever used (the
/// image passes the ephemeral key in, so clatter never draws from it).
#[derive(Clone, Default)]
struct HashRng {
    seed: Option<[u8; 32]>,
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
        let Some(seed) = self.seed else {
            board::fail(b"randomness asked of an RNG without entropy")
        };
        for chunk in dest.chunks_mut(32) {
            let mut input = [0u8; 40];
            input[..32].copy_from_slice(&seed);
            input[32..].copy_from_slice(&self.counter.to_le_bytes());
            let block = Blake2s::hash(&input);
            chunk.copy_from_slice(&block.as_slice()[..chunk.len()]);
            self.counter += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for HashRng {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    board::print(b"PANIC\n");
    board::exit(false)
}
