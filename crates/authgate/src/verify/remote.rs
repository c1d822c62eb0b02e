//! Remote keys: a JWK Set fetched from `jwks_url`, or found through OpenID Connect
//! discovery (`oidc_issuer`), cached, refreshed before it goes stale, refetched
//! (rate-limited) for unknown `kid`s, and kept through outages for a bounded time.
//!
//! Timing decisions use the configuration's clock (unix seconds), so tests move
//! time by hand; the network fetch itself runs in a spawned task with a real
//! timeout. A request waits for at most one in-flight fetch (single-flight, a
//! `watch` channel), never longer than `jwks_timeout_secs`.
//!
//! Besides the on-demand refresh, a background timer task refreshes the set when
//! it falls due, so that an idle instance picks up a key rotation too. The task
//! starts the first time the key set is used inside a tokio runtime (`warm_up`
//! or the first request), holds only a weak reference, and ends once the layer
//! and its services are dropped.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, LOCATION};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use sha2::Digest as _;
use tokio::sync::watch;

use crate::config::{Clock, ConfigError, RemoteKeysConfig};
use crate::event::sanitize_for_message as clean;
use crate::verify::keys::JwtKey;

/// Largest JWK Set or discovery document accepted; a larger one is refused whole.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;
/// `Cache-Control: max-age` is clamped into this range (RFC 9111 §5.2.2.1).
const MAX_AGE_RANGE: (u64, u64) = (60, 86_400);

/// Why there are no keys when nothing runs the fetch, and the fix.
const NO_RUNTIME: &str = "the key set cannot be fetched: no tokio runtime (the fetch runs as a tokio task); run the service inside a tokio runtime, or call AuthLayer::warm_up in one";

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Keys from one successful fetch.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) keys: Vec<JwtKey>,
    /// Changes whenever the fetched key set differs from the previous one, so
    /// verified-token cache entries of removed keys are never served.
    pub(crate) generation: u64,
}

/// Where the key set comes from.
#[derive(Debug, Clone)]
enum Source {
    Jwks(Uri),
    Oidc { issuer: String, discovery: Uri },
}

#[derive(Debug, Default)]
struct State {
    in_flight: bool,
    /// When the last fetch started (unix seconds).
    last_attempt: Option<u64>,
    /// When the last fetch succeeded.
    last_success: Option<u64>,
    /// When the next refresh is due.
    next_refresh: u64,
    /// Until when the last good keys may serve (refresh interval + stale window).
    serve_until: u64,
    /// Start of the current failure streak (one WARN per streak).
    failing_since: Option<u64>,
    /// A secret-free description of the last failure.
    last_error: Option<String>,
    /// A permanent misconfiguration found while fetching (e.g. discovery issuer
    /// mismatch): reported by `warm_up` as a configuration error.
    fatal: Option<ConfigError>,
    /// The JWKS URL found through discovery.
    discovered: Option<Uri>,
    /// SHA-256 of the last good key-set document, and its generation.
    body_digest: Option<[u8; 32]>,
    key_generation: u64,
}

/// A remote key set shared by all clones of a layer.
pub(crate) struct RemoteKeys {
    source: Source,
    host: String,
    cfg: RemoteKeysConfig,
    clock: Clock,
    client: HttpsClient,
    state: Mutex<State>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    done: watch::Sender<u64>,
    /// Whether the refresh timer task is running.
    timer: AtomicBool,
    /// Whether a fetch was wanted outside a tokio runtime (reported once).
    no_runtime: AtomicBool,
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URLs may carry credentials: show the host and the (redacted) config.
        f.debug_struct("RemoteKeys")
            .field("host", &self.host)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// What waiting is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// There are no keys yet (or any more): wait for a fetch.
    FirstKeys,
    /// The token's `kid` is unknown: refetch, at most once per cooldown.
    UnknownKid,
}

