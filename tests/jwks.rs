//! Remote keys against a real JWKS server on 127.0.0.1 that can rotate keys,
//! fail, hang, send garbage or huge bodies, redirect, and go away. Time for the
//! refresh/cooldown/stale decisions is a manual clock: no test waits out a refresh.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, Principal};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::Request;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};

const T0: u64 = 1_900_000_000;

/// What the JWKS server does.
#[derive(Clone)]
enum Mode {
    Keys(Value, Option<&'static str>),
    Status(u16),
    Hang,
    Body(&'static str),
    Huge,
    Redirect(String),
}

#[derive(Clone)]
struct Provider {
    mode: Arc<Mutex<Mode>>,
    hits: Arc<AtomicUsize>,
    discovery: Arc<Mutex<Option<Value>>>,
}

impl Provider {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn jwks(State(p): State<Provider>) -> Response {
    p.hits.fetch_add(1, Ordering::SeqCst);
    let mode = p.mode.lock().unwrap().clone();
    match mode {
        Mode::Keys(v, cache) => {
            let mut res = axum::Json(v).into_response();
            if let Some(cc) = cache {
                res.headers_mut()
                    .insert("cache-control", cc.parse().unwrap());
            }
            res
        }
        Mode::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        Mode::Body(b) => ([("content-type", "text/html")], b).into_response(),
        Mode::Huge => {
            let big = format!(
                "{{\"keys\":[],\"pad\":\"{}\"}}",
                "x".repeat(2 * 1024 * 1024)
            );
            ([("content-type", "application/json")], big).into_response()
        }
        Mode::Redirect(to) => (StatusCode::FOUND, [("location", to)]).into_response(),
    }
}

async fn discovery(State(p): State<Provider>) -> Response {
    p.hits.fetch_add(1, Ordering::SeqCst);
    match p.discovery.lock().unwrap().clone() {
        Some(doc) => axum::Json(doc).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn provider(mode: Mode) -> (Provider, SocketAddr, tokio::task::JoinHandle<()>) {
    let p = Provider {
        mode: Arc::new(Mutex::new(mode)),
        hits: Arc::new(AtomicUsize::new(0)),
        discovery: Arc::new(Mutex::new(None)),
    };
    let app = Router::new()
        .route("/jwks", get(jwks))
        .route("/.well-known/openid-configuration", get(discovery))
        .with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (p, addr, task)
}

/// The public JWK of a fixture private key, with a kid.
fn jwk(alg: jsonwebtoken::Algorithm, private: &str, kid: &str) -> Value {
    let mut jwk =
        Jwk::from_encoding_key(&common::encoding_key_from_file(alg, private), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

fn jwk_set(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

struct Clock(Arc<AtomicU64>);

impl Clock {
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn jwt_config(url: String) -> JwtConfig {
    JwtConfig::new([Algorithm::RS256, Algorithm::ES256, Algorithm::HS256])
        .jwks_url(url)
        .jwks_timeout_secs(1)
}

fn make_layer(jwt: JwtConfig) -> (AuthLayer, Clock) {
    let clock = Arc::new(AtomicU64::new(T0));
    let c = Arc::clone(&clock);
    let cfg = AuthConfig::builder()
        .jwt(jwt)
        .clock(move || UNIX_EPOCH + Duration::from_secs(c.load(Ordering::SeqCst)))
        .build()
        .unwrap();
    (AuthLayer::new(cfg), Clock(clock))
}

fn token(clock: &Clock, private: &str, kid: &str) -> String {
    let claims = json!({ "sub": "alice", "exp": clock.now() + 3600 });
    common::mint_with_key(
        jsonwebtoken::Algorithm::RS256,
        Some(kid),
        &claims,
        &common::encoding_key_from_file(jsonwebtoken::Algorithm::RS256, private),
    )
}

type App = authgate::AuthService<
    tower::util::ServiceFn<
        fn(
            Request<axum::body::Body>,
        ) -> std::future::Ready<Result<Response, std::convert::Infallible>>,
    >,
>;

fn ok_handler(
    req: Request<axum::body::Body>,
) -> std::future::Ready<Result<Response, std::convert::Infallible>> {
    let who = req
        .extensions()
        .get::<Principal>()
        .and_then(|p| p.subject().map(str::to_owned))
        .unwrap_or_default();
    std::future::ready(Ok(who.into_response()))
}

fn app(layer: &AuthLayer) -> App {
    tower::Layer::layer(layer, tower::service_fn(ok_handler as fn(_) -> _))
}

/// Sends one request with `token`; returns status, body JSON (if any) and headers.
async fn call(app: &mut App, token: &str) -> (u16, Value, http::HeaderMap) {
    let req = Request::get("/api/x")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.ready().await.unwrap().call(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(axum::body::Body::new(res.into_body()), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, json, headers)
}

#[tokio::test]
async fn keys_are_fetched_once_and_rotation_is_picked_up_after_the_cooldown() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (p, addr, _t) = provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let mut app = app(&layer);

    let (status, _, _) = call(&mut app, &token(&clock, "rsa.pem", "a")).await;
    assert_eq!(status, 200);
    let (status, _, _) = call(&mut app, &token(&clock, "rsa.pem", "a")).await;
    assert_eq!(status, 200);
    assert_eq!(p.hits(), 1, "the second request is served from the cache");

    // The provider rotates: key b appears. Within the cooldown of the last fetch,
    // an unknown kid does not refetch.
    p.set(Mode::Keys(
        jwk_set(&[jwk(rs256, "rsa.pem", "a"), jwk(rs256, "rsa2.pem", "b")]),
        None,
    ));
    let new = token(&clock, "rsa2.pem", "b");
    let (status, body, _) = call(&mut app, &new).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("unknown_key"))
    );
    assert_eq!(p.hits(), 1);

    // After the cooldown, one refetch, and the new key verifies.
    clock.advance(31);
    let (status, _, _) = call(&mut app, &new).await;
    assert_eq!(status, 200);
    assert_eq!(p.hits(), 2);

    // The old key is removed: after the next refetch its tokens are unknown_key,
    // including one that the verified-token cache holds.
    let old = token(&clock, "rsa.pem", "a");
    assert_eq!(call(&mut app, &old).await.0, 200);
    assert_eq!(call(&mut app, &old).await.0, 200);
    p.set(Mode::Keys(jwk_set(&[jwk(rs256, "rsa2.pem", "b")]), None));
    clock.advance(301);
    // The due refresh runs in the background; this request still sees key a.
    let (status, _, _) = call(&mut app, &old).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await; // let the background fetch land
    assert_eq!(p.hits(), 3);
    clock.advance(31);
    let (status, body, _) = call(&mut app, &old).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("unknown_key"))
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_at_most_once_per_cooldown() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (p, addr, _t) = provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let mut app = app(&layer);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    assert_eq!(p.hits(), 1);

    for round in 0..3u64 {
        for i in 0..200 {
            let t = token(&clock, "rsa2.pem", &format!("random-{round}-{i}"));
            let (status, body, _) = call(&mut app, &t).await;
            assert_eq!(
                (status, body["reason"].as_str()),
                (401, Some("unknown_key"))
            );
        }
        // At most one fetch per cooldown window (30 s).
        assert!(
            p.hits() <= 2 + round as usize,
            "round {round}: {} fetches",
            p.hits()
        );
        clock.advance(31);
    }
}

#[tokio::test]
async fn last_good_keys_serve_while_the_provider_fails_then_expire() {
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (cap, _guard) = common::capture();
    let (p, addr, _t) = provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")).jwks_stale_secs(600));
    let mut app = app(&layer);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);

    p.set(Mode::Status(500));
    clock.advance(301); // refresh due
    for _ in 0..5 {
        assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
        clock.advance(40); // past the retry cooldown each time
    }
    assert!(p.hits() >= 3, "refreshes were retried: {}", p.hits());
    let warns: Vec<_> = cap
        .authgate_events()
        .into_iter()
        .filter(|e| e["level"] == "WARN")
        .collect();
    assert_eq!(warns.len(), 1, "one WARN per failure streak: {warns:#?}");

    // An unknown kid while stale: unknown_key, and the hint says the keys are stale.
    cap.clear();
    clock.advance(31);
    let (status, body, _) = call(&mut app, &token(&clock, "rsa2.pem", "zz")).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("unknown_key"))
    );
    let ev = cap
        .authgate_events()
        .into_iter()
        .find(|e| common::fields(e)["auth.reason"] == "unknown_key")
        .unwrap();
    let f = common::fields(&ev);
    assert!(
        f["auth.detail"].as_str().unwrap().contains("127.0.0.1"),
        "{f}"
    );
    assert!(f["auth.hint"].as_str().unwrap().contains("stale"), "{f}");

    // Past the stale window: 503 with Retry-After, not 401.
    clock.advance(700);
    let (status, body, headers) = call(&mut app, &token(&clock, "rsa.pem", "a")).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (503, Some("key_set_unavailable"))
    );
    assert!(headers.contains_key("retry-after"));
    assert!(!headers.contains_key("www-authenticate"));

    // The provider recovers: keys again.
    p.set(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None));
    clock.advance(31);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
}

#[tokio::test]
async fn provider_down_from_the_start_is_503_then_200_once_it_is_up() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (p, addr, _t) = provider(Mode::Status(500)).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    // Start-up does not block: warm_up answers within the timeout.
    let started = Instant::now();
    assert_eq!(layer.warm_up().await, Ok(false));
    assert!(started.elapsed() < Duration::from_secs(3));
    let mut app = app(&layer);
    let (status, body, headers) = call(&mut app, &token(&clock, "rsa.pem", "a")).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (503, Some("key_set_unavailable"))
    );
    // Retry-After: when the next fetch may start (the refetch cooldown).
    assert_eq!(headers["retry-after"], "30");
    // Requests within the cooldown do not hammer the provider.
    for _ in 0..20 {
        assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 503);
    }
    assert_eq!(p.hits(), 1);

    p.set(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None));
    clock.advance(31);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    assert_eq!(p.hits(), 2);
}

