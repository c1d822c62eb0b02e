//! The decision for one request: credentials in, principal or failure out.
//! No I/O on the synchronous path; the two slow cases (password hashing, waiting
//! for a remote key set) come back as a future for the service to await.

// `Failure` carries every field of the rejection event; it travels only on the
// rejection path, where its size costs nothing next to building a response.
#![allow(clippy::result_large_err)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::header::{
    ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, FORWARDED, ORIGIN, PROXY_AUTHORIZATION,
};
use http::{Extensions, HeaderMap, Method, Uri};

use crate::challenge::Responder;
use crate::config::{AsyncRevocationCheck, AuthConfig, CorsPreflight, RevocationCheck};
use crate::credentials::{self, Credentials, Missing, Parsed, SchemeLabel};
use crate::event::{fingerprint_of_bytes, token_fingerprint};
use crate::limits::Limiter;
use crate::metrics::Verifier;
use crate::principal::Principal;
use crate::reason::Reason;
use crate::rejection::{Failure, NO_AUTHORIZATION_HEADER};
use crate::revocation::{Kind, Revocations};
use crate::verify::api_key;
use crate::verify::basic::BasicVerifier;
use crate::verify::cache::{CachedEntry, Key, TokenCache};
use crate::verify::introspection::Introspector;
use crate::verify::jwt::JwtVerifier;
use crate::verify::remote::{RemoteKeys, Wait};

/// A verification that has to wait (password hash off the executor, remote keys).
pub(crate) type Pending = Pin<Box<dyn Future<Output = Result<Principal, Failure>> + Send>>;

/// Everything the layer needs per request, shared by all clones.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: AuthConfig,
    pub(crate) jwt: Option<JwtVerifier>,
    pub(crate) remote: Option<Arc<RemoteKeys>>,
    /// Verified JWTs; `None` when turned off.
    token_cache: Option<TokenCache<CachedJwt>>,
    pub(crate) basic: Option<Arc<BasicVerifier>>,
    /// Opaque tokens checked at an introspection endpoint (RFC 7662).
    pub(crate) introspection: Option<Arc<Introspector>>,
    pub(crate) responder: Responder,
    /// Requests without credentials pass on with no principal.
    pub(crate) optional: bool,
    /// Failed-attempt limits, when configured.
    pub(crate) limiter: Option<Arc<Limiter>>,
    /// Revocations made at run time ([`crate::AuthLayer::revocations`]).
    pub(crate) revocations: Revocations,
    /// The run-time set, then the application's check, for a `jti`.
    revoked_jti: crate::revocation::Check,
    /// The same for an API key id.
    revoked_key: crate::revocation::Check,
    /// The shared store, when `[state]` is configured.
    pub(crate) state: Option<crate::state::Store>,
}

/// What a verified-token cache hit gives back.
#[derive(Debug)]
struct CachedJwt {
    principal: Principal,
    kid: Option<String>,
    iss: Option<String>,
    jti: Option<String>,
}

/// The key-set generation of a request: static keys never change (0); remote keys
/// change with every different document; no keys at all never hit the cache.
const NO_KEYS: u64 = u64::MAX;

/// What to do with a request.
pub(crate) enum Decision {
    /// Pass on, with a principal or anonymously.
    Pass(Option<Principal>),
    /// Answer with this failure.
    Reject(Box<Failure>),
    /// Await this verification, then pass on or answer.
    Pending(Pending),
}

/// The outcome of the synchronous Bearer JWT path.
#[allow(clippy::large_enum_variant)] // `Done` is the common case; boxing it would allocate per request
enum JwtStep {
    Done(Result<Principal, Failure>),
    /// No key fits yet: wait for the remote key set, then try once more.
    AwaitKeys(Arc<RemoteKeys>, Wait),
    /// An opaque token with no cached answer: ask the introspection endpoint.
    Introspect(Arc<Introspector>, String),
}

