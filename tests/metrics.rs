//! The `metrics` feature (SPEC §11) through real servers on 127.0.0.1: one request
//! per reachable reason with each counter's labels and value checked, the
//! histogram, the token cache and key-set metrics, and 1,000 requests with random
//! paths, kids, issuers and user-ids whose label sets stay within the closed sets.
//!
//! Each test records into its own `DebuggingRecorder`, set as the thread's local
//! recorder; the tests run on a current-thread runtime, so the servers' tasks
//! record on the same thread. A snapshot takes the counters back to zero, so the
//! snapshot after one request is that request's metrics.

mod common;
mod configd;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use authgate::{Algorithm, AuthConfig, AuthLayer, BasicConfig, JwtConfig, Reason};
use axum::Router;
use axum::routing::get;
use common::{Resp, basic, bearer, hdrs, serve};
use configd::{API_KEY_CI, API_KEY_REVOKED, NOW, REVOKED_JTI, Variant};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::{Value, json};

const REQUESTS: &str = "authgate_requests_total";
const DURATION: &str = "authgate_verify_duration_seconds";
const CACHE: &str = "authgate_token_cache_total";
const FETCHES: &str = "authgate_key_set_fetches_total";
const AGE: &str = "authgate_key_set_age_seconds";

/// One metric series: kind, name and its labels.
type Series = (MetricKind, String, BTreeMap<String, String>);

/// What changed since the last snapshot: counters by how much (zeros left out),
/// the number of histogram samples, gauges by their value.
#[derive(Debug, Default)]
struct Delta {
    counters: BTreeMap<Series, u64>,
    histograms: BTreeMap<Series, Vec<f64>>,
    gauges: BTreeMap<Series, f64>,
}

impl Delta {
    fn take(s: &Snapshotter) -> Delta {
        let mut d = Delta::default();
        for (ck, _, _, value) in s.snapshot().into_vec() {
            let labels = ck
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            let series = (ck.kind(), ck.key().name().to_owned(), labels);
            match value {
                DebugValue::Counter(0) => {}
                DebugValue::Counter(n) => {
                    d.counters.insert(series, n);
                }
                DebugValue::Histogram(v) if v.is_empty() => {}
                DebugValue::Histogram(v) => {
                    d.histograms
                        .insert(series, v.into_iter().map(|x| x.into_inner()).collect());
                }
                DebugValue::Gauge(v) => {
                    d.gauges.insert(series, v.into_inner());
                }
            }
        }
        d
    }

    /// The `authgate_requests_total` increments, as (outcome, reason, scheme) → n.
    fn requests(&self) -> BTreeMap<(String, String, String), u64> {
        self.counters
            .iter()
            .filter(|((_, name, _), _)| name == REQUESTS)
            .map(|((_, _, l), n)| {
                let get = |k: &str| l.get(k).cloned().unwrap_or_default();
                ((get("outcome"), get("reason"), get("scheme")), *n)
            })
            .collect()
    }

    fn counter(&self, name: &str, label: (&str, &str)) -> u64 {
        self.counters
            .iter()
            .filter(|((_, n, l), _)| {
                n == name && l.get(label.0).map(String::as_str) == Some(label.1)
            })
            .map(|(_, v)| *v)
            .sum()
    }

