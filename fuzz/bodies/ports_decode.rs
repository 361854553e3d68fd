// Ports event decoding: arbitrary bytes never panic; whatever decodes
// re-encodes to the very same bytes and decodes to the same event; encoding
// into a buffer one byte short fails and writes nothing.

use hyperport::ports::{Bytes, Event};

type Ev = Event<Bytes<256>, 4>;

pub fn run(data: &[u8]) {
    let Ok(ev) = Ev::decode(data) else { return };
    let mut buf = [0u8; 1024];
    let n = ev.encode(&mut buf).expect("a decoded event re-encodes");
    assert_eq!(n, ev.encoded_len());
    assert_eq!(&buf[..n], data, "decode is strict, so encode is its inverse");
    let again = Ev::decode(&buf[..n]).expect("re-encoded bytes decode");
    assert_eq!(again, ev);
    let mut short = [0xa5u8; 1024];
    assert!(ev.encode(&mut short[..n - 1]).is_err());
    assert!(short.iter().all(|&b| b == 0xa5), "failed encode wrote bytes");
}