impl Shared {
    pub(crate) fn new(cfg: AuthConfig, optional: bool) -> Self {
        let jwt = cfg
            .jwt
            .clone()
            .map(|j| JwtVerifier::new(j, cfg.leeway_secs));
        // Validated by `AuthConfigBuilder::build`; should it still fail, Bearer JWT
        // requests that need remote keys answer 503 and the cause is logged.
        let remote = cfg.jwt.as_ref().filter(|j| j.has_remote()).and_then(|j| {
            RemoteKeys::new(j.remote.clone(), Arc::clone(&cfg.clock))
                .inspect_err(
                    |e| tracing::error!(target: "authgate", "remote key set disabled: {e}"),
                )
                .ok()
        });
        let basic = cfg.basic.clone().map(|b| Arc::new(BasicVerifier::new(b)));
        // Validated by `AuthConfigBuilder::build` too; should it still fail,
        // opaque tokens are not introspected and the cause is logged.
        let introspection = Introspector::new(&cfg)
            .inspect_err(
                |e| tracing::error!(target: "authgate", "token introspection disabled: {e}"),
            )
            .ok()
            .flatten();
        let token_cache = cfg.jwt.as_ref().filter(|j| j.cache_entries > 0).map(|j| {
            TokenCache::new(
                j.cache_entries,
                std::time::Duration::from_secs(j.cache_ttl_secs),
            )
        });
        let bearer = jwt.is_some() || !cfg.api_keys.is_empty() || cfg.introspection.is_some();
        let mut responder = Responder::new(&cfg.realm, bearer, basic.is_some(), cfg.problem_body);
        if let Some(jwt) = cfg.jwt.as_ref().filter(|j| j.has_remote()) {
            responder = responder.with_retry_after(jwt.remote.refetch_cooldown_secs);
        }
        if let Some(resource) = &cfg.resource {
            responder = responder.with_resource_metadata(resource.metadata_url());
        }
        let revocations = Revocations::new(Arc::clone(&cfg.clock));
        let revoked = |kind: Kind| -> RevocationCheck {
            let set = revocations.clone();
            match cfg.revocation.clone() {
                Some(check) => Arc::new(move |id: &str| set.contains(kind, id) || check(id)),
                None => Arc::new(move |id: &str| set.contains(kind, id)),
            }
        };
        let revoked_jti = crate::revocation::Check(revoked(Kind::Jti));
        let revoked_key = crate::revocation::Check(revoked(Kind::ApiKey));
        let limiter = cfg.limits.clone().map(|l| Arc::new(Limiter::new(l)));
        let state = cfg
            .state
            .as_ref()
            .map(|s| crate::state::Store::new(s, &revocations, limiter.clone(), &cfg.clock));
        Shared {
            cfg,
            jwt,
            remote,
            token_cache,
            basic,
            introspection,
            responder,
            optional,
            limiter,
            revocations,
            revoked_jti,
            revoked_key,
            state,
        }
    }

