//! The example server (flags and routes: docs/reference.md), driven by outside
//! tools and tests:
//!
//! ```text
//! cargo run --release --example server -- --config FILE --listen ADDR \
//!     [--log-format json|pretty] [--header-timeout-secs N] [--metrics]
//! ```
//!
//! `--metrics` serves authgate's metrics as Prometheus text at `GET /metrics`,
//! outside the authentication layer (put it behind the network's own access
//! control in production).
//!
//! The first line on stderr is `listening on http://HOST:PORT`; logs go to stdout;
//! a configuration error is one line on stderr and exit code 2; SIGTERM or Ctrl-C
//! shut down gracefully with exit code 0.
//!
//! Slow clients are bounded: a request's headers must arrive within
//! `--header-timeout-secs` (default 10) of the server starting to wait for them,
//! and since that wait starts as soon as a keep-alive connection falls idle, an
//! idle connection is closed after the same time. A client that trickles its
//! headers a byte at a time, or opens connections and sends nothing, cannot hold
//! them open.

#[path = "support/app.rs"]
#[allow(dead_code)]
mod app;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use authgate::AuthConfig;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: server --config FILE --listen ADDR [--log-format json|pretty] [--header-timeout-secs N] [--metrics]";

/// How long a request's headers may take to arrive, counted from the moment the
/// connection waits for them (right after it opens, and after each response).
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    Json,
    Pretty,
}

struct Args {
    config: PathBuf,
    listen: String,
    log_format: LogFormat,
    header_timeout: Duration,
    metrics: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut listen = None;
    let mut log_format = LogFormat::Pretty;
    let mut header_timeout = DEFAULT_HEADER_TIMEOUT;
    let mut metrics = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))
        };
        match flag.as_str() {
            "--config" => config = Some(PathBuf::from(value()?)),
            "--listen" => listen = Some(value()?),
            "--log-format" => {
                log_format = match value()?.as_str() {
                    "json" => LogFormat::Json,
                    "pretty" => LogFormat::Pretty,
                    other => {
                        return Err(format!(
                            "--log-format must be json or pretty, not {other:?}; {USAGE}"
                        ));
                    }
                }
            }
            "--header-timeout-secs" => {
                let v = value()?;
                header_timeout = match v.parse::<u64>() {
                    Ok(n @ 1..=3600) => Duration::from_secs(n),
                    _ => {
                        return Err(format!(
                            "--header-timeout-secs must be a whole number of seconds from 1 to 3600, not {v:?}; {USAGE}"
                        ));
                    }
                }
            }
            "--metrics" if inline.is_none() => metrics = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(Args {
        config: config.ok_or_else(|| format!("--config is required; {USAGE}"))?,
        listen: listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
        log_format,
        header_timeout,
        metrics,
    })
}

fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,authgate=debug"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(std::io::stdout);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed here, at once (not
/// when the future is first polled), so that a signal sent as soon as the
/// server answers is never met by the default action, which would kill the
/// process before it shuts down gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            match (term, interrupt) {
                (Some(mut term), Some(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    // A configuration error is one line naming the key and the fix; it never
    // holds a secret value (ConfigError's contract).
    let cfg = match AuthConfig::from_toml_file(&args.config) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("configuration error: {}", e.to_string().replace('\n', " "));
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let addr: SocketAddr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cannot read the listening address: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(args.log_format);

    // Remote keys: fetch them now (at most jwks_timeout_secs). A permanent
    // misconfiguration (e.g. an OIDC issuer mismatch) stops the server; an
    // unreachable provider does not: the server answers 503 key_set_unavailable
    // until keys arrive, and the WARN event says why.
    let auth = authgate::AuthLayer::new(cfg);
    if let Err(e) = auth.warm_up().await {
        eprintln!("configuration error: {}", e.to_string().replace('\n', " "));
        return ExitCode::from(2);
    }
    let shutdown = shutdown_signal();
    eprintln!("listening on http://{addr}");
    let mut app = app::router_with(auth);
    if args.metrics {
        app = match with_metrics(app) {
            Ok(app) => app,
            Err(e) => {
                eprintln!("cannot install the metrics recorder: {e}");
                return ExitCode::from(2);
            }
        };
    }
    serve(listener, app, args.header_timeout, shutdown).await;
    ExitCode::SUCCESS
}

/// `GET /metrics`: Prometheus text of everything recorded through the `metrics`
/// facade, outside the authentication layer.
fn with_metrics(
    app: axum::Router,
) -> Result<axum::Router, metrics_exporter_prometheus::BuildError> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    // Buckets for the latency histogram (a summary otherwise), from a cache hit
    // (microseconds) to a password hash (tens of milliseconds and more).
    let buckets = [
        0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(authgate::metrics::VERIFY_DURATION_SECONDS.to_owned()),
            &buckets,
        )?
        .install_recorder()?;
    authgate::metrics::describe();
    Ok(app.route(
        "/metrics",
        axum::routing::get(move || {
            let text = handle.render();
            async move {
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                )
            }
        }),
    ))
}

/// The router with the connection's peer address in each request's extensions
/// (as `axum::serve` puts it with `into_make_service_with_connect_info`): the
/// failed-attempt limits count by it when `limits.by` has `client_ip`.
fn with_peer(
    app: axum::Router,
    peer: SocketAddr,
) -> impl tower::Service<
    http::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    tower::util::MapRequest::new(app, move |mut req: http::Request<hyper::body::Incoming>| {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        req
    })
}

/// Accepts connections until SIGTERM / Ctrl-C, then lets the open ones finish.
///
/// hyper's HTTP/1 connection is used directly (rather than `axum::serve`) for its
/// header read timeout: the timer starts whenever the connection waits for a
/// request head, so it bounds both a client trickling its headers and an idle
/// keep-alive connection.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, go on.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(with_peer(app.clone(), peer)),
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection closed: {e}");
            }
        });
    }
    drop(listener);
    // Open connections finish their current request; bounded so that a stuck
    // client cannot keep the process alive.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
}
