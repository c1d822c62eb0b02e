//! Failed-attempt limits through a real server: 429 `too_many_attempts` with
//! `Retry-After` past `max_failures`, decided before any password hash is
//! computed; counts per Basic user-id (configured users only) and per client
//! address; `Forwarded` / `X-Forwarded-For` believed only from trusted proxies.

mod common;

use std::time::{Duration, Instant};

use authgate::{
    Algorithm, AuthConfig, AuthLayer, BasicConfig, JwtConfig, JwtKey, LimitKey, LimitsConfig,
    Principal,
};
use axum::Router;
use axum::routing::get;
use common::{HS_SECRET, basic, bearer, capture, fields, hdrs, mint, now};
use serde_json::json;

fn bcrypt_at_cost(password: &str, cost: u32) -> String {
    bcrypt::hash_with_salt(password, cost, *b"limits-test-salt")
        .expect("bcrypt hash")
        .format_for_version(bcrypt::Version::TwoY)
}

fn layer(limits: LimitsConfig, cost: u32) -> AuthLayer {
    let users = BasicConfig::new()
        .user("alice", &bcrypt_at_cost("alice-pw", cost), ["read"])
        .expect("alice")
        .user("bob", &bcrypt_at_cost("bob-pw", cost), ["read"])
        .expect("bob");
    let cfg = AuthConfig::builder()
        .basic(users)
        .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(HS_SECRET)))
        .limits(limits)
        .build()
        .expect("config");
    AuthLayer::new(cfg)
}

fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route(
            "/api/whoami",
            get(|p: Principal| async move { p.subject().unwrap_or_default().to_owned() }),
        )
        .layer(layer)
}

async fn as_user(addr: std::net::SocketAddr, user: &str, pass: &str) -> common::Resp {
    common::get(addr, "/api/whoami", &hdrs(&[basic(user, pass)])).await
}

fn token() -> String {
    mint(
        jsonwebtoken::Algorithm::HS256,
        None,
        &json!({"sub": "svc", "exp": now() + 600}),
    )
}

/// Past `max_failures` wrong passwords, the user-id gets 429 with Retry-After
/// — even with the right password — and no password hash is computed for it:
/// not the user's own, and none of the dummies (counted by the verifier), with a
/// hash costly enough that computing one would show in the latency too.
#[tokio::test(flavor = "current_thread")]
async fn a_guessed_user_is_limited_before_any_hash_is_computed() {
    let (cap, _guard) = capture();
    let layer = layer(LimitsConfig::new().max_failures(3).window_secs(60), 12);
    let addr = common::serve_connect_info(app(layer.clone())).await;
    for i in 0..3 {
        let r = as_user(addr, "alice", &format!("guess-{i}")).await;
        assert_eq!(r.status, 401, "{}", r.dump());
    }
    let hashes = layer.basic_hash_count();
    assert!(hashes >= 3, "{hashes} hashes for 3 wrong passwords");
    cap.clear();
    let start = Instant::now();
    let r = as_user(addr, "alice", "alice-pw").await;
    let took = start.elapsed();
    assert_eq!(r.status, 429, "{}", r.dump());
    assert_eq!(r.json()["reason"], "too_many_attempts");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        layer.basic_hash_count(),
        hashes,
        "a limited request computed a hash"
    );
    // A bcrypt-12 check takes hundreds of milliseconds; the refusal, none.
    assert!(
        took < Duration::from_millis(150),
        "limited answer took {took:?}"
    );
    let ev = cap.one_authgate_event();
    let f = fields(&ev);
    assert_eq!(f["auth.reason"], "too_many_attempts");
    assert_eq!(f["auth.limit_key"], "user");
    assert_eq!(f["http.response.status_code"], 429);
    let raw = cap.raw();
    for secret in ["alice-pw", "guess-0", "guess-2"] {
        assert!(!raw.contains(secret), "a password reached the logs");
    }
    // Another user is untouched.
    let r = as_user(addr, "bob", "bob-pw").await;
    assert_eq!(r.status, 200, "{}", r.dump());
}

/// An unknown user-id is never counted (only configured users are): it keeps
/// getting the same 401, and `missing_credentials` never counts.
#[tokio::test(flavor = "current_thread")]
async fn unknown_users_and_missing_credentials_are_not_counted() {
    let layer = layer(LimitsConfig::new().max_failures(2).window_secs(60), 4);
    let addr = common::serve_connect_info(app(layer)).await;
    for _ in 0..5 {
        let r = as_user(addr, "nobody", "x").await;
        assert_eq!(r.status, 401, "{}", r.dump());
        let r = common::get(addr, "/api/whoami", &[]).await;
        assert_eq!(r.status, 401);
    }
}

