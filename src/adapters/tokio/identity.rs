//! Identity key files: load or generate a node's static X25519 key.
//!
//! A node's identity is its static key: peers pin its public half, routes
//! point at it. Losing it silently (a torn write, a fresh key made over a
//! corrupt file) breaks every route to the node, so this module treats the
//! file with care (`reference/failure-modes.md` §1, rows 2–4):
//!
//! * **Off the async workers, under a timeout.** Every file operation runs
//!   in [`tokio::task::spawn_blocking`] raced against
//!   [`IdentityOptions::timeout`]; a stuck disk or network mount is
//!   [`IdentityError::TimedOut`], never a stalled event loop. (A blocking
//!   call cannot be interrupted: after a timeout it may still finish in the
//!   background. Because every write is atomic, the next call then sees
//!   either nothing or the whole new file.)
//! * **Directory created.** A missing directory (and its parents) is
//!   created with mode `0700`; an existing one is left as it is.
//! * **Atomic write.** The key is written to a temporary file in the same
//!   directory (created exclusively, mode `0600`), fsynced, committed under
//!   the final name, and the directory is fsynced. A crash at any step
//!   leaves either the old file or the complete new one, never a torn file.
//!   [`load_or_generate`] commits with a hard link, which fails if the file
//!   appeared meanwhile (two processes starting at once both end up with
//!   the one key that won); on a file system without hard links it falls
//!   back to a rename after checking that the name is still free.
//!   [`store`] (explicit replacement) commits with a rename.
//! * **Never silently replaced.** A file that is truncated, too long,
//!   badly encoded or whose public key does not match its secret is
//!   [`IdentityError::Corrupt`]; a file that grants any permission to group
//!   or others is [`IdentityError::InsecurePermissions`]; something that is
//!   not a regular file is [`IdentityError::NotAFile`]. None of them is ever
//!   overwritten: fix or remove the file yourself.
//! * **Secrets zeroized.** The file's bytes are read into and written from
//!   buffers that are zeroized on drop.
//!
//! Temporary files left by a crash (`.NAME.<random>.tmp` next to the key)
//! are removed by the next [`load_or_generate`] or [`store`] once they are
//! older than [`STALE_TEMP_AGE`]; a failure to remove one is a `tracing`
//! warning, not an error.
//!
//! ## File format
//!
//! Exactly [`IDENTITY_FILE_LEN`] bytes of ASCII, three lines, lower-case hex:
//!
//! ```text
//! hyperport x25519 static key v1
//! secret <64 hex digits: the X25519 private key>
//! public <64 hex digits: its public key>
//! ```
//!
//! The public line is redundant on purpose: it is recomputed from the
//! secret on load, so any corruption of either line is detected.
//!
//! ### Hybrid identities (X25519 + ML-KEM-768)
//!
//! The `hybrid*` and `pq*` Noise patterns (feature `mlkem`) need a static
//! ML-KEM-768 key pair besides the X25519 one. A hybrid identity file is
//! exactly [`HYBRID_IDENTITY_FILE_LEN`] bytes, five lines:
//!
//! ```text
//! hyperport x25519+mlkem768 static key v1
//! secret <64 hex digits: the X25519 private key>
//! public <64 hex digits: its public key>
//! kem-seed <128 hex digits: the ML-KEM-768 key pair's FIPS 203 seed d || z>
//! kem-check <64 hex digits: BLAKE2s-256 of the seed>
//! kem-public <2368 hex digits: its encapsulation (public) key>
//! ```
//!
//! The ML-KEM key pair is derived from the seed on load and its public key
//! compared with the `kem-public` line; the public key depends on `d`
//! only, so the `kem-check` line covers all of the seed (`z` included).
//! Corruption of any of the three lines is detected. [`load_or_generate_hybrid`] writes this format for a
//! new identity; it refuses an existing X25519-only file with
//! [`IdentityError::NoKemKey`] (never extending it by itself);
//! [`store_hybrid`] writes (or extends, keeping the X25519 key) one
//! explicitly. [`load`] and [`load_or_generate`] read both formats: the
//! X25519-only format is unchanged, so existing files keep working for the
//! classical patterns. A build without the `mlkem` feature loads a hybrid
//! file's X25519 key (the ML-KEM lines are checked for their form only).
//!
//! This module is available on Unix only (it relies on mode bits and on
//! fsyncing a directory).
//!
//! ```no_run
//! # async fn demo() -> Result<(), hyperport::adapters::tokio::IdentityError> {
//! use hyperport::adapters::tokio::identity::{load_or_generate, IdentityOptions};
//!
//! let id = load_or_generate("/var/lib/mynode/static.key", &IdentityOptions::new()).await?;
//! println!("node key {:02x?} (new: {})", id.public(), id.was_created());
//! # Ok(()) }
//! ```

