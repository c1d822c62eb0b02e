//! Basic authentication (RFC 7617): user stores and password-hash verification.
//!
//! Users come from htpasswd files ([`BasicConfig::htpasswd_file`],
//! [`BasicConfig::htpasswd_str`]) and from code ([`BasicConfig::user`]). Accepted
//! hash formats: bcrypt (`$2y$`, `$2b$`, `$2a$`), argon2id in PHC form
//! (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) and SHA-512-crypt (`$6$[rounds=N$]salt$hash`).
//! Any other line (Apache MD5 `$apr1$`, `{SHA}`, DES crypt, plaintext, …) is refused at
//! start-up, naming the line.
//!
//! How a request is verified:
//!
//! - **Off the executor.** Password hashing is slow by design, so it runs on tokio's
//!   blocking pool (`spawn_blocking`), at most [`BasicConfig::max_concurrent`]
//!   verifications at once (default: twice the available parallelism). Requests
//!   waiting for a slot wait asynchronously; nothing else on the server is stalled.
//! - **Unknown users cost the same.** Every failed check, for a wrong password or an
//!   unknown user-id, runs exactly one verification of each kind of hash the store
//!   holds (a kind is an algorithm with its work parameters: bcrypt cost, argon2id
//!   parameters, SHA-512-crypt rounds): the user's own hash and a dummy hash of each
//!   other kind, or the dummy of every kind for an unknown user-id. The dummies are
//!   made at start-up. So the answer takes as long whichever user-id was sent,
//!   whatever the mix (OWASP Authentication Cheat Sheet). A store with one kind pays
//!   one hash per failure; a store that mixes kinds pays for all of them on every
//!   failure, so keep every hash at one algorithm and cost (`authgate check-config`
//!   reports a mixed store).
//! - **Length limits.** Passwords over [`BasicConfig::MAX_PASSWORD_BYTES`] are
//!   refused without hashing (no hashing DoS). bcrypt reads only the first 72 bytes
//!   of a password, so a longer password for a bcrypt user is refused as
//!   `wrong_password` (CVE-2025-22228); its hash is still computed so the answer takes
//!   the usual time.
//! - **Exact comparison.** User-ids and passwords are compared exactly: no
//!   trimming, case folding or Unicode normalisation (an NFD `jürgen` is not the NFC
//!   one).
//! - **Verified-credentials cache**, like Apache's `mod_authn_socache`: a successful
//!   verification is remembered for [`BasicConfig::DEFAULT_CACHE_TTL`] under an
//!   HMAC-SHA-256 of user-id and password with a random per-process key (the
//!   password itself is never stored), at most [`BasicConfig::DEFAULT_CACHE_ENTRIES`]
//!   entries. Failures are never cached.
//! - **htpasswd files are watched.** At most once per second the verifier compares
//!   each file's modification time and length with what it loaded; on a change it
//!   empties the cache and reloads the users. If the new file is invalid, the
//!   previous users stay and a `WARN` event (target `authgate`) says why.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::ConfigError;
use crate::credentials::{BasicCredentials, SchemeLabel};
use crate::principal::Principal;
use crate::reason::Reason;
use crate::rejection::Failure;

/// The configuration key of htpasswd files.
const KEY_FILE: &str = "basic.htpasswd_file";
/// The configuration key of users configured one by one.
const KEY_USERS: &str = "basic.users";
/// The builder key of [`BasicConfig::max_concurrent`].
const KEY_MAX_CONCURRENT: &str = "basic.max_concurrent";
/// The key of [`BasicConfig::max_pending`] (TOML and builder).
const KEY_MAX_PENDING: &str = "basic.max_pending";

/// Basic users: from htpasswd files and from configuration entries.
///
/// ```
/// # fn main() -> Result<(), authgate::ConfigError> {
/// # #[cfg(feature = "basic")] {
/// use authgate::{AuthConfig, BasicConfig};
///
/// let basic = BasicConfig::new()
///     // e.g. made with `htpasswd -nbB -C 12 alice '…'`
///     .htpasswd_str("alice:$2y$04$CXyvaa0X0uzZNvL71Q0fIOt1akEA5yMlUajwWs0pbPmECZbho7vMS\n")?
///     .max_concurrent(4)?;
/// let cfg = AuthConfig::builder().basic(basic).build()?;
/// # let _ = cfg;
/// # }
/// # Ok(())
/// # }
/// ```
///
/// `Debug` shows user-ids and file paths, never password hashes.
#[derive(Clone)]
#[must_use]
#[cfg_attr(not(feature = "basic"), allow(dead_code))]
pub struct BasicConfig {
    #[cfg(feature = "basic")]
    inline: Vec<imp::UserEntry>,
    #[cfg(feature = "basic")]
    files: Vec<imp::HtpasswdFile>,
    max_concurrent: Option<usize>,
    max_pending: usize,
    cache_entries: usize,
    cache_ttl: Duration,
    check_interval: Duration,
}

impl Default for BasicConfig {
    fn default() -> Self {
        BasicConfig {
            #[cfg(feature = "basic")]
            inline: Vec::new(),
            #[cfg(feature = "basic")]
            files: Vec::new(),
            max_concurrent: None,
            max_pending: BasicConfig::DEFAULT_MAX_PENDING,
            cache_entries: BasicConfig::DEFAULT_CACHE_ENTRIES,
            cache_ttl: BasicConfig::DEFAULT_CACHE_TTL,
            check_interval: Duration::from_secs(1),
        }
    }
}

impl fmt::Debug for BasicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg_attr(not(feature = "basic"), allow(unused_mut))]
        let mut d = f.debug_struct("BasicConfig");
        #[cfg(feature = "basic")]
        {
            let users: Vec<&str> = self.inline.iter().map(|u| u.name.as_str()).collect();
            let files: Vec<&Path> = self.files.iter().map(|f| f.path.as_path()).collect();
            d.field("users", &users)
                .field("htpasswd_files", &files)
                .field("password_hashes", &"[redacted]");
        }
        d.field("max_concurrent", &self.max_concurrent)
            .field("max_pending", &self.max_pending)
            .field("cache_entries", &self.cache_entries)
            .field("cache_ttl", &self.cache_ttl)
            .finish()
    }
}

impl BasicConfig {
    /// Default bound of the verified-credentials cache, in entries.
    pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;
    /// Default time a verified user-id/password pair stays cached.
    pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);
    /// Longer passwords are refused without being hashed.
    pub const MAX_PASSWORD_BYTES: usize = 1024;
    /// Default of [`max_pending`](Self::max_pending): password checks that may wait
    /// for a hashing thread.
    pub const DEFAULT_MAX_PENDING: usize = 64;
    /// The largest [`max_pending`](Self::max_pending) accepted.
    pub const MAX_PENDING_LIMIT: usize = 65_536;

    /// An empty user store.
    pub fn new() -> Self {
        BasicConfig::default()
    }

    /// Adds the users of an htpasswd file (`user:hash` lines; `#` comments and
    /// blank lines are skipped). The file is watched: when its modification time or
    /// length changes, the users are reloaded (checked at most once per second).
    ///
    /// # Errors
    ///
    /// `basic.htpasswd_file` when the file cannot be read, a line is in an
    /// unsupported format (the message names the line and the accepted formats), or
    /// a user-id is defined twice. Without the `basic` cargo feature, always.
    pub fn htpasswd_file(self, path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        #[cfg(feature = "basic")]
        {
            imp::add_file(self, path.as_ref())
        }
        #[cfg(not(feature = "basic"))]
        {
            let _ = path;
            Err(feature_off(KEY_FILE))
        }
    }

    /// Adds the users of htpasswd text (the contents of an htpasswd file). Unlike
    /// [`htpasswd_file`](Self::htpasswd_file), nothing is watched.
    ///
    /// # Errors
    ///
    /// `basic.htpasswd_file` when a line is in an unsupported format (the message
    /// names the line) or a user-id is defined twice. Without the `basic` cargo
    /// feature, always.
    pub fn htpasswd_str(self, contents: &str) -> Result<Self, ConfigError> {
        #[cfg(feature = "basic")]
        {
            imp::add_text(self, contents)
        }
        #[cfg(not(feature = "basic"))]
        {
            let _ = contents;
            Err(feature_off(KEY_FILE))
        }
    }

    /// Adds one user with a password hash (`$argon2id$…`, `$2b$…`/`$2y$…`/`$2a$…`,
    /// `$6$…`) and the scopes the user is granted.
    ///
    /// # Errors
    ///
    /// `basic.users (name "…")` when the user-id is empty or has control
    /// characters, the hash is in an unsupported format, or the user-id is already
    /// defined. Without the `basic` cargo feature, always.
    pub fn user<I, S>(self, name: &str, password_hash: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        #[cfg(feature = "basic")]
        {
            let scopes = scopes.into_iter().map(Into::into).collect();
            imp::add_user(self, name, password_hash, scopes)
        }
        #[cfg(not(feature = "basic"))]
        {
            let _ = (name, password_hash, scopes);
            Err(feature_off(KEY_USERS))
        }
    }

    /// At most this many password verifications run at once (default: twice the
    /// available parallelism). Further requests wait, asynchronously, for a slot.
    ///
    /// # Errors
    ///
    /// `basic.max_concurrent` when `n` is 0.
    pub fn max_concurrent(mut self, n: usize) -> Result<Self, ConfigError> {
        if n == 0 {
            return Err(ConfigError::new(
                KEY_MAX_CONCURRENT,
                "must be at least 1 (the default is twice the number of CPUs)",
            ));
        }
        self.max_concurrent = Some(n);
        Ok(self)
    }

    /// At most `n` password checks wait for a hashing thread (default
    /// [`DEFAULT_MAX_PENDING`](Self::DEFAULT_MAX_PENDING)) while
    /// [`max_concurrent`](Self::max_concurrent) run. A request beyond that is not
    /// queued: it is answered at once with 503 `verifier_busy` and `Retry-After: 1`
    /// (RFC 9110 §15.6.4, §10.2.3), so a flood of wrong or unknown credentials
    /// cannot delay a legitimate login without bound. Credentials found in the
    /// verified-credentials cache and Bearer requests never wait for this queue.
    ///
    /// # Errors
    ///
    /// `basic.max_pending` when `n` is 0 or over
    /// [`MAX_PENDING_LIMIT`](Self::MAX_PENDING_LIMIT).
    pub fn max_pending(mut self, n: usize) -> Result<Self, ConfigError> {
        if n == 0 || n > Self::MAX_PENDING_LIMIT {
            return Err(ConfigError::new(
                KEY_MAX_PENDING,
                format!(
                    "must be from 1 to {} (the default is {}): it bounds the password checks waiting for a hashing thread",
                    Self::MAX_PENDING_LIMIT,
                    Self::DEFAULT_MAX_PENDING
                ),
            ));
        }
        self.max_pending = n;
        Ok(self)
    }

    /// Bounds of the verified-credentials cache: at most `max_entries` entries, each
    /// kept for `ttl` (defaults [`DEFAULT_CACHE_ENTRIES`](Self::DEFAULT_CACHE_ENTRIES)
    /// and [`DEFAULT_CACHE_TTL`](Self::DEFAULT_CACHE_TTL)). `max_entries == 0` or a
    /// zero `ttl` turns the cache off: every request is then hashed.
    pub fn cache(mut self, max_entries: usize, ttl: Duration) -> Self {
        self.cache_entries = max_entries;
        self.cache_ttl = ttl;
        self
    }

    /// How many users are configured, inline and in htpasswd files as last read
    /// (for [`AuthConfig::summary`](crate::AuthConfig::summary)).
    pub(crate) fn user_count(&self) -> usize {
        #[cfg(feature = "basic")]
        {
            imp::all_users(self).count()
        }
        #[cfg(not(feature = "basic"))]
        {
            0
        }
    }

    /// The kinds of password hash among the users (algorithm and work parameters),
    /// each with its users, in configuration order (for
    /// [`AuthConfig::summary`](crate::AuthConfig::summary)). Secret-free: no hash,
    /// no salt.
    pub(crate) fn hash_kinds(&self) -> Vec<crate::summary::HashKindSummary> {
        #[cfg(feature = "basic")]
        {
            imp::hash_kinds(self)
        }
        #[cfg(not(feature = "basic"))]
        {
            Vec::new()
        }
    }

    /// [`max_pending`](Self::max_pending) (for [`AuthConfig::summary`](crate::AuthConfig::summary)).
    pub(crate) fn pending_limit(&self) -> usize {
        self.max_pending
    }

    /// The htpasswd files users come from (for [`AuthConfig::summary`](crate::AuthConfig::summary)).
    pub(crate) fn htpasswd_paths(&self) -> Vec<std::path::PathBuf> {
        #[cfg(feature = "basic")]
        {
            self.files.iter().map(|f| f.path.clone()).collect()
        }
        #[cfg(not(feature = "basic"))]
        {
            Vec::new()
        }
    }

    #[cfg(feature = "basic")]
    fn effective_max_concurrent(&self) -> usize {
        self.max_concurrent.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get) * 2
        })
    }
}

