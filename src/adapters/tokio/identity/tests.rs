use super::*;
use crate::rng::SeededRng;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::vec;

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(std::format!(
            "hyperport-identity-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn key(seed: u64) -> KeyPair {
    KeyPair::generate(&mut SeededRng::from_u64(seed))
}

fn mode_of(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const ALL_STEPS: [WriteStep; 8] = [
    WriteStep::DirCreated,
    WriteStep::TempCreated,
    WriteStep::HalfWritten,
    WriteStep::Written,
    WriteStep::FileSynced,
    WriteStep::Committed,
    WriteStep::TempRemoved,
    WriteStep::DirSynced,
];

#[test]
fn file_length_constant_is_typed_by_hand() {
    // 31 header bytes + "secret " + 64 + "\n" + "public " + 64 + "\n".
    assert_eq!(IDENTITY_FILE_LEN, 31 + 7 + 64 + 1 + 7 + 64 + 1);
    assert_eq!(IDENTITY_FILE_LEN, 175);
}

#[test]
fn encode_decode_round_trip_and_layout() {
    let k = KeyPair::from_secret_bytes([0x11; 32]);
    let bytes = encode(&k);
    assert_eq!(bytes.len(), IDENTITY_FILE_LEN);
    let text = core::str::from_utf8(&bytes).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0], "hyperport x25519 static key v1");
    assert_eq!(lines[1], std::format!("secret {}", "11".repeat(32)));
    assert_eq!(lines[2].len(), 7 + 64);
    assert!(lines[2].starts_with("public "));
    assert_eq!(lines[3], "");
    let back = decode(&bytes).unwrap();
    assert_eq!(back.public(), k.public());
    assert_eq!(back.secret_bytes(), k.secret_bytes());
}

#[test]
fn corrupt_content_is_classified() {
    let good = encode(&key(1)).to_vec();
    // Every strict prefix is truncated or (inside the header) truncated too.
    for n in 0..good.len() {
        let r = decode(&good[..n]);
        assert!(
            matches!(r, Err(CorruptReason::Truncated { len }) if len == n),
            "prefix of {n} bytes: {:?}",
            r.map(|k| *k.public())
        );
    }
    let mut long = good.clone();
    long.push(b'\n');
    assert!(matches!(decode(&long), Err(CorruptReason::TooLong)));
    let mut header = good.clone();
    header[10] ^= 0x20;
    assert!(matches!(decode(&header), Err(CorruptReason::BadHeader)));
    // A flipped hex digit in the secret: the public key no longer matches.
    let mut secret = good.clone();
    let at = IDENTITY_HEADER.len() + SECRET_TAG.len() + 5;
    secret[at] = if secret[at] == b'0' { b'1' } else { b'0' };
    assert!(matches!(
        decode(&secret),
        Err(CorruptReason::PublicKeyMismatch)
    ));
    // Upper-case or non-hex digits are bad encoding.
    let mut upper = good.clone();
    let at = IDENTITY_HEADER.len() + SECRET_TAG.len();
    upper[at] = b'G';
    assert!(matches!(decode(&upper), Err(CorruptReason::BadEncoding)));
    let mut newline = good.clone();
    let last = newline.len() - 1;
    newline[last] = b' ';
    assert!(matches!(decode(&newline), Err(CorruptReason::BadEncoding)));
}

#[test]
fn generate_creates_directory_0700_and_file_0600_then_loads_the_same_key() {
    let s = Scratch::new("gen");
    let path = s.0.join("a/b/static.key");
    let first = load_or_generate_blocking(&path, &mut no_crash).unwrap();
    assert!(first.was_created());
    assert_eq!(mode_of(&s.0.join("a/b")), 0o700);
    assert_eq!(mode_of(&s.0.join("a")), 0o700);
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(fs::metadata(&path).unwrap().len(), IDENTITY_FILE_LEN as u64);
    // No temporary file is left behind.
    assert_eq!(entries(&s.0.join("a/b")), vec!["static.key".to_owned()]);
    let second = load_or_generate_blocking(&path, &mut no_crash).unwrap();
    assert!(!second.was_created());
    assert_eq!(second.public(), first.public());
}