use std::borrow::ToOwned;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::time::{Duration, SystemTime};
use std::vec::Vec;

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

#[cfg(feature = "mlkem")]
use crate::crypto::mlkem;
use crate::crypto::x25519::{KEY_LEN, KeyPair};

/// First line of an identity file (with its newline).
pub const IDENTITY_HEADER: &str = "hyperport x25519 static key v1\n";
/// First line of a hybrid (X25519 + ML-KEM-768) identity file (with its
/// newline).
pub const HYBRID_IDENTITY_HEADER: &str = "hyperport x25519+mlkem768 static key v1\n";
const SECRET_TAG: &[u8] = b"secret ";
const PUBLIC_TAG: &[u8] = b"public ";
const KEM_SEED_TAG: &[u8] = b"kem-seed ";
const KEM_CHECK_TAG: &[u8] = b"kem-check ";
const KEM_CHECK_LEN: usize = 32;
const KEM_PUBLIC_TAG: &[u8] = b"kem-public ";
const HEX_KEY_LEN: usize = 2 * KEY_LEN;
/// ML-KEM-768 seed and public key lengths (`crypto::mlkem::SEED_LEN` and
/// `PUBLIC_KEY_LEN`, spelled out so the format exists without `mlkem`).
const KEM_SEED_LEN: usize = 64;
const KEM_PUBLIC_LEN: usize = 1184;

/// Exact length of an identity file in bytes (175).
pub const IDENTITY_FILE_LEN: usize =
    IDENTITY_HEADER.len() + SECRET_TAG.len() + HEX_KEY_LEN + 1 + PUBLIC_TAG.len() + HEX_KEY_LEN + 1;

/// Exact length of a hybrid identity file in bytes (2,777).
pub const HYBRID_IDENTITY_FILE_LEN: usize = HYBRID_IDENTITY_HEADER.len()
    + SECRET_TAG.len()
    + HEX_KEY_LEN
    + 1
    + PUBLIC_TAG.len()
    + HEX_KEY_LEN
    + 1
    + KEM_SEED_TAG.len()
    + 2 * KEM_SEED_LEN
    + 1
    + KEM_CHECK_TAG.len()
    + 2 * KEM_CHECK_LEN
    + 1
    + KEM_PUBLIC_TAG.len()
    + 2 * KEM_PUBLIC_LEN
    + 1;

/// Mode of an identity file: read and write for the owner only.
pub const KEY_FILE_MODE: u32 = 0o600;
/// Mode of a directory created for an identity file.
pub const KEY_DIR_MODE: u32 = 0o700;
/// Default [`IdentityOptions::timeout`]: 10 seconds.
pub const DEFAULT_FILE_TIMEOUT: Duration = Duration::from_secs(10);
/// A temporary file left next to the key is removed once it is this old
/// (60 s; a writer finishes within its timeout, far sooner).
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);
/// At most this many directory entries are examined when looking for stale
/// temporary files (bounds the work in a huge directory).
pub const MAX_TEMP_SCAN: usize = 4096;

/// Options for identity file operations.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IdentityOptions {
    /// How long one operation (load, or load-or-generate, or store) may take
    /// in total before it is [`IdentityError::TimedOut`]. Default
    /// [`DEFAULT_FILE_TIMEOUT`].
    pub timeout: Duration,
}

impl IdentityOptions {
    /// The defaults.
    pub fn new() -> Self {
        IdentityOptions {
            timeout: DEFAULT_FILE_TIMEOUT,
        }
    }

    /// Sets [`IdentityOptions::timeout`].
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Default for IdentityOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// The ML-KEM-768 part of a hybrid identity: the seed (written to the
/// file) and the key pair derived from it.
#[cfg(feature = "mlkem")]
#[derive(Clone)]
pub(crate) struct KemPart {
    seed: Zeroizing<[u8; KEM_SEED_LEN]>,
    key: mlkem::KeyPair,
}

#[cfg(feature = "mlkem")]
impl KemPart {
    fn from_seed(seed: [u8; KEM_SEED_LEN]) -> KemPart {
        let seed = Zeroizing::new(seed);
        let key = mlkem::KeyPair::from_seed(&seed);
        KemPart { seed, key }
    }

    fn generate() -> KemPart {
        let mut seed = Zeroizing::new([0u8; KEM_SEED_LEN]);
        OsRng.fill_bytes(&mut *seed);
        KemPart::from_seed(*seed)
    }
}

#[cfg(feature = "mlkem")]
impl fmt::Debug for KemPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key pair's Debug shows its public half only; the seed is secret.
        f.debug_struct("KemPart")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What an identity file holds.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    pub(crate) dh: KeyPair,
    #[cfg(feature = "mlkem")]
    pub(crate) kem: Option<KemPart>,
}