impl RemoteKeys {
    pub(crate) fn new(cfg: RemoteKeysConfig, clock: Clock) -> Result<Arc<Self>, ConfigError> {
        let (source, host) = match (&cfg.jwks_url, &cfg.oidc_issuer) {
            (Some(url), _) => {
                let uri = check_url(url, cfg.allow_insecure_http, "bearer.jwt.jwks_url")?;
                let host = uri.host().unwrap_or_default().to_owned();
                (Source::Jwks(uri), host)
            }
            (None, Some(issuer)) => {
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let uri = check_url(
                    &discovery,
                    cfg.allow_insecure_http,
                    "bearer.jwt.oidc_issuer",
                )?;
                let host = uri.host().unwrap_or_default().to_owned();
                (
                    Source::Oidc {
                        issuer: issuer.clone(),
                        discovery: uri,
                    },
                    host,
                )
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "bearer.jwt.jwks_url",
                    "no remote key source configured",
                ));
            }
        };
        let connector = https_connector(
            cfg.timeout_secs,
            cfg.ca_file.as_deref(),
            "bearer.jwt.jwks_ca_file",
        )?;
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let (done, _) = watch::channel(0);
        Ok(Arc::new(RemoteKeys {
            source,
            host,
            cfg,
            clock,
            client,
            state: Mutex::new(State::default()),
            snapshot: RwLock::new(None),
            done,
            timer: AtomicBool::new(false),
            no_runtime: AtomicBool::new(false),
        }))
    }

    /// The key set's host, for details.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    fn now(&self) -> u64 {
        crate::config::unix_secs(&self.clock)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The keys to verify with now, without waiting. Starts a background refresh
    /// when one is due (stale-while-revalidate). `None` when there are no keys:
    /// never fetched, or the last good set is older than the stale window.
    pub(crate) fn current(self: &Arc<Self>) -> Option<Arc<Snapshot>> {
        self.ensure_timer();
        let now = self.now();
        let (due, expired) = {
            let st = self.lock();
            if let Some(ok) = st.last_success {
                crate::metrics::key_set_age(now.saturating_sub(ok));
            }
            (
                now >= st.next_refresh && !st.in_flight,
                now >= st.serve_until,
            )
        };
        if due {
            self.start_fetch(now, false);
        }
        if expired {
            return None;
        }
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits for keys: starts a fetch if allowed (single-flight; an unknown-kid
    /// refetch at most once per cooldown), then waits at most `jwks_timeout_secs`
    /// for the in-flight fetch. Returns whether a fetch completed while waiting.
    pub(crate) async fn wait(self: &Arc<Self>, why: Wait) -> bool {
        if tokio::runtime::Handle::try_current().is_err() {
            self.report_no_runtime();
            return false;
        }
        let mut rx = self.done.subscribe();
        let now = self.now();
        let in_flight = {
            let st = self.lock();
            st.in_flight
        } || self
            .start_fetch(now, why == Wait::UnknownKid || why == Wait::FirstKeys);
        if !in_flight {
            return false;
        }
        let wait = Duration::from_secs(self.cfg.timeout_secs) + Duration::from_millis(250);
        matches!(tokio::time::timeout(wait, rx.changed()).await, Ok(Ok(())))
    }

    /// Whether an unknown-kid refetch may start now (cooldown passed, none in flight).
    pub(crate) fn may_refetch(&self) -> bool {
        let now = self.now();
        let st = self.lock();
        st.in_flight
            || st
                .last_attempt
                .is_none_or(|t| now >= t.saturating_add(self.cfg.refetch_cooldown_secs))
    }

    /// Starts a fetch in a spawned task unless one is in flight or (when
    /// `rate_limited`) the cooldown since the last attempt has not passed.
    /// Returns whether a fetch is now in flight.
    fn start_fetch(self: &Arc<Self>, now: u64, rate_limited: bool) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.report_no_runtime();
            return false;
        };
        self.start_timer(&runtime);
        {
            let mut st = self.lock();
            if st.in_flight {
                return true;
            }
            if rate_limited
                && st
                    .last_attempt
                    .is_some_and(|t| now < t.saturating_add(self.cfg.refetch_cooldown_secs))
            {
                return false;
            }
            st.in_flight = true;
            st.last_attempt = Some(now);
        }
        let this = Arc::clone(self);
        runtime.spawn(async move { this.run_fetch().await });
        true
    }

    /// The fetch runs as a tokio task: without a runtime there are no keys, and
    /// Bearer JWT requests get 503. Said once, with the fix.
    fn report_no_runtime(&self) {
        if !self.no_runtime.swap(true, Ordering::AcqRel) {
            tracing::event!(
                target: "authgate",
                tracing::Level::WARN,
                jwks.host = %self.host,
                "{NO_RUNTIME}; Bearer JWT requests get 503 key_set_unavailable until it can be fetched"
            );
        }
    }

    /// The configuration key of the key set's source, for errors.
    fn source_key(&self) -> &'static str {
        match self.source {
            Source::Jwks(_) => "bearer.jwt.jwks_url",
            Source::Oidc { .. } => "bearer.jwt.oidc_issuer",
        }
    }

    /// Starts the refresh timer if it is not running and a runtime is at hand.
    fn ensure_timer(self: &Arc<Self>) {
        if !self.timer.load(Ordering::Acquire)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            self.start_timer(&runtime);
        }
    }

    fn start_timer(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        if self.timer.swap(true, Ordering::AcqRel) {
            return;
        }
        runtime.spawn(refresh_timer(Arc::downgrade(self)));
    }

    /// One step of the refresh timer: starts the refresh if it is due; returns
    /// how long to sleep before the next step (the time left until the refresh
    /// is due by the configured clock, at least a second).
    fn timer_step(self: &Arc<Self>) -> Duration {
        let now = self.now();
        let (due, left) = {
            let st = self.lock();
            (
                now >= st.next_refresh && !st.in_flight,
                st.next_refresh.saturating_sub(now),
            )
        };
        if due {
            self.start_fetch(now, false);
        }
        Duration::from_secs(left.clamp(1, MAX_AGE_RANGE.1))
    }

    async fn run_fetch(self: Arc<Self>) {
        let timeout = Duration::from_secs(self.cfg.timeout_secs);
        let result = match tokio::time::timeout(timeout, self.fetch()).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Transient(format!(
                "no complete answer within {} s (jwks_timeout_secs)",
                self.cfg.timeout_secs
            ))),
        };
        let now = self.now();
        let generation = {
            let mut st = self.lock();
            st.in_flight = false;
            match result {
                Ok((keys, max_age, digest)) => {
                    let interval = max_age.map_or(self.cfg.refresh_secs, |a| {
                        a.clamp(MAX_AGE_RANGE.0, MAX_AGE_RANGE.1)
                    });
                    if let Some(since) = st.failing_since.take() {
                        tracing::event!(
                            target: "authgate",
                            tracing::Level::INFO,
                            jwks.host = %self.host,
                            "key set fetched again after failing for {} s",
                            now.saturating_sub(since)
                        );
                    }
                    st.last_success = Some(now);
                    st.last_error = None;
                    crate::metrics::key_set_age(0);
                    if st.body_digest != Some(digest) {
                        st.body_digest = Some(digest);
                        st.key_generation += 1;
                        crate::metrics::key_set_fetch(crate::metrics::Fetch::Ok);
                    } else {
                        crate::metrics::key_set_fetch(crate::metrics::Fetch::NotModified);
                    }
                    st.next_refresh = now.saturating_add(interval);
                    st.serve_until = st.next_refresh.saturating_add(self.cfg.stale_secs);
                    *self
                        .snapshot
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some(Arc::new(Snapshot {
                            keys,
                            generation: st.key_generation,
                        }));
                }
                Err(failure) => {
                    crate::metrics::key_set_fetch(crate::metrics::Fetch::Error);
                    if let Some(ok) = st.last_success {
                        crate::metrics::key_set_age(now.saturating_sub(ok));
                    }
                    let (msg, fatal) = match failure {
                        Failure::Transient(m) => (m, None),
                        Failure::Fatal(e) => (e.to_string(), Some(e)),
                    };
                    if st.failing_since.is_none() {
                        // One WARN per failure streak, not per request.
                        tracing::event!(
                            target: "authgate",
                            tracing::Level::WARN,
                            jwks.host = %self.host,
                            error = %msg,
                            stale_keys = st.last_success.is_some(),
                            "key set refresh failed; {}",
                            if st.last_success.is_some() {
                                "serving the last good keys while retrying"
                            } else {
                                "no keys yet: Bearer JWT requests get 503 key_set_unavailable until the key set can be fetched"
                            }
                        );
                        st.failing_since = Some(now);
                    }
                    st.last_error = Some(msg);
                    if fatal.is_some() {
                        st.fatal = fatal;
                    }
                    // Retry after the cooldown, not the full refresh interval.
                    st.next_refresh = now
                        .saturating_add(self.cfg.refetch_cooldown_secs.min(self.cfg.refresh_secs));
                }
            }
            *self.done.borrow() + 1
        };
        self.done.send_replace(generation);
    }

    async fn fetch(&self) -> Result<(Vec<JwtKey>, Option<u64>, [u8; 32]), Failure> {
        let jwks_uri = match &self.source {
            Source::Jwks(uri) => uri.clone(),
            Source::Oidc { issuer, discovery } => {
                let known = self.lock().discovered.clone();
                match known {
                    Some(uri) => uri,
                    None => {
                        let uri = self.discover(issuer, discovery).await?;
                        self.lock().discovered = Some(uri.clone());
                        uri
                    }
                }
            }
        };
        let (body, max_age) = self.get(&jwks_uri).await?;
        let digest: [u8; 32] = sha2::Sha256::digest(&body).into();
        // The keys skipped from a document were reported when it was first
        // fetched; a refresh that brings the same document again is quiet.
        let seen = self.lock().body_digest == Some(digest);
        let keys = parse_jwk_set(&body, &self.host, seen)?;
        Ok((keys, max_age, digest))
    }

    /// OpenID Connect Discovery 1.0 §4: fetch the configuration and check that its
    /// `issuer` is exactly the configured one (§4.3) before trusting `jwks_uri`.
    async fn discover(&self, issuer: &str, discovery: &Uri) -> Result<Uri, Failure> {
        let (body, _) = self.get(discovery).await?;
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|_| Failure::Transient("the discovery document is not JSON".to_owned()))?;
        let found = doc
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if found != issuer {
            return Err(Failure::Fatal(ConfigError::new(
                "bearer.jwt.oidc_issuer",
                format!(
                    "the discovery document at {} names issuer \"{}\", not the configured \"{}\" (OpenID Connect Discovery §4.3); configure the issuer exactly as the provider spells it",
                    self.host,
                    clean(found),
                    clean(issuer)
                ),
            )));
        }
        let jwks = doc.get("jwks_uri").and_then(Value::as_str).ok_or_else(|| {
            Failure::Transient("the discovery document has no jwks_uri".to_owned())
        })?;
        // The provider's document, not this configuration, is wrong: a failed
        // fetch (retried, one WARN per failure streak), never a request to it.
        check_url(jwks, self.cfg.allow_insecure_http, "jwks_uri").map_err(|e| {
            Failure::Transient(format!(
                "the discovery document's jwks_uri is refused: {}",
                e.message()
            ))
        })
    }

    /// One GET with a size cap; redirects are not followed.
    async fn get(&self, uri: &Uri) -> Result<(Bytes, Option<u64>), Failure> {
        let req = Request::get(uri.clone())
            .header(
                http::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
            .header(
                http::header::USER_AGENT,
                concat!("authgate/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|_| Failure::Transient("cannot build the request".to_owned()))?;
        let res = self.client.request(req).await.map_err(|e| {
            Failure::Transient(format!(
                "cannot reach {}: {}",
                self.host,
                connect_reason(&e)
            ))
        })?;
        let status = res.status();
        if status.is_redirection() {
            let same_origin = res
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| l.parse::<Uri>().ok())
                .is_some_and(|l| l.host().is_none() || l.host() == uri.host());
            return Err(Failure::Transient(format!(
                "{} answered {} (a redirect{}); redirects are not followed: configure the final URL",
                self.host,
                status.as_u16(),
                if same_origin {
                    ""
                } else {
                    " to another origin"
                }
            )));
        }
        if status != StatusCode::OK {
            return Err(Failure::Transient(format!(
                "{} answered {}",
                self.host,
                status.as_u16()
            )));
        }
        let max_age = res
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let body = Limited::new(res.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    Failure::Transient(format!(
                        "the answer is larger than {MAX_BODY_BYTES} bytes; refused whole"
                    ))
                } else {
                    Failure::Transient("the connection failed while reading the answer".to_owned())
                }
            })?
            .to_bytes();
        Ok((body, max_age))
    }

    /// The time since the current failure streak began, and the last error, for hints.
    pub(crate) fn staleness(&self) -> Option<String> {
        let now = self.now();
        let st = self.lock();
        if st.failing_since.is_none()
            && st.last_success.is_none()
            && self.no_runtime.load(Ordering::Acquire)
        {
            return Some(NO_RUNTIME.to_owned());
        }
        let since = st.failing_since?;
        let error = st.last_error.as_deref().unwrap_or("unknown error");
        Some(match st.last_success {
            Some(ok) => format!(
                "keys from {} are stale: fetched {} s ago, refreshes failing for {} s ({error})",
                self.host,
                now.saturating_sub(ok),
                now.saturating_sub(since)
            ),
            None => format!(
                "keys from {} could not be fetched for {} s ({error})",
                self.host,
                now.saturating_sub(since)
            ),
        })
    }

    /// Fetches once (if no keys yet) and waits for it; a permanent
    /// misconfiguration found on the way is returned as a configuration error.
    pub(crate) async fn warm_up(self: &Arc<Self>) -> Result<bool, ConfigError> {
        if tokio::runtime::Handle::try_current().is_err() {
            self.report_no_runtime();
            return Err(ConfigError::new(self.source_key(), NO_RUNTIME));
        }
        if self.current().is_none() {
            self.wait(Wait::FirstKeys).await;
        }
        if let Some(fatal) = self.lock().fatal.clone() {
            return Err(fatal);
        }
        Ok(self.current().is_some())
    }
}