#[cfg(not(feature = "basic"))]
fn feature_off(key: &str) -> ConfigError {
    ConfigError::new(
        key,
        "Basic users need the `basic` cargo feature of authgate; enable it: authgate = { features = [\"basic\"] }",
    )
}

/// A Basic failure for a user-id that is not configured. The user-id is never
/// recorded: it may be a password typed into the wrong field.
fn unknown_user(detail: &'static str) -> Failure {
    Failure::new(Reason::UnknownUser, SchemeLabel::Basic, detail).hint(
        "user-ids are compared exactly (case, spaces and Unicode normalisation matter); check the user-id and that the user is configured",
    )
}

/// A Basic failure for a known user; `auth.user` names the user.
#[cfg(feature = "basic")]
fn wrong_password(user: &str, detail: impl Into<std::borrow::Cow<'static, str>>) -> Failure {
    let mut f = Failure::new(Reason::WrongPassword, SchemeLabel::Basic, detail);
    f.user = Some(user.to_owned());
    f
}

#[cfg(feature = "basic")]
fn internal_error(detail: &'static str) -> Failure {
    Failure::new(Reason::InternalError, SchemeLabel::Basic, detail)
}

/// 503 `verifier_busy`: the wait for a hashing thread is full. The user-id is not
/// recorded (it has not been looked up; it may be unknown).
#[cfg(feature = "basic")]
fn verifier_busy(max_pending: usize) -> Failure {
    Failure::new(
        Reason::VerifierBusy,
        SchemeLabel::Basic,
        format!(
            "{max_pending} password checks were already waiting for a hashing thread ({KEY_MAX_PENDING} = {max_pending}); this one was refused without being checked"
        ),
    )
    .hint(
        "more Basic logins arrive than the hashing threads can check (a burst or a password-guessing flood); raise basic.max_pending (BasicConfig::max_pending) or add capacity (CPUs, instances, basic.max_concurrent); clients may retry after 1 s",
    )
    // A full queue drains within a second or so.
    .retry_after(1)
}

#[cfg(feature = "basic")]
pub(crate) use imp::BasicVerifier;

/// Verifies Basic credentials against a [`BasicConfig`]. Without the `basic`
/// feature no user can be configured, so every user-id is unknown.
#[cfg(not(feature = "basic"))]
#[derive(Debug)]
pub(crate) struct BasicVerifier {
    _cfg: BasicConfig,
}

#[cfg(not(feature = "basic"))]
impl BasicVerifier {
    pub(crate) fn new(cfg: BasicConfig) -> Self {
        BasicVerifier { _cfg: cfg }
    }

    /// The answer from the verified-credentials cache, if it has one. Cheap.
    pub(crate) fn check_cached(
        &self,
        _user: &str,
        _password: &str,
    ) -> Option<Result<Principal, Failure>> {
        Some(Err(unknown_user(
            "no user with this user-id is configured (authgate was built without the `basic` feature)",
        )))
    }

    /// Hashes computed: none without the feature.
    pub(crate) fn hash_count(&self) -> u64 {
        0
    }

    /// Full verification.
    pub(crate) async fn verify(
        self: Arc<Self>,
        _creds: BasicCredentials,
    ) -> Result<Principal, Failure> {
        Err(unknown_user(
            "no user with this user-id is configured (authgate was built without the `basic` feature)",
        ))
    }
}

