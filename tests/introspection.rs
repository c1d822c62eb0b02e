//! Opaque Bearer tokens by token introspection (RFC 7662) against a real OpenID
//! Provider (`oidc-provider`, tests/idp/): its opaque client-credentials tokens,
//! active, revoked at the provider (RFC 7009), expired; the provider stopped,
//! hanging, answering non-200 or non-JSON (through a real counting proxy on
//! 127.0.0.1 in front of it); the answer cache; one call for concurrent requests;
//! and no token or client secret in any event, response or `Debug` output.

mod common;
#[path = "common/idp.rs"]
mod idp;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use authgate::{ApiKey, AuthConfig, AuthLayer, IntrospectionConfig, Principal};
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use serde_json::json;
use sha2::Digest as _;

use idp::{INTROSPECTION_CLIENT, INTROSPECTION_SECRET, Idp};

#[derive(Clone)]
struct Clock(Arc<AtomicU64>);

impl Clock {
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

async fn whoami(principal: Principal) -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "sub": principal.subject(),
        "scopes": principal.scopes(),
        "client_id": principal.claims().and_then(|c| c.get("client_id")).cloned(),
    }))
}

/// A layer introspecting at `url` (cache `cache_secs`, timeout 1 s) on a real
/// server, with a manual clock starting now.
async fn server(
    url: &str,
    tune: impl FnOnce(IntrospectionConfig) -> IntrospectionConfig,
    builder: impl FnOnce(authgate::AuthConfigBuilder) -> authgate::AuthConfigBuilder,
) -> (SocketAddr, Clock) {
    let clock = Clock(Arc::new(AtomicU64::new(common::now())));
    let c = clock.clone();
    let intro = IntrospectionConfig::new(url, INTROSPECTION_CLIENT, INTROSPECTION_SECRET)
        .cache_secs(5)
        .timeout_secs(1);
    let cfg = builder(AuthConfig::builder())
        .introspection(tune(intro))
        .clock(move || UNIX_EPOCH + Duration::from_secs(c.0.load(Ordering::SeqCst)))
        .build()
        .expect("config");
    let app = Router::new()
        .route("/api/whoami", get(whoami))
        .layer(AuthLayer::new(cfg));
    (common::serve(app).await, clock)
}

async fn call(addr: SocketAddr, token: &str) -> common::Resp {
    let auth = common::bearer(token);
    common::get(addr, "/api/whoami", &common::hdrs(&[auth])).await
}

fn reason(res: &common::Resp) -> (u16, String) {
    let reason = if res.status == 200 {
        String::new()
    } else {
        res.json()["reason"].as_str().unwrap_or_default().to_owned()
    };
    (res.status, reason)
}

