//! Config **D** of SECURITY-CASES §2 (Bearer part), the axum app around it, token
//! builders, and a table runner that sends each [`Case`] through
//! `tower::ServiceExt::oneshot` ([`run_oneshot`]) or through a real server on
//! 127.0.0.1 with the harness client ([`run_wire`]) and checks the whole contract
//! of SPEC §1–§3 on every response: status, challenges, problem body,
//! `Cache-Control`, and the one captured event with its fields.
//!
//! Include with `mod common; mod configd;` (it uses `crate::common`).
//!
//! Config D here is Bearer only (JWT + two API keys): Basic is another issue, so
//! the "C0" challenge set of the catalog is the single `Bearer realm="api"`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authgate::extract::Claims;
use authgate::{
    Algorithm, ApiKey, AuthConfig, AuthConfigBuilder, AuthLayer, CorsPreflight, JwtConfig, JwtKey,
    Principal, RequirePolicy, RequireScopes,
};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;

use crate::common::{self, Resp, Signing};

// ---------------------------------------------------------------------------
// Config D
// ---------------------------------------------------------------------------

/// The pinned "now" of every table (unix seconds), so `auth.skew_secs` is exact.
pub const NOW: u64 = 1_800_000_000;
pub const ISS: &str = "https://id.example.com/";
pub const AUD: &str = "orders-api";
/// Two opaque API keys (b64token characters, no `.`). Only their digests are
/// configured.
pub const API_KEY_CI: &str = "agk_ci_7Hq2vZr9Lx4Wm8Nc3Pb6Ty1Ks5Dj0Fg";
pub const API_KEY_REVOKED: &str = "agk_old_4Rt8Yu2Io6Pa1Sd5Fg9Hj3Kl7Zx0Cv";
/// The `jti` the revocation check refuses.
pub const REVOKED_JTI: &str = "jti-revoked-0001";

/// The SPEC §2 reason codes (the client-visible ones plus the two Basic ones).
pub const SPEC_REASONS: [&str; 23] = [
    "missing_credentials",
    "unsupported_scheme",
    "malformed_credentials",
    "multiple_credentials",
    "token_malformed",
    "algorithm_not_allowed",
    "unknown_key",
    "signature_invalid",
    "token_expired",
    "token_not_yet_valid",
    "token_issued_in_future",
    "issuer_mismatch",
    "audience_mismatch",
    "missing_claim",
    "token_revoked",
    "unknown_api_key",
    "unknown_user",
    "wrong_password",
    "insufficient_scope",
    "access_denied",
    "key_set_unavailable",
    "internal_error",
    "invalid_credentials",
];

/// The reason codes the core layer owns (issue 3).
pub const CORE_REASONS: [&str; 18] = [
    "missing_credentials",
    "unsupported_scheme",
    "malformed_credentials",
    "multiple_credentials",
    "token_malformed",
    "algorithm_not_allowed",
    "unknown_key",
    "signature_invalid",
    "token_expired",
    "token_not_yet_valid",
    "token_issued_in_future",
    "issuer_mismatch",
    "audience_mismatch",
    "missing_claim",
    "token_revoked",
    "unknown_api_key",
    "insufficient_scope",
    "access_denied",
];

/// Variations of config D that single catalog rows need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Config D as the catalog states it.
    D,
    /// D with `leeway_secs = 0` (C-03).
    Leeway0,
    /// D without `audience` (C-24).
    NoAudience,
    /// D with `scope_claim = "scp"` (Z-06).
    Scp,
    /// D with `scope_claim = "realm_access.roles"`.
    RealmRoles,
    /// D behind `AuthLayer::optional`.
    Optional,
    /// D with `CorsPreflight::Authenticate`.
    CorsAuth,
}

pub fn pem(name: &str) -> Vec<u8> {
    common::read_key(name)
}

/// The JWT part of config D.
pub fn jwt_d() -> JwtConfig {
    JwtConfig::new([
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::HS256,
    ])
    .key(
        JwtKey::from_pem(pem("rsa.pub.pem"))
            .expect("rsa.pub.pem")
            .with_kid("rsa-1"),
    )
    .key(
        JwtKey::from_pem(pem("ec.pub.pem"))
            .expect("ec.pub.pem")
            .with_kid("ec-1"),
    )
    .key(
        JwtKey::from_pem(pem("ed.pub.pem"))
            .expect("ed.pub.pem")
            .with_kid("ed-1"),
    )
    .key(JwtKey::hmac(common::HS_SECRET).with_kid("hmac-1"))
    .issuer(ISS)
    .required_claims(["exp", "sub"])
}

pub fn pinned_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