#[test]
fn relative_path_without_directory_works() {
    // `parent()` of a bare file name is "", which means ".".
    let (dir, name) = split_path(Path::new("static.key")).unwrap();
    assert_eq!(dir, Path::new("."));
    assert_eq!(name, "static.key");
    assert!(matches!(
        split_path(Path::new("/")),
        Err(IdentityError::InvalidPath { .. })
    ));
    assert!(matches!(
        split_path(Path::new("dir/..")),
        Err(IdentityError::InvalidPath { .. })
    ));
}

#[test]
fn group_or_other_permissions_are_refused_never_replaced() {
    let s = Scratch::new("perm");
    let path = s.0.join("static.key");
    let original = load_or_generate_blocking(&path, &mut no_crash).unwrap();
    let content = fs::read(&path).unwrap();
    for mode in [0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o644, 0o666] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let r = load_or_generate_blocking(&path, &mut no_crash);
        assert!(
            matches!(r, Err(IdentityError::InsecurePermissions { mode: m, .. }) if m == mode),
            "mode {mode:o}"
        );
        assert!(matches!(
            load_blocking(&path),
            Err(IdentityError::InsecurePermissions { .. })
        ));
        // Untouched.
        assert_eq!(fs::read(&path).unwrap(), content);
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    let again = load_or_generate_blocking(&path, &mut no_crash).unwrap();
    assert_eq!(again.public(), original.public());
}

#[test]
fn corrupt_file_is_an_error_never_replaced() {
    let s = Scratch::new("corrupt");
    let path = s.0.join("static.key");
    let good = encode(&key(3)).to_vec();
    for bad in [&good[..100], &b""[..], &[b'x'; IDENTITY_FILE_LEN][..]] {
        fs::write(&path, bad).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let r = load_or_generate_blocking(&path, &mut no_crash);
        assert!(matches!(r, Err(IdentityError::Corrupt { .. })), "{r:?}");
        assert_eq!(fs::read(&path).unwrap(), bad, "the file was replaced");
    }
}

