//! Tests of the shared test harness itself (`tests/common`): key fixtures,
//! token minting, the challenge parser, the secret scanner, event capture,
//! the servers and the client. Nothing here uses authgate.

mod common;

use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use common::*;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::json;

// ---------------------------------------------------------------------------
// Key fixtures
// ---------------------------------------------------------------------------

#[test]
fn every_fixture_key_loads_with_jsonwebtoken() {
    for (private, public, enc, dec) in [
        (
            "rsa.pem",
            "rsa.pub.pem",
            EncodingKey::from_rsa_pem as fn(&[u8]) -> _,
            DecodingKey::from_rsa_pem as fn(&[u8]) -> _,
        ),
        (
            "rsa2.pem",
            "rsa2.pub.pem",
            EncodingKey::from_rsa_pem,
            DecodingKey::from_rsa_pem,
        ),
        (
            "ec.pem",
            "ec.pub.pem",
            EncodingKey::from_ec_pem,
            DecodingKey::from_ec_pem,
        ),
        (
            "ec384.pem",
            "ec384.pub.pem",
            EncodingKey::from_ec_pem,
            DecodingKey::from_ec_pem,
        ),
        (
            "ed.pem",
            "ed.pub.pem",
            EncodingKey::from_ed_pem,
            DecodingKey::from_ed_pem,
        ),
    ] {
        let priv_pem = read_key(private);
        let pub_pem = read_key(public);
        assert!(
            String::from_utf8_lossy(&priv_pem).starts_with("-----BEGIN PRIVATE KEY-----"),
            "{private} is not PKCS#8"
        );
        assert!(
            String::from_utf8_lossy(&pub_pem).starts_with("-----BEGIN PUBLIC KEY-----"),
            "{public} is not SPKI"
        );
        if let Err(e) = enc(&priv_pem) {
            panic!("{private}: {e}");
        }
        if let Err(e) = dec(&pub_pem) {
            panic!("{public}: {e}");
        }
    }
}

fn claims() -> serde_json::Value {
    json!({ "sub": "alice", "exp": now() + 600, "iat": now() })
}

fn verifies(token: &str, alg: Algorithm, key: &DecodingKey) -> bool {
    let mut v = Validation::new(alg);
    v.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(token, key, &v).is_ok()
}

#[test]
fn mint_round_trips_for_every_algorithm() {
    use Algorithm::*;
    for alg in [
        HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
    ] {
        let token = mint(alg, Some("k1"), &claims());
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, alg);
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert!(verifies(&token, alg, &decoding_key(alg)), "{alg:?}");
    }
    let token = mint(HS256, None, &claims());
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid, None);
}

#[test]
fn second_rsa_key_does_not_verify_the_first() {
    let token = mint_with_key(
        Algorithm::RS256,
        None,
        &claims(),
        &encoding_key_from_file(Algorithm::RS256, "rsa2.pem"),
    );
    assert!(!verifies(
        &token,
        Algorithm::RS256,
        &decoding_key(Algorithm::RS256)
    ));
    assert!(verifies(
        &token,
        Algorithm::RS256,
        &decoding_key_from_file(Algorithm::RS256, "rsa2.pub.pem")
    ));
}

#[test]
fn key_path_resolves_fixtures() {
    assert!(key_path("rsa.pem").is_file());
    assert!(key_path("README.md").is_file());
}

// ---------------------------------------------------------------------------
// raw_jwt
// ---------------------------------------------------------------------------

fn signature_ok(token: &str, alg: Algorithm, key: &DecodingKey) -> bool {
    let (message, signature) = token.rsplit_once('.').unwrap();
    jsonwebtoken::crypto::verify(signature, message.as_bytes(), key, alg).unwrap_or(false)
}

#[test]
fn raw_jwt_keeps_the_json_text_verbatim() {
    let header = r#"{"alg":"HS256","alg":"none"}"#;
    let payload = r#"[1,2,3]"#;
    let token = raw_jwt(header, payload, Signing::Hs256(HS_SECRET));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let dec = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    assert_eq!(dec(parts[0]), header.as_bytes());
    assert_eq!(dec(parts[1]), payload.as_bytes());
    assert!(signature_ok(
        &token,
        Algorithm::HS256,
        &DecodingKey::from_secret(HS_SECRET)
    ));
}

