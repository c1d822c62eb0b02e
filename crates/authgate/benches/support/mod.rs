//! Shared by the `layer` (criterion) and `allocs` (allocation count) benches: the
//! keys, tokens and the three compared stacks.
//!
//! - `baseline`: an axum app with no authentication;
//! - `floor`: the same app behind [`FloorLayer`], a bare layer that calls
//!   `jsonwebtoken::decode` (aws_lc_rs, as authgate) with a prebuilt `Validation`
//!   and `DecodingKey`, 401 on any error: the least work a correct JWT layer does;
//! - `authgate`: the same app behind [`authgate::AuthLayer`], token cache off;
//! - `authgate-cached`: the same with the default token cache (10 000 entries,
//!   300 s), warmed by the status check before measuring, so `valid` is a hit.
//!
//! Every stack sees the same claims: `iss`, `aud`, `sub`, `scope`, `iat`, `exp`,
//! `jti`, with a `kid` in the header; the floor and authgate check the same
//! issuer, audience and `exp` with the same leeway (30 s).

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use authgate::{AuthConfig, AuthLayer, JwtConfig, JwtKey};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use tower::{Layer, Service, ServiceExt as _};

pub const ISSUER: &str = "https://id.example.com/";
pub const AUDIENCE: &str = "orders-api";
pub const KID: &str = "bench-key";
pub const LEEWAY_SECS: u64 = 30;
/// 64 bytes (RFC 7518 §3.2 wants at least 32 for HS256).
pub const HS_SECRET: &[u8] = b"authgate-bench-hs256-secret-0123456789-abcdefghijklmnopqrstuvwxy";

/// The benchmarked algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Hs256,
    Rs256,
    Es256,
    EdDsa,
}

pub const ALGS: [Alg; 4] = [Alg::Hs256, Alg::Rs256, Alg::Es256, Alg::EdDsa];

impl Alg {
    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::Hs256 => jsonwebtoken::Algorithm::HS256,
            Alg::Rs256 => jsonwebtoken::Algorithm::RS256,
            Alg::Es256 => jsonwebtoken::Algorithm::ES256,
            Alg::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    fn authgate(self) -> authgate::Algorithm {
        match self {
            Alg::Hs256 => authgate::Algorithm::HS256,
            Alg::Rs256 => authgate::Algorithm::RS256,
            Alg::Es256 => authgate::Algorithm::ES256,
            Alg::EdDsa => authgate::Algorithm::EdDSA,
        }
    }

    /// (private, public) PEM file names in `tests/keys`.
    fn key_files(self) -> Option<(&'static str, &'static str)> {
        match self {
            Alg::Hs256 => None,
            Alg::Rs256 => Some(("rsa.pem", "rsa.pub.pem")),
            Alg::Es256 => Some(("ec.pem", "ec.pub.pem")),
            Alg::EdDsa => Some(("ed.pem", "ed.pub.pem")),
        }
    }

    fn encoding_key(self) -> EncodingKey {
        let Some((private, _)) = self.key_files() else {
            return EncodingKey::from_secret(HS_SECRET);
        };
        let pem = read_key(private);
        match self {
            Alg::Rs256 => EncodingKey::from_rsa_pem(&pem),
            Alg::Es256 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_ed_pem(&pem),
        }
        .expect("fixture private key")
    }

    pub fn decoding_key(self) -> DecodingKey {
        let Some((_, public)) = self.key_files() else {
            return DecodingKey::from_secret(HS_SECRET);
        };
        let pem = read_key(public);
        match self {
            Alg::Rs256 => DecodingKey::from_rsa_pem(&pem),
            Alg::Es256 => DecodingKey::from_ec_pem(&pem),
            _ => DecodingKey::from_ed_pem(&pem),
        }
        .expect("fixture public key")
    }

    pub fn authgate_key(self) -> JwtKey {
        let key = match self.key_files() {
            None => JwtKey::hmac(HS_SECRET),
            Some((_, public)) => JwtKey::from_pem(read_key(public)).expect("fixture public key"),
        };
        key.with_kid(KID)
    }
}

/// `tests/keys/<name>` of the repository: the first `tests/keys` above the
/// manifest of whichever package includes this file.
fn read_key(name: &str) -> Vec<u8> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let keys = manifest
        .ancestors()
        .map(|dir| dir.join("tests/keys"))
        .find(|dir| dir.is_dir())
        .expect("tests/keys in a directory above the manifest");
    let path = keys.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Unix seconds now, read on every call (as authgate's clock is per request).
pub fn clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Unix seconds, read once per process: every token of a run is minted with the
/// same `iat`/`exp`, so every stack sees byte-identical tokens.
pub fn now() -> u64 {
    static NOW: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *NOW.get_or_init(clock)
}

/// The benchmarked request paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Valid,
    Missing,
    Expired,
    BadSignature,
}