#[test]
fn not_a_file_is_refused() {
    let s = Scratch::new("dir");
    let path = s.0.join("static.key");
    fs::create_dir(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
    assert!(matches!(
        load_or_generate_blocking(&path, &mut no_crash),
        Err(IdentityError::NotAFile { .. })
    ));
}

/// Crash at each step of an atomic *replacement*: afterwards the file holds
/// the old key or the new one, never a torn file, and the next
/// load-or-generate returns that key without making a new one.
#[test]
fn crash_at_each_step_of_store_leaves_old_or_new_key() {
    for (i, crash_at) in ALL_STEPS.iter().enumerate() {
        let s = Scratch::new("crash-store");
        let path = s.0.join("keys/static.key");
        let old = key(10);
        let new = key(11);
        assert!(write_atomic(&path, &encode(&old), Commit::Replace, &mut no_crash).is_ok());
        let mut hook = |step: WriteStep| {
            if step == *crash_at {
                Err(Crash)
            } else {
                Ok(())
            }
        };
        let r = write_atomic(&path, &encode(&new), Commit::Replace, &mut hook);
        let committed = i >= 5; // Committed or later
        // A rename has no TempRemoved step: that "crash" never happens.
        assert_eq!(
            matches!(r, Err(WriteFail::Crashed)),
            *crash_at != WriteStep::TempRemoved,
            "{crash_at:?}"
        );
        let loaded = load_blocking(&path)
            .unwrap_or_else(|e| panic!("crash at {crash_at:?}: {e}"))
            .unwrap_or_else(|| panic!("crash at {crash_at:?}: no key file"));
        let expect = if committed { &new } else { &old };
        assert_eq!(loaded.public(), expect.public(), "crash at {crash_at:?}");
        let id = load_or_generate_blocking(&path, &mut no_crash).unwrap();
        assert!(
            !id.was_created(),
            "crash at {crash_at:?}: a new identity was made"
        );
        assert_eq!(id.public(), expect.public());
    }
}

/// Crash at each step of a first-run generation: afterwards there is no key
/// file or a whole one, and the next load-or-generate succeeds (loading the
/// committed key if there is one).
#[test]
fn crash_at_each_step_of_generate_leaves_nothing_or_a_whole_key() {
    for (i, crash_at) in ALL_STEPS.iter().enumerate() {
        let s = Scratch::new("crash-gen");
        let path = s.0.join("keys/static.key");
        let mut hook = |step: WriteStep| {
            if step == *crash_at {
                Err(Crash)
            } else {
                Ok(())
            }
        };
        assert!(load_or_generate_blocking(&path, &mut hook).is_err());
        let committed = i >= 5;
        let after = load_blocking(&path).unwrap_or_else(|e| panic!("crash at {crash_at:?}: {e}"));
        assert_eq!(after.is_some(), committed, "crash at {crash_at:?}");
        let id = load_or_generate_blocking(&path, &mut no_crash).unwrap();
        assert_eq!(id.was_created(), !committed, "crash at {crash_at:?}");
        if let Some(k) = after {
            assert_eq!(id.public(), k.public());
        }
    }
}

#[test]
fn second_generator_loses_the_race_and_loads_the_winner() {
    let s = Scratch::new("race");
    let path = s.0.join("static.key");
    let winner = key(20);
    // Between our temp file's fsync and its commit, another process commits.
    let mut hook = |step: WriteStep| {
        if step == WriteStep::FileSynced {
            assert!(
                write_atomic(&path, &encode(&winner), Commit::NoReplace, &mut no_crash).is_ok()
            );
        }
        Ok(())
    };
    let id = load_or_generate_blocking(&path, &mut hook).unwrap();
    assert!(!id.was_created());
    assert_eq!(id.public(), winner.public());
    // Our temporary file is gone.
    assert_eq!(entries(&s.0), vec!["static.key".to_owned()]);
}

#[test]
fn stale_temporary_files_are_removed_fresh_ones_kept() {
    let s = Scratch::new("stale");
    let path = s.0.join("static.key");
    let stale = s.0.join(temp_name("static.key", 1));
    let fresh = s.0.join(temp_name("static.key", 2));
    let other = s.0.join(".other.key.0000000000000003.tmp");
    for p in [&stale, &fresh, &other] {
        fs::write(p, b"x").unwrap();
    }
    let old = SystemTime::now() - STALE_TEMP_AGE - Duration::from_secs(1);
    File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    File::options()
        .write(true)
        .open(&other)
        .unwrap()
        .set_modified(old)
        .unwrap();
    load_or_generate_blocking(&path, &mut no_crash).unwrap();
    assert!(!stale.exists());
    assert!(fresh.exists());
    assert!(other.exists(), "another key's temp file was touched");
    assert!(is_temp_of(".static.key.00000000000000ff.tmp", "static.key"));
    assert!(!is_temp_of(".static.key.ff.tmp", "static.key"));
    assert!(!is_temp_of("static.key.00000000000000ff.tmp", "static.key"));
}

#[tokio::test]
async fn async_api_load_store_and_not_found() {
    let s = Scratch::new("async");
    let path = s.0.join("id/static.key");
    let opts = IdentityOptions::new();
    assert!(matches!(
        load(&path, &opts).await,
        Err(IdentityError::NotFound { .. })
    ));
    let id = load_or_generate(&path, &opts).await.unwrap();
    assert!(id.was_created());
    assert_eq!(id.path(), path.as_path());
    let k = key(30);
    store(&path, &k, &opts).await.unwrap();
    let back = load(&path, &opts).await.unwrap();
    assert_eq!(back.public(), k.public());
    assert_eq!(mode_of(&path), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_generators_agree_on_one_key() {
    let s = Scratch::new("concurrent");
    let path = s.0.join("static.key");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let p = path.clone();
        tasks.push(tokio::spawn(async move {
            load_or_generate(&p, &IdentityOptions::new()).await
        }));
    }
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(*t.await.unwrap().unwrap().public());
    }
    assert!(keys.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(entries(&s.0), vec!["static.key".to_owned()]);
}

/// A file operation that blocks (here: opening a FIFO nobody writes to, as a
/// stuck network mount would) is a typed timeout, and the async workers keep
/// running meanwhile.
#[tokio::test(flavor = "current_thread")]
async fn stuck_file_operation_times_out() {
    let s = Scratch::new("fifo");
    let path = s.0.join("static.key");
    let st = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    // However the test ends, open the write side (non-blocking) so that a
    // reader blocked in open(2) is released and the runtime can shut down.
    struct Release(PathBuf);
    impl Drop for Release {
        fn drop(&mut self) {
            use std::os::unix::fs::OpenOptionsExt as _;
            let _ = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.0);
        }
    }
    let _release = Release(path.clone());
    let opts = IdentityOptions::new().with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    // The ticker shows the (single) worker thread is free while the open blocks.
    let ticks = std::sync::Arc::new(AtomicU64::new(0));
    let t2 = ticks.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            t2.fetch_add(1, Ordering::Relaxed);
        }
    });
    let r = tokio::time::timeout(Duration::from_secs(3), load_or_generate(&path, &opts))
        .await
        .expect("the operation's own timeout did not fire");
    ticker.abort();
    assert!(
        matches!(r, Err(IdentityError::TimedOut { after, .. }) if after == opts.timeout),
        "{r:?}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(
        ticks.load(Ordering::Relaxed) >= 10,
        "the async worker was blocked"
    );
}

