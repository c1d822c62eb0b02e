//! `cargo run --example quickstart`: an API behind authgate with a generated key,
//! and curl commands that show a valid token, a missing scope, an expired token
//! and one for another audience. Everything is in this file, to copy from.
//!
//! Optional: `--listen ADDR` (default 127.0.0.1:3000, or a free port if taken).

use std::time::{SystemTime, UNIX_EPOCH};

use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, Principal, RequireScopes};
use axum::{Json, Router, routing::get};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// Who issues the tokens, and the audience this API expects in them.
const ISSUER: &str = "https://id.quickstart.example/";
const AUDIENCE: &str = "orders-api";
/// The `kid` of the generated key.
const KID: &str = "quickstart-hs256";

/// `GET /api/whoami` and `GET /api/admin`: who the caller is.
async fn whoami(p: Principal) -> Json<Value> {
    Json(json!({
        "subject": p.subject(),
        "scheme": p.scheme().as_str(),
        "scopes": p.scopes(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // authgate's events go through `tracing`: without a subscriber nothing is
    // logged. `debug` for authgate also shows the quiet 401s (no header at all).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,authgate=debug")),
        )
        // Colours only on a terminal: a pipe or a file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    // A 64-byte HMAC secret from the OS; a real API would read its issuer's keys
    // (`JwtConfig::jwks_url`, `JwtConfig::oidc_issuer`) or a configuration file.
    let mut secret = vec![0u8; 64];
    getrandom::fill(&mut secret).map_err(|e| format!("OS random generator: {e}"))?;
    let cfg = AuthConfig::builder()
        .jwt(
            JwtConfig::new([Algorithm::HS256])
                .key(JwtKey::hmac(&secret).with_kid(KID))
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .required_claims(["exp", "sub"]),
        )
        .build()?;

    let app = Router::new()
        .route("/api/whoami", get(whoami))
        .route(
            "/api/admin",
            get(whoami).layer(RequireScopes::all(["admin"])),
        )
        .layer(AuthLayer::new(cfg))
        // Outside the layer: open to everyone.
        .route("/healthz", get(|| async { "ok" }));

    let mut args = std::env::args().skip(1);
    let wanted = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(addr)) => addr,
        _ => "127.0.0.1:3000".to_owned(),
    };
    let listener = match TcpListener::bind(&wanted).await {
        Ok(l) => l,
        Err(_) => TcpListener::bind("127.0.0.1:0").await?,
    };
    let base = format!("http://{}", listener.local_addr()?);

    let token = |sub: &str, aud: &str, scope: &str, exp_in: i64| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(KID.to_owned());
        let claims = json!({
            "iss": ISSUER, "aud": aud, "sub": sub, "scope": scope,
            "iat": now.min(now + exp_in - 60), "exp": now + exp_in,
        });
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret))
    };
    let commands = [
        (
            "200: a valid token",
            "/api/whoami",
            Some(token("alice", AUDIENCE, "orders:read admin", 3600)?),
        ),
        (
            "200: admin scope granted",
            "/api/admin",
            Some(token("alice", AUDIENCE, "orders:read admin", 3600)?),
        ),
        (
            "403 insufficient_scope: no admin scope",
            "/api/admin",
            Some(token("bob", AUDIENCE, "orders:read", 3600)?),
        ),
        (
            "401 token_expired",
            "/api/whoami",
            Some(token("alice", AUDIENCE, "orders:read", -3600)?),
        ),
        (
            "401 audience_mismatch: a token for another API",
            "/api/whoami",
            Some(token("alice", "billing-api", "orders:read", 3600)?),
        ),
        (
            "401 missing_credentials (the DEBUG event in this terminal)",
            "/api/whoami",
            None,
        ),
    ];
    println!("authgate quickstart: paste these into another terminal\n");
    for (what, path, token) in commands {
        println!("# {what}");
        match token {
            Some(t) => println!("curl -i {base}{path} -H 'Authorization: Bearer {t}'"),
            None => println!("curl -i {base}{path}"),
        }
    }
    println!();
    eprintln!("listening on {base} (Ctrl-C to stop)");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
