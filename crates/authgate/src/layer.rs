//! [`AuthLayer`]: the one line that adds authentication to a service.

use std::sync::Arc;

use tower_layer::Layer;

use crate::authenticate::Shared;
use crate::config::{AuthConfig, ConfigError};
use crate::service::AuthService;

/// Authenticates every request before it reaches the inner service.
///
/// Valid credentials put a [`Principal`](crate::Principal) in the request
/// extensions; anything else is answered here with the right status, challenge and
/// problem body, and one `tracing` event naming the reason. Cloning is cheap (one
/// `Arc`).
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
/// let cfg = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(b"a secret of at least 32 bytes...")))
///     .build()?;
/// let mut svc = AuthLayer::new(cfg).layer(ok());
///
/// // No credentials: 401 with the Bearer challenge (RFC 6750 §3).
/// let res = svc.ready().await?.call(Request::new(())).await?;
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(res.headers()[header::WWW_AUTHENTICATE], r#"Bearer realm="api""#);
///
/// // A broken token: 401 with `error="invalid_token"`.
/// let req = Request::get("/").header(header::AUTHORIZATION, "Bearer a.b.c").body(())?;
/// let res = svc.ready().await?.call(req).await?;
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert!(res.headers()[header::WWW_AUTHENTICATE].to_str()?.contains(r#"error="invalid_token""#));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

impl AuthLayer {
    /// Requires authentication on every request (CORS preflights excepted unless
    /// configured otherwise).
    pub fn new(cfg: AuthConfig) -> Self {
        AuthLayer {
            shared: Arc::new(Shared::new(cfg, false)),
        }
    }

    /// Optional authentication: a request *without* credentials passes on with no
    /// principal (handlers take `Option<Principal>`), while a request with bad
    /// credentials is still rejected, never let through as anonymous.
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
    /// let cfg = AuthConfig::builder()
    ///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(b"a secret of at least 32 bytes...")))
    ///     .build()?;
    /// let mut svc = AuthLayer::optional(cfg).layer(ok());
    ///
    /// // No credentials: passed on, anonymous.
    /// let res = svc.ready().await?.call(Request::new(())).await?;
    /// assert_eq!(res.status(), StatusCode::OK);
    ///
    /// // Bad credentials: still refused.
    /// let req = Request::get("/").header(header::AUTHORIZATION, "Bearer a.b.c").body(())?;
    /// let res = svc.ready().await?.call(req).await?;
    /// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    /// # Ok(())
    /// # }
    /// ```
    pub fn optional(cfg: AuthConfig) -> Self {
        AuthLayer {
            shared: Arc::new(Shared::new(cfg, true)),
        }
    }

    /// Renders every rejection with `renderer`: the responses of this layer, of
    /// the route layers behind it ([`RequireScopes`](crate::RequireScopes),
    /// [`RequirePolicy`](crate::RequirePolicy)) and of the axum extractors.
    ///
    /// The renderer decides the status, headers and body; the
    /// `WWW-Authenticate` challenges, `Cache-Control: no-store` and
    /// `Retry-After` are added unless it sets them itself. See
    /// [`RejectionResponse`](crate::RejectionResponse) for an example.
    ///
    /// Call it before cloning the layer: a clone shares its state (caches, the
    /// remote key set) with the original, so on a layer that has been cloned this
    /// gives the new copy a fresh state of its own.
    pub fn with_rejection_response(mut self, renderer: impl crate::RejectionResponse) -> Self {
        let renderer: Arc<dyn crate::RejectionResponse> = Arc::new(renderer);
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.responder.set_renderer(renderer);
        } else {
            let mut shared = Shared::new(self.shared.cfg.clone(), self.shared.optional);
            shared.responder.set_renderer(renderer);
            self.shared = Arc::new(shared);
        }
        self
    }

    /// What this layer would answer for a request with these parts, and why,
    /// without an inner service: the same code path as a real request (events
    /// included). For offline tools such as `authgate explain`.
    pub async fn explain(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
    ) -> crate::explain::Explanation {
        crate::explain::explain(&self.shared, method, uri, headers).await
    }

    /// As [`explain`](Self::explain), for a route behind a route layer: when the
    /// credentials would pass, `policy` (e.g.
    /// `RequireAuthContext::acr([...]).policy()`) is asked too, and its refusal
    /// is explained like the layer's own (status, challenge, detail, hint, and
    /// the step-up fields).
    pub async fn explain_with_policy(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        policy: &dyn crate::authorize::Policy,
    ) -> crate::explain::Explanation {
        crate::explain::explain_with(&self.shared, method, uri, headers, Some(policy)).await
    }

    /// The run-time revocation set of this layer: revoke a token's `jti` or an API
    /// key's id, answered 401 `token_revoked` from then on. With shared state
    /// (`[state]`) a revocation reaches every instance; without, it holds on this
    /// instance. Clones of the layer share one set.
    pub fn revocations(&self) -> crate::Revocations {
        self.shared.revocations.clone()
    }

    /// How many password hashes the Basic verifier has computed (for tests that
    /// show a refusal computed none).
    #[doc(hidden)]
    pub fn basic_hash_count(&self) -> u64 {
        self.shared.basic.as_ref().map_or(0, |b| b.hash_count())
    }

    /// The configuration this layer enforces.
    pub fn config(&self) -> &AuthConfig {
        &self.shared.cfg
    }

    /// With a remote key set (`jwks_url` / `oidc_issuer`): fetches it once and
    /// waits for it, at most `jwks_timeout_secs`. Call it at start-up to fail fast
    /// on a misconfiguration and to log why keys are missing; the server may
    /// start either way and answers 503 `key_set_unavailable` until keys arrive.
    ///
    /// Returns `Ok(true)` when keys are available (always, without a remote key
    /// set), `Ok(false)` when they could not be fetched yet (the cause is logged).
    ///
    /// # Errors
    ///
    /// A permanent misconfiguration found on the way, such as a discovery document
    /// whose `issuer` differs from the configured one (OpenID Connect Discovery §4.3).
    /// Also an error when polled outside a tokio runtime with a remote key set:
    /// its fetch runs as a tokio task, so there it could never complete.
    ///
    /// ```
    /// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Static keys only: nothing to fetch, keys are there.
    /// let cfg = AuthConfig::builder()
    ///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(b"a secret of at least 32 bytes...")))
    ///     .build()?;
    /// let layer = AuthLayer::new(cfg);
    /// assert!(layer.warm_up().await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn warm_up(&self) -> Result<bool, ConfigError> {
        match &self.shared.remote {
            Some(remote) => remote.warm_up().await,
            None => Ok(true),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, Arc::clone(&self.shared))
    }
}