    /// A CORS preflight that the configuration lets through unauthenticated.
    pub(crate) fn is_preflight_pass(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> bool {
        self.cfg.cors_preflight == CorsPreflight::Allow && is_cors_preflight(method, uri, headers)
    }

    fn bearer_enabled(&self) -> bool {
        self.jwt.is_some() || !self.cfg.api_keys.is_empty() || self.introspection.is_some()
    }

    fn basic_enabled(&self) -> bool {
        self.basic.is_some()
    }

    pub(crate) fn decide(
        self: &Arc<Self>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        ext: &Extensions,
    ) -> Decision {
        if self.is_preflight_pass(method, uri, headers) {
            return Decision::Pass(None);
        }
        if let Some(state) = &self.state
            && let Some(f) = state.refuse()
        {
            return Decision::Reject(Box::new(f));
        }
        let Some(limiter) = &self.limiter else {
            return self.decide_credentials(uri, headers);
        };
        // The limits come first: a refused key costs no hash and no signature.
        let keys = limiter.keys(headers, ext);
        let now = self.cfg.now_secs();
        if let Some(f) = limiter.refuse(&keys, now) {
            return Decision::Reject(Box::new(f));
        }
        let decision = self.decide_credentials(uri, headers);
        crate::limits::follow(self, limiter, keys, decision)
    }

    fn decide_credentials(self: &Arc<Self>, uri: &Uri, headers: &HeaderMap) -> Decision {
        let result = match credentials::parse_unchecked(headers, uri) {
            Parsed::Bearer(token) if self.bearer_enabled() => {
                let decision = match self.bearer(token, true) {
                    JwtStep::Done(Ok(principal)) => Decision::Pass(Some(principal)),
                    JwtStep::Done(Err(f)) => Decision::Reject(Box::new(f)),
                    JwtStep::AwaitKeys(remote, why) => {
                        let shared = Arc::clone(self);
                        let token = token.to_vec();
                        Decision::Pending(Box::pin(async move {
                            remote.wait(why).await;
                            match shared.bearer(&token, false) {
                                JwtStep::Done(result) => result,
                                // Unreachable: `may_wait == false`, and a token
                                // that waited for keys has a '.'; fail closed.
                                JwtStep::AwaitKeys(..) | JwtStep::Introspect(..) => {
                                    Err(shared.keys_unavailable(&token))
                                }
                            }
                        }))
                    }
                    JwtStep::Introspect(introspector, token) => {
                        Decision::Pending(Box::pin(introspector.introspect(token)))
                    }
                };
                return match &self.cfg.revocation_async {
                    Some(check) => self.then_revocation(check, token, decision),
                    None => decision,
                };
            }
            parsed => match parsed.checked() {
                Credentials::Basic(creds) => {
                    let Some(basic) = &self.basic else {
                        return Decision::Reject(Box::new(self.not_enabled(SchemeLabel::Basic)));
                    };
                    let timer = crate::metrics::Timer::start();
                    match basic.check_cached(&creds.user, &creds.password) {
                        Some(result) => {
                            timer.verified(Verifier::Basic, result.is_ok());
                            result.map(Some)
                        }
                        None => {
                            let pending = Arc::clone(basic).verify(creds);
                            return Decision::Pending(Box::pin(crate::metrics::timed(
                                pending,
                                timer,
                                Verifier::Basic,
                            )));
                        }
                    }
                }
                other => self.authenticate(other, headers),
            },
        };
        match result {
            Ok(p) => Decision::Pass(p),
            Err(f) => Decision::Reject(Box::new(f)),
        }
    }

    /// After a Bearer principal is accepted, the application's asynchronous
    /// revocation check (the last check, as the synchronous one is).
    fn then_revocation(
        self: &Arc<Self>,
        check: &AsyncRevocationCheck,
        token: &[u8],
        decision: Decision,
    ) -> Decision {
        let pending: Pending = match decision {
            Decision::Pass(Some(principal)) => Box::pin(std::future::ready(Ok(principal))),
            Decision::Pending(pending) => pending,
            rejected_or_anonymous => return rejected_or_anonymous,
        };
        let check = Arc::clone(check);
        // The header parsed as a Bearer token, so it is visible ASCII.
        let token = String::from_utf8_lossy(token).into_owned();
        Decision::Pending(Box::pin(async move {
            let principal = pending.await?;
            let id = match principal.claims() {
                Some(claims) => claims
                    .get("jti")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                // An API key: its configured id.
                None if !principal.is_jwt() => principal.subject().map(str::to_owned),
                None => None,
            };
            let Some(id) = id else {
                return Ok(principal);
            };
            if !check(&id).await {
                return Ok(principal);
            }
            let detail = if principal.is_jwt() {
                "the token's id (jti) is revoked"
            } else {
                "the API key is revoked"
            };
            let mut f = Failure::new(Reason::TokenRevoked, SchemeLabel::Bearer, detail);
            crate::authorize::bearer_fields(&mut f, &principal, Some(&token));
            Err(f)
        }))
    }

    fn authenticate(
        &self,
        creds: Credentials<'_>,
        headers: &HeaderMap,
    ) -> Result<Option<Principal>, Failure> {
        match creds {
            Credentials::Missing(_) if self.optional => Ok(None),
            Credentials::Missing(kind) => Err(missing(kind, headers)),
            Credentials::Bearer(_) => Err(self.not_enabled(SchemeLabel::Bearer)),
            Credentials::Basic(_) => Err(self.not_enabled(SchemeLabel::Basic)),
            Credentials::Malformed { scheme, .. } if !self.scheme_enabled(scheme) => Err(self.not_enabled(scheme)),
            Credentials::Malformed { scheme, detail } => Err(malformed(scheme, detail)),
            Credentials::Multiple { scheme, detail } => {
                Err(Failure::new(Reason::MultipleCredentials, scheme, detail).hint(
                    "send exactly one credential, in one Authorization header (RFC 6750 §2, RFC 9110 §11.6.2)",
                ))
            }
            Credentials::Unsupported(label) => Err(self.unsupported(label)),
        }
    }

    fn scheme_enabled(&self, scheme: SchemeLabel) -> bool {
        match scheme {
            SchemeLabel::Bearer => self.bearer_enabled(),
            SchemeLabel::Basic => self.basic_enabled(),
            _ => false,
        }
    }

    fn accepted(&self) -> &'static str {
        match (self.bearer_enabled(), self.basic_enabled()) {
            (true, true) => "Bearer and Basic",
            (false, true) => "Basic",
            _ => "Bearer",
        }
    }

