//! Shared harness for the integration tests: key fixtures, token minting (with
//! `jsonwebtoken`, never with authgate), event capture, real servers on loopback,
//! a real HTTP/1 client, a strict `WWW-Authenticate` parser and a secret scanner.
//!
//! Include it from a test file with `mod common;`.
//!
//! # Event capture and servers
//!
//! [`capture`] installs a subscriber with `tracing::subscriber::set_default`,
//! which is **thread-local**. Server tests therefore run on tokio's default
//! `current_thread` test runtime — plain `#[tokio::test]` or
//! `#[tokio::test(flavor = "current_thread")]` — and call `capture()` *before*
//! `serve(...)`:
//!
//! ```ignore
//! #[tokio::test]
//! async fn rejects() {
//!     let (cap, _guard) = common::capture(); // keep the guard alive
//!     let addr = common::serve(app()).await;
//!     let resp = common::get(addr, "/", &[]).await;
//!     let ev = cap.one_authgate_event();
//!     assert_eq!(ev["fields"]["auth.reason"], "missing_credentials");
//! }
//! ```
//!
//! On a `current_thread` runtime every task (the accept loop, each connection,
//! any background task the middleware spawns, the client's connection task)
//! runs on the test's thread, so all of their events reach the capture.
//!
//! In addition, [`serve`] and [`serve_hyper`] remember the dispatcher that is
//! the default when they are called and re-install it around every request, so
//! request-path events are captured even on a `multi_thread` runtime. Events
//! from tasks the middleware spawns itself (e.g. a background key refresh) are
//! only captured on `current_thread`, so prefer it.

#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use tracing::Dispatch;
use tracing::instrument::{WithDispatch, WithSubscriber as _};

// ---------------------------------------------------------------------------
// Keys and time
// ---------------------------------------------------------------------------

/// The fixed 64-byte HMAC secret of the tests (printable ASCII, so it can also
/// be handed to authgate through an environment variable as raw UTF-8).
pub const HS_SECRET: &[u8] = HS_SECRET_STR.as_bytes();

/// [`HS_SECRET`] as a `&str`.
pub const HS_SECRET_STR: &str = "authgate-test-hs256-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

const _: () = assert!(HS_SECRET.len() == 64);

/// Unix time in whole seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_secs()
}

/// `tests/keys/<name>` (an absolute `name` is returned unchanged).
pub fn key_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("keys")
        .join(name)
}

/// The bytes of `tests/keys/<name>`.
pub fn read_key(name: &str) -> Vec<u8> {
    let path = key_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The name of the fixture private key used for `alg` (`None` for HS*).
pub fn private_key_file(alg: Algorithm) -> Option<&'static str> {
    use Algorithm::*;
    match alg {
        HS256 | HS384 | HS512 => None,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Some("rsa.pem"),
        ES256 => Some("ec.pem"),
        ES384 => Some("ec384.pem"),
        EdDSA => Some("ed.pem"),
        other => panic!("no fixture key for {other:?}"),
    }
}

/// The name of the fixture public key that verifies tokens from [`mint`]
/// (`None` for HS*).
pub fn public_key_file(alg: Algorithm) -> Option<&'static str> {
    private_key_file(alg).map(|f| match f {
        "rsa.pem" => "rsa.pub.pem",
        "ec.pem" => "ec.pub.pem",
        "ec384.pem" => "ec384.pub.pem",
        _ => "ed.pub.pem",
    })
}

/// Loads a PEM private key file of `tests/keys` as an [`EncodingKey`] for `alg`.
pub fn encoding_key_from_file(alg: Algorithm, name: &str) -> EncodingKey {
    use Algorithm::*;
    let pem = read_key(name);
    let key = match alg {
        HS256 | HS384 | HS512 => Ok(EncodingKey::from_secret(&pem)),
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => EncodingKey::from_rsa_pem(&pem),
        ES256 | ES384 => EncodingKey::from_ec_pem(&pem),
        EdDSA => EncodingKey::from_ed_pem(&pem),
        other => panic!("unsupported algorithm {other:?}"),
    };
    key.unwrap_or_else(|e| panic!("{name} is not a {alg:?} private key: {e}"))
}

