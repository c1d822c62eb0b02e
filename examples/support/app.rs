//! The demo application shared by the examples: the routes of SPEC §5.

use authgate::{AuthConfig, AuthLayer, CorsPreflight, Principal, RequireScopes};
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
    let cors = cfg.cors_preflight() == CorsPreflight::Allow;
    let mut api = Router::new()
        .route("/api/whoami", get(whoami))
        .route(
            "/api/admin",
            get(whoami).layer(RequireScopes::all(["admin"])),
        )
        .layer(AuthLayer::new(cfg));
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
        .layer(TraceLayer::new_for_http())
        // Before TraceLayer sees the request: never log credentials.
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
}
