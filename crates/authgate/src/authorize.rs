//! Route-level authorization: [`RequireScopes`] and custom policies
//! ([`RequirePolicy`]). They run after [`AuthLayer`](crate::AuthLayer) and answer
//! 403, never 401, when the caller is known but not allowed (RFC 6750 §3.1,
//! RFC 9110 §15.5.4).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderMap, Method, Request, Response, Uri};
use tower_layer::Layer;
use tower_service::Service;

use crate::challenge::Responder;
use crate::credentials::SchemeLabel;
use crate::future::{ResponseBody, ResponseFuture};
use crate::principal::{Principal, Scheme};
use crate::reason::Reason;
use crate::rejection::Failure;
use crate::service::context;

/// What a policy sees of a request.
#[derive(Debug)]
pub struct AccessRequest<'a> {
    principal: &'a Principal,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    cfg: &'a crate::config::AuthConfig,
}

impl<'a> AccessRequest<'a> {
    pub(crate) fn new(
        principal: &'a Principal,
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        cfg: &'a crate::config::AuthConfig,
    ) -> Self {
        AccessRequest {
            principal,
            method,
            uri,
            headers,
            cfg,
        }
    }

    /// The authenticated caller.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }
    /// The request method.
    pub fn method(&self) -> &'a Method {
        self.method
    }
    /// The request URI.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }
    /// The request headers (credentials are marked sensitive).
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }
    /// The time now, by the clock of the [`AuthLayer`](crate::AuthLayer) that
    /// authenticated the request (the one its `exp` checks use).
    pub fn now(&self) -> std::time::SystemTime {
        (self.cfg.clock)()
    }
    /// The clock-skew allowance of that layer, in seconds.
    pub fn leeway_secs(&self) -> u64 {
        self.cfg.leeway_secs
    }
}

/// Why a policy refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// Required scopes are missing: 403 `insufficient_scope`, with the scopes in
    /// the Bearer challenge's `scope` parameter.
    InsufficientScope {
        /// The scopes the route requires (space-separated in the event).
        required: Vec<String>,
    },
    /// Any other refusal: 403 `access_denied`, with this secret-free detail.
    AccessDenied(String),
    /// The login behind the token is not strong or recent enough (RFC 9470): 401
    /// `insufficient_user_authentication`, with `acr_values` and `max_age` in the
    /// Bearer challenge. Built by [`RequireAuthContext`](crate::RequireAuthContext).
    #[non_exhaustive]
    InsufficientUserAuthentication {
        /// A secret-free sentence saying what is missing.
        detail: String,
        /// The accepted `acr` values (the challenge's `acr_values`).
        required_acr: Vec<String>,
        /// The token's `acr`, if it has one.
        token_acr: Option<String>,
        /// Seconds since the token's `auth_time`, if it has one.
        auth_age_secs: Option<i64>,
        /// The route's `max_age` in seconds (the challenge's `max_age`).
        max_age_secs: Option<u64>,
    },
}

impl Denial {
    /// A step-up denial (see [`Denial::InsufficientUserAuthentication`]).
    pub fn insufficient_user_authentication(
        detail: impl Into<String>,
        required_acr: Vec<String>,
        token_acr: Option<String>,
        auth_age_secs: Option<i64>,
        max_age_secs: Option<u64>,
    ) -> Self {
        Denial::InsufficientUserAuthentication {
            detail: detail.into(),
            required_acr,
            token_acr,
            auth_age_secs,
            max_age_secs,
        }
    }
}

/// An authorization decision over an authenticated request.
pub trait Policy: Send + Sync + 'static {
    /// `Ok(())` lets the request through.
    ///
    /// # Errors
    ///
    /// A [`Denial`] answers 403 (401 for a step-up).
    fn check(&self, request: &AccessRequest<'_>) -> Result<(), Denial>;

    /// The scopes a caller needs here, for the `scope` parameter of the 401
    /// this route answers to a request without credentials (RFC 6750 §3). None
    /// by default.
    fn challenge_scopes(&self) -> &[String] {
        &[]
    }
}

/// The future of an [`AsyncPolicy`] check.
pub type PolicyFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Denial>> + Send + 'static>>;

/// An authorization decision that has to wait (a database or a policy service),
/// without blocking the executor. The future must own what it uses: copy what it
/// needs out of the [`AccessRequest`] before it starts.
pub trait AsyncPolicy: Send + Sync + 'static {
    /// Resolves to `Ok(())` to let the request through, or a [`Denial`] (403).
    fn check(&self, request: &AccessRequest<'_>) -> PolicyFuture;

    /// As [`Policy::challenge_scopes`].
    fn challenge_scopes(&self) -> &[String] {
        &[]
    }
}

