//! authgate among other Tower middleware: an inner service that is not `Send`
//! (run on one thread, as on a `LocalSet`), on the immediate path and on the path
//! that waits for a password hash; and tower-http's `TraceLayer` and
//! `CompressionLayer` on either side of `AuthLayer`, through a real server.

mod common;

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;

use authgate::{Algorithm, AuthConfig, AuthLayer, BasicConfig, JwtConfig, JwtKey, Principal};
use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer as _, ServiceBuilder, ServiceExt as _};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

const SECRET: &[u8] = b"tower-compat-secret-0123456789abcdef-0123456789";
/// `bcrypt` at cost 4 of "pw-4711" (the minimum cost keeps the test fast).
const USER: &str = "carol";
const PASSWORD: &str = "pw-4711";

fn hs_token(sub: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({ "sub": sub, "exp": common::now() + 600 }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn config() -> AuthConfig {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    AuthConfig::builder()
        .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(SECRET)))
        .basic(
            BasicConfig::new()
                .user(USER, &hash, Vec::<String>::new())
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn basic_value(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// An inner service holding an `Rc`: neither it nor its future is `Send`.
#[tokio::test(flavor = "current_thread")]
async fn a_service_that_is_not_send_works_on_both_paths() {
    let calls = Rc::new(Cell::new(0u32));
    let seen = Rc::clone(&calls);
    let inner = tower::service_fn(move |req: Request<()>| {
        let seen = Rc::clone(&seen);
        async move {
            seen.set(seen.get() + 1);
            let who = req
                .extensions()
                .get::<Principal>()
                .and_then(|p| p.subject().map(str::to_owned))
                .unwrap_or_default();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(who))))
        }
    });
    let svc = AuthLayer::new(config()).layer(inner);

    let bearer = format!("Bearer {}", hs_token("alice"));
    // The immediate path (a JWT), the waiting path (a password hash computed off
    // the executor), and a rejection on each.
    let cases: [(&str, StatusCode, &str); 4] = [
        (&bearer, StatusCode::OK, "alice"),
        (&basic_value(USER, PASSWORD), StatusCode::OK, USER),
        ("Bearer x.y.z", StatusCode::UNAUTHORIZED, ""),
        (&basic_value(USER, "wrong"), StatusCode::UNAUTHORIZED, ""),
    ];
    for (authorization, status, body) in cases {
        let req = Request::get("/")
            .header("authorization", authorization)
            .body(())
            .unwrap();
        let res = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), status, "{authorization}");
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        if status == StatusCode::OK {
            assert_eq!(bytes, body.as_bytes());
        } else {
            assert!(bytes.starts_with(b"{"), "a problem body: {bytes:?}");
        }
    }
    assert_eq!(
        calls.get(),
        2,
        "the inner service ran for the two passes only"
    );
}

const LONG: &str = "authenticated and compressible; ";

async fn handler(p: Principal) -> String {
    format!("{} {}", p.subject().unwrap_or_default(), LONG.repeat(64))
}

/// One router per layer order.
fn routers() -> Vec<(&'static str, Router)> {
    let auth_outside = Router::new().route("/api", get(handler)).layer(
        ServiceBuilder::new()
            .layer(AuthLayer::new(config()))
            .layer(TraceLayer::new_for_http())
            .layer(CompressionLayer::new()),
    );
    let auth_inside = Router::new().route("/api", get(handler)).layer(
        ServiceBuilder::new()
            .layer(TraceLayer::new_for_http())
            .layer(CompressionLayer::new())
            .layer(AuthLayer::new(config())),
    );
    vec![
        ("AuthLayer outside Trace + Compression", auth_outside),
        ("AuthLayer inside Trace + Compression", auth_inside),
    ]
}

#[tokio::test]
async fn trace_and_compression_layers_fit_on_either_side() {
    let token = hs_token("alice");
    for (name, app) in routers() {
        let addr = common::serve(app).await;
        // A pass: the handler's body, gzip-compressed.
        let ok = common::get(
            addr,
            "/api",
            &[
                ("authorization", format!("Bearer {token}").as_bytes()),
                ("accept-encoding", b"gzip"),
            ],
        )
        .await;
        assert_eq!(ok.status, 200, "{name}");
        assert_eq!(
            ok.header("content-encoding").as_deref(),
            Some("gzip"),
            "{name}"
        );
        assert!(ok.body.len() < LONG.len() * 64, "{name}: compressed");
        // The same without compression: the text itself.
        let plain = common::get(
            addr,
            "/api",
            &[("authorization", format!("Bearer {token}").as_bytes())],
        )
        .await;
        assert_eq!(plain.status, 200, "{name}");
        assert!(plain.text().starts_with("alice authenticated"), "{name}");
        // A rejection: the challenge and a problem body, on either side.
        let no = common::get(addr, "/api", &[("authorization", b"Bearer x.y.z")]).await;
        assert_eq!(no.status, 401, "{name}");
        let challenges = no.www_authenticate();
        assert!(
            challenges
                .iter()
                .any(|c| c.starts_with("Bearer ") && c.contains("invalid_token")),
            "{name}: {challenges:?}"
        );
        assert_eq!(
            no.header("cache-control").as_deref(),
            Some("no-store"),
            "{name}"
        );
        assert_eq!(no.json()["reason"], "token_malformed", "{name}");
    }
}

/// Polling the response future again after it completed (a broken `Future`
/// contract on the caller's side) answers an empty 500 instead of panicking, on
/// the immediate path and on the one that waited for a password hash.
#[tokio::test(flavor = "current_thread")]
async fn a_completed_future_polled_again_does_not_panic() {
    use tower::Service as _;
    let inner = tower::service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    let mut svc = AuthLayer::new(config()).layer(inner);
    for authorization in ["Bearer x.y.z".to_owned(), basic_value(USER, "wrong")] {
        let req = Request::get("/")
            .header("authorization", &authorization)
            .body(())
            .unwrap();
        let mut fut = Box::pin(svc.ready().await.unwrap().call(req));
        let first = fut.as_mut().await.unwrap();
        assert_eq!(first.status(), StatusCode::UNAUTHORIZED, "{authorization}");
        let again = fut.as_mut().await.unwrap();
        assert_eq!(
            again.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{authorization}"
        );
    }
}