#[cfg(feature = "basic")]
mod imp {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Mutex, PoisonError, RwLock};
    use std::time::{Instant, SystemTime};

    use argon2::password_hash::{self, PasswordHasher as _, PasswordVerifier as _};
    use hmac::{Hmac, KeyInit as _, Mac as _};
    use sha2::Sha256;
    use subtle::ConstantTimeEq as _;
    use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

    use super::*;
    use crate::event::sanitize_for_message;
    use crate::principal::Scheme;

    /// bcrypt uses at most this many bytes of a password.
    const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

    /// What the start-up errors list as accepted.
    const ACCEPTED: &str = "accepted formats are bcrypt ($2y$, $2b$, $2a$; `htpasswd -B`), argon2id ($argon2id$…, PHC string) and SHA-512-crypt ($6$…; `mkpasswd -m sha-512`)";

    /// A configured user.
    #[derive(Clone, Debug)]
    pub(super) struct UserEntry {
        pub(super) name: String,
        hash: PasswordHash,
        scopes: Vec<String>,
        /// Where it was defined, for duplicate messages.
        origin: String,
    }

    /// An htpasswd file and the users read from it.
    #[derive(Clone)]
    pub(super) struct HtpasswdFile {
        pub(super) path: PathBuf,
        /// Modification time and length before the file was read.
        stamp: Option<FileStamp>,
        users: Vec<UserEntry>,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct FileStamp {
        modified: Option<SystemTime>,
        len: u64,
    }

    fn stamp(path: &Path) -> Option<FileStamp> {
        std::fs::metadata(path).ok().map(|m| FileStamp {
            modified: m.modified().ok(),
            len: m.len(),
        })
    }

    // ---------------------------------------------------------------------
    // Hash formats
    // ---------------------------------------------------------------------

    /// A validated password hash.
    #[derive(Clone, PartialEq, Eq)]
    enum PasswordHash {
        Bcrypt {
            encoded: String,
            cost: u32,
        },
        Argon2id {
            encoded: String,
            m_cost: u32,
            t_cost: u32,
            p_cost: u32,
            output_len: usize,
            version: u32,
        },
        Sha512Crypt {
            encoded: String,
            rounds: u32,
        },
    }

    impl fmt::Debug for PasswordHash {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}([redacted])", self.algorithm())
        }
    }

    /// What a verification found.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Verdict {
        Match,
        Mismatch,
    }

    /// The fixed password of dummy hashes. Its secrecy does not matter: the result
    /// of a dummy verification is always thrown away.
    const DUMMY_PASSWORD: &[u8] = b"authgate dummy password for unknown user-ids";
    const DUMMY_SALT: [u8; 16] = *b"authgate-dummy-1";

    impl PasswordHash {
        /// Parses one stored hash; the error is a secret-free sentence (it never
        /// repeats the hash, which may be a plaintext password).
        fn parse(s: &str) -> Result<Self, String> {
            if s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$") {
                Self::parse_bcrypt(s)
            } else if s.starts_with("$argon2id$") {
                Self::parse_argon2id(s)
            } else if s.starts_with("$6$") {
                Self::parse_sha512(s)
            } else {
                Err(format!(
                    "unsupported password hash format: {}; {ACCEPTED}",
                    describe_unsupported(s)
                ))
            }
        }

        fn parse_bcrypt(s: &str) -> Result<Self, String> {
            let parts: bcrypt::HashParts = s.parse().map_err(|_| {
                "malformed bcrypt hash (expected 60 characters: $2y$, two cost digits, $, 53 characters of salt and hash)".to_owned()
            })?;
            let cost = parts.get_cost();
            if !(4..=31).contains(&cost) {
                return Err(format!(
                    "bcrypt cost {cost} is outside 4–31; regenerate the hash (e.g. `htpasswd -B -C 12`)"
                ));
            }
            Ok(PasswordHash::Bcrypt {
                encoded: s.to_owned(),
                cost,
            })
        }

        fn parse_argon2id(s: &str) -> Result<Self, String> {
            const SHAPE: &str =
                "expected $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>";
            let hash = argon2::PasswordHash::new(s)
                .map_err(|_| format!("malformed argon2id PHC string ({SHAPE})"))?;
            if hash.salt.is_none() || hash.hash.is_none() {
                return Err(format!(
                    "the argon2id PHC string has no salt or no hash ({SHAPE})"
                ));
            }
            let params = argon2::Params::try_from(&hash)
                .map_err(|_| format!("the argon2id parameters are invalid ({SHAPE})"))?;
            let version = hash.version.unwrap_or(0x13);
            argon2::Version::try_from(version).map_err(|_| {
                "the argon2id version is neither v=19 (0x13) nor v=16 (0x10)".to_owned()
            })?;
            Ok(PasswordHash::Argon2id {
                encoded: s.to_owned(),
                m_cost: params.m_cost(),
                t_cost: params.t_cost(),
                p_cost: params.p_cost(),
                output_len: params
                    .output_len()
                    .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN),
                version,
            })
        }

        fn parse_sha512(s: &str) -> Result<Self, String> {
            const SHAPE: &str = "expected $6$[rounds=<N>$]<salt>$<86 characters>";
            let fields: Vec<&str> = s["$6$".len()..].split('$').collect();
            let (rounds, salt, digest) = match fields.as_slice() {
                [r, salt, digest] if r.starts_with("rounds=") => {
                    let n = &r["rounds=".len()..];
                    let rounds = n
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| sha_crypt::Params::new(n).is_ok())
                        .ok_or_else(|| {
                            format!(
                                "SHA-512-crypt rounds must be a number from {} to {}",
                                sha_crypt::Params::ROUNDS_MIN,
                                sha_crypt::Params::ROUNDS_MAX
                            )
                        })?;
                    (rounds, *salt, *digest)
                }
                [salt, digest] => (sha_crypt::Params::RECOMMENDED_ROUNDS, *salt, *digest),
                _ => return Err(format!("malformed SHA-512-crypt hash ({SHAPE})")),
            };
            let crypt64 = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'/';
            if salt.is_empty()
                || salt.starts_with("rounds=")
                || !salt.bytes().all(|c| c.is_ascii_graphic())
                || digest.len() != 86
                || !digest.bytes().all(crypt64)
                || sha_crypt::PasswordHashRef::new(s).is_err()
            {
                return Err(format!("malformed SHA-512-crypt hash ({SHAPE})"));
            }
            Ok(PasswordHash::Sha512Crypt {
                encoded: s.to_owned(),
                rounds,
            })
        }

        /// `bcrypt`, `argon2id` or `SHA-512-crypt`.
        fn algorithm(&self) -> &'static str {
            match self {
                PasswordHash::Bcrypt { .. } => "bcrypt",
                PasswordHash::Argon2id { .. } => "argon2id",
                PasswordHash::Sha512Crypt { .. } => "SHA-512-crypt",
            }
        }

        /// The work parameters, as a person reads them: `cost 10`,
        /// `m=19456 KiB, t=2, p=1`, `rounds=5000`. No salt, no hash.
        fn parameters(&self) -> String {
            match *self {
                PasswordHash::Bcrypt { cost, .. } => format!("cost {cost}"),
                PasswordHash::Argon2id {
                    m_cost,
                    t_cost,
                    p_cost,
                    output_len,
                    version,
                    ..
                } => {
                    let mut s = format!("m={m_cost} KiB, t={t_cost}, p={p_cost}");
                    if output_len != argon2::Params::DEFAULT_OUTPUT_LEN {
                        s.push_str(&format!(", {output_len}-byte output"));
                    }
                    if version != 0x13 {
                        s.push_str(&format!(", v={version}"));
                    }
                    s
                }
                PasswordHash::Sha512Crypt { rounds, .. } => format!("rounds={rounds}"),
            }
        }

        /// Same algorithm and work parameters (so the same verification time).
        fn same_params(&self, other: &PasswordHash) -> bool {
            match (self, other) {
                (PasswordHash::Bcrypt { cost: a, .. }, PasswordHash::Bcrypt { cost: b, .. }) => {
                    a == b
                }
                (
                    PasswordHash::Argon2id {
                        m_cost,
                        t_cost,
                        p_cost,
                        output_len,
                        version,
                        ..
                    },
                    PasswordHash::Argon2id {
                        m_cost: m2,
                        t_cost: t2,
                        p_cost: p2,
                        output_len: o2,
                        version: v2,
                        ..
                    },
                ) => (m_cost, t_cost, p_cost, output_len, version) == (m2, t2, p2, o2, v2),
                (
                    PasswordHash::Sha512Crypt { rounds: a, .. },
                    PasswordHash::Sha512Crypt { rounds: b, .. },
                ) => a == b,
                _ => false,
            }
        }

        /// A hash of [`DUMMY_PASSWORD`] with the same algorithm and parameters.
        /// Costs one hash computation.
        fn dummy(&self) -> Result<PasswordHash, String> {
            let encoded = match *self {
                PasswordHash::Bcrypt { cost, .. } => {
                    bcrypt::hash_with_salt(DUMMY_PASSWORD, cost, DUMMY_SALT)
                        .map_err(|_| "bcrypt refused the dummy hash parameters".to_owned())?
                        .format_for_version(bcrypt::Version::TwoB)
                }
                PasswordHash::Argon2id {
                    m_cost,
                    t_cost,
                    p_cost,
                    output_len,
                    version,
                    ..
                } => {
                    let params = argon2::Params::new(m_cost, t_cost, p_cost, Some(output_len))
                        .map_err(|_| "argon2 refused the dummy hash parameters".to_owned())?;
                    let version = argon2::Version::try_from(version)
                        .map_err(|_| "argon2 refused the dummy hash version".to_owned())?;
                    argon2::Argon2::new(argon2::Algorithm::Argon2id, version, params)
                        .hash_password_with_salt(DUMMY_PASSWORD, &DUMMY_SALT)
                        .map_err(|_| "argon2 could not make the dummy hash".to_owned())?
                        .to_string()
                }
                PasswordHash::Sha512Crypt { rounds, .. } => {
                    let params = sha_crypt::Params::new(rounds)
                        .map_err(|_| "sha-crypt refused the dummy hash rounds".to_owned())?;
                    sha_crypt::ShaCrypt::new(sha_crypt::Algorithm::Sha512Crypt, params)
                        .hash_password_with_salt(DUMMY_PASSWORD, &DUMMY_SALT[..12])
                        .map_err(|_| "sha-crypt could not make the dummy hash".to_owned())?
                        .to_string()
                }
            };
            let dummy = PasswordHash::parse(&encoded)?;
            if dummy.same_params(self) {
                Ok(dummy)
            } else {
                Err("the dummy hash came out with other parameters".to_owned())
            }
        }

        /// Runs the hash function: slow by design. `Err` when the stored hash cannot
        /// be used (it was validated at start-up, so this is a bug).
        fn check(&self, password: &[u8]) -> Result<Verdict, ()> {
            let verdict = |ok: bool| {
                if ok {
                    Verdict::Match
                } else {
                    Verdict::Mismatch
                }
            };
            let phc = |r: password_hash::Result<()>| match r {
                Ok(()) => Ok(Verdict::Match),
                Err(password_hash::Error::PasswordInvalid) => Ok(Verdict::Mismatch),
                Err(_) => Err(()),
            };
            match self {
                // Truncates past 72 bytes; the caller refuses such passwords after
                // paying the same time.
                PasswordHash::Bcrypt { encoded, .. } => bcrypt::verify(password, encoded)
                    .map(verdict)
                    .map_err(|_| ()),
                PasswordHash::Argon2id { encoded, .. } => {
                    let hash = argon2::PasswordHash::new(encoded).map_err(|_| ())?;
                    phc(argon2::Argon2::default().verify_password(password, &hash))
                }
                PasswordHash::Sha512Crypt { encoded, .. } => {
                    phc(sha_crypt::ShaCrypt::default().verify_password(password, encoded.as_str()))
                }
            }
        }
    }

    /// Names a refused format by its prefix only; the rest of the text is never
    /// repeated (it may be a plaintext password).
    fn describe_unsupported(s: &str) -> &'static str {
        const PREFIXES: &[(&str, &str)] = &[
            ("$apr1$", "Apache MD5 ($apr1$, `htpasswd -m`)"),
            ("{SHA}", "unsalted SHA-1 ({SHA}, `htpasswd -s`)"),
            ("$1$", "MD5-crypt ($1$)"),
            ("$5$", "SHA-256-crypt ($5$)"),
            (
                "$2x$",
                "bcrypt $2x$ (the pre-2011 variant with the sign-extension bug)",
            ),
            ("$2$", "bcrypt $2$ (the original, pre-1999 variant)"),
            ("$argon2i$", "argon2i (only argon2id is accepted)"),
            ("$argon2d$", "argon2d (only argon2id is accepted)"),
            ("$y$", "yescrypt ($y$)"),
            ("$gy$", "GOST yescrypt ($gy$)"),
            ("$7$", "scrypt ($7$)"),
            ("$scrypt$", "scrypt"),
            ("$pbkdf2", "PBKDF2"),
            ("$md5", "SunMD5"),
            ("$sha1$", "SHA-1-crypt ($sha1$)"),
            ("$3$", "NT-Hash ($3$)"),
        ];
        if let Some((_, name)) = PREFIXES.iter().find(|(p, _)| s.starts_with(p)) {
            return name;
        }
        let crypt64 = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'/';
        if s.is_empty() {
            "an empty hash (a user without a password is never accepted)"
        } else if s.len() == 13 && s.bytes().all(crypt64) {
            "traditional DES crypt (`htpasswd -d`)"
        } else if s.len() == 20 && s.starts_with('_') {
            "BSDi extended DES crypt"
        } else if s.starts_with('$') {
            "an unknown $-prefixed format"
        } else {
            "plaintext or an unknown format (plaintext passwords are never accepted)"
        }
    }

    // ---------------------------------------------------------------------
    // Configuration
    // ---------------------------------------------------------------------

    fn check_user_id(name: &str) -> Result<(), &'static str> {
        if name.is_empty() {
            return Err("the user-id is empty");
        }
        if name.chars().any(char::is_control) {
            // The parser refuses control characters in a request's user-id
            // (RFC 7617 §2), so such a user could never sign in.
            return Err("the user-id contains a control character");
        }
        Ok(())
    }

    /// Parses htpasswd text. `origin` names it in messages (a quoted path, or
    /// `htpasswd text`).
    fn parse_htpasswd(text: &[u8], origin: &str) -> Result<Vec<UserEntry>, ConfigError> {
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        let mut users: Vec<UserEntry> = Vec::new();
        let mut lines_of: HashMap<String, usize> = HashMap::new();
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let n = i + 1;
            let at = |msg: &str| ConfigError::new(KEY_FILE, format!("{origin} line {n}: {msg}"));
            let Ok(line) = std::str::from_utf8(line) else {
                return Err(at("is not valid UTF-8 (htpasswd files are read as UTF-8)"));
            };
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((name, hash)) = line.split_once(':') else {
                return Err(at(
                    "has no ':' between the user-id and the password hash (expected user:hash)",
                ));
            };
            check_user_id(name).map_err(at)?;
            let shown = sanitize_for_message(name);
            // Hashes never contain whitespace: trailing blanks are editor noise.
            let hash = PasswordHash::parse(hash.trim_end_matches([' ', '\t']))
                .map_err(|m| at(&format!("user \"{shown}\": {m}")))?;
            if let Some(first) = lines_of.get(name) {
                return Err(at(&format!(
                    "user \"{shown}\" is already defined on line {first}; each user-id may appear once"
                )));
            }
            lines_of.insert(name.to_owned(), n);
            users.push(UserEntry {
                name: name.to_owned(),
                hash,
                scopes: Vec::new(),
                origin: format!("{origin} line {n}"),
            });
        }
        Ok(users)
    }

    /// Every user of `cfg`, inline users first.
    pub(super) fn all_users(cfg: &BasicConfig) -> impl Iterator<Item = &UserEntry> {
        cfg.inline
            .iter()
            .chain(cfg.files.iter().flat_map(|f| f.users.iter()))
    }

    /// The kinds of hash among `cfg`'s users, each with its users, in order of first
    /// appearance.
    pub(super) fn hash_kinds(cfg: &BasicConfig) -> Vec<crate::summary::HashKindSummary> {
        let mut kinds: Vec<(&PasswordHash, Vec<String>)> = Vec::new();
        for user in all_users(cfg) {
            match kinds.iter_mut().find(|(h, _)| h.same_params(&user.hash)) {
                Some((_, users)) => users.push(user.name.clone()),
                None => kinds.push((&user.hash, vec![user.name.clone()])),
            }
        }
        kinds
            .into_iter()
            .map(|(h, users)| crate::summary::HashKindSummary {
                algorithm: h.algorithm(),
                parameters: h.parameters(),
                users,
            })
            .collect()
    }

    /// Refuses a user-id already defined elsewhere.
    fn check_no_duplicates<'a>(
        existing: impl Iterator<Item = &'a UserEntry>,
        new: &[UserEntry],
        key: &str,
    ) -> Result<(), ConfigError> {
        let known: HashMap<&str, &str> = existing
            .map(|u| (u.name.as_str(), u.origin.as_str()))
            .collect();
        for user in new {
            if let Some(first) = known.get(user.name.as_str()) {
                return Err(ConfigError::new(
                    key,
                    format!(
                        "{}: user \"{}\" is already defined ({first}); each user-id may be defined once",
                        user.origin,
                        sanitize_for_message(&user.name)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn read_htpasswd_file(path: &Path) -> Result<(Option<FileStamp>, Vec<UserEntry>), ConfigError> {
        let origin = format!("\"{}\"", sanitize_for_message(&path.display().to_string()));
        // Stamp first: a change while reading is then seen by the next check.
        let stamp = stamp(path);
        let bytes = std::fs::read(path).map_err(|e| {
            ConfigError::new(
                KEY_FILE,
                format!(
                    "cannot read {origin}: {e}; check the path (relative paths start at the working directory) and the file's permissions"
                ),
            )
            .with_kind(crate::config::ConfigErrorKind::Io)
        })?;
        Ok((stamp, parse_htpasswd(&bytes, &origin)?))
    }

    pub(super) fn add_file(mut cfg: BasicConfig, path: &Path) -> Result<BasicConfig, ConfigError> {
        let (stamp, users) = read_htpasswd_file(path)?;
        check_no_duplicates(all_users(&cfg), &users, KEY_FILE)?;
        cfg.files.push(HtpasswdFile {
            path: path.to_owned(),
            stamp,
            users,
        });
        Ok(cfg)
    }

    pub(super) fn add_text(mut cfg: BasicConfig, text: &str) -> Result<BasicConfig, ConfigError> {
        let users = parse_htpasswd(text.as_bytes(), "htpasswd text")?;
        check_no_duplicates(all_users(&cfg), &users, KEY_FILE)?;
        cfg.inline.extend(users);
        Ok(cfg)
    }

    pub(super) fn add_user(
        mut cfg: BasicConfig,
        name: &str,
        password_hash: &str,
        scopes: Vec<String>,
    ) -> Result<BasicConfig, ConfigError> {
        let key = format!("{KEY_USERS} (name \"{}\")", sanitize_for_message(name));
        check_user_id(name).map_err(|m| ConfigError::new(&key, m))?;
        let hash = PasswordHash::parse(password_hash).map_err(|m| ConfigError::new(&key, m))?;
        let user = UserEntry {
            name: name.to_owned(),
            hash,
            scopes,
            origin: format!("{KEY_USERS} entry \"{}\"", sanitize_for_message(name)),
        };
        check_no_duplicates(all_users(&cfg), std::slice::from_ref(&user), &key)?;
        cfg.inline.push(user);
        Ok(cfg)
    }

    // ---------------------------------------------------------------------
    // The verifier
    // ---------------------------------------------------------------------

    /// The users in force, and one dummy hash per kind of hash among them.
    ///
    /// # Why every failure runs one check of every kind
    ///
    /// A failed check must take as long for a known user-id as for an unknown one,
    /// whatever mix of algorithms and work factors the store holds; otherwise the
    /// answer time tells which user-ids exist. A *kind* is an algorithm with its
    /// work parameters (bcrypt cost, argon2id `m`/`t`/`p`/length/version,
    /// SHA-512-crypt rounds). The store keeps one dummy hash per kind present, and
    /// every failure runs exactly one verification of each kind:
    ///
    /// - a wrong password: the user's own hash (its kind), then the dummy of each
    ///   other kind;
    /// - an unknown user-id: the dummy of each kind.
    ///
    /// Both run the same multiset of hash computations, so they cost the same by
    /// construction: no estimate of which algorithm is dearer, no timing measured at
    /// start-up (that drifts with load), no sleeping. A store with one kind (the
    /// usual case, and what `authgate check-config` recommends) pays one hash per
    /// failure, as before; a mixed store pays the sum of its kinds, at least the
    /// dearest. Successes run only the user's own hash: a caller who knows the
    /// password learns nothing from the time. The alternatives were weaker: a dummy
    /// of only the dearest kind after a cheap user's real check leaves the two up to
    /// 2x apart, and a floor measured at start-up stops holding when the machine is
    /// busier than it was then.
    struct Store {
        users: HashMap<String, UserEntry>,
        /// One per distinct kind of hash among `users` (ordered by the first
        /// user-id of each kind); empty only when there are no users (then nothing
        /// can be told apart).
        dummies: Vec<PasswordHash>,
    }

    impl Store {
        /// Builds the store; a dummy of `previous` is reused when it has the
        /// parameters of a kind still present (making a dummy costs one hash).
        fn build(users: impl IntoIterator<Item = UserEntry>, previous: &[PasswordHash]) -> Store {
            let users: HashMap<String, UserEntry> =
                users.into_iter().map(|u| (u.name.clone(), u)).collect();
            let mut dummies: Vec<PasswordHash> = Vec::new();
            // Sorted by name so that the order of the dummies does not depend on
            // the map's iteration order (the work is the same either way).
            let mut entries: Vec<&UserEntry> = users.values().collect();
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            for entry in entries {
                if dummies.iter().any(|d| d.same_params(&entry.hash)) {
                    continue;
                }
                let dummy = match previous.iter().find(|p| p.same_params(&entry.hash)) {
                    Some(p) => p.clone(),
                    // Making a dummy only fails on a bug in a hashing crate; another
                    // user's hash of the same kind costs the same to verify (the
                    // result of a dummy check is always thrown away).
                    None => entry.hash.dummy().unwrap_or_else(|_| entry.hash.clone()),
                };
                dummies.push(dummy);
            }
            Store { users, dummies }
        }
    }

    /// Verifies Basic credentials against a [`BasicConfig`].
    pub(crate) struct BasicVerifier {
        store: RwLock<Arc<Store>>,
        /// Users from code and htpasswd text: never reloaded.
        inline: Vec<UserEntry>,
        /// Watched htpasswd files.
        files: Vec<PathBuf>,
        /// The stamp of each file when it was last (re)loaded or found invalid.
        seen: Mutex<Vec<Option<FileStamp>>>,
        /// A file changed; the next verification reloads.
        stale: AtomicBool,
        epoch: Instant,
        /// Milliseconds since `epoch` before which files are not checked again.
        next_check_ms: AtomicU64,
        check_interval: Duration,
        reload_lock: Mutex<()>,
        cache: Option<Cache>,
        permits: Arc<Semaphore>,
        max_concurrent: usize,
        /// Requests waiting for a permit, at most `max_pending`.
        pending: AtomicUsize,
        max_pending: usize,
        /// Hash computations run for requests (dummy ones included).
        hash_verifications: AtomicU64,
    }

    impl fmt::Debug for BasicVerifier {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let users = self.current().users.len();
            f.debug_struct("BasicVerifier")
                .field("users", &users)
                .field("htpasswd_files", &self.files)
                .field("password_hashes", &"[redacted]")
                .field("max_concurrent", &self.max_concurrent)
                .field("max_pending", &self.max_pending)
                .field("cache", &self.cache)
                .finish_non_exhaustive()
        }
    }

    impl BasicVerifier {
        pub(crate) fn new(cfg: BasicConfig) -> Self {
            let max_concurrent = cfg.effective_max_concurrent();
            let store = Store::build(all_users(&cfg).cloned(), &[]);
            let cache = Cache::new(cfg.cache_entries, cfg.cache_ttl);
            BasicVerifier {
                store: RwLock::new(Arc::new(store)),
                inline: cfg.inline,
                seen: Mutex::new(cfg.files.iter().map(|f| f.stamp).collect()),
                files: cfg.files.into_iter().map(|f| f.path).collect(),
                stale: AtomicBool::new(false),
                epoch: Instant::now(),
                next_check_ms: AtomicU64::new(0),
                check_interval: cfg.check_interval,
                reload_lock: Mutex::new(()),
                cache,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                max_concurrent,
                pending: AtomicUsize::new(0),
                max_pending: cfg.max_pending,
                hash_verifications: AtomicU64::new(0),
            }
        }

        fn current(&self) -> Arc<Store> {
            Arc::clone(&self.store.read().unwrap_or_else(PoisonError::into_inner))
        }

        /// The answer from the verified-credentials cache, if it has one, or a
        /// refusal that needs no hashing. Cheap: no password hashing.
        pub(crate) fn check_cached(
            &self,
            user: &str,
            password: &str,
        ) -> Option<Result<Principal, Failure>> {
            self.check_files();
            let store = self.current();
            if let Some(refusal) = refuse_unhashed(&store, user, password) {
                return Some(Err(refusal));
            }
            if self.stale.load(Ordering::Acquire) {
                return None;
            }
            let principal = self.cache.as_ref()?.get(user, password)?;
            crate::event::authenticated("basic", Some(user), None, None);
            Some(Ok(principal))
        }

        /// Full verification: password hashing is slow by design, so it runs off the
        /// async executor with a bound on concurrent verifications.
        pub(crate) async fn verify(
            self: Arc<Self>,
            creds: BasicCredentials,
        ) -> Result<Principal, Failure> {
            self.check_files();
            let permit = self.permit().await?;
            // Events of the blocking work reach the request's subscriber and span.
            let dispatch = tracing::dispatcher::get_default(Clone::clone);
            let span = tracing::Span::current();
            let this = Arc::clone(&self);
            let work = move || {
                let _permit = permit;
                tracing::dispatcher::with_default(&dispatch, || {
                    span.in_scope(|| this.verify_blocking(&creds))
                })
            };
            let result = match run_blocking(work).await {
                Some(result) => result.map_err(|f| *f),
                None => Err(internal_error(
                    "the password verification task failed (panicked or was cancelled)",
                )),
            };
            if let Ok(principal) = &result {
                crate::event::authenticated("basic", principal.subject(), None, None);
            }
            result
        }

        /// A slot on the hashing threads: at once if one is free, else after a wait
        /// in a queue of at most `max_pending`; beyond that `verifier_busy` at once.
        async fn permit(&self) -> Result<OwnedSemaphorePermit, Failure> {
            let closed = || internal_error("the Basic verification limiter was closed");
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => return Ok(permit),
                Err(TryAcquireError::Closed) => return Err(closed()),
                Err(TryAcquireError::NoPermits) => {}
            }
            // Counted in before waiting, counted out when the wait ends, the
            // request is cancelled (client gone), or it fails.
            let Some(_waiting) = Waiting::enter(&self.pending, self.max_pending) else {
                return Err(verifier_busy(self.max_pending));
            };
            // Never closed, so this only waits.
            Arc::clone(&self.permits)
                .acquire_owned()
                .await
                .map_err(|_| closed())
        }

        /// The slow part, on a blocking thread. The failure is boxed: it is large.
        fn verify_blocking(&self, creds: &BasicCredentials) -> Result<Principal, Box<Failure>> {
            if self.stale.load(Ordering::Acquire) {
                self.reload();
            }
            let store = self.current();
            if let Some(refusal) = refuse_unhashed(&store, &creds.user, &creds.password) {
                return Err(Box::new(refusal));
            }
            let generation = self.cache.as_ref().map(Cache::generation);
            let password = creds.password.as_bytes();
            let Some(entry) = store.users.get(&creds.user) else {
                // One check of every kind, as a wrong password costs (see `Store`).
                self.run_dummies(&store, None, password);
                return Err(Box::new(unknown_user(
                    "no user with this user-id is configured",
                )));
            };
            let verdict = self.run_hash(&entry.hash, password);
            if verdict != Ok(Verdict::Match) || refused_by_bcrypt(entry, password) {
                // The other kinds, so that this failure costs what an unknown
                // user-id costs (see `Store`).
                self.run_dummies(&store, Some(&entry.hash), password);
            }
            let algorithm = entry.hash.algorithm();
            let result = match verdict {
                Err(()) => Err(internal_error(
                    "the stored password hash of this user could not be used",
                )),
                Ok(_) if refused_by_bcrypt(entry, password) => {
                    Err(wrong_password(
                        &entry.name,
                        format!(
                            "the password is {} bytes; bcrypt uses only the first {BCRYPT_MAX_PASSWORD_BYTES}, so longer passwords are refused for bcrypt users (CVE-2025-22228)",
                            password.len()
                        ),
                    )
                    .hint("use a password of at most 72 bytes, or store this user's hash as argon2id"))
                }
                Ok(Verdict::Mismatch) => Err(wrong_password(
                    &entry.name,
                    format!("the password does not match the stored {algorithm} hash of this user"),
                )),
                Ok(Verdict::Match) => {
                    let principal = Principal::new(
                        Some(entry.name.clone()),
                        Scheme::Basic,
                        entry.scopes.clone(),
                    );
                    if let (Some(cache), Some(generation)) = (&self.cache, generation) {
                        cache.insert(&creds.user, &creds.password, &principal, generation);
                    }
                    Ok(principal)
                }
            };
            result.map_err(Box::new)
        }

        fn run_hash(&self, hash: &PasswordHash, password: &[u8]) -> Result<Verdict, ()> {
            self.hash_verifications.fetch_add(1, Ordering::Relaxed);
            hash.check(password)
        }

        /// Runs the dummy of every kind in `store` except the kind of `checked`
        /// (already paid by the real check); results are thrown away.
        fn run_dummies(&self, store: &Store, checked: Option<&PasswordHash>, password: &[u8]) {
            for dummy in &store.dummies {
                if checked.is_some_and(|c| c.same_params(dummy)) {
                    continue;
                }
                let _ = self.run_hash(dummy, password);
            }
        }

        /// How many hash computations requests have caused so far.
        pub(crate) fn hash_count(&self) -> u64 {
            self.hash_verifications()
        }

        /// How many hash computations requests have caused so far.
        pub(crate) fn hash_verifications(&self) -> u64 {
            self.hash_verifications.load(Ordering::Relaxed)
        }

        /// At most once per `check_interval`: compares each htpasswd file's stamp
        /// with the one it was loaded with; on a change, empties the cache and marks
        /// the users for reloading. One `stat` per file; no reading.
        fn check_files(&self) {
            if self.files.is_empty() || self.stale.load(Ordering::Acquire) {
                return;
            }
            let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            let next = self.next_check_ms.load(Ordering::Acquire);
            if now < next {
                return;
            }
            let interval = u64::try_from(self.check_interval.as_millis()).unwrap_or(u64::MAX);
            if self
                .next_check_ms
                .compare_exchange(
                    next,
                    now.saturating_add(interval),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
            {
                return; // another request is checking
            }
            let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            let changed = self
                .files
                .iter()
                .zip(seen.iter())
                .any(|(path, seen)| stamp(path) != *seen);
            drop(seen);
            if changed {
                self.stale.store(true, Ordering::Release);
                if let Some(cache) = &self.cache {
                    cache.clear();
                }
            }
        }

        /// Re-reads every htpasswd file. Keeps the previous users when a file is
        /// unreadable or invalid (WARN). Blocking: file I/O and maybe a dummy hash.
        fn reload(&self) {
            let _guard = self
                .reload_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !self.stale.load(Ordering::Acquire) {
                return; // another request reloaded meanwhile
            }
            let mut stamps = Vec::with_capacity(self.files.len());
            let mut users: Vec<UserEntry> = self.inline.clone();
            let mut result = Ok(());
            for path in &self.files {
                let loaded = read_htpasswd_file(path).and_then(|(st, new)| {
                    check_no_duplicates(users.iter(), &new, KEY_FILE)?;
                    Ok((st, new))
                });
                match loaded {
                    Ok((st, new)) => {
                        stamps.push(st);
                        users.extend(new);
                    }
                    Err(e) => {
                        stamps.push(stamp(path));
                        if result.is_ok() {
                            result = Err(e);
                        }
                    }
                }
            }
            match result {
                Ok(()) => {
                    let count = users.len();
                    let previous = self.current();
                    let store = Store::build(users, &previous.dummies);
                    *self.store.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(store);
                    tracing::info!(
                        target: "authgate",
                        users = count,
                        "htpasswd file changed: Basic users reloaded"
                    );
                }
                Err(e) => tracing::warn!(
                    target: "authgate",
                    error = %e,
                    "htpasswd file changed but is invalid: keeping the previous Basic users"
                ),
            }
            *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = stamps;
            if let Some(cache) = &self.cache {
                cache.clear();
            }
            self.stale.store(false, Ordering::Release);
        }
    }

    /// A password bcrypt would truncate: refused for bcrypt users (CVE-2025-22228)
    /// after the hash ran, so the answer takes the usual time.
    fn refused_by_bcrypt(entry: &UserEntry, password: &[u8]) -> bool {
        matches!(entry.hash, PasswordHash::Bcrypt { .. })
            && password.len() > BCRYPT_MAX_PASSWORD_BYTES
    }

    /// One place in the queue for a hashing thread; dropping it leaves the queue.
    struct Waiting<'a>(&'a AtomicUsize);

    impl<'a> Waiting<'a> {
        /// A place if fewer than `max` are waiting.
        fn enter(pending: &'a AtomicUsize, max: usize) -> Option<Waiting<'a>> {
            pending
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max).then_some(n + 1)
                })
                .ok()
                .map(|_| Waiting(pending))
        }
    }

    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Refusals that need no hashing, the same for known and unknown users' timing:
    /// an empty user-id (never configured), a password over the length cap.
    fn refuse_unhashed(store: &Store, user: &str, password: &str) -> Option<Failure> {
        if user.is_empty() {
            return Some(unknown_user("the user-id is empty"));
        }
        if password.len() <= BasicConfig::MAX_PASSWORD_BYTES {
            return None;
        }
        Some(match store.users.get(user) {
            None => unknown_user("no user with this user-id is configured"),
            Some(entry) => wrong_password(
                &entry.name,
                format!(
                    "the password is {} bytes, over the limit of {} bytes; it was not verified",
                    password.len(),
                    BasicConfig::MAX_PASSWORD_BYTES
                ),
            ),
        })
    }

    /// Runs `work` where it cannot stall the async executor: tokio's blocking pool,
    /// or a thread of its own outside a tokio runtime. `None` if it panicked.
    async fn run_blocking<T: Send + 'static>(
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.spawn_blocking(work).await.ok(),
            Err(_) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                std::thread::Builder::new()
                    .name("authgate-basic".to_owned())
                    .spawn(move || {
                        let _ = tx.send(work());
                    })
                    .ok()?;
                rx.await.ok()
            }
        }
    }

    // ---------------------------------------------------------------------
    // Verified-credentials cache
    // ---------------------------------------------------------------------

    type Tag = [u8; 32];

    /// Successful verifications, keyed by HMAC-SHA-256(per-process random key,
    /// user-id, password): neither is stored.
    struct Cache {
        key: [u8; 32],
        max_entries: usize,
        ttl: Duration,
        inner: Mutex<CacheInner>,
    }

    struct CacheInner {
        /// By the first 8 bytes of the tag; the whole tag is compared on lookup.
        map: HashMap<u64, CacheEntry>,
        /// Bumped by every `clear`, so a verification that started before a
        /// reload cannot cache an answer from the old users.
        generation: u64,
    }

    struct CacheEntry {
        tag: Tag,
        principal: Principal,
        expires: Instant,
    }

    impl fmt::Debug for Cache {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Cache")
                .field("key", &"[redacted]")
                .field("max_entries", &self.max_entries)
                .field("ttl", &self.ttl)
                .field("entries", &self.len())
                .finish()
        }
    }

    impl Cache {
        /// `None` when turned off, or when no random key can be had.
        fn new(max_entries: usize, ttl: Duration) -> Option<Cache> {
            if max_entries == 0 || ttl.is_zero() {
                return None;
            }
            let mut key = [0u8; 32];
            if getrandom::fill(&mut key).is_err() {
                tracing::warn!(
                    target: "authgate",
                    "no randomness for the Basic credentials cache key; the cache is off"
                );
                return None;
            }
            Some(Cache {
                key,
                max_entries,
                ttl,
                inner: Mutex::new(CacheInner {
                    map: HashMap::new(),
                    generation: 0,
                }),
            })
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
            self.inner.lock().unwrap_or_else(PoisonError::into_inner)
        }

        fn tag(&self, user: &str, password: &str) -> Tag {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
                unreachable!("HMAC takes keys of any length")
            };
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            mac.update(&(user.len() as u64).to_be_bytes());
            mac.update(user.as_bytes());
            mac.update(password.as_bytes());
            mac.finalize().into_bytes().into()
        }

        fn slot(tag: &Tag) -> u64 {
            let mut first = [0u8; 8];
            first.copy_from_slice(&tag[..8]);
            u64::from_be_bytes(first)
        }

        fn get(&self, user: &str, password: &str) -> Option<Principal> {
            let tag = self.tag(user, password);
            let slot = Self::slot(&tag);
            let mut inner = self.lock();
            let entry = inner.map.get(&slot)?;
            if !bool::from(entry.tag.ct_eq(&tag)) {
                return None;
            }
            if entry.expires <= Instant::now() {
                inner.map.remove(&slot);
                return None;
            }
            Some(entry.principal.clone())
        }

        fn generation(&self) -> u64 {
            self.lock().generation
        }

        fn insert(&self, user: &str, password: &str, principal: &Principal, generation: u64) {
            let tag = self.tag(user, password);
            let slot = Self::slot(&tag);
            let now = Instant::now();
            let mut inner = self.lock();
            if inner.generation != generation {
                return;
            }
            if inner.map.len() >= self.max_entries && !inner.map.contains_key(&slot) {
                inner.map.retain(|_, e| e.expires > now);
                if inner.map.len() >= self.max_entries {
                    // All alive: drop the one that would expire first (the oldest).
                    let oldest = inner
                        .map
                        .iter()
                        .min_by_key(|(_, e)| e.expires)
                        .map(|(k, _)| *k);
                    if let Some(oldest) = oldest {
                        inner.map.remove(&oldest);
                    }
                }
            }
            inner.map.insert(
                slot,
                CacheEntry {
                    tag,
                    principal: principal.clone(),
                    expires: now + self.ttl,
                },
            );
        }

        fn clear(&self) {
            let mut inner = self.lock();
            inner.map.clear();
            inner.generation += 1;
        }

        fn len(&self) -> usize {
            self.lock().map.len()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        // Cheap hashes made with the crates: these tests are about the verifier's
        // logic. tests/basic.rs checks hashes made by htpasswd, mkpasswd, argon2.
        fn bcrypt_hash(password: &str, cost: u32) -> String {
            bcrypt::hash_with_salt(password, cost, *b"0123456789abcdef")
                .unwrap()
                .format_for_version(bcrypt::Version::TwoY)
        }

        fn argon2_hash(password: &str, m: u32, t: u32) -> String {
            let params = argon2::Params::new(m, t, 1, None).unwrap();
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_with_salt(password.as_bytes(), b"saltsaltsalt")
                .unwrap()
                .to_string()
        }

        fn sha512_hash(password: &str, rounds: u32) -> String {
            sha_crypt::ShaCrypt::new(
                sha_crypt::Algorithm::Sha512Crypt,
                sha_crypt::Params::new(rounds).unwrap(),
            )
            .hash_password_with_salt(password.as_bytes(), b"saltsaltsalt")
            .unwrap()
            .to_string()
        }

        fn creds(user: &str, password: &str) -> BasicCredentials {
            BasicCredentials {
                user: user.to_owned(),
                password: zeroize::Zeroizing::new(password.to_owned()),
            }
        }

        fn verifier(cfg: BasicConfig) -> Arc<BasicVerifier> {
            Arc::new(BasicVerifier::new(cfg))
        }

        async fn verify(
            v: &Arc<BasicVerifier>,
            user: &str,
            password: &str,
        ) -> Result<Principal, Failure> {
            match v.check_cached(user, password) {
                Some(r) => r,
                None => Arc::clone(v).verify(creds(user, password)).await,
            }
        }

        fn temp_path(name: &str) -> PathBuf {
            static N: AtomicU64 = AtomicU64::new(0);
            std::env::temp_dir().join(format!(
                "authgate-basic-unit-{}-{}-{name}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ))
        }

        /// Writes `text` and gives the file a modification time that differs from
        /// any earlier write (coarse file-system clocks).
        fn write_with_mtime(path: &Path, text: &str, secs_ahead: u64) {
            std::fs::write(path, text).unwrap();
            let f = std::fs::File::options().write(true).open(path).unwrap();
            f.set_modified(SystemTime::now() + Duration::from_secs(secs_ahead))
                .unwrap();
        }

        #[test]
        fn accepts_the_three_formats_and_their_variants() {
            let bc = bcrypt_hash("pw", 4);
            for hash in [
                bc.clone(),
                bc.replacen("$2y$", "$2b$", 1),
                bc.replacen("$2y$", "$2a$", 1),
                argon2_hash("pw", 8, 1),
                sha512_hash("pw", 1000),
                // mkpasswd -m sha512crypt (no rounds=)
                "$6$3UcvDG.6GbqxRwkw$xfpZfv5UuyrQvrqxwBprwHz/1EdMweyRoX6aJ7Lz1MIzHXcOoC/g6CMcQVec/aYKvYuxvigJlhUyz..Dmen.d1".to_owned(),
            ] {
                PasswordHash::parse(&hash).unwrap_or_else(|e| panic!("{hash}: {e}"));
            }
        }

        #[test]
        fn refuses_other_formats_by_name_without_echoing_them() {
            for (hash, says) in [
                ("$apr1$CQxaRl1h$q2gx6E22Cbhh//OwLJy80/", "$apr1$"),
                ("{SHA}NtOU43Co1JrOvDv98Av/fsQjVIY=", "{SHA}"),
                ("K.zpoNG4vc0vA", "DES crypt"),
                ("hunter2-plaintext", "plaintext"),
                ("$1$PzBc.p9e$T3Jo4zzBsP8.pE6iXVuYI/", "MD5-crypt"),
                (
                    "$5$sH5F6D1.CvtEsrQ3$1/IUBmY6jJPig1HDomcj9ncW.gUNlVdk.6v.s7ngz4B",
                    "SHA-256-crypt",
                ),
                (
                    "$y$j9T$3k2IN2oWbvzUfp5KV0RqZ0$ZwpzP/pUNMBKEi2ysqgt9OTU2Ms/CAf2C3jg/Ph8jo2",
                    "yescrypt",
                ),
                (
                    "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQxMjM0$aeM1aQZGBbjCuyx8TZwBuHGn4eH0QZ0HSGk2HGM426M",
                    "argon2i",
                ),
                (
                    "$2x$04$CXyvaa0X0uzZNvL71Q0fIOt1akEA5yMlUajwWs0pbPmECZbho7vMS",
                    "$2x$",
                ),
                ("", "empty"),
            ] {
                let err = PasswordHash::parse(hash).unwrap_err();
                assert!(err.contains(says), "{hash}: {err}");
                assert!(err.contains("accepted formats are bcrypt"), "{err}");
                if hash.len() > 6 {
                    assert!(!err.contains(&hash[6..]), "echoes the hash: {err}");
                }
            }
        }

        #[test]
        fn refuses_malformed_hashes_of_accepted_formats() {
            let bc = bcrypt_hash("pw", 4);
            let sha = sha512_hash("pw", 1000);
            for (hash, says) in [
                (bc[..50].to_owned(), "malformed bcrypt"),
                (bc.replacen("$04$", "$03$", 1), "cost 3 is outside"),
                ("$argon2id$v=19$m=8,t=1,p=1$c2FsdA".to_owned(), "argon2id"),
                ("$argon2id$garbage".to_owned(), "malformed argon2id"),
                (
                    sha.replacen("rounds=1000", "rounds=999", 1),
                    "rounds must be",
                ),
                (sha.replacen("rounds=1000", "rounds=x", 1), "rounds must be"),
                (sha[..sha.len() - 1].to_owned(), "malformed SHA-512-crypt"),
                ("$6$salt".to_owned(), "malformed SHA-512-crypt"),
            ] {
                let err = PasswordHash::parse(&hash).unwrap_err();
                assert!(err.contains(says), "{hash}: {err}");
            }
        }

        #[test]
        fn htpasswd_lines_comments_crlf_bom_and_line_numbers() {
            let text = format!(
                "\u{feff}# comment\n\n   \n  # indented comment\r\nalice:{}\r\nbob:{}  \n",
                bcrypt_hash("a", 4),
                sha512_hash("b", 1000)
            );
            let users = parse_htpasswd(text.as_bytes(), "htpasswd text").unwrap();
            let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
            assert_eq!(names, ["alice", "bob"]);

            let text = format!(
                "# users\nalice:{}\nlegacy:$apr1$CQxaRl1h$q2gx6E22Cbhh//OwLJy80/\n",
                bcrypt_hash("a", 4)
            );
            let err = parse_htpasswd(text.as_bytes(), "\"users.htpasswd\"").unwrap_err();
            assert_eq!(err.key(), "basic.htpasswd_file");
            assert!(
                err.message()
                    .starts_with("\"users.htpasswd\" line 3: user \"legacy\""),
                "{err}"
            );
            assert!(err.message().contains("Apache MD5"), "{err}");
            assert!(err.message().contains("argon2id"), "{err}");
        }

        #[test]
        fn htpasswd_errors_never_repeat_a_secret() {
            for (text, says) in [
                (
                    "alice:my-plaintext-secret\n",
                    "line 1: user \"alice\": unsupported",
                ),
                ("\n\nmy-secret-without-colon\n", "line 3: has no ':'"),
                (
                    ":$2y$04$CXyvaa0X0uzZNvL71Q0fIOt1akEA5yMlUajwWs0pbPmECZbho7vMS\n",
                    "line 1: the user-id is empty",
                ),
            ] {
                let err = parse_htpasswd(text.as_bytes(), "htpasswd text").unwrap_err();
                assert!(err.message().contains(says), "{err}");
                assert!(!err.to_string().contains("secret"), "{err}");
            }
            let err = parse_htpasswd(b"al\xffice:x\n", "htpasswd text").unwrap_err();
            assert!(
                err.message().contains("line 1: is not valid UTF-8"),
                "{err}"
            );
        }

        #[test]
        fn duplicate_users_are_refused() {
            let h = bcrypt_hash("a", 4);
            let err = BasicConfig::new()
                .htpasswd_str(&format!("alice:{h}\nbob:{h}\nalice:{h}\n"))
                .unwrap_err();
            assert!(
                err.message()
                    .contains("line 3: user \"alice\" is already defined on line 1"),
                "{err}"
            );
            let err = BasicConfig::new()
                .user("alice", &h, ["admin"])
                .unwrap()
                .htpasswd_str(&format!("alice:{h}\n"))
                .unwrap_err();
            assert_eq!(err.key(), "basic.htpasswd_file");
            assert!(
                err.message()
                    .contains("already defined (basic.users entry \"alice\")"),
                "{err}"
            );
            let err = BasicConfig::new()
                .htpasswd_str(&format!("alice:{h}\n"))
                .unwrap()
                .user("alice", &h, ["admin"])
                .unwrap_err();
            assert_eq!(err.key(), "basic.users (name \"alice\")");
        }

        #[test]
        fn user_entries_name_the_key() {
            let err = BasicConfig::new()
                .user(
                    "carol",
                    "$apr1$CQxaRl1h$q2gx6E22Cbhh//OwLJy80/",
                    Vec::<String>::new(),
                )
                .unwrap_err();
            assert_eq!(err.key(), "basic.users (name \"carol\")");
            assert!(err.message().contains("Apache MD5"));
            let err = BasicConfig::new()
                .user("", &bcrypt_hash("a", 4), Vec::<String>::new())
                .unwrap_err();
            assert!(err.message().contains("empty"));
            let err = BasicConfig::new()
                .user("a\nb", &bcrypt_hash("a", 4), Vec::<String>::new())
                .unwrap_err();
            assert!(err.message().contains("control character"));
            assert!(err.key().contains("a\\nb"), "{}", err.key());
        }

        #[test]
        fn unreadable_file_names_the_path() {
            let path = temp_path("missing.htpasswd");
            let err = BasicConfig::new().htpasswd_file(&path).unwrap_err();
            assert_eq!(err.key(), "basic.htpasswd_file");
            assert!(err.message().contains(&path.display().to_string()), "{err}");
            assert!(err.message().contains("cannot read"), "{err}");
        }

        #[test]
        fn max_concurrent_zero_is_refused() {
            let err = BasicConfig::new().max_concurrent(0).unwrap_err();
            assert_eq!(err.key(), "basic.max_concurrent");
            assert!(BasicConfig::new().max_concurrent(3).is_ok());
        }

        #[test]
        fn debug_redacts_hashes() {
            let h = bcrypt_hash("pw", 4);
            let cfg = BasicConfig::new().user("alice", &h, ["admin"]).unwrap();
            let s = format!("{cfg:?}");
            assert!(s.contains("alice") && s.contains("[redacted]"), "{s}");
            assert!(!s.contains(&h[7..]), "{s}");
            let v = BasicVerifier::new(cfg);
            let s = format!("{v:?}");
            assert!(s.contains("[redacted]") && !s.contains(&h[7..]), "{s}");
        }

        #[tokio::test]
        async fn each_format_verifies_and_refuses_wrong_passwords() {
            let v = verifier(
                BasicConfig::new()
                    .user("a", &bcrypt_hash("pw-a", 4), ["admin"])
                    .unwrap()
                    .user("b", &argon2_hash("pw-b", 8, 1), Vec::<String>::new())
                    .unwrap()
                    .user("c", &sha512_hash("pw-c", 1000), Vec::<String>::new())
                    .unwrap(),
            );
            for (user, good) in [("a", "pw-a"), ("b", "pw-b"), ("c", "pw-c")] {
                let p = verify(&v, user, good).await.unwrap();
                assert_eq!(p.subject(), Some(user));
                assert_eq!(p.scheme(), Scheme::Basic);
                let f = verify(&v, user, "wrong").await.unwrap_err();
                assert_eq!(f.reason, Reason::WrongPassword);
                assert_eq!(f.user.as_deref(), Some(user));
                // Exact comparison: no trimming or case folding.
                for almost in [format!("{good} "), format!(" {good}"), good.to_uppercase()] {
                    let f = verify(&v, user, &almost).await.unwrap_err();
                    assert_eq!(f.reason, Reason::WrongPassword);
                }
            }
            assert!(verify(&v, "a", "pw-a").await.unwrap().has_scope("admin"));
            let f = verify(&v, "A", "pw-a").await.unwrap_err();
            assert_eq!(f.reason, Reason::UnknownUser);
            assert_eq!(f.user, None);
        }

        #[tokio::test]
        async fn every_failure_runs_one_check_of_each_kind_and_unknown_users_are_never_named() {
            let cfg = BasicConfig::new()
                .user("cheap", &bcrypt_hash("x", 4), Vec::<String>::new())
                .unwrap()
                .user("cheap-too", &bcrypt_hash("x2", 4), Vec::<String>::new())
                .unwrap()
                .user("dear", &bcrypt_hash("y", 6), Vec::<String>::new())
                .unwrap()
                .user("sha", &sha512_hash("z", 1000), Vec::<String>::new())
                .unwrap()
                .user("argon", &argon2_hash("w", 64, 1), Vec::<String>::new())
                .unwrap();
            let v = verifier(cfg);
            // Four kinds: bcrypt 4 (twice), bcrypt 6, SHA-512-crypt 1000, argon2id.
            let store = v.current();
            assert_eq!(store.dummies.len(), 4);
            for (i, d) in store.dummies.iter().enumerate() {
                assert!(store.users.values().any(|u| u.hash.same_params(d)), "{d:?}");
                assert!(
                    store.users.values().all(|u| u.hash != *d),
                    "a dummy, not a user's hash"
                );
                assert_eq!(d.check(DUMMY_PASSWORD), Ok(Verdict::Match));
                assert!(
                    !store.dummies[..i].iter().any(|e| e.same_params(d)),
                    "one per kind"
                );
            }

            // An unknown user-id: one check per kind, never named.
            let before = v.hash_verifications();
            let f = verify(&v, "nobody-typed-a-password-here", "pw")
                .await
                .unwrap_err();
            assert_eq!(f.reason, Reason::UnknownUser);
            assert_eq!(f.user, None);
            assert!(!f.detail.contains("nobody"));
            assert_eq!(v.hash_verifications(), before + 4);
            // A wrong password for any user: the same four.
            for user in ["cheap", "cheap-too", "dear", "sha", "argon"] {
                let before = v.hash_verifications();
                let f = verify(&v, user, "wrong").await.unwrap_err();
                assert_eq!(f.reason, Reason::WrongPassword);
                assert_eq!(v.hash_verifications(), before + 4, "{user}");
            }
            // A success: the user's own hash only.
            let before = v.hash_verifications();
            verify(&v, "sha", "z").await.unwrap();
            assert_eq!(v.hash_verifications(), before + 1);

            // One kind: one check per failure, as ever.
            let v = verifier(
                BasicConfig::new()
                    .user("a", &bcrypt_hash("x", 4), Vec::<String>::new())
                    .unwrap()
                    .user("b", &bcrypt_hash("y", 4), Vec::<String>::new())
                    .unwrap(),
            );
            for user in ["a", "nobody"] {
                let before = v.hash_verifications();
                verify(&v, user, "wrong").await.unwrap_err();
                assert_eq!(v.hash_verifications(), before + 1, "{user}");
            }

            let sha = PasswordHash::parse(&sha512_hash("z", 2000)).unwrap();
            let d = sha.dummy().unwrap();
            assert!(d.same_params(&sha) && d != sha);
            assert_eq!(d.check(DUMMY_PASSWORD), Ok(Verdict::Match));
        }

        #[test]
        fn hash_kinds_name_algorithm_parameters_and_users_without_hashes() {
            let cfg = BasicConfig::new()
                .user("a", &bcrypt_hash("x", 5), Vec::<String>::new())
                .unwrap()
                .user("b", &argon2_hash("y", 64, 2), Vec::<String>::new())
                .unwrap()
                .user("c", &bcrypt_hash("z", 5), Vec::<String>::new())
                .unwrap()
                .user("d", &sha512_hash("w", 1000), Vec::<String>::new())
                .unwrap();
            let kinds = cfg.hash_kinds();
            let shown: Vec<(String, Vec<String>)> = kinds
                .iter()
                .map(|k| (k.to_string(), k.users.clone()))
                .collect();
            assert_eq!(
                shown,
                [
                    (
                        "bcrypt cost 5".to_owned(),
                        vec!["a".to_owned(), "c".to_owned()]
                    ),
                    (
                        "argon2id m=64 KiB, t=2, p=1".to_owned(),
                        vec!["b".to_owned()]
                    ),
                    ("SHA-512-crypt rounds=1000".to_owned(), vec!["d".to_owned()]),
                ]
            );
        }

        #[tokio::test]
        async fn a_full_queue_refuses_at_once_and_frees_its_places() {
            let v = verifier(
                BasicConfig::new()
                    .user("alice", &bcrypt_hash("pw", 4), Vec::<String>::new())
                    .unwrap()
                    .max_concurrent(1)
                    .unwrap()
                    .max_pending(2)
                    .unwrap(),
            );
            // Hold the only permit, so every check has to queue.
            let held = Arc::clone(&v.permits).acquire_owned().await.unwrap();
            let waiting: Vec<_> = (0..2)
                .map(|_| tokio::spawn(Arc::clone(&v).verify(creds("alice", "wrong"))))
                .collect();
            while v.pending.load(Ordering::Acquire) < 2 {
                tokio::task::yield_now().await;
            }
            let f = Arc::clone(&v)
                .verify(creds("alice", "wrong"))
                .await
                .unwrap_err();
            assert_eq!(f.reason, Reason::VerifierBusy);
            assert_eq!(f.user, None);
            assert!(f.detail.contains("basic.max_pending = 2"), "{}", f.detail);
            assert!(
                f.hint
                    .as_deref()
                    .unwrap()
                    .contains("raise basic.max_pending")
            );
            // A cancelled waiter leaves the queue.
            waiting[1].abort();
            while v.pending.load(Ordering::Acquire) > 1 {
                tokio::task::yield_now().await;
            }
            drop(held);
            let f = waiting
                .into_iter()
                .next()
                .unwrap()
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(f.reason, Reason::WrongPassword);
            assert_eq!(v.pending.load(Ordering::Acquire), 0);
            verify(&v, "alice", "pw").await.unwrap();
        }

        #[test]
        fn max_pending_is_bounded() {
            for bad in [0, BasicConfig::MAX_PENDING_LIMIT + 1, usize::MAX] {
                let err = BasicConfig::new().max_pending(bad).unwrap_err();
                assert_eq!(err.key(), "basic.max_pending");
                assert!(err.message().contains("from 1 to 65536"), "{err}");
            }
            let cfg = BasicConfig::new().max_pending(1).unwrap();
            assert_eq!(cfg.pending_limit(), 1);
            assert_eq!(BasicConfig::new().pending_limit(), 64);
        }

        #[tokio::test]
        async fn second_identical_request_is_answered_from_the_cache() {
            let v = verifier(
                BasicConfig::new()
                    .user("alice", &bcrypt_hash("pw", 4), ["admin"])
                    .unwrap(),
            );
            assert!(v.check_cached("alice", "pw").is_none());
            verify(&v, "alice", "pw").await.unwrap();
            assert_eq!(v.hash_verifications(), 1);
            let hit = v.check_cached("alice", "pw").expect("cached").unwrap();
            assert_eq!(hit.subject(), Some("alice"));
            assert!(hit.has_scope("admin"));
            verify(&v, "alice", "pw").await.unwrap();
            assert_eq!(
                v.hash_verifications(),
                1,
                "no hashing for cached credentials"
            );

            // Failures are never cached; other passwords miss.
            for _ in 0..2 {
                verify(&v, "alice", "wrong").await.unwrap_err();
            }
            assert_eq!(v.hash_verifications(), 3);
            assert!(v.check_cached("alice", "pw ").is_none());
            assert!(v.check_cached("alicepw", "").is_none());
        }

        #[tokio::test]
        async fn the_cache_is_bounded_in_entries_and_time() {
            let h = bcrypt_hash("pw", 4);
            let cfg = BasicConfig::new()
                .user("a", &h, Vec::<String>::new())
                .unwrap()
                .user("b", &h, Vec::<String>::new())
                .unwrap()
                .user("c", &h, Vec::<String>::new())
                .unwrap();
            let v = verifier(cfg.clone().cache(2, Duration::from_secs(60)));
            for u in ["a", "b", "c"] {
                verify(&v, u, "pw").await.unwrap();
            }
            assert_eq!(v.cache.as_ref().unwrap().len(), 2);
            assert!(v.check_cached("c", "pw").is_some(), "newest kept");
            assert!(v.check_cached("a", "pw").is_none(), "oldest evicted");

            let v = verifier(cfg.clone().cache(10, Duration::from_millis(30)));
            verify(&v, "a", "pw").await.unwrap();
            assert!(v.check_cached("a", "pw").is_some());
            std::thread::sleep(Duration::from_millis(60));
            assert!(v.check_cached("a", "pw").is_none(), "expired");

            let v = verifier(cfg.cache(0, Duration::from_secs(60)));
            assert!(v.cache.is_none());
            verify(&v, "a", "pw").await.unwrap();
            verify(&v, "a", "pw").await.unwrap();
            assert_eq!(v.hash_verifications(), 2);
        }

        #[test]
        fn a_cleared_cache_refuses_answers_from_before_the_clear() {
            let cache = Cache::new(10, Duration::from_secs(60)).unwrap();
            let p = Principal::new(Some("a".into()), Scheme::Basic, Vec::new());
            let generation = cache.generation();
            cache.clear();
            cache.insert("a", "pw", &p, generation);
            assert!(cache.get("a", "pw").is_none());
            cache.insert("a", "pw", &p, cache.generation());
            assert!(cache.get("a", "pw").is_some());
            // Length prefix: ("a", "bpw") is another key than ("ab", "pw").
            assert_ne!(cache.tag("a", "bpw"), cache.tag("ab", "pw"));
            assert!(format!("{cache:?}").contains("[redacted]"));
        }

        #[tokio::test]
        async fn bcrypt_refuses_passwords_over_72_bytes_after_paying_the_hash() {
            let p72 = "p".repeat(72);
            let v = verifier(
                BasicConfig::new()
                    .user("alice", &bcrypt_hash(&p72, 4), Vec::<String>::new())
                    .unwrap()
                    .user(
                        "argon",
                        &argon2_hash(&"q".repeat(100), 8, 1),
                        Vec::<String>::new(),
                    )
                    .unwrap(),
            );
            verify(&v, "alice", &p72).await.unwrap();
            let before = v.hash_verifications();
            let f = verify(&v, "alice", &format!("{p72}-tail-ignored-by-bcrypt"))
                .await
                .unwrap_err();
            assert_eq!(f.reason, Reason::WrongPassword);
            assert!(f.detail.contains("72"), "{}", f.detail);
            // The real check and the argon2id dummy: what any failure costs here.
            let spent = v.hash_verifications() - before;
            assert_eq!(spent, 2);
            let before = v.hash_verifications();
            verify(&v, "alice", "wrong").await.unwrap_err();
            assert_eq!(
                v.hash_verifications() - before,
                spent,
                "same time as a wrong password"
            );
            // Other algorithms take long passwords whole.
            verify(&v, "argon", &"q".repeat(100)).await.unwrap();
        }

        #[tokio::test]
        async fn overlong_passwords_and_empty_user_ids_are_refused_without_hashing() {
            let v = verifier(
                BasicConfig::new()
                    .user("alice", &bcrypt_hash("pw", 4), Vec::<String>::new())
                    .unwrap(),
            );
            let long = "x".repeat(8 * 1024);
            let f = v.check_cached("alice", &long).unwrap().unwrap_err();
            assert_eq!(f.reason, Reason::WrongPassword);
            assert_eq!(f.user.as_deref(), Some("alice"));
            assert!(f.detail.contains("8192 bytes"), "{}", f.detail);
            let f = v.check_cached("nobody", &long).unwrap().unwrap_err();
            assert_eq!((f.reason, f.user), (Reason::UnknownUser, None));
            let f = v.check_cached("", "pw").unwrap().unwrap_err();
            assert_eq!(f.reason, Reason::UnknownUser);
            // Also when verify is called directly.
            let f = Arc::clone(&v)
                .verify(creds("alice", &long))
                .await
                .unwrap_err();
            assert_eq!(f.reason, Reason::WrongPassword);
            assert_eq!(v.hash_verifications(), 0);
            let ok = "y".repeat(BasicConfig::MAX_PASSWORD_BYTES);
            assert!(
                v.check_cached("alice", &ok).is_none(),
                "at the limit: hashed"
            );
        }

        #[tokio::test]
        async fn empty_password_runs_the_full_verification() {
            let v = verifier(
                BasicConfig::new()
                    .user("alice", &bcrypt_hash("pw", 4), Vec::<String>::new())
                    .unwrap(),
            );
            let f = verify(&v, "alice", "").await.unwrap_err();
            assert_eq!(f.reason, Reason::WrongPassword);
            assert_eq!(v.hash_verifications(), 1);
        }

        #[test]
        fn verification_works_outside_a_tokio_runtime() {
            let v = verifier(
                BasicConfig::new()
                    .user("alice", &bcrypt_hash("pw", 4), Vec::<String>::new())
                    .unwrap(),
            );
            // A minimal executor that is not tokio.
            let fut = Arc::clone(&v).verify(creds("alice", "pw"));
            let p = futures_lite_block_on(fut).unwrap();
            assert_eq!(p.subject(), Some("alice"));
        }

        /// Polls a future to completion on this thread, parking between polls.
        fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
            use std::task::{Context, Poll, Wake, Waker};
            struct Unpark(std::thread::Thread);
            impl Wake for Unpark {
                fn wake(self: Arc<Self>) {
                    self.0.unpark();
                }
            }
            let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
            let mut cx = Context::from_waker(&waker);
            let mut fut = std::pin::pin!(fut);
            loop {
                if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                    return out;
                }
                std::thread::park_timeout(Duration::from_millis(50));
            }
        }

        #[tokio::test]
        async fn changed_htpasswd_file_reloads_users_and_clears_the_cache() {
            let path = temp_path("reload.htpasswd");
            write_with_mtime(&path, &format!("alice:{}\n", bcrypt_hash("old", 4)), 0);
            let mut cfg = BasicConfig::new()
                .user("inline", &bcrypt_hash("in", 4), Vec::<String>::new())
                .unwrap()
                .htpasswd_file(&path)
                .unwrap();
            cfg.check_interval = Duration::ZERO;
            let v = verifier(cfg);
            verify(&v, "alice", "old").await.unwrap();
            verify(&v, "inline", "in").await.unwrap();
            assert!(v.check_cached("alice", "old").is_some());

            write_with_mtime(
                &path,
                &format!(
                    "alice:{}\nbob:{}\n",
                    bcrypt_hash("new", 4),
                    bcrypt_hash("b", 4)
                ),
                10,
            );
            assert!(
                v.check_cached("alice", "old").is_none(),
                "change seen, cache cleared"
            );
            let f = verify(&v, "alice", "old").await.unwrap_err();
            assert_eq!(f.reason, Reason::WrongPassword);
            verify(&v, "alice", "new").await.unwrap();
            verify(&v, "bob", "b").await.unwrap();
            verify(&v, "inline", "in").await.unwrap();

            // An invalid file keeps the previous users.
            write_with_mtime(&path, "alice:$apr1$CQxaRl1h$q2gx6E22Cbhh//OwLJy80/\n", 20);
            verify(&v, "alice", "new").await.unwrap();
            verify(&v, "bob", "b").await.unwrap();
            // ... until it is fixed.
            write_with_mtime(&path, &format!("carol:{}\n", bcrypt_hash("c", 4)), 30);
            verify(&v, "carol", "c").await.unwrap();
            let f = verify(&v, "bob", "b").await.unwrap_err();
            assert_eq!(f.reason, Reason::UnknownUser);
            // A deleted file keeps the previous users too.
            std::fs::remove_file(&path).unwrap();
            verify(&v, "carol", "c").await.unwrap();
        }

        #[tokio::test]
        async fn files_are_checked_at_most_once_per_interval() {
            let path = temp_path("interval.htpasswd");
            write_with_mtime(&path, &format!("alice:{}\n", bcrypt_hash("old", 4)), 0);
            let mut cfg = BasicConfig::new().htpasswd_file(&path).unwrap();
            cfg.check_interval = Duration::from_secs(3600);
            let v = verifier(cfg);
            verify(&v, "alice", "old").await.unwrap(); // first check happens here
            write_with_mtime(&path, &format!("alice:{}\n", bcrypt_hash("new", 4)), 10);
            // Within the interval the old users (and cache) stay.
            assert!(v.check_cached("alice", "old").is_some());
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[cfg(all(test, not(feature = "basic")))]
mod tests {
    use super::*;

    #[test]
    fn users_need_the_basic_feature() {
        let err = BasicConfig::new()
            .user("alice", "$2y$04$x", Vec::<String>::new())
            .unwrap_err();
        assert_eq!(err.key(), "basic.users");
        assert!(err.message().contains("`basic` cargo feature"), "{err}");
        let err = BasicConfig::new().htpasswd_str("a:b\n").unwrap_err();
        assert_eq!(err.key(), "basic.htpasswd_file");
        assert!(err.message().contains("`basic` cargo feature"), "{err}");
        let err = BasicConfig::new().htpasswd_file("x").unwrap_err();
        assert!(err.message().contains("`basic` cargo feature"), "{err}");
    }
}