#[test]
fn raw_jwt_signings() {
    let h = r#"{"alg":"RS256","typ":"JWT"}"#;
    let p = r#"{"sub":"x"}"#;
    let rs = raw_jwt(h, p, Signing::Rs256("rsa.pem"));
    assert!(signature_ok(
        &rs,
        Algorithm::RS256,
        &decoding_key(Algorithm::RS256)
    ));
    let rs2 = raw_jwt(h, p, Signing::Rs256("rsa2.pem"));
    assert!(!signature_ok(
        &rs2,
        Algorithm::RS256,
        &decoding_key(Algorithm::RS256)
    ));
    let abs = key_path("rsa2.pem");
    let rs2_abs = raw_jwt(h, p, Signing::Rs256(abs.to_str().unwrap()));
    assert_eq!(rs2, rs2_abs, "RSA PKCS#1 v1.5 signatures are deterministic");

    let es = raw_jwt(h, p, Signing::Es256);
    assert!(signature_ok(
        &es,
        Algorithm::ES256,
        &decoding_key(Algorithm::ES256)
    ));
    let ed = raw_jwt(h, p, Signing::EdDSA);
    assert!(signature_ok(
        &ed,
        Algorithm::EdDSA,
        &decoding_key(Algorithm::EdDSA)
    ));
    let key = encoding_key(Algorithm::ES384);
    let es384 = raw_jwt(h, p, Signing::Key(&key, Algorithm::ES384));
    assert!(signature_ok(
        &es384,
        Algorithm::ES384,
        &decoding_key(Algorithm::ES384)
    ));

    let empty = raw_jwt(h, p, Signing::Empty);
    assert!(empty.ends_with('.'));
    assert_eq!(empty.matches('.').count(), 2);
    let garbage = raw_jwt(h, p, Signing::Garbage);
    assert!(!signature_ok(
        &garbage,
        Algorithm::RS256,
        &decoding_key(Algorithm::RS256)
    ));
    assert!(!garbage.ends_with('.'));
    let raw = raw_jwt(h, p, Signing::Raw("!!not base64!!"));
    assert!(raw.ends_with(".!!not base64!!"));
}

// ---------------------------------------------------------------------------
// parse_challenge
// ---------------------------------------------------------------------------

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn challenge_bearer_with_error() {
    let (scheme, params) = parse_challenge(
        r#"Bearer realm="api", error="invalid_token", error_description="token expired""#,
    )
    .unwrap();
    assert_eq!(scheme, "Bearer");
    assert_eq!(
        params,
        p(&[
            ("realm", "api"),
            ("error", "invalid_token"),
            ("error_description", "token expired")
        ])
    );
}

