//! Settings of opaque-token introspection (RFC 7662), `[bearer.introspection]`.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::config::ConfigError;

/// Opaque Bearer tokens checked at the authorization server's introspection
/// endpoint (RFC 7662); needs the `introspection` feature.
///
/// A Bearer token that is not a JWT (it has no `.`) and matches no configured API
/// key is sent, in the body of a POST, to `url`, the layer authenticating as an
/// OAuth client with `client_secret_basic` (RFC 6749 §2.3.1). An answer with
/// `"active": false` is `token_inactive` (401); an active answer gives the
/// principal: its subject is `sub` (or, for a client-credentials token without
/// one, `client_id`), its scopes `scope`, and its claims the whole answer. When
/// the answer carries `exp`, `nbf`, `iss` or `aud`, they are checked as a JWT's
/// would be (leeway included), against this section's issuer and audience, or
/// else those of `[bearer.jwt]`. An endpoint that cannot be reached, times out,
/// answers anything but 200, or answers something that is not an introspection
/// answer is `introspection_unavailable` (503 with `Retry-After`): the token may
/// well be valid.
///
/// Active answers are cached for `cache_secs`, never past the token's `exp`, under
/// a SHA-256 digest of the token (the token itself is not kept), and inactive
/// answers for at most 30 s of it; concurrent requests with one token share one
/// call. A token revoked at the authorization
/// server is therefore still accepted until its cache entry ends.
///
/// ```
/// # #[cfg(feature = "introspection")] {
/// use authgate::{AuthConfig, IntrospectionConfig};
///
/// let cfg = AuthConfig::builder()
///     .introspection(
///         IntrospectionConfig::new(
///             "https://id.example.com/token/introspection",
///             "orders-api",
///             std::env::var("AUTHGATE_CLIENT_SECRET").unwrap_or_else(|_| "s".into()),
///         )
///         .cache_secs(30),
///     )
///     .build()?;
/// # }
/// # Ok::<(), authgate::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct IntrospectionConfig {
    pub(crate) url: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Arc<Zeroizing<String>>,
    pub(crate) cache_secs: u64,
    pub(crate) timeout_secs: u64,
    pub(crate) allow_insecure_http: bool,
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) ca_file: Option<std::path::PathBuf>,
}

impl fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("url", &crate::summary::redact_url(&self.url))
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("cache_secs", &self.cache_secs)
            .field("timeout_secs", &self.timeout_secs)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl IntrospectionConfig {
    /// Default `cache_secs`: how long an active answer is reused, at most.
    pub const DEFAULT_CACHE_SECS: u64 = 60;
    /// Default `timeout_secs`: connect and whole-answer timeout of one call.
    pub const DEFAULT_TIMEOUT_SECS: u64 = 5;

    /// Introspection at `url` as the OAuth client `client_id` with
    /// `client_secret` (sent with HTTP Basic, RFC 6749 §2.3.1). `url` is an
    /// `https://` URL, or `http://` to a loopback host.
    pub fn new(
        url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        IntrospectionConfig {
            url: url.into(),
            client_id: client_id.into(),
            client_secret: Arc::new(Zeroizing::new(client_secret.into())),
            cache_secs: Self::DEFAULT_CACHE_SECS,
            timeout_secs: Self::DEFAULT_TIMEOUT_SECS,
            allow_insecure_http: false,
            issuers: Vec::new(),
            audiences: Vec::new(),
            ca_file: None,
        }
    }

    /// How long an active answer is reused, at most (default 60 s; never past the
    /// token's `exp`; an inactive answer at most 30 s of it; 0 turns the cache
    /// off).
    pub fn cache_secs(mut self, secs: u64) -> Self {
        self.cache_secs = secs;
        self
    }

    /// Connect and whole-answer timeout of one call (default 5 s).
    pub fn timeout_secs(mut self, secs: u64) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// Accepts `http://` to hosts other than loopback (local development only).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// An expected `iss` of active answers that carry one (repeat for several);
    /// without any, `[bearer.jwt]`'s issuers apply.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// An expected `aud` of active answers that carry one (repeat for several);
    /// without any, `[bearer.jwt]`'s audiences apply.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// A PEM bundle of CA certificates trusted for the endpoint in addition to
    /// the default roots (a private CA).
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Checks everything that can be checked before the first request.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !cfg!(feature = "introspection") {
            return Err(ConfigError::new(
                "bearer.introspection",
                "token introspection needs the `introspection` feature of authgate; enable it",
            ));
        }
        #[cfg(feature = "introspection")]
        {
            crate::verify::remote::check_url(
                &self.url,
                self.allow_insecure_http,
                "bearer.introspection.url",
            )?;
            crate::verify::remote::root_store(
                self.ca_file.as_deref(),
                "bearer.introspection.ca_file",
            )?;
        }
        if self.client_id.is_empty() {
            return Err(ConfigError::new(
                "bearer.introspection.client_id",
                "is empty; give the OAuth client id this service introspects with",
            ));
        }
        if self.client_secret.is_empty() {
            return Err(ConfigError::new(
                "bearer.introspection.client_secret_env",
                "the client secret is empty; set it to the secret of the introspecting client",
            ));
        }
        if self.cache_secs > 86_400 {
            return Err(ConfigError::new(
                "bearer.introspection.cache_secs",
                format!("{} is outside [0, 86400]", self.cache_secs),
            ));
        }
        if !(1..=60).contains(&self.timeout_secs) {
            return Err(ConfigError::new(
                "bearer.introspection.timeout_secs",
                format!("{} is outside [1, 60]", self.timeout_secs),
            ));
        }
        for (key, values) in [
            ("bearer.introspection.issuer", &self.issuers),
            ("bearer.introspection.audience", &self.audiences),
        ] {
            if values.iter().any(String::is_empty) {
                return Err(ConfigError::new(
                    key,
                    "contains an empty string; remove it or give the exact value answers carry",
                ));
            }
        }
        Ok(())
    }
}
