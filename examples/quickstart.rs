//! `cargo run --example quickstart`: a server with a generated key, and curl
//! commands that show a valid token, an expired one and one for another audience.
//!
//! Optional: `--listen ADDR` (default 127.0.0.1:3000, or a free port if taken).

#[path = "support/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "support/quickstart.rs"]
mod quickstart;

use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,authgate=debug")),
        )
        // Colours only on a terminal: a pipe or a file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    let mut args = std::env::args().skip(1);
    let wanted = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(addr)) => addr,
        _ => "127.0.0.1:3000".to_owned(),
    };
    let listener = match TcpListener::bind(&wanted).await {
        Ok(l) => l,
        Err(_) => TcpListener::bind("127.0.0.1:0").await?,
    };
    let addr = listener.local_addr()?;

    let demo = quickstart::Demo::generate()?;
    let app = app::router(demo.cfg.clone());
    demo.print_commands(&format!("http://{addr}"), &mut std::io::stdout())?;
    eprintln!("listening on http://{addr} (Ctrl-C to stop)");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
