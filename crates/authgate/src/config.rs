//! Configuration: what is enabled, which keys, which claims are expected.
//!
//! Built in code with [`AuthConfig::builder`]; [`AuthConfigBuilder::build`] checks
//! everything that can be checked before the first request and names the key and
//! the fix in its [`ConfigError`].

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::verify::api_key::ApiKey;
use crate::verify::basic::BasicConfig;
use crate::verify::keys::{Algorithm, JwtKey, KeyType};

/// Default `leeway_secs`.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// Default `max_token_bytes`.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The largest leeway accepted: more than an hour would make `exp` meaningless.
pub const MAX_LEEWAY_SECS: u64 = 3600;

/// A configuration that cannot work, with the key at fault and what to do.
///
/// `Display` reads `<key>: <message>`; neither part ever holds a secret value.
/// [`kind`](ConfigError::kind) tells the broad cause apart for programs that
/// react differently (retry after a missing file appears, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    key: String,
    message: String,
}

/// The broad cause of a [`ConfigError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A value is out of range, inconsistent with another, or otherwise unusable.
    InvalidValue,
    /// A file (the configuration, a key file, an htpasswd file) cannot be read.
    Io,
    /// The configuration file is not valid TOML, or has an unknown key, a
    /// missing required key or a value of the wrong type.
    Syntax,
    /// The environment variable that should hold a secret is unset, empty or not
    /// decodable.
    Environment,
    /// A key cannot be used to verify signatures: not a supported public key, or
    /// one refused because it cannot bind a signature (too small, off its curve,
    /// a small-order point).
    UnusableKey,
}

impl ConfigError {
    /// A new error for configuration `key`, of kind
    /// [`InvalidValue`](ConfigErrorKind::InvalidValue).
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            kind: ConfigErrorKind::InvalidValue,
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same error with another kind.
    pub(crate) fn with_kind(mut self, kind: ConfigErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// The same error under another key and message, keeping its kind.
    #[cfg_attr(not(feature = "toml"), allow(dead_code))]
    pub(crate) fn rekeyed(&self, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::new(key, message).with_kind(self.kind)
    }

    /// The broad cause.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The configuration key at fault, spelled as in the TOML file (e.g.
    /// `bearer.jwt.algorithms`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong and how to fix it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// How CORS preflight requests are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CorsPreflight {
    /// `OPTIONS` with `Origin` and `Access-Control-Request-Method` pass through
    /// unauthenticated, so a CORS layer can answer them (the default).
    ///
    /// Only a request without credentials counts as a preflight: browsers never
    /// send `Authorization` on one (Fetch standard, CORS-preflight request), so an
    /// `OPTIONS` carrying an `Authorization` header or an `access_token` query
    /// parameter is authenticated like any other request.
    #[default]
    Allow,
    /// Preflights are authenticated like any other request.
    Authenticate,
}

/// The source of "now" for time claims; injectable for tests and offline tools.
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A revocation check the application provides: given the token's `jti` (or an API
/// key's id), return `true` when it is revoked.
pub(crate) type RevocationCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The asynchronous form of [`RevocationCheck`], for lookups that do I/O.
pub(crate) type AsyncRevocationCheck = Arc<
    dyn Fn(&str) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send + Sync,
>;

/// Remote key set settings (`jwks_url` / `oidc_issuer` and their tuning keys).
/// Set through [`JwtConfig`]'s `jwks_*` methods; needs the `jwks` feature.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RemoteKeysConfig {
    pub(crate) jwks_url: Option<String>,
    pub(crate) oidc_issuer: Option<String>,
    pub(crate) allow_insecure_http: bool,
    pub(crate) refresh_secs: u64,
    pub(crate) refetch_cooldown_secs: u64,
    pub(crate) stale_secs: u64,
    pub(crate) timeout_secs: u64,
    /// A PEM bundle of extra trust roots (a private CA).
    pub(crate) ca_file: Option<std::path::PathBuf>,
}