/// Loads a PEM public key file of `tests/keys` as a [`DecodingKey`] for `alg`.
pub fn decoding_key_from_file(alg: Algorithm, name: &str) -> DecodingKey {
    use Algorithm::*;
    let pem = read_key(name);
    let key = match alg {
        HS256 | HS384 | HS512 => Ok(DecodingKey::from_secret(&pem)),
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => DecodingKey::from_rsa_pem(&pem),
        ES256 | ES384 => DecodingKey::from_ec_pem(&pem),
        EdDSA => DecodingKey::from_ed_pem(&pem),
        other => panic!("unsupported algorithm {other:?}"),
    };
    key.unwrap_or_else(|e| panic!("{name} is not a {alg:?} public key: {e}"))
}

/// The fixture signing key for `alg`: [`HS_SECRET`], `rsa.pem`, `ec.pem`,
/// `ec384.pem` or `ed.pem`.
pub fn encoding_key(alg: Algorithm) -> EncodingKey {
    match private_key_file(alg) {
        None => EncodingKey::from_secret(HS_SECRET),
        Some(file) => encoding_key_from_file(alg, file),
    }
}

/// The fixture verification key matching [`encoding_key`].
pub fn decoding_key(alg: Algorithm) -> DecodingKey {
    match public_key_file(alg) {
        None => DecodingKey::from_secret(HS_SECRET),
        Some(file) => decoding_key_from_file(alg, file),
    }
}

// ---------------------------------------------------------------------------
// Token minting
// ---------------------------------------------------------------------------

/// A JWT signed with the fixture key of `alg` (see [`encoding_key`]).
pub fn mint(alg: Algorithm, kid: Option<&str>, claims: &serde_json::Value) -> String {
    mint_with_key(alg, kid, claims, &encoding_key(alg))
}

/// A JWT signed with an explicit key.
pub fn mint_with_key(
    alg: Algorithm,
    kid: Option<&str>,
    claims: &serde_json::Value,
    key: &EncodingKey,
) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    mint_with_header(&header, claims, key)
}

/// A JWT with a fully custom [`Header`] (`typ`, `cty`, `jku`, `x5u`, …).
pub fn mint_with_header(header: &Header, claims: &serde_json::Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("jsonwebtoken::encode failed")
}

