//! Protocol names (Noise spec rev 34, section 8), such as
//! `Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s`, parsed into [`NoiseParams`]
//! without allocation.

use super::pattern::{HandshakePattern, MAX_PSKS, ModifierError, PatternKind};
use crate::crypto::{AeadAlgorithm, HashAlgorithm};
use core::fmt;
use core::str::FromStr;

/// Longest protocol name accepted. The longest name the tables can produce
/// (`Noise_X1X1fallback+psk0+psk1+psk2+psk3_25519_ChaChaPoly_BLAKE2s`) is
/// well under this.
pub const MAX_NAME_LEN: usize = 96;

/// Why a protocol name was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamsError {
    /// The name is longer than [`MAX_NAME_LEN`] or not `_`-separated into
    /// five fields.
    Malformed,
    /// The prefix is not `Noise` (for example the obsolete pre-rev31
    /// `NoisePSK`).
    UnsupportedPrefix,
    /// No such base pattern.
    UnknownPattern,
    /// A modifier other than `pskN` or `fallback`.
    UnknownModifier,
    /// A modifier that does not fit the pattern.
    Modifier(ModifierError),
    /// A DH function other than `25519` (448 is not supported), or a key
    /// exchange other than `25519+MLKEM768` (hybrid) and `MLKEM768`
    /// (KEM-only).
    UnsupportedDh,
    /// The DH field does not fit the pattern: classical patterns take
    /// `25519`, `hybrid*` patterns `25519+MLKEM768`, `pq*` patterns
    /// `MLKEM768`.
    KeyExchangeMismatch {
        /// The DH field the pattern needs.
        expected: &'static str,
    },
    /// A cipher other than `ChaChaPoly` or `AESGCM`.
    UnsupportedCipher,
    /// A hash other than `SHA256`, `SHA512`, `BLAKE2s`, `BLAKE2b`.
    UnsupportedHash,
    /// [`NoiseParams::new`] was given a pattern with modifiers (`pskN`,
    /// `fallback`): name it with [`NoiseParams::parse`] instead.
    ModifiedPattern,
    /// A cipher, hash or KEM this build leaves out: the crate feature named
    /// here (`aesgcm`, `sha256`, `sha512`, `blake2b` or `mlkem`) is off, as
    /// in a firmware build with `rustcrypto-minimal`.
    NotCompiledIn {
        /// The crate feature that adds the algorithm.
        feature: &'static str,
    },
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamsError::Malformed => f.write_str(
                "malformed Noise protocol name: expected Noise_PATTERN_DH_CIPHER_HASH within the length limit",
            ),
            ParamsError::UnsupportedPrefix => {
                f.write_str("unsupported protocol prefix: only \"Noise\" (rev 34) is supported")
            }
            ParamsError::UnknownPattern => f.write_str("unknown handshake pattern"),
            ParamsError::UnknownModifier => {
                f.write_str("unknown pattern modifier: only pskN and fallback are supported")
            }
            ParamsError::Modifier(e) => write!(f, "invalid pattern modifier: {e}"),
            ParamsError::UnsupportedDh => f.write_str(
                "unsupported DH function: use 25519 (classical), 25519+MLKEM768 (hybrid*) or MLKEM768 (pq*)",
            ),
            ParamsError::KeyExchangeMismatch { expected } => write!(
                f,
                "the DH field does not fit the pattern: this pattern takes {expected}"
            ),
            ParamsError::UnsupportedCipher => {
                f.write_str("unsupported cipher: use ChaChaPoly or AESGCM")
            }
            ParamsError::UnsupportedHash => {
                f.write_str("unsupported hash: use SHA256, SHA512, BLAKE2s or BLAKE2b")
            }
            ParamsError::ModifiedPattern => f.write_str(
                "NoiseParams::new takes a base pattern; name patterns with pskN or fallback with NoiseParams::parse",
            ),
            ParamsError::NotCompiledIn { feature } => write!(
                f,
                "this build of hyperport leaves that algorithm out: enable the crate feature `{feature}`, or pick ChaChaPoly / BLAKE2s"
            ),
        }
    }
}

