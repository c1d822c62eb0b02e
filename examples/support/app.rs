//! The demo application shared by the examples: `/healthz` (open), `/api/whoami`,
//! `/api/admin` (scope `admin`), `/api/step-up` (a recent multi-factor login) and,
//! with `[resource]`, the protected resource metadata document (open), as
//! docs/reference.md lists them.

use std::time::Duration;

use authgate::{
    AuthConfig, AuthLayer, CorsPreflight, Principal, ProtectedResourceMetadata, RequireAuthContext,
    RequireScopes,
};
use axum::{Json, Router, routing::get};
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

/// The example application: `/healthz` open, `/api/*` behind authgate, CORS
/// outside the auth layer (so preflights are answered and rejections carry
/// `Access-Control-Allow-Origin`) unless preflights are to be authenticated.
pub fn router(cfg: AuthConfig) -> Router {
    router_with(AuthLayer::new(cfg))
}

/// [`router`] around an existing layer (e.g. one that was warmed up).
pub fn router_with(auth: AuthLayer) -> Router {
    let cors = auth.config().cors_preflight() == CorsPreflight::Allow;
    let mut api = Router::new()
        .route("/api/whoami", get(whoami))
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