/// The refresh timer: refreshes the key set whenever it falls due, until the key
/// set is dropped (only a weak reference is held between steps). When the
/// runtime shuts down under it, the next use in a runtime starts it again.
async fn refresh_timer(keys: Weak<RemoteKeys>) {
    struct Running(Weak<RemoteKeys>);
    impl Drop for Running {
        fn drop(&mut self) {
            if let Some(keys) = self.0.upgrade() {
                keys.timer.store(false, Ordering::Release);
            }
        }
    }
    let running = Running(keys);
    loop {
        let Some(keys) = running.0.upgrade() else {
            return;
        };
        let sleep = keys.timer_step();
        drop(keys);
        tokio::time::sleep(sleep).await;
    }
}

/// The HTTP client's connector of remote key sets and token introspection:
/// HTTPS trusting [`root_store`] (plain HTTP only where [`check_url`] let it
/// through), HTTP/1.1, a connect timeout. `key` names the CA-file setting in
/// errors.
pub(crate) fn https_connector(
    timeout_secs: u64,
    ca_file: Option<&std::path::Path>,
    key: &str,
) -> Result<hyper_rustls::HttpsConnector<HttpConnector>, ConfigError> {
    let roots = root_store(ca_file, key)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new(key, format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(timeout_secs)));
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