impl core::error::Error for ParamsError {}

impl From<ModifierError> for ParamsError {
    fn from(e: ModifierError) -> Self {
        ParamsError::Modifier(e)
    }
}

/// A parsed protocol name: pattern with modifiers, cipher and hash (the DH
/// field follows from the pattern's [`PatternKind`]: `25519`, or
/// `25519+MLKEM768` / `MLKEM768` for the post-quantum patterns). Holds a
/// copy of the name, which is hashed into the handshake (spec section 5.2
/// `InitializeSymmetric`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NoiseParams {
    name: [u8; MAX_NAME_LEN],
    name_len: u8,
    pattern: HandshakePattern,
    cipher: AeadAlgorithm,
    hash: HashAlgorithm,
    psks: [u8; MAX_PSKS],
    psk_count: u8,
}

impl NoiseParams {
    /// The protocol made of a base pattern (one of the constants of
    /// [`pattern`](super::pattern), such as `pattern::XX` or
    /// `pattern::HYBRID_XX`), a cipher and a hash; its name is built from
    /// the parts, the DH field from the pattern's kind (for example
    /// `Noise_XX_25519_ChaChaPoly_BLAKE2s`,
    /// `Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s`).
    ///
    /// Same result as [`parse`](Self::parse) of that name, without the
    /// name parser and the table of every pattern: firmware that names its
    /// protocol this way lets the linker drop both (about 3 KB of flash on
    /// Cortex-M).
    ///
    /// ```
    /// use hyperport::crypto::{AeadAlgorithm, HashAlgorithm};
    /// use hyperport::noise::{NoiseParams, pattern};
    ///
    /// let p = NoiseParams::new(pattern::XX, AeadAlgorithm::ChaCha20Poly1305, HashAlgorithm::Blake2s)?;
    /// assert_eq!(p, NoiseParams::parse("Noise_XX_25519_ChaChaPoly_BLAKE2s")?);
    /// # Ok::<(), hyperport::noise::ParamsError>(())
    /// ```
    ///
    /// # Errors
    /// [`ParamsError::ModifiedPattern`] for a pattern with `pskN` or
    /// `fallback` modifiers.
    pub fn new(
        pattern: HandshakePattern,
        cipher: AeadAlgorithm,
        hash: HashAlgorithm,
    ) -> Result<Self, ParamsError> {
        if pattern.is_psk() || !pattern.alice_first() {
            return Err(ParamsError::ModifiedPattern);
        }
        let cipher_name = match cipher {
            AeadAlgorithm::ChaCha20Poly1305 => "ChaChaPoly",
            #[cfg(feature = "aesgcm")]
            AeadAlgorithm::Aes256Gcm => "AESGCM",
        };
        let hash_name = match hash {
            #[cfg(feature = "sha256")]
            HashAlgorithm::Sha256 => "SHA256",
            #[cfg(feature = "sha512")]
            HashAlgorithm::Sha512 => "SHA512",
            HashAlgorithm::Blake2s => "BLAKE2s",
            #[cfg(feature = "blake2b")]
            HashAlgorithm::Blake2b => "BLAKE2b",
        };
        let mut name = [0u8; MAX_NAME_LEN];
        let mut len = 0usize;
        for part in [
            "Noise_",
            pattern.base_name(),
            "_",
            pattern.kind().dh_name(),
            "_",
            cipher_name,
            "_",
            hash_name,
        ] {
            let end = len.saturating_add(part.len());
            name.get_mut(len..end)
                .ok_or(ParamsError::Malformed)?
                .copy_from_slice(part.as_bytes());
            len = end;
        }
        Ok(NoiseParams {
            name,
            // At most 6 + 10 + 1 + 14 + 1 + 10 + 1 + 7 = 50 bytes.
            name_len: u8::try_from(len).map_err(|_| ParamsError::Malformed)?,
            pattern,
            cipher,
            hash,
            psks: [0; MAX_PSKS],
            psk_count: 0,
        })
    }