/// What the proxy in front of the provider does.
#[derive(Clone)]
enum Mode {
    Forward,
    Hang,
    Status(u16),
    Body(&'static str),
}

#[derive(Clone)]
struct Proxy {
    target: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    calls: Arc<AtomicUsize>,
}

impl Proxy {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn proxied(State(p): State<Proxy>, req: http::Request<axum::body::Body>) -> Response {
    p.calls.fetch_add(1, Ordering::SeqCst);
    let mode = p.mode.lock().unwrap().clone();
    match mode {
        Mode::Forward => {}
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return http::StatusCode::OK.into_response();
        }
        Mode::Status(s) => return http::StatusCode::from_u16(s).unwrap().into_response(),
        Mode::Body(b) => return ([("content-type", "application/json")], b).into_response(),
    }
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .filter(|(n, _)| *n != http::header::HOST)
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let borrowed: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let res = common::request(p.target, parts.method, parts.uri.path(), &borrowed, body).await;
    let mut out = Response::new(axum::body::Body::from(res.body));
    *out.status_mut() = http::StatusCode::from_u16(res.status).unwrap();
    if let Some(ct) = res.headers.get("content-type") {
        out.headers_mut().insert("content-type", ct.clone());
    }
    out
}

/// A real HTTP proxy on 127.0.0.1 in front of `idp` that counts the calls.
async fn proxy(idp: &Idp) -> (Proxy, String) {
    let p = Proxy {
        target: idp.addr,
        mode: Arc::new(Mutex::new(Mode::Forward)),
        calls: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new().fallback(proxied).with_state(p.clone());
    let addr = common::serve(app).await;
    (p, format!("http://{addr}/token/introspection"))
}

async fn opaque(idp: &Idp, client: &str) -> String {
    let token = idp.token(client, None, "orders:read").await;
    assert!(!token.contains('.'), "an opaque token");
    token
}

#[tokio::test]
async fn an_active_opaque_token_passes_with_the_principal_from_the_introspection_answer() {
    let Some(idp) = idp::shared() else { return };
    let (_cap, _guard) = common::capture();
    let (p, url) = proxy(idp).await;
    let (addr, _clock) = server(&url, |i| i, |b| b).await;
    let token = opaque(idp, "client-es256").await;
    let res = call(addr, &token).await;
    assert_eq!(res.status, 200, "{}", res.dump());
    assert_eq!(
        res.json(),
        json!({ "sub": "client-es256", "scopes": ["orders:read"], "client_id": "client-es256" })
    );
    // Cached: the next requests make no call.
    assert_eq!(call(addr, &token).await.status, 200);
    assert_eq!(call(addr, &token).await.status, 200);
    assert_eq!(p.calls(), 1);
}

#[tokio::test]
async fn an_unknown_or_revoked_token_is_token_inactive_once_the_cache_entry_ends() {
    let Some(idp) = idp::shared() else { return };
    let (cap, _guard) = common::capture();
    let (p, url) = proxy(idp).await;
    let (addr, clock) = server(&url, |i| i.cache_secs(2), |b| b).await;

    let res = call(addr, "not-a-token-the-provider-issued").await;
    assert_eq!(reason(&res), (401, "token_inactive".to_owned()));
    let challenge = res.www_authenticate().join(", ");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let ev = cap.one_authgate_event();
    assert_eq!(common::fields(&ev)["auth.reason"], "token_inactive");

    let token = opaque(idp, "client-rs256").await;
    assert_eq!(call(addr, &token).await.status, 200);
    idp.revoke(&token).await;
    // Still cached: the layer cannot know before the entry ends.
    assert_eq!(call(addr, &token).await.status, 200);
    let before = p.calls();
    clock.advance(3);
    let res = call(addr, &token).await;
    assert_eq!(reason(&res), (401, "token_inactive".to_owned()));
    assert_eq!(p.calls(), before + 1);
    // Inactive answers are not cached as active ones.
    assert_eq!(call(addr, &token).await.status, 401);
}

/// Inactive answers are cached briefly too, so a flood of made-up or revoked
/// tokens costs one call per token, not one per request.
#[tokio::test]
async fn an_inactive_answer_is_cached_briefly() {
    let Some(idp) = idp::shared() else { return };
    let (_cap, _guard) = common::capture();
    let (p, url) = proxy(idp).await;
    // cache_secs 60: inactive answers are kept for at most 30 s of it.
    let (addr, clock) = server(&url, |i| i.cache_secs(60), |b| b).await;
    for _ in 0..3 {
        let res = call(addr, "made-up-opaque-token").await;
        assert_eq!(reason(&res), (401, "token_inactive".to_owned()));
    }
    assert_eq!(p.calls(), 1, "one call for a repeated inactive token");
    // Another token is another entry.
    let res = call(addr, "another-made-up-token").await;
    assert_eq!(reason(&res), (401, "token_inactive".to_owned()));
    assert_eq!(p.calls(), 2);
    // The entry ends after 30 s, not after cache_secs.
    clock.advance(29);
    assert_eq!(call(addr, "made-up-opaque-token").await.status, 401);
    assert_eq!(p.calls(), 2);
    clock.advance(2);
    assert_eq!(call(addr, "made-up-opaque-token").await.status, 401);
    assert_eq!(p.calls(), 3);
    // With the cache off, every request asks.
    let (addr, _clock) = server(&url, |i| i.cache_secs(0), |b| b).await;
    for _ in 0..2 {
        assert_eq!(call(addr, "made-up-opaque-token").await.status, 401);
    }
    assert_eq!(p.calls(), 5);
}

#[tokio::test]
async fn an_expired_token_is_token_expired_by_the_clock_and_token_inactive_at_the_provider() {
    let Some(idp) = idp::shared() else { return };
    let (_cap, _guard) = common::capture();
    let (p, url) = proxy(idp).await;
    // The layer's clock runs ahead of the provider's: active there, expired here.
    let (addr, clock) = server(&url, |i| i.cache_secs(60), |b| b.leeway_secs(0)).await;
    let token = opaque(idp, "short-lived").await; // lives 2 s
    assert_eq!(call(addr, &token).await.status, 200);
    // Cached no longer than its exp, even though cache_secs is 60.
    clock.advance(3);
    let res = call(addr, &token).await;
    assert_eq!(reason(&res), (401, "token_expired".to_owned()));
    assert_eq!(p.calls(), 2, "the cache entry ended at exp");

    // Once it has expired at the provider too, the provider says inactive.
    let (addr, _clock) = server(&url, |i| i, |b| b).await;
    let token = opaque(idp, "short-lived").await;
    assert_eq!(call(addr, &token).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    // A new layer, so the answer is not cached.
    let (addr, _clock) = server(&url, |i| i, |b| b).await;
    let res = call(addr, &token).await;
    assert_eq!(reason(&res), (401, "token_inactive".to_owned()));
}

#[tokio::test]
async fn an_unusable_endpoint_is_503_introspection_unavailable_with_retry_after() {
    let Some(idp) = idp::shared() else { return };
    let (cap, _guard) = common::capture();
    let (p, url) = proxy(idp).await;
    let (addr, _clock) = server(&url, |i| i, |b| b).await;
    for (mode, what) in [
        (Mode::Status(500), "answered 500"),
        (Mode::Body("<html>"), "not JSON"),
        (Mode::Body(r#"{"active":"yes"}"#), "active"),
        (Mode::Hang, "1 s"),
    ] {
        p.set(mode);
        cap.clear();
        let token = opaque(idp, "client-rs256").await;
        let res = call(addr, &token).await;
        assert_eq!(
            reason(&res),
            (503, "introspection_unavailable".to_owned()),
            "{what}"
        );
        assert!(
            res.header("retry-after").is_some(),
            "{what}: {}",
            res.dump()
        );
        assert!(res.www_authenticate().is_empty(), "{what}");
        let ev = cap.one_authgate_event();
        let f = common::fields(&ev);
        assert_eq!(ev["level"], "WARN", "{what}");
        assert!(
            f["auth.detail"].as_str().unwrap().contains(what),
            "{what}: {f}"
        );
    }
    // A wrong client secret: the provider answers 401; the hint names the client credentials.
    p.set(Mode::Forward);
    let (addr, _clock) = server(
        &url,
        |_| IntrospectionConfig::new(&url, INTROSPECTION_CLIENT, "wrong-secret").timeout_secs(1),
        |b| b,
    )
    .await;
    cap.clear();
    let token = opaque(idp, "client-rs256").await;
    let res = call(addr, &token).await;
    assert_eq!(reason(&res), (503, "introspection_unavailable".to_owned()));
    let ev = cap.one_authgate_event();
    let f = common::fields(&ev);
    assert!(f["auth.detail"].as_str().unwrap().contains("401"), "{f}");
    assert!(
        f["auth.hint"].as_str().unwrap().contains("client_id"),
        "{f}"
    );
    common::assert_no_secret(&cap.raw(), &["wrong-secret", &token]);
}

#[tokio::test]
async fn a_stopped_provider_is_503_but_cached_answers_keep_serving() {
    let Some(mut own) = Idp::start(None) else {
        return;
    };
    let (_cap, _guard) = common::capture();
    let (addr, _clock) = server(&own.introspection_url(), |i| i, |b| b).await;
    let cached = opaque(&own, "client-rs256").await;
    let fresh = opaque(&own, "client-rs256").await;
    assert_eq!(call(addr, &cached).await.status, 200);
    own.stop();
    assert_eq!(call(addr, &cached).await.status, 200);
    let res = call(addr, &fresh).await;
    assert_eq!(reason(&res), (503, "introspection_unavailable".to_owned()));
    assert!(res.header("retry-after").is_some());
}

#[tokio::test]
async fn concurrent_requests_for_one_token_share_one_introspection_call() {
    let Some(idp) = idp::shared() else { return };
    let (_cap, _guard) = common::capture();
    let (p, url) = proxy(idp).await;
    let (addr, _clock) = server(&url, |i| i, |b| b).await;
    let token = opaque(idp, "client-eddsa").await;
    let calls = (0..16).map(|_| {
        let token = token.clone();
        async move { call(addr, &token).await }
    });
    let results = futures_join(calls).await;
    assert!(results.iter().all(|r| r.status == 200));
    assert_eq!(p.calls(), 1, "one call for 16 concurrent requests");
}

/// Runs the futures concurrently, each a task of this runtime.
async fn futures_join<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn api_keys_are_matched_first_and_issuer_checks_apply() {
    let Some(idp) = idp::shared() else { return };
    let (_cap, _guard) = common::capture();
    let (p, url) = proxy(idp).await;
    let api_key = "ak_live_0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let digest = hex(&sha2::Sha256::digest(api_key.as_bytes()));
    let (addr, _clock) = server(
        &url,
        |i| i.issuer("https://id.example.com/"),
        |b| b.api_key(ApiKey::from_sha256_hex("ci-bot", &digest).unwrap()),
    )
    .await;
    let res = call(addr, api_key).await;
    assert_eq!(res.status, 200, "{}", res.dump());
    assert_eq!(res.json()["sub"], "ci-bot");
    assert_eq!(p.calls(), 0, "an API key is never introspected");
    // Matches no API key: introspected; the provider's iss is not the configured one.
    let token = opaque(idp, "client-rs256").await;
    let res = call(addr, &token).await;
    assert_eq!(reason(&res), (401, "issuer_mismatch".to_owned()));
    assert_eq!(p.calls(), 1);
}

#[tokio::test]
async fn the_toml_section_configures_introspection() {
    let Some(idp) = idp::shared() else { return };
    let (_cap, _guard) = common::capture();
    let text = format!(
        "[bearer.introspection]\nurl = \"{}\"\nclient_id = \"{INTROSPECTION_CLIENT}\"\nclient_secret_env = \"AUTHGATE_TEST_INTROSPECTION_SECRET\"\ncache_secs = 30\ntimeout_secs = 2\n",
        idp.introspection_url()
    );
    let env = |name: &str| {
        (name == "AUTHGATE_TEST_INTROSPECTION_SECRET").then(|| INTROSPECTION_SECRET.to_owned())
    };
    let cfg =
        AuthConfig::from_toml_str_with_env(&text, std::path::Path::new("."), &env).expect("config");
    let dbg = format!("{cfg:?}");
    assert!(dbg.contains("cache_secs: 30"), "{dbg}");
    common::assert_no_secret(&dbg, &[INTROSPECTION_SECRET]);
    let app = Router::new()
        .route("/api/whoami", get(whoami))
        .layer(AuthLayer::new(cfg));
    let addr = common::serve(app).await;
    let token = opaque(idp, "client-ps256").await;
    assert_eq!(call(addr, &token).await.status, 200);

    // Without the variable: refused at start-up, naming the key, not a value.
    let err = AuthConfig::from_toml_str_with_env(&text, std::path::Path::new("."), &|_| None)
        .unwrap_err();
    assert_eq!(err.key(), "bearer.introspection.client_secret_env");
    let err = AuthConfig::from_toml_str_with_env(
        &text.replace("timeout_secs = 2", "timeout_secs = 0"),
        std::path::Path::new("."),
        &env,
    )
    .unwrap_err();
    assert_eq!(err.key(), "bearer.introspection.timeout_secs");
}

#[tokio::test]
async fn no_token_or_client_secret_reaches_events_responses_or_debug_output() {
    let Some(idp) = idp::shared() else { return };
    let (text_cap, _guard) = common::capture_text(false);
    let (p, url) = proxy(idp).await;
    let (addr, clock) = server(&url, |i| i.cache_secs(1), |b| b).await;
    let active = opaque(idp, "client-rs256").await;
    let revoked = opaque(idp, "client-rs256").await;
    idp.revoke(&revoked).await;
    let mut dumps = String::new();
    for token in [&active, &revoked, &active] {
        dumps.push_str(&call(addr, token).await.dump());
    }
    clock.advance(2);
    p.set(Mode::Status(502));
    dumps.push_str(&call(addr, &active).await.dump());
    let cfg = AuthConfig::builder()
        .introspection(IntrospectionConfig::new(
            &url,
            INTROSPECTION_CLIENT,
            INTROSPECTION_SECRET,
        ))
        .build()
        .unwrap();
    let debug = format!(
        "{cfg:?} {:?} {:?}",
        IntrospectionConfig::new(&url, INTROSPECTION_CLIENT, INTROSPECTION_SECRET),
        AuthLayer::new(cfg.clone())
    );
    let all = format!("{}\n{dumps}\n{debug}", text_cap.raw());
    assert!(all.contains("token_inactive") && all.contains("introspection_unavailable"));
    common::assert_no_secret(&all, &[&active, &revoked, INTROSPECTION_SECRET]);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// Keeps `Bytes` in use for the proxy's body type on every toolchain.
const _: fn() -> Bytes = Bytes::new;