/// The builder of config D (or a variant), clock pinned to [`NOW`].
pub fn builder(variant: Variant) -> AuthConfigBuilder {
    let mut jwt = jwt_d();
    if variant != Variant::NoAudience {
        jwt = jwt.audience(AUD);
    }
    match variant {
        Variant::Scp => jwt = jwt.scope_claim("scp"),
        Variant::RealmRoles => jwt = jwt.scope_claim("realm_access.roles"),
        _ => {}
    }
    let mut b = AuthConfig::builder()
        .realm("api")
        .leeway_secs(if variant == Variant::Leeway0 { 0 } else { 30 })
        .jwt(jwt)
        .api_key(ApiKey::from_key("ci-bot", API_KEY_CI).scopes(["orders:read"]))
        .api_key(ApiKey::from_key("old-bot", API_KEY_REVOKED))
        .clock(pinned_clock)
        .revocation(|id| id == REVOKED_JTI || id == "old-bot");
    if variant == Variant::CorsAuth {
        b = b.cors_preflight(CorsPreflight::Authenticate);
    }
    b
}

pub fn config(variant: Variant) -> AuthConfig {
    builder(variant).build().expect("config D builds")
}

// ---------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------

pub fn principal_json(p: &Principal) -> Value {
    json!({
        "subject": p.subject(),
        "scheme": p.scheme().as_str(),
        "scopes": p.scopes(),
    })
}

async fn whoami(p: Principal) -> axum::Json<Value> {
    // An event inside the request span, so tests can see `auth.subject` recorded
    // on it (the `authenticated` event itself precedes the recording).
    tracing::info!(target: "app", "handler ran");
    axum::Json(principal_json(&p))
}

async fn maybe(p: Option<Principal>) -> axum::Json<Value> {
    axum::Json(match p {
        Some(p) => principal_json(&p),
        None => json!({ "anonymous": true }),
    })
}

#[derive(serde::Deserialize)]
pub struct TenantClaims {
    pub sub: String,
    pub tenant: String,
    pub exp: f64,
}

async fn tenant(Claims(c): Claims<TenantClaims>) -> axum::Json<Value> {
    axum::Json(json!({ "sub": c.sub, "tenant": c.tenant, "exp": c.exp }))
}

/// The app of the example server, on config D (or a variant):
///
/// - `/api/whoami`: the principal as JSON (and `OPTIONS` → 204 for preflights),
/// - `/api/maybe`: `Option<Principal>`,
/// - `/api/admin`: `RequireScopes::all(["admin"])`,
/// - `/api/policy`: `RequirePolicy`, only subject `owner`,
/// - `/api/weird-scope`: requires scopes that cannot be sent verbatim in `scope=`,
/// - `/api/tenant`: `Claims<TenantClaims>`,
/// - `/healthz`: outside the layer.
pub fn app(variant: Variant) -> Router {
    app_with(config(variant), variant == Variant::Optional)
}

pub fn app_with(cfg: AuthConfig, optional: bool) -> Router {
    let layer = if optional {
        AuthLayer::optional(cfg)
    } else {
        AuthLayer::new(cfg)
    };
    Router::new()
        .route(
            "/api/whoami",
            get(whoami).options(|| async { StatusCode::NO_CONTENT }),
        )
        .route("/api/maybe", get(maybe))
        .route(
            "/api/admin",
            get(whoami).layer(RequireScopes::all(["admin"])),
        )
        .route(
            "/api/policy",
            get(whoami).layer(RequirePolicy::new(|req| {
                req.principal().subject() == Some("owner")
            })),
        )
        .route(
            "/api/weird-scope",
            get(whoami).layer(RequireScopes::all(["ad\"min", "a\\b"])),
        )
        .route("/api/tenant", get(tenant))
        .layer(layer)
        .route("/healthz", get(|| async { "ok" }))
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

/// The claims of `<valid>`: every claim good at [`NOW`].
pub fn claims() -> Map<String, Value> {
    let v = json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "alice",
        "exp": NOW + 600,
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "jti": "jti-0001",
        "scope": "orders:read",
    });
    v.as_object().expect("object").clone()
}

/// [`claims`] changed by `f`.
pub fn claims_with(f: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut c = claims();
    f(&mut c);
    Value::Object(c)
}

/// RS256 with `kid=rsa-1`, signed by `rsa.pem`.
pub fn rs(claims: &Value) -> String {
    common::mint(jsonwebtoken::Algorithm::RS256, Some("rsa-1"), claims)
}

/// `<valid>`.
pub fn valid() -> String {
    rs(&Value::Object(claims()))
}

/// `<valid>` with the `admin` scope.
pub fn valid_admin() -> String {
    rs(&claims_with(|c| {
        c.insert("scope".into(), json!("admin orders:read"));
    }))
}