#[tokio::test]
async fn provider_gone_keeps_cached_keys() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (p, addr, task) = provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let mut app = app(&layer);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    task.abort();
    let _ = task.await;
    clock.advance(400);
    for _ in 0..3 {
        assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(p.hits(), 1);
}

#[tokio::test]
async fn a_hanging_provider_costs_one_fetch_and_at_most_the_timeout() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let (p, addr, _t) = provider(Mode::Hang).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let t = token(&clock, "rsa.pem", "a");
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..20 {
        let mut app = app(&layer);
        let t = t.clone();
        handles.push(tokio::spawn(async move { call(&mut app, &t).await.0 }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 503);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "took {took:?} with a 1 s timeout"
    );
    assert_eq!(
        p.hits(),
        1,
        "single-flight: one fetch for 20 waiting requests"
    );
}

#[tokio::test]
async fn bad_documents_are_refused_and_the_cache_is_kept() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    for bad in [
        Mode::Body("<html>hello</html>"),
        Mode::Body("{\"keys\":\"x\"}"),
        Mode::Huge,
        Mode::Status(404),
    ] {
        let (p, addr, _t) = provider(bad.clone()).await;
        let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
        let mut app = app(&layer);
        let (status, body, _) = call(&mut app, &token(&clock, "rsa.pem", "a")).await;
        assert_eq!(
            (status, body["reason"].as_str()),
            (503, Some("key_set_unavailable"))
        );

        // With a good set cached, a bad refresh keeps it.
        p.set(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None));
        clock.advance(31);
        assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
        p.set(bad);
        clock.advance(301);
        assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
        clock.advance(31);
        assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    }
}

