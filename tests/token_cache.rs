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
    request(app, &[format!("Bearer {token}")], "/").await
}

/// `GET uri` with these `Authorization` fields: the status and the problem body.
async fn request(app: &Router, authorization: &[String], uri: &str) -> (u16, Value) {
    let mut req = Request::get(uri);
    for value in authorization {
        req = req.header("authorization", value);
    }
    let req = req.body(axum::body::Body::empty()).unwrap();
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

/// A hit is looked up on the token as sent, before its characters are checked
/// (issue 6): what the request says around the token, and any byte added to it,
/// must still be judged as without the cache.
#[tokio::test]
async fn a_cached_token_does_not_skip_the_checks_of_the_request_around_it() {
    let s = setup(hs_jwt());
    let token = hs(json!({"sub": "a", "exp": T0 + 3600}));
    assert_eq!(call(&s.app, &token).await.0, 200);
    assert_eq!(call(&s.app, &token).await.0, 200);

    let send = |headers: Vec<String>, uri: &'static str| {
        let app = s.app.clone();
        async move {
            let (status, body) = request(&app, &headers, uri).await;
            (status, body["reason"].as_str().map(str::to_owned))
        }
    };
    let bearer = format!("Bearer {token}");
    let cases: Vec<(Vec<String>, &'static str, u16, &str)> = vec![
        // RFC 6750 §2: header and query together.
        (
            vec![bearer.clone()],
            "/?access_token=x",
            400,
            "multiple_credentials",
        ),
        // Two fields, both the cached token.
        (
            vec![bearer.clone(), bearer.clone()],
            "/",
            400,
            "multiple_credentials",
        ),
        // Not b64token (RFC 6750 §2.1): a character after the cached token.
        (
            vec![format!("{bearer},")],
            "/",
            400,
            "malformed_credentials",
        ),
        (
            vec![format!("{bearer} x")],
            "/",
            400,
            "malformed_credentials",
        ),
        (
            vec![format!("Bearer \"{token}\"")],
            "/",
            400,
            "malformed_credentials",
        ),
        // The scheme glued to the token.
        (
            vec![format!("Bearer{token}")],
            "/",
            401,
            "unsupported_scheme",
        ),
    ];
    for (headers, uri, status, reason) in cases {
        let what = format!("{uri} with {} field(s)", headers.len());
        assert_eq!(
            send(headers, uri).await,
            (status, Some(reason.to_owned())),
            "{what}"
        );
    }
    // Spaces around the token are not part of it (RFC 9110 §5.5, §11.4): a hit.
    let (status, reason) = send(vec![format!("Bearer   {token}  ")], "/").await;
    assert_eq!((status, reason), (200, None));
}

/// The cache finds entries by the signature's digest and compares the rest
/// byte for byte: a verified token's signature on another payload is rejected as
/// without the cache, and the cached token keeps passing.
#[tokio::test]
async fn a_cached_signature_on_another_payload_is_rejected() {
    let s = setup(hs_jwt());
    let a = hs(json!({"sub": "a", "exp": T0 + 3600}));
    let b = hs(json!({"sub": "admin", "exp": T0 + 3600}));
    assert_eq!(call(&s.app, &a).await.0, 200);
    assert_eq!(call(&s.app, &a).await.0, 200); // a hit
    let (a_parts, b_parts): (Vec<_>, Vec<_>) = (a.split('.').collect(), b.split('.').collect());
    let forged = format!("{}.{}.{}", a_parts[0], b_parts[1], a_parts[2]);
    let (status, body) = call(&s.app, &forged).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("signature_invalid"))
    );
    assert_eq!(call(&s.app, &a).await.0, 200);
}

/// The cache never changes an answer (issue 6), also for what is *almost* a
/// cached token: with the cache warmed by a valid token, every one-byte change,
/// truncation and extension of it gets exactly the status and reason it gets
/// with the cache off. This covers the lookup on the raw token (before its
/// RFC 6750 §2.1 check) and the key on the signature with the signed part
/// compared (HS256: 43-byte signature; RS256: 342; ES256: 86).
#[tokio::test]
async fn near_copies_of_a_cached_token_get_the_answers_they_get_without_the_cache() {
    use jsonwebtoken::Algorithm as A;
    for (alg, ours) in [
        (A::HS256, Algorithm::HS256),
        (A::RS256, Algorithm::RS256),
        (A::ES256, Algorithm::ES256),
    ] {
        let key = match common::public_key_file(alg) {
            None => JwtKey::hmac(common::HS_SECRET),
            Some(file) => JwtKey::from_pem(common::read_key(file)).unwrap(),
        };
        let jwt = JwtConfig::new([ours]).key(key);
        let cached = setup(jwt.clone());
        let uncached = setup(jwt.token_cache(0, 0));
        let token = common::mint(alg, None, &json!({"sub": "a", "exp": T0 + 3600}));
        assert_eq!(call(&cached.app, &token).await.0, 200);
        assert_eq!(call(&cached.app, &token).await.0, 200); // a hit from now on

        let bytes = token.as_bytes();
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for i in 0..bytes.len() {
            for c in [b'A', b'_', b'.', b'=', b' ', b'"'] {
                if bytes[i] != c {
                    let mut v = bytes.to_vec();
                    v[i] = c;
                    variants.push(v);
                }
            }
            variants.push(bytes[..i].to_vec());
        }
        for suffix in ["A", "_", ".", "=", "==", " x", ",", ".x"] {
            variants.push([bytes, suffix.as_bytes()].concat());
        }
        let mut passed = 0;
        for v in &variants {
            let v = std::str::from_utf8(v).unwrap();
            let (a, b) = (call(&cached.app, v).await, call(&uncached.app, v).await);
            assert_eq!(
                (a.0, a.1["reason"].as_str()),
                (b.0, b.1["reason"].as_str()),
                "{alg:?}: a {}-byte variant of the cached token",
                v.len()
            );
            passed += usize::from(a.0 == 200);
        }
        // Only a trailing space (trimmed as OWS) leaves the token itself intact:
        // a one-byte change of a signed JWT is never valid, nor is a truncation.
        assert!(passed <= 1, "{alg:?}: {passed} variants passed");
        assert_eq!(call(&cached.app, &token).await.0, 200);
    }
}
