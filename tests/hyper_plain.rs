//! The layer on a plain hyper 1 service (no axum `Router`), built with
//! `tower::ServiceBuilder` and served over real connections by
//! `common::serve_hyper`. The body type is `http_body_util::Full<Bytes>`, which
//! implements `From<Bytes>` as the layer requires.

mod common;
mod configd;

use std::convert::Infallible;

use authgate::{
    Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, Principal, RequirePolicy, RequireScopes,
};
use bytes::Bytes;
use configd::*;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tower::ServiceBuilder;

/// The principal from the request extensions, as JSON (or `{"anonymous":true}`).
async fn whoami(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.extensions().get::<Principal>() {
        Some(p) => principal_json(p),
        None => json!({ "anonymous": true }),
    };
    let mut res = Response::new(Full::new(Bytes::from(body.to_string())));
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(res)
}

fn plain_cases() -> Vec<Case> {
    let v = valid();
    let expired = rs(&claims_with(|c| {
        c.insert("exp".into(), json!(NOW - 120));
    }));
    let forged = common::mint_with_key(
        jsonwebtoken::Algorithm::RS256,
        Some("rsa-1"),
        &Value::Object(claims()),
        &common::encoding_key_from_file(jsonwebtoken::Algorithm::RS256, "rsa2.pem"),
    );
    vec![
        Case::valid_rs("valid RS256 → 200 with the principal", &v)
            .subject(Some("alice"))
            .scopes(&["orders:read"]),
        Case::bearer("valid ES256", &valid_es())
            .jwt("ES256", Some("ec-1"))
            .subject(Some("alice")),
        Case::bearer("valid EdDSA", &valid_ed())
            .jwt("EdDSA", Some("ed-1"))
            .subject(Some("alice")),
        Case::bearer("valid HS256", &valid_hs())
            .jwt("HS256", Some("hmac-1"))
            .subject(Some("alice")),
        Case::bearer("valid API key", API_KEY_CI)
            .subject(Some("ci-bot"))
            .scopes(&["orders:read"]),
        Case::auth("OWS around a valid value", format!(" \tBearer {v}\t "))
            .extracted(&v)
            .rs256()
            .subject(Some("alice")),
        Case::new("missing → 401 with challenge", vec![])
            .rej(401, "missing_credentials")
            .no_hint(),
        Case::new("missing, behind a proxy", vec![])
            .header("x-forwarded-for", "198.51.100.1")
            .rej(401, "missing_credentials")
            .hint("proxy"),
        Case::auth("empty header", "")
            .rej(401, "missing_credentials")
            .hint("variable unset"),
        Case::auth("Digest", "Digest x=1")
            .rej(401, "unsupported_scheme")
            .scheme("digest"),
        Case::auth("Bearer alone", "Bearer").bad_request(),
        Case::new("two fields", vec![common::bearer(&v), common::bearer(&v)])
            .rej(400, "multiple_credentials"),
        Case::new("only access_token", vec![])
            .path(&format!("/api/whoami?access_token={v}"))
            .rej(401, "missing_credentials")
            .hint("query tokens"),
        Case::bearer("expired", &expired)
            .t("token_expired")
            .rs256()
            .verified()
            .skew(120),
        Case::bearer("forged", &forged)
            .t("signature_invalid")
            .rs256(),
        Case::bearer("unknown API key", "agk_nope_0000000000000000000000000").t("unknown_api_key"),
    ]
}

#[tokio::test]
async fn plain_hyper_service() {
    let (cap, _g) = common::capture();
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(config(Variant::D)))
        .service_fn(whoami);
    let addr = common::serve_hyper(svc).await;
    run_wire_at(&cap, addr, &plain_cases(), "plain hyper").await;
}