// ------------------------------------------------------- hybrid identities

#[test]
fn hybrid_file_length_constant_is_typed_by_hand() {
    // 40 header bytes + "secret " + 64 + "\n" + "public " + 64 + "\n"
    // + "kem-seed " + 128 + "\n" + "kem-check " + 64 + "\n"
    // + "kem-public " + 2368 + "\n".
    assert_eq!(HYBRID_IDENTITY_HEADER.len(), 40);
    assert_eq!(
        HYBRID_IDENTITY_FILE_LEN,
        40 + 7 + 64 + 1 + 7 + 64 + 1 + 9 + 128 + 1 + 10 + 64 + 1 + 11 + 2368 + 1
    );
    assert_eq!(HYBRID_IDENTITY_FILE_LEN, 2777);
}

#[cfg(feature = "mlkem")]
fn hybrid_keys(seed: u8) -> Keys {
    Keys {
        dh: KeyPair::from_secret_bytes([seed; 32]),
        kem: Some(KemPart::from_seed([seed.wrapping_add(1); KEM_SEED_LEN])),
    }
}

/// Byte offset of the first hex digit after `tag` in a hybrid file.
#[cfg(feature = "mlkem")]
fn hex_at(file: &[u8], tag: &[u8]) -> usize {
    file.windows(tag.len()).position(|w| w == tag).unwrap() + tag.len()
}

#[cfg(feature = "mlkem")]
#[test]
fn hybrid_encode_decode_round_trip_and_layout() {
    let keys = hybrid_keys(0x11);
    let bytes = encode_keys(&keys);
    assert_eq!(bytes.len(), HYBRID_IDENTITY_FILE_LEN);
    let text = core::str::from_utf8(&bytes).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0], "hyperport x25519+mlkem768 static key v1");
    assert_eq!(lines[1], std::format!("secret {}", "11".repeat(32)));
    assert!(lines[2].starts_with("public "));
    assert_eq!(lines[3], std::format!("kem-seed {}", "12".repeat(64)));
    // FIPS 203 KeyGen from the seed, computed independently of the file code.
    let expected = crate::crypto::mlkem::KeyPair::from_seed(&[0x12; 64]);
    let mut hex = std::string::String::new();
    for b in expected.public_bytes() {
        hex.push_str(&std::format!("{b:02x}"));
    }
    // BLAKE2s-256 of 64 bytes 0x12, by an independent implementation
    // (Python's `hashlib.blake2s(bytes([0x12] * 64)).hexdigest()`).
    assert_eq!(
        lines[4],
        "kem-check dd98771e2f71e145cec03b42ae61616e501407ba75ab09017618bf0c3dd15027"
    );
    assert_eq!(lines[5], std::format!("kem-public {hex}"));
    assert_eq!(lines[6], "");
    let back = decode_keys(&bytes).unwrap();
    assert_eq!(back.dh.public(), keys.dh.public());
    let kem = back.kem.unwrap();
    assert_eq!(kem.key.public_bytes(), expected.public_bytes());
    assert_eq!(kem.key.secret_bytes(), expected.secret_bytes());
    // The X25519-only format is unchanged.
    let classic = encode(&keys.dh);
    assert_eq!(classic.len(), IDENTITY_FILE_LEN);
    assert!(decode_keys(&classic).unwrap().kem.is_none());
}