/// By client address: every counted failure (bad tokens, wrong passwords) counts
/// for the peer address; a success — even of a user who proves a password —
/// clears that user's count only, never the address's.
#[tokio::test(flavor = "current_thread")]
async fn a_success_does_not_reset_another_keys_count() {
    let (cap, _guard) = capture();
    let limits = LimitsConfig::new()
        .max_failures(3)
        .window_secs(60)
        .by([LimitKey::User, LimitKey::ClientIp]);
    let addr = common::serve_connect_info(app(layer(limits, 4))).await;
    assert_eq!(as_user(addr, "bob", "wrong-1").await.status, 401);
    let r = common::get(addr, "/api/whoami", &hdrs(&[bearer("a.b.c")])).await;
    assert_eq!(r.status, 401);
    // alice proves her password: the address keeps its two failures.
    assert_eq!(as_user(addr, "alice", "alice-pw").await.status, 200);
    assert_eq!(as_user(addr, "bob", "wrong-2").await.status, 401);
    cap.clear();
    let r = common::get(addr, "/api/whoami", &hdrs(&[bearer(&token())])).await;
    assert_eq!(r.status, 429, "{}", r.dump());
    assert!(r.header("retry-after").is_some());
    let ev = cap.one_authgate_event();
    assert_eq!(fields(&ev)["auth.limit_key"], "client_ip");
}

/// `X-Forwarded-For` / `Forwarded` from a trusted proxy name the client; from any
/// other peer they are ignored (a client writes them itself).
#[tokio::test(flavor = "current_thread")]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    // The test's peer is 127.0.0.1: trusted here.
    let limits = LimitsConfig::new()
        .max_failures(2)
        .window_secs(60)
        .by([LimitKey::ClientIp])
        .trusted_proxy("127.0.0.0/8")
        .expect("cidr");
    let addr = common::serve_connect_info(app(layer(limits, 4))).await;
    for _ in 0..2 {
        let r = common::get(
            addr,
            "/api/whoami",
            &hdrs(&hdrs_owned(Some((
                "x-forwarded-for",
                "203.0.113.9, 127.0.0.5",
            )))),
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = common::get(
        addr,
        "/api/whoami",
        &hdrs(&hdrs_owned(Some(("x-forwarded-for", "203.0.113.9")))),
    )
    .await;
    assert_eq!(r.status, 429, "the client behind the proxy is limited");
    let r = common::get(
        addr,
        "/api/whoami",
        &hdrs(&hdrs_owned(Some(("forwarded", "for=\"[2001:db8::9]\"")))),
    )
    .await;
    assert_eq!(r.status, 401, "another client behind the proxy is not");

    // Not trusted: the headers change nothing, the peer address is counted.
    let limits = LimitsConfig::new()
        .max_failures(2)
        .window_secs(60)
        .by([LimitKey::ClientIp])
        .trusted_proxy("10.0.0.0/8")
        .expect("cidr");
    let addr = common::serve_connect_info(app(layer(limits, 4))).await;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        let r = common::get(
            addr,
            "/api/whoami",
            &hdrs(&hdrs_owned(Some(("x-forwarded-for", ip)))),
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = common::get(
        addr,
        "/api/whoami",
        &hdrs(&hdrs_owned(Some(("x-forwarded-for", "203.0.113.3")))),
    )
    .await;
    assert_eq!(r.status, 429, "a forged X-Forwarded-For escaped the limit");
}

/// A bad token plus an optional extra header.
fn hdrs_owned(extra: Option<(&'static str, &str)>) -> Vec<(&'static str, Vec<u8>)> {
    let mut v = vec![bearer("not-a-jwt.x.y")];
    if let Some((n, val)) = extra {
        v.push((n, val.as_bytes().to_vec()));
    }
    v
}

/// The same limits from TOML, with their defaults and errors.
#[test]
fn limits_from_toml() {
    let dir = std::env::temp_dir();
    let ok = "[basic]\n[[basic.users]]\nname = \"a\"\npassword_hash = \"$2y$10$x5ehN9ioKADsh36iAyufUeCl/UpgzZmhWXnB.l3ev1wkDOO/kiXqW\"\n\n[limits]\nby = [\"user\", \"client_ip\"]\ntrusted_proxies = [\"10.0.0.0/8\"]\n";
    let cfg = AuthConfig::from_toml_str(ok, &dir);
    assert!(cfg.is_ok(), "{:?}", cfg.err());
    for (bad, key) in [
        ("[limits]\nmax_failures = 0\n", "limits.max_failures"),
        ("[limits]\nwindow_secs = 0\n", "limits.window_secs"),
        ("[limits]\nby = []\n", "limits.by"),
        (
            "[limits]\ntrusted_proxies = [\"10.0.0.0/99\"]\n",
            "limits.trusted_proxies",
        ),
        ("[limits]\nby = [\"cookie\"]\n", "limits.by"),
    ] {
        let text = format!("{}{bad}", &ok[..ok.find("[limits]").expect("limits")]);
        let err = AuthConfig::from_toml_str(&text, &dir).expect_err(bad);
        assert!(err.to_string().contains(key), "{bad}: {err}");
    }
}