/// A token for each configured key type.
pub fn valid_es() -> String {
    common::mint(
        jsonwebtoken::Algorithm::ES256,
        Some("ec-1"),
        &Value::Object(claims()),
    )
}
pub fn valid_ed() -> String {
    common::mint(
        jsonwebtoken::Algorithm::EdDSA,
        Some("ed-1"),
        &Value::Object(claims()),
    )
}
pub fn valid_hs() -> String {
    common::mint(
        jsonwebtoken::Algorithm::HS256,
        Some("hmac-1"),
        &Value::Object(claims()),
    )
}

/// A hand-built RS256 token (`rsa.pem`) from raw header and payload JSON text.
pub fn raw_rs(header: &str, payload: &str) -> String {
    common::raw_jwt(header, payload, Signing::Rs256("rsa.pem"))
}

/// The RS256/rsa-1 header as JSON text.
pub const RS_HEADER: &str = r#"{"alg":"RS256","kid":"rsa-1","typ":"JWT"}"#;

/// The claims of `<valid>` as JSON text with `key` replaced by raw JSON `value`
/// text (for values `json!` cannot make: `1e400`, duplicate members).
pub fn payload_with_raw(key: &str, value: &str) -> String {
    let mut c = claims();
    c.remove(key);
    let base = Value::Object(c).to_string();
    format!("{{\"{key}\":{value},{}", &base[1..])
}

/// The claims of `<valid>` as JSON text with the raw member text `member`
/// (e.g. `"exp":1`) put in front (for duplicate members).
pub fn payload_prepend(member: &str) -> String {
    let base = Value::Object(claims()).to_string();
    format!("{{{member},{}", &base[1..])
}

pub fn fp(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect::<String>()[..12].to_owned()
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

/// One request and everything expected of its answer.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub variant: Variant,
    pub method: Method,
    pub path: String,
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub want_status: u16,
    /// `None`: the request passes the layer.
    pub want_reason: Option<&'static str>,
    /// The Bearer challenge's `error`; `None`: no `error` param.
    pub want_error: Option<&'static str>,
    /// `auth.scheme` (rejections) or the principal's scheme (passes).
    pub want_scheme: &'static str,
    /// Substring of `auth.hint`.
    pub want_hint: Option<&'static str>,
    /// `auth.hint` must be absent.
    pub no_hint: bool,
    /// Substring of `auth.detail`.
    pub want_detail: Option<&'static str>,
    /// The Bearer token the layer extracts: `auth.token_fp` must be its
    /// fingerprint; `None`: no `auth.token_fp`.
    pub token: Option<String>,
    pub jwt_alg: Option<String>,
    pub jwt_kid: Option<String>,
    /// The signature verified: `jwt.iss`/`jwt.aud`/`jwt.sub` as in [`claims`]
    /// unless overridden; otherwise they must be absent.
    pub verified: bool,
    pub want_iss: Option<String>,
    pub want_sub: Option<String>,
    pub want_aud: Option<String>,
    pub want_expected: Option<&'static str>,
    pub want_skew: Option<i64>,
    /// The `scope` param of the 403 challenge.
    pub want_scope: Option<&'static str>,
    pub want_required: Option<&'static str>,
    pub want_granted: Option<&'static str>,
    pub want_key_id: Option<&'static str>,
    /// For passes: the subject the handler saw (`Some(None)`: anonymous).
    pub want_subject: Option<Option<&'static str>>,
    /// For passes: the scopes the handler saw.
    pub want_scopes: Option<Vec<&'static str>>,
    /// Passes without any authgate event (preflight, optional anonymous, healthz).
    pub silent: bool,
    /// A rejection after a successful authentication (403s, a handler's
    /// extractor failing): the DEBUG `authenticated` event comes first.
    pub authenticated_first: bool,
    /// Only through oneshot (bytes hyper cannot send).
    pub oneshot_only: bool,
}