/// Marks a policy as asynchronous for [`AuthorizeLayer`]; built by
/// [`RequirePolicy::new_async`] and [`RequirePolicy::from_async_policy`].
#[derive(Debug, Clone)]
pub struct Async<P>(P);

/// An asynchronous policy from a closure whose future resolves to `true` to allow.
#[derive(Clone)]
pub struct AsyncFnPolicy<F>(F);

impl<F> fmt::Debug for AsyncFnPolicy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AsyncFnPolicy(<fn>)")
    }
}

impl<F, Fut> AsyncPolicy for AsyncFnPolicy<F>
where
    F: Fn(&AccessRequest<'_>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    fn check(&self, request: &AccessRequest<'_>) -> PolicyFuture {
        let allowed = (self.0)(request);
        Box::pin(async move {
            if allowed.await {
                Ok(())
            } else {
                Err(Denial::AccessDenied(
                    "the access policy refused this request".to_owned(),
                ))
            }
        })
    }
}

/// Requires scopes: all of them, or any one.
#[derive(Debug, Clone)]
pub struct Scopes {
    scopes: Vec<String>,
    all: bool,
}

impl Policy for Scopes {
    fn check(&self, request: &AccessRequest<'_>) -> Result<(), Denial> {
        let p = request.principal;
        let ok = if self.all {
            self.scopes.iter().all(|s| p.has_scope(s))
        } else {
            self.scopes.iter().any(|s| p.has_scope(s))
        };
        if ok {
            Ok(())
        } else {
            Err(Denial::InsufficientScope {
                required: self.scopes.clone(),
            })
        }
    }

    fn challenge_scopes(&self) -> &[String] {
        &self.scopes
    }
}

/// Builds layers that require scopes. Behind [`AuthLayer`](crate::AuthLayer), a
/// known caller without them gets 403 `insufficient_scope` with the scopes in
/// the Bearer challenge (RFC 6750 §3.1), not 401.
///
/// ```
/// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, RequireScopes};
/// use http::{Request, Response, StatusCode, header};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = b"a secret of at least 32 bytes...";
/// let cfg = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(secret)))
///     .build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(AuthLayer::new(cfg))
///     .layer(RequireScopes::all(["admin"]))
///     .service_fn(|_req: Request<()>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
///     });
///
/// let claims = serde_json::json!({ "sub": "bob", "scope": "orders:read", "exp": 4_000_000_000u64 });
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
///     &claims,
///     &jsonwebtoken::EncodingKey::from_secret(secret),
/// )?;
/// let req = Request::get("/").header(header::AUTHORIZATION, format!("Bearer {token}")).body(())?;
/// let res = svc.ready().await?.call(req).await?;
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// let challenge = res.headers()[header::WWW_AUTHENTICATE].to_str()?;
/// assert!(challenge.contains(r#"error="insufficient_scope""#) && challenge.contains(r#"scope="admin""#));
///
/// let readers = RequireScopes::any(["orders:read", "admin"]);
/// # let _ = readers;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequireScopes;

impl RequireScopes {
    /// The caller must hold every one of `scopes`.
    pub fn all<I, S>(scopes: I) -> AuthorizeLayer<Scopes>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AuthorizeLayer::new(Scopes {
            scopes: scopes.into_iter().map(Into::into).collect(),
            all: true,
        })
    }

    /// The caller must hold at least one of `scopes`.
    pub fn any<I, S>(scopes: I) -> AuthorizeLayer<Scopes>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AuthorizeLayer::new(Scopes {
            scopes: scopes.into_iter().map(Into::into).collect(),
            all: false,
        })
    }
}

/// A policy from a closure returning `true` to allow.
#[derive(Clone)]
pub struct FnPolicy<F>(F);

impl<F> fmt::Debug for FnPolicy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnPolicy(<fn>)")
    }
}

