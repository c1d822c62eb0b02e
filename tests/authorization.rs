//! Authorization rows (SECURITY-CASES §2.8, Z-xx), scope claims, custom policies,
//! the `Claims<T>` extractor, `auth.subject` on a request span, and response
//! settings (R-09 realm quoting, problem bodies off), through `oneshot` and a
//! real server.

mod common;
mod configd;

use authgate::{AuthConfig, AuthLayer, Principal};
use axum::Router;
use axum::body::Body;
use configd::*;
use serde_json::{Value, json};

fn scoped(scope: Value) -> String {
    rs(&claims_with(|c| {
        c.insert("scope".into(), scope);
    }))
}

fn authz_cases() -> Vec<Case> {
    let v = valid();
    let expired = rs(&claims_with(|c| {
        c.insert("exp".into(), json!(NOW - 120));
    }));
    let owner = rs(&claims_with(|c| {
        c.insert("sub".into(), json!("owner"));
    }));
    let no_scope = rs(&claims_with(|c| {
        c.remove("scope");
    }));
    let mut weird = Case::bearer("Z-07 required scopes with '\"' and '\\'", &valid_admin())
        .path("/api/weird-scope")
        .forbidden_scope("admin ab", "admin orders:read")
        .verified();
    // The event names the configured scopes as they are; the challenge's
    // `scope` keeps to RFC 6750 §3 characters. (A backslash is doubled in the log.)
    weird.want_required = Some("ad\"min a\\\\b");
    vec![
        Case::bearer("Z-01 orders:read on /api/admin", &v)
            .path("/api/admin")
            .forbidden_scope("admin", "orders:read")
            .verified()
            .hint("the token grants [orders:read]")
            .detail("requires scope admin"),
        Case::bearer("Z-01b no scope claim on /api/admin", &no_scope)
            .path("/api/admin")
            .forbidden_scope("admin", "")
            .verified()
            .hint("grants no scopes"),
        Case::valid_rs("admin scope on /api/admin", &valid_admin())
            .path("/api/admin")
            .scopes(&["admin", "orders:read"]),
        Case::bearer("Z-03 policy refuses alice", &v)
            .path("/api/policy")
            .rej(403, "access_denied")
            .granted("orders:read")
            .verified(),
        Case::valid_rs("Z-03b policy allows owner", &owner)
            .path("/api/policy")
            .subject(Some("owner")),
        Case::bearer("Z-04 expired token on /api/admin", &expired)
            .path("/api/admin")
            .t("token_expired")
            .rs256()
            .verified()
            .skew(120),
        Case::new("Z-04 no token on /api/admin", vec![])
            .path("/api/admin")
            .rej(401, "missing_credentials"),
        Case::auth("Z-04 malformed on /api/policy", "Bearer a b")
            .path("/api/policy")
            .bad_request(),
        Case::valid_rs(
            "Z-05 'admin  orders:read' (2 SP)",
            &scoped(json!("admin  orders:read")),
        )
        .path("/api/admin")
        .scopes(&["admin", "orders:read"]),
        Case::bearer(
            "Z-05 'admin\\torders' (HTAB)",
            &scoped(json!("admin\torders")),
        )
        .path("/api/admin")
        .forbidden_scope("admin", "admin\torders")
        .verified(),
        Case::bearer("Z-05 'Admin' (case)", &scoped(json!("Admin")))
            .path("/api/admin")
            .forbidden_scope("admin", "Admin")
            .verified(),
        Case::bearer(
            "Z-05 scope as an array under 'scope'",
            &scoped(json!(["admin"])),
        )
        .rs256()
        .path("/api/admin")
        .ok()
        .scopes(&["admin"]),
        Case::bearer("Z-05 scope 42 grants nothing", &scoped(json!(42)))
            .path("/api/admin")
            .forbidden_scope("admin", "")
            .verified(),
        Case::valid_rs(
            "Z-06 scp array via scope_claim",
            &rs(&claims_with(|c| {
                c.insert("scp".into(), json!(["admin", "orders:write"]));
            })),
        )
        .variant(Variant::Scp)
        .path("/api/admin")
        .scopes(&["admin", "orders:write"]),
        Case::bearer(
            "Z-06b scp configured, token only has 'scope'",
            &valid_admin(),
        )
        .variant(Variant::Scp)
        .path("/api/admin")
        .forbidden_scope("admin", "")
        .verified(),
        Case::valid_rs(
            "nested realm_access.roles",
            &rs(&claims_with(|c| {
                c.insert("realm_access".into(), json!({ "roles": ["admin", "user"] }));
            })),
        )
        .variant(Variant::RealmRoles)
        .path("/api/admin")
        .scopes(&["admin", "user"]),
        Case::bearer(
            "nested realm_access.roles without admin",
            &rs(&claims_with(|c| {
                c.insert("realm_access".into(), json!({ "roles": ["user"] }));
            })),
        )
        .variant(Variant::RealmRoles)
        .path("/api/admin")
        .forbidden_scope("admin", "user")
        .verified(),
        Case::bearer(
            "realm_access is not an object",
            &rs(&claims_with(|c| {
                c.insert("realm_access".into(), json!("admin"));
            })),
        )
        .variant(Variant::RealmRoles)
        .path("/api/admin")
        .forbidden_scope("admin", "")
        .verified(),
        weird,
        Case::bearer("Claims<T> that does not fit: 500", &v)
            .path("/api/tenant")
            .rej(500, "internal_error")
            .scheme("none")
            .no_token()
            .authenticated_first()
            .detail("Claims<T>"),
    ]
}