/// A node's static key, with where it came from.
#[derive(Clone, Debug)]
pub struct Identity {
    key: KeyPair,
    #[cfg(feature = "mlkem")]
    kem: Option<KemPart>,
    path: PathBuf,
    created: bool,
}

impl Identity {
    /// The key pair (give a clone to `noise::Builder::local_static`).
    pub fn key_pair(&self) -> &KeyPair {
        &self.key
    }

    /// The public key: what peers pin.
    pub fn public(&self) -> &[u8; KEY_LEN] {
        self.key.public()
    }

    /// The key pair, consuming the identity.
    pub fn into_key_pair(self) -> KeyPair {
        self.key
    }

    /// The static ML-KEM-768 key pair of a hybrid identity (give it to
    /// `noise::Builder::local_static_kem`); `None` for an X25519-only file.
    /// Feature `mlkem`.
    #[cfg(feature = "mlkem")]
    pub fn kem_key_pair(&self) -> Option<&mlkem::KeyPair> {
        self.kem.as_ref().map(|k| &k.key)
    }

    fn new(keys: Keys, path: &Path, created: bool) -> Identity {
        Identity {
            key: keys.dh,
            #[cfg(feature = "mlkem")]
            kem: keys.kem,
            path: path.to_path_buf(),
            created,
        }
    }

    /// The file the key was loaded from or written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this call generated the key (the file did not exist).
    pub fn was_created(&self) -> bool {
        self.created
    }
}

/// What was wrong with an identity file's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptReason {
    /// Shorter than its format's length ([`IDENTITY_FILE_LEN`] or
    /// [`HYBRID_IDENTITY_FILE_LEN`]; a torn or truncated write).
    Truncated {
        /// Bytes found.
        len: usize,
    },
    /// Longer than its format's length.
    TooLong,
    /// The first line is neither [`IDENTITY_HEADER`] nor
    /// [`HYBRID_IDENTITY_HEADER`] (another format or version).
    BadHeader,
    /// A key line is malformed (not `<tag> <lower-case hex of the right
    /// length>`).
    BadEncoding,
    /// The public key does not belong to the secret key.
    PublicKeyMismatch,
    /// The ML-KEM lines of a hybrid file disagree: the seed does not match
    /// its check value or (checked with the `mlkem` feature) the public
    /// key.
    KemKeyMismatch,
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorruptReason::Truncated { len } => write!(
                f,
                "truncated ({len} bytes; an identity file has {IDENTITY_FILE_LEN}, a hybrid one \
                 {HYBRID_IDENTITY_FILE_LEN})"
            ),
            CorruptReason::TooLong => f.write_str("longer than its format"),
            CorruptReason::BadHeader => {
                f.write_str("not a hyperport x25519 (or x25519+mlkem768) static key v1 file")
            }
            CorruptReason::BadEncoding => f.write_str("malformed key line"),
            CorruptReason::PublicKeyMismatch => {
                f.write_str("the public key does not match the secret key")
            }
            CorruptReason::KemKeyMismatch => f.write_str(
                "the ML-KEM seed does not match its check value or the ML-KEM public key",
            ),
        }
    }
}

/// The step of an identity file operation that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityOp {
    /// Opening or reading the key file.
    Read,
    /// Creating the key's directory.
    CreateDir,
    /// Creating or writing the temporary file.
    WriteTemp,
    /// Fsyncing the temporary file.
    SyncFile,
    /// Committing the temporary file under the final name (link or rename).
    Commit,
    /// Fsyncing the directory.
    SyncDir,
    /// Running the blocking task (the runtime is shutting down).
    Task,
}

impl fmt::Display for IdentityOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdentityOp::Read => "reading",
            IdentityOp::CreateDir => "creating the directory of",
            IdentityOp::WriteTemp => "writing a temporary file for",
            IdentityOp::SyncFile => "fsyncing the temporary file for",
            IdentityOp::Commit => "committing",
            IdentityOp::SyncDir => "fsyncing the directory of",
            IdentityOp::Task => "running the file task for",
        })
    }
}

