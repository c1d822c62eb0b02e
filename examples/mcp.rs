//! An MCP server (the official Rust SDK, `rmcp`, Streamable HTTP) behind authgate:
//!
//! ```text
//! cargo run --example mcp -- --config FILE [--listen 127.0.0.1:8090]
//! ```
//!
//! The configuration needs `[resource]` (RFC 9728) and Bearer JWTs. A client
//! without a token gets 401 with `resource_metadata="…"` in the challenge; that
//! document (served at `/.well-known/oauth-protected-resource/mcp`, no token
//! needed) names the authorization servers to get a token from, for the
//! resource identifier as audience. The first line on stderr is
//! `listening on http://HOST:PORT`.

#[path = "support/mcp_app.rs"]
mod mcp_app;

use std::process::ExitCode;

use authgate::AuthConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut config, mut listen) = (None, "127.0.0.1:8090".to_owned());
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--config", Some(v)) => config = Some(v),
            ("--listen", Some(v)) => listen = v,
            _ => {
                eprintln!("usage: mcp --config FILE [--listen ADDR]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(config) = config else {
        eprintln!("usage: mcp --config FILE [--listen ADDR]");
        return ExitCode::from(2);
    };
    let cfg = match AuthConfig::from_toml_file(&config) {
        Ok(cfg) if cfg.resource().is_some() => cfg,
        Ok(_) => {
            eprintln!(
                "configuration error: resource: an MCP server needs [resource] (id, authorization_servers)"
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("configuration error: {}", e.to_string().replace('\n', " "));
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,authgate=debug".into()),
        )
        .init();
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    match listener.local_addr() {
        Ok(addr) => eprintln!("listening on http://{addr}"),
        Err(e) => {
            eprintln!("cannot read the listening address: {e}");
            return ExitCode::from(2);
        }
    }
    let app = mcp_app::router(cfg);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