    /// Samples of the verification histogram for (scheme, cached).
    fn durations(&self, scheme: &str, cached: &str) -> Vec<f64> {
        self.histograms
            .iter()
            .filter(|((_, n, l), _)| {
                n == DURATION
                    && l.get("scheme").map(String::as_str) == Some(scheme)
                    && l.get("cached").map(String::as_str) == Some(cached)
            })
            .flat_map(|(_, v)| v.iter().copied())
            .collect()
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

fn users() -> BasicConfig {
    BasicConfig::new()
        .htpasswd_file(fixture("users.htpasswd"))
        .expect("users.htpasswd loads")
}

/// (name, server, path, headers, the `authgate_requests_total` increments).
type Case = (
    &'static str,
    SocketAddr,
    &'static str,
    Vec<(&'static str, Vec<u8>)>,
    Vec<(String, String, String)>,
);

fn req(outcome: &str, reason: &str, scheme: &str) -> (String, String, String) {
    (outcome.to_owned(), reason.to_owned(), scheme.to_owned())
}

/// Config D (JWT, API keys, scopes and a policy) with Basic users too.
async fn app_d() -> SocketAddr {
    let cfg = configd::builder(Variant::D)
        .basic(users())
        .build()
        .expect("config D with Basic");
    serve(configd::app_with(cfg, false)).await
}

async fn send(addr: SocketAddr, path: &str, headers: &[(&'static str, Vec<u8>)]) -> Resp {
    common::get(addr, path, &hdrs(headers)).await
}

/// One request per reason the layer can reach here, each followed by the
/// metrics it recorded: exactly one `authgate_requests_total` increment with the
/// reason's outcome and scheme (two for a route layer's 403: the layer counted
/// the authentication first).
#[tokio::test]
async fn one_request_per_reason_counts_once_with_its_labels() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    // Events are not what this test checks, but a subscriber keeps the callsite
    // interest of the process's other tests from mattering.
    let (_cap, _guard) = common::capture();

    let d = app_d().await;
    let optional = serve(configd::app(Variant::Optional)).await;
    Delta::take(&snap);

    let v = configd::valid();
    let claims = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        configd::rs(&configd::claims_with(|c| f(c)))
    };
    let expired = claims(&|c| {
        c.insert("exp".into(), json!(NOW - 120));
    });
    let future_nbf = claims(&|c| {
        c.insert("nbf".into(), json!(NOW + 300));
    });
    let future_iat = claims(&|c| {
        c.insert("iat".into(), json!(NOW + 300));
    });
    let staging = claims(&|c| {
        c.insert("iss".into(), json!("https://id.staging.example.com/"));
    });
    let billing = claims(&|c| {
        c.insert("aud".into(), json!("billing"));
    });
    let no_sub = claims(&|c| {
        c.remove("sub");
    });
    let revoked = claims(&|c| {
        c.insert("jti".into(), json!(REVOKED_JTI));
    });
    let two_seg = v.rsplit_once('.').expect("3 segments").0.to_owned();
    let alg_none = common::raw_jwt(
        r#"{"alg":"none","typ":"JWT"}"#,
        &Value::Object(configd::claims()).to_string(),
        common::Signing::Empty,
    );
    let unknown_kid = common::mint(
        jsonwebtoken::Algorithm::RS256,
        Some("rsa-unknown"),
        &Value::Object(configd::claims()),
    );
    let other_key = common::mint_with_key(
        jsonwebtoken::Algorithm::RS256,
        Some("rsa-1"),
        &Value::Object(configd::claims()),
        &common::encoding_key_from_file(jsonwebtoken::Algorithm::RS256, "rsa2.pem"),
    );
    let auth = |value: &str| ("authorization", value.as_bytes().to_vec());

    // (name, server, path, headers, expected increments)
    let authn_bearer = req("authenticated", "none", "bearer");
    let cases: Vec<Case> = vec![
        (
            "pass: JWT",
            d,
            "/api/whoami",
            vec![bearer(&v)],
            vec![authn_bearer.clone()],
        ),
        (
            "pass: API key",
            d,
            "/api/whoami",
            vec![bearer(API_KEY_CI)],
            vec![authn_bearer.clone()],
        ),
        (
            "pass: Basic",
            d,
            "/api/whoami",
            vec![basic("alice", "alice-s3cret")],
            vec![req("authenticated", "none", "basic")],
        ),
        (
            "pass: anonymous",
            optional,
            "/api/maybe",
            vec![],
            vec![req("anonymous", "none", "none")],
        ),
        (
            "missing_credentials",
            d,
            "/api/whoami",
            vec![],
            vec![req("unauthenticated", "missing_credentials", "none")],
        ),
        (
            "unsupported_scheme",
            d,
            "/api/whoami",
            vec![auth(r#"Digest username="u", realm="api", nonce="n""#)],
            vec![req("unauthenticated", "unsupported_scheme", "other")],
        ),
        (
            "unsupported_scheme (bare token)",
            d,
            "/api/whoami",
            vec![auth("agk_a_bare_token_without_scheme")],
            vec![req("unauthenticated", "unsupported_scheme", "other")],
        ),
        (
            "malformed_credentials",
            d,
            "/api/whoami",
            vec![auth("Bearer")],
            vec![req("unauthenticated", "malformed_credentials", "bearer")],
        ),
        (
            "malformed_credentials (Basic)",
            d,
            "/api/whoami",
            vec![auth("Basic !!!")],
            vec![req("unauthenticated", "malformed_credentials", "basic")],
        ),
        (
            "multiple_credentials",
            d,
            "/api/whoami",
            vec![bearer(&v), bearer(&v)],
            vec![req("unauthenticated", "multiple_credentials", "bearer")],
        ),
        (
            "token_malformed",
            d,
            "/api/whoami",
            vec![bearer(&two_seg)],
            vec![req("unauthenticated", "token_malformed", "bearer")],
        ),
        (
            "algorithm_not_allowed",
            d,
            "/api/whoami",
            vec![bearer(&alg_none)],
            vec![req("unauthenticated", "algorithm_not_allowed", "bearer")],
        ),
        (
            "unknown_key",
            d,
            "/api/whoami",
            vec![bearer(&unknown_kid)],
            vec![req("unauthenticated", "unknown_key", "bearer")],
        ),
        (
            "signature_invalid",
            d,
            "/api/whoami",
            vec![bearer(&other_key)],
            vec![req("unauthenticated", "signature_invalid", "bearer")],
        ),
        (
            "token_expired",
            d,
            "/api/whoami",
            vec![bearer(&expired)],
            vec![req("unauthenticated", "token_expired", "bearer")],
        ),
        (
            "token_not_yet_valid",
            d,
            "/api/whoami",
            vec![bearer(&future_nbf)],
            vec![req("unauthenticated", "token_not_yet_valid", "bearer")],
        ),
        (
            "token_issued_in_future",
            d,
            "/api/whoami",
            vec![bearer(&future_iat)],
            vec![req("unauthenticated", "token_issued_in_future", "bearer")],
        ),
        (
            "issuer_mismatch",
            d,
            "/api/whoami",
            vec![bearer(&staging)],
            vec![req("unauthenticated", "issuer_mismatch", "bearer")],
        ),
        (
            "audience_mismatch",
            d,
            "/api/whoami",
            vec![bearer(&billing)],
            vec![req("unauthenticated", "audience_mismatch", "bearer")],
        ),
        (
            "missing_claim",
            d,
            "/api/whoami",
            vec![bearer(&no_sub)],
            vec![req("unauthenticated", "missing_claim", "bearer")],
        ),
        (
            "token_revoked (jti)",
            d,
            "/api/whoami",
            vec![bearer(&revoked)],
            vec![req("unauthenticated", "token_revoked", "bearer")],
        ),
        (
            "token_revoked (API key)",
            d,
            "/api/whoami",
            vec![bearer(API_KEY_REVOKED)],
            vec![req("unauthenticated", "token_revoked", "bearer")],
        ),
        (
            "unknown_api_key",
            d,
            "/api/whoami",
            vec![bearer("agk_ci_0000000000000000000000000000000")],
            vec![req("unauthenticated", "unknown_api_key", "bearer")],
        ),
        (
            "unknown_user",
            d,
            "/api/whoami",
            vec![basic("nobody-by-that-name", "pw")],
            vec![req("unauthenticated", "unknown_user", "basic")],
        ),
        (
            "wrong_password",
            d,
            "/api/whoami",
            vec![basic("alice", "not-her-password")],
            vec![req("unauthenticated", "wrong_password", "basic")],
        ),
        (
            "insufficient_scope",
            d,
            "/api/admin",
            vec![bearer(&v)],
            vec![
                authn_bearer.clone(),
                req("forbidden", "insufficient_scope", "bearer"),
            ],
        ),
        (
            "access_denied",
            d,
            "/api/policy",
            vec![bearer(&v)],
            vec![
                authn_bearer.clone(),
                req("forbidden", "access_denied", "bearer"),
            ],
        ),
    ];

    let mut reasons_seen = BTreeSet::new();
    for (name, addr, path, headers, want) in cases {
        let resp = send(addr, path, &headers).await;
        let delta = Delta::take(&snap);
        let want: BTreeMap<_, u64> = want.into_iter().map(|k| (k, 1)).collect();
        assert_eq!(
            delta.requests(),
            want,
            "{name}: status {} {}",
            resp.status,
            resp.text()
        );
        for (outcome, reason, scheme) in want.keys() {
            if outcome != "authenticated" && outcome != "anonymous" {
                let r = Reason::ALL
                    .iter()
                    .find(|r| r.code() == reason)
                    .expect("a reason code");
                let status = if scheme == "basic" {
                    r.status_for_basic()
                } else {
                    r.status()
                };
                assert_eq!(status.as_u16(), resp.status, "{name}");
                reasons_seen.insert(reason.clone());
            }
        }
        // Every verification that ran is one histogram sample.
        let samples: usize = delta.histograms.values().map(Vec::len).sum();
        assert!(samples <= 1, "{name}: {:?}", delta.histograms);
        for (series, values) in &delta.histograms {
            assert_eq!(series.1, DURATION);
            assert!(values.iter().all(|s| (0.0..10.0).contains(s)), "{values:?}");
        }
    }
    // The 18 reasons of credentials and tokens and the two 403s (the 503 of a
    // key set that cannot be fetched is in `key_set_fetches_and_age_are_recorded`).
    assert_eq!(reasons_seen.len(), 20, "{reasons_seen:?}");
}

/// The histogram: one sample per verification, `cached` telling whether a cache
/// answered; the token cache's hits and misses; Basic's cache.
#[tokio::test]
async fn verifications_are_timed_and_cache_lookups_counted() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (_cap, _guard) = common::capture();
    let d = app_d().await;
    Delta::take(&snap);

    let v = configd::valid();
    // First sight of a token: a miss, verified in full.
    assert_eq!(send(d, "/api/whoami", &[bearer(&v)]).await.status, 200);
    let first = Delta::take(&snap);
    assert_eq!(first.counter(CACHE, ("result", "miss")), 1, "{first:?}");
    assert_eq!(first.counter(CACHE, ("result", "hit")), 0);
    assert_eq!(first.durations("bearer", "false").len(), 1, "{first:?}");
    assert!(first.durations("bearer", "true").is_empty());
    // Again: a hit.
    assert_eq!(send(d, "/api/whoami", &[bearer(&v)]).await.status, 200);
    let second = Delta::take(&snap);
    assert_eq!(second.counter(CACHE, ("result", "hit")), 1, "{second:?}");
    assert_eq!(second.counter(CACHE, ("result", "miss")), 0);
    assert_eq!(second.durations("bearer", "true").len(), 1, "{second:?}");
    assert!(second.durations("bearer", "false").is_empty());
    // No credentials: nothing verified, nothing looked up.
    assert_eq!(send(d, "/api/whoami", &[]).await.status, 401);
    let none = Delta::take(&snap);
    assert!(none.histograms.is_empty(), "{none:?}");
    assert_eq!(none.counter(CACHE, ("result", "miss")), 0);
    // Basic: the password hash is timed (a bcrypt of cost 10 takes a while), a
    // second request is answered by the Basic cache.
    assert_eq!(
        send(d, "/api/whoami", &[basic("alice", "alice-s3cret")])
            .await
            .status,
        200
    );
    let hashed = Delta::take(&snap);
    let samples = hashed.durations("basic", "false");
    assert_eq!(samples.len(), 1, "{hashed:?}");
    assert!(samples[0] > 0.001, "bcrypt in {} s", samples[0]);
    assert_eq!(
        send(d, "/api/whoami", &[basic("alice", "alice-s3cret")])
            .await
            .status,
        200
    );
    let cached = Delta::take(&snap);
    assert_eq!(cached.durations("basic", "true").len(), 1, "{cached:?}");
}

/// A JWKS provider on 127.0.0.1 serving one RSA key; its answers can be made to
/// fail.
async fn provider(up: std::sync::Arc<std::sync::atomic::AtomicBool>) -> SocketAddr {
    let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(
        &common::encoding_key_from_file(jsonwebtoken::Algorithm::RS256, "rsa.pem"),
        jsonwebtoken::Algorithm::RS256,
    )
    .expect("jwk");
    jwk.common.key_id = Some("rsa-1".to_owned());
    let set = json!({ "keys": [jwk] }).to_string();
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let set = set.clone();
            let up = up.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                if up {
                    (http::StatusCode::OK, set)
                } else {
                    (http::StatusCode::SERVICE_UNAVAILABLE, String::new())
                }
            }
        }),
    );
    serve(app).await
}

