//! Interop with a real OpenID Provider (`oidc-provider`, tests/idp/): JWT access
//! tokens it mints for our resource (RFC 9068, RFC 8707), keys found through its
//! discovery document, each of its signing algorithms, its key rotation, and its
//! outage. The layer runs on a real axum server on 127.0.0.1.
//!
//! One provider serves the whole binary; the rotation and outage tests start
//! their own, since they restart or stop it.

mod common;
#[path = "common/idp.rs"]
mod idp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, Principal};
use axum::Router;
use axum::routing::get;
use serde_json::json;

use idp::{BILLING, Idp, ORDERS};

const SCOPES: &str = "orders:read orders:write";

/// A clock the test moves by hand, starting now (the provider's tokens carry
/// real times).
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

/// The layer for `issuer` by discovery, audience [`ORDERS`], on a real server.
async fn server(issuer: &str, tune: impl FnOnce(JwtConfig) -> JwtConfig) -> (SocketAddr, Clock) {
    let clock = Clock(Arc::new(AtomicU64::new(common::now())));
    let c = clock.clone();
    let jwt = JwtConfig::new([
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ])
    .oidc_issuer(issuer)
    .audience(ORDERS)
    .jwks_timeout_secs(2);
    let cfg = AuthConfig::builder()
        .jwt(tune(jwt))
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

#[tokio::test]
async fn each_signing_algorithm_of_the_provider_passes_with_the_principal_and_scopes() {
    let Some(idp) = idp::shared() else { return };
    let (cap, _guard) = common::capture();
    let (addr, _clock) = server(&idp.issuer, |j| j).await;
    for (client, alg) in [
        ("client-rs256", "RS256"),
        ("client-ps256", "PS256"),
        ("client-es256", "ES256"),
        ("client-eddsa", "EdDSA"),
    ] {
        let token = idp.token(client, Some(ORDERS), SCOPES).await;
        let res = call(addr, &token).await;
        assert_eq!(res.status, 200, "{alg}: {}", res.text());
        assert_eq!(
            res.json(),
            json!({ "sub": client, "scopes": ["orders:read", "orders:write"], "client_id": client }),
            "{alg}"
        );
        // The provider signed with that algorithm and the key of that kid.
        let authenticated = cap
            .authgate_events()
            .into_iter()
            .rfind(|e| e["fields"]["message"] == "authenticated")
            .expect("an authenticated event");
        let f = common::fields(&authenticated);
        assert_eq!(f["jwt.kid"], idp.kids[alg], "{alg}: {f}");
        assert_eq!(f["jwt.iss"], idp.issuer.as_str(), "{alg}: {f}");
        common::assert_no_secret(&cap.raw(), &[&token]);
    }
    // A narrower grant: only the scope asked for.
    let token = idp.token("client-es256", Some(ORDERS), "orders:read").await;
    let res = call(addr, &token).await;
    assert_eq!(res.json()["scopes"], json!(["orders:read"]));
}

#[tokio::test]
async fn a_token_the_provider_minted_for_another_resource_is_audience_mismatch() {
    let Some(idp) = idp::shared() else { return };
    let (cap, _guard) = common::capture();
    let (addr, _clock) = server(&idp.issuer, |j| j).await;
    let token = idp
        .token("client-rs256", Some(BILLING), "billing:read")
        .await;
    let res = call(addr, &token).await;
    assert_eq!(reason(&res), (401, "audience_mismatch".to_owned()));
    let ev = cap.one_authgate_event();
    let f = common::fields(&ev);
    assert_eq!(f["auth.expected"], ORDERS, "{f}");
    assert_eq!(f["jwt.aud"], BILLING, "{f}");
}

#[tokio::test]
async fn the_providers_key_rotation_is_picked_up_without_a_restart() {
    let Some(mut first) = Idp::start(None) else {
        return;
    };
    let (cap, _guard) = common::capture();
    let (addr, clock) = server(&first.issuer, |j| j).await;
    let old = first.token("client-es256", Some(ORDERS), SCOPES).await;
    assert_eq!(call(addr, &old).await.status, 200);
    let old_kid = first.kids["ES256"].clone();

    // Rotation: the provider comes back on the same address with new keys only
    // (the old ones are retired, no longer published).
    let port = first.port();
    first.stop();
    let second = Idp::start(Some(port)).expect("restarted");
    assert_eq!(second.issuer, first.issuer);
    assert_ne!(second.kids["ES256"], old_kid);
    let new = second.token("client-es256", Some(ORDERS), SCOPES).await;

    // Past the unknown-kid refetch cooldown, the new key is fetched on demand.
    clock.advance(31);
    let res = call(addr, &new).await;
    assert_eq!(res.status, 200, "{}", res.text());
    for client in ["client-rs256", "client-ps256", "client-eddsa"] {
        let token = second.token(client, Some(ORDERS), SCOPES).await;
        assert_eq!(call(addr, &token).await.status, 200, "{client}");
    }
    // The old token was accepted (and cached) before: its key is gone now.
    cap.clear();
    let res = call(addr, &old).await;
    assert_eq!(reason(&res), (401, "unknown_key".to_owned()));
    let ev = cap
        .authgate_events()
        .into_iter()
        .find(|e| common::fields(e)["auth.reason"] == "unknown_key")
        .expect("an unknown_key event");
    assert_eq!(common::fields(&ev)["jwt.kid"], old_kid);
}

#[tokio::test]
async fn a_stopped_provider_keeps_cached_keys_serving_then_503_when_they_go_stale() {
    let Some(mut idp) = Idp::start(None) else {
        return;
    };
    let (cap, _guard) = common::capture();
    let (addr, clock) = server(&idp.issuer, |j| {
        j.jwks_refresh_secs(60).jwks_stale_secs(120)
    })
    .await;
    let token = idp.token("client-rs256", Some(ORDERS), SCOPES).await;
    assert_eq!(call(addr, &token).await.status, 200);

    idp.stop();
    // Refresh due: it fails in the background; the cached keys keep serving.
    clock.advance(61);
    for _ in 0..3 {
        let res = call(addr, &token).await;
        assert_eq!(res.status, 200, "{}", res.text());
        tokio::time::sleep(Duration::from_millis(100)).await;
        clock.advance(31);
    }
    let warns = cap
        .authgate_events()
        .into_iter()
        .filter(|e| e["level"] == "WARN")
        .count();
    assert_eq!(warns, 1, "one WARN for the failing refreshes");

    // Past the stale window (refresh 60 s + stale 120 s): 503, with Retry-After.
    clock.advance(120);
    let res = call(addr, &token).await;
    assert_eq!(reason(&res), (503, "key_set_unavailable".to_owned()));
    assert!(res.header("retry-after").is_some(), "{}", res.dump());
}