/// Why an identity file could not be loaded, generated or stored.
#[derive(Debug)]
#[non_exhaustive]
pub enum IdentityError {
    /// An I/O operation failed.
    Io {
        /// What was being done.
        op: IdentityOp,
        /// The key file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// [`load`] found no file.
    NotFound {
        /// The key file.
        path: PathBuf,
    },
    /// The path names no file (it ends in `..` or `/`, or is empty).
    InvalidPath {
        /// The path given.
        path: PathBuf,
    },
    /// The path exists but is not a regular file.
    NotAFile {
        /// The key file.
        path: PathBuf,
    },
    /// The file grants permissions to group or others (mode & 0o077 != 0).
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file's content is not a valid identity.
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: CorruptReason,
    },
    /// `load_or_generate_hybrid` found an X25519-only identity file: a
    /// hybrid or pq pattern needs an ML-KEM key too. The file is left as it
    /// is.
    NoKemKey {
        /// The key file.
        path: PathBuf,
    },
    /// The operation did not finish within [`IdentityOptions::timeout`].
    TimedOut {
        /// The key file.
        path: PathBuf,
        /// The timeout.
        after: Duration,
    },
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Io { op, path, source } => write!(
                f,
                "{op} identity file {}: {source}; check the path and its permissions",
                path.display()
            ),
            IdentityError::NotFound { path } => {
                write!(f, "identity file {} does not exist", path.display())
            }
            IdentityError::InvalidPath { path } => write!(
                f,
                "identity path {:?} does not name a file; give a path such as dir/static.key",
                path
            ),
            IdentityError::NotAFile { path } => write!(
                f,
                "identity path {} exists but is not a regular file; move it away",
                path.display()
            ),
            IdentityError::InsecurePermissions { path, mode } => write!(
                f,
                "identity file {} has mode {mode:04o}, which grants access to group or others; \
                 the key may have leaked: if it can be trusted, chmod 600 it, else remove it \
                 (the node then gets a new identity)",
                path.display()
            ),
            IdentityError::Corrupt { path, reason } => write!(
                f,
                "identity file {} is corrupt: {reason}; it is never replaced automatically: \
                 restore it from a backup, or remove it to create a new identity (peers that \
                 pinned the old key will refuse the new one)",
                path.display()
            ),
            IdentityError::NoKemKey { path } => write!(
                f,
                "identity file {} holds an X25519 key only, but hybrid and pq patterns need an \
                 ML-KEM-768 key too; it is never extended automatically: use another file, or \
                 extend this one with store_hybrid (which keeps its X25519 key)",
                path.display()
            ),
            IdentityError::TimedOut { path, after } => write!(
                f,
                "identity file {}: operation took longer than {after:?} (slow or stuck file \
                 system?); it may still finish in the background",
                path.display()
            ),
        }
    }
}

impl std::error::Error for IdentityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IdentityError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Loads the identity at `path`, or, if no file exists there, generates a
/// fresh key (from the operating system's random source) and writes it
/// atomically (creating the directory, mode `0700`, if needed).
///
/// An existing file is never replaced: a corrupt or insecure one is an
/// error (see the [module docs](self)).
///
/// # Errors
/// [`IdentityError`]: I/O failures, a corrupt or insecure file, a timeout.
pub async fn load_or_generate(
    path: impl AsRef<Path>,
    options: &IdentityOptions,
) -> Result<Identity, IdentityError> {
    let path = path.as_ref().to_path_buf();
    run_blocking(path.clone(), options.timeout, move || {
        load_or_generate_blocking(&path, &mut no_crash)
    })
    .await
}

/// As [`load_or_generate`] for a hybrid identity (feature `mlkem`): loads
/// the X25519 and ML-KEM-768 key pairs at `path`, or, if no file exists
/// there, generates both and writes a hybrid file atomically. An existing
/// X25519-only file is [`IdentityError::NoKemKey`] and stays as it is (to
/// extend it, [`load`] it and [`store_hybrid`] its key with a new seed).
///
/// # Errors
/// As [`load_or_generate`], and [`IdentityError::NoKemKey`].
#[cfg(feature = "mlkem")]
pub async fn load_or_generate_hybrid(
    path: impl AsRef<Path>,
    options: &IdentityOptions,
) -> Result<Identity, IdentityError> {
    let path = path.as_ref().to_path_buf();
    run_blocking(path.clone(), options.timeout, move || {
        load_or_generate_keys_blocking(&path, true, &mut no_crash)
    })
    .await
}

/// Loads the identity at `path`; a missing file is [`IdentityError::NotFound`].
///
/// # Errors
/// [`IdentityError`]: I/O failures, a missing, corrupt or insecure file, a timeout.
pub async fn load(
    path: impl AsRef<Path>,
    options: &IdentityOptions,
) -> Result<Identity, IdentityError> {
    let path = path.as_ref().to_path_buf();
    run_blocking(
        path.clone(),
        options.timeout,
        move || match load_keys_blocking(&path)? {
            Some(keys) => Ok(Identity::new(keys, &path, false)),
            None => Err(IdentityError::NotFound { path }),
        },
    )
    .await
}