impl fmt::Debug for RemoteKeysConfig {
    /// URLs with user-info or a query (which sometimes carry credentials) are
    /// shown redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &Option<String>| u.as_deref().map(crate::summary::redact_url);
        f.debug_struct("RemoteKeysConfig")
            .field("jwks_url", &url(&self.jwks_url))
            .field("oidc_issuer", &url(&self.oidc_issuer))
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("refresh_secs", &self.refresh_secs)
            .field("refetch_cooldown_secs", &self.refetch_cooldown_secs)
            .field("stale_secs", &self.stale_secs)
            .field("timeout_secs", &self.timeout_secs)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Default `jwks_refresh_secs`.
pub const DEFAULT_JWKS_REFRESH_SECS: u64 = 300;
/// Default `jwks_refetch_cooldown_secs`.
pub const DEFAULT_JWKS_REFETCH_COOLDOWN_SECS: u64 = 30;
/// Default `jwks_stale_secs`.
pub const DEFAULT_JWKS_STALE_SECS: u64 = 86_400;
/// Default `jwks_timeout_secs`.
pub const DEFAULT_JWKS_TIMEOUT_SECS: u64 = 5;

impl Default for RemoteKeysConfig {
    fn default() -> Self {
        RemoteKeysConfig {
            jwks_url: None,
            oidc_issuer: None,
            allow_insecure_http: false,
            refresh_secs: DEFAULT_JWKS_REFRESH_SECS,
            refetch_cooldown_secs: DEFAULT_JWKS_REFETCH_COOLDOWN_SECS,
            stale_secs: DEFAULT_JWKS_STALE_SECS,
            timeout_secs: DEFAULT_JWKS_TIMEOUT_SECS,
            ca_file: None,
        }
    }
}

/// Bearer JWT settings: the algorithm allow-list, keys and expected claims.
///
/// ```
/// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey};
/// use http::{Request, Response, StatusCode, header};
/// use tower::{Layer, Service, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let ok = || tower::service_fn(|_req: Request<()>| async {
/// #     Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
/// # });
/// let secret = b"a secret of at least 32 bytes...";
/// let cfg = AuthConfig::builder()
///     .jwt(
///         JwtConfig::new([Algorithm::HS256])
///             .key(JwtKey::hmac(secret).with_kid("hmac-1"))
///             .issuer("https://id.example.com/")
///             .audience("orders-api"),
///     )
///     .build()?;
/// let mut svc = AuthLayer::new(cfg).layer(ok());
///
/// // A token for another audience: 401 `audience_mismatch`.
/// let mut jose = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
/// jose.kid = Some("hmac-1".into());
/// let claims = serde_json::json!({
///     "iss": "https://id.example.com/", "aud": "billing-api", "exp": 4_000_000_000u64,
/// });
/// let token = jsonwebtoken::encode(&jose, &claims, &jsonwebtoken::EncodingKey::from_secret(secret))?;
/// let req = Request::get("/").header(header::AUTHORIZATION, format!("Bearer {token}")).body(())?;
/// let res = svc.ready().await?.call(req).await?;
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// let rejection = res.extensions().get::<authgate::AuthRejection>().unwrap();
/// assert_eq!(rejection.reason(), authgate::Reason::AudienceMismatch);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct JwtConfig {
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) keys: Vec<JwtKey>,
    pub(crate) remote: RemoteKeysConfig,
    pub(crate) cache_entries: usize,
    pub(crate) cache_ttl_secs: u64,
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) required_claims: Vec<String>,
    pub(crate) scope_claim: String,
}

impl JwtConfig {
    /// JWT verification with this explicit algorithm allow-list (required: there
    /// is no default, RFC 8725 §3.1).
    pub fn new(algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        JwtConfig {
            algorithms: algorithms.into_iter().collect(),
            keys: Vec::new(),
            remote: RemoteKeysConfig::default(),
            cache_entries: crate::verify::cache::DEFAULT_MAX_ENTRIES,
            cache_ttl_secs: crate::verify::cache::DEFAULT_TTL.as_secs(),
            issuers: Vec::new(),
            audiences: Vec::new(),
            required_claims: vec!["exp".to_owned()],
            scope_claim: "scope".to_owned(),
        }
    }

    /// Adds a verification key.
    pub fn key(mut self, key: JwtKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds verification keys.
    pub fn keys(mut self, keys: impl IntoIterator<Item = JwtKey>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// Adds an accepted issuer (`iss`, compared exactly, RFC 7519 §7.3). Once any is
    /// set, tokens without `iss` are rejected.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Adds an accepted audience (`aud`). Once any is set, tokens without `aud` are
    /// rejected; with none set, tokens that carry `aud` are rejected (RFC 7519 §4.1.3).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Replaces the list of claims every token must carry (default `["exp"]`).
    pub fn required_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_claims = claims.into_iter().map(Into::into).collect();
        self
    }

    /// Keys from a JWK Set at this URL (`https://`, or `http://` to a loopback host),
    /// fetched, cached and refreshed (feature `jwks`).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.remote.jwks_url = Some(url.into());
        self
    }

