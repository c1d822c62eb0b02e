//! Basic authentication (RFC 7617): user stores and password-hash verification.
//!
//! SKELETON — being implemented (htpasswd, PHC, cache). The public API below is fixed.

use std::path::Path;
use std::sync::Arc;

use crate::credentials::BasicCredentials;

use crate::config::ConfigError;
use crate::principal::Principal;
use crate::rejection::Failure;

/// Basic users: from htpasswd files and from configuration entries.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct BasicConfig {
    _private: (),
}

impl BasicConfig {
    /// An empty user store.
    pub fn new() -> Self {
        BasicConfig::default()
    }

    /// Adds the users of an htpasswd file.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or a line is in an unsupported format.
    pub fn htpasswd_file(self, _path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Err(ConfigError::new(
            "basic.htpasswd_file",
            "not implemented yet",
        ))
    }

    /// Adds the users of htpasswd text.
    ///
    /// # Errors
    ///
    /// When a line is in an unsupported format.
    pub fn htpasswd_str(self, _contents: &str) -> Result<Self, ConfigError> {
        Err(ConfigError::new(
            "basic.htpasswd_file",
            "not implemented yet",
        ))
    }

    /// Adds one user with a password hash (`$argon2id$…`, `$2b$…`/`$2y$…`, `$6$…`).
    ///
    /// # Errors
    ///
    /// When the hash is in an unsupported format.
    pub fn user<I, S>(
        self,
        _name: &str,
        _password_hash: &str,
        _scopes: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Err(ConfigError::new("basic.users", "not implemented yet"))
    }
}

/// Verifies Basic credentials against a [`BasicConfig`].
#[derive(Debug)]
pub(crate) struct BasicVerifier {
    _cfg: BasicConfig,
}

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
        None
    }

    /// Full verification: password hashing is slow by design, so it runs off the
    /// async executor with a bound on concurrent verifications.
    pub(crate) async fn verify(
        self: Arc<Self>,
        creds: BasicCredentials,
    ) -> Result<Principal, Failure> {
        let _ = creds;
        Err(Failure::new(
            crate::reason::Reason::UnknownUser,
            crate::credentials::SchemeLabel::Basic,
            "not implemented",
        ))
    }
}