/// Writes `key` to `path` atomically, replacing any file there (key
/// rotation, import). Creates the directory (mode `0700`) if needed. A
/// crash at any point leaves either the old file or the new one.
///
/// # Errors
/// [`IdentityError`]: I/O failures or a timeout; the old file, if any, is
/// then still in place unless the commit itself succeeded.
pub async fn store(
    path: impl AsRef<Path>,
    key: &KeyPair,
    options: &IdentityOptions,
) -> Result<(), IdentityError> {
    let path = path.as_ref().to_path_buf();
    let key = key.clone();
    run_blocking(path.clone(), options.timeout, move || {
        match write_atomic(&path, &encode(&key), Commit::Replace, &mut no_crash) {
            Ok(()) => Ok(()),
            Err(WriteFail::Failed(e)) => Err(e),
            Err(WriteFail::Crashed) => Err(crashed_error(&path)),
        }
    })
    .await
}

/// As [`store`] for a hybrid identity (feature `mlkem`): writes `key` and
/// the ML-KEM-768 key pair derived from `kem_seed` (its FIPS 203 seed
/// d || z, secret) to `path` atomically, in the hybrid format. Storing the
/// key of an X25519-only identity with a fresh seed extends that identity:
/// peers that pinned its X25519 key still recognise it.
///
/// # Errors
/// As [`store`].
#[cfg(feature = "mlkem")]
pub async fn store_hybrid(
    path: impl AsRef<Path>,
    key: &KeyPair,
    kem_seed: &[u8; mlkem::SEED_LEN],
    options: &IdentityOptions,
) -> Result<(), IdentityError> {
    let path = path.as_ref().to_path_buf();
    let keys = Keys {
        dh: key.clone(),
        kem: Some(KemPart::from_seed(*kem_seed)),
    };
    run_blocking(path.clone(), options.timeout, move || {
        match write_atomic(&path, &encode_keys(&keys), Commit::Replace, &mut no_crash) {
            Ok(()) => Ok(()),
            Err(WriteFail::Failed(e)) => Err(e),
            Err(WriteFail::Crashed) => Err(crashed_error(&path)),
        }
    })
    .await
}

async fn run_blocking<T: Send + 'static>(
    path: PathBuf,
    timeout: Duration,
    f: impl FnOnce() -> Result<T, IdentityError> + Send + 'static,
) -> Result<T, IdentityError> {
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(IdentityError::Io {
            op: IdentityOp::Task,
            path,
            source: io::Error::other(join.to_string()),
        }),
        Err(_elapsed) => {
            tracing::warn!(path = %path.display(), ?timeout, "identity file operation timed out");
            Err(IdentityError::TimedOut {
                path,
                after: timeout,
            })
        }
    }
}

// ---------------------------------------------------------------- blocking

/// A step of [`write_atomic`], reported to the crash hook after it is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteStep {
    DirCreated,
    TempCreated,
    HalfWritten,
    Written,
    FileSynced,
    Committed,
    TempRemoved,
    DirSynced,
}

/// A simulated crash: the operation stops dead, cleaning nothing up.
#[derive(Debug)]
pub(crate) struct Crash;

type Hook<'a> = &'a mut dyn FnMut(WriteStep) -> Result<(), Crash>;

fn no_crash(_: WriteStep) -> Result<(), Crash> {
    Ok(())
}

pub(crate) enum WriteFail {
    Failed(IdentityError),
    Crashed,
}

impl From<IdentityError> for WriteFail {
    fn from(e: IdentityError) -> Self {
        WriteFail::Failed(e)
    }
}

impl From<Crash> for WriteFail {
    fn from(_: Crash) -> Self {
        WriteFail::Crashed
    }
}