    /// Keys through OpenID Connect discovery of this issuer
    /// (`<issuer>/.well-known/openid-configuration`); the issuer also becomes the
    /// expected `iss` unless issuers are configured (feature `jwks`).
    pub fn oidc_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.remote.oidc_issuer = Some(issuer.into());
        self
    }

    /// Accept plain `http://` key-set URLs to non-loopback hosts (tests, local dev).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.remote.allow_insecure_http = allow;
        self
    }

    /// Refresh interval (default 300 s); a `Cache-Control: max-age` within
    /// [60, 86400] overrides it. A background timer refreshes when it falls due,
    /// even without requests; it starts at `AuthLayer::warm_up` or the first
    /// request inside a tokio runtime and ends when the layer is dropped.
    pub fn jwks_refresh_secs(mut self, secs: u64) -> Self {
        self.remote.refresh_secs = secs;
        self
    }

    /// At most one unknown-`kid` refetch per this many seconds (default 30).
    pub fn jwks_refetch_cooldown_secs(mut self, secs: u64) -> Self {
        self.remote.refetch_cooldown_secs = secs;
        self
    }

    /// How long the last good keys keep serving while refreshes fail (default 86400).
    pub fn jwks_stale_secs(mut self, secs: u64) -> Self {
        self.remote.stale_secs = secs;
        self
    }

    /// Connect and whole-fetch timeout (default 5 s).
    pub fn jwks_timeout_secs(mut self, secs: u64) -> Self {
        self.remote.timeout_secs = secs;
        self
    }

    /// A PEM bundle of CA certificates trusted for `jwks_url` / `oidc_issuer` in
    /// addition to the default roots (an identity provider behind a private CA).
    /// Read and checked by [`AuthConfigBuilder::build`].
    pub fn jwks_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.remote.ca_file = Some(path.into());
        self
    }

    /// The verified-token cache: at most `max_entries` tokens (default 10 000), each
    /// served for at most `ttl_secs` (default 300) and never past its `exp`. A hit
    /// skips decoding and the signature check, and re-checks `exp`/`nbf`/`iat`
    /// against the clock; entries of a changed remote key set are dropped. Only
    /// valid tokens are cached, keyed by SHA-256 of the token's signature, with
    /// the signed part (header and payload as sent) compared byte for byte on a
    /// hit: a hit is the very token that was verified, and the signature itself
    /// is never stored. `max_entries == 0` turns it off.
    ///
    /// Memory: an entry keeps the verified claims as JSON and the signed part,
    /// about 0.7–1.5 KiB for typical access tokens (~2 KiB once handlers read
    /// `Principal::claims()`, which parses them into a map that stays with the
    /// entry), so ~7–20 MiB for the default 10 000. Tokens over 4 KiB are never
    /// cached; the worst case, a 4 KiB token of many tiny claims read through
    /// `claims()`, is ~36 KiB per entry (~360 MiB for 10 000 of them, which only
    /// the token issuer can mint).
    pub fn token_cache(mut self, max_entries: usize, ttl_secs: u64) -> Self {
        self.cache_entries = max_entries;
        self.cache_ttl_secs = ttl_secs;
        self
    }

    pub(crate) fn has_remote(&self) -> bool {
        self.remote.jwks_url.is_some() || self.remote.oidc_issuer.is_some()
    }

    /// The claim holding scopes: a space-separated string (`scope`) or an array
    /// (`scp`, `roles`); a dotted path reaches nested claims (`realm_access.roles`).
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.scope_claim = claim.into();
        self
    }
}

