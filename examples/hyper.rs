//! authgate on a plain hyper 1 service, without axum.
//!
//! `cargo run --example hyper` prints a token and serves on 127.0.0.1:3001.

use std::convert::Infallible;

use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, Principal};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let who = req
        .extensions()
        .get::<Principal>()
        .and_then(|p| p.subject().map(str::to_owned))
        .unwrap_or_default();
    Ok(Response::new(Full::from(format!("hello, {who}\n"))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("info,authgate=debug")
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("OS random generator: {e}"))?;
    let cfg = AuthConfig::builder()
        .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(&secret)))
        .build()?;

    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        + 3600;
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({ "sub": "alice", "exp": exp }),
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )?;

    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(cfg))
        .service_fn(handle);

    let listener = TcpListener::bind("127.0.0.1:3001").await?;
    let addr = listener.local_addr()?;
    println!("curl -i http://{addr}/ -H 'Authorization: Bearer {token}'");
    eprintln!("listening on http://{addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        let svc = TowerToHyperService::new(svc.clone());
        tokio::spawn(async move {
            // Headers must arrive within 10 s; the timer also runs while a
            // keep-alive connection waits for its next request, so idle
            // connections are closed too.
            if let Err(e) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!("connection error: {e}");
            }
        });
    }
}
