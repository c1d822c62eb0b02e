//! authgate's request span exported as OpenTelemetry spans, to stdout (no
//! collector needed): `tracing-opentelemetry` turns each `tracing` span into an
//! OpenTelemetry span, and `opentelemetry-stdout` prints them.
//!
//! ```text
//! cargo run --example otel
//! ```
//!
//! Three requests go through the layer in process: one authenticated (its span
//! carries `enduser.id`, since this configuration opts in), one without
//! credentials (`error.type = missing_credentials`, status 401) and one with an
//! unknown method (`http.request.method = _OTHER`). Swap the stdout exporter for
//! `opentelemetry-otlp` to send them to a collector.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, Principal};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Method, Request, header};
use opentelemetry::trace::TracerProvider as _;
use tower::ServiceExt as _;
use tower_http::trace::TraceLayer;
use tracing_subscriber::layer::SubscriberExt as _;

const SECRET: &[u8] = b"otel-example-secret-0123456789-abcdefghijklmnop";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    let tracer = provider.tracer("authgate-example");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber)?;

    let cfg = AuthConfig::builder()
        .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(SECRET)))
        .record_enduser_id(true)
        .build()?;
    let app = Router::new()
        .route(
            "/api/whoami",
            get(|p: Principal| async move { p.subject().unwrap_or_default().to_owned() }),
        )
        .layer(AuthLayer::new(cfg))
        .layer(TraceLayer::new_for_http().make_span_with(authgate::trace::request_span));

    let exp = SystemTime::now().duration_since(UNIX_EPOCH)? + Duration::from_secs(600);
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({ "sub": "alice", "exp": exp.as_secs() }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )?;
    let requests = [
        Request::get("/api/whoami")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())?,
        Request::get("/api/whoami").body(Body::empty())?,
        Request::builder()
            .method(Method::from_bytes(b"FROBNICATE")?)
            .uri("/api/whoami")
            .body(Body::empty())?,
    ];
    for req in requests {
        let res = app.clone().oneshot(req).await?;
        eprintln!("{}", res.status());
    }
    // Flushes every span to stdout.
    provider.shutdown()?;
    Ok(())
}