pub const PATHS: [Path; 4] = [
    Path::Valid,
    Path::Missing,
    Path::Expired,
    Path::BadSignature,
];

impl Path {
    pub fn name(self) -> &'static str {
        match self {
            Path::Valid => "valid",
            Path::Missing => "missing",
            Path::Expired => "expired",
            Path::BadSignature => "bad_signature",
        }
    }

    /// The status every authenticating stack must answer with.
    pub fn expected_status(self) -> StatusCode {
        match self {
            Path::Valid => StatusCode::OK,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// The same claims for every algorithm and stack.
pub fn claims(iat: u64, exp: u64) -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-4711",
        "scope": "orders:read orders:write",
        "iat": iat,
        "exp": exp,
        "jti": "2c6f1a3e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    })
}

pub fn mint(alg: Alg, claims: &serde_json::Value) -> String {
    let mut header = Header::new(alg.jwt());
    header.kid = Some(KID.to_owned());
    jsonwebtoken::encode(&header, claims, &alg.encoding_key()).expect("encode")
}

/// The `Authorization` value of each path (`None` for `missing`).
pub fn authorization(alg: Alg, path: Path) -> Option<HeaderValue> {
    let now = now();
    let token = match path {
        Path::Missing => return None,
        Path::Valid => mint(alg, &claims(now, now + 24 * 3600)),
        Path::Expired => mint(alg, &claims(now - 7200, now - 3600)),
        Path::BadSignature => {
            // A well-formed signature of the right length that does not verify:
            // the valid token's signature with one bit flipped in its middle, so
            // every algorithm pays a full verification (flipping a leading bit
            // can push an RSA signature above the modulus, or an Ed25519 S above
            // the group order, which are rejected before any real work).
            let token = mint(alg, &claims(now, now + 24 * 3600));
            let (message, sig) = token.rsplit_once('.').expect("three segments");
            let mut sig = URL_SAFE_NO_PAD.decode(sig).expect("base64url");
            let middle = sig.len() / 2 - 1;
            sig[middle] ^= 0x01;
            format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig))
        }
    };
    Some(HeaderValue::from_str(&format!("Bearer {token}")).expect("header value"))
}

/// A fresh request; the header value is cloned (a refcount, not a copy).
pub fn request(auth: Option<&HeaderValue>) -> Request<Body> {
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = http::Uri::from_static("/api/whoami");
    if let Some(auth) = auth {
        req.headers_mut().insert(AUTHORIZATION, auth.clone());
    }
    req
}

async fn handler() -> &'static str {
    "ok"
}

/// The app every stack wraps.
pub fn app() -> Router {
    Router::new().route("/api/whoami", get(handler))
}

pub fn baseline() -> Router {
    app()
}

/// The app behind a layer that does nothing (`tower::layer::util::Identity`)
/// through `Router::layer`: what axum's per-route layering costs any layer (it
/// boxes and clones the layered route per request). Not one of the compared
/// stacks; it tells axum's share of the other stacks' cost from the layer's own.
pub fn baseline_layered() -> Router {
    app().layer(tower::layer::util::Identity::new())
}

/// authgate wrapped around the whole app as a plain Tower service (as with
/// `ServiceBuilder`; the README shows how `axum::serve` takes it), without
/// axum's per-route layering. `cached`: the default token cache.
pub fn authgate_outer(alg: Alg, cached: bool) -> authgate::AuthService<Router> {
    AuthLayer::new(config(alg, cached)).layer(app())
}

pub fn floor(alg: Alg) -> Router {
    app().layer(FloorLayer::new(alg))
}

/// authgate's configuration for `alg`, the token cache off.
pub fn authgate_config(alg: Alg) -> AuthConfig {
    config(alg, false)
}

/// authgate's configuration for `alg` with the default token cache.
pub fn authgate_cached_config(alg: Alg) -> AuthConfig {
    config(alg, true)
}

fn config(alg: Alg, cache: bool) -> AuthConfig {
    let mut jwt = JwtConfig::new([alg.authgate()])
        .key(alg.authgate_key())
        .issuer(ISSUER)
        .audience(AUDIENCE);
    if !cache {
        jwt = jwt.token_cache(0, 0);
    }
    AuthConfig::builder()
        .leeway_secs(LEEWAY_SECS)
        .jwt(jwt)
        .build()
        .expect("valid config")
}

/// [`authgate`] with failed-attempt limits (by user and client address) and
/// `revoked` token ids in the run-time revocation set.
pub fn authgate_limited(alg: Alg, revoked: usize) -> Router {
    let mut jwt = JwtConfig::new([alg.authgate()])
        .key(alg.authgate_key())
        .issuer(ISSUER)
        .audience(AUDIENCE);
    jwt = jwt.token_cache(0, 0);
    let cfg = AuthConfig::builder()
        .leeway_secs(LEEWAY_SECS)
        .jwt(jwt)
        .limits(
            authgate::LimitsConfig::new()
                .by([authgate::LimitKey::User, authgate::LimitKey::ClientIp]),
        )
        .build()
        .expect("valid config");
    let layer = AuthLayer::new(cfg);
    let revocations = layer.revocations();
    for i in 0..revoked {
        revocations.revoke_jti(&format!("revoked-{i}"), u64::MAX / 2);
    }
    app().layer(layer)
}