#[tokio::test]
async fn unusable_remote_keys_are_skipped() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    // An `oct` key: a public HMAC key would let anyone sign.
    let oct = json!({"kty": "oct", "kid": "h", "k": common::b64url(common::HS_SECRET)});
    // The RSA key marked for encryption.
    let mut enc = jwk(rs256, "rsa.pem", "enc");
    enc["use"] = json!("enc");
    // A JWK whose alg is RS384 while the token says RS256 (RFC 8725 §3.1).
    let mut rs384 = jwk(rs256, "rsa.pem", "rs384");
    rs384["alg"] = json!("RS384");
    let (_p, addr, _t) = provider(Mode::Keys(
        jwk_set(&[oct, enc, rs384, jwk(rs256, "rsa2.pem", "ok")]),
        None,
    ))
    .await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let mut app = app(&layer);
    assert_eq!(
        call(&mut app, &token(&clock, "rsa2.pem", "ok")).await.0,
        200
    );

    let hs = common::mint(
        jsonwebtoken::Algorithm::HS256,
        Some("h"),
        &json!({"sub": "mallory", "exp": clock.now() + 60}),
    );
    for t in [
        hs,
        token(&clock, "rsa.pem", "enc"),
        token(&clock, "rsa.pem", "rs384"),
    ] {
        let (status, body, _) = call(&mut app, &t).await;
        assert_eq!(
            (status, body["reason"].as_str()),
            (401, Some("unknown_key"))
        );
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (good, good_addr, _t1) =
        provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
    let (_p, addr, _t2) = provider(Mode::Redirect(format!("http://{good_addr}/jwks"))).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let mut app = app(&layer);
    let (status, body, _) = call(&mut app, &token(&clock, "rsa.pem", "a")).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (503, Some("key_set_unavailable"))
    );
    assert_eq!(good.hits(), 0);
}

