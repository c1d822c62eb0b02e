//! Step-up authentication (RFC 9470) through a real server: `acr` missing, wrong
//! and right; `auth_time` absent, too old, in the future and fresh; the 401
//! `insufficient_user_authentication` challenge parsed strictly; the event fields.

mod common;

use std::time::Duration;

use authgate::{AuthConfig, AuthLayer, JwtConfig, JwtKey, Principal, RequireAuthContext};
use axum::Router;
use axum::routing::get as route_get;
use common::*;
use jsonwebtoken::Algorithm as Jwa;
use serde_json::{Value, json};

const MFA: &str = "urn:example:mfa";

fn app() -> Router {
    let cfg = AuthConfig::builder()
        .jwt(JwtConfig::new([authgate::Algorithm::HS256]).key(JwtKey::hmac(HS_SECRET)))
        .build()
        .unwrap();
    let who = |p: Principal| async move {
        format!(
            "{} {} {}",
            p.subject().unwrap_or_default(),
            p.acr().unwrap_or("-"),
            p.auth_time().map_or("-".to_owned(), |t| t.to_string())
        )
    };
    Router::new()
        .route(
            "/step-up",
            route_get(who).layer(
                RequireAuthContext::acr([MFA, "urn:example:hwk"]).max_age(Duration::from_secs(300)),
            ),
        )
        .route(
            "/acr-only",
            route_get(who).layer(RequireAuthContext::acr([MFA])),
        )
        .route(
            "/fresh-only",
            route_get(who).layer(RequireAuthContext::max_age(Duration::from_secs(60))),
        )
        .layer(AuthLayer::new(cfg))
}

fn token(extra: Value) -> String {
    let mut claims = json!({ "sub": "alice", "exp": now() + 600 });
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    mint(Jwa::HS256, None, &claims)
}

/// The 401 of a step-up, with the strictly parsed challenge and the event.
struct StepUp {
    params: Vec<ChallengeParam>,
    event: Value,
}

async fn refused(addr: std::net::SocketAddr, cap: &Captured, path: &str, extra: Value) -> StepUp {
    cap.clear();
    let resp = get(addr, path, &hdrs(&[bearer(&token(extra.clone()))])).await;
    assert_eq!(resp.status, 401, "{extra}: {}", resp.text());
    assert_eq!(resp.json()["reason"], "insufficient_user_authentication");
    let values = resp.www_authenticate();
    assert_eq!(values.len(), 1, "{values:?}");
    let (scheme, params) = parse_challenge_full(&values[0])
        .unwrap_or_else(|e| panic!("malformed challenge {:?}: {e}", values[0]));
    assert_eq!(scheme, "Bearer");
    // RFC 9470 §3 shows every value quoted.
    assert!(params.iter().all(|p| p.quoted), "{params:?}");
    let by = |n: &str| params.iter().find(|p| p.name == n).map(|p| p.value.clone());
    assert_eq!(by("realm").as_deref(), Some("api"));
    assert_eq!(
        by("error").as_deref(),
        Some("insufficient_user_authentication")
    );
    assert!(by("error_description").is_some());
    // The layer's DEBUG `authenticated` event comes first; then the route's.
    let mut events: Vec<Value> = cap
        .authgate_events()
        .into_iter()
        .filter(|e| fields(e)["message"] != "authenticated")
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = events.remove(0);
    let f = fields(&event);
    assert_eq!(f["auth.reason"], "insufficient_user_authentication");
    assert_eq!(f["http.response.status_code"], 401);
    assert_eq!(f["auth.outcome"], "unauthenticated");
    assert_eq!(event["level"], "INFO");
    StepUp { params, event }
}

fn param_names(s: &StepUp) -> Vec<&str> {
    s.params.iter().map(|p| p.name.as_str()).collect()
}

fn value<'a>(s: &'a StepUp, name: &str) -> Option<&'a str> {
    s.params
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.value.as_str())
}