#[tokio::test]
async fn authorization_oneshot() {
    run_oneshot(&authz_cases()).await;
}

#[tokio::test]
async fn authorization_wire() {
    run_wire(&authz_cases()).await;
}

// ---------------------------------------------------------------------------
// Claims<T>
// ---------------------------------------------------------------------------

#[tokio::test]
async fn typed_claims_extractor() {
    let token = rs(&claims_with(|c| {
        c.insert("tenant".into(), json!("acme"));
        c.insert("exp".into(), json!(NOW as f64 + 0.25));
    }));
    let app = app(Variant::D);
    let addr = common::serve(app.clone()).await;
    let req = http::Request::builder()
        .uri("/api/tenant")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let one = oneshot(&app, req).await;
    let auth = common::bearer(&token);
    let wire = common::get(addr, "/api/tenant", &common::hdrs(&[auth])).await;
    for resp in [one, wire] {
        assert_eq!(resp.status, 200, "{}", resp.text());
        let body = resp.json();
        assert_eq!(body["sub"], "alice");
        assert_eq!(body["tenant"], "acme");
        assert_eq!(body["exp"], json!(NOW as f64 + 0.25));
    }
}

// ---------------------------------------------------------------------------
// auth.subject on a span that declares it
// ---------------------------------------------------------------------------

fn traced_app() -> Router {
    app(Variant::D).layer(
        tower_http::trace::TraceLayer::new_for_http().make_span_with(
            |req: &http::Request<Body>| {
                tracing::info_span!(
                    "request",
                    url.path = %req.uri().path(),
                    auth.subject = tracing::field::Empty,
                )
            },
        ),
    )
}

fn subject_in_spans(cap: &common::Captured) -> Option<String> {
    cap.events()
        .iter()
        .filter(|e| e["target"] == "app")
        .find_map(|e| {
            e["spans"].as_array()?.iter().find_map(|s| {
                (s["name"] == "request")
                    .then(|| s["auth.subject"].as_str().map(str::to_owned))
                    .flatten()
            })
        })
}

