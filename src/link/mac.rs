//! The cheap checks in front of the Diffie-Hellman work: `mac1`, `mac2`,
//! cookies and the initiation id (module docs, "Admission").
//!
//! Every MAC is HMAC over the protocol's hash, truncated to
//! [`MAC_LEN`](super::wire::MAC_LEN) bytes; every key is derived with the
//! protocol's hash from a fixed label, so the link needs no primitive the
//! [`Provider`] does not already give Noise.

use zeroize::Zeroize;

use super::wire::{COOKIE_LEN, COOKIE_SALT_LEN, MAC_LEN};
use crate::crypto::hmac::hmac;
use crate::crypto::x25519::KEY_LEN;
use crate::crypto::{AEAD_KEY_LEN, Aead, AeadAlgorithm, HashAlgorithm, Provider};
use crate::noise::cipher::{TAG_LEN, nonce_bytes};

/// Label of the `mac1` key: `HASH(LABEL_MAC1 || responder static public key)`.
pub const LABEL_MAC1: &[u8] = b"hyperport-link mac1----";
/// Label of the cookie-reply key: `HASH(LABEL_COOKIE || responder static
/// public key || salt)`.
pub const LABEL_COOKIE: &[u8] = b"hyperport-link cookie--";
/// Label of the initiation id: `HASH(LABEL_ID || header || Noise message)`.
pub const LABEL_ID: &[u8] = b"hyperport-link init-id-";

/// Identifies one initiation (its header and Noise message, not its MACs):
/// a retransmission with a fresh `mac2` has the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InitiationId(pub(crate) [u8; 16]);