/// How [`raw_jwt`] produces the third segment.
pub enum Signing<'a> {
    /// HMAC-SHA256 with this secret.
    Hs256(&'a [u8]),
    /// RS256 with a PEM private key: a file name in `tests/keys` (`"rsa.pem"`,
    /// `"rsa2.pem"`) or an absolute path.
    Rs256(&'a str),
    /// ES256 with `ec.pem`.
    Es256,
    /// EdDSA with `ed.pem`.
    EdDSA,
    /// Any algorithm with any key.
    Key(&'a EncodingKey, Algorithm),
    /// An empty signature (the token ends in `.`).
    Empty,
    /// A well-formed base64url signature that verifies under no key.
    Garbage,
    /// This exact text as the third segment (e.g. invalid base64url).
    Raw(&'a str),
}

/// base64url without padding, as used by JWS.
pub fn b64url(data: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// A compact JWS built by hand from raw JSON *text* (nothing is parsed or
/// re-serialized, so duplicate members, non-object values or odd `alg` strings
/// survive). The signature covers `b64url(header).b64url(payload)`.
pub fn raw_jwt(header_json: &str, payload_json: &str, signing: Signing<'_>) -> String {
    raw_jws(header_json.as_bytes(), payload_json.as_bytes(), signing)
}

/// As [`raw_jwt`], from arbitrary bytes (e.g. invalid UTF-8).
pub fn raw_jws(header: &[u8], payload: &[u8], signing: Signing<'_>) -> String {
    let message = format!("{}.{}", b64url(header), b64url(payload));
    let sign = |key: &EncodingKey, alg: Algorithm| {
        jsonwebtoken::crypto::sign(message.as_bytes(), key, alg)
            .unwrap_or_else(|e| panic!("signing with {alg:?} failed: {e}"))
    };
    let signature = match signing {
        Signing::Hs256(secret) => sign(&EncodingKey::from_secret(secret), Algorithm::HS256),
        Signing::Rs256(file) => sign(
            &encoding_key_from_file(Algorithm::RS256, file),
            Algorithm::RS256,
        ),
        Signing::Es256 => sign(&encoding_key(Algorithm::ES256), Algorithm::ES256),
        Signing::EdDSA => sign(&encoding_key(Algorithm::EdDSA), Algorithm::EdDSA),
        Signing::Key(key, alg) => sign(key, alg),
        Signing::Empty => String::new(),
        Signing::Garbage => b64url([0x5a_u8; 256]),
        Signing::Raw(text) => text.to_owned(),
    };
    format!("{message}.{signature}")
}

// ---------------------------------------------------------------------------
// Event capture
// ---------------------------------------------------------------------------

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl io::Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SharedBuf {
    type Writer = SharedBuf;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Everything the capturing subscriber wrote: one JSON object per event,
/// event fields under `"fields"`, the current span under `"span"`, all spans
/// under `"spans"`.
#[derive(Clone)]
pub struct Captured {
    buf: SharedBuf,
}

impl std::fmt::Debug for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captured")
            .field("bytes", &self.buf.0.lock().map(|b| b.len()).unwrap_or(0))
            .finish()
    }
}

/// The subscriber `capture` installs, writing JSON lines into `buf`.
fn json_dispatch(buf: SharedBuf) -> Dispatch {
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_current_span(true)
        .with_span_list(true)
        .flatten_event(false)
        .with_ansi(false)
        .with_writer(buf)
        .finish();
    Dispatch::new(subscriber)
}

/// Captures every event (TRACE and up, all targets) of the current thread
/// until the guard is dropped. See the module docs for server tests.
pub fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    install_global_sink();
    let buf = SharedBuf::default();
    let guard = tracing::dispatcher::set_default(&json_dispatch(buf.clone()));
    (Captured { buf }, guard)
}

fn install_global_sink() {
    // A process-wide subscriber that is interested in everything (and discards
    // it): tracing caches each callsite's interest process-wide, and with only
    // thread-local subscribers a test without one can leave a callsite cached as
    // "never" while a capturing test runs on another thread, hiding its events.
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Sink);
    });
}

/// Like [`capture`], but writing tracing-subscriber's human-readable text
/// formats instead of JSON: the default (`full`) one, or `compact` when
/// `compact` is true. Read it with [`Captured::raw`] ([`Captured::events`]
/// expects JSON).
pub fn capture_text(compact: bool) -> (Captured, tracing::subscriber::DefaultGuard) {
    install_global_sink();
    let buf = SharedBuf::default();
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(buf.clone());
    let dispatch = if compact {
        Dispatch::new(builder.compact().finish())
    } else {
        Dispatch::new(builder.finish())
    };
    let guard = tracing::dispatcher::set_default(&dispatch);
    (Captured { buf }, guard)
}

impl Captured {
    /// All captured text.
    pub fn raw(&self) -> String {
        let bytes = self.buf.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// All events, in order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.raw()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("captured line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// The events whose target is exactly `authgate`.
    pub fn authgate_events(&self) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["target"] == "authgate")
            .collect()
    }

    /// The single `authgate` event; panics (listing them) unless there is exactly one.
    pub fn one_authgate_event(&self) -> serde_json::Value {
        let mut events = self.authgate_events();
        assert_eq!(
            events.len(),
            1,
            "expected exactly one authgate event, got {}: {events:#?}",
            events.len()
        );
        events.pop().expect("one event")
    }

    /// Forgets everything captured so far.
    pub fn clear(&self) {
        self.buf.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The `fields` object of a captured event (`Null` if absent).
pub fn fields(event: &serde_json::Value) -> &serde_json::Value {
    &event["fields"]
}

/// Runs `f` on a fresh OS thread; events it emits are not captured by the
/// current thread's [`capture`] (used to demonstrate capture isolation).
pub fn on_other_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("thread panicked")
}