impl<F> Policy for FnPolicy<F>
where
    F: Fn(&AccessRequest<'_>) -> bool + Send + Sync + 'static,
{
    fn check(&self, request: &AccessRequest<'_>) -> Result<(), Denial> {
        if (self.0)(request) {
            Ok(())
        } else {
            Err(Denial::AccessDenied(
                "the access policy refused this request".to_owned(),
            ))
        }
    }
}

/// Builds a layer from a custom policy.
#[derive(Debug, Clone, Copy)]
pub struct RequirePolicy;

impl RequirePolicy {
    /// A policy closure: `true` allows, `false` answers 403 `access_denied`.
    ///
    /// ```
    /// use authgate::RequirePolicy;
    /// let owners_only = RequirePolicy::new(|req| req.principal().subject() == Some("owner"));
    /// # let _ = owners_only;
    /// ```
    #[allow(clippy::new_ret_no_self)] // a layer factory, like tower-http's `ValidateRequestHeaderLayer::custom`
    pub fn new<F>(f: F) -> AuthorizeLayer<FnPolicy<F>>
    where
        F: Fn(&AccessRequest<'_>) -> bool + Send + Sync + 'static,
    {
        AuthorizeLayer::new(FnPolicy(f))
    }

    /// Any [`Policy`] implementation.
    pub fn from_policy<P: Policy>(policy: P) -> AuthorizeLayer<P> {
        AuthorizeLayer::new(policy)
    }

    /// An asynchronous policy closure: its future resolves to `true` to allow,
    /// `false` to answer 403 `access_denied`. The request waits for it without
    /// blocking the executor. The future must own what it uses.
    ///
    /// ```
    /// use authgate::RequirePolicy;
    /// let members = RequirePolicy::new_async(|req| {
    ///     let user = req.principal().subject().map(str::to_owned);
    ///     async move {
    ///         // e.g. `SELECT 1 FROM members WHERE user_id = $1`
    ///         user.as_deref() == Some("alice")
    ///     }
    /// });
    /// # let _ = members;
    /// ```
    pub fn new_async<F, Fut>(f: F) -> AuthorizeLayer<Async<AsyncFnPolicy<F>>>
    where
        F: Fn(&AccessRequest<'_>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = bool> + Send + 'static,
    {
        AuthorizeLayer::new(Async(AsyncFnPolicy(f)))
    }

    /// Any [`AsyncPolicy`] implementation.
    pub fn from_async_policy<P: AsyncPolicy>(policy: P) -> AuthorizeLayer<Async<P>> {
        AuthorizeLayer::new(Async(policy))
    }
}

/// Layer that applies a [`Policy`] to authenticated requests.
#[must_use]
pub struct AuthorizeLayer<P> {
    policy: Arc<P>,
}

impl<P> AuthorizeLayer<P> {
    pub(crate) fn new(policy: P) -> Self {
        AuthorizeLayer {
            policy: Arc::new(policy),
        }
    }
}

impl<P> AuthorizeLayer<P> {
    /// The policy this layer applies (e.g. for
    /// [`AuthLayer::explain_with_policy`](crate::AuthLayer::explain_with_policy)).
    pub fn policy(&self) -> &P {
        &self.policy
    }
}

impl<P: Clone> AuthorizeLayer<P> {
    /// The policy, to refine it (copied first if the layer was cloned).
    pub(crate) fn policy_mut(&mut self) -> &mut P {
        Arc::make_mut(&mut self.policy)
    }
}

impl<P> Clone for AuthorizeLayer<P> {
    fn clone(&self) -> Self {
        AuthorizeLayer {
            policy: Arc::clone(&self.policy),
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for AuthorizeLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeLayer")
            .field("policy", &self.policy)
            .finish()
    }
}

impl<S, P> Layer<S> for AuthorizeLayer<P> {
    type Service = Authorize<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

/// Service built by [`AuthorizeLayer`].
#[must_use]
pub struct Authorize<S, P> {
    inner: S,
    policy: Arc<P>,
}

impl<S, P> Authorize<S, P> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, consuming this one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, P> Clone for Authorize<S, P> {
    fn clone(&self) -> Self {
        Authorize {
            inner: self.inner.clone(),
            policy: Arc::clone(&self.policy),
        }
    }
}

impl<S: fmt::Debug, P: fmt::Debug> fmt::Debug for Authorize<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorize")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .finish()
    }
}

/// What a route layer does before its policy: find the `AuthLayer` that
/// authenticated the request and its principal.
#[allow(clippy::large_enum_variant)] // built once per request and matched at once; `Check` is the common case
enum Precheck<'a> {
    /// Answer at once (no `AuthLayer` in front, no principal).
    Respond(Failure, Option<Arc<crate::authenticate::Shared>>),
    /// Let through without a policy check (a CORS preflight).
    Pass,
    /// Check the policy for this principal.
    Check(Arc<crate::authenticate::Shared>, &'a Principal),
}

fn precheck<B>(req: &Request<B>) -> Precheck<'_> {
    let Some(shared) = context(req.extensions()) else {
        return Precheck::Respond(
            Failure::new(
                Reason::InternalError,
                SchemeLabel::None,
                "an authorization layer ran without an AuthLayer before it; add .layer(AuthLayer::new(cfg)) outside it",
            ),
            None,
        );
    };
    match req.extensions().get::<Principal>() {
        None if shared.is_preflight_pass(req.method(), req.uri(), req.headers()) => Precheck::Pass,
        None => Precheck::Respond(
            Failure::new(
                Reason::MissingCredentials,
                SchemeLabel::None,
                "this route requires authentication and the request has no credentials",
            ),
            Some(shared),
        ),
        Some(principal) => Precheck::Check(shared, principal),
    }
}

/// Logs and answers a route layer's rejection.
fn refuse<S, B>(
    f: &Failure,
    shared: Option<&crate::authenticate::Shared>,
    req: &Request<B>,
) -> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    let status = Responder::status(f);
    crate::event::rejection(f, status.as_u16(), req.method(), req.uri().path());
    ResponseFuture::rejected(match shared {
        Some(shared) => shared.responder.respond(f),
        None => Responder::new("api", false, false, true).respond(f),
    })
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for Authorize<S, P>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    P: Policy,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (failure, shared) = match precheck(&req) {
            Precheck::Respond(failure, shared) => (
                Some(with_challenge_scopes(
                    failure,
                    self.policy.challenge_scopes(),
                )),
                shared,
            ),
            Precheck::Pass => (None, None),
            Precheck::Check(shared, principal) => {
                let access = AccessRequest {
                    principal,
                    method: req.method(),
                    uri: req.uri(),
                    headers: req.headers(),
                    cfg: &shared.cfg,
                };
                let failure = self
                    .policy
                    .check(&access)
                    .err()
                    .map(|denial| denied(principal, denial, bearer_token(req.headers())));
                (failure, Some(shared))
            }
        };
        match failure {
            None => ResponseFuture::inner(self.inner.call(req)),
            Some(f) => refuse(&f, shared.as_deref(), &req),
        }
    }
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for Authorize<S, Async<P>>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    P: AsyncPolicy,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (shared, principal) = match precheck(&req) {
            Precheck::Respond(f, shared) => {
                let f = with_challenge_scopes(f, self.policy.0.challenge_scopes());
                return refuse(&f, shared.as_deref(), &req);
            }
            Precheck::Pass => {
                return ResponseFuture::inner(self.inner.call(req));
            }
            Precheck::Check(shared, principal) => (shared, principal),
        };
        let access = AccessRequest {
            principal,
            method: req.method(),
            uri: req.uri(),
            headers: req.headers(),
            cfg: &shared.cfg,
        };
        let check = self.policy.0.check(&access);
        let principal = principal.clone();
        let token = bearer_token(req.headers()).map(str::to_owned);
        let verification: crate::authenticate::Pending = Box::pin(async move {
            match check.await {
                Ok(()) => Ok(principal),
                Err(denial) => Err(denied(&principal, denial, token.as_deref())),
            }
        });
        // As in `AuthService`: the instance driven to readiness goes into the
        // future, a fresh clone stays.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::verifying(verification, inner, req, shared)
    }
}