/// The whole authgate configuration, validated. Build it with [`AuthConfig::builder`].
#[derive(Clone)]
pub struct AuthConfig {
    pub(crate) realm: String,
    pub(crate) leeway_secs: u64,
    pub(crate) cors_preflight: CorsPreflight,
    pub(crate) problem_body: bool,
    pub(crate) max_token_bytes: usize,
    pub(crate) jwt: Option<JwtConfig>,
    pub(crate) api_keys: Vec<ApiKey>,
    pub(crate) basic: Option<BasicConfig>,
    pub(crate) clock: Clock,
    pub(crate) revocation: Option<RevocationCheck>,
    pub(crate) revocation_async: Option<AsyncRevocationCheck>,
    pub(crate) introspection: Option<crate::IntrospectionConfig>,
    pub(crate) resource: Option<crate::metadata::ProtectedResource>,
    /// Record the principal's subject as `enduser.id` on the request span.
    pub(crate) record_enduser_id: bool,
    pub(crate) limits: Option<crate::limits::LimitsConfig>,
    pub(crate) state: Option<crate::state::StateConfig>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.realm)
            .field("leeway_secs", &self.leeway_secs)
            .field("cors_preflight", &self.cors_preflight)
            .field("problem_body", &self.problem_body)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("jwt", &self.jwt)
            .field("api_keys", &self.api_keys)
            .field("basic", &self.basic)
            .field("clock", &"<fn>")
            .field("revocation", &self.revocation.as_ref().map(|_| "<fn>"))
            .field(
                "revocation_async",
                &self.revocation_async.as_ref().map(|_| "<fn>"),
            )
            .field("introspection", &self.introspection)
            .field("resource", &self.resource)
            .field("record_enduser_id", &self.record_enduser_id)
            .field("limits", &self.limits)
            .field("state", &self.state)
            .finish()
    }
}

impl AuthConfig {
    /// A builder with the documented defaults (realm `api`, leeway 30 s, preflights
    /// allowed, problem bodies on, tokens up to 16 384 bytes).
    pub fn builder() -> AuthConfigBuilder {
        AuthConfigBuilder::default()
    }

    /// The realm every challenge names.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The protected resource this configuration describes (RFC 9728), if any;
    /// its [`metadata_url`](crate::ProtectedResource::metadata_url) is set.
    pub fn resource(&self) -> Option<&crate::metadata::ProtectedResource> {
        self.resource.as_ref()
    }

    /// The same configuration with another clock, e.g. to ask whether a token
    /// would have passed at a given time (`authgate explain --at`).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How CORS preflights are treated.
    pub fn cors_preflight(&self) -> CorsPreflight {
        self.cors_preflight
    }

    /// The leeway for time claims, in seconds.
    pub fn leeway_secs(&self) -> u64 {
        self.leeway_secs
    }

    pub(crate) fn now_secs(&self) -> u64 {
        unix_secs(&self.clock)
    }
}

/// Unix seconds of a clock (0 before 1970).
pub(crate) fn unix_secs(clock: &Clock) -> u64 {
    clock()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Builder of [`AuthConfig`].
///
/// [`build`](Self::build) checks everything that can be checked before the first
/// request; an error names the setting and the fix.
///
/// ```
/// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey};
/// use http::{Request, Response, StatusCode, header};
/// use tower::{Layer, Service, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let ok = || tower::service_fn(|_req: Request<()>| async {
/// #     Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
/// # });
/// // Too short for HS256 (RFC 7518 §3.2): refused at start-up, not at the first request.
/// let err = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(b"short")))
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("32"), "{err}");
///
/// let cfg = AuthConfig::builder()
///     .realm("orders")
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(b"a secret of at least 32 bytes...")))
///     .build()?;
/// let mut svc = AuthLayer::new(cfg).layer(ok());
/// let res = svc.ready().await?.call(Request::new(())).await?;
/// assert_eq!(res.headers()[header::WWW_AUTHENTICATE], r#"Bearer realm="orders""#);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct AuthConfigBuilder {
    realm: String,
    leeway_secs: u64,
    cors_preflight: CorsPreflight,
    problem_body: bool,
    max_token_bytes: usize,
    jwt: Option<JwtConfig>,
    api_keys: Vec<ApiKey>,
    basic: Option<BasicConfig>,
    clock: Clock,
    revocation: Option<RevocationCheck>,
    revocation_async: Option<AsyncRevocationCheck>,
    introspection: Option<crate::IntrospectionConfig>,
    resource: Option<crate::metadata::ProtectedResource>,
    record_enduser_id: bool,
    limits: Option<crate::limits::LimitsConfig>,
    state: Option<crate::state::StateConfig>,
}

impl fmt::Debug for AuthConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfigBuilder")
            .field("realm", &self.realm)
            .field("jwt", &self.jwt)
            .finish_non_exhaustive()
    }
}