pub fn authgate(alg: Alg) -> Router {
    app().layer(AuthLayer::new(authgate_config(alg)))
}

pub fn authgate_cached(alg: Alg) -> Router {
    app().layer(AuthLayer::new(authgate_cached_config(alg)))
}

/// The compared stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    Baseline,
    Floor,
    Authgate,
    AuthgateCached,
}

impl Stack {
    pub fn name(self) -> &'static str {
        match self {
            Stack::Baseline => "baseline",
            Stack::Floor => "floor",
            Stack::Authgate => "authgate",
            Stack::AuthgateCached => "authgate-cached",
        }
    }

    pub fn build(self, alg: Alg) -> Router {
        match self {
            Stack::Baseline => baseline(),
            Stack::Floor => floor(alg),
            Stack::Authgate => authgate(alg),
            Stack::AuthgateCached => authgate_cached(alg),
        }
    }

    /// Baseline has no auth: only `valid` and `missing` are worth measuring, as
    /// the reference for each. Only valid tokens are cached, so the cache changes
    /// nothing on the other paths: `authgate-cached` measures `valid` alone.
    pub fn paths(self) -> &'static [Path] {
        match self {
            Stack::Baseline => &[Path::Valid, Path::Missing],
            Stack::AuthgateCached => &[Path::Valid],
            _ => &PATHS,
        }
    }

    pub fn expected_status(self, path: Path) -> StatusCode {
        match self {
            Stack::Baseline => StatusCode::OK,
            _ => path.expected_status(),
        }
    }
}

pub const STACKS: [Stack; 4] = [
    Stack::Baseline,
    Stack::Floor,
    Stack::Authgate,
    Stack::AuthgateCached,
];

/// One request through `svc`: `ready` + `call`, the response dropped; returns
/// the status (checked once before measuring, and kept alive for the optimiser).
pub async fn one<S, RB>(svc: &mut S, auth: Option<&HeaderValue>) -> StatusCode
where
    S: Service<Request<Body>, Response = Response<RB>>,
    S::Error: std::fmt::Debug,
{
    let res = svc
        .ready()
        .await
        .expect("ready")
        .call(request(auth))
        .await
        .expect("infallible");
    res.status()
}

// ---------------------------------------------------------------------------
// The floor: a bare layer around jsonwebtoken::decode
// ---------------------------------------------------------------------------

/// A minimal JWT layer: `Authorization: Bearer` → `jsonwebtoken::decode` with a
/// prebuilt `Validation` and `DecodingKey` → claims in the extensions, or 401.
#[derive(Clone)]
pub struct FloorLayer {
    shared: Arc<FloorShared>,
}

struct FloorShared {
    key: DecodingKey,
    validation: Validation,
    challenge: HeaderValue,
}

impl FloorLayer {
    pub fn new(alg: Alg) -> Self {
        let mut validation = Validation::new(alg.jwt());
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        FloorLayer {
            shared: Arc::new(FloorShared {
                key: alg.decoding_key(),
                validation,
                challenge: HeaderValue::from_static("Bearer realm=\"api\""),
            }),
        }
    }
}

impl<S> Layer<S> for FloorLayer {
    type Service = FloorService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FloorService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

#[derive(Clone)]
pub struct FloorService<S> {
    inner: S,
    shared: Arc<FloorShared>,
}

impl<S> FloorService<S> {
    fn claims(&self, req: &Request<Body>) -> Option<serde_json::Value> {
        let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        jsonwebtoken::decode::<serde_json::Value>(token, &self.shared.key, &self.shared.validation)
            .ok()
            .map(|data| data.claims)
    }
}

impl<S> Service<Request<Body>> for FloorService<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = FloorFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        match self.claims(&req) {
            Some(claims) => {
                req.extensions_mut().insert(claims);
                FloorFuture::Inner {
                    future: self.inner.call(req),
                }
            }
            None => {
                let mut res = Response::new(Body::empty());
                *res.status_mut() = StatusCode::UNAUTHORIZED;
                res.headers_mut()
                    .insert(WWW_AUTHENTICATE, self.shared.challenge.clone());
                FloorFuture::Rejected {
                    response: Some(res),
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    #[project = FloorProj]
    pub enum FloorFuture<F> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<Body>> },
    }
}

impl<F, E> Future for FloorFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            FloorProj::Inner { future } => future.poll(cx),
            FloorProj::Rejected { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}