#[tokio::test]
async fn plain_hyper_with_scopes_and_policy() {
    let (cap, _g) = common::capture();
    let admin = ServiceBuilder::new()
        .layer(AuthLayer::new(config(Variant::D)))
        .layer(RequireScopes::all(["admin"]))
        .service_fn(whoami);
    let admin_addr = common::serve_hyper(admin).await;
    let v = valid();
    run_wire_at(
        &cap,
        admin_addr,
        &[
            Case::bearer("orders:read on the admin service", &v)
                .path("/api/admin")
                .forbidden_scope("admin", "orders:read")
                .verified(),
            Case::valid_rs("admin on the admin service", &valid_admin())
                .path("/api/admin")
                .scopes(&["admin", "orders:read"]),
            Case::new("no token on the admin service", vec![])
                .path("/api/admin")
                .rej(401, "missing_credentials"),
        ],
        "plain hyper + RequireScopes",
    )
    .await;

    let policy = ServiceBuilder::new()
        .layer(AuthLayer::new(config(Variant::D)))
        .layer(RequirePolicy::new(|req| req.method() == http::Method::GET))
        .service_fn(whoami);
    let policy_addr = common::serve_hyper(policy).await;
    cap.clear();
    let resp = common::request(
        policy_addr,
        http::Method::DELETE,
        "/api/orders/1",
        &common::hdrs(&[common::bearer(&v)]),
        Bytes::new(),
    )
    .await;
    assert_eq!(resp.status, 403);
    assert!(resp.www_authenticate().is_empty());
    assert_eq!(resp.json()["reason"], "access_denied");
    let ev = cap
        .authgate_events()
        .into_iter()
        .find(|e| e["fields"]["auth.reason"] == "access_denied")
        .expect("access_denied event");
    assert_eq!(ev["fields"]["http.request.method"], "DELETE");
    assert_eq!(ev["fields"]["url.path"], "/api/orders/1");
}

#[tokio::test]
async fn plain_hyper_optional() {
    let (cap, _g) = common::capture();
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::optional(config(Variant::D)))
        .service_fn(whoami);
    let addr = common::serve_hyper(svc).await;
    let resp = common::get(addr, "/", &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["anonymous"], true);
    assert!(cap.authgate_events().is_empty());
    let resp = common::get(addr, "/", &[("authorization", b"Bearer a.b.c")]).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["reason"], "token_malformed");
}

/// With the default clock (no `.clock(...)`), tokens are judged against the
/// real time.
#[tokio::test]
async fn plain_hyper_default_clock() {
    let cfg = AuthConfig::builder()
        .jwt(
            JwtConfig::new([Algorithm::EdDSA])
                .key(JwtKey::from_pem(pem("ed.pub.pem")).expect("ed key"))
                .issuer(ISS)
                .audience(AUD),
        )
        .build()
        .expect("config");
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(cfg))
        .service_fn(whoami);
    let addr = common::serve_hyper(svc).await;
    let now = common::now();
    let token = |exp: u64| {
        common::mint(
            jsonwebtoken::Algorithm::EdDSA,
            None,
            &json!({ "iss": ISS, "aud": AUD, "sub": "bob", "exp": exp, "iat": now }),
        )
    };
    let ok = common::get(
        addr,
        "/",
        &common::hdrs(&[common::bearer(&token(now + 600))]),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["subject"], "bob");
    let old = common::get(
        addr,
        "/",
        &common::hdrs(&[common::bearer(&token(now - 3600))]),
    )
    .await;
    assert_eq!(old.status, 401);
    assert_eq!(old.json()["reason"], "token_expired");
}

/// SPEC §2: request bodies are never read by the auth layer; the inner service
/// gets the body whole, and a rejected request's body is left unread.
#[tokio::test]
async fn request_bodies_pass_through_untouched() {
    use http_body_util::BodyExt as _;
    async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok(Response::new(Full::new(body)))
    }
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(config(Variant::D)))
        .service_fn(echo);
    let addr = common::serve_hyper(svc).await;
    let body = Bytes::from(format!(
        "access_token={}&x={}",
        valid(),
        "y".repeat(100_000)
    ));
    let ok = common::request(
        addr,
        http::Method::POST,
        "/api/orders",
        &common::hdrs(&[
            common::bearer(&valid()),
            (
                "content-type",
                b"application/x-www-form-urlencoded".to_vec(),
            ),
        ]),
        body.clone(),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, body, "the inner service got the whole body");
    let rejected = common::request(addr, http::Method::POST, "/api/orders", &[], body).await;
    assert_eq!(rejected.status, 401);
    assert_eq!(rejected.json()["reason"], "missing_credentials");
}
