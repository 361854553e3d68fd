//! The datagram header view and `Repr`, against the layout typed by hand.

use hyperport::framing::datagram::{HEADER_LEN, Header, MessageType, Repr};
use hyperport::framing::{HeaderError, HeaderField};

#[test]
fn layout_is_the_documented_table() {
    let repr = Repr::HandshakeResponse {
        sender_index: 0x1122_3344,
        receiver_index: 0x5566_7788,
    };
    let mut buf = [0xeeu8; 24];
    assert_eq!(repr.emit(&mut buf), Ok(20));
    #[rustfmt::skip]
    let want = [
        0x01,                   // version
        0x02,                   // type: handshake-response
        0x00, 0x00,             // reserved
        0x11, 0x22, 0x33, 0x44, // sender index
        0x55, 0x66, 0x77, 0x88, // receiver index
        0, 0, 0, 0, 0, 0, 0, 0, // counter (unused)
        0xee, 0xee, 0xee, 0xee, // payload: untouched by emit
    ];
    assert_eq!(buf, want);

    let data = Repr::TransportData {
        receiver_index: 9,
        counter: 0x0102_0304_0506_0708,
    };
    data.emit(&mut buf).unwrap();
    assert_eq!(&buf[..12], &[1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    assert_eq!(&buf[12..20], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(HEADER_LEN, 20);
}

#[test]
fn view_setters_and_parse_agree() {
    let mut buf = [0u8; 26];
    let mut h = Header::new_checked(&mut buf[..]).unwrap();
    h.set_version(1);
    h.set_message_type(MessageType::HandshakeInitiation.to_u8());
    h.set_sender_index(77);
    h.payload_mut().copy_from_slice(b"noise!");
    let h = Header::new_checked(&buf[..]).unwrap();
    assert_eq!(
        Repr::parse(&h),
        Ok(Repr::HandshakeInitiation { sender_index: 77 })
    );
    assert_eq!(h.payload(), b"noise!");

    let mut h = Header::new_checked(&mut buf[..]).unwrap();
    h.set_reserved(0x0100);
    assert_eq!(Repr::parse(&h), Err(HeaderError::ReservedNotZero(0x0100)));
    h.set_reserved(0);
    h.set_counter(1);
    assert_eq!(
        Repr::parse(&h),
        Err(HeaderError::UnusedFieldNotZero(HeaderField::Counter))
    );
}

#[test]
fn short_buffers_never_panic() {
    for len in 0..HEADER_LEN {
        let buf = vec![0xffu8; len];
        assert!(matches!(
            Header::new_checked(&buf[..]),
            Err(HeaderError::Truncated(t)) if t.needed == 20 && t.available == len
        ));
        // An unchecked view reads, and parse still refuses, without panicking.
        let h = Header::new_unchecked(&buf[..]);
        let _ = (h.version(), h.message_type(), h.counter(), h.payload());
        assert!(matches!(Repr::parse(&h), Err(HeaderError::Truncated(_))));
        let mut out = vec![0x11u8; len];
        assert!(
            Repr::TransportData {
                receiver_index: 1,
                counter: 1
            }
            .emit(&mut out)
            .is_err()
        );
        assert!(out.iter().all(|&b| b == 0x11), "short buffer written");
    }
}

#[test]
fn message_type_wire_values() {
    assert_eq!(MessageType::from_u8(0), None);
    for (v, t) in [
        (1, MessageType::HandshakeInitiation),
        (2, MessageType::HandshakeResponse),
        (3, MessageType::TransportData),
        (4, MessageType::CookieReply),
    ] {
        assert_eq!(MessageType::from_u8(v), Some(t));
        assert_eq!(t.to_u8(), v);
    }
    assert_eq!(MessageType::from_u8(5), None);
    assert!(
        HeaderError::UnknownType(9)
            .to_string()
            .contains("drop the datagram")
    );
}