fn crashed_error(path: &Path) -> IdentityError {
    IdentityError::Io {
        op: IdentityOp::Commit,
        path: path.to_path_buf(),
        source: io::Error::other("simulated crash"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// Hard link: fails if the final name exists.
    NoReplace,
    /// Rename over whatever is there.
    Replace,
}

fn io_err(op: IdentityOp, path: &Path) -> impl FnOnce(io::Error) -> IdentityError + '_ {
    move |source| IdentityError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The directory holding `path` and the file name, or `InvalidPath`.
fn split_path(path: &Path) -> Result<(&Path, String), IdentityError> {
    let invalid = || IdentityError::InvalidPath {
        path: path.to_path_buf(),
    };
    let name = path.file_name().ok_or_else(invalid)?;
    let name = name.to_str().ok_or_else(invalid)?.to_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

/// Reads and checks the file at `path` (its X25519 key): `None` if it does
/// not exist.
#[cfg(test)]
pub(crate) fn load_blocking(path: &Path) -> Result<Option<KeyPair>, IdentityError> {
    load_keys_blocking(path).map(|k| k.map(|k| k.dh))
}

/// Reads and checks the file at `path`: `None` if it does not exist.
pub(crate) fn load_keys_blocking(path: &Path) -> Result<Option<Keys>, IdentityError> {
    split_path(path)?;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(IdentityOp::Read, path)(e)),
    };
    let meta = file.metadata().map_err(io_err(IdentityOp::Read, path))?;
    if !meta.is_file() {
        return Err(IdentityError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    // Read at most one byte more than the longest valid file: a huge file
    // costs nothing.
    let limit = HYBRID_IDENTITY_FILE_LEN.saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(limit));
    file.take(limit as u64)
        .read_to_end(&mut bytes)
        .map_err(io_err(IdentityOp::Read, path))?;
    decode_keys(&bytes)
        .map(Some)
        .map_err(|reason| IdentityError::Corrupt {
            path: path.to_path_buf(),
            reason,
        })
}

pub(crate) fn load_or_generate_blocking(
    path: &Path,
    hook: Hook<'_>,
) -> Result<Identity, IdentityError> {
    load_or_generate_keys_blocking(path, false, hook)
}

/// Loads, or generates and writes; `hybrid`: the identity must have (and a
/// new one gets) an ML-KEM-768 key pair too.
pub(crate) fn load_or_generate_keys_blocking(
    path: &Path,
    hybrid: bool,
    hook: Hook<'_>,
) -> Result<Identity, IdentityError> {
    let check = |keys: Keys| -> Result<Identity, IdentityError> {
        #[cfg(feature = "mlkem")]
        if hybrid && keys.kem.is_none() {
            return Err(IdentityError::NoKemKey {
                path: path.to_path_buf(),
            });
        }
        Ok(Identity::new(keys, path, false))
    };
    if let Some(keys) = load_keys_blocking(path)? {
        remove_stale_temps(path);
        return check(keys);
    }
    #[cfg(not(feature = "mlkem"))]
    let _ = hybrid;
    let keys = Keys {
        dh: KeyPair::generate(&mut OsRng),
        #[cfg(feature = "mlkem")]
        kem: hybrid.then(KemPart::generate),
    };
    match write_atomic(path, &encode_keys(&keys), Commit::NoReplace, hook) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new identity");
            Ok(Identity::new(keys, path, true))
        }
        Err(WriteFail::Failed(IdentityError::Io {
            op: IdentityOp::Commit,
            source,
            ..
        })) if source.kind() == io::ErrorKind::AlreadyExists => {
            // Another writer committed first: its key is the identity.
            match load_keys_blocking(path)? {
                Some(keys) => check(keys),
                None => Err(IdentityError::NotFound {
                    path: path.to_path_buf(),
                }),
            }
        }
        Err(WriteFail::Failed(e)) => Err(e),
        Err(WriteFail::Crashed) => Err(crashed_error(path)),
    }
}

/// Writes `content` to `path` through a temporary file; see the module docs.
pub(crate) fn write_atomic(
    path: &Path,
    content: &[u8],
    commit: Commit,
    hook: Hook<'_>,
) -> Result<(), WriteFail> {
    let (dir, name) = split_path(path)?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(KEY_DIR_MODE)
        .create(dir)
        .map_err(io_err(IdentityOp::CreateDir, path))?;
    hook(WriteStep::DirCreated)?;
    remove_stale_temps(path);

    let mut nonce = [0u8; 8];
    OsRng.fill_bytes(&mut nonce);
    let tmp = dir.join(temp_name(&name, u64::from_le_bytes(nonce)));
    let result = write_temp_and_commit(path, dir, &tmp, content, commit, hook);
    if let Err(WriteFail::Failed(_)) = &result {
        // A real failure (not a simulated crash): do not leave the secret behind.
        if let Err(e) = fs::remove_file(&tmp)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %tmp.display(), error = %e, "could not remove a temporary identity file");
        }
    }
    result
}