fn remote_app(url: String, clock: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Router {
    let cfg = AuthConfig::builder()
        .jwt(
            JwtConfig::new([Algorithm::RS256])
                .jwks_url(url)
                .allow_insecure_http(true)
                .jwks_timeout_secs(1),
        )
        .clock(move || {
            std::time::UNIX_EPOCH
                + Duration::from_secs(clock.load(std::sync::atomic::Ordering::SeqCst))
        })
        .build()
        .expect("remote config");
    Router::new()
        .route("/api/x", get(|| async { "ok" }))
        .layer(AuthLayer::new(cfg))
}

fn rs_token(now: u64) -> String {
    common::mint(
        jsonwebtoken::Algorithm::RS256,
        Some("rsa-1"),
        &json!({ "sub": "alice", "exp": now + 3600 }),
    )
}

/// Key-set fetches by result, the key set's age, and `key_set_unavailable`.
#[tokio::test]
async fn key_set_fetches_and_age_are_recorded() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (_cap, _guard) = common::capture();

    // Nobody listens there: 503 key_set_unavailable, one failed fetch.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let now = common::now();
    let clock = Arc::new(AtomicU64::new(now));
    let down = serve(remote_app(
        format!("http://{closed}/jwks"),
        Arc::clone(&clock),
    ))
    .await;
    Delta::take(&snap);
    let resp = send(down, "/api/x", &[bearer(&rs_token(now))]).await;
    assert_eq!(resp.status, 503, "{}", resp.text());
    let delta = Delta::take(&snap);
    assert_eq!(
        delta.requests(),
        BTreeMap::from([(req("unavailable", "key_set_unavailable", "bearer"), 1)])
    );
    assert_eq!(delta.counter(FETCHES, ("result", "error")), 1, "{delta:?}");
    assert_eq!(delta.counter(FETCHES, ("result", "ok")), 0);

    // A provider that answers: one good fetch, the age starts at 0 and grows
    // with the layer's clock.
    let up = Arc::new(AtomicBool::new(true));
    let jwks = provider(Arc::clone(&up)).await;
    let app = serve(remote_app(
        format!("http://{jwks}/jwks"),
        Arc::clone(&clock),
    ))
    .await;
    let resp = send(app, "/api/x", &[bearer(&rs_token(now))]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let delta = Delta::take(&snap);
    assert_eq!(delta.counter(FETCHES, ("result", "ok")), 1, "{delta:?}");
    let age = |d: &Delta| {
        d.gauges
            .iter()
            .find(|((_, n, _), _)| n == AGE)
            .map(|(_, v)| *v)
    };
    clock.fetch_add(42, Ordering::SeqCst);
    assert_eq!(
        send(app, "/api/x", &[bearer(&rs_token(now))]).await.status,
        200
    );
    let delta = Delta::take(&snap);
    assert_eq!(age(&delta), Some(42.0), "{delta:?}");
    assert_eq!(
        delta.requests(),
        BTreeMap::from([(req("authenticated", "none", "bearer"), 1)])
    );

    // Past the refresh interval the same document comes back: not_modified.
    clock.fetch_add(3_600, Ordering::SeqCst);
    let later = clock.load(Ordering::SeqCst);
    assert_eq!(
        send(app, "/api/x", &[bearer(&rs_token(later))])
            .await
            .status,
        200
    );
    let mut fetched = Delta::default();
    for _ in 0..100 {
        fetched = Delta::take(&snap);
        if !fetched.counters.keys().any(|(_, n, _)| n == FETCHES) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        break;
    }
    assert_eq!(
        fetched.counter(FETCHES, ("result", "not_modified")),
        1,
        "{fetched:?}"
    );
    assert_eq!(fetched.counter(FETCHES, ("result", "ok")), 0);
    assert_eq!(age(&fetched), Some(0.0), "{fetched:?}");
}

/// A tiny deterministic generator (xorshift64*): the test is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A random string of URL- and header-safe characters.
    fn word(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~";
        (0..len)
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize] as char)
            .collect()
    }
}