    fn not_enabled(&self, scheme: SchemeLabel) -> Failure {
        let f = Failure::new(
            Reason::UnsupportedScheme,
            scheme,
            format!(
                "the {} scheme is not enabled; this server accepts {}",
                scheme.as_str(),
                self.accepted()
            ),
        );
        match scheme {
            SchemeLabel::Basic => f.hint(
                "Basic credentials were sent where only Bearer is enabled: send `Authorization: Bearer <token>` (a client or proxy may be adding Basic credentials of its own)",
            ),
            _ => f.hint("Bearer credentials were sent where only Basic is enabled"),
        }
    }

    fn unsupported(&self, label: SchemeLabel) -> Failure {
        let accepted = self.accepted();
        match label {
            SchemeLabel::Other(name) if name.is_unknown() => Failure::new(
                Reason::UnsupportedScheme,
                label,
                format!("the Authorization header does not start with a supported scheme; this server accepts {accepted}"),
            )
            .hint("send `Authorization: Bearer <token>`: either a token was sent without the `Bearer ` prefix, or with a scheme authgate does not know (its name is not logged, since the header's first word may be a credential)"),
            _ => {
                let f = Failure::new(
                    Reason::UnsupportedScheme,
                    label,
                    format!(
                        "the \"{}\" authentication scheme (the first word of the Authorization header) is not supported; this server accepts {accepted}",
                        label.as_str()
                    ),
                );
                match self.scheme_hint(label.as_str()) {
                    Some(hint) => f.hint(hint),
                    None => f,
                }
            }
        }
    }

