//! Shared state across instances: [`StateConfig`] (TOML `[state]`). The store
//! itself (Redis, feature `redis`) is in `state/redis.rs`.

use std::fmt;

use crate::config::ConfigError;

/// What to do while the shared store cannot be reached (TOML
/// `state.on_unavailable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnUnavailable {
    /// Keep serving on the last synced revocation set and per-instance counts
    /// (the default).
    #[default]
    Open,
    /// Answer 503 `state_unavailable` until the store is back.
    Closed,
}

/// Shared state (TOML `[state]`): revocations and failed-attempt counts held in
/// Redis (any Redis 6+ or Valkey), so that they hold across every instance of an
/// API. Needs the `redis` feature. Set with
/// [`AuthConfigBuilder::state`](crate::AuthConfigBuilder::state).
///
/// The request path never waits for the store: each instance keeps the
/// revocation set in memory, kept current by publish/subscribe and a periodic
/// resync.
#[must_use]
#[derive(Clone)]
pub struct StateConfig {
    pub(crate) redis_url: String,
    pub(crate) key_prefix: String,
    pub(crate) on_unavailable: OnUnavailable,
    pub(crate) resync_secs: u64,
}

impl fmt::Debug for StateConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateConfig")
            .field("redis_url", &redact_url(&self.redis_url))
            .field("key_prefix", &self.key_prefix)
            .field("on_unavailable", &self.on_unavailable)
            .field("resync_secs", &self.resync_secs)
            .finish()
    }
}

/// The URL without its user-info (a password may be in it:
/// `redis://:secret@host`).
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://[redacted]@{host}"),
            None => url.to_owned(),
        },
        None => "[not a URL]".to_owned(),
    }
}

impl StateConfig {
    /// Default `key_prefix`.
    pub const DEFAULT_KEY_PREFIX: &'static str = "authgate:";
    /// Default interval of the full resync of the revocation set, in seconds.
    pub const DEFAULT_RESYNC_SECS: u64 = 30;

    /// State in the Redis server at `redis_url` (`redis://host:port/db` or
    /// `rediss://` for TLS; a password goes in the URL's user-info, read it from
    /// the environment rather than a file).
    pub fn redis(redis_url: impl Into<String>) -> Self {
        StateConfig {
            redis_url: redis_url.into(),
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            on_unavailable: OnUnavailable::Open,
            resync_secs: Self::DEFAULT_RESYNC_SECS,
        }
    }

    /// The prefix of every key and channel authgate uses (default `authgate:`), so
    /// that several APIs can share one Redis.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// What happens while the store is down (default [`OnUnavailable::Open`]).
    pub fn on_unavailable(mut self, mode: OnUnavailable) -> Self {
        self.on_unavailable = mode;
        self
    }

    /// How often the whole revocation set is read again (default 30 s), on top of
    /// the publish/subscribe messages that carry each revocation at once.
    pub fn resync_secs(mut self, secs: u64) -> Self {
        self.resync_secs = secs;
        self
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !cfg!(feature = "redis") {
            return Err(ConfigError::new(
                "state",
                "shared state needs the `redis` feature of authgate; enable it, or remove [state] (limits and revocations then work per instance)",
            ));
        }
        if !(self.redis_url.starts_with("redis://") || self.redis_url.starts_with("rediss://")) {
            return Err(ConfigError::new(
                "state.redis_url",
                format!(
                    "\"{}\" is not a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379/0)",
                    crate::event::sanitize_for_message(&redact_url(&self.redis_url))
                ),
            ));
        }
        if self.key_prefix.is_empty() || self.key_prefix.len() > 64 {
            return Err(ConfigError::new(
                "state.key_prefix",
                "must be 1 to 64 characters (default \"authgate:\")",
            ));
        }
        if self.resync_secs == 0 || self.resync_secs > 3600 {
            return Err(ConfigError::new(
                "state.resync_secs",
                "must be between 1 and 3600 (default 30)",
            ));
        }
        Ok(())
    }
}

/// The shared store of a layer. Without the `redis` feature a `[state]`
/// configuration is refused at start-up, so none is ever built.
#[cfg(not(feature = "redis"))]
#[derive(Debug)]
pub(crate) struct Store {
    _never: (),
}

#[cfg(not(feature = "redis"))]
impl Store {
    pub(crate) fn new(
        _cfg: &StateConfig,
        _revocations: &crate::revocation::Revocations,
        _limiter: Option<std::sync::Arc<crate::limits::Limiter>>,
        _clock: &crate::config::Clock,
    ) -> Self {
        Store { _never: () }
    }

    /// 503 `state_unavailable` while the store is down and configured closed.
    pub(crate) fn refuse(&self) -> Option<crate::rejection::Failure> {
        None
    }

    /// Shares a failure's counts; `None` when there is nothing to wait for.
    pub(crate) fn record(
        &self,
        _keys: Vec<crate::limits::Key>,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        None
    }
}

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub(crate) use self::redis::Store;

#[cfg(test)]
mod tests {
    use super::*;

    /// A password in the URL never reaches `Debug` or a configuration error.
    #[test]
    fn the_url_password_is_never_shown() {
        let cfg = StateConfig::redis("redis://:hunter2-secret@10.0.0.5:6379/0");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("10.0.0.5:6379"), "{shown}");
        let bad = StateConfig::redis("http://user:hunter2-secret@host/");
        let err = bad.check().expect_err("not redis://").to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
