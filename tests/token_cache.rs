//! The verified-token cache (on by default) never changes an answer: expired,
//! not-yet-valid and revoked tokens are rejected even after they were cached, and
//! a key removed from a remote key set takes its cached tokens with it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey};
use axum::Router;
use axum::routing::get;
use http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

const T0: u64 = 1_900_000_000;

struct Setup {
    app: Router,
    clock: Arc<AtomicU64>,
    revoked: Arc<AtomicBool>,
}

fn setup(jwt: JwtConfig) -> Setup {
    let clock = Arc::new(AtomicU64::new(T0));
    let revoked = Arc::new(AtomicBool::new(false));
    let (c, r) = (Arc::clone(&clock), Arc::clone(&revoked));
    let cfg = AuthConfig::builder()
        .jwt(jwt)
        .leeway_secs(30)
        .clock(move || UNIX_EPOCH + Duration::from_secs(c.load(Ordering::SeqCst)))
        .revocation(move |jti| jti == "j-1" && r.load(Ordering::SeqCst))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(AuthLayer::new(cfg));
    Setup {
        app,
        clock,
        revoked,
    }
}

fn hs_jwt() -> JwtConfig {
    JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(common::HS_SECRET))
}

async fn call(app: &Router, token: &str) -> (u16, Value) {
    let req = Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn hs(claims: Value) -> String {
    common::mint(jsonwebtoken::Algorithm::HS256, None, &claims)
}

#[tokio::test]
async fn an_expired_token_is_never_served_from_the_cache() {
    let s = setup(hs_jwt());
    let token = hs(json!({"sub": "a", "exp": T0 + 100}));
    for _ in 0..3 {
        assert_eq!(call(&s.app, &token).await.0, 200);
    }
    // Within the leeway after exp: still valid (re-verified in full).
    s.clock.store(T0 + 120, Ordering::SeqCst);
    assert_eq!(call(&s.app, &token).await.0, 200);
    // At exp + leeway: expired, although it was cached a moment ago.
    s.clock.store(T0 + 130, Ordering::SeqCst);
    let (status, body) = call(&s.app, &token).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("token_expired"))
    );
}

#[tokio::test]
async fn a_clock_moved_back_before_nbf_is_not_served_from_the_cache() {
    let s = setup(hs_jwt());
    let token = hs(json!({"sub": "a", "exp": T0 + 3600, "nbf": T0}));
    assert_eq!(call(&s.app, &token).await.0, 200);
    s.clock.store(T0 - 100, Ordering::SeqCst);
    let (status, body) = call(&s.app, &token).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("token_not_yet_valid"))
    );
}

#[tokio::test]
async fn revocation_is_checked_on_every_request_even_when_cached() {
    let s = setup(hs_jwt());
    let token = hs(json!({"sub": "a", "exp": T0 + 3600, "jti": "j-1"}));
    assert_eq!(call(&s.app, &token).await.0, 200);
    assert_eq!(call(&s.app, &token).await.0, 200);
    s.revoked.store(true, Ordering::SeqCst);
    let (status, body) = call(&s.app, &token).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("token_revoked"))
    );
}

#[tokio::test]
async fn the_cache_can_be_turned_off_and_answers_stay_the_same() {
    for jwt in [
        hs_jwt().token_cache(0, 0),
        hs_jwt(),
        hs_jwt().token_cache(1, 300),
    ] {
        let s = setup(jwt);
        let a = hs(json!({"sub": "a", "exp": T0 + 60}));
        let b = hs(json!({"sub": "b", "exp": T0 + 60}));
        for _ in 0..3 {
            assert_eq!(call(&s.app, &a).await.0, 200);
            assert_eq!(call(&s.app, &b).await.0, 200);
        }
        s.clock.store(T0 + 90, Ordering::SeqCst);
        assert_eq!(call(&s.app, &a).await.0, 401);
        assert_eq!(call(&s.app, &b).await.0, 401);
    }
}

#[test]
fn a_cache_ttl_over_a_day_is_a_config_error() {
    let err = AuthConfig::builder()
        .jwt(hs_jwt().token_cache(10, 100_000))
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "bearer.jwt.token_cache");
}