    /// A hint for a scheme that is often sent by mistake.
    fn scheme_hint(&self, scheme: &str) -> Option<&'static str> {
        match scheme {
            // `Authorization: Token <key>` (Django REST framework, GitHub's old
            // form), `JWT <token>` (old flask-jwt), `ApiKey`, `Key`: the same
            // credential under another name.
            "token" | "jwt" | "apikey" | "api-key" | "key" | "access-token"
                if self.bearer_enabled() =>
            {
                Some(
                    "send the same credential with the Bearer scheme: `Authorization: Bearer <token>` (RFC 6750 §2.1); the client or its SDK is configured for another API's scheme",
                )
            }
            "digest" | "negotiate" | "ntlm" | "kerberos" | "aws4-hmac-sha256" => Some(
                "the client is set up for another kind of server; configure it to send a Bearer token or Basic credentials, whichever this server accepts",
            ),
            _ => None,
        }
    }

    /// The Bearer path. `raw` is the token as sent, its characters not checked
    /// yet. `may_wait`: whether a missing key may send the request to wait for
    /// the remote key set (once; the retry after waiting may not).
    fn bearer(&self, raw: &[u8], may_wait: bool) -> JwtStep {
        let timer = crate::metrics::Timer::start();
        let mut cached = false;
        let step = self.bearer_steps(raw, may_wait, &mut cached);
        // A step that waits for keys is not a finished verification: the retry
        // after the wait is measured.
        if let JwtStep::Done(_) = step {
            timer.verified(Verifier::Bearer, cached);
        }
        step
    }

    /// [`bearer`](Self::bearer), setting `cached` when the token cache answered.
    fn bearer_steps(&self, raw: &[u8], may_wait: bool, cached: &mut bool) -> JwtStep {
        // Only what may be a JWT reads the key set and the cache: API keys have
        // no '.'; without API keys every token goes to the JWT verifier.
        let may_be_jwt =
            self.jwt.is_some() && (self.cfg.api_keys.is_empty() || raw.contains(&b'.'));
        let now = self.cfg.now_secs();
        let snapshot = self
            .remote
            .as_ref()
            .filter(|_| may_be_jwt)
            .and_then(RemoteKeys::current);
        let generation = match (&self.remote, &snapshot) {
            (None, _) => 0,
            (Some(_), Some(s)) => s.generation,
            (Some(_), None) => NO_KEYS,
        };
        // The cache key, once.
        let key = self
            .token_cache
            .as_ref()
            .filter(|_| may_be_jwt && generation != NO_KEYS)
            .and_then(|c| c.key_of(raw));
        // A hit is served before anything else reads the token: a hit is a token
        // byte-identical to one that passed every check below, the RFC 6750 §2.1
        // character check included, so it would pass them again (that
        // check was a third of a hit's cost for a 650-byte token).
        if let Some(key) = &key {
            let hit = self.cached(key, now, generation);
            crate::metrics::token_cache(hit.is_some());
            if let Some(hit) = hit {
                *cached = true;
                return JwtStep::Done(Ok(hit));
            }
        }
        let token = match credentials::check_bearer(raw) {
            Ok(token) => token,
            Err(detail) => return JwtStep::Done(Err(malformed(SchemeLabel::Bearer, detail))),
        };
        let with_fp = |mut f: Failure| {
            f.token_fp = Some(token_fingerprint(token));
            f
        };
        let fail = |f: Failure| JwtStep::Done(Err(with_fp(f)));
        if token.len() > self.cfg.max_token_bytes {
            return fail(Failure::new(
                Reason::TokenMalformed,
                SchemeLabel::Bearer,
                format!(
                    "the token is {} bytes, over max_token_bytes ({})",
                    token.len(),
                    self.cfg.max_token_bytes
                ),
            ));
        }
        if !token.contains('.')
            && let Some(introspector) = &self.introspection
            && api_key::lookup(&self.cfg.api_keys, token).is_none()
        {
            // An opaque token that is no API key (RFC 7662).
            return match introspector.cached(token) {
                Some(result) => JwtStep::Done(result),
                None => JwtStep::Introspect(Arc::clone(introspector), token.to_owned()),
            };
        }
        if !self.cfg.api_keys.is_empty() && !token.contains('.') {
            return JwtStep::Done(self.api_key(token).map_err(with_fp));
        }
        let Some(jwt) = &self.jwt else {
            return fail(Failure::new(
                Reason::TokenMalformed,
                SchemeLabel::Bearer,
                "the token contains '.', so it is not an API key, and JWTs are not enabled",
            ));
        };
        if !token.contains('.') {
            return fail(Failure::new(
                Reason::TokenMalformed,
                SchemeLabel::Bearer,
                "the token is not a JWT (it has no '.') and no API keys are configured",
            )
            .hint("an opaque token: the client may be sending a refresh token, an API key or a session id instead of a JWT access token"));
        }
        let for_cache = key.is_some();
        let verified = match jwt.verify(
            token,
            now,
            Some(&self.revoked_jti.0),
            snapshot.as_deref(),
            for_cache,
        ) {
            Ok(v) => v,
            Err(f) => {
                let Some(remote) = &self.remote else {
                    return fail(f);
                };
                let no_keys = snapshot.as_ref().is_none_or(|s| s.keys.is_empty());
                if f.key_missing && no_keys {
                    // No usable remote key and no static key fits → 503.
                    return if may_wait {
                        JwtStep::AwaitKeys(Arc::clone(remote), Wait::FirstKeys)
                    } else {
                        JwtStep::Done(Err(self.keys_unavailable(raw)))
                    };
                }
                if f.key_missing && may_wait && remote.may_refetch() {
                    return JwtStep::AwaitKeys(Arc::clone(remote), Wait::UnknownKid);
                }
                return fail(with_remote_context(f, remote));
            }
        };
        let principal = verified.principal;
        if let (Some(cache), Some(key), Some(kept)) = (&self.token_cache, key, verified.cache) {
            let value = CachedJwt {
                principal: principal.clone(),
                kid: kept.kid,
                iss: kept.iss,
                jti: kept.jti,
            };
            cache.insert_key(&key, CachedEntry::new(value, kept.time, generation, now));
        }
        JwtStep::Done(Ok(principal))
    }

    /// A verified-token cache hit: the cache re-checked the time claims; the
    /// revocation check runs on every request (a revoked `jti` is a miss, and the
    /// full verification then names the reason).
    fn cached(&self, key: &Key<'_>, now: u64, generation: u64) -> Option<Principal> {
        let hit = self
            .token_cache
            .as_ref()?
            .get_key(key, now, self.cfg.leeway_secs, generation)?;
        let v = &hit.value;
        if let Some(jti) = v.jti.as_deref()
            && (self.revoked_jti.0)(jti)
        {
            return None;
        }
        crate::event::authenticated(
            "bearer",
            v.principal.subject(),
            v.kid.as_deref(),
            v.iss.as_deref(),
        );
        Some(v.principal.clone())
    }

    /// 503 `key_set_unavailable`: the remote key set cannot be had and no static
    /// key fits. Not a 401: the client's token may well be valid.
    fn keys_unavailable(&self, token: &[u8]) -> Failure {
        let host = self.remote.as_ref().map_or("", |r| r.host());
        let mut f = Failure::new(
            Reason::KeySetUnavailable,
            SchemeLabel::Bearer,
            format!("no usable keys from the key set at {host}"),
        );
        f.hint = self
            .remote
            .as_ref()
            .and_then(|r| r.staleness())
            .map(Into::into);
        f.token_fp = Some(fingerprint_of_bytes(token));
        f
    }
}