#[tokio::test]
async fn acr_missing_wrong_right() {
    let (cap, _guard) = capture();
    let addr = serve(app()).await;
    let fresh = now() - 10;

    let missing = refused(addr, &cap, "/step-up", json!({ "auth_time": fresh })).await;
    assert_eq!(
        param_names(&missing),
        [
            "realm",
            "error",
            "error_description",
            "acr_values",
            "max_age"
        ]
    );
    assert_eq!(
        value(&missing, "acr_values"),
        Some("urn:example:mfa urn:example:hwk")
    );
    assert_eq!(value(&missing, "max_age"), Some("300"));
    let f = fields(&missing.event);
    assert_eq!(f["auth.required_acr"], "urn:example:mfa urn:example:hwk");
    assert!(f.get("auth.token_acr").is_none(), "{f}");
    assert!(f["auth.detail"].as_str().unwrap().contains("no acr claim"));
    assert!(
        f["auth.hint"]
            .as_str()
            .unwrap()
            .contains("acr_values=urn:example:mfa")
    );

    let wrong = refused(
        addr,
        &cap,
        "/step-up",
        json!({ "acr": "urn:example:pwd", "auth_time": fresh }),
    )
    .await;
    let f = fields(&wrong.event);
    assert_eq!(f["auth.token_acr"], "urn:example:pwd");
    assert_eq!(f["auth.auth_age_secs"].as_i64().unwrap(), 10, "{f}");
    assert!(
        f["auth.detail"]
            .as_str()
            .unwrap()
            .contains("not one this route accepts")
    );

    // acr values are compared exactly.
    refused(addr, &cap, "/acr-only", json!({ "acr": "URN:EXAMPLE:MFA" })).await;
    let acr_only = refused(
        addr,
        &cap,
        "/acr-only",
        json!({ "acr": ["urn:example:mfa"] }),
    )
    .await;
    // Without max_age the challenge has none.
    assert_eq!(
        param_names(&acr_only),
        ["realm", "error", "error_description", "acr_values"]
    );

    for acr in [MFA, "urn:example:hwk"] {
        let resp = get(
            addr,
            "/step-up",
            &hdrs(&[bearer(&token(json!({ "acr": acr, "auth_time": fresh })))]),
        )
        .await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.text(), format!("alice {acr} {fresh}"));
    }
    let resp = get(
        addr,
        "/acr-only",
        &hdrs(&[bearer(&token(json!({ "acr": MFA })))]),
    )
    .await;
    assert_eq!(
        resp.status,
        200,
        "max_age not required there: {}",
        resp.text()
    );
}

#[tokio::test]
async fn auth_time_absent_too_old_future_fresh() {
    let (cap, _guard) = capture();
    let addr = serve(app()).await;

    let absent = refused(addr, &cap, "/step-up", json!({ "acr": MFA })).await;
    let f = fields(&absent.event);
    assert!(
        f["auth.detail"].as_str().unwrap().contains("no auth_time"),
        "{f}"
    );
    assert!(f.get("auth.auth_age_secs").is_none());
    assert_eq!(f["auth.token_acr"], MFA);

    let old = refused(
        addr,
        &cap,
        "/step-up",
        json!({ "acr": MFA, "auth_time": now() - 400 }),
    )
    .await;
    let f = fields(&old.event);
    let age = f["auth.auth_age_secs"].as_i64().unwrap();
    assert!((400..=402).contains(&age), "{f}");
    assert!(
        f["auth.detail"]
            .as_str()
            .unwrap()
            .contains("requires one within the last 300 s")
    );
    assert_eq!(value(&old, "max_age"), Some("300"));

    // A non-numeric auth_time counts as absent.
    refused(
        addr,
        &cap,
        "/fresh-only",
        json!({ "auth_time": "yesterday" }),
    )
    .await;
    let just_over = refused(
        addr,
        &cap,
        "/fresh-only",
        json!({ "auth_time": now() - 62 }),
    )
    .await;
    assert_eq!(
        param_names(&just_over),
        ["realm", "error", "error_description", "max_age"]
    );
    assert_eq!(value(&just_over, "max_age"), Some("60"));
    // Far in the future (beyond the 30 s leeway): refused.
    let future = refused(
        addr,
        &cap,
        "/fresh-only",
        json!({ "auth_time": now() + 3600 }),
    )
    .await;
    assert!(
        fields(&future.event)["auth.detail"]
            .as_str()
            .unwrap()
            .contains("in the future")
    );

    for auth_time in [now() - 5, now() + 5] {
        let resp = get(
            addr,
            "/fresh-only",
            &hdrs(&[bearer(&token(json!({ "auth_time": auth_time })))]),
        )
        .await;
        assert_eq!(resp.status, 200, "{auth_time}: {}", resp.text());
    }
}

#[tokio::test]
async fn other_failures_keep_their_own_answers() {
    let addr = serve(app()).await;
    // No credentials: the plain challenge, no step-up parameters.
    let resp = get(addr, "/step-up", &[]).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.www_authenticate(), [r#"Bearer realm="api""#]);
    assert_eq!(resp.json()["reason"], "missing_credentials");
}