#[tokio::test]
async fn cache_control_max_age_sets_the_refresh_interval_within_bounds() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    // max-age=5 is clamped up to 60.
    let (p, addr, _t) = provider(Mode::Keys(
        jwk_set(&[jwk(rs256, "rsa.pem", "a")]),
        Some("public, max-age=5"),
    ))
    .await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let mut app = app(&layer);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    clock.advance(30);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(p.hits(), 1, "not refreshed before 60 s");
    clock.advance(31);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        p.hits(),
        2,
        "refreshed after 60 s (max-age clamped up), not after 300"
    );
}

#[tokio::test]
async fn oidc_discovery_finds_the_keys_and_refuses_a_mismatching_issuer() {
    // Every test installs a subscriber: tracing's callsite interest cache is
    // process-wide, and tests without one racing tests with one can hide events.
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (p, addr, _t) = provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
    let issuer = format!("http://{addr}");
    *p.discovery.lock().unwrap() = Some(json!({
        "issuer": issuer, "jwks_uri": format!("http://{addr}/jwks"),
    }));
    let (layer, clock) = make_layer(
        JwtConfig::new([Algorithm::RS256])
            .oidc_issuer(issuer.clone())
            .jwks_timeout_secs(1),
    );
    assert_eq!(layer.warm_up().await, Ok(true));
    let mut app = app(&layer);
    // The issuer becomes the expected `iss`.
    let claims = json!({"sub": "alice", "iss": issuer, "exp": clock.now() + 60});
    let good = common::mint_with_key(
        rs256,
        Some("a"),
        &claims,
        &common::encoding_key_from_file(rs256, "rsa.pem"),
    );
    assert_eq!(call(&mut app, &good).await.0, 200);
    let (status, body, _) = call(&mut app, &token(&clock, "rsa.pem", "a")).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("missing_claim"))
    );

    // A discovery document naming another issuer is a configuration error.
    *p.discovery.lock().unwrap() = Some(json!({
        "issuer": "https://evil.example/", "jwks_uri": format!("http://{addr}/jwks"),
    }));
    let (layer, _clock) = make_layer(
        JwtConfig::new([Algorithm::RS256])
            .oidc_issuer(issuer)
            .jwks_timeout_secs(1),
    );
    let err = layer.warm_up().await.unwrap_err();
    assert_eq!(err.key(), "bearer.jwt.oidc_issuer");
    assert!(err.message().contains("https://evil.example/"), "{err}");
}