fn write_temp_and_commit(
    path: &Path,
    dir: &Path,
    tmp: &Path,
    content: &[u8],
    commit: Commit,
    hook: Hook<'_>,
) -> Result<(), WriteFail> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(KEY_FILE_MODE)
        .open(tmp)
        .map_err(io_err(IdentityOp::WriteTemp, path))?;
    // The umask can only remove bits; make the mode exactly 0600 anyway.
    file.set_permissions(fs::Permissions::from_mode(KEY_FILE_MODE))
        .map_err(io_err(IdentityOp::WriteTemp, path))?;
    hook(WriteStep::TempCreated)?;
    let (first, second) = content.split_at(content.len() / 2);
    file.write_all(first)
        .map_err(io_err(IdentityOp::WriteTemp, path))?;
    hook(WriteStep::HalfWritten)?;
    file.write_all(second)
        .map_err(io_err(IdentityOp::WriteTemp, path))?;
    hook(WriteStep::Written)?;
    file.sync_all()
        .map_err(io_err(IdentityOp::SyncFile, path))?;
    drop(file);
    hook(WriteStep::FileSynced)?;

    match commit {
        Commit::Replace => {
            fs::rename(tmp, path).map_err(io_err(IdentityOp::Commit, path))?;
            hook(WriteStep::Committed)?;
        }
        Commit::NoReplace => {
            match fs::hard_link(tmp, path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(io_err(IdentityOp::Commit, path)(e).into());
                }
                Err(link_err) => {
                    // No hard links here (some FUSE or FAT file systems):
                    // rename, if the name is still free.
                    match fs::symlink_metadata(path) {
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {
                            fs::rename(tmp, path).map_err(io_err(IdentityOp::Commit, path))?;
                        }
                        _ => return Err(io_err(IdentityOp::Commit, path)(link_err).into()),
                    }
                }
            }
            hook(WriteStep::Committed)?;
            match fs::remove_file(tmp) {
                Ok(()) => {}
                // Already renamed by the fallback.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %tmp.display(), error = %e, "could not remove a temporary identity file");
                }
            }
            hook(WriteStep::TempRemoved)?;
        }
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(IdentityOp::SyncDir, path))?;
    hook(WriteStep::DirSynced)?;
    Ok(())
}

fn temp_name(name: &str, nonce: u64) -> String {
    std::format!(".{name}.{nonce:016x}.tmp")
}

fn is_temp_of(candidate: &str, name: &str) -> bool {
    let Some(rest) = candidate
        .strip_prefix('.')
        .and_then(|r| r.strip_prefix(name))
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_suffix(".tmp"))
    else {
        return false;
    };
    rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes temporary files of `path` older than [`STALE_TEMP_AGE`] (left by
/// a crash). Best effort: failures are `tracing` warnings.
fn remove_stale_temps(path: &Path) {
    let Ok((dir, name)) = split_path(path) else {
        return;
    };
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "could not scan for stale temporary identity files");
            return;
        }
    };
    let now = SystemTime::now();
    for entry in entries.take(MAX_TEMP_SCAN).flatten() {
        let file_name = entry.file_name();
        let Some(candidate) = file_name.to_str() else {
            continue;
        };
        if !is_temp_of(candidate, &name) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= STALE_TEMP_AGE);
        if old {
            let p = entry.path();
            match fs::remove_file(&p) {
                Ok(()) => {
                    tracing::info!(path = %p.display(), "removed a stale temporary identity file");
                }
                Err(e) => {
                    tracing::warn!(path = %p.display(), error = %e, "could not remove a stale temporary identity file");
                }
            }
        }
    }
}

// ----------------------------------------------------------------- format

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(c) = HEX.get(usize::from(nibble)) {
                out.push(*c);
            }
        }
    }
}

/// The file content for `key` (the X25519-only format).
pub(crate) fn encode(key: &KeyPair) -> Zeroizing<Vec<u8>> {
    encode_keys(&Keys {
        dh: key.clone(),
        #[cfg(feature = "mlkem")]
        kem: None,
    })
}

/// The file content for `keys`: the hybrid format if they include an
/// ML-KEM part.
pub(crate) fn encode_keys(keys: &Keys) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(HYBRID_IDENTITY_FILE_LEN));
    #[cfg(feature = "mlkem")]
    let kem = keys.kem.as_ref();
    #[cfg(not(feature = "mlkem"))]
    let kem: Option<&()> = None;
    out.extend_from_slice(if kem.is_some() {
        HYBRID_IDENTITY_HEADER.as_bytes()
    } else {
        IDENTITY_HEADER.as_bytes()
    });
    out.extend_from_slice(SECRET_TAG);
    let secret = Zeroizing::new(keys.dh.secret_bytes());
    push_hex(&mut out, &*secret);
    out.push(b'\n');
    out.extend_from_slice(PUBLIC_TAG);
    push_hex(&mut out, keys.dh.public());
    out.push(b'\n');
    #[cfg(feature = "mlkem")]
    if let Some(kem) = kem {
        out.extend_from_slice(KEM_SEED_TAG);
        push_hex(&mut out, &*kem.seed);
        out.push(b'\n');
        out.extend_from_slice(KEM_CHECK_TAG);
        push_hex(&mut out, &kem_check(&kem.seed));
        out.push(b'\n');
        out.extend_from_slice(KEM_PUBLIC_TAG);
        push_hex(&mut out, kem.key.public_bytes());
        out.push(b'\n');
    }
    out
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => c.checked_sub(b'0'),
        b'a'..=b'f' => c.checked_sub(b'a').and_then(|v| v.checked_add(10)),
        _ => None,
    }
}