#[test]
fn challenge_basic_with_charset() {
    let (scheme, params) = parse_challenge(r#"Basic realm="api", charset="UTF-8""#).unwrap();
    assert_eq!(scheme, "Basic");
    assert_eq!(params, p(&[("realm", "api"), ("charset", "UTF-8")]));
    assert_eq!(param(&params, "CHARSET"), Some("UTF-8"));
}

#[test]
fn challenge_accepts_valid_forms() {
    assert_eq!(
        parse_challenge("Bearer").unwrap(),
        ("Bearer".into(), vec![])
    );
    assert_eq!(
        parse_challenge("Bearer realm=api").unwrap().1,
        p(&[("realm", "api")])
    );
    let (_, full) = parse_challenge_full(r#"Bearer realm=api,scope="a b""#).unwrap();
    assert!(!full[0].quoted);
    assert!(full[1].quoted);
    assert_eq!(full[1].value, "a b");
    assert_eq!(
        parse_challenge(r#"Bearer realm="a \"q\" \\ b""#).unwrap().1,
        p(&[("realm", r#"a "q" \ b"#)])
    );
    assert_eq!(
        parse_challenge(r#"Bearer  realm="",x=y"#).unwrap().1,
        p(&[("realm", ""), ("x", "y")])
    );
    assert_eq!(
        parse_challenge("Bearer realm=\"caf\u{e9}\"").unwrap().1,
        p(&[("realm", "caf\u{e9}")])
    );
}

#[test]
fn challenge_rejects_malformed() {
    for bad in [
        r#"Bearer realm=api""#,
        r#"Bearer realm="api"#,
        r#"Bearer realm"#,
        r#"Bearer realm="api", error"#,
        r#"Bearer realm = "api""#,
        r#"Bearer realm= "api""#,
        r#"Bearer realm ="api""#,
        r#"Bearer realm="api",, error="x""#,
        r#"Bearer realm="api","#,
        r#"Bearer , realm="api""#,
        r#"Bear(er realm="api""#,
        r#"Bearer re@lm="api""#,
        r#"Bearer realm="api" error="x""#,
        r#"Bearer realm="api", Basic realm="api""#,
        r#"Bearer realm="a", REALM="b""#,
        "Bearer realm=\"a\x01b\"",
        "Bearer realm=\"a\\\x01\"",
        r#"Bearer realm="a\"#,
        r#" Bearer realm="api""#,
        r#"Bearer realm="api" "#,
        "Bearer\trealm=\"api\"",
        "Bearer abc==",
        "",
        r#"realm="api""#,
    ] {
        assert!(parse_challenge(bad).is_err(), "accepted {bad:?}");
    }
}

// ---------------------------------------------------------------------------
// assert_no_secret
// ---------------------------------------------------------------------------

fn panic_message(f: impl FnOnce()) -> Option<String> {
    let err = catch_unwind(AssertUnwindSafe(f)).err()?;
    Some(
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

#[test]
fn no_secret_passes_clean_text() {
    assert_no_secret(
        "token expired 125 s ago (leeway 30 s)",
        &["s3cr3t-p@ss word", "eyJhbGciOi.xyz.abc"],
    );
    assert_no_secret("anything", &[""]);
}

#[test]
fn no_secret_finds_every_form() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let secret = "s3cr3t-p@ss word/+?\u{e9}\"";
    let cases = [
        ("raw", format!("x {secret} y")),
        ("base64", STANDARD.encode(secret)),
        ("base64url (no padding)", URL_SAFE_NO_PAD.encode(secret)),
        (
            "base64 (embedded)",
            STANDARD.encode(format!("alice:{secret}")),
        ),
        ("base64 (embedded)", STANDARD.encode(format!("al:{secret}"))),
        ("base64 (embedded)", STANDARD.encode(format!("a:{secret}"))),
        (
            "percent-encoded",
            "s3cr3t-p%40ss%20word%2F%2B%3F%C3%A9%22".to_string(),
        ),
        (
            "form-urlencoded",
            "s3cr3t-p%40ss+word%2F%2B%3F%C3%A9%22".to_string(),
        ),
        (
            "JSON-escaped",
            serde_json::to_string(&json!({ "f": secret })).unwrap(),
        ),
        (
            "Debug of bytes",
            format!("{:?}", secret.as_bytes().to_vec()),
        ),
        (
            "hex",
            secret
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        ),
    ];
    for (form, haystack) in cases {
        let msg = panic_message(|| assert_no_secret(&haystack, &["unrelated", secret]))
            .unwrap_or_else(|| panic!("{form} form not detected"));
        assert!(msg.contains("secret #1"), "{msg}");
        // Several forms can match one haystack (base64 with and without
        // padding, …); the first match is reported, so compare the family.
        let family = form.split(' ').next().unwrap().trim_end_matches("url");
        assert!(msg.contains(family), "expected a {family} form: {msg}");
        assert!(!msg.contains("s3cr3t"), "panic message leaks the secret");
    }
}

// ---------------------------------------------------------------------------
// Event capture
// ---------------------------------------------------------------------------

#[test]
fn capture_collects_json_events_with_fields_and_span() {
    let (cap, _guard) = capture();
    let span = tracing::info_span!("request", http.route = "/x");
    let _entered = span.enter();
    tracing::event!(
        target: "authgate",
        tracing::Level::INFO,
        auth.outcome = "unauthenticated",
        auth.reason = "token_expired",
        http.response.status_code = 401_u16,
        auth.skew_secs = -5_i64,
        "authentication failed"
    );
    tracing::trace!(target: "other", "noise");
    tracing::debug!(target: "authgate::inner", "not the authgate target");

    let events = cap.events();
    assert_eq!(events.len(), 3);
    let ev = cap.one_authgate_event();
    assert_eq!(ev["level"], "INFO");
    assert_eq!(ev["target"], "authgate");
    let f = fields(&ev);
    assert_eq!(f["message"], "authentication failed");
    assert_eq!(f["auth.outcome"], "unauthenticated");
    assert_eq!(f["auth.reason"], "token_expired");
    assert_eq!(f["http.response.status_code"], 401);
    assert!(f["http.response.status_code"].is_u64());
    assert_eq!(f["auth.skew_secs"], -5);
    assert_eq!(ev["span"]["name"], "request");
    assert_eq!(ev["span"]["http.route"], "/x");
    assert!(cap.raw().contains("noise"));
    cap.clear();
    assert!(cap.events().is_empty());
}

#[test]
fn capture_is_per_thread() {
    let (cap, _guard) = capture();
    on_other_thread(|| tracing::info!(target: "authgate", "elsewhere"));
    assert!(cap.authgate_events().is_empty());
}

// ---------------------------------------------------------------------------
// Servers and client
// ---------------------------------------------------------------------------

/// Echoes every Authorization field (as lossy-decoded text and raw bytes) and
/// emits an authgate-target event from inside the request.
async fn echo(headers: http::HeaderMap) -> axum::Json<serde_json::Value> {
    tracing::event!(
        target: "authgate",
        tracing::Level::INFO,
        auth.reason = "probe",
        "authentication failed"
    );
    let values: Vec<serde_json::Value> = headers
        .get_all("authorization")
        .iter()
        .map(|v| json!(v.as_bytes()))
        .collect();
    axum::Json(json!({ "authorization": values }))
}

fn echo_app() -> Router {
    Router::new().route("/echo", get(echo))
}

#[tokio::test]
async fn axum_server_on_current_thread_captures_events_and_raw_headers() {
    let (cap, _guard) = capture();
    let addr = serve(echo_app()).await;
    assert!(addr.ip().is_loopback());
    let resp = common::get(
        addr,
        "/echo?x=1",
        &[
            ("authorization", b"Bearer a.b.c"),
            ("Authorization", b"Basic \xe9\xff obs-text"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(
        body["authorization"],
        json!([
            b"Bearer a.b.c".to_vec(),
            b"Basic \xe9\xff obs-text".to_vec()
        ])
    );
    let ev = cap.one_authgate_event();
    assert_eq!(fields(&ev)["auth.reason"], "probe");
}

#[tokio::test]
async fn capture_installed_after_serve_still_works_on_current_thread() {
    let addr = serve(echo_app()).await;
    let (cap, _guard) = capture();
    let resp = common::get(addr, "/echo", &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(cap.authgate_events().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_server_on_multi_thread_runtime_propagates_capture() {
    let (cap, _guard) = capture();
    let addr = serve(echo_app()).await;
    for _ in 0..4 {
        assert_eq!(common::get(addr, "/echo", &[]).await.status, 200);
    }
    assert_eq!(cap.authgate_events().len(), 4);
}

#[derive(Clone)]
struct Challenger;

impl tower::Service<http::Request<hyper::body::Incoming>> for Challenger {
    type Response = http::Response<http_body_util::Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<hyper::body::Incoming>) -> Self::Future {
        tracing::event!(
            target: "authgate",
            tracing::Level::WARN,
            url.path = req.uri().path(),
            "authentication failed"
        );
        let resp = http::Response::builder()
            .status(401)
            .header("www-authenticate", r#"Bearer realm="api""#)
            .header("www-authenticate", r#"Basic realm="api", charset="UTF-8""#)
            .header("content-type", "application/problem+json")
            .body(http_body_util::Full::new(Bytes::from_static(
                br#"{"status":401,"reason":"missing_credentials"}"#,
            )))
            .unwrap();
        std::future::ready(Ok(resp))
    }
}

#[tokio::test]
async fn hyper_server_and_challenges() {
    let (cap, _guard) = capture();
    let addr = serve_hyper(Challenger).await;
    let resp = common::get(addr, "/p?q=s", &[]).await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.www_authenticate(),
        vec![
            r#"Bearer realm="api""#.to_string(),
            r#"Basic realm="api", charset="UTF-8""#.to_string()
        ]
    );
    let ch = resp.challenges();
    assert_eq!(ch[0].0, "Bearer");
    assert_eq!(param(&ch[1].1, "charset"), Some("UTF-8"));
    assert_eq!(resp.json()["reason"], "missing_credentials");
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let ev = cap.one_authgate_event();
    assert_eq!(ev["level"], "WARN");
    assert_eq!(fields(&ev)["url.path"], "/p");
    assert_no_secret(&resp.dump(), &["q=s-never-there"]);
}

#[tokio::test]
async fn request_sends_other_methods_and_helpers_build_headers() {
    let app = Router::new().route(
        "/m",
        axum::routing::any(|m: http::Method, h: http::HeaderMap| async move {
            let auth = h
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned());
            format!("{m} {}", auth.unwrap_or_default())
        }),
    );
    let addr = serve(app).await;
    let pairs = [basic("alice", "pw:1")];
    let resp = request(
        addr,
        http::Method::OPTIONS,
        "/m",
        &hdrs(&pairs),
        Bytes::new(),
    )
    .await;
    assert_eq!(resp.text(), "OPTIONS Basic YWxpY2U6cHc6MQ==");
    let pairs = [bearer("a.b.c")];
    let resp = common::get(addr, "/m", &hdrs(&pairs)).await;
    assert_eq!(resp.text(), "GET Bearer a.b.c");
    // The scanner sees the password inside the Basic credentials' base64.
    let basic_header = String::from_utf8(basic("alice", "hunter2-password").1).unwrap();
    assert!(panic_message(|| assert_no_secret(&basic_header, &["hunter2-password"])).is_some());
}
