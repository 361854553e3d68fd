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
