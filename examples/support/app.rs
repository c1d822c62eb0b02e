//! The demo application shared by the examples: `/healthz` (open), `/api/whoami`,
//! `/api/admin` (scope `admin`), `/api/step-up` (a recent multi-factor login) and,
//! with `[resource]`, the protected resource metadata document (open), as
//! docs/reference.md lists them.

use std::time::Duration;

use authgate::{
    AuthConfig, AuthLayer, CorsPreflight, Principal, ProtectedResourceMetadata, RequireAuthContext,
    RequireScopes,
};
use axum::{Json, Router, extract::State, routing::get, routing::post};
use http::header::AUTHORIZATION;
use serde_json::{Value, json};
use tower_http::cors::{Any, CorsLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

/// `GET /api/whoami`: who the caller is.
pub async fn whoami(p: Principal) -> Json<Value> {
    Json(json!({
        "subject": p.subject(),
        "scheme": p.scheme().as_str(),
        "scopes": p.scopes(),
    }))
}

/// `POST /admin/revoke` (scope `admin`): revokes the `jti` of the JSON body
/// `{"jti": "...", "exp": <unix seconds>}` (24 h when `exp` is absent), or, with
/// no body, the calling token's own `jti` until its `exp`. 204 on success.
pub async fn revoke(
    State(revocations): State<authgate::Revocations>,
    p: Principal,
    body: axum::body::Bytes,
) -> Result<http::StatusCode, (http::StatusCode, Json<Value>)> {
    let bad = |detail: &str| {
        (
            http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "bad_request", "detail": detail})),
        )
    };
    let claims = p.claims();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (jti, exp) = if body.iter().all(u8::is_ascii_whitespace) {
        let jti = claims
            .and_then(|c| c.get("jti"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the calling token has no jti; name one in the body"))?;
        let exp = claims
            .and_then(|c| c.get("exp"))
            .and_then(Value::as_u64)
            .unwrap_or(now + 86_400);
        (jti.to_owned(), exp)
    } else {
        let v: Value = serde_json::from_slice(&body).map_err(|_| bad("the body is not JSON"))?;
        let jti = v
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .ok_or_else(|| bad("the body needs a string \"jti\""))?;
        let exp = match v.get("exp") {
            None | Some(Value::Null) => now + 86_400,
            Some(e) => e
                .as_u64()
                .ok_or_else(|| bad("\"exp\" must be unix seconds"))?,
        };
        (jti.to_owned(), exp)
    };
    revocations.revoke_jti(&jti, exp);
    Ok(http::StatusCode::NO_CONTENT)
}

/// The example application: `/healthz` open, `/api/*` behind authgate, CORS
/// outside the auth layer (so preflights are answered and rejections carry
/// `Access-Control-Allow-Origin`) unless preflights are to be authenticated.
pub fn router(cfg: AuthConfig) -> Router {
    router_with(AuthLayer::new(cfg))
}

/// [`router`] around an existing layer (e.g. one that was warmed up).
pub fn router_with(auth: AuthLayer) -> Router {
    let cors = auth.config().cors_preflight() == CorsPreflight::Allow;
    let revocations = auth.revocations();
    let mut api = Router::new()
        .route("/api/whoami", get(whoami))
        .route(
            "/admin/revoke",
            post(revoke)
                .layer(RequireScopes::all(["admin"]))
                .with_state(revocations),
        )
        .route(
            "/api/admin",
            get(whoami).layer(RequireScopes::all(["admin"])),
        )
        // RFC 9470: a login with multi-factor authentication, at most 5 minutes old.
        .route(
            "/api/step-up",
            get(whoami).layer(
                RequireAuthContext::acr(["urn:example:mfa"]).max_age(Duration::from_secs(300)),
            ),
        );
    let metadata = ProtectedResourceMetadata::from_config(auth.config());
    api = api.layer(auth);
    // The metadata document is fetched before the client has a token: merged
    // after the auth layer, so it is not behind it (CORS still applies).
    if let Some(metadata) = metadata {
        api = api.merge(metadata.router());
    }
    if cors {
        api = api.layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any),
        );
    }
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(api)
        // authgate's request span: OpenTelemetry field names (http.request.method,
        // url.path, error.type on a rejection) and `auth.subject`, recorded by the
        // layer.
        .layer(TraceLayer::new_for_http().make_span_with(authgate::trace::request_span))
        // Before TraceLayer sees the request: never log credentials.
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
}