/// 400 `malformed_credentials` (401 for Basic) with the parser's
/// sentence.
fn malformed(scheme: SchemeLabel, detail: &'static str) -> Failure {
    let f = Failure::new(Reason::MalformedCredentials, scheme, detail);
    if detail == "the Bearer token is empty" {
        f.hint("the header is `Bearer ` with nothing after it: is the variable holding the token set? (`Bearer $UNSET`)")
    } else {
        f
    }
}

/// Names the key set's host in the detail of key-related failures, and says in
/// the hint whether the keys are stale and since when.
fn with_remote_context(mut f: Failure, remote: &RemoteKeys) -> Failure {
    if matches!(f.reason, Reason::UnknownKey | Reason::SignatureInvalid) {
        f.detail = format!("{} (keys from {})", f.detail, remote.host()).into();
        if let Some(stale) = remote.staleness() {
            f.hint = Some(match f.hint.take() {
                Some(h) => format!("{stale}; {h}").into(),
                None => stale.into(),
            });
        }
    }
    f
}

impl Shared {
    /// A Bearer token without `.` is looked up as an API key.
    fn api_key(&self, token: &str) -> Result<Principal, Failure> {
        let Some(key) = api_key::lookup(&self.cfg.api_keys, token) else {
            return Err(Failure::new(
                Reason::UnknownApiKey,
                SchemeLabel::Bearer,
                "the token matches no configured API key",
            )
            .hint("check for a truncated, stale or mistyped key (keys are case-sensitive), or a key from another environment"));
        };
        if (self.revoked_key.0)(&key.id) {
            let mut f = Failure::new(
                Reason::TokenRevoked,
                SchemeLabel::Bearer,
                "the API key is revoked",
            );
            f.key_id = Some(key.id.clone());
            return Err(f);
        }
        crate::event::authenticated("bearer", Some(&key.id), None, None);
        Ok(Principal::new(
            Some(key.id.clone()),
            crate::principal::Scheme::Bearer,
            key.scopes.clone(),
        ))
    }
}