#[tokio::test]
async fn subject_is_recorded_on_a_span_that_declares_it() {
    let (cap, _g) = common::capture();
    let app = traced_app();
    let token = valid();

    let req = http::Request::builder()
        .uri("/api/whoami")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let resp = oneshot(&app, req).await;
    assert_eq!(resp.status, 200);
    assert_eq!(subject_in_spans(&cap).as_deref(), Some("alice"));

    cap.clear();
    let addr = common::serve(app.clone()).await;
    let resp = common::get(
        addr,
        "/api/whoami",
        &common::hdrs(&[common::bearer(&token)]),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(subject_in_spans(&cap).as_deref(), Some("alice"));

    // An API key's subject is its id.
    cap.clear();
    let resp = common::get(
        addr,
        "/api/whoami",
        &common::hdrs(&[common::bearer(API_KEY_CI)]),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(subject_in_spans(&cap).as_deref(), Some("ci-bot"));
}

/// A span without the field is left alone (recording an undeclared field is a
/// no-op, and authgate checks `has_field` first).
#[tokio::test]
async fn spans_without_the_field_are_untouched() {
    let (cap, _g) = common::capture();
    let app = app(Variant::D).layer(
        tower_http::trace::TraceLayer::new_for_http()
            .make_span_with(|_: &http::Request<Body>| tracing::info_span!("plain")),
    );
    let req = http::Request::builder()
        .uri("/api/whoami")
        .header("authorization", format!("Bearer {}", valid()))
        .body(Body::empty())
        .expect("request");
    let resp = oneshot(&app, req).await;
    assert_eq!(resp.status, 200);
    let handler = cap
        .events()
        .into_iter()
        .find(|e| e["target"] == "app")
        .expect("handler event");
    let span = &handler["spans"][0];
    assert_eq!(span["name"], "plain");
    assert!(span.get("auth.subject").is_none(), "{span}");
}

// ---------------------------------------------------------------------------
// Response settings
// ---------------------------------------------------------------------------

/// a realm that would need quoted-pairs is refused at start-up, naming
/// the key; a realm with spaces is emitted quoted.
#[tokio::test]
async fn realm_is_quoted_or_refused() {
    for bad in ["a \"b\" \\c", "", "tab\there", "é"] {
        let err = builder(Variant::D)
            .realm(bad)
            .build()
            .expect_err("realm must be refused");
        assert_eq!(err.key(), "realm", "{bad:?}");
    }
    let cfg = builder(Variant::D)
        .realm("orders api")
        .build()
        .expect("config");
    let app = app_with(cfg, false);
    let req = http::Request::builder()
        .uri("/api/whoami")
        .body(Body::empty())
        .expect("request");
    let resp = oneshot(&app, req).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.www_authenticate(), ["Bearer realm=\"orders api\""]);
    let (scheme, params) = &resp.challenges()[0];
    assert_eq!(scheme, "Bearer");
    assert_eq!(common::param(params, "realm"), Some("orders api"));
}

/// `problem_body(false)`: no body and no Content-Type, but the challenge and
/// `Cache-Control: no-store` stay.
#[tokio::test]
async fn problem_body_off() {
    let cfg: AuthConfig = builder(Variant::D)
        .problem_body(false)
        .build()
        .expect("config");
    let app = app_with(cfg, false);
    let addr = common::serve(app.clone()).await;
    let expired = rs(&claims_with(|c| {
        c.insert("exp".into(), json!(NOW - 120));
    }));
    let plain = valid();
    for (path, token, status) in [
        ("/api/whoami", expired.as_str(), 401),
        ("/api/admin", plain.as_str(), 403),
        ("/api/whoami", "", 401),
    ] {
        let headers = if token.is_empty() {
            vec![]
        } else {
            vec![common::bearer(token)]
        };
        let req = {
            let mut r = http::Request::builder()
                .uri(path)
                .body(Body::empty())
                .expect("request");
            for (n, v) in &headers {
                r.headers_mut()
                    .append(*n, http::HeaderValue::from_bytes(v).expect("value"));
            }
            r
        };
        let one = oneshot(&app, req).await;
        let wire = common::get(addr, path, &common::hdrs(&headers)).await;
        for resp in [one, wire] {
            assert_eq!(resp.status, status, "{path}");
            assert!(resp.body.is_empty(), "{path}: {}", resp.text());
            assert_eq!(resp.header("content-type"), None, "{path}");
            assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
            assert_eq!(resp.challenges().len(), 1, "{path}");
        }
    }
}

/// The rejection rides in the response extensions for outer layers.
#[tokio::test]
async fn rejection_in_response_extensions() {
    use tower::ServiceExt as _;
    let app = app(Variant::D);
    let req = http::Request::builder()
        .uri("/api/whoami")
        .header("authorization", "Bearer")
        .body(Body::empty())
        .expect("request");
    let res = app.oneshot(req).await.expect("infallible");
    let rej = res
        .extensions()
        .get::<authgate::AuthRejection>()
        .expect("AuthRejection in extensions");
    assert_eq!(rej.reason(), authgate::Reason::MalformedCredentials);
    assert!(!rej.detail().is_empty());
}

/// The layer works without axum's Router too: a bare `tower::service_fn`
/// returning the principal from the extensions, through `oneshot`.
#[tokio::test]
async fn principal_in_extensions() {
    use tower::{ServiceBuilder, ServiceExt as _};
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(config(Variant::D)))
        .service_fn(|req: http::Request<Body>| async move {
            let p = req.extensions().get::<Principal>().cloned();
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::from(
                p.and_then(|p| p.subject().map(str::to_owned))
                    .unwrap_or_default(),
            )))
        });
    let req = http::Request::builder()
        .uri("/x")
        .header("authorization", format!("Bearer {}", valid_ed()))
        .body(Body::empty())
        .expect("request");
    let res = svc.oneshot(req).await.expect("infallible");
    assert_eq!(res.status(), 200);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], b"alice");
}
