//! [`Revocations`]: token ids and API key ids revoked at run time, held in memory.
//!
//! The request path reads this set only (a hash lookup under a read lock). With
//! shared state (`[state]`, feature `redis`) every instance holds the whole set and
//! keeps it current from the store; without it the set is per instance.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::config::Clock;

/// A revoked id: a token's `jti` or an API key's `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Jti,
    ApiKey,
}

impl Kind {
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Kind::Jti => "j",
            Kind::ApiKey => "k",
        }
    }
}

/// API key revocations have no end: they hold until the process stops (and in
/// the shared store, until removed there).
pub(crate) const FOREVER: u64 = u64::MAX;

#[derive(Default)]
struct Set {
    jtis: HashMap<Box<str>, u64>,
    keys: HashMap<Box<str>, u64>,
}

/// Where a revocation made here goes besides the local set (the shared store).
pub(crate) trait Publish: Send + Sync + fmt::Debug {
    fn publish(&self, kind: Kind, id: &str, until: u64);
}

pub(crate) struct Inner {
    set: RwLock<Set>,
    /// Entries at the last sweep of expired ones; the next comes at twice that.
    swept_at: AtomicUsize,
    clock: Clock,
    publisher: RwLock<Option<Arc<dyn Publish>>>,
}

/// A handle to revoke tokens (by `jti`) and API keys (by `id`) at run time; get it
/// with [`AuthLayer::revocations`](crate::AuthLayer::revocations). Cloning is cheap
/// and every clone works on the same set.
///
/// A revoked token or key is answered 401 `token_revoked` from the next request
/// on. The check of [`AuthConfigBuilder::revocation`](crate::AuthConfigBuilder::revocation)
/// keeps working beside this set: either one revoking is enough.
///
/// ```
/// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey};
/// # fn main() -> Result<(), authgate::ConfigError> {
/// let cfg = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac([7u8; 32])))
///     .build()?;
/// let layer = AuthLayer::new(cfg);
/// let revocations = layer.revocations();
/// // Until the token's own `exp` (unix seconds): after it, the token is expired anyway.
/// revocations.revoke_jti("4f1c2b", 4_000_000_000);
/// assert!(revocations.is_jti_revoked("4f1c2b"));
/// revocations.revoke_api_key("ci-bot");
/// assert!(revocations.is_api_key_revoked("ci-bot"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Revocations {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self
            .inner
            .set
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Revocations")
            .field("jtis", &set.jtis.len())
            .field("api_keys", &set.keys.len())
            .finish()
    }
}

impl Revocations {
    pub(crate) fn new(clock: Clock) -> Self {
        Revocations {
            inner: Arc::new(Inner {
                set: RwLock::new(Set::default()),
                swept_at: AtomicUsize::new(1024),
                clock,
                publisher: RwLock::new(None),
            }),
        }
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn set_publisher(&self, publisher: Arc<dyn Publish>) {
        *self
            .inner
            .publisher
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(publisher);
    }

    fn now(&self) -> u64 {
        crate::config::unix_secs(&self.inner.clock)
    }

    /// Revokes the token whose `jti` is `jti` until `exp` (unix seconds, the
    /// token's own `exp`; a later time is harmless). Takes effect on this instance
    /// at once; with shared state, on every instance within about a second.
    pub fn revoke_jti(&self, jti: &str, exp: u64) {
        self.revoke(Kind::Jti, jti, exp);
    }

    /// Revokes the API key whose configured `id` is `id`, for as long as the
    /// process runs (and, with shared state, until it is removed from the store).
    pub fn revoke_api_key(&self, id: &str) {
        self.revoke(Kind::ApiKey, id, FOREVER);
    }

    /// Whether the token id is revoked now.
    pub fn is_jti_revoked(&self, jti: &str) -> bool {
        self.contains(Kind::Jti, jti)
    }

    /// Whether the API key id is revoked now.
    pub fn is_api_key_revoked(&self, id: &str) -> bool {
        self.contains(Kind::ApiKey, id)
    }

    /// How many revocations are held (expired ones may linger until the next sweep).
    pub fn len(&self) -> usize {
        let set = self
            .inner
            .set
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        set.jtis.len() + set.keys.len()
    }

    /// Whether no revocation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn revoke(&self, kind: Kind, id: &str, until: u64) {
        self.apply(kind, id, until);
        let publisher = self
            .inner
            .publisher
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(p) = publisher {
            p.publish(kind, id, until);
        }
    }

    /// Adds a revocation to the local set only (what the shared store sends).
    pub(crate) fn apply(&self, kind: Kind, id: &str, until: u64) {
        let now = self.now();
        if until <= now {
            return;
        }
        let mut set = self
            .inner
            .set
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let map = match kind {
            Kind::Jti => &mut set.jtis,
            Kind::ApiKey => &mut set.keys,
        };
        let entry = map.entry(id.into()).or_insert(until);
        *entry = (*entry).max(until);
        let len = set.jtis.len() + set.keys.len();
        if len >= self.inner.swept_at.load(Ordering::Relaxed) {
            set.jtis.retain(|_, until| *until > now);
            set.keys.retain(|_, until| *until > now);
            let left = set.jtis.len() + set.keys.len();
            self.inner
                .swept_at
                .store((left * 2).max(1024), Ordering::Relaxed);
        }
    }

    pub(crate) fn contains(&self, kind: Kind, id: &str) -> bool {
        let set = self
            .inner
            .set
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let map = match kind {
            Kind::Jti => &set.jtis,
            Kind::ApiKey => &set.keys,
        };
        // An entry past its end is harmless to honour (the token is expired),
        // and `apply` sweeps them; no clock read on the request path.
        map.contains_key(id)
    }
}

/// A revocation check with a `Debug` that prints nothing of it.
pub(crate) struct Check(pub(crate) crate::config::RevocationCheck);

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<revocation check>")
    }
}