/// 1,000 requests with random paths, kids, issuers, subjects, user-ids and
/// scheme names: every label value is from its closed set, no request-provided
/// string appears in any series, and each request is counted once.
#[tokio::test]
async fn labels_stay_within_closed_sets_under_random_traffic() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (_cap, _guard) = common::capture();
    let d = app_d().await;
    Delta::take(&snap);

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let hs = jsonwebtoken::EncodingKey::from_secret(common::HS_SECRET);
    let mut sent = Vec::new();
    const N: usize = 1_000;
    for i in 0..N {
        let path = format!("/r/{}?q={}", rng.word(12), rng.word(6));
        let kid_len = 1 + rng.below(20) as usize;
        let kid = rng.word(kid_len);
        let iss = format!("https://{}.example/", rng.word(8));
        let sub = rng.word(10);
        let header = match i % 10 {
            // A Basic user-id nobody has (each costs the dummy hashes: few).
            0 if i % 100 == 0 => basic(&rng.word(10), &rng.word(8)),
            0 | 1 => {
                let len = 1 + rng.below(40) as usize;
                let scheme = rng.word(len);
                (
                    "authorization",
                    format!("{scheme} {}", rng.word(20)).into_bytes(),
                )
            }
            2 => ("authorization", rng.word(30).into_bytes()),
            3 => bearer(&rng.word(40)),
            _ => {
                let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                h.kid = Some(if i % 3 == 0 {
                    "hmac-1".to_owned()
                } else {
                    kid.clone()
                });
                let claims = json!({
                    "sub": sub, "iss": iss, "aud": rng.word(6), "exp": NOW + 600,
                });
                bearer(&jsonwebtoken::encode(&h, &claims, &hs).expect("encode"))
            }
        };
        sent.extend([kid, iss, sub]);
        let resp = send(d, &path, &[header]).await;
        assert!(resp.status >= 400, "{path}: {}", resp.status);
    }
    let delta = Delta::take(&snap);

    let outcomes = [
        "authenticated",
        "anonymous",
        "unauthenticated",
        "forbidden",
        "unavailable",
        "limited",
    ];
    let reasons: BTreeSet<&str> = Reason::ALL
        .iter()
        .map(|r| r.code())
        .chain(["none"])
        .collect();
    let schemes = ["bearer", "basic", "none", "other"];
    let mut total = 0;
    let all_series = delta
        .counters
        .keys()
        .chain(delta.histograms.keys())
        .chain(delta.gauges.keys());
    for (kind, name, labels) in all_series {
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        match name.as_str() {
            REQUESTS => {
                assert_eq!(keys, ["outcome", "reason", "scheme"]);
                assert!(outcomes.contains(&labels["outcome"].as_str()), "{labels:?}");
                assert!(reasons.contains(labels["reason"].as_str()), "{labels:?}");
                assert!(schemes.contains(&labels["scheme"].as_str()), "{labels:?}");
            }
            DURATION => {
                assert_eq!(keys, ["cached", "scheme"]);
                assert!(["true", "false"].contains(&labels["cached"].as_str()));
                assert!(["bearer", "basic"].contains(&labels["scheme"].as_str()));
            }
            CACHE | FETCHES => {
                assert_eq!(keys, ["result"]);
                assert!(
                    ["hit", "miss", "ok", "error", "not_modified"]
                        .contains(&labels["result"].as_str())
                );
            }
            AGE => assert!(keys.is_empty()),
            other => panic!("unexpected metric {other} ({kind:?})"),
        }
        for value in labels.values() {
            assert!(!sent.contains(value), "{value:?} came from a request");
        }
    }
    for ((_, name, _), n) in &delta.counters {
        if name == REQUESTS {
            total += n;
        }
    }
    assert_eq!(total, N as u64, "every request counted once");
    // Bounded: far fewer series than requests.
    let series = delta.requests().len();
    assert!(series <= 20, "{series} series: {:?}", delta.requests());
}
