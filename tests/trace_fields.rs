//! The request span of `authgate::trace::request_span` through a real server on
//! 127.0.0.1: OpenTelemetry semantic-convention fields (`http.request.method`
//! with `_OTHER` for an unknown method, `url.path`, `error.type` set to the
//! reason on a rejection, `http.response.status_code`), and `enduser.id` only
//! when the application opts in.

mod common;
mod configd;

use axum::Router;
use common::{bearer, serve};
use configd::Variant;
use serde_json::Value;

fn traced(optin: bool) -> Router {
    let cfg = configd::builder(Variant::D)
        .record_enduser_id(optin)
        .build()
        .expect("config D");
    configd::app_with(cfg, false).layer(
        tower_http::trace::TraceLayer::new_for_http().make_span_with(authgate::trace::request_span),
    )
}

/// The request span as the last event of `target` inside it saw it.
fn span_of(cap: &common::Captured, target: &str) -> Value {
    cap.events()
        .iter()
        .rev()
        .filter(|e| e["target"] == target)
        .find_map(|e| e["span"].as_object().cloned())
        .map(Value::Object)
        .unwrap_or_else(|| panic!("no {target} event in a span: {}", cap.raw()))
}

#[tokio::test]
async fn a_rejection_sets_error_type_and_the_status_on_the_request_span() {
    let (cap, _g) = common::capture();
    let addr = serve(traced(false)).await;

    let r = common::get(addr, "/api/whoami?access_token=x", &[]).await;
    assert_eq!(r.status, 401);
    let span = span_of(&cap, "authgate");
    assert_eq!(span["name"], "HTTP request", "{span}");
    assert_eq!(span["http.request.method"], "GET", "{span}");
    assert_eq!(span["otel.name"], "GET", "{span}");
    assert_eq!(span["url.path"], "/api/whoami", "{span}");
    assert_eq!(span["error.type"], "missing_credentials", "{span}");
    assert_eq!(span["http.response.status_code"], 401, "{span}");
    assert!(span.get("http.request.method_original").is_none(), "{span}");
    cap.clear();

    // An extension method: `_OTHER`, the original kept apart.
    let token = configd::valid();
    let (name, value) = bearer(&token);
    let r = common::request(
        addr,
        http::Method::from_bytes(b"FROBNICATE").unwrap(),
        "/api/whoami",
        &[(name, &value)],
        bytes::Bytes::new(),
    )
    .await;
    assert!(r.status >= 400, "{}", r.status);
    let span = span_of(&cap, "authgate");
    assert_eq!(span["http.request.method"], "_OTHER", "{span}");
    assert_eq!(span["http.request.method_original"], "FROBNICATE", "{span}");
    assert_eq!(span["otel.name"], "HTTP", "{span}");
}

#[tokio::test]
async fn enduser_id_only_when_the_application_opts_in() {
    let token = configd::valid();
    let (name, value) = bearer(&token);
    for optin in [false, true] {
        let (cap, _g) = common::capture();
        let addr = serve(traced(optin)).await;
        let r = common::get(addr, "/api/whoami", &[(name, &value)]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let span = span_of(&cap, "app");
        assert!(span.get("error.type").is_none(), "{span}");
        assert_eq!(span["auth.subject"], "alice", "{span}");
        if optin {
            assert_eq!(span["enduser.id"], "alice", "{span}");
        } else {
            assert!(span.get("enduser.id").is_none(), "{span}");
        }
    }
}

/// `examples/otel.rs` prints its three spans as OpenTelemetry spans on stdout,
/// with the fields the layer recorded.
#[test]
fn the_otel_example_exports_the_fields() {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir
        .join("examples")
        .join(format!("otel{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--example", "otel"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build --example otel");
        assert!(status.success());
    }
    let out = std::process::Command::new(bin)
        .output()
        .expect("run the otel example");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        r#"enduser.id: String(Owned("alice"))"#,
        r#"error.type: String(Owned("missing_credentials"))"#,
        r#"http.request.method: String(Owned("_OTHER"))"#,
        r#"http.response.status_code: I64(401)"#,
        "Kind         : Server",
    ] {
        assert!(stdout.contains(want), "no {want} in {stdout}");
    }
    assert_eq!(stdout.matches("Span #").count(), 3, "{stdout}");
}