impl Case {
    /// `GET /api/whoami` on config D with these headers; expects a pass until
    /// told otherwise.
    pub fn new(name: impl Into<String>, headers: Vec<(&'static str, Vec<u8>)>) -> Self {
        Case {
            name: name.into(),
            variant: Variant::D,
            method: Method::GET,
            path: "/api/whoami".into(),
            headers,
            want_status: 200,
            want_reason: None,
            want_error: None,
            want_scheme: "bearer",
            want_hint: None,
            no_hint: false,
            want_detail: None,
            token: None,
            jwt_alg: None,
            jwt_kid: None,
            verified: false,
            want_iss: None,
            want_sub: None,
            want_aud: None,
            want_expected: None,
            want_skew: None,
            want_scope: None,
            want_required: None,
            want_granted: None,
            want_key_id: None,
            want_subject: None,
            want_scopes: None,
            silent: false,
            authenticated_first: false,
            oneshot_only: false,
        }
    }

    /// `Authorization: Bearer <token>`; the layer extracts `token`.
    pub fn bearer(name: impl Into<String>, token: &str) -> Self {
        let mut c = Case::new(name, vec![common::bearer(token)]);
        c.token = Some(token.to_owned());
        c
    }

    /// A raw `Authorization` value.
    pub fn auth(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Case::new(name, vec![("authorization", value.into())])
    }

    /// A Bearer token that verifies as RS256/rsa-1 with the claims of `<valid>`.
    pub fn valid_rs(name: impl Into<String>, token: &str) -> Self {
        Case::bearer(name, token).jwt("RS256", Some("rsa-1")).ok()
    }

    pub fn variant(mut self, v: Variant) -> Self {
        self.variant = v;
        self
    }
    pub fn method(mut self, m: Method) -> Self {
        self.method = m;
        self
    }
    pub fn path(mut self, p: &str) -> Self {
        self.path = p.into();
        self
    }
    pub fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn extracted(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    pub fn no_token(mut self) -> Self {
        self.token = None;
        self
    }
    pub fn ok(mut self) -> Self {
        self.want_status = 200;
        self.want_reason = None;
        self.want_error = None;
        self
    }
    /// A rejection; `error` is the Bearer challenge's `error` (derived from the
    /// status and reason).
    pub fn rej(mut self, status: u16, reason: &'static str) -> Self {
        self.want_status = status;
        self.want_reason = Some(reason);
        self.want_error = match (status, reason) {
            (400, _) => Some("invalid_request"),
            (401, "missing_credentials" | "unsupported_scheme") => None,
            (401, _) => Some("invalid_token"),
            (403, "insufficient_scope") => Some("insufficient_scope"),
            _ => None,
        };
        if matches!(reason, "missing_credentials") {
            self.want_scheme = "none";
        }
        self
    }
    /// 401 `invalid_token` with this reason.
    pub fn t(self, reason: &'static str) -> Self {
        self.rej(401, reason)
    }
    /// 400 `invalid_request` `malformed_credentials`; nothing extracted.
    pub fn bad_request(self) -> Self {
        self.rej(400, "malformed_credentials").no_token()
    }
    pub fn scheme(mut self, s: &'static str) -> Self {
        self.want_scheme = s;
        self
    }
    pub fn hint(mut self, h: &'static str) -> Self {
        self.want_hint = Some(h);
        self
    }
    pub fn no_hint(mut self) -> Self {
        self.no_hint = true;
        self
    }
    pub fn detail(mut self, d: &'static str) -> Self {
        self.want_detail = Some(d);
        self
    }
    pub fn jwt(mut self, alg: &str, kid: Option<&str>) -> Self {
        self.jwt_alg = Some(alg.to_owned());
        self.jwt_kid = kid.map(str::to_owned);
        self
    }
    pub fn rs256(self) -> Self {
        self.jwt("RS256", Some("rsa-1"))
    }
    /// The signature verified; `jwt.iss/aud/sub` are those of [`claims`].
    pub fn verified(mut self) -> Self {
        // A verified token's JOSE header is logged on 401s and 403s alike.
        if self.jwt_alg.is_none() {
            self = self.rs256();
        }
        self.verified = true;
        self.want_iss = Some(ISS.into());
        self.want_sub = Some("alice".into());
        self.want_aud = Some(AUD.into());
        self
    }
    pub fn iss(mut self, v: Option<&str>) -> Self {
        self.want_iss = v.map(str::to_owned);
        self
    }
    pub fn sub(mut self, v: Option<&str>) -> Self {
        self.want_sub = v.map(str::to_owned);
        self
    }
    pub fn aud(mut self, v: Option<&str>) -> Self {
        self.want_aud = v.map(str::to_owned);
        self
    }
    pub fn expected(mut self, e: &'static str) -> Self {
        self.want_expected = Some(e);
        self
    }
    pub fn skew(mut self, s: i64) -> Self {
        self.want_skew = Some(s);
        self
    }
    pub fn forbidden_scope(mut self, required: &'static str, granted: &'static str) -> Self {
        self = self.rej(403, "insufficient_scope");
        self.want_scope = Some(required);
        self.want_required = Some(required);
        self.want_granted = Some(granted);
        self
    }
    pub fn granted(mut self, g: &'static str) -> Self {
        self.want_granted = Some(g);
        self
    }
    pub fn key_id(mut self, k: &'static str) -> Self {
        self.want_key_id = Some(k);
        self
    }
    pub fn subject(mut self, s: Option<&'static str>) -> Self {
        self.want_subject = Some(s);
        self
    }
    pub fn scopes(mut self, s: &[&'static str]) -> Self {
        self.want_scopes = Some(s.to_vec());
        self
    }
    /// The status of a pass (default 200).
    pub fn status(mut self, status: u16) -> Self {
        self.want_status = status;
        self
    }
    pub fn authenticated_first(mut self) -> Self {
        self.authenticated_first = true;
        self
    }
    pub fn silent(mut self) -> Self {
        self.silent = true;
        self
    }
    pub fn oneshot_only(mut self) -> Self {
        self.oneshot_only = true;
        self
    }
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

/// Every field value of every authgate event is at most 1024 characters.
pub fn check_field_caps(events: &[Value]) -> Vec<String> {
    let mut errs = Vec::new();
    for ev in events {
        if let Some(fields) = ev["fields"].as_object() {
            for (k, v) in fields {
                if let Some(s) = v.as_str()
                    && s.chars().count() > authgate::event::MAX_FIELD_CHARS
                {
                    errs.push(format!("field {k} has {} chars", s.chars().count()));
                }
            }
        }
    }
    errs
}

/// RFC 6750 §3 character sets.
fn is_description_char(c: char) -> bool {
    matches!(c, ' '..='!' | '#'..='[' | ']'..='~')
}
fn is_scope_char(c: char) -> bool {
    matches!(c, ' ' | '!' | '#'..='[' | ']'..='~')
}

/// The response-conformance rows (R-01…R-07, R-10) and the case's own
/// expectations on the response.
pub fn check_response(case: &Case, resp: &Resp) -> Vec<String> {
    let mut errs = Vec::new();
    macro_rules! ensure {
        ($cond:expr, $($fmt:tt)+) => {
            if !$cond {
                errs.push(format!($($fmt)+));
            }
        };
    }
    ensure!(
        resp.status == case.want_status,
        "status {} (want {}); body {}",
        resp.status,
        case.want_status,
        resp.text()
    );
    if case.want_reason.is_none() {
        if resp.status == 200 && case.path.starts_with("/api/") {
            let body = serde_json::from_slice::<Value>(&resp.body).unwrap_or(Value::Null);
            if let Some(subject) = case.want_subject {
                match subject {
                    Some(s) => ensure!(body["subject"] == s, "subject {}", body["subject"]),
                    None => ensure!(
                        body["anonymous"] == true || (case.method == Method::OPTIONS),
                        "expected anonymous, body {body}"
                    ),
                }
            }
            if let Some(scopes) = &case.want_scopes {
                ensure!(body["scopes"] == json!(scopes), "scopes {}", body["scopes"]);
            }
        }
        ensure!(
            resp.www_authenticate().is_empty(),
            "WWW-Authenticate on a pass"
        );
        return errs;
    }
    let reason = case.want_reason.unwrap_or_default();

    // Challenges (R-01, R-02, R-04, R-05, R-10).
    let raw = resp.www_authenticate();
    let mut parsed = Vec::new();
    for v in &raw {
        match common::parse_challenge(v) {
            Ok(c) => parsed.push(c),
            Err(e) => errs.push(format!("malformed WWW-Authenticate {v:?}: {e}")),
        }
    }
    match case.want_status {
        400 | 401 => {
            // Bearer is the only enabled scheme: exactly one challenge.
            ensure!(parsed.len() == 1, "challenges {raw:?} (want one Bearer)");
        }
        403 if case.want_error.is_some() => {
            ensure!(parsed.len() == 1, "challenges {raw:?} (want one Bearer)");
        }
        _ => ensure!(raw.is_empty(), "challenges {raw:?} (want none)"),
    }
    for (scheme, params) in &parsed {
        ensure!(scheme == "Bearer", "scheme {scheme}");
        ensure!(!params.is_empty(), "bare challenge {scheme} (R-05)");
        ensure!(
            common::param(params, "realm") == Some("api"),
            "realm in {params:?}"
        );
        ensure!(
            params[0].0 == "realm",
            "realm is not the first param: {params:?}"
        );
        let error = common::param(params, "error");
        ensure!(
            error == case.want_error,
            "error param {error:?} (want {:?})",
            case.want_error
        );
        let desc = common::param(params, "error_description");
        ensure!(
            desc.is_some() == error.is_some(),
            "error_description {desc:?} with error {error:?}"
        );
        if let Some(d) = desc {
            ensure!(!d.is_empty(), "empty error_description");
            ensure!(
                d.chars().all(is_description_char),
                "error_description outside RFC 6750 §3: {d:?}"
            );
        }
        let scope = common::param(params, "scope");
        ensure!(
            scope == case.want_scope,
            "scope param {scope:?} (want {:?})",
            case.want_scope
        );
        if let Some(s) = scope {
            ensure!(
                s.chars().all(is_scope_char),
                "scope outside RFC 6750 §3: {s:?}"
            );
        }
    }
    // Quoted realm.
    for v in &raw {
        ensure!(v.contains("realm=\"api\""), "realm not quoted in {v:?}");
    }

    // R-07.
    ensure!(
        resp.header("cache-control").as_deref() == Some("no-store"),
        "Cache-Control {:?}",
        resp.header("cache-control")
    );
    // R-06 (HEAD responses have no body on the wire).
    if case.method != Method::HEAD {
        ensure!(
            resp.header("content-type").as_deref() == Some("application/problem+json"),
            "Content-Type {:?}",
            resp.header("content-type")
        );
        match serde_json::from_slice::<Value>(&resp.body) {
            Ok(body) => {
                ensure!(body["reason"] == reason, "body reason {}", body["reason"]);
                ensure!(
                    body["status"] == case.want_status,
                    "body status {}",
                    body["status"]
                );
                ensure!(body["type"].is_string(), "body type {}", body["type"]);
                ensure!(body["title"].is_string(), "body title {}", body["title"]);
                ensure!(
                    body["detail"].as_str().is_some_and(|d| !d.is_empty()),
                    "body detail {}",
                    body["detail"]
                );
                let n = body.as_object().map_or(0, |o| o.len());
                ensure!(n == 5, "body has {n} members: {body}");
            }
            Err(e) => errs.push(format!("body not JSON ({e}): {}", resp.text())),
        }
    }
    errs
}

/// The event checks of SPEC §3 for one case, given every event captured while it ran.
pub fn check_events(case: &Case, events: &[Value]) -> Vec<String> {
    let mut errs = check_field_caps(events);
    macro_rules! ensure {
        ($cond:expr, $($fmt:tt)+) => {
            if !$cond {
                errs.push(format!($($fmt)+));
            }
        };
    }
    let ag: Vec<&Value> = events
        .iter()
        .filter(|e| e["target"] == "authgate")
        .collect();
    let Some(reason) = case.want_reason else {
        if case.silent {
            ensure!(ag.is_empty(), "authgate events on a silent pass: {ag:?}");
        } else {
            ensure!(ag.len() == 1, "want one `authenticated` event, got {ag:?}");
            if let Some(ev) = ag.first() {
                let f = &ev["fields"];
                ensure!(f["message"] == "authenticated", "message {}", f["message"]);
                ensure!(ev["level"] == "DEBUG", "level {}", ev["level"]);
                ensure!(
                    f["auth.scheme"] == case.want_scheme,
                    "scheme {}",
                    f["auth.scheme"]
                );
                if let Some(Some(s)) = case.want_subject {
                    ensure!(f["auth.subject"] == s, "auth.subject {}", f["auth.subject"]);
                }
                for k in ["auth.reason", "auth.detail", "auth.token_fp"] {
                    ensure!(f.get(k).is_none(), "{k} on a success event");
                }
                // SPEC §3: for JWTs, `jwt.kid` / `jwt.iss` of the verified token.
                let kid = f["jwt.kid"].as_str();
                ensure!(
                    kid == case.jwt_kid.as_deref(),
                    "jwt.kid {kid:?} (want {:?})",
                    case.jwt_kid
                );
                let iss = f["jwt.iss"].as_str();
                let want_iss = case.jwt_alg.as_ref().map(|_| ISS);
                ensure!(iss == want_iss, "jwt.iss {iss:?} (want {want_iss:?})");
            }
        }
        return errs;
    };
    // Exactly one rejection event. A 403 follows a successful authentication, so
    // its rejection event is preceded by the DEBUG `authenticated` event.
    let (rejections, others): (Vec<&Value>, Vec<&Value>) = ag
        .iter()
        .partition(|e| e["fields"].get("auth.reason").is_some());
    ensure!(
        rejections.len() == 1,
        "want exactly one rejection event, got {}: {rejections:?}",
        rejections.len()
    );
    let want_others = usize::from(case.want_status == 403 || case.authenticated_first);
    ensure!(
        others.len() == want_others
            && others
                .iter()
                .all(|e| e["fields"]["message"] == "authenticated" && e["level"] == "DEBUG"),
        "other authgate events: {others:?}"
    );
    let Some(ev) = rejections.first() else {
        return errs;
    };
    let f = &ev["fields"];
    let s = |k: &str| f[k].as_str().map(str::to_owned);

    ensure!(
        f["auth.reason"] == reason,
        "auth.reason {}",
        f["auth.reason"]
    );
    let (outcome, message, level) = match case.want_status {
        403 => ("forbidden", "access forbidden", "INFO"),
        500..=599 => ("unavailable", "authentication unavailable", "WARN"),
        // A plain missing header is DEBUG; with a hint (proxy, empty header,
        // query token, misplaced credential) it is INFO.
        _ if reason == "missing_credentials" && f.get("auth.hint").is_none() => {
            ensure!(case.want_hint.is_none(), "a hint was expected: {f}");
            ("unauthenticated", "authentication failed", "DEBUG")
        }
        _ => ("unauthenticated", "authentication failed", "INFO"),
    };
    ensure!(
        f["auth.outcome"] == outcome,
        "auth.outcome {}",
        f["auth.outcome"]
    );
    ensure!(f["message"] == message, "message {}", f["message"]);
    ensure!(ev["level"] == level, "level {} (want {level})", ev["level"]);
    ensure!(
        f["auth.scheme"] == case.want_scheme,
        "auth.scheme {} (want {})",
        f["auth.scheme"],
        case.want_scheme
    );
    ensure!(
        f["http.response.status_code"].as_u64() == Some(u64::from(case.want_status)),
        "http.response.status_code {} (want integer {})",
        f["http.response.status_code"],
        case.want_status
    );
    ensure!(
        f["http.request.method"] == case.method.as_str(),
        "http.request.method {}",
        f["http.request.method"]
    );
    let path = case.path.split('?').next().unwrap_or_default();
    ensure!(
        f["url.path"] == path,
        "url.path {} (want {path})",
        f["url.path"]
    );
    ensure!(
        s("auth.detail").is_some_and(|d| !d.is_empty()),
        "auth.detail {}",
        f["auth.detail"]
    );
    if let Some(want) = case.want_detail {
        ensure!(
            s("auth.detail").is_some_and(|d| d.contains(want)),
            "auth.detail {} (want …{want}…)",
            f["auth.detail"]
        );
    }
    if let Some(want) = case.want_hint {
        ensure!(
            s("auth.hint").is_some_and(|h| h.contains(want)),
            "auth.hint {} (want …{want}…)",
            f["auth.hint"]
        );
    }
    if case.no_hint {
        ensure!(f.get("auth.hint").is_none(), "auth.hint {}", f["auth.hint"]);
    }
    match &case.token {
        Some(t) => ensure!(
            s("auth.token_fp") == Some(fp(t)),
            "auth.token_fp {} (want {})",
            f["auth.token_fp"],
            fp(t)
        ),
        None => ensure!(
            f.get("auth.token_fp").is_none(),
            "auth.token_fp {} (want none)",
            f["auth.token_fp"]
        ),
    }
    // As logged: controls, line separators and bidi controls escaped as
    // `\u{…}`, backslashes doubled, then cut to 1024 characters with `…`, never
    // inside an escape.
    let capped = |v: &Option<String>| {
        v.as_deref().map(|v| {
            let units: Vec<String> = v
                .chars()
                .map(|c| {
                    if c == '\\' {
                        "\\\\".to_owned()
                    } else if c.is_control()
                        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
                    {
                        c.escape_unicode().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            let total: usize = units.iter().map(|u| u.chars().count()).sum();
            if total <= 1024 {
                return units.concat();
            }
            let mut out = String::new();
            let mut n = 0;
            for u in &units {
                let len = u.chars().count();
                if n + len > 1023 {
                    break;
                }
                n += len;
                out.push_str(u);
            }
            out.push('…');
            out
        })
    };
    ensure!(
        s("jwt.alg") == capped(&case.jwt_alg),
        "jwt.alg {} (want {:?})",
        f["jwt.alg"],
        case.jwt_alg
    );
    ensure!(
        s("jwt.kid") == capped(&case.jwt_kid),
        "jwt.kid {} (want {:?})",
        f["jwt.kid"],
        case.jwt_kid
            .as_deref()
            .map(|k| k.chars().take(40).collect::<String>())
    );
    // Unverified claims never reach events (SPEC §2).
    let (iss, sub, aud) = if case.verified {
        (
            case.want_iss.clone(),
            case.want_sub.clone(),
            case.want_aud.clone(),
        )
    } else {
        (None, None, None)
    };
    ensure!(
        s("jwt.iss") == iss,
        "jwt.iss {} (want {iss:?})",
        f["jwt.iss"]
    );
    ensure!(
        s("jwt.sub") == sub,
        "jwt.sub {} (want {sub:?})",
        f["jwt.sub"]
    );
    ensure!(
        s("jwt.aud") == aud,
        "jwt.aud {} (want {aud:?})",
        f["jwt.aud"]
    );
    ensure!(
        s("auth.expected").as_deref() == case.want_expected,
        "auth.expected {} (want {:?})",
        f["auth.expected"],
        case.want_expected
    );
    ensure!(
        f["auth.skew_secs"].as_i64() == case.want_skew,
        "auth.skew_secs {} (want {:?})",
        f["auth.skew_secs"],
        case.want_skew
    );
    ensure!(
        s("auth.required_scopes").as_deref() == case.want_required,
        "auth.required_scopes {}",
        f["auth.required_scopes"]
    );
    if case.want_status == 403 {
        ensure!(
            s("auth.granted_scopes") == capped(&case.want_granted.or(Some("")).map(str::to_owned)),
            "auth.granted_scopes {}",
            f["auth.granted_scopes"]
        );
    } else {
        ensure!(
            f.get("auth.granted_scopes").is_none(),
            "auth.granted_scopes on a {}",
            case.want_status
        );
    }
    ensure!(
        s("auth.key_id").as_deref() == case.want_key_id,
        "auth.key_id {}",
        f["auth.key_id"]
    );
    // Basic is off: never a user-id.
    ensure!(f.get("auth.user").is_none(), "auth.user {}", f["auth.user"]);
    // Every field is a known SPEC §3 field.
    const KNOWN: [&str; 22] = [
        "message",
        "auth.outcome",
        "auth.reason",
        "auth.scheme",
        "http.response.status_code",
        "http.request.method",
        "url.path",
        "auth.detail",
        "auth.hint",
        "auth.token_fp",
        "jwt.alg",
        "jwt.kid",
        "jwt.iss",
        "jwt.aud",
        "jwt.sub",
        "auth.expected",
        "auth.skew_secs",
        "auth.user",
        "auth.key_id",
        "auth.required_scopes",
        "auth.granted_scopes",
        "auth.subject",
    ];
    if let Some(obj) = f.as_object() {
        for k in obj.keys() {
            ensure!(KNOWN.contains(&k.as_str()), "unknown event field {k}");
        }
    }
    ensure!(
        SPEC_REASONS.contains(&reason),
        "reason {reason} not in SPEC §2"
    );
    errs
}

// ---------------------------------------------------------------------------
// Transports
// ---------------------------------------------------------------------------

fn request_for(case: &Case) -> Request<Body> {
    let mut req = Request::builder()
        .method(case.method.clone())
        .uri(&case.path)
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{}: bad request: {e}", case.name));
    for (name, value) in &case.headers {
        let value = HeaderValue::from_bytes(value)
            .unwrap_or_else(|e| panic!("{}: header value: {e}", case.name));
        req.headers_mut().append(*name, value);
    }
    req
}

/// Sends `req` through `app` with `oneshot` and collects the whole response.
pub async fn oneshot(app: &Router, req: Request<Body>) -> Resp {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

fn report(transport: &str, failures: Vec<(String, Vec<String>)>, total: usize) {
    if failures.is_empty() {
        return;
    }
    let mut msg = format!(
        "{} of {total} cases failed via {transport}:\n",
        failures.len()
    );
    for (name, errs) in &failures {
        msg.push_str(&format!("- {name}\n"));
        for e in errs {
            let e: String = e.chars().take(400).collect();
            msg.push_str(&format!("    {e}\n"));
        }
    }
    panic!("{msg}");
}

/// Runs every case through `oneshot` on the app of its variant. Call from a plain
/// `#[tokio::test]` (current-thread runtime: the capture is thread-local).
pub async fn run_oneshot(cases: &[Case]) {
    let (cap, _guard) = common::capture();
    let mut apps: HashMap<Variant, Router> = HashMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let app = apps
            .entry(case.variant)
            .or_insert_with(|| app(case.variant))
            .clone();
        cap.clear();
        let resp = oneshot(&app, request_for(case)).await;
        let events = cap.events();
        let mut errs = check_response(case, &resp);
        errs.extend(check_events(case, &events));
        if !errs.is_empty() {
            failures.push((case.name.clone(), errs));
        }
    }
    report("oneshot", failures, cases.len());
}

/// Runs every case (except `oneshot_only` ones) over a real HTTP/1.1 connection to
/// an `axum::serve` server on 127.0.0.1. Call from a plain `#[tokio::test]`.
pub async fn run_wire(cases: &[Case]) {
    let (cap, _guard) = common::capture();
    let mut servers: HashMap<Variant, SocketAddr> = HashMap::new();
    let mut failures = Vec::new();
    let mut total = 0;
    for case in cases.iter().filter(|c| !c.oneshot_only) {
        total += 1;
        let addr = match servers.get(&case.variant) {
            Some(a) => *a,
            None => {
                let a = common::serve(app(case.variant)).await;
                servers.insert(case.variant, a);
                a
            }
        };
        let errs = run_one_at(&cap, addr, case).await;
        if !errs.is_empty() {
            failures.push((case.name.clone(), errs));
        }
    }
    report("a real server", failures, total);
}

/// Runs every case against the server at `addr` (whatever serves it), with the
/// capture `cap` installed before that server started.
pub async fn run_wire_at(cap: &common::Captured, addr: SocketAddr, cases: &[Case], label: &str) {
    let mut failures = Vec::new();
    for case in cases {
        let errs = run_one_at(cap, addr, case).await;
        if !errs.is_empty() {
            failures.push((case.name.clone(), errs));
        }
    }
    report(label, failures, cases.len());
}

async fn run_one_at(cap: &common::Captured, addr: SocketAddr, case: &Case) -> Vec<String> {
    cap.clear();
    let headers = common::hdrs(&case.headers);
    let resp = common::request(
        addr,
        case.method.clone(),
        &case.path,
        &headers,
        bytes::Bytes::new(),
    )
    .await;
    let events = cap.events();
    let mut errs = check_response(case, &resp);
    errs.extend(check_events(case, &events));
    errs
}