#[cfg(feature = "mlkem")]
#[test]
fn hybrid_corrupt_content_is_classified() {
    let good = encode_keys(&hybrid_keys(5)).to_vec();
    for n in 0..good.len() {
        let r = decode_keys(&good[..n]);
        assert!(
            matches!(r, Err(CorruptReason::Truncated { len }) if len == n),
            "prefix of {n} bytes"
        );
    }
    let mut long = good.clone();
    long.push(b'\n');
    assert!(matches!(decode_keys(&long), Err(CorruptReason::TooLong)));
    let flip = |at: usize| {
        let mut bad = good.clone();
        bad[at] = if bad[at] == b'0' { b'1' } else { b'0' };
        decode_keys(&bad).map(|_| ())
    };
    // A flipped digit anywhere in the seed (d or z), its check or the
    // ML-KEM public key.
    let seed_at = hex_at(&good, KEM_SEED_TAG);
    let check_at = hex_at(&good, KEM_CHECK_TAG);
    let public_at = hex_at(&good, KEM_PUBLIC_TAG);
    for at in (seed_at..seed_at + 128)
        .chain(check_at..check_at + 64)
        .chain([public_at, public_at + 1000, public_at + 2367])
    {
        assert_eq!(flip(at), Err(CorruptReason::KemKeyMismatch), "at {at}");
    }
    assert_eq!(
        flip(hex_at(&good, SECRET_TAG) + 3),
        Err(CorruptReason::PublicKeyMismatch)
    );
    // The lines swapped, a tag misspelt, an upper-case digit: bad encoding.
    let mut upper = good.clone();
    upper[public_at + 10] = b'A';
    assert!(matches!(
        decode_keys(&upper),
        Err(CorruptReason::BadEncoding)
    ));
    let mut tag = good.clone();
    tag[seed_at - 2] = b'x';
    assert!(matches!(decode_keys(&tag), Err(CorruptReason::BadEncoding)));
    // A classical header over a hybrid body: too long for that format.
    let mut mixed = IDENTITY_HEADER.as_bytes().to_vec();
    mixed.extend_from_slice(&good[HYBRID_IDENTITY_HEADER.len()..]);
    assert!(matches!(decode_keys(&mixed), Err(CorruptReason::TooLong)));
}