impl Default for AuthConfigBuilder {
    fn default() -> Self {
        AuthConfigBuilder {
            realm: "api".to_owned(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            cors_preflight: CorsPreflight::Allow,
            problem_body: true,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            jwt: None,
            api_keys: Vec::new(),
            basic: None,
            clock: Arc::new(SystemTime::now),
            revocation: None,
            revocation_async: None,
            introspection: None,
            resource: None,
            record_enduser_id: false,
            limits: None,
            state: None,
        }
    }
}

impl AuthConfigBuilder {
    /// The realm named in every challenge (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 30 s, at most 3600).
    pub fn leeway_secs(mut self, secs: u64) -> Self {
        self.leeway_secs = secs;
        self
    }

    /// How CORS preflights are treated (default [`CorsPreflight::Allow`]).
    pub fn cors_preflight(mut self, mode: CorsPreflight) -> Self {
        self.cors_preflight = mode;
        self
    }

    /// Whether the authenticated subject is recorded as `enduser.id` (the
    /// OpenTelemetry attribute) on the request span, when that span declares the
    /// field, e.g. one made by [`trace::request_span`](crate::trace::request_span).
    /// Default false: a user id is personal data, and traces often go to systems
    /// with other retention rules than logs; turn it on only where that is fine.
    pub fn record_enduser_id(mut self, on: bool) -> Self {
        self.record_enduser_id = on;
        self
    }

    /// Whether error responses carry an `application/problem+json` body (default true).
    pub fn problem_body(mut self, on: bool) -> Self {
        self.problem_body = on;
        self
    }

    /// Bearer tokens longer than this are rejected unparsed (default 16384).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Enables Bearer JWT verification.
    pub fn jwt(mut self, jwt: JwtConfig) -> Self {
        self.jwt = Some(jwt);
        self
    }

    /// Adds an opaque API key, sent as a Bearer token (enables Bearer).
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.api_keys.push(key);
        self
    }

    /// Enables Basic authentication with these users (RFC 7617).
    pub fn basic(mut self, basic: BasicConfig) -> Self {
        self.basic = Some(basic);
        self
    }

    /// Opaque Bearer tokens (no `.`, matching no API key) are checked at an
    /// introspection endpoint (RFC 7662; enables Bearer). See
    /// [`IntrospectionConfig`](crate::IntrospectionConfig).
    pub fn introspection(mut self, introspection: crate::IntrospectionConfig) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// Describes the protected resource (RFC 9728): every Bearer challenge on a
    /// 401 then carries `resource_metadata`, and the resource identifier becomes
    /// an accepted JWT audience besides those of [`JwtConfig::audience`] (so a
    /// token without `aud` is refused, as with any configured audience). Serve the
    /// document with [`ProtectedResourceMetadata`](crate::ProtectedResourceMetadata).
    pub fn resource(mut self, resource: crate::metadata::ProtectedResource) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Replaces the clock used for `exp`/`nbf`/`iat` (tests, offline tools).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// A revocation check: called with the `jti` of every otherwise valid token that
    /// has one; `true` rejects the token as `token_revoked`.
    pub fn revocation(mut self, check: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.revocation = Some(Arc::new(check));
        self
    }

    /// An asynchronous revocation check, for a lookup that does I/O (a database,
    /// a cache server): called like [`revocation`](Self::revocation), with the
    /// `jti` of every otherwise valid token that has one and the `id` of every
    /// matching API key; its future resolving to `true` rejects the request as
    /// `token_revoked`. The request waits for it without blocking the executor.
    /// A synchronous check, if also set, runs first.
    ///
    /// The future must own what it uses: copy the id out of the `&str`.
    ///
    /// ```
    /// # use authgate::{Algorithm, AuthConfig, JwtConfig, JwtKey};
    /// let cfg = AuthConfig::builder()
    ///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac([7u8; 32])))
    ///     .revocation_async(|jti: &str| {
    ///         let jti = jti.to_owned();
    ///         async move {
    ///             // e.g. `SELECT 1 FROM revoked WHERE jti = $1`
    ///             jti == "stolen-1"
    ///         }
    ///     })
    ///     .build()?;
    /// # Ok::<(), authgate::ConfigError>(())
    /// ```
    pub fn revocation_async<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(&str) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = bool> + Send + 'static,
    {
        self.revocation_async = Some(Arc::new(move |id: &str| Box::pin(check(id))));
        self
    }