/// A route layer's 401 to a request without credentials (behind
/// [`AuthLayer::optional`](crate::AuthLayer::optional)) names the scopes the route
/// requires, so the client knows what to ask for before its first try (RFC 6750
/// §3).
fn with_challenge_scopes(mut f: Failure, scopes: &[String]) -> Failure {
    if f.reason == Reason::MissingCredentials && !scopes.is_empty() {
        f.required_scopes = Some(scopes.join(" "));
    }
    f
}

pub(crate) fn denied(principal: &Principal, denial: Denial, token: Option<&str>) -> Failure {
    let scheme = match principal.scheme() {
        Scheme::Basic => SchemeLabel::Basic,
        Scheme::Bearer => SchemeLabel::Bearer,
    };
    let granted = principal.scopes().join(" ");
    let mut f = match denial {
        Denial::InsufficientScope { required } => {
            let required = required.join(" ");
            let mut f = Failure::new(
                Reason::InsufficientScope,
                scheme,
                format!("this route requires scope {required}"),
            )
            .hint(scope_hint(principal, &granted));
            f.required_scopes = Some(required);
            f
        }
        Denial::AccessDenied(detail) => Failure::new(Reason::AccessDenied, scheme, detail),
        Denial::InsufficientUserAuthentication {
            detail,
            required_acr,
            token_acr,
            auth_age_secs,
            max_age_secs,
        } => {
            let mut f = Failure::new(Reason::InsufficientUserAuthentication, scheme, detail)
                .hint(crate::step_up::hint(principal, &required_acr, max_age_secs));
            f.required_acr = Some(required_acr.join(" "));
            f.token_acr = token_acr;
            f.auth_age_secs = auth_age_secs;
            f.max_age_secs = max_age_secs;
            f
        }
    };
    f.granted_scopes = Some(granted);
    if principal.scheme() == Scheme::Basic {
        // A Basic principal is a known user (its password verified): its
        // user-id may be logged.
        f.user = principal.subject().map(str::to_owned);
        return f;
    }
    bearer_fields(&mut f, principal, token);
    f
}

