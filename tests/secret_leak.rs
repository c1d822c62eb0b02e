//! SECURITY-CASES §2.10 (L-xx): a varied batch of requests (valid and every
//! invalid kind) through `oneshot` and a real server, capturing every event and
//! span (with recorded fields), every response (headers and body), and the
//! `Debug` / `Display` of the public types; then `common::assert_no_secret` over
//! all of it for every token, signature segment, payload segment, `Authorization`
//! value, HMAC secret, private-key PEM body, API key, Basic password and
//! `access_token` query value.

mod common;
mod configd;

use authgate::{
    Algorithm, ApiKey, AuthConfig, AuthLayer, JwtConfig, JwtKey, RequirePolicy, RequireScopes,
};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{HS_SECRET_STR, Signing, raw_jwt};
use configd::*;
use jsonwebtoken::Algorithm as J;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const BASIC_PASSWORD: &str = "correct-horse-battery-staple-42";
const QUERY_TOKEN: &str = "qtok_5f0c9e2a7b1d4c3e8a6f2b9d0c7e1a3f";
const OTHER_SCHEME_SECRET: &str = "tok_8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a";

/// One request of the batch.
struct Req {
    path: String,
    headers: Vec<(&'static str, Vec<u8>)>,
}

fn req(path: &str, headers: Vec<(&'static str, Vec<u8>)>) -> Req {
    Req {
        path: path.to_owned(),
        headers,
    }
}

/// Every kind of request, and the secrets they carry.
fn batch() -> (Vec<Req>, Vec<String>) {
    let claims_v = Value::Object(claims());
    let payload = claims_v.to_string();
    let rsa2 = common::encoding_key_from_file(J::RS256, "rsa2.pem");
    let mut tokens: Vec<String> = vec![
        valid(),
        valid_admin(),
        valid_es(),
        valid_ed(),
        valid_hs(),
        common::mint(J::RS256, None, &claims_v),
        rs(&claims_with(|c| {
            c.insert("exp".into(), json!(NOW - 120));
        })),
        rs(&claims_with(|c| {
            c.insert("nbf".into(), json!(NOW + 300));
        })),
        rs(&claims_with(|c| {
            c.insert("iat".into(), json!(NOW + 300));
        })),
        rs(&claims_with(|c| {
            c.insert("iss".into(), json!("https://id.staging.example.com/"));
        })),
        rs(&claims_with(|c| {
            c.insert("aud".into(), json!(["billing", "search"]));
        })),
        rs(&claims_with(|c| {
            c.remove("sub");
        })),
        rs(&claims_with(|c| {
            c.insert("exp".into(), json!("tomorrow"));
        })),
        rs(&claims_with(|c| {
            c.insert("jti".into(), json!(REVOKED_JTI));
        })),
        rs(&claims_with(|c| {
            c.insert("sub".into(), json!("owner"));
        })),
        common::mint_with_key(J::RS256, Some("rsa-1"), &claims_v, &rsa2),
        common::mint_with_key(
            J::RS256,
            Some("rsa-1"),
            &claims_with(|c| {
                c.insert("exp".into(), json!(NOW - 120));
            }),
            &rsa2,
        ),
        common::mint(J::RS256, Some("rsa-unknown"), &claims_v),
        common::mint(J::RS384, Some("rsa-1"), &claims_v),
        common::mint(J::RS256, Some("ec-1"), &claims_v),
        raw_jwt(
            r#"{"alg":"HS256","kid":"rsa-1"}"#,
            &payload,
            Signing::Hs256(&pem("rsa.pub.pem")),
        ),
        raw_jwt(
            r#"{"alg":"HS256"}"#,
            &payload,
            Signing::Hs256(&pem("rsa.pub.pem")),
        ),
        raw_jwt(r#"{"alg":"none"}"#, &payload, Signing::Garbage),
        raw_rs(r#"{"alg":"RS256","kid":"rsa-1","crit":["x"]}"#, &payload),
        raw_rs(
            r#"{"alg":"RS256","kid":"rsa-1","typ":"dpop+jwt"}"#,
            &payload,
        ),
        raw_rs(r#"{"alg":"RS256","alg":"none"}"#, &payload),
        raw_rs(RS_HEADER, r#"["not","an","object"]"#),
        raw_rs(RS_HEADER, &payload_prepend(r#""exp":1"#)),
        rs(&claims_with(|c| {
            c.insert("blob".into(), json!("y".repeat(60 * 1024)));
        })),
        rs(&claims_with(|c| {
            c.insert("kid-ish".into(), json!("k".repeat(5000)));
        })),
        format!("{}.{}", "e30", "x".repeat(40)),
        API_KEY_CI.to_owned(),
        API_KEY_REVOKED.to_owned(),
        format!("{}Z", &API_KEY_CI[..API_KEY_CI.len() - 1]),
        "Q".repeat(100 * 1024),
    ];
    let v = valid();
    tokens.push(format!("{v}=="));

    let mut reqs: Vec<Req> = Vec::new();
    for t in &tokens {
        reqs.push(req("/api/whoami", vec![common::bearer(t)]));
    }
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("alice:{BASIC_PASSWORD}"))
    );
    reqs.extend([
        req("/api/admin", vec![common::bearer(&v)]),
        req("/api/admin", vec![common::bearer(&valid_admin())]),
        req("/api/policy", vec![common::bearer(&v)]),
        req("/api/tenant", vec![common::bearer(&v)]),
        req("/api/whoami", vec![common::bearer(&v), common::bearer(&v)]),
        req(
            "/api/whoami",
            vec![common::bearer(&v), ("authorization", basic.clone().into())],
        ),
        req(
            &format!("/api/whoami?access_token={QUERY_TOKEN}"),
            vec![common::bearer(&v)],
        ),
        req(&format!("/api/whoami?access_token={QUERY_TOKEN}"), vec![]),
        req(&format!("/api/whoami?x=1&access_token={v}"), vec![]),
        req("/api/whoami", vec![("authorization", v.clone().into())]),
        req(
            "/api/whoami",
            vec![(
                "authorization",
                format!("Token {OTHER_SCHEME_SECRET}").into(),
            )],
        ),
        req(
            "/api/whoami",
            vec![(
                "authorization",
                format!("{OTHER_SCHEME_SECRET} trailing").into(),
            )],
        ),
        req("/api/whoami", vec![("authorization", basic.clone().into())]),
        req(
            "/api/whoami",
            vec![("proxy-authorization", format!("Bearer {v}").into())],
        ),
        req(
            "/api/whoami",
            vec![(
                "authorization",
                format!("Bearer {} {}", &v[..40], &v[40..]).into(),
            )],
        ),
        req(
            "/api/whoami",
            vec![("authorization", format!("Bearer {v}\u{e9}").into())],
        ),
        req(
            "/api/whoami",
            vec![("authorization", format!("Bearer\t{v}").into())],
        ),
        req(
            "/api/whoami",
            vec![("authorization", format!("Bearer \"{v}\"").into())],
        ),
        req(
            "/api/whoami",
            vec![("authorization", format!("Bearer {v}, Bearer {v}").into())],
        ),
    ]);

    let mut secrets: Vec<String> = Vec::new();
    for t in &tokens {
        secrets.push(t.clone());
        for (i, seg) in t.split('.').enumerate() {
            // Header segments are public knowledge (`eyJhbGciOi…`); payload and
            // signature segments are part of the secret.
            if i > 0 && seg.len() >= 16 {
                secrets.push(seg.to_owned());
            }
        }
    }
    for r in &reqs {
        for (_, value) in &r.headers {
            secrets.push(String::from_utf8_lossy(value).into_owned());
        }
    }
    secrets.extend([
        HS_SECRET_STR.to_owned(),
        API_KEY_CI.to_owned(),
        API_KEY_REVOKED.to_owned(),
        BASIC_PASSWORD.to_owned(),
        QUERY_TOKEN.to_owned(),
        OTHER_SCHEME_SECRET.to_owned(),
    ]);
    for file in ["rsa.pem", "rsa2.pem", "ec.pem", "ec384.pem", "ed.pem"] {
        let text = String::from_utf8(pem(file)).expect("PEM text");
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with("-----")).collect();
        secrets.push(body.concat());
        for line in body {
            if line.len() >= 16 {
                secrets.push(line.to_owned());
            }
        }
    }
    secrets.retain(|s| s.len() >= 12);
    secrets.sort();
    secrets.dedup();
    (reqs, secrets)
}

/// The app of config D behind tower-http's `SetSensitiveRequestHeadersLayer` and
/// a `TraceLayer` whose span records the path, `auth.subject` and the request
/// headers' `Debug` (as a careless app might), plus a handler that logs the
/// headers it sees.
fn leaky_app() -> Router {
    let inner = Router::new()
        .route(
            "/api/whoami",
            get(|headers: http::HeaderMap| async move {
                tracing::info!(target: "app", headers = ?headers, "handler sees");
                "ok"
            }),
        )
        .route(
            "/api/admin",
            get(|| async { "admin" }).layer(RequireScopes::all(["admin"])),
        )
        .route(
            "/api/policy",
            get(|| async { "policy" }).layer(RequirePolicy::new(|req| {
                tracing::info!(target: "app", headers = ?req.headers(), "policy sees");
                false
            })),
        )
        .route(
            "/api/tenant",
            get(|_: authgate::extract::Claims<TenantClaims>| async { "tenant" }),
        )
        .layer(AuthLayer::new(config(Variant::D)));
    inner
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &http::Request<Body>| {
                    tracing::info_span!(
                        "request",
                        url.path = %req.uri().path(),
                        headers = ?req.headers(),
                        auth.subject = tracing::field::Empty,
                    )
                },
            ),
        )
        .layer(
            tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new([
                http::header::AUTHORIZATION,
                http::header::PROXY_AUTHORIZATION,
            ]),
        )
}

fn dump_extensions(res: &http::Response<Body>) -> String {
    format!("{:?}", res.extensions().get::<authgate::AuthRejection>())
}

#[tokio::test]
async fn no_secret_anywhere() {
    let (reqs, secrets) = batch();
    let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let (cap, _g) = common::capture();
    let app = leaky_app();
    let addr = common::serve(app.clone()).await;

    let mut haystack = String::new();
    let mut statuses = std::collections::BTreeMap::new();
    for r in &reqs {
        // oneshot: the response, its extensions' Debug.
        let mut request = http::Request::builder()
            .uri(&r.path)
            .body(Body::empty())
            .expect("request");
        for (n, v) in &r.headers {
            request
                .headers_mut()
                .append(*n, http::HeaderValue::from_bytes(v).expect("value"));
        }
        let res = app.clone().oneshot(request).await.expect("infallible");
        haystack.push_str(&dump_extensions(&res));
        haystack.push_str(&format!("{res:?}"));
        let (parts, body) = res.into_parts();
        let body = http_body_util::BodyExt::collect(body)
            .await
            .expect("body")
            .to_bytes();
        let one = common::Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        };
        haystack.push_str(&one.dump());
        // The wire.
        let wire = common::get(addr, &r.path, &common::hdrs(&r.headers)).await;
        assert_eq!(one.status, wire.status, "{}", r.path);
        haystack.push_str(&wire.dump());
        *statuses.entry(wire.status).or_insert(0) += 1;
    }
    let events = cap.raw();
    haystack.push_str(&events);

    // The batch really is varied, and the capture saw what it should.
    for status in [200, 400, 401, 403, 500] {
        assert!(
            statuses.contains_key(&status),
            "no {status} in {statuses:?}"
        );
    }
    assert!(
        events.contains("\"auth.token_fp\""),
        "no fingerprints captured"
    );
    assert!(
        events.contains("\"auth.subject\":\"alice\""),
        "span field not recorded"
    );
    assert!(events.contains("Sensitive"), "headers Debug not captured");
    let reasons: std::collections::BTreeSet<String> = cap
        .authgate_events()
        .iter()
        .filter_map(|e| e["fields"]["auth.reason"].as_str().map(str::to_owned))
        .collect();
    for r in CORE_REASONS {
        assert!(
            reasons.contains(r),
            "the batch never produced {r}: {reasons:?}"
        );
    }

    // Debug / Display of everything public.
    let cfg = config(Variant::D);
    haystack.push_str(&format!("{cfg:?}"));
    haystack.push_str(&format!("{:?}", builder(Variant::D)));
    haystack.push_str(&format!("{:?}", AuthLayer::new(cfg.clone())));
    haystack.push_str(&format!("{:?}", jwt_d()));
    haystack.push_str(&format!("{:?}", JwtKey::hmac(common::HS_SECRET)));
    haystack.push_str(&format!(
        "{:?}",
        ApiKey::from_key("ci-bot", API_KEY_CI).scopes(["x"])
    ));
    haystack.push_str(&format!("{:?}", RequireScopes::all(["admin"])));
    haystack.push_str(&format!(
        "{:?}",
        authgate::Principal::new(Some("alice".into()), authgate::Scheme::Bearer, vec![])
    ));
    // Configuration errors carrying secrets: a short HMAC secret, a private key
    // where a public one belongs.
    let short = &HS_SECRET_STR[..31];
    let err = AuthConfig::builder()
        .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(short).with_kid("h")))
        .build()
        .expect_err("31-byte secret refused");
    haystack.push_str(&format!("{err} {err:?}"));
    assert!(!err.to_string().contains(short));
    for file in ["rsa.pem", "ec.pem", "ed.pem"] {
        let err = JwtKey::from_pem(pem(file)).expect_err("private key refused");
        haystack.push_str(&format!("{err} {err:?}"));
    }

