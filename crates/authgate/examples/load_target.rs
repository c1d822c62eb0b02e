//! The server that `scripts/load.sh` loads over loopback: one tokio
//! worker thread, three routes that differ only in authentication:
//!
//! - `GET /noauth` — no auth layer (the baseline);
//! - `GET /hs256`, `GET /rs256` — authgate, token cache off;
//! - `GET /hs256-cached`, `GET /rs256-cached` — authgate with the default token
//!   cache (every request after the first is a hit).
//!
//! Keys, claims and tokens are those of `benches/support`. It prints
//! `listening on http://ADDR` on stderr, then one `token <ALG> <JWT>` line per
//! algorithm on stdout (bench tokens signed by the test fixture keys, valid for a
//! day), and exits by itself after `--exit-after SECS` (default 300).
//!
//! ```text
//! cargo run --release -p authgate --example load_target -- --listen 127.0.0.1:0
//! ```

#![allow(missing_docs, unreachable_pub)]

#[path = "../benches/support/mod.rs"]
mod support;

use std::io::Write as _;
use std::time::Duration;

use authgate::AuthLayer;
use axum::Router;
use axum::routing::get;
use tower::Layer as _;

use support::{Alg, Path};

async fn ok() -> &'static str {
    "ok"
}

fn app() -> Router {
    let authed = |route: &str, cfg| {
        Router::new()
            .route(route, get(ok))
            .layer(AuthLayer::new(cfg))
    };
    Router::new()
        .route("/noauth", get(ok))
        // What axum's per-route layering costs any layer (one that does nothing).
        .merge(
            Router::new()
                .route("/noauth-layered", get(ok))
                .layer(tower::layer::util::Identity::new()),
        )
        .merge(authed("/hs256", support::authgate_config(Alg::Hs256)))
        .merge(authed("/rs256", support::authgate_config(Alg::Rs256)))
        .merge(authed(
            "/hs256-cached",
            support::authgate_cached_config(Alg::Hs256),
        ))
        .merge(authed(
            "/rs256-cached",
            support::authgate_cached_config(Alg::Rs256),
        ))
        // The same cached layers around the route's service itself
        // (`route_service`), without `Router::layer`'s per-route boxing.
        .route_service(
            "/hs256-cached-svc",
            AuthLayer::new(support::authgate_cached_config(Alg::Hs256)).layer(get(ok)),
        )
        .route_service(
            "/rs256-cached-svc",
            AuthLayer::new(support::authgate_cached_config(Alg::Rs256)).layer(get(ok)),
        )
}

fn main() {
    let mut listen = "127.0.0.1:0".to_owned();
    let mut exit_after = 300u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v,
            ("--exit-after", Some(v)) => exit_after = v.parse().expect("--exit-after SECS"),
            _ => {
                eprintln!("usage: load_target [--listen ADDR] [--exit-after SECS]");
                std::process::exit(2);
            }
        }
    }
    // Bounded in time whatever happens to the script that started it.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(exit_after));
        std::process::exit(0);
    });
    // One worker: the load generator gets the other core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        eprintln!("listening on http://{addr}");
        let mut out = std::io::stdout().lock();
        let tokens = [Alg::Hs256, Alg::Rs256].map(|alg| {
            (
                alg,
                support::authorization(alg, Path::Valid).expect("token"),
            )
        });
        for (alg, auth) in &tokens {
            let token = auth.to_str().expect("ascii").trim_start_matches("Bearer ");
            writeln!(out, "token {} {token}", alg.name()).expect("stdout");
        }
        out.flush().expect("stdout");
        drop(out);
        axum::serve(listener, app()).await.expect("serve");
    });
}