    /// Parses `name`.
    ///
    /// # Errors
    /// [`ParamsError`] says which field is wrong or unsupported.
    pub fn parse(name: &str) -> Result<Self, ParamsError> {
        let bytes = name.as_bytes();
        if bytes.len() > MAX_NAME_LEN || !name.is_ascii() {
            return Err(ParamsError::Malformed);
        }
        let mut fields = name.split('_');
        let (Some(prefix), Some(pat), Some(dh), Some(cipher), Some(hash), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(ParamsError::Malformed);
        };
        if prefix != "Noise" {
            return Err(ParamsError::UnsupportedPrefix);
        }
        let kind = match dh {
            "25519" => PatternKind::Classical,
            #[cfg(feature = "mlkem")]
            "25519+MLKEM768" => PatternKind::Hybrid,
            #[cfg(feature = "mlkem")]
            "MLKEM768" => PatternKind::Kem,
            #[cfg(not(feature = "mlkem"))]
            "25519+MLKEM768" | "MLKEM768" => {
                return Err(ParamsError::NotCompiledIn { feature: "mlkem" });
            }
            _ => return Err(ParamsError::UnsupportedDh),
        };
        // Algorithms behind a feature that is off are known but refused with
        // the feature's name (see `crypto`'s module docs).
        let cipher = match cipher {
            "ChaChaPoly" => AeadAlgorithm::ChaCha20Poly1305,
            #[cfg(feature = "aesgcm")]
            "AESGCM" => AeadAlgorithm::Aes256Gcm,
            #[cfg(not(feature = "aesgcm"))]
            "AESGCM" => return Err(ParamsError::NotCompiledIn { feature: "aesgcm" }),
            _ => return Err(ParamsError::UnsupportedCipher),
        };
        let hash = match hash {
            #[cfg(feature = "sha256")]
            "SHA256" => HashAlgorithm::Sha256,
            #[cfg(not(feature = "sha256"))]
            "SHA256" => return Err(ParamsError::NotCompiledIn { feature: "sha256" }),
            #[cfg(feature = "sha512")]
            "SHA512" => HashAlgorithm::Sha512,
            #[cfg(not(feature = "sha512"))]
            "SHA512" => return Err(ParamsError::NotCompiledIn { feature: "sha512" }),
            "BLAKE2s" => HashAlgorithm::Blake2s,
            #[cfg(feature = "blake2b")]
            "BLAKE2b" => HashAlgorithm::Blake2b,
            #[cfg(not(feature = "blake2b"))]
            "BLAKE2b" => return Err(ParamsError::NotCompiledIn { feature: "blake2b" }),
            _ => return Err(ParamsError::UnsupportedHash),
        };
        let base_len = base_pattern_len(pat);
        let (base, mods) = pat.split_at(base_len);
        // Modifiers are lower-case words; anything else is part of an unknown
        // pattern name (such as `XY`).
        if mods.bytes().next().is_some_and(|c| !c.is_ascii_lowercase()) {
            return Err(ParamsError::UnknownPattern);
        }
        let mut pattern = HandshakePattern::by_name(base).ok_or(ParamsError::UnknownPattern)?;
        if pattern.kind() != kind {
            return Err(ParamsError::KeyExchangeMismatch {
                expected: pattern.kind().dh_name(),
            });
        }
        let mut psks = [0u8; MAX_PSKS];
        let mut psk_count = 0u8;
        if !mods.is_empty() {
            for m in mods.split('+') {
                if m == "fallback" {
                    pattern = pattern.with_fallback()?;
                } else if let Some(n) = m.strip_prefix("psk") {
                    let n = parse_small(n).ok_or(ParamsError::UnknownModifier)?;
                    pattern = pattern.with_psk(n)?;
                    let slot = psks
                        .get_mut(usize::from(psk_count))
                        .ok_or(ParamsError::Modifier(ModifierError::DuplicatePsk))?;
                    *slot = n;
                    psk_count = psk_count.saturating_add(1);
                } else {
                    return Err(ParamsError::UnknownModifier);
                }
            }
        }
        let mut copy = [0u8; MAX_NAME_LEN];
        if let Some(dst) = copy.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        Ok(NoiseParams {
            name: copy,
            // bytes.len() <= MAX_NAME_LEN = 96, checked above.
            name_len: u8::try_from(bytes.len()).map_err(|_| ParamsError::Malformed)?,
            pattern,
            cipher,
            hash,
            psks,
            psk_count,
        })
    }