/// The trust roots of HTTPS fetches: the bundled webpki roots (Mozilla's), or
/// with the `native-certs` feature the platform's certificate store; plus every
/// certificate of the PEM bundle `ca_file` (a private CA).
pub(crate) fn root_store(
    ca_file: Option<&std::path::Path>,
    key: &str,
) -> Result<rustls::RootCertStore, ConfigError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    #[cfg(feature = "native-certs")]
    {
        // Unreadable entries of the platform store are skipped, as browsers do.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
    }
    #[cfg(not(feature = "native-certs"))]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let Some(path) = ca_file else {
        return Ok(roots);
    };
    let pem = std::fs::read(path).map_err(|e| {
        ConfigError::new(key, format!("cannot read {}: {e}", path.display()))
            .with_kind(crate::config::ConfigErrorKind::Io)
    })?;
    let mut added = 0usize;
    for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|_| {
            ConfigError::new(
                key,
                format!(
                    "{}: PEM block {} is not a certificate; the file must hold `-----BEGIN CERTIFICATE-----` blocks",
                    path.display(),
                    i + 1
                ),
            )
        })?;
        roots.add(cert).map_err(|e| {
            ConfigError::new(
                key,
                format!(
                    "{}: certificate {} cannot be a trust root: {e}",
                    path.display(),
                    i + 1
                ),
            )
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(ConfigError::new(
            key,
            format!(
                "{} holds no PEM certificate; give the CA certificate(s) that signed the server's certificate",
                path.display()
            ),
        ));
    }
    Ok(roots)
}

