// Fuzz target `framing_header`: datagram header parsing never panics,
// agrees with a byte-level reference check, and parse -> emit -> parse is
// the identity (emit reproduces the header bytes exactly).

use hyperport::framing::datagram::{HEADER_LEN, Header, Repr};
use hyperport::framing::{HeaderError, HeaderField};

/// Reference classification from the layout table, byte by byte.
fn reference(d: &[u8]) -> Result<Repr, HeaderError> {
    if d.len() < 20 {
        return Err(HeaderError::Truncated(hyperport::Truncated {
            needed: 20,
            available: d.len(),
        }));
    }
    let be = |r: core::ops::Range<usize>| d[r].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
    if d[0] != 1 {
        return Err(HeaderError::UnknownVersion(d[0]));
    }
    if !(1..=4).contains(&d[1]) {
        return Err(HeaderError::UnknownType(d[1]));
    }
    if be(2..4) != 0 {
        return Err(HeaderError::ReservedNotZero(be(2..4) as u16));
    }
    let (sender, receiver, counter) = (be(4..8) as u32, be(8..12) as u32, be(12..20));
    match d[1] {
        1 if receiver != 0 => Err(HeaderError::UnusedFieldNotZero(HeaderField::ReceiverIndex)),
        1 if counter != 0 => Err(HeaderError::UnusedFieldNotZero(HeaderField::Counter)),
        1 => Ok(Repr::HandshakeInitiation {
            sender_index: sender,
        }),
        2 if counter != 0 => Err(HeaderError::UnusedFieldNotZero(HeaderField::Counter)),
        2 => Ok(Repr::HandshakeResponse {
            sender_index: sender,
            receiver_index: receiver,
        }),
        _ if sender != 0 => Err(HeaderError::UnusedFieldNotZero(HeaderField::SenderIndex)),
        4 if counter != 0 => Err(HeaderError::UnusedFieldNotZero(HeaderField::Counter)),
        4 => Ok(Repr::CookieReply {
            receiver_index: receiver,
        }),
        _ => Ok(Repr::TransportData {
            receiver_index: receiver,
            counter,
        }),
    }
}

pub fn run(data: &[u8]) {
    // The raw view never panics, checked or not.
    let raw = Header::new_unchecked(data);
    let _ = (
        raw.version(),
        raw.message_type(),
        raw.reserved(),
        raw.counter(),
        raw.payload(),
    );

    let parsed = Repr::parse_datagram(data);
    assert_eq!(parsed.map(|(r, _)| r), reference(data));
    let Ok((repr, payload)) = parsed else { return };
    assert_eq!(payload, &data[HEADER_LEN..]);

    let mut out = [0u8; HEADER_LEN];
    assert_eq!(repr.emit(&mut out), Ok(HEADER_LEN));
    assert_eq!(&out[..], &data[..HEADER_LEN], "emit is not canonical");
    assert_eq!(Repr::parse_datagram(&out), Ok((repr, &[][..])));

    // Too-small output buffers are refused untouched.
    let mut short = [0xa5u8; HEADER_LEN - 1];
    assert!(repr.emit(&mut short).is_err());
    assert!(short.iter().all(|&b| b == 0xa5));

    // Emitting through a checked mutable view gives the same bytes.
    let mut buf = [0xffu8; HEADER_LEN + 2];
    let mut view = Header::new_checked(&mut buf[..]).expect("long enough");
    repr.emit_header(&mut view);
    assert_eq!(view.payload_mut(), &[0xff, 0xff]);
    assert_eq!(&buf[..HEADER_LEN], &data[..HEADER_LEN]);
}