    /// The protocol name, exactly as parsed.
    pub fn name(&self) -> &str {
        // Only ASCII was accepted.
        core::str::from_utf8(self.name_bytes()).unwrap_or("")
    }

    /// The protocol name's bytes.
    pub fn name_bytes(&self) -> &[u8] {
        self.name.get(..usize::from(self.name_len)).unwrap_or(&[])
    }

    /// The handshake pattern with its modifiers applied.
    pub fn pattern(&self) -> &HandshakePattern {
        &self.pattern
    }

    /// The AEAD cipher.
    pub fn cipher(&self) -> AeadAlgorithm {
        self.cipher
    }

    /// The hash function.
    pub fn hash(&self) -> HashAlgorithm {
        self.hash
    }

    /// The `N` of each `pskN` modifier, in the order they appear in the name.
    pub fn psk_positions(&self) -> &[u8] {
        self.psks.get(..usize::from(self.psk_count)).unwrap_or(&[])
    }
}

impl FromStr for NoiseParams {
    type Err = ParamsError;
    fn from_str(s: &str) -> Result<Self, ParamsError> {
        NoiseParams::parse(s)
    }
}

impl fmt::Debug for NoiseParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoiseParams({})", self.name())
    }
}

impl fmt::Display for NoiseParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Length of the base pattern name at the start of `s`: one of `NKXI`,
/// an optional `1`, then optionally one of `NKX` and an optional `1`.
fn base_pattern_len(s: &str) -> usize {
    // The post-quantum patterns' lower-case prefix is part of the base name.
    let prefix = ["hybrid", "pq"]
        .iter()
        .find(|p| s.starts_with(**p))
        .map_or(0, |p| p.len());
    let b = s.as_bytes();
    let mut i = prefix;
    let at = |i: usize| b.get(i).copied();
    if matches!(at(i), Some(b'N' | b'K' | b'X' | b'I')) {
        i = i.saturating_add(1);
        if at(i) == Some(b'1') {
            i = i.saturating_add(1);
        }
        if matches!(at(i), Some(b'N' | b'K' | b'X')) {
            i = i.saturating_add(1);
            if at(i) == Some(b'1') {
                i = i.saturating_add(1);
            }
        }
    }
    i
}

