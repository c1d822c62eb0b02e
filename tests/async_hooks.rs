//! The asynchronous hooks: a revocation check and a route policy that await real
//! I/O-like work (`tokio::time::sleep`) without blocking the executor, through a
//! real server.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authgate::{
    Algorithm, ApiKey, AuthConfig, AuthLayer, JwtConfig, JwtKey, Principal, RequirePolicy,
};
use axum::Router;
use axum::routing::get;
use serde_json::json;
use sha2::Digest as _;

const SECRET: &[u8] = b"async-hooks-secret-0123456789abcdef-0123456789";
const API_KEY: &str = "agk_live_0123456789abcdefghijklmnopqrstuv";

fn hs(sub: &str, jti: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": sub, "jti": jti, "exp": common::now() + 600 }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

async fn whoami(p: Principal) -> String {
    p.subject().unwrap_or_default().to_owned()
}

/// A revocation list and a membership table "in a database": each lookup
/// sleeps, as a network round trip would.
fn app(lookups: Arc<AtomicUsize>) -> Router {
    let counted = Arc::clone(&lookups);
    let digest = hex(&sha2::Sha256::digest(API_KEY.as_bytes()));
    let cfg = AuthConfig::builder()
        .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(SECRET)))
        .api_key(ApiKey::from_sha256_hex("ci-bot", &digest).unwrap())
        .revocation_async(move |id: &str| {
            let id = id.to_owned();
            let counted = Arc::clone(&counted);
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                counted.fetch_add(1, Ordering::SeqCst);
                id == "stolen-1" || id == "ci-bot"
            }
        })
        .build()
        .unwrap();
    let members = RequirePolicy::new_async(|req| {
        let user = req.principal().subject().map(str::to_owned);
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            user.as_deref() == Some("alice")
        }
    });
    Router::new()
        .route("/api/whoami", get(whoami))
        .route("/api/members", get(whoami).layer(members))
        .layer(AuthLayer::new(cfg))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn an_async_revocation_check_and_an_async_policy_decide_after_awaiting() {
    let (cap, _guard) = common::capture();
    let lookups = Arc::new(AtomicUsize::new(0));
    let addr = common::serve(app(Arc::clone(&lookups))).await;
    let get = |path: &'static str, token: String| async move {
        common::get(
            addr,
            path,
            &[("authorization", format!("Bearer {token}").as_bytes())],
        )
        .await
    };

    let alice = hs("alice", "fine-1");
    let ok = get("/api/whoami", alice.clone()).await;
    assert_eq!((ok.status, ok.text()), (200, "alice".to_owned()));

    let stolen = hs("mallory", "stolen-1");
    let revoked = get("/api/whoami", stolen.clone()).await;
    assert_eq!(revoked.status, 401, "{}", revoked.dump());
    assert_eq!(revoked.json()["reason"], "token_revoked");
    assert!(revoked.www_authenticate()[0].contains("error=\"invalid_token\""));

    let api = get("/api/whoami", API_KEY.to_owned()).await;
    assert_eq!(api.status, 401, "{}", api.dump());
    assert_eq!(api.json()["reason"], "token_revoked");

    let member = get("/api/members", alice.clone()).await;
    assert_eq!((member.status, member.text()), (200, "alice".to_owned()));
    let bob = get("/api/members", hs("bob", "fine-2")).await;
    assert_eq!(bob.status, 403, "{}", bob.dump());
    assert_eq!(bob.json()["reason"], "access_denied");

    // Every Bearer request went through the asynchronous check.
    assert_eq!(lookups.load(Ordering::SeqCst), 5);

    let events = cap.authgate_events();
    let rejection = |reason: &str| {
        events
            .iter()
            .filter(|e| common::fields(e)["auth.reason"] == reason)
            .cloned()
            .collect::<Vec<_>>()
    };
    let revoked_events = rejection("token_revoked");
    assert_eq!(revoked_events.len(), 2, "{revoked_events:?}");
    let jwt = common::fields(&revoked_events[0]);
    assert_eq!(jwt["auth.detail"], "the token's id (jti) is revoked");
    assert_eq!(jwt["jwt.alg"], "HS256");
    assert_eq!(jwt["jwt.sub"], "mallory");
    assert_eq!(jwt["auth.token_fp"].as_str().map(str::len), Some(12));
    let key = common::fields(&revoked_events[1]);
    assert_eq!(key["auth.key_id"], "ci-bot");
    let denied = rejection("access_denied");
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(common::fields(&denied[0])["jwt.sub"], "bob");
    common::assert_no_secret(&cap.raw(), &[&alice, &stolen, API_KEY]);
}