    common::assert_no_secret(&haystack, &secret_refs);
}

/// L-07: `auth.token_fp` is 12 hex characters of SHA-256, never a prefix of
/// the token; L-04: `url.path` never carries the query.
#[tokio::test]
async fn fingerprints_and_paths() {
    let (cap, _g) = common::capture();
    let app = app(Variant::D);
    for token in [
        valid(),
        rs(&claims_with(|c| {
            c.insert("exp".into(), json!(NOW - 120));
        })),
        "x".repeat(20_000),
        API_KEY_REVOKED.to_owned(),
    ] {
        cap.clear();
        let request = http::Request::builder()
            .uri(format!("/api/whoami?access_token={QUERY_TOKEN}&a=b"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let _ = oneshot(&app, request).await;
        let ev = cap.one_authgate_event();
        assert_eq!(ev["fields"]["url.path"], "/api/whoami");
        assert!(ev["fields"].get("auth.token_fp").is_none());

        cap.clear();
        let request = http::Request::builder()
            .uri("/api/whoami?x=1")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let resp = oneshot(&app, request).await;
        if resp.status == 200 {
            continue;
        }
        let ev = cap.one_authgate_event();
        let fp_field = ev["fields"]["auth.token_fp"]
            .as_str()
            .expect("fp")
            .to_owned();
        assert_eq!(fp_field, fp(&token));
        assert_eq!(fp_field.len(), 12);
        assert!(
            fp_field
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(!token.starts_with(&fp_field));
        assert_eq!(ev["fields"]["url.path"], "/api/whoami");
    }
}

/// A `MakeWriter` into a shared buffer, for the non-JSON formats.
#[derive(Clone, Default)]
struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

/// L-09: CR, LF and ANSI escapes in attacker-controlled values (`kid`, `alg`,
/// a verified `iss`) come out escaped in the human-readable formats too, so
/// they cannot forge log lines.
#[tokio::test]
async fn log_injection_is_escaped_in_text_formats() {
    let payload = Value::Object(claims()).to_string();
    let evil = "x\r\nFAKE-LOG-LINE level=ERROR \u{1b}[31mred\u{1b}[0m";
    let evil_json = serde_json::to_string(evil).expect("json");
    let tokens = [
        raw_rs(&format!(r#"{{"alg":"RS256","kid":{evil_json}}}"#), &payload),
        raw_rs(&format!(r#"{{"alg":{evil_json}}}"#), &payload),
        rs(&claims_with(|c| {
            c.insert("iss".into(), json!(evil));
        })),
        rs(&claims_with(|c| {
            c.insert("aud".into(), json!(evil));
        })),
    ];
    let app = app(Variant::D);
    for format in ["full", "compact", "pretty"] {
        let buf = Buf::default();
        let builder = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(buf.clone());
        let dispatch = match format {
            "full" => tracing::Dispatch::new(builder.finish()),
            "compact" => tracing::Dispatch::new(builder.compact().finish()),
            _ => tracing::Dispatch::new(builder.pretty().finish()),
        };
        let _g = tracing::dispatcher::set_default(&dispatch);
        for t in &tokens {
            let req = http::Request::builder()
                .uri("/api/whoami")
                .header("authorization", format!("Bearer {t}"))
                .body(Body::empty())
                .expect("request");
            let resp = oneshot(&app, req).await;
            assert_eq!(resp.status, 401);
            for c in resp.www_authenticate() {
                assert!(!c.contains('\r') && !c.contains('\n') && !c.contains('\u{1b}'));
            }
        }
        let out = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(
            out.contains("FAKE-LOG-LINE"),
            "{format}: the values were not logged"
        );
        assert!(!out.contains('\r'), "{format}: raw CR in the log");
        assert!(!out.contains('\u{1b}'), "{format}: raw ESC in the log");
        for line in out.lines() {
            assert!(
                !line.trim_start().starts_with("FAKE-LOG-LINE"),
                "{format}: forged line {line:?}"
            );
        }
    }
}