/// Why a connection failed, secret-free: the TLS error when there is one (an
/// unknown issuer, a name mismatch, an expired certificate), else the kind.
pub(crate) fn connect_reason(e: &hyper_util::client::legacy::Error) -> String {
    // The TLS error sits inside one or more `io::Error`s, whose `source()` skips
    // the error they wrap: look inside with `get_ref()` as well.
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return format!("TLS handshake failed: {tls}");
        }
        source = match err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    connect_error(e).to_owned()
}

/// Why a fetch failed.
#[derive(Debug)]
enum Failure {
    /// Worth retrying (network, status, body).
    Transient(String),
    /// A configuration problem that retrying will not fix.
    Fatal(ConfigError),
}

/// `max-age` of a `Cache-Control` value (RFC 9111 §5.2.2.1).
fn max_age(value: &str) -> Option<u64> {
    value.split(',').find_map(|directive| {
        let (name, arg) = directive.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| arg.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

fn connect_error(e: &hyper_util::client::legacy::Error) -> &'static str {
    if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

/// A key-set URL: an absolute `https://` URL (RFC 3986 §4.3), or plain HTTP to a
/// loopback host or with `allow_insecure_http`. The parse is strict where
/// `http::Uri` is lenient: the port must be a number from 1 to 65535, the host a
/// DNS name or an IP address, and user-info and fragments are refused. Messages
/// never repeat the URL, which may hold credentials.
pub(crate) fn check_url(url: &str, allow_insecure: bool, key: &str) -> Result<Uri, ConfigError> {
    let bad = |why: &str| ConfigError::new(key, why.to_owned());
    // `http::Uri` drops a fragment without a word; '#' has no other place in a
    // URI (RFC 3986 §3.5).
    if url.contains('#') {
        return Err(bad(
            "the URL has a fragment (`#…`), which is never sent to the server; remove it",
        ));
    }
    let uri: Uri = url.parse().map_err(|_| {
        bad("not a valid URL (RFC 3986); expected e.g. https://id.example.com/.well-known/jwks.json")
    })?;
    let scheme = uri.scheme_str();
    if !matches!(scheme, Some("https" | "http")) {
        return Err(bad("the URL must start with https://"));
    }
    let authority = uri
        .authority()
        .map(http::uri::Authority::as_str)
        .unwrap_or_default();
    if authority.contains('@') {
        return Err(bad(
            "the URL has user-info (`user:password@`); a key set is public and credentials in its URL are refused: remove them",
        ));
    }
    let host = uri.host().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("the URL has no host"));
    }
    if !is_valid_host(host) {
        return Err(bad(
            "the URL's host is not a DNS name, an IPv4 address or a bracketed IPv6 address",
        ));
    }
    // With user-info refused, the authority is the host and an optional port.
    let after_host = authority.get(host.len()..).unwrap_or_default();
    if let Some(port) = after_host.strip_prefix(':') {
        let valid = !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p != 0);
        if !valid {
            // Not repeated: a pasted credential can land where a port goes.
            return Err(bad(
                "the URL's port is not a number from 1 to 65535; write host:port, or leave the port out for the default",
            ));
        }
    }
    if scheme == Some("http") && !(allow_insecure || is_loopback(host)) {
        return Err(bad(
            "plain http:// is accepted only for loopback hosts; use https://, or set allow_insecure_http = true for local development",
        ));
    }
    Ok(uri)
}