// ---------------------------------------------------------------------------
// Dispatcher propagation for servers
// ---------------------------------------------------------------------------

/// The process-wide subscriber installed by [`capture`]: interested in every
/// callsite, keeps nothing.
struct Sink;

impl tracing::Subscriber for Sink {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The current default dispatcher, unless it is the no-op one (then nothing is
/// propagated, so a capture installed *later* on a current-thread runtime
/// still sees the events).
fn current_dispatch() -> Option<Dispatch> {
    tracing::dispatcher::get_default(|d| {
        if d.is::<tracing::subscriber::NoSubscriber>() || d.is::<Sink>() {
            None
        } else {
            Some(d.clone())
        }
    })
}

/// Re-installs a dispatcher around `poll_ready`, `call` and the response future.
#[derive(Clone)]
struct Dispatched<S> {
    inner: S,
    dispatch: Option<Dispatch>,
}

impl<S, R> tower::Service<R> for Dispatched<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = WithDispatch<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &self.dispatch {
            Some(d) => tracing::dispatcher::with_default(d, || self.inner.poll_ready(cx)),
            None => self.inner.poll_ready(cx),
        }
    }

    fn call(&mut self, req: R) -> Self::Future {
        match self.dispatch.clone() {
            Some(d) => {
                let fut = tracing::dispatcher::with_default(&d, || self.inner.call(req));
                fut.with_subscriber(d)
            }
            None => {
                let fut = self.inner.call(req);
                fut.with_current_subscriber()
            }
        }
    }
}

/// Make-service for `axum::serve` handing out `Dispatched<Router>`.
#[derive(Clone)]
struct MakeDispatched(Dispatched<axum::Router>);

impl<'a> tower::Service<axum::serve::IncomingStream<'a, tokio::net::TcpListener>>
    for MakeDispatched
{
    type Response = Dispatched<axum::Router>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(
        &mut self,
        _conn: axum::serve::IncomingStream<'a, tokio::net::TcpListener>,
    ) -> Self::Future {
        std::future::ready(Ok(self.0.clone()))
    }
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

async fn bind_loopback() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    (listener, addr)
}

/// Serves `app` with `axum::serve` on `127.0.0.1:<ephemeral>` in a spawned
/// task (it lives as long as the test's runtime).
pub async fn serve(app: axum::Router) -> SocketAddr {
    let (listener, addr) = bind_loopback().await;
    let make = MakeDispatched(Dispatched {
        inner: app,
        dispatch: current_dispatch(),
    });
    tokio::spawn(async move {
        axum::serve(listener, make)
            .await
            .expect("axum::serve failed");
    });
    addr
}

/// Serves `app` like [`serve`], with the peer address of each connection in the
/// request extensions (`ConnectInfo<SocketAddr>`, as
/// `into_make_service_with_connect_info` puts it), for tests of per-address
/// behaviour. Use it on a `current_thread` runtime to capture events.
pub async fn serve_connect_info(app: axum::Router) -> SocketAddr {
    let (listener, addr) = bind_loopback().await;
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("axum::serve failed");
    });
    addr
}