/// The request's Bearer token, read again on the 403 path (the same correlation
/// fields as a 401: fingerprint, JOSE `alg` and `kid`), so that an accepted
/// request carries nothing extra.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .map(crate::credentials::parse_value)
        .and_then(|c| match c {
            crate::credentials::Credentials::Bearer(t) => Some(t),
            _ => None,
        })
}

/// The event fields of a rejection of an authenticated Bearer principal: the
/// token's fingerprint and JOSE `alg` / `kid`, the verified claims, or the API
/// key's id.
pub(crate) fn bearer_fields(f: &mut Failure, principal: &Principal, token: Option<&str>) {
    if let Some(token) = token {
        f.token_fp = Some(crate::event::token_fingerprint(token));
        if principal.is_jwt() {
            (f.jwt_alg, f.jwt_kid) = jose_alg_and_kid(token);
        }
    }
    if !principal.is_jwt() {
        // An API-key principal: its subject is the key's configured id.
        f.key_id = principal.subject().map(str::to_owned);
    }
    if let Some(claims) = principal.claims() {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        f.jwt_iss = text("iss");
        f.jwt_sub = text("sub");
        f.jwt_aud = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => Some(a.clone()),
            Some(serde_json::Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        };
    }
}

/// The next step for a caller without a required scope: where its scopes come
/// from depends on how it authenticated.
fn scope_hint(principal: &Principal, granted: &str) -> String {
    match principal.scheme() {
        Scheme::Basic => {
            let user = crate::event::sanitize_for_message(principal.subject().unwrap_or_default());
            if granted.is_empty() {
                format!(
                    "user \"{user}\" has no scopes: grant it the required scope in its [[basic.users]] entry (scopes = [...]) or BasicConfig::user; users from an htpasswd_file have none"
                )
            } else {
                format!(
                    "user \"{user}\" has scopes [{granted}]: add the required scope to its [[basic.users]] entry (scopes = [...]) or BasicConfig::user"
                )
            }
        }
        Scheme::Bearer if !principal.is_jwt() => {
            if granted.is_empty() {
                "the API key has no scopes: add the required scope to the key's scopes in [[bearer.api_keys]] or ApiKey::scopes".to_owned()
            } else {
                format!(
                    "the API key grants [{granted}]: add the required scope to the key's scopes in [[bearer.api_keys]] or ApiKey::scopes"
                )
            }
        }
        Scheme::Bearer => {
            if granted.is_empty() {
                "the token grants no scopes: request a token with the required scope, or check bearer.jwt.scope_claim (JwtConfig::scope_claim)".to_owned()
            } else {
                format!("the token grants [{granted}]; request a token with the required scope")
            }
        }
    }
}

/// `alg` and `kid` of a JWT's JOSE header. The token's signature verified
/// before a principal existed, so the header is the verified one; it is
/// decoded again only on this rejection path.
fn jose_alg_and_kid(token: &str) -> (Option<String>, Option<String>) {
    use base64::Engine as _;
    let Some(encoded) = token.split('.').next() else {
        return (None, None);
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded) else {
        return (None, None);
    };
    let Ok(header) = crate::verify::json::parse_header(&bytes) else {
        return (None, None);
    };
    let text = |m: &crate::verify::json::Member<'_>| m.as_str().map(str::to_owned);
    (text(&header.alg), text(&header.kid))
}