#[test]
fn remote_urls_are_checked_at_build_time() {
    let build = |jwt: JwtConfig| AuthConfig::builder().jwt(jwt).build();
    let err = build(JwtConfig::new([Algorithm::RS256]).jwks_url("http://id.example.com/jwks"))
        .unwrap_err();
    assert_eq!(err.key(), "bearer.jwt.jwks_url");
    assert!(err.message().contains("allow_insecure_http"), "{err}");
    assert!(
        build(
            JwtConfig::new([Algorithm::RS256])
                .jwks_url("http://id.example.com/jwks")
                .allow_insecure_http(true)
        )
        .is_ok()
    );
    assert!(
        build(JwtConfig::new([Algorithm::RS256]).jwks_url("https://id.example.com/jwks")).is_ok()
    );
    let err = build(
        JwtConfig::new([Algorithm::RS256])
            .jwks_url("https://id.example.com/jwks")
            .jwks_timeout_secs(0),
    )
    .unwrap_err();
    assert_eq!(err.key(), "bearer.jwt.jwks_timeout_secs");
}

/// Configured key-set URLs go through a strict parse: a bad port, a missing or
/// malformed host, user-info or a fragment is a configuration error naming the
/// key, from the builder and from a TOML file alike, and the message never
/// repeats the URL (it may hold credentials).
#[test]
fn configured_urls_with_a_bad_port_host_user_info_or_fragment_are_refused() {
    let bad = [
        ("http://127.0.0.1:8443x/jwks", "port"),
        ("https://id.example.com:0/jwks", "port"),
        ("https://id.example.com:65536/jwks", "port"),
        ("https://id.example.com:+443/jwks", "port"),
        ("https://id.example.com:/jwks", "port"),
        ("https://api-token:s3cret-pw/jwks", "port"),
        ("https://:443/jwks", "host"),
        ("https://-id-.example.com/jwks", "host"),
        ("https://id..example.com/jwks", "host"),
        ("https://1.2.3.4.5/jwks", "host"),
        ("https://[fe80::1%25eth0]/jwks", "host"),
        ("https://user:s3cret-pw@id.example.com/jwks", "user-info"),
        ("https://@id.example.com/jwks", "user-info"),
        ("https://id.example.com/jwks#keys", "fragment"),
        ("https://id.example.com/jwks#", "fragment"),
    ];
    let build = |jwt: JwtConfig| AuthConfig::builder().jwt(jwt).build();
    let from_toml = |key: &str, url: &str| {
        let text = format!("[bearer.jwt]\nalgorithms = [\"RS256\"]\n{key} = \"{url}\"\n");
        AuthConfig::from_toml_str(&text, std::path::Path::new("."))
    };
    for (url, why) in bad {
        for (key, err) in [
            (
                "bearer.jwt.jwks_url",
                build(JwtConfig::new([Algorithm::RS256]).jwks_url(url)).unwrap_err(),
            ),
            (
                "bearer.jwt.oidc_issuer",
                build(JwtConfig::new([Algorithm::RS256]).oidc_issuer(url)).unwrap_err(),
            ),
            (
                "bearer.jwt.jwks_url",
                from_toml("jwks_url", url).unwrap_err(),
            ),
            (
                "bearer.jwt.oidc_issuer",
                from_toml("oidc_issuer", url).unwrap_err(),
            ),
        ] {
            assert_eq!(err.key(), key, "{url}: {err}");
            assert!(err.message().contains(why), "{url}: {err}");
            assert!(!err.to_string().contains("s3cret"), "{url}: {err}");
        }
    }
    // An issuer is a URL without query or fragment (OpenID Connect Discovery §2).
    let err = build(JwtConfig::new([Algorithm::RS256]).oidc_issuer("https://id.example.com/?t=1"))
        .unwrap_err();
    assert_eq!(err.key(), "bearer.jwt.oidc_issuer");
    assert!(err.message().contains("query"), "{err}");

    for good in [
        "https://id.example.com:8443/jwks",
        "https://id.example.com/jwks?tenant=a",
        "https://ID.Example.COM./jwks",
        "https://10.0.0.7/jwks",
        "https://[2001:db8::7]:8443/jwks",
        "http://[::1]:8080/jwks",
        "http://localhost:8080/jwks",
        "https://keys_service:8443/jwks",
    ] {
        assert!(
            build(JwtConfig::new([Algorithm::RS256]).jwks_url(good)).is_ok(),
            "{good}"
        );
        assert!(from_toml("jwks_url", good).is_ok(), "{good}");
    }
}