/// Serves a plain tower service with hyper 1 (HTTP/1.1, one
/// `http1::Builder` connection per accepted socket, `svc` cloned per
/// connection) on `127.0.0.1:<ephemeral>`.
pub async fn serve_hyper<S, B>(svc: S) -> SocketAddr
where
    S: tower::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (listener, addr) = bind_loopback().await;
    let dispatch = current_dispatch();
    tokio::spawn(async move {
        loop {
            let (stream, _peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(_) => continue,
            };
            let svc = hyper_util::service::TowerToHyperService::new(Dispatched {
                inner: svc.clone(),
                dispatch: dispatch.clone(),
            });
            tokio::spawn(async move {
                // Errors here are client misbehaviour (tests send odd bytes on
                // purpose); the connection just ends.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

/// A response as received by the client.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (panics with the body text if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every `WWW-Authenticate` field value, in order (one per field line).
    pub fn www_authenticate(&self) -> Vec<String> {
        self.header_all("www-authenticate")
    }

    /// Every `WWW-Authenticate` field, parsed strictly with [`parse_challenge`]
    /// (panics on a malformed one).
    pub fn challenges(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.www_authenticate()
            .iter()
            .map(|v| {
                parse_challenge(v)
                    .unwrap_or_else(|e| panic!("malformed WWW-Authenticate {v:?}: {e}"))
            })
            .collect()
    }

    /// The single value of a header (panics if repeated); `None` if absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let all = self.header_all(name);
        assert!(all.len() <= 1, "header {name} repeated: {all:?}");
        all.into_iter().next()
    }

    /// Every value of a header, in order (lossy UTF-8).
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    /// Status, headers and body as one text (for [`assert_no_secret`]).
    pub fn dump(&self) -> String {
        let mut s = format!("{}\n", self.status);
        for (name, value) in &self.headers {
            s.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        s.push('\n');
        s.push_str(&self.text());
        s
    }
}

/// `GET http://<addr><path>` with these header fields, each sent as its own
/// field line (repeat a name to send it twice). Values are raw bytes:
/// obs-text (0x80–0xFF) is fine; CR, LF, NUL and other controls except HTAB
/// cannot be sent through hyper and panic.
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &[u8])]) -> Resp {
    request(addr, http::Method::GET, path, headers, Bytes::new()).await
}

/// Any method, with a body (see [`get`]).
pub async fn request(
    addr: SocketAddr,
    method: http::Method,
    path: &str,
    headers: &[(&str, &[u8])],
    body: Bytes,
) -> Resp {
    assert!(addr.ip().is_loopback(), "tests only talk to loopback");
    let uri = format!("http://{addr}{path}");
    let mut req = http::Request::builder()
        .method(method)
        .uri(&uri)
        .body(Full::new(body))
        .unwrap_or_else(|e| panic!("bad request URI {uri:?}: {e}"));
    for (name, value) in headers {
        let name = http::header::HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|e| panic!("bad header name {name:?}: {e}"));
        let value = http::HeaderValue::from_bytes(value)
            .unwrap_or_else(|e| panic!("header value for {name} not sendable: {e}"));
        req.headers_mut().append(name, value);
    }
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<Full<Bytes>>();
    let fut = async {
        let resp = client.request(req).await.expect("HTTP request failed");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("reading body").to_bytes();
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    };
    with_timeout(fut).await
}

/// A response's status, headers (without `Date`) and body: what two answers
/// must share to be indistinguishable to a client.
pub type Comparable = (u16, Vec<(String, Vec<u8>)>, Vec<u8>);

/// [`Comparable`] of `resp`.
pub fn comparable(resp: &Resp) -> Comparable {
    let headers = resp
        .headers
        .iter()
        .filter(|(n, _)| *n != http::header::DATE)
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    (resp.status, headers, resp.body.to_vec())
}

/// `Authorization: Bearer <token>` as a header pair for [`get`].
pub fn bearer(token: &str) -> (&'static str, Vec<u8>) {
    ("authorization", format!("Bearer {token}").into_bytes())
}

/// `Authorization: Basic base64(user:pass)` as a header pair for [`get`].
pub fn basic(user: &str, pass: &str) -> (&'static str, Vec<u8>) {
    (
        "authorization",
        format!("Basic {}", STANDARD.encode(format!("{user}:{pass}"))).into_bytes(),
    )
}

/// Turns owned header pairs into the borrowed form [`get`] takes.
pub fn hdrs<'a>(pairs: &'a [(&'a str, Vec<u8>)]) -> Vec<(&'a str, &'a [u8])> {
    pairs.iter().map(|(n, v)| (*n, v.as_slice())).collect()
}

async fn with_timeout<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("HTTP exchange timed out after 20 s")
}