/// An OpenID Connect issuer: a key-set URL ([`check_url`]) without a query
/// (OpenID Connect Discovery 1.0 §2 allows neither query nor fragment), since
/// the discovery path is appended to it.
pub(crate) fn check_issuer_url(
    url: &str,
    allow_insecure: bool,
    key: &str,
) -> Result<Uri, ConfigError> {
    let uri = check_url(url, allow_insecure, key)?;
    if uri.query().is_some() || url.contains('?') {
        return Err(ConfigError::new(
            key,
            "an issuer has no query (`?…`) (OpenID Connect Discovery §2); configure it exactly as the provider's `iss` claim spells it",
        ));
    }
    Ok(uri)
}

/// A DNS name (letters, digits, '-' and '_' in dot-separated labels of 1 to 63
/// characters, not beginning or ending with '-'; one trailing dot allowed), a
/// dotted IPv4 address, or an IPv6 address in brackets without a zone (RFC 3986
/// §3.2.2). A name whose last label is all digits must be an IPv4 address.
fn is_valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[') {
        return inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let numeric_tail = name
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    labels_ok && (!numeric_tail || name.parse::<std::net::Ipv4Addr>().is_ok())
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses a JWK Set, skipping (with a logged reason) keys that RFC 7517/7518 make
/// unusable for verification, keys that cannot bind a signature (the checks of
/// [`JwtKey::from_jwk`]), and symmetric keys, which are never taken from a URL
/// (anyone who can read the URL could sign with them). Each skipped key is one
/// WARN, or one DEBUG when `seen` (this document was parsed and reported before).
fn parse_jwk_set(body: &[u8], host: &str, seen: bool) -> Result<Vec<JwtKey>, Failure> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|_| Failure::Transient("the answer is not JSON".to_owned()))?;
    let Some(items) = doc.get("keys").and_then(Value::as_array) else {
        return Err(Failure::Transient(
            "the answer is not a JWK Set (no \"keys\" array)".to_owned(),
        ));
    };
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        let kid = item.get("kid").and_then(Value::as_str).map(clean);
        let skip = |why: &str| {
            if seen {
                tracing::event!(
                    target: "authgate",
                    tracing::Level::DEBUG,
                    jwks.host = %host,
                    jwt.kid = kid.as_deref(),
                    "skipping a key of the remote key set: {why}"
                );
            } else {
                tracing::event!(
                    target: "authgate",
                    tracing::Level::WARN,
                    jwks.host = %host,
                    jwt.kid = kid.as_deref(),
                    "skipping a key of the remote key set: {why}"
                );
            }
        };
        if item.get("kty").and_then(Value::as_str) == Some("oct") {
            skip("symmetric (oct) keys are never taken from a URL");
            continue;
        }
        let jwk = match serde_json::from_value::<jsonwebtoken::jwk::Jwk>(item.clone()) {
            Ok(jwk) => jwk,
            Err(_) => {
                skip("not a JWK of a supported type (RSA, EC, OKP)");
                continue;
            }
        };
        match JwtKey::from_jwk(&jwk) {
            Ok(key) => {
                if key.kid().is_some() && keys.iter().any(|k: &JwtKey| k.kid() == key.kid()) {
                    // Both are kept; a token naming this kid tries each key that
                    // fits its alg.
                    tracing::event!(
                        target: "authgate",
                        tracing::Level::WARN,
                        jwks.host = %host,
                        jwt.kid = kid.as_deref(),
                        "the remote key set has two keys with the same kid"
                    );
                }
                keys.push(key);
            }
            Err(e) => skip(e.message()),
        }
    }
    Ok(keys)
}