/// Parses `<tag><2 * N hex>\n` at the start of `input`; returns the bytes
/// and the rest.
fn parse_line<'a, const N: usize>(input: &'a [u8], tag: &[u8]) -> Option<([u8; N], &'a [u8])> {
    let rest = input.strip_prefix(tag)?;
    let (hex, rest) = rest.split_at_checked(N.checked_mul(2)?)?;
    let rest = rest.strip_prefix(b"\n")?;
    let mut key = [0u8; N];
    for (out, pair) in key.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (pair.first()?, pair.get(1)?);
        *out = (hex_value(*hi)? << 4) | hex_value(*lo)?;
    }
    Some((key, rest))
}

/// The `kem-check` value of an ML-KEM seed: BLAKE2s-256 of it.
fn kem_check(seed: &[u8; KEM_SEED_LEN]) -> [u8; KEM_CHECK_LEN] {
    use blake2::Digest as _;
    blake2::Blake2s256::digest(seed).into()
}

/// Parses a whole file (its X25519 key).
#[cfg(test)]
pub(crate) fn decode(bytes: &[u8]) -> Result<KeyPair, CorruptReason> {
    decode_keys(bytes).map(|k| k.dh)
}

/// Parses a whole file, either format.
pub(crate) fn decode_keys(bytes: &[u8]) -> Result<Keys, CorruptReason> {
    let headers = [
        (IDENTITY_HEADER, IDENTITY_FILE_LEN, false),
        (HYBRID_IDENTITY_HEADER, HYBRID_IDENTITY_FILE_LEN, true),
    ];
    let Some((body, len, hybrid)) = headers.iter().find_map(|&(header, len, hybrid)| {
        bytes
            .strip_prefix(header.as_bytes())
            .map(|body| (body, len, hybrid))
    }) else {
        // A strict prefix of a header is a truncated file.
        let truncated = headers
            .iter()
            .any(|(header, _, _)| header.as_bytes().starts_with(bytes));
        return Err(if truncated {
            CorruptReason::Truncated { len: bytes.len() }
        } else if bytes.len() > HYBRID_IDENTITY_FILE_LEN {
            CorruptReason::TooLong
        } else {
            CorruptReason::BadHeader
        });
    };
    if bytes.len() > len {
        return Err(CorruptReason::TooLong);
    }
    if bytes.len() < len {
        return Err(CorruptReason::Truncated { len: bytes.len() });
    }
    let (secret, rest) =
        parse_line::<KEY_LEN>(body, SECRET_TAG).ok_or(CorruptReason::BadEncoding)?;
    let secret = Zeroizing::new(secret);
    let (public, rest) =
        parse_line::<KEY_LEN>(rest, PUBLIC_TAG).ok_or(CorruptReason::BadEncoding)?;
    // The ML-KEM lines of a hybrid file; then nothing may follow.
    let (kem_lines, rest) = if hybrid {
        let (seed, rest) =
            parse_line::<KEM_SEED_LEN>(rest, KEM_SEED_TAG).ok_or(CorruptReason::BadEncoding)?;
        let seed = Zeroizing::new(seed);
        let (check, rest) =
            parse_line::<KEM_CHECK_LEN>(rest, KEM_CHECK_TAG).ok_or(CorruptReason::BadEncoding)?;
        let (kem_public, rest) =
            parse_line::<KEM_PUBLIC_LEN>(rest, KEM_PUBLIC_TAG).ok_or(CorruptReason::BadEncoding)?;
        if !rest.is_empty() {
            return Err(CorruptReason::BadEncoding);
        }
        if kem_check(&seed) != check {
            return Err(CorruptReason::KemKeyMismatch);
        }
        (Some((seed, kem_public)), rest)
    } else {
        (None, rest)
    };
    if !rest.is_empty() {
        return Err(CorruptReason::BadEncoding);
    }
    let key = KeyPair::from_secret_bytes(*secret);
    if key.public() != &public {
        return Err(CorruptReason::PublicKeyMismatch);
    }
    #[cfg(feature = "mlkem")]
    let kem = match kem_lines {
        Some((seed, kem_public)) => {
            let kem = KemPart::from_seed(*seed);
            if kem.key.public_bytes() != &kem_public {
                return Err(CorruptReason::KemKeyMismatch);
            }
            Some(kem)
        }
        None => None,
    };
    // Without `mlkem` the ML-KEM lines were checked for their form only.
    #[cfg(not(feature = "mlkem"))]
    let _ = kem_lines;
    Ok(Keys {
        dh: key,
        #[cfg(feature = "mlkem")]
        kem,
    })
}

#[cfg(test)]
mod tests;