/// Parses a decimal in `0..=99` with no sign or leading junk.
fn parse_small(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 2 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::pattern::{PreMessage, Token};

    #[test]
    fn parses_names() {
        let p = NoiseParams::parse("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s").unwrap();
        assert_eq!(p.pattern().base_name(), "XX");
        assert_eq!(p.psk_positions(), &[3]);
        assert_eq!(p.cipher(), AeadAlgorithm::ChaCha20Poly1305);
        assert_eq!(p.hash(), HashAlgorithm::Blake2s);
        assert_eq!(p.name(), "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s");

        let p = NoiseParams::parse("Noise_X1X1_25519_AESGCM_SHA512").unwrap();
        assert_eq!(p.pattern().base_name(), "X1X1");
        assert_eq!(p.pattern().messages().len(), 4);

        let p = NoiseParams::parse("Noise_Npsk0_25519_AESGCM_BLAKE2b").unwrap();
        assert_eq!(p.pattern().base_name(), "N");
        assert_eq!(p.pattern().messages()[0].tokens()[0], Token::Psk);

        let p = NoiseParams::parse("Noise_XXpsk0+psk1+psk2+psk3_25519_ChaChaPoly_SHA256").unwrap();
        assert_eq!(p.psk_positions(), &[0, 1, 2, 3]);

        let p = NoiseParams::parse("Noise_XXfallback_25519_ChaChaPoly_SHA256").unwrap();
        assert_eq!(p.pattern().pre_alice(), PreMessage::E);
        assert!(!p.pattern().alice_first());
    }

    #[test]
    fn rejects_bad_names() {
        use ParamsError::*;
        let cases: &[(&str, ParamsError)] = &[
            ("Noise_XX_448_ChaChaPoly_BLAKE2s", UnsupportedDh),
            ("NoisePSK_XX_25519_ChaChaPoly_BLAKE2s", UnsupportedPrefix),
            ("Noise_XY_25519_ChaChaPoly_BLAKE2s", UnknownPattern),
            ("Noise_XXpsk_25519_ChaChaPoly_BLAKE2s", UnknownModifier),
            ("Noise_XXpsk+1_25519_ChaChaPoly_BLAKE2s", UnknownModifier),
            ("Noise_XXhfs_25519_ChaChaPoly_BLAKE2s", UnknownModifier),
            (
                "Noise_XXpsk4_25519_ChaChaPoly_BLAKE2s",
                Modifier(ModifierError::PskOutOfRange),
            ),
            (
                "Noise_XXpsk1+psk1_25519_ChaChaPoly_BLAKE2s",
                Modifier(ModifierError::DuplicatePsk),
            ),
            ("Noise_XX_25519_XChaChaPoly_BLAKE2s", UnsupportedCipher),
            ("Noise_XX_25519_ChaChaPoly_MD5", UnsupportedHash),
            ("Noise_XX_25519_ChaChaPoly", Malformed),
            ("Noise_XX_25519_ChaChaPoly_SHA256_", Malformed),
            ("", Malformed),
        ];
        for (name, err) in cases {
            assert_eq!(NoiseParams::parse(name), Err(*err), "{name}");
        }
    }

    /// `new` from parts equals `parse` of the name, for every base pattern,
    /// cipher and hash; modified patterns are refused.
    #[cfg(feature = "all-algorithms")]
    #[test]
    fn new_from_parts_matches_parse() {
        use crate::noise::pattern::{ALL, XX};
        let ciphers = [
            (AeadAlgorithm::ChaCha20Poly1305, "ChaChaPoly"),
            (AeadAlgorithm::Aes256Gcm, "AESGCM"),
        ];
        let hashes = [
            (HashAlgorithm::Sha256, "SHA256"),
            (HashAlgorithm::Sha512, "SHA512"),
            (HashAlgorithm::Blake2s, "BLAKE2s"),
            (HashAlgorithm::Blake2b, "BLAKE2b"),
        ];
        let mut n = 0;
        for p in ALL {
            for (c, cn) in ciphers {
                for (h, hn) in hashes {
                    let mut buf = [0u8; MAX_NAME_LEN];
                    let mut w = crate::buf::Writer::new(&mut buf);
                    for part in ["Noise_", p.base_name(), "_25519_", cn, "_", hn] {
                        w.put(part.as_bytes()).unwrap();
                    }
                    let name = core::str::from_utf8(w.written()).unwrap();
                    assert_eq!(
                        NoiseParams::new(p, c, h),
                        NoiseParams::parse(name),
                        "{name}"
                    );
                    n += 1;
                }
            }
        }
        assert_eq!(n, 38 * 8);
        let psk = XX.with_psk(3).unwrap();
        assert_eq!(
            NoiseParams::new(psk, AeadAlgorithm::Aes256Gcm, HashAlgorithm::Sha256),
            Err(ParamsError::ModifiedPattern)
        );
        let fb = XX.with_fallback().unwrap();
        assert_eq!(
            NoiseParams::new(fb, AeadAlgorithm::Aes256Gcm, HashAlgorithm::Sha256),
            Err(ParamsError::ModifiedPattern)
        );
    }
}