/// [`parse_jwk_set`] for the fuzz targets (`--cfg fuzzing` builds only).
#[cfg(fuzzing)]
pub(crate) fn fuzz_parse_jwk_set(body: &[u8]) -> Option<Vec<JwtKey>> {
    parse_jwk_set(body, "fuzz.invalid", true).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_parsing() {
        assert_eq!(max_age("public, max-age=600"), Some(600));
        assert_eq!(max_age("Max-Age = 30"), Some(30));
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }

    #[test]
    fn urls() {
        assert!(check_url("https://id.example.com/jwks", false, "k").is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks", false, "k").is_ok());
        assert!(check_url("http://[::1]:8080/jwks", false, "k").is_ok());
        assert!(check_url("http://localhost/jwks", false, "k").is_ok());
        assert!(check_url("http://id.example.com/jwks", false, "k").is_err());
        assert!(check_url("http://id.example.com/jwks", true, "k").is_ok());
        assert!(check_url("ftp://id.example.com/jwks", true, "k").is_err());
        assert!(check_url("not a url", true, "k").is_err());
        assert!(check_url("/jwks", true, "k").is_err());
        assert!(check_url("https://id.example.com:443/jwks?x=1", false, "k").is_ok());
        assert!(check_url("https://a.b.c.example/jwks", false, "k").is_ok());
        for (bad, why) in [
            ("http://127.0.0.1:8443x/jwks", "port"),
            ("https://id.example.com:0/jwks", "port"),
            ("https://id.example.com:99999/jwks", "port"),
            ("https://id.example.com:/jwks", "port"),
            ("https://:443/jwks", "no host"),
            ("https://id.example.com./jwks.", "ok"),
            ("https://id-.example.com/jwks", "host"),
            ("https://1.2.3.4.5/jwks", "host"),
            ("https://256.1.1.1/jwks", "host"),
            ("https://[::1/jwks", "valid URL"),
            ("https://[fe80::1%25lo]/jwks", "host"),
            ("https://u@id.example.com/jwks", "user-info"),
            ("https://id.example.com/jwks#", "fragment"),
        ] {
            match check_url(bad, false, "k") {
                Ok(_) => assert_eq!(why, "ok", "{bad}"),
                Err(e) => {
                    assert_eq!(e.key(), "k");
                    assert!(e.message().contains(why), "{bad}: {e}");
                }
            }
        }
        assert!(check_issuer_url("https://id.example.com/realms/a", false, "k").is_ok());
        let err = check_issuer_url("https://id.example.com/?a=b", false, "k").unwrap_err();
        assert!(err.message().contains("query"), "{err}");
        assert!(check_issuer_url("https://id.example.com/?", false, "k").is_err());
    }

    #[test]
    fn jwk_set_skips_unusable_keys() {
        let body = br#"{"keys":[
            {"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","kid":"h"},
            {"kty":"EC","crv":"P-256","use":"enc","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty":"EC","crv":"P-256","kid":"s","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"small"},
            {"kty":"XYZ","kid":"x"}
        ]}"#;
        let keys = parse_jwk_set(body, "h", false).unwrap();
        assert_eq!(keys.len(), 1);
        // Two keys with one kid are both kept (each is tried).
        let dup = br#"{"keys":[
            {"kty":"EC","crv":"P-256","kid":"d","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty":"EC","crv":"P-256","kid":"d","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]}"#;
        assert_eq!(parse_jwk_set(dup, "h", false).unwrap().len(), 2);
        assert_eq!(keys[0].kid(), Some("s"));
        assert!(parse_jwk_set(b"<html>", "h", false).is_err());
        assert!(parse_jwk_set(br#"{"keys":"x"}"#, "h", false).is_err());
    }
}