// ---------------------------------------------------------------------------
// WWW-Authenticate parsing (RFC 9110 §11.6.1, §11.2, §5.6)
// ---------------------------------------------------------------------------

/// One auth-param of a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeParam {
    /// The name as sent.
    pub name: String,
    /// The value; a quoted-string is unquoted and unescaped.
    pub value: String,
    /// Whether the value was a quoted-string (else a token).
    pub quoted: bool,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses one challenge (one `WWW-Authenticate` field value holding exactly
/// one challenge) into its scheme and auth-params, strictly:
///
/// `challenge = auth-scheme [ 1*SP #auth-param ]`,
/// `auth-param = token "=" ( token / quoted-string )`.
///
/// Rejected: bad token characters, unterminated quoted-strings, bad
/// quoted-pairs, a missing `=`, whitespace around `=` (BWS, which senders
/// must not generate), empty list elements, leading/trailing whitespace,
/// token68 forms, a second challenge in the same value and repeated
/// parameter names (case-insensitive, §11.2).
pub fn parse_challenge(s: &str) -> Result<(String, Vec<(String, String)>), String> {
    let (scheme, params) = parse_challenge_full(s)?;
    Ok((
        scheme,
        params.into_iter().map(|p| (p.name, p.value)).collect(),
    ))
}

/// As [`parse_challenge`], also telling whether each value was quoted.
pub fn parse_challenge_full(s: &str) -> Result<(String, Vec<ChallengeParam>), String> {
    let b = s.as_bytes();
    let mut i = 0;

    let token = |i: &mut usize, what: &str| -> Result<String, String> {
        let start = *i;
        while *i < b.len() && is_tchar(b[*i]) {
            *i += 1;
        }
        if *i == start {
            return Err(match b.get(*i) {
                None => format!("expected {what} at offset {start}, found end of input"),
                Some(c) => format!(
                    "expected {what} at offset {start}, found {:?}",
                    char::from(*c)
                ),
            });
        }
        Ok(s[start..*i].to_owned())
    };
    let skip_ows = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };

    if s.is_empty() {
        return Err("empty challenge".into());
    }
    if b[0] == b' ' || b[0] == b'\t' || b[b.len() - 1] == b' ' || b[b.len() - 1] == b'\t' {
        return Err("leading or trailing whitespace".into());
    }

    let scheme = token(&mut i, "auth-scheme")?;
    let mut params: Vec<ChallengeParam> = Vec::new();
    if i == b.len() {
        return Ok((scheme, params));
    }
    if b[i] != b' ' {
        return Err(format!(
            "auth-scheme must be followed by SP, found {:?} at offset {i}",
            char::from(b[i])
        ));
    }
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }

    loop {
        // auth-param
        if i < b.len() && b[i] == b',' {
            return Err(format!("empty list element at offset {i}"));
        }
        let name_start = i;
        let name = token(&mut i, "auth-param name")?;
        match b.get(i) {
            Some(b'=') => {}
            Some(b' ' | b'\t') => {
                let mut j = i;
                skip_ows(&mut j);
                return Err(if b.get(j) == Some(&b'=') {
                    format!("whitespace before '=' after parameter {name:?}")
                } else if j < b.len() && is_tchar(b[j]) {
                    format!("missing '=' after {name:?} (a second challenge in one field value?)")
                } else {
                    format!("missing '=' after parameter {name:?}")
                });
            }
            None if params.is_empty() => {
                return Err(format!(
                    "missing '=' after {name:?} (token68 is not accepted)"
                ));
            }
            _ => return Err(format!("missing '=' after parameter {name:?}")),
        }
        i += 1; // '='
        let (value, quoted) = match b.get(i) {
            Some(b'"') => {
                i += 1;
                let mut value = Vec::new();
                loop {
                    match b.get(i) {
                        None => {
                            return Err(format!(
                                "unterminated quoted-string for parameter {name:?}"
                            ));
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => match b.get(i + 1) {
                            Some(&c)
                                if c == b'\t'
                                    || c == b' '
                                    || (0x21..=0x7e).contains(&c)
                                    || c >= 0x80 =>
                            {
                                value.push(c);
                                i += 2;
                            }
                            None => {
                                return Err(format!(
                                    "unterminated quoted-pair in parameter {name:?}"
                                ));
                            }
                            Some(c) => {
                                return Err(format!(
                                    "invalid quoted-pair \\{:?} in parameter {name:?}",
                                    char::from(*c)
                                ));
                            }
                        },
                        Some(&c)
                            if c == b'\t'
                                || c == b' '
                                || (0x21..=0x7e).contains(&c)
                                || c >= 0x80 =>
                        {
                            value.push(c);
                            i += 1;
                        }
                        Some(c) => {
                            return Err(format!(
                                "invalid character {:?} in quoted-string of parameter {name:?}",
                                char::from(*c)
                            ));
                        }
                    }
                }
                // Only whole UTF-8 sequences are pushed (escapes apply to single
                // ASCII bytes or whole obs-text bytes of a valid &str).
                (
                    String::from_utf8(value)
                        .map_err(|_| "quoted-string is not UTF-8".to_string())?,
                    true,
                )
            }
            Some(b' ' | b'\t') => {
                return Err(format!("whitespace after '=' of parameter {name:?}"));
            }
            _ => (token(&mut i, "token or quoted-string value")?, false),
        };
        if params.iter().any(|p| p.name.eq_ignore_ascii_case(&name)) {
            return Err(format!("parameter {name:?} repeated (offset {name_start})"));
        }
        params.push(ChallengeParam {
            name,
            value,
            quoted,
        });

        // OWS "," OWS, or end
        skip_ows(&mut i);
        match b.get(i) {
            None => return Ok((scheme, params)),
            Some(b',') => {
                i += 1;
                skip_ows(&mut i);
                if i == b.len() {
                    return Err("trailing ','".into());
                }
            }
            Some(c) => {
                return Err(format!(
                    "unexpected {:?} at offset {i} after the value of {:?}",
                    char::from(*c),
                    params.last().map(|p| p.name.as_str()).unwrap_or_default()
                ));
            }
        }
    }
}