impl InitiationId {
    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// The key `mac1` is computed under: from the responder's static public key
/// when the pattern makes the initiator know it, else from zeros (then
/// `mac1` only tells datagrams of this protocol from noise).
pub(crate) fn mac1_key<P: Provider>(
    alg: HashAlgorithm,
    responder: Option<&[u8; KEY_LEN]>,
) -> Mac1Key {
    let zeros = [0u8; KEY_LEN];
    let d = P::hash(alg, &[LABEL_MAC1, responder.unwrap_or(&zeros)]);
    let mut k = [0u8; 32];
    let n = d.as_bytes().len().min(32);
    if let (Some(dst), Some(src)) = (k.get_mut(..n), d.as_bytes().get(..n)) {
        dst.copy_from_slice(src);
    }
    Mac1Key(k)
}

/// The `mac1` key (public information: derived from a public key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mac1Key(pub(crate) [u8; 32]);

/// `HMAC(key, parts...)` truncated to [`MAC_LEN`] bytes.
pub(crate) fn mac<P: Provider>(alg: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    let d = hmac::<P>(alg, key, parts);
    let mut out = [0u8; MAC_LEN];
    if let Some(src) = d.as_bytes().get(..MAC_LEN) {
        out.copy_from_slice(src);
    }
    out
}

/// Equality without an early exit.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The id of an initiation, from its header and Noise message.
pub(crate) fn initiation_id<P: Provider>(
    alg: HashAlgorithm,
    header_and_message: &[u8],
) -> InitiationId {
    let d = P::hash(alg, &[LABEL_ID, header_and_message]);
    let mut id = [0u8; 16];
    if let Some(src) = d.as_bytes().get(..16) {
        id.copy_from_slice(src);
    }
    InitiationId(id)
}

/// The AEAD key of one cookie reply: unique per salt, so the nonce is zero.
fn cookie_aead<P: Provider>(
    cipher: AeadAlgorithm,
    hash: HashAlgorithm,
    responder: Option<&[u8; KEY_LEN]>,
    salt: &[u8; COOKIE_SALT_LEN],
) -> P::AeadKey {
    let zeros = [0u8; KEY_LEN];
    let d = P::hash(hash, &[LABEL_COOKIE, responder.unwrap_or(&zeros), salt]);
    let mut k = [0u8; AEAD_KEY_LEN];
    if let Some(src) = d.as_bytes().get(..AEAD_KEY_LEN) {
        k.copy_from_slice(src);
    }
    let key = P::aead_key(cipher, &k);
    k.zeroize();
    key
}

/// Seals `cookie` for the initiator whose initiation carried `mac1`:
/// returns the sealed cookie and its tag.
pub(crate) fn seal_cookie<P: Provider>(
    cipher: AeadAlgorithm,
    hash: HashAlgorithm,
    responder: Option<&[u8; KEY_LEN]>,
    salt: &[u8; COOKIE_SALT_LEN],
    mac1: &[u8; MAC_LEN],
    cookie: &[u8; COOKIE_LEN],
) -> [u8; COOKIE_LEN + TAG_LEN] {
    let key = cookie_aead::<P>(cipher, hash, responder, salt);
    let mut out = [0u8; COOKIE_LEN + TAG_LEN];
    let (body, tag_out) = out.split_at_mut(COOKIE_LEN);
    body.copy_from_slice(cookie);
    let tag = key.seal_in_place(&nonce_bytes(cipher, 0), mac1, body);
    tag_out.copy_from_slice(&tag);
    out
}

/// Opens a sealed cookie; `None` if it does not authenticate.
pub(crate) fn open_cookie<P: Provider>(
    cipher: AeadAlgorithm,
    hash: HashAlgorithm,
    responder: Option<&[u8; KEY_LEN]>,
    salt: &[u8; COOKIE_SALT_LEN],
    mac1: &[u8; MAC_LEN],
    sealed: &[u8; COOKIE_LEN + TAG_LEN],
) -> Option<[u8; COOKIE_LEN]> {
    let key = cookie_aead::<P>(cipher, hash, responder, salt);
    let mut body = [0u8; COOKIE_LEN];
    let mut tag = [0u8; TAG_LEN];
    let (b, t) = sealed.split_at(COOKIE_LEN);
    body.copy_from_slice(b);
    tag.copy_from_slice(t);
    key.open_in_place(&nonce_bytes(cipher, 0), mac1, &mut body, &tag)
        .ok()
        .map(|()| body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DefaultProvider as P;

    #[test]
    fn cookie_seals_and_opens_only_with_its_mac1_and_salt() {
        let (c, h) = (AeadAlgorithm::ChaCha20Poly1305, HashAlgorithm::Blake2s);
        let key = [5u8; KEY_LEN];
        let salt = [1u8; COOKIE_SALT_LEN];
        let mac1 = [2u8; MAC_LEN];
        let cookie = [3u8; COOKIE_LEN];
        let sealed = seal_cookie::<P>(c, h, Some(&key), &salt, &mac1, &cookie);
        assert_ne!(&sealed[..COOKIE_LEN], &cookie);
        assert_eq!(
            open_cookie::<P>(c, h, Some(&key), &salt, &mac1, &sealed),
            Some(cookie)
        );
        assert_eq!(
            open_cookie::<P>(c, h, Some(&key), &salt, &[9; MAC_LEN], &sealed),
            None
        );
        assert_eq!(
            open_cookie::<P>(c, h, Some(&key), &[0; 16], &mac1, &sealed),
            None
        );
        assert_eq!(open_cookie::<P>(c, h, None, &salt, &mac1, &sealed), None);
        let mut bad = sealed;
        bad[0] ^= 1;
        assert_eq!(open_cookie::<P>(c, h, Some(&key), &salt, &mac1, &bad), None);
    }

    #[test]
    fn macs_and_ids() {
        let h = HashAlgorithm::Sha256;
        // HMAC-SHA-256 (RFC 4231 test case 2) truncated to 16 bytes.
        let m = mac::<P>(h, b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            m,
            [
                0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
                0x75, 0xc7
            ]
        );
        assert!(ct_eq(&m, &m) && !ct_eq(&m, &[0; 16]) && !ct_eq(&m, &m[..15]));
        assert_ne!(mac1_key::<P>(h, None), mac1_key::<P>(h, Some(&[1; 32])));
        assert_eq!(initiation_id::<P>(h, b"x"), initiation_id::<P>(h, b"x"));
        assert_ne!(initiation_id::<P>(h, b"x"), initiation_id::<P>(h, b"y"));
    }
}