fn missing(kind: Missing, headers: &HeaderMap) -> Failure {
    let f =
        |detail: &'static str| Failure::new(Reason::MissingCredentials, SchemeLabel::None, detail);
    match kind {
        Missing::EmptyHeader => f("the Authorization header is present but empty")
            .hint("an empty header is often `Bearer $TOKEN` with the variable unset, or a proxy blanking it"),
        Missing::QueryToken => f("the request has no Authorization header; a token in the access_token query parameter is never accepted")
            .hint("send the token as `Authorization: Bearer <token>`; query tokens leak into logs and caches (RFC 6750 §2.3, §5.3)"),
        Missing::NoHeader if headers.contains_key(PROXY_AUTHORIZATION) => f(NO_AUTHORIZATION_HEADER)
            .hint("the credentials were sent in Proxy-Authorization, which is meant for proxies; send them in Authorization"),
        Missing::NoHeader if headers.contains_key(FORWARDED) || headers.contains_key("x-forwarded-for") => {
            f(NO_AUTHORIZATION_HEADER).hint(
                "the request came through a proxy (Forwarded / X-Forwarded-For present) that may have stripped the Authorization header; check that the proxy passes it on",
            )
        }
        Missing::NoHeader => f(NO_AUTHORIZATION_HEADER),
    }
}

/// A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`
/// (Fetch standard §3.2.2), and no credentials.
///
/// A browser never sends credentials on a preflight: the Fetch standard's
/// CORS-preflight request carries no `Authorization` header (its credentials mode
/// is "omit"), and a token in the query would be the page's own choice. A request
/// that has the preflight's shape *and* credentials is not from a browser's CORS
/// machinery, so it is authenticated like any other request; letting it through
/// would let anyone reach the inner service by adding two headers.
fn is_cors_preflight(method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(ORIGIN)
        && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
        && !headers.contains_key(AUTHORIZATION)
        && !credentials::has_query_token(uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, JwtConfig, JwtKey};
    use http::HeaderValue;
    use http::header::AUTHORIZATION;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef";

    fn token(i: usize) -> String {
        let claims = serde_json::json!({
            "sub": format!("user-{i}"),
            "jti": format!("j-{i}"),
            "exp": 4_000_000_000u64,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET),
        )
        .expect("encode")
    }

    fn subject_of(shared: &Arc<Shared>, token: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::try_from(format!("Bearer {token}")).expect("header");
        headers.insert(AUTHORIZATION, value);
        match shared.decide(
            &Method::GET,
            &Uri::from_static("/"),
            &headers,
            &Extensions::new(),
        ) {
            Decision::Pass(Some(p)) => p.subject().map(str::to_owned),
            _ => None,
        }
    }

    /// The token cache's bound holds through the layer's own path under a flood
    /// of distinct, valid, real JWTs; every one of them still authenticates, and
    /// the newest are served from the cache.
    #[test]
    fn the_token_cache_bound_holds_under_a_flood_of_distinct_valid_tokens() {
        const BOUND: usize = 100;
        let cfg = AuthConfig::builder()
            .jwt(
                JwtConfig::new([Algorithm::HS256])
                    .key(JwtKey::hmac(SECRET))
                    .token_cache(BOUND, 300),
            )
            .build()
            .expect("config");
        let shared = Arc::new(Shared::new(cfg, false));
        let cache = shared.token_cache.as_ref().expect("cache on");
        let tokens: Vec<String> = (0..2_000).map(token).collect();
        for (i, t) in tokens.iter().enumerate() {
            assert_eq!(subject_of(&shared, t), Some(format!("user-{i}")));
            assert!(cache.len() <= BOUND, "{} entries after {i}", cache.len());
        }
        assert!(cache.len() >= BOUND / 2, "{} entries", cache.len());
        // The last token is cached, and a hit gives the same principal.
        let last = tokens.last().expect("tokens");
        let key = cache.key_of(last.as_bytes()).expect("cacheable");
        assert!(cache.get_key(&key, shared.cfg.now_secs(), 0, 0).is_some());
        assert_eq!(subject_of(&shared, last), Some("user-1999".to_owned()));
        assert!(cache.len() <= BOUND);
    }
}