/// A `jwks_uri` in the discovery document is checked like a configured URL; a bad
/// one is a failed fetch (one WARN naming `jwks_uri` and why), never requested.
#[tokio::test]
async fn a_discovered_jwks_uri_with_a_bad_port_or_user_info_is_a_failed_fetch() {
    let rs256 = jsonwebtoken::Algorithm::RS256;
    for (jwks_uri, why) in [
        ("http://127.0.0.1:{port}x/jwks", "port"),
        ("http://user:s3cret-pw@127.0.0.1:{port}/jwks", "user-info"),
        ("http://127.0.0.1:{port}/jwks#k", "fragment"),
    ] {
        let (cap, _guard) = common::capture();
        let (p, addr, _t) =
            provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
        let issuer = format!("http://{addr}");
        let jwks_uri = jwks_uri.replace("{port}", &addr.port().to_string());
        *p.discovery.lock().unwrap() = Some(json!({"issuer": issuer, "jwks_uri": jwks_uri}));
        let (layer, clock) = make_layer(
            JwtConfig::new([Algorithm::RS256])
                .oidc_issuer(issuer.clone())
                .jwks_timeout_secs(1),
        );
        assert_eq!(layer.warm_up().await, Ok(false), "{jwks_uri}");
        assert_eq!(
            p.hits(),
            1,
            "{jwks_uri}: only the discovery document is fetched"
        );
        let mut app = app(&layer);
        let claims = json!({"sub": "alice", "iss": issuer, "exp": clock.now() + 60});
        let t = common::mint_with_key(
            rs256,
            Some("a"),
            &claims,
            &common::encoding_key_from_file(rs256, "rsa.pem"),
        );
        let (status, body, _) = call(&mut app, &t).await;
        assert_eq!(
            (status, body["reason"].as_str()),
            (503, Some("key_set_unavailable")),
            "{jwks_uri}"
        );
        let warns: Vec<Value> = cap
            .events()
            .into_iter()
            .filter(|e| {
                e["level"] == "WARN"
                    && common::fields(e)["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("key set refresh failed"))
            })
            .collect();
        assert_eq!(warns.len(), 1, "{jwks_uri}: {warns:#?}");
        let error = common::fields(&warns[0])["error"]
            .as_str()
            .unwrap_or_default();
        assert!(
            error.contains("jwks_uri") && error.contains(why),
            "{jwks_uri}: {error}"
        );
        assert!(!cap.raw().contains("s3cret"), "{jwks_uri}");
    }
}

/// A key refused from the remote set is reported once, not again at every
/// refresh of the same document; a changed document is reported again.
#[tokio::test]
async fn a_refused_remote_key_is_warned_about_once_per_document() {
    let (cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let placeholder =
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "zero", "x": common::b64url([0u8; 32])});
    let (p, addr, _t) = provider(Mode::Keys(
        jwk_set(&[placeholder.clone(), jwk(rs256, "rsa.pem", "a")]),
        None,
    ))
    .await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let mut app = app(&layer);
    let skipped = |cap: &common::Captured| {
        cap.events()
            .iter()
            .filter(|e| e["level"] == "WARN" && common::fields(e)["jwt.kid"] == "zero")
            .count()
    };
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    assert_eq!(skipped(&cap), 1);
    // Two refreshes of the same document.
    for _ in 0..2 {
        clock.advance(301);
        assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(p.hits(), 3);
    assert_eq!(skipped(&cap), 1, "not again for the same document");
    // A new document with the same bad key: reported again.
    p.set(Mode::Keys(
        jwk_set(&[
            placeholder,
            jwk(rs256, "rsa.pem", "a"),
            jwk(rs256, "rsa2.pem", "b"),
        ]),
        None,
    ));
    clock.advance(301);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(p.hits(), 4);
    assert_eq!(skipped(&cap), 2);
}

/// An idle instance refreshes on a timer: with no request at all, a rotated key
/// set is fetched when the refresh is due; the timer ends with the layer.
#[tokio::test]
async fn an_idle_instance_refreshes_on_a_timer_that_ends_with_the_layer() {
    let (_cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (p, addr, _t) = provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")).jwks_refresh_secs(1));
    assert_eq!(layer.warm_up().await, Ok(true));
    assert_eq!(p.hits(), 1);

    // The provider rotates (a retired, b published); the refresh falls due.
    p.set(Mode::Keys(jwk_set(&[jwk(rs256, "rsa2.pem", "b")]), None));
    clock.advance(1);
    let until = Instant::now() + Duration::from_secs(5);
    while p.hits() < 2 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(p.hits(), 2, "the due refresh ran without a request");
    tokio::time::sleep(Duration::from_millis(100)).await; // let the fetch land

    // The first request already sees the new set: no fetch on demand.
    let mut app = app(&layer);
    assert_eq!(call(&mut app, &token(&clock, "rsa2.pem", "b")).await.0, 200);
    let (status, body, _) = call(&mut app, &token(&clock, "rsa.pem", "a")).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("unknown_key"))
    );
    assert_eq!(p.hits(), 2);

    // Once the layer is gone, nothing refreshes any more.
    drop(app);
    drop(layer);
    clock.advance(10);
    let hits = p.hits();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(p.hits(), hits, "the timer ended with the layer");
}