/// The value of a challenge parameter (case-insensitive name).
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------
// Secret scanning
// ---------------------------------------------------------------------------

/// Every form of `secret` that [`assert_no_secret`] looks for, as
/// `(form name, needle)`. Empty secrets have no forms.
pub fn secret_forms(secret: &str) -> Vec<(&'static str, String)> {
    let raw = secret.as_bytes();
    if raw.is_empty() {
        return Vec::new();
    }
    let mut forms: Vec<(&'static str, String)> = vec![("raw", secret.to_owned())];

    let engines: [(&'static str, &base64::engine::GeneralPurpose); 4] = [
        ("base64", &STANDARD),
        ("base64 (no padding)", &STANDARD_NO_PAD),
        ("base64url", &URL_SAFE),
        ("base64url (no padding)", &URL_SAFE_NO_PAD),
    ];
    for (name, engine) in engines {
        forms.push((name, engine.encode(raw)));
    }
    // The secret inside a larger base64 text (e.g. `user:password` in a Basic
    // header) at each of the three byte alignments: keep only the characters
    // that depend on the secret's bytes alone.
    for (offset, skip) in [(0usize, 0usize), (1, 2), (2, 3)] {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(raw);
        for (name, engine) in [
            ("base64 (embedded)", &STANDARD_NO_PAD),
            ("base64url (embedded)", &URL_SAFE_NO_PAD),
        ] {
            let enc = engine.encode(&bytes);
            let end = if bytes.len() % 3 == 0 {
                enc.len()
            } else {
                enc.len() - 1
            };
            if end > skip && end - skip >= 8 {
                forms.push((name, enc[skip..end].to_owned()));
            }
        }
    }

    let unreserved = |c: u8| c.is_ascii_alphanumeric() || b"-._~".contains(&c);
    let pct = |upper: bool, plus: bool| {
        raw.iter()
            .map(|&c| {
                if unreserved(c) {
                    char::from(c).to_string()
                } else if plus && c == b' ' {
                    "+".into()
                } else if upper {
                    format!("%{c:02X}")
                } else {
                    format!("%{c:02x}")
                }
            })
            .collect::<String>()
    };
    forms.push(("percent-encoded", pct(true, false)));
    forms.push(("percent-encoded (lower-case hex)", pct(false, false)));
    forms.push(("form-urlencoded", pct(true, true)));

    let json = serde_json::to_string(secret).expect("string to JSON");
    forms.push(("JSON-escaped", json[1..json.len() - 1].to_owned()));
    let debug = format!("{secret:?}");
    forms.push(("Debug-escaped", debug[1..debug.len() - 1].to_owned()));
    forms.push(("Debug of bytes", format!("{raw:?}")));
    forms.push((
        "hex",
        raw.iter().map(|c| format!("{c:02x}")).collect::<String>(),
    ));

    let mut seen = std::collections::HashSet::new();
    forms.retain(|(_, needle)| !needle.is_empty() && seen.insert(needle.clone()));
    forms
}

/// Panics if any secret appears in `haystack` raw, base64 / base64url (with
/// or without padding, also embedded in longer base64 text), percent- or
/// form-urlencoded, JSON- or Debug-escaped, or as hex. The panic message names
/// the secret's index and the form only — never the secret or the haystack.
pub fn assert_no_secret(haystack: &str, secrets: &[&str]) {
    for (index, secret) in secrets.iter().enumerate() {
        for (form, needle) in secret_forms(secret) {
            if haystack.contains(&needle) {
                panic!("secret #{index} found in output ({form} form)");
            }
        }
    }
}

/// A path under the system temp directory, unique to this process and call,
/// removed (directory or file) when dropped, also when the test panics: test
/// runs leave nothing behind.
pub struct TempPath(std::path::PathBuf);

impl TempPath {
    /// A fresh path named after `name`; nothing is created.
    pub fn new(name: &str) -> TempPath {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        TempPath(std::env::temp_dir().join(format!(
            "authgate-test-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )))
    }

    /// A fresh, empty directory named after `name`.
    pub fn dir(name: &str) -> TempPath {
        let dir = TempPath::new(name);
        std::fs::create_dir_all(&dir.0).expect("create temp dir");
        dir
    }
}

impl std::ops::Deref for TempPath {
    type Target = std::path::PathBuf;

    fn deref(&self) -> &std::path::PathBuf {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if std::fs::remove_dir_all(&self.0).is_err() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl AsRef<std::path::Path> for TempPath {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

// ---------------------------------------------------------------------------
// A real Redis server, started and stopped by the test
// ---------------------------------------------------------------------------

/// A `redis-server` child process on 127.0.0.1, on a free port, with its files in
/// a temporary directory; killed when dropped.
pub struct RedisServer {
    child: Option<std::process::Child>,
    pub port: u16,
    dir: TempPath,
}

impl RedisServer {
    /// Starts one. Without `redis-server` on the PATH: `None` with a message when
    /// `CI` is unset (a developer's machine), a panic in CI (`.ci/run` installs it).
    pub fn start() -> Option<RedisServer> {
        let found = std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed (.ci/run installs it from the Debian packages)"
            );
            eprintln!(
                "SKIPPED: redis-server is not installed; install it (apt-get install redis-server) to run this test"
            );
            return None;
        }
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer {
            child: None,
            port,
            dir: TempPath::dir("redis"),
        };
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&*self.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self.ping() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ping(&self) -> bool {
        use std::io::{Read as _, Write as _};
        let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 16];
        conn.write_all(b"PING\r\n").is_ok()
            && conn
                .read(&mut buf)
                .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
