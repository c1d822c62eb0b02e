//! `AuthLayer::with_rejection_response`: an application's own error envelope for
//! every rejection (the layer's 400/401/503, `RequireScopes`' 403, the axum
//! extractor's 401), with the protocol headers kept, through a real server.

mod common;

use authgate::{
    Algorithm, AuthConfig, AuthLayer, AuthRejection, JwtConfig, JwtKey, Principal, RequireScopes,
};
use axum::Router;
use axum::routing::get;
use http::{Response, header};
use serde_json::json;

const SECRET: &[u8] = b"rejection-response-secret-0123456789abcdef";

fn hs(claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn config() -> AuthConfig {
    AuthConfig::builder()
        .jwt(
            JwtConfig::new([Algorithm::HS256, Algorithm::RS256])
                .key(JwtKey::hmac(SECRET))
                // Nothing listens there: a token for an unknown key waits for the
                // remote set, which cannot be fetched (503).
                .jwks_url("http://127.0.0.1:9/jwks.json")
                .jwks_timeout_secs(1),
        )
        .build()
        .unwrap()
}

fn envelope(r: &AuthRejection) -> Response<String> {
    let body = json!({
        "error": { "code": r.public_reason(), "status": r.status().as_u16(), "message": r.body_text() }
    });
    Response::builder()
        .status(r.status())
        .header(header::CONTENT_TYPE, "application/vnd.example.error+json")
        .body(body.to_string())
        .unwrap()
}

async fn whoami(p: Principal) -> String {
    p.subject().unwrap_or_default().to_owned()
}

async fn maybe(p: Principal) -> String {
    p.subject().unwrap_or_default().to_owned()
}

fn app() -> Router {
    let layer = AuthLayer::new(config()).with_rejection_response(envelope);
    let optional = AuthLayer::optional(config()).with_rejection_response(envelope);
    Router::new()
        .route("/api/whoami", get(whoami))
        .route(
            "/api/admin",
            get(whoami).layer(RequireScopes::all(["admin"])),
        )
        .layer(layer)
        .merge(Router::new().route("/maybe", get(maybe)).layer(optional))
}

#[tokio::test]
async fn every_rejection_gets_the_applications_envelope_and_keeps_the_protocol() {
    let addr = common::serve(app()).await;
    let now = common::now();
    let valid = hs(json!({ "sub": "alice", "exp": now + 600, "scope": "read" }));
    let unknown_key = common::mint(
        jsonwebtoken::Algorithm::RS256,
        Some("not-here"),
        &json!({ "sub": "bob", "exp": now + 600 }),
    );
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "no credentials",
            "/api/whoami",
            vec![],
            401,
            "missing_credentials",
        ),
        (
            "empty Bearer token",
            "/api/whoami",
            b"Bearer ".to_vec(),
            400,
            "malformed_credentials",
        ),
        (
            "expired token",
            "/api/whoami",
            format!("Bearer {}", hs(json!({ "sub": "x", "exp": now - 600 }))).into_bytes(),
            401,
            "token_expired",
        ),
        (
            "scope missing (RequireScopes)",
            "/api/admin",
            format!("Bearer {valid}").into_bytes(),
            403,
            "insufficient_scope",
        ),
        (
            "key set unavailable",
            "/api/whoami",
            format!("Bearer {unknown_key}").into_bytes(),
            503,
            "key_set_unavailable",
        ),
        (
            "extractor behind the optional layer",
            "/maybe",
            vec![],
            401,
            "missing_credentials",
        ),
    ];
    for (name, path, authorization, status, code) in cases {
        let headers: Vec<(&str, &[u8])> = if authorization.is_empty() {
            vec![]
        } else {
            vec![("authorization", authorization.as_slice())]
        };
        let resp = common::get(addr, path, &headers).await;
        assert_eq!(resp.status, status, "{name}: {}", resp.dump());
        assert_eq!(
            resp.header("content-type").as_deref(),
            Some("application/vnd.example.error+json"),
            "{name}"
        );
        let body = resp.json();
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        assert_eq!(body["error"]["status"], status, "{name}: {body}");
        assert!(body.get("reason").is_none(), "{name}: not the default body");
        assert_eq!(
            resp.header("cache-control").as_deref(),
            Some("no-store"),
            "{name}"
        );
        let challenges = resp.www_authenticate();
        match status {
            400 | 401 => {
                assert!(
                    challenges
                        .iter()
                        .any(|c| c.starts_with("Bearer realm=\"api\"")),
                    "{name}: {challenges:?}"
                );
                if status == 400 || code == "token_expired" {
                    assert!(challenges[0].contains("error="), "{name}: {challenges:?}");
                }
            }
            403 => assert!(
                challenges[0].contains("error=\"insufficient_scope\"")
                    && challenges[0].contains("scope=\"admin\""),
                "{name}: {challenges:?}"
            ),
            _ => assert!(challenges.is_empty(), "{name}: {challenges:?}"),
        }
        if status == 503 {
            assert!(resp.header("retry-after").is_some(), "{name}");
        }
        common::assert_no_secret(&resp.dump(), &[&valid, &unknown_key]);
    }
    // A pass is untouched.
    let ok = common::get(
        addr,
        "/api/whoami",
        &[("authorization", format!("Bearer {valid}").as_bytes())],
    )
    .await;
    assert_eq!((ok.status, ok.text()), (200, "alice".to_owned()));
}

/// A renderer that sets a protocol header itself keeps its own value.
#[tokio::test]
async fn a_renderer_may_replace_a_protocol_header_on_purpose() {
    let layer = AuthLayer::new(config()).with_rejection_response(|r: &AuthRejection| {
        Response::builder()
            .status(r.status())
            .header(header::CACHE_CONTROL, "private, max-age=0")
            .body(r.body_text())
            .unwrap()
    });
    let app = Router::new().route("/api/whoami", get(whoami)).layer(layer);
    let addr = common::serve(app).await;
    let resp = common::get(addr, "/api/whoami", &[]).await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.header("cache-control").as_deref(),
        Some("private, max-age=0")
    );
    assert_eq!(
        resp.www_authenticate(),
        vec!["Bearer realm=\"api\"".to_owned()]
    );
    // The renderer's body: the client-safe sentence, not the problem document.
    let text = resp.text();
    assert!(!text.is_empty() && !text.starts_with('{'), "{text}");
}