    /// Failed-attempt limits: past `max_failures` failures for a user-id (or a
    /// client address) within the window, requests for it are answered 429
    /// `too_many_attempts` before anything is hashed or verified.
    pub fn limits(mut self, limits: crate::limits::LimitsConfig) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Shared state (revocations and failed-attempt counts shared by every
    /// instance through a store); see [`StateConfig`](crate::StateConfig).
    pub fn state(mut self, state: crate::state::StateConfig) -> Self {
        self.state = Some(state);
        self
    }

    /// Validates and builds the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the key and the fix: a realm that cannot be quoted,
    /// leeway over 3600 s, no scheme enabled, an empty algorithm list, no keys, a key
    /// that fits no allowed algorithm, an HMAC secret shorter than the hash output
    /// (RFC 7518 §3.2), duplicate `kid`s, an empty issuer/audience/scope claim.
    pub fn build(mut self) -> Result<AuthConfig, ConfigError> {
        check_realm(&self.realm)?;
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return Err(ConfigError::new(
                "leeway_secs",
                format!(
                    "{} s is more than the maximum of {MAX_LEEWAY_SECS} s; a leeway that large makes exp meaningless (30 is usual)",
                    self.leeway_secs
                ),
            ));
        }
        if self.max_token_bytes < 16 {
            return Err(ConfigError::new(
                "max_token_bytes",
                "must be at least 16 (the default 16384 fits any ordinary JWT)",
            ));
        }
        if self.jwt.is_none()
            && self.api_keys.is_empty()
            && self.basic.is_none()
            && self.introspection.is_none()
        {
            return Err(ConfigError::new(
                "bearer",
                "no scheme is enabled; configure [bearer.jwt], [[bearer.api_keys]], [bearer.introspection] or [basic]",
            ));
        }
        if let Some(introspection) = &self.introspection {
            introspection.check()?;
        }
        let mut ids = HashSet::new();
        for key in &self.api_keys {
            if !ids.insert(key.id.as_str()) {
                return Err(ConfigError::new(
                    format!(
                        "bearer.api_keys (id \"{}\")",
                        crate::event::sanitize_for_message(&key.id)
                    ),
                    "duplicate id; every API key needs its own id",
                ));
            }
        }
        if let Some(resource) = &mut self.resource {
            resource.check()?;
            // RFC 8707 §2: a token issued for this resource names it in `aud`.
            if let Some(jwt) = &mut self.jwt
                && !jwt.audiences.contains(&resource.id)
            {
                jwt.audiences.push(resource.id.clone());
            }
        }
        if let Some(jwt) = &mut self.jwt {
            if jwt.issuers.is_empty()
                && let Some(issuer) = &jwt.remote.oidc_issuer
            {
                // OIDC Discovery: the issuer is the expected `iss` unless configured.
                jwt.issuers.push(issuer.clone());
            }
            check_jwt(jwt)?;
        }
        if let Some(limits) = &self.limits {
            limits.check()?;
        }
        if let Some(state) = &self.state {
            state.check()?;
        }
        Ok(AuthConfig {
            realm: self.realm,
            leeway_secs: self.leeway_secs,
            cors_preflight: self.cors_preflight,
            problem_body: self.problem_body,
            max_token_bytes: self.max_token_bytes,
            jwt: self.jwt,
            api_keys: self.api_keys,
            basic: self.basic,
            clock: self.clock,
            revocation: self.revocation,
            revocation_async: self.revocation_async,
            introspection: self.introspection,
            resource: self.resource,
            record_enduser_id: self.record_enduser_id,
            limits: self.limits,
            state: self.state,
        })
    }
}

fn check_remote(remote: &RemoteKeysConfig) -> Result<(), ConfigError> {
    if !cfg!(feature = "jwks") {
        return Err(ConfigError::new(
            if remote.jwks_url.is_some() {
                "bearer.jwt.jwks_url"
            } else {
                "bearer.jwt.oidc_issuer"
            },
            "remote key sets need the `jwks` feature of authgate; enable it, or use static keys (public_key_pem_file, jwk_file)",
        ));
    }
    if remote.jwks_url.is_some() && remote.oidc_issuer.is_some() {
        return Err(ConfigError::new(
            "bearer.jwt.jwks_url",
            "set either jwks_url or oidc_issuer, not both (discovery finds the JWKS URL itself)",
        ));
    }
    #[cfg(feature = "jwks")]
    {
        if let Some(url) = &remote.jwks_url {
            crate::verify::remote::check_url(
                url,
                remote.allow_insecure_http,
                "bearer.jwt.jwks_url",
            )?;
        }
        if let Some(issuer) = &remote.oidc_issuer {
            crate::verify::remote::check_issuer_url(
                issuer,
                remote.allow_insecure_http,
                "bearer.jwt.oidc_issuer",
            )?;
        }
        crate::verify::remote::root_store(remote.ca_file.as_deref(), "bearer.jwt.jwks_ca_file")?;
    }
    let ranges = [
        (
            "bearer.jwt.jwks_refresh_secs",
            remote.refresh_secs,
            1,
            86_400,
        ),
        (
            "bearer.jwt.jwks_refetch_cooldown_secs",
            remote.refetch_cooldown_secs,
            1,
            3_600,
        ),
        (
            "bearer.jwt.jwks_stale_secs",
            remote.stale_secs,
            0,
            30 * 86_400,
        ),
        ("bearer.jwt.jwks_timeout_secs", remote.timeout_secs, 1, 60),
    ];
    for (key, value, min, max) in ranges {
        if !(min..=max).contains(&value) {
            return Err(ConfigError::new(
                key,
                format!("{value} is outside [{min}, {max}]"),
            ));
        }
    }
    Ok(())
}