/// Outside a tokio runtime the key set cannot be fetched: requests get 503
/// `key_set_unavailable`, one WARN names the cause and the fix, and `warm_up`
/// polled there is a clear error.
#[tokio::test]
async fn without_a_tokio_runtime_requests_get_503_and_one_warn_names_the_cause() {
    let (cap, _guard) = common::capture();
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let (p, addr, _t) = provider(Mode::Keys(jwk_set(&[jwk(rs256, "rsa.pem", "a")]), None)).await;
    let (layer, clock) = make_layer(jwt_config(format!("http://{addr}/jwks")));
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    let tok = token(&clock, "rsa.pem", "a");
    let layer2 = layer.clone();
    let (answers, warm) = common::on_other_thread(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            let answers: Vec<(u16, Value)> = (0..3)
                .map(|_| {
                    let req = Request::get("/api/x")
                        .header("authorization", format!("Bearer {tok}"))
                        .body(axum::body::Body::empty())
                        .unwrap();
                    futures_executor::block_on(async {
                        let res = app(&layer2).oneshot(req).await.unwrap();
                        let status = res.status().as_u16();
                        let body =
                            axum::body::to_bytes(axum::body::Body::new(res.into_body()), 1 << 20)
                                .await
                                .unwrap();
                        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
                    })
                })
                .collect();
            let warm = futures_executor::block_on(layer2.warm_up());
            (answers, warm)
        })
    });
    for (status, body) in &answers {
        assert_eq!(
            (*status, body["reason"].as_str()),
            (503, Some("key_set_unavailable"))
        );
    }
    let err = warm.unwrap_err();
    assert!(err.message().contains("tokio runtime"), "{err}");
    assert_eq!(p.hits(), 0);
    let warns: Vec<_> = cap
        .authgate_events()
        .into_iter()
        .filter(|e| {
            e["level"] == "WARN"
                && common::fields(e)["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("no tokio runtime"))
        })
        .collect();
    assert_eq!(warns.len(), 1, "one WARN naming the cause: {warns:#?}");
    let msg = common::fields(&warns[0])["message"].as_str().unwrap();
    assert!(msg.contains("AuthLayer::warm_up"), "{msg}");

    // Inside the runtime, the same layer fetches and serves.
    let mut app = app(&layer);
    assert_eq!(call(&mut app, &token(&clock, "rsa.pem", "a")).await.0, 200);
    assert_eq!(p.hits(), 1);
}