#[cfg(feature = "mlkem")]
#[tokio::test]
async fn hybrid_load_or_generate_store_and_an_x25519_only_file() {
    let s = Scratch::new("hybrid");
    let opts = IdentityOptions::new();
    // A new hybrid identity: written whole, 0600, loaded the same.
    let path = s.0.join("h/static.key");
    let first = load_or_generate_hybrid(&path, &opts).await.unwrap();
    assert!(first.was_created());
    let kem = first.kem_key_pair().unwrap().public_bytes().to_vec();
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        HYBRID_IDENTITY_FILE_LEN as u64
    );
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(entries(&s.0.join("h")), vec!["static.key".to_owned()]);
    for again in [
        load_or_generate_hybrid(&path, &opts).await.unwrap(),
        load(&path, &opts).await.unwrap(),
        load_or_generate(&path, &opts).await.unwrap(),
    ] {
        assert!(!again.was_created());
        assert_eq!(again.public(), first.public());
        assert_eq!(&again.kem_key_pair().unwrap().public_bytes()[..], &kem[..]);
    }

    // An X25519-only file: fine for load_or_generate, refused (and left
    // byte for byte as it was) by load_or_generate_hybrid.
    let old = s.0.join("old.key");
    let classic = load_or_generate(&old, &opts).await.unwrap();
    assert!(classic.kem_key_pair().is_none());
    let before = fs::read(&old).unwrap();
    let err = load_or_generate_hybrid(&old, &opts).await.unwrap_err();
    assert!(matches!(err, IdentityError::NoKemKey { .. }), "{err}");
    assert!(err.to_string().contains("X25519 key only"), "{err}");
    assert_eq!(fs::read(&old).unwrap(), before);

    // Extending it keeps the X25519 key.
    store_hybrid(&old, classic.key_pair(), &[9; 64], &opts)
        .await
        .unwrap();
    let extended = load_or_generate_hybrid(&old, &opts).await.unwrap();
    assert_eq!(extended.public(), classic.public());
    assert_eq!(
        extended.kem_key_pair().unwrap().public_bytes(),
        crate::crypto::mlkem::KeyPair::from_seed(&[9; 64]).public_bytes()
    );
    assert_eq!(mode_of(&old), 0o600);
}

/// A crash at any step of generating a hybrid identity leaves no file or
/// the whole new one (both keys).
#[cfg(feature = "mlkem")]
#[test]
fn crash_at_each_step_of_hybrid_generate_leaves_nothing_or_a_whole_key() {
    for (i, crash_at) in ALL_STEPS.iter().enumerate() {
        let s = Scratch::new("crash-hybrid");
        let path = s.0.join("keys/static.key");
        let mut hook = |step: WriteStep| {
            if step == *crash_at {
                Err(Crash)
            } else {
                Ok(())
            }
        };
        assert!(load_or_generate_keys_blocking(&path, true, &mut hook).is_err());
        let committed = i >= 5;
        let after =
            load_keys_blocking(&path).unwrap_or_else(|e| panic!("crash at {crash_at:?}: {e}"));
        assert_eq!(after.is_some(), committed, "crash at {crash_at:?}");
        let id = load_or_generate_keys_blocking(&path, true, &mut no_crash).unwrap();
        assert_eq!(id.was_created(), !committed, "crash at {crash_at:?}");
        if let Some(k) = after {
            assert_eq!(id.public(), k.dh.public());
            assert_eq!(
                id.kem_key_pair().unwrap().public_bytes(),
                k.kem.unwrap().key.public_bytes()
            );
        }
    }
}

/// Without `mlkem`, a hybrid file's X25519 key loads (its ML-KEM lines are
/// checked for their form and the seed's check value only).
#[cfg(not(feature = "mlkem"))]
#[test]
fn a_hybrid_file_loads_its_x25519_key_without_mlkem() {
    let k = KeyPair::from_secret_bytes([0x33; 32]);
    let mut file = std::string::String::from(HYBRID_IDENTITY_HEADER);
    file.push_str(&std::format!("secret {}\n", "33".repeat(32)));
    let mut public = Vec::new();
    push_hex(&mut public, k.public());
    file.push_str(&std::format!(
        "public {}\n",
        core::str::from_utf8(&public).unwrap()
    ));
    file.push_str(&std::format!("kem-seed {}\n", "12".repeat(64)));
    file.push_str("kem-check dd98771e2f71e145cec03b42ae61616e501407ba75ab09017618bf0c3dd15027\n");
    file.push_str(&std::format!("kem-public {}\n", "ab".repeat(1184)));
    assert_eq!(file.len(), HYBRID_IDENTITY_FILE_LEN);
    assert_eq!(decode(file.as_bytes()).unwrap().public(), k.public());
    let bad = file.replacen("kem-seed 12", "kem-seed 13", 1);
    assert!(matches!(
        decode(bad.as_bytes()),
        Err(CorruptReason::KemKeyMismatch)
    ));
}