fn check_realm(realm: &str) -> Result<(), ConfigError> {
    // The realm goes into a quoted-string (RFC 9110 §5.6.4); keep it to visible
    // ASCII and space without '"' and '\' so no escaping is ever needed.
    if realm.is_empty()
        || !realm
            .bytes()
            .all(|b| (b == b' ' || b.is_ascii_graphic()) && b != b'"' && b != b'\\')
    {
        return Err(ConfigError::new(
            "realm",
            "must be non-empty visible ASCII without '\"' or '\\' (it is sent as a quoted-string)",
        ));
    }
    Ok(())
}

fn check_jwt(jwt: &JwtConfig) -> Result<(), ConfigError> {
    if jwt.algorithms.is_empty() {
        return Err(ConfigError::new(
            "bearer.jwt.algorithms",
            "the algorithm allow-list is empty; list the algorithms your issuer signs with, e.g. [\"RS256\"]",
        ));
    }
    if jwt.keys.is_empty() && !jwt.has_remote() {
        return Err(ConfigError::new(
            "bearer.jwt.keys",
            "no verification keys; add a [[bearer.jwt.keys]] entry (public_key_pem_file, jwk_file or secret_env), or jwks_url / oidc_issuer",
        ));
    }
    if jwt.has_remote() {
        check_remote(&jwt.remote)?;
    } else if jwt.remote.ca_file.is_some() {
        // A trust root for fetches that never happen is a mistake, not a no-op.
        return Err(ConfigError::new(
            "bearer.jwt.jwks_ca_file",
            "a CA bundle for the remote key set, but no jwks_url or oidc_issuer to fetch it from; set one of them, or remove jwks_ca_file (JwtConfig::jwks_ca_file)",
        ));
    }
    let mut kids = HashSet::new();
    for (i, key) in jwt.keys.iter().enumerate() {
        let at = match &key.kid {
            Some(kid) => format!(
                "bearer.jwt.keys[{i}] (kid \"{}\")",
                crate::event::sanitize_for_message(kid)
            ),
            None => format!("bearer.jwt.keys[{i}]"),
        };
        if let Some(kid) = &key.kid
            && !kids.insert(kid.as_str())
        {
            return Err(ConfigError::new(
                at,
                "duplicate kid; every key needs its own kid or tokens cannot name it",
            ));
        }
        let fitting: Vec<Algorithm> = jwt
            .algorithms
            .iter()
            .copied()
            .filter(|a| key.fits(*a))
            .collect();
        if fitting.is_empty() {
            let allowed: Vec<&str> = jwt.algorithms.iter().map(|a| a.as_str()).collect();
            return Err(ConfigError::new(
                at,
                format!(
                    "{} fits none of the allowed algorithms [{}]; add a matching algorithm to bearer.jwt.algorithms or remove the key",
                    key.key_type.describe(),
                    allowed.join(", ")
                ),
            ));
        }
        if key.key_type == KeyType::Hmac {
            let len = key.secret_len.unwrap_or(0);
            for alg in fitting {
                let min = alg.min_hmac_secret_len().unwrap_or(0);
                if len < min {
                    return Err(ConfigError::new(
                        at,
                        format!(
                            "the HMAC secret is {len} bytes; {alg} needs at least {min} (RFC 7518 §3.2). Generate one with `openssl rand -base64 {min}` and set secret_encoding = \"base64\""
                        ),
                    ));
                }
            }
        }
    }
    for (key, values) in [
        ("bearer.jwt.issuer", &jwt.issuers),
        ("bearer.jwt.audience", &jwt.audiences),
    ] {
        if values.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                key,
                "contains an empty string; remove it or give the exact value tokens carry",
            ));
        }
    }
    if jwt.cache_ttl_secs > 86_400 {
        return Err(ConfigError::new(
            "bearer.jwt.token_cache",
            "the TTL is over 86400 s; entries are re-verified at least daily (300 is usual)",
        ));
    }
    if jwt.required_claims.iter().any(String::is_empty) {
        return Err(ConfigError::new(
            "bearer.jwt.required_claims",
            "contains an empty claim name",
        ));
    }
    if jwt.scope_claim.is_empty() || jwt.scope_claim.split('.').any(str::is_empty) {
        return Err(ConfigError::new(
            "bearer.jwt.scope_claim",
            "must be a claim name or a dotted path such as realm_access.roles",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(len: usize) -> JwtKey {
        JwtKey::hmac(vec![1u8; len])
    }

    fn build(jwt: JwtConfig) -> Result<AuthConfig, ConfigError> {
        AuthConfig::builder().jwt(jwt).build()
    }

    #[test]
    fn defaults() {
        let cfg = build(JwtConfig::new([Algorithm::HS256]).key(hs(32))).unwrap();
        assert_eq!(cfg.realm, "api");
        assert_eq!(cfg.leeway_secs, 30);
        assert_eq!(cfg.max_token_bytes, 16384);
        assert!(cfg.problem_body);
        assert_eq!(cfg.cors_preflight, CorsPreflight::Allow);
    }

    #[test]
    fn empty_algorithm_list() {
        let err = build(JwtConfig::new([]).key(hs(32))).unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.algorithms");
        assert!(err.message().contains("empty"));
    }

    #[test]
    fn short_hmac_secret_names_rfc_and_length_not_value() {
        let err = build(JwtConfig::new([Algorithm::HS256]).key(hs(31).with_kid("h"))).unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.keys[0] (kid \"h\")");
        assert!(
            err.message().contains("31 bytes") && err.message().contains("RFC 7518 §3.2"),
            "{err}"
        );
        let err =
            build(JwtConfig::new([Algorithm::HS256, Algorithm::HS512]).key(hs(32))).unwrap_err();
        assert!(err.message().contains("HS512 needs at least 64"), "{err}");
    }

    #[test]
    fn key_type_fits_no_algorithm() {
        let err = build(JwtConfig::new([Algorithm::RS256]).key(hs(64))).unwrap_err();
        assert!(
            err.message()
                .contains("fits none of the allowed algorithms [RS256]"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_kid() {
        let err = build(
            JwtConfig::new([Algorithm::HS256])
                .key(hs(32).with_kid("a"))
                .key(hs(40).with_kid("a")),
        )
        .unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.keys[1] (kid \"a\")");
        assert!(err.message().contains("duplicate kid"));
    }

    #[test]
    fn no_keys_no_scheme_bad_realm_big_leeway() {
        assert_eq!(
            build(JwtConfig::new([Algorithm::HS256])).unwrap_err().key(),
            "bearer.jwt.keys"
        );
        assert_eq!(AuthConfig::builder().build().unwrap_err().key(), "bearer");
        let jwt = JwtConfig::new([Algorithm::HS256]).key(hs(32));
        let err = AuthConfig::builder()
            .realm("a\"b")
            .jwt(jwt.clone())
            .build()
            .unwrap_err();
        assert_eq!(err.key(), "realm");
        let err = AuthConfig::builder()
            .leeway_secs(86_400)
            .jwt(jwt.clone())
            .build()
            .unwrap_err();
        assert_eq!(err.key(), "leeway_secs");
        let err = build(jwt.scope_claim("a..b")).unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.scope_claim");
    }

    #[test]
    fn debug_redacts_credentials_in_key_set_urls() {
        let jwt = JwtConfig::new([Algorithm::RS256])
            .jwks_url("https://user:s3cret-pw@id.example.com/jwks?token=s3cret-q");
        let dbg = format!("{:?}", jwt.remote);
        assert!(!dbg.contains("s3cret"), "{dbg}");
        assert!(dbg.contains("id.example.com"), "{dbg}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let cfg = build(
            JwtConfig::new([Algorithm::HS256])
                .key(JwtKey::hmac(b"super-secret-value-0123456789abcdef")),
        )
        .unwrap();
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("super-secret"), "{dbg}");
        assert!(dbg.contains("[redacted]"));
    }
}
