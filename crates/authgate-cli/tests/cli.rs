//! Integration tests of the `authgate` binary: each subcommand is run as a child
//! process (`CARGO_BIN_EXE_authgate`), with stdin piped or closed (never a TTY), a
//! cleared environment and a timeout. `explain` is compared, reason by reason,
//! with a request through the layer itself (`tower::ServiceExt::oneshot` on
//! `AuthLayer::new(cfg)` around a trivial service, same config and credential,
//! same clock), including the layer's `tracing` event.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authgate::{AuthConfig, AuthLayer};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt as _, Full};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tower::{Layer as _, ServiceExt as _};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

const BIN: &str = env!("CARGO_BIN_EXE_authgate");
/// The 64-byte HMAC secret, handed to the binary (and to the layer) as `HS_VAR`.
const HS_SECRET: &str = "authgate-cli-test-hs256-secret-0123456789-ABCDEFGHIJKLMNOPQRSTUV";
const HS_VAR: &str = "AG_CLI_TEST_HS_SECRET";
/// The API key of the base configuration (only its digest is in the file).
const API_KEY: &str = "ag_cliTestApiKey0123456789abcdefghijklmnopq";
/// Basic user of the base configuration: bcrypt cost 4 (fast), from
/// tests/fixtures/legacy.htpasswd (`htpasswd -nbB -C 4 ok 'ok-pw'`).
const BASIC_LINE: &str = "ok:$2y$04$CXyvaa0X0uzZNvL71Q0fIOt1akEA5yMlUajwWs0pbPmECZbho7vMS";
const ISS: &str = "https://id.example.com/";
const AUD: &str = "orders-api";
/// The fixed evaluation time of the reason tests: `--at` for the binary, the
/// config's clock for the layer (2026-11-25T10:00:00Z).
const AT: u64 = 1_795_600_800;

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `authgate ARGS` with a cleared environment plus `env`, `stdin` piped
/// (or closed), and a 60 s limit.
fn run(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Out {
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the authgate binary");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        // The child may exit before reading (a usage error): a broken pipe is fine.
        if let Err(e) = pipe.write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        out_pipe.read_to_string(&mut s).map(|_| s)
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        err_pipe.read_to_string(&mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("authgate {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Out {
        code: status.code().unwrap_or(-1),
        stdout: out_t.join().unwrap().expect("stdout is UTF-8"),
        stderr: err_t.join().unwrap().expect("stderr is UTF-8"),
    }
}

fn env() -> Vec<(&'static str, &'static str)> {
    vec![(HS_VAR, HS_SECRET)]
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "authgate-cli-test-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tests/keys/<name>` of the workspace.
fn key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/keys")
        .join(name)
}

fn key_str(name: &str) -> String {
    key(name).display().to_string()
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The base configuration: RS256 + HS256 keys, issuer, audience, one API key,
/// one Basic user.
fn base_config() -> String {
    format!(
        r#"[bearer.jwt]
algorithms = ["RS256", "HS256"]
issuer = "{ISS}"
audience = "{AUD}"

[[bearer.jwt.keys]]
kid = "rsa-2026"
public_key_pem_file = "{rsa}"

[[bearer.jwt.keys]]
kid = "hmac-1"
secret_env = "{HS_VAR}"

[[bearer.api_keys]]
id = "ci-bot"
sha256 = "{digest}"
scopes = ["orders:read"]

[basic]
htpasswd_file = "users.htpasswd"
"#,
        rsa = key_str("rsa.pub.pem"),
        digest = sha256_hex(API_KEY),
    )
}

struct Fixture {
    dir: TempDir,
    config: PathBuf,
    text: String,
}

impl Fixture {
    fn new(text: &str, htpasswd: &str) -> Self {
        let dir = TempDir::new();
        dir.write("users.htpasswd", htpasswd);
        let config = dir.write("authgate.toml", text);
        Fixture {
            dir,
            config,
            text: text.to_owned(),
        }
    }

    fn base() -> Self {
        Fixture::new(&base_config(), &format!("{BASIC_LINE}\n"))
    }

    fn config(&self) -> &str {
        self.config.to_str().unwrap()
    }

    /// The configuration as the server loads it, with the test environment.
    fn load(&self) -> AuthConfig {
        let env = |name: &str| (name == HS_VAR).then(|| HS_SECRET.to_owned());
        AuthConfig::from_toml_str_with_env(&self.text, &self.dir.0, &env).expect("config loads")
    }
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

fn claims(extra: Value) -> Value {
    let mut c = json!({"sub": "alice", "iss": ISS, "aud": AUD, "iat": AT - 60, "exp": AT + 600});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn rsa_key(file: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(key(file)).unwrap()).unwrap()
}

/// An RS256 token for `kid`, signed with `private` (a file of tests/keys).
fn rs256(kid: &str, private: &str, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&h, claims, &rsa_key(private)).unwrap()
}

fn good_token(extra: Value) -> String {
    rs256("rsa-2026", "rsa.pem", &claims(extra))
}

fn basic_value(user_pass: &str) -> String {
    format!("Basic {}", STANDARD.encode(user_pass))
}

// ---------------------------------------------------------------------------
// The layer, for comparison
// ---------------------------------------------------------------------------

/// Records the fields of every `authgate` event.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == "authgate" {
            let mut f = Fields(BTreeMap::new());
            event.record(&mut f);
            self.0.lock().unwrap().push(f.0);
        }
    }
}

#[derive(Debug)]
struct LayerAnswer {
    status: u16,
    challenges: Vec<String>,
    body_reason: Option<String>,
    /// The rejection event's fields (empty when the request passed).
    event: BTreeMap<String, String>,
}

/// `GET /` with this `Authorization` value through `AuthLayer::new(cfg)` around
/// a service that answers 200.
fn through_layer(cfg: AuthConfig, authorization: &str) -> LayerAnswer {
    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(events.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resp: Response<Bytes> = tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let svc = AuthLayer::new(cfg).layer(tower::service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }));
            let req = Request::get("/")
                .header(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap())
                .body(())
                .unwrap();
            let (parts, body) = svc.oneshot(req).await.unwrap().into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            Response::from_parts(parts, body)
        })
    });
    let challenges = resp
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body_reason = serde_json::from_slice::<Value>(resp.body())
        .ok()
        .and_then(|v| v["reason"].as_str().map(str::to_owned));
    let event = events
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.contains_key("auth.reason"))
        .cloned()
        .unwrap_or_default();
    LayerAnswer {
        status: resp.status().as_u16(),
        challenges,
        body_reason,
        event,
    }
}

fn at_clock(cfg: AuthConfig) -> AuthConfig {
    cfg.with_clock(|| UNIX_EPOCH + Duration::from_secs(AT))
}

/// Runs `explain --format json --at AT` on `cli_args` (credential as an argument,
/// or on stdin) and the layer on `authorization`, and checks that they agree on
/// everything the layer shows: status, challenges, reason, detail, hint,
/// token fingerprint, and the reason the client sees.
fn assert_agree(
    fx: &Fixture,
    cli_args: &[&str],
    stdin: Option<&str>,
    authorization: &str,
    reason: &str,
) -> Value {
    let at = AT.to_string();
    let mut args = vec![
        "explain",
        "--config",
        fx.config(),
        "--at",
        &at,
        "--format",
        "json",
    ];
    args.extend_from_slice(cli_args);
    let out = run(&args, stdin, &env());
    assert_eq!(out.code, 1, "explain should reject: {out:?}");
    let cli: Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    let layer = through_layer(at_clock(fx.load()), authorization);
    let ev = |k: &str| layer.event.get(k).map_or(Value::Null, |v| json!(v));

    assert_eq!(cli["reason"], reason, "{cli:#}");
    assert_eq!(ev("auth.reason"), json!(reason), "{layer:?}");
    assert_eq!(cli["status"], json!(layer.status));
    assert_eq!(cli["challenges"], json!(layer.challenges));
    assert!(!layer.challenges.is_empty() || layer.status == 403);
    assert_eq!(cli["detail"], ev("auth.detail"));
    assert_eq!(cli["hint"], ev("auth.hint"));
    assert_eq!(cli["token_fp"], ev("auth.token_fp"));
    assert_eq!(cli["public_reason"], json!(layer.body_reason));
    assert_eq!(cli["passed"], false);
    cli
}

/// As [`assert_agree`] for a Bearer token given as the argument, and once more
/// on stdin as a whole `Authorization` value.
fn assert_agree_token(fx: &Fixture, token: &str, reason: &str) -> Value {
    let value = format!("Bearer {token}");
    let cli = assert_agree(fx, &[token], None, &value, reason);
    let again = assert_agree(fx, &["-"], Some(&format!("{value}\n")), &value, reason);
    assert_eq!(cli, again);
    cli
}

// ---------------------------------------------------------------------------
// explain: one test per reason reproducible offline
// ---------------------------------------------------------------------------

#[test]
fn explain_token_malformed() {
    let fx = Fixture::base();
    let cli = assert_agree_token(&fx, "a.b.c", "token_malformed");
    assert_eq!(cli["signature_verified"], false);
}

#[test]
fn explain_algorithm_not_allowed() {
    let fx = Fixture::base();
    let mut h = Header::new(Algorithm::HS512);
    h.kid = Some("hmac-1".into());
    let token = jsonwebtoken::encode(
        &h,
        &claims(json!({})),
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap();
    let cli = assert_agree_token(&fx, &token, "algorithm_not_allowed");
    assert_eq!(cli["header"]["alg"], "HS512");
}

#[test]
fn explain_unknown_key() {
    let fx = Fixture::base();
    let token = rs256("rsa-1999", "rsa.pem", &claims(json!({})));
    assert_agree_token(&fx, &token, "unknown_key");
}

#[test]
fn explain_signature_invalid() {
    let fx = Fixture::base();
    let token = rs256("rsa-2026", "rsa2.pem", &claims(json!({})));
    let cli = assert_agree_token(&fx, &token, "signature_invalid");
    assert_eq!(cli["signature_verified"], false);
    assert_eq!(cli["claim_checks"], json!({}));
}

#[test]
fn explain_token_expired() {
    let fx = Fixture::base();
    let token = good_token(json!({"iat": AT - 7200, "exp": AT - 3600}));
    let cli = assert_agree_token(&fx, &token, "token_expired");
    assert_eq!(cli["signature_verified"], true);
    assert_eq!(cli["claim_checks"]["exp"], "failed");
    assert_eq!(cli["claim_checks"]["aud"], "not checked");
}

#[test]
fn explain_token_not_yet_valid() {
    let fx = Fixture::base();
    let token = good_token(json!({"nbf": AT + 3600, "exp": AT + 7200}));
    let cli = assert_agree_token(&fx, &token, "token_not_yet_valid");
    assert_eq!(cli["claim_checks"]["exp"], "passed");
    assert_eq!(cli["claim_checks"]["nbf"], "failed");
}

#[test]
fn explain_token_issued_in_future() {
    let fx = Fixture::base();
    let token = good_token(json!({"iat": AT + 3600, "exp": AT + 7200}));
    assert_agree_token(&fx, &token, "token_issued_in_future");
}

#[test]
fn explain_issuer_mismatch() {
    let fx = Fixture::base();
    let token = good_token(json!({"iss": "https://other.example.com/"}));
    let cli = assert_agree_token(&fx, &token, "issuer_mismatch");
    assert_eq!(cli["claim_checks"]["iss"], "failed");
}

#[test]
fn explain_audience_mismatch() {
    let fx = Fixture::base();
    let token = good_token(json!({"aud": "billing-api"}));
    let cli = assert_agree_token(&fx, &token, "audience_mismatch");
    assert_eq!(cli["claims"]["aud"], "billing-api");
    assert_eq!(cli["claim_checks"]["iss"], "passed");
    assert_eq!(cli["claim_checks"]["aud"], "failed");
}

#[test]
fn explain_missing_claim() {
    let fx = Fixture::base();
    let token = good_token(json!({"exp": null}));
    let cli = assert_agree_token(&fx, &token, "missing_claim");
    assert_eq!(cli["signature_verified"], true);
}

#[test]
fn explain_unknown_api_key() {
    let fx = Fixture::base();
    assert_agree_token(
        &fx,
        "ag_thisKeyIsNotConfigured000000000000000000",
        "unknown_api_key",
    );
}

#[test]
fn explain_malformed_credentials() {
    let fx = Fixture::base();
    // Basic: not base64 (401); Bearer: a character outside b64token (400).
    let basic = "Basic %%%not-base64%%%";
    let cli = assert_agree(&fx, &[basic], None, basic, "malformed_credentials");
    assert_eq!(cli["status"], 401);
    let cli = assert_agree(&fx, &["a,b"], None, "Bearer a,b", "malformed_credentials");
    assert_eq!(cli["status"], 400);
}

#[test]
fn explain_unsupported_scheme() {
    let fx = Fixture::base();
    let digest = "Digest username=\"ok\", realm=\"api\"";
    let cli = assert_agree(&fx, &["-"], Some(digest), digest, "unsupported_scheme");
    assert_eq!(cli["challenges"].as_array().unwrap().len(), 2, "{cli:#}");
}

#[test]
fn explain_unknown_user() {
    let fx = Fixture::base();
    let cli = assert_agree(
        &fx,
        &["--basic", "-"],
        Some("nobody:ok-pw\n"),
        &basic_value("nobody:ok-pw"),
        "unknown_user",
    );
    assert_eq!(cli["public_reason"], "invalid_credentials");
}

#[test]
fn explain_wrong_password() {
    let fx = Fixture::base();
    let cli = assert_agree(
        &fx,
        &["--basic", "ok:wrong"],
        None,
        &basic_value("ok:wrong"),
        "wrong_password",
    );
    assert_eq!(cli["public_reason"], "invalid_credentials");
}

// ---------------------------------------------------------------------------
// explain: passing requests, --at, text output, remote keys, usage errors
// ---------------------------------------------------------------------------

#[test]
fn explain_passes_what_the_layer_passes() {
    let fx = Fixture::base();
    let at = AT.to_string();
    for (args, stdin, value) in [
        (
            vec![good_token(json!({}))],
            None,
            format!("Bearer {}", good_token(json!({}))),
        ),
        (vec![API_KEY.to_owned()], None, format!("Bearer {API_KEY}")),
        (
            vec!["--basic".to_owned(), "-".to_owned()],
            Some("ok:ok-pw\n"),
            basic_value("ok:ok-pw"),
        ),
    ] {
        let mut a = vec![
            "explain",
            "--config",
            fx.config(),
            "--at",
            &at,
            "--format",
            "json",
        ];
        a.extend(args.iter().map(String::as_str));
        let out = run(&a, stdin, &env());
        assert_eq!(out.code, 0, "{out:?}");
        let cli: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(cli["passed"], true);
        assert_eq!(cli["status"], 200);
        let layer = through_layer(at_clock(fx.load()), &value);
        assert_eq!(layer.status, 200, "{layer:?}");
    }
    // Scopes and subject of the API key's principal.
    let out = run(
        &[
            "explain",
            "--config",
            fx.config(),
            "--format",
            "json",
            API_KEY,
        ],
        None,
        &env(),
    );
    let cli: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        cli["principal"],
        json!({"scheme": "bearer", "subject": "ci-bot", "scopes": ["orders:read"]})
    );
}

#[test]
fn explain_at_answers_would_it_have_passed_then() {
    let fx = Fixture::base();
    // Valid from AT-60 to AT+600: rejected now (the real clock is far from AT or
    // not; --at decides), passes at AT, expired at AT+3600.
    let token = good_token(json!({}));
    let at = |t: &str| {
        run(
            &[
                "explain",
                "--config",
                fx.config(),
                "--at",
                t,
                "--format",
                "json",
                &token,
            ],
            None,
            &env(),
        )
    };
    assert_eq!(at("2026-11-25T10:00:00Z").code, 0);
    assert_eq!(at("2026-11-25T11:00:00+01:00").code, 0);
    let later = at(&(AT + 3600).to_string());
    assert_eq!(later.code, 1);
    let v: Value = serde_json::from_str(&later.stdout).unwrap();
    assert_eq!(v["reason"], "token_expired");
    let bad = at("yesterday");
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("RFC 3339"), "{bad:?}");
}

#[test]
fn explain_text_output_has_everything_but_the_token() {
    let fx = Fixture::base();
    let token = good_token(json!({"iat": AT - 7200, "exp": AT - 3600}));
    let at = AT.to_string();
    let out = run(
        &["explain", "--config", fx.config(), "--at", &at, &token],
        None,
        &env(),
    );
    assert_eq!(out.code, 1);
    let fp: String = Sha256::digest(token.as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for needle in [
        "REJECTED: 401 token_expired",
        "detail",
        "token expired 3600 s ago (leeway 30 s)",
        "hint",
        "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
        &fp,
        "claims (VERIFIED",
        "alg: \"RS256\"",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
    let exp_row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("  exp "))
        .expect("an exp row");
    for needle in ["1795597200", "FAILED", "2026-11-25T09:00:00Z, 1 h ago"] {
        assert!(exp_row.contains(needle), "{exp_row}");
    }
    assert_no_secret(&out.all(), &[&token]);
    // A token whose signature fails: claims are marked unverified.
    let forged = rs256("rsa-2026", "rsa2.pem", &claims(json!({})));
    let out = run(&["explain", "--config", fx.config(), &forged], None, &env());
    assert!(
        out.stdout.contains("claims (NOT verified"),
        "{}",
        out.stdout
    );
}

#[test]
fn explain_stays_offline_with_remote_keys_unless_fetch_keys() {
    let text = format!(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\naudience = \"{AUD}\"\njwks_url = \"https://keys.invalid/jwks.json\"\n\n[basic]\nhtpasswd_file = \"users.htpasswd\"\n"
    );
    let fx = Fixture::new(&text, &format!("{BASIC_LINE}\n"));
    let token = good_token(json!({}));
    let out = run(&["explain", "--config", fx.config(), &token], None, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("--fetch-keys") && out.stderr.contains("keys.invalid"),
        "{out:?}"
    );
    // Basic needs no keys: explained offline.
    let out = run(
        &["explain", "--config", fx.config(), "--basic", "ok:ok-pw"],
        None,
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
}

/// A one-shot loopback JWKS server: answers up to `n` requests with `body`.
fn jwks_server(body: String, n: usize) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    addr
}

#[test]
fn explain_fetch_keys_uses_the_remote_key_set() {
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa_key("rsa.pem"), Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("remote-1".into());
    let body = json!({"keys": [jwk]}).to_string();
    let addr = jwks_server(body, 4);
    let text = format!(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\nissuer = \"{ISS}\"\naudience = \"{AUD}\"\njwks_url = \"http://{addr}/jwks\"\njwks_timeout_secs = 5\n"
    );
    let fx = Fixture::new(&text, "");
    let token = rs256("remote-1", "rsa.pem", &claims(json!({})));
    let at = AT.to_string();
    let out = run(
        &[
            "explain",
            "--config",
            fx.config(),
            "--fetch-keys",
            "--at",
            &at,
            "--format",
            "json",
            &token,
        ],
        None,
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["signature_verified"], true);
}

/// No configuration file: the key set's URL, the issuer and the audience on the
/// command line, and explain fetches the keys itself.
#[test]
fn explain_without_a_file_takes_the_key_set_and_claims_from_flags() {
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa_key("rsa.pem"), Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("remote-1".into());
    let body = json!({"keys": [jwk]}).to_string();
    let addr = jwks_server(body, 8);
    let url = format!("http://{addr}/jwks");
    let token = rs256("remote-1", "rsa.pem", &claims(json!({})));
    let at = AT.to_string();
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", "--jwks-url", &url, "--at", &at];
        args.extend_from_slice(extra);
        args.push(&token);
        run(&args, None, &[])
    };
    let out = explain(&["--issuer", ISS, "--audience", AUD, "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["signature_verified"], true);
    // Another audience: rejected, and the text names the flags it was checked with.
    let out = explain(&["--audience", "billing-api"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("audience_mismatch"), "{}", out.stdout);
    assert!(
        out.stdout.contains("--audience billing-api"),
        "{}",
        out.stdout
    );
    // An algorithm the token does not use.
    let out = explain(&["--algorithm", "ES256"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("algorithm_not_allowed"),
        "{}",
        out.stdout
    );
    // A name that is not an algorithm, and the flags beside a file: usage errors.
    let out = explain(&["--algorithm", "rs256"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--algorithm rs256"), "{out:?}");
    let out = run(
        &["explain", "--config", "x.toml", "--jwks-url", &url, &token],
        None,
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert_no_secret(&out.all(), &[&token]);
}

#[test]
fn explain_usage_and_config_errors_exit_2() {
    let fx = Fixture::base();
    // No credential (stdin closed, so empty).
    let out = run(&["explain", "--config", fx.config()], None, &env());
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("credential"), "{out:?}");
    // --basic without a colon.
    let out = run(
        &["explain", "--config", fx.config(), "--basic", "nocolon"],
        None,
        &env(),
    );
    assert_eq!(out.code, 2);
    // Missing --config (clap usage error).
    let out = run(&["explain", "x.y.z"], None, &env());
    assert_eq!(out.code, 2);
    // Config error: the HMAC variable unset.
    let out = run(&["explain", "--config", fx.config(), "a.b.c"], None, &[]);
    assert_eq!(out.code, 2);
    // Named by its key path, not by the variable (which may be a pasted secret).
    assert!(
        out.stderr.contains(".secret_env")
            && !out.stderr.contains(HS_VAR)
            && out.stderr.contains("check-config"),
        "{out:?}"
    );
    // Unreadable file.
    let out = run(
        &["explain", "--config", "/nonexistent/authgate.toml", "a.b.c"],
        None,
        &[],
    );
    assert_eq!(out.code, 2);
}

// ---------------------------------------------------------------------------
// check-config
// ---------------------------------------------------------------------------

#[test]
fn check_config_summarizes_a_valid_config() {
    let fx = Fixture::base();
    let out = run(&["check-config", fx.config()], None, &env());
    assert_eq!(out.code, 0, "{out:?}");
    for needle in [
        "valid",
        "bearer (JWT), bearer (API keys), basic",
        "RS256, HS256",
        ISS,
        AUD,
        "kid \"rsa-2026\", RSA public key, verifies RS256",
        "rsa.pub.pem",
        "kid \"hmac-1\", HMAC secret, verifies HS256; bearer.jwt.keys[1]: secret_env AG_CLI_TEST_HS_SECRET (set)",
        "id \"ci-bot\", scopes [orders:read]",
        "users            1",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("warnings"), "{}", out.stdout);
    assert_no_secret(&out.all(), &[HS_SECRET, API_KEY, &sha256_hex(API_KEY)]);
}

#[test]
fn check_config_warns_about_a_missing_audience() {
    let text = format!(
        "[bearer.jwt]\nalgorithms = [\"HS256\", \"ES256\"]\n[[bearer.jwt.keys]]\nsecret_env = \"{HS_VAR}\"\n"
    );
    let fx = Fixture::new(&text, "");
    let out = run(&["check-config", fx.config()], None, &env());
    assert_eq!(out.code, 0, "{out:?}");
    for needle in [
        "warnings:",
        "no audience configured",
        "no issuer configured",
        "ES256 is in bearer.jwt.algorithms but no configured key fits it",
        "(no kid)",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
}

#[test]
fn check_config_reports_a_basic_store_whose_hash_costs_differ() {
    // The workspace's fixture users: bcrypt cost 10, argon2id, SHA-512-crypt at
    // 5000 and at 10000 rounds.
    let htpasswd = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/users.htpasswd"),
    )
    .unwrap();
    let fx = Fixture::new(
        "[basic]\nhtpasswd_file = \"users.htpasswd\"\nmax_pending = 16\n",
        &htpasswd,
    );
    let out = run(&["check-config", fx.config()], None, &env());
    assert_eq!(out.code, 0, "{out:?}");
    for needle in [
        "users            8",
        "max_pending      16",
        "password hashes  bcrypt cost 10 (5 users); argon2id m=4096 KiB, t=2, p=1 (1 user); SHA-512-crypt rounds=5000 (1 user); SHA-512-crypt rounds=10000 (1 user)",
        "warnings:",
        "[basic] password hashes differ in cost: bcrypt cost 10 (alice, erin, frank and 2 more); argon2id m=4096 KiB, t=2, p=1 (bob); SHA-512-crypt rounds=5000 (carol); SHA-512-crypt rounds=10000 (dave)",
        "runs one verification of each of these 4 kinds",
        "held to at least the most expensive cost",
        "Give every user a hash of one algorithm and cost",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
    // Neither hashes nor salts are printed.
    for line in htpasswd.lines().filter(|l| l.contains(':')) {
        let hash = line.split_once(':').unwrap().1;
        let tail = &hash[hash.len() - 20..];
        assert!(!out.all().contains(tail), "hash of {line:?} printed");
    }
    assert!(!out.all().contains("$2y$") && !out.all().contains("$argon2id$"));

    // One kind (the base fixture: one bcrypt user): no such warning.
    let fx = Fixture::base();
    let out = run(&["check-config", fx.config()], None, &env());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("password hashes  bcrypt cost 4 (1 user)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("differ in cost"), "{}", out.stdout);
}

/// Each invalid configuration: exit 2, stderr names the key at fault, and no
/// secret is printed.
#[test]
fn check_config_rejects_invalid_configs() {
    let rsa = key_str("rsa.pub.pem");
    /// (name, config text, environment, expected in stderr)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "typo'd key",
            "[bearer.jwt]\nalgoritms = [\"RS256\"]\n".to_owned(),
            env(),
            "algoritms",
        ),
        (
            "short HS secret",
            format!(
                "[bearer.jwt]\nalgorithms = [\"HS256\"]\n[[bearer.jwt.keys]]\nkid = \"h\"\nsecret_env = \"{HS_VAR}\"\n"
            ),
            vec![(HS_VAR, "short-secret-0123")],
            "RFC 7518",
        ),
        (
            "empty algorithms",
            format!(
                "[bearer.jwt]\nalgorithms = []\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"{rsa}\"\n"
            ),
            env(),
            "bearer.jwt.algorithms",
        ),
        (
            "duplicate kid",
            format!(
                "[bearer.jwt]\nalgorithms = [\"RS256\"]\n[[bearer.jwt.keys]]\nkid = \"a\"\npublic_key_pem_file = \"{rsa}\"\n[[bearer.jwt.keys]]\nkid = \"a\"\npublic_key_pem_file = \"{rsa}\"\n"
            ),
            env(),
            "duplicate kid",
        ),
        (
            "bad API key digest",
            "[[bearer.api_keys]]\nid = \"ci\"\nsha256 = \"abc123\"\n".to_owned(),
            env(),
            "bearer.api_keys[0].sha256",
        ),
        (
            "unset env var",
            format!(
                "[bearer.jwt]\nalgorithms = [\"HS256\"]\naudience = \"{AUD}\"\n[[bearer.jwt.keys]]\nkid = \"h\"\nsecret_env = \"AG_CLI_TEST_UNSET_VAR\"\n"
            ),
            vec![],
            "bearer.jwt.keys[0].secret_env: the environment variable named there is unset",
        ),
    ];
    for (name, text, env, needle) in cases {
        let fx = Fixture::new(&text, "");
        let out = run(&["check-config", fx.config()], None, &env);
        assert_eq!(out.code, 2, "{name}: {out:?}");
        assert!(
            out.stderr.contains(needle),
            "{name}: missing {needle:?} in {out:?}"
        );
        assert!(out.stderr.contains("NOT valid"), "{name}: {out:?}");
        assert_no_secret(&out.all(), &["short-secret-0123", HS_SECRET]);
    }
    // Unreadable file.
    let out = run(
        &["check-config", "/nonexistent/dir/authgate.toml"],
        None,
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot read"), "{out:?}");
}

#[test]
fn check_config_names_every_unset_variable_and_still_checks_the_rest() {
    let text = format!(
        "[bearer.jwt]\nalgorithms = [\"HS256\"]\naudience = \"{AUD}\"\n[[bearer.jwt.keys]]\nkid = \"a\"\nsecret_env = \"AG_CLI_UNSET_A\"\n[[bearer.jwt.keys]]\nkid = \"b\"\nsecret_env = \"AG_CLI_UNSET_B\"\n"
    );
    let fx = Fixture::new(&text, "");
    let out = run(&["check-config", fx.config()], None, &[]);
    assert_eq!(out.code, 2);
    // Named by their key paths: the value of an unset secret_env may be a secret
    // pasted in the wrong place, so it is never printed.
    assert!(
        out.stderr.contains("bearer.jwt.keys[0].secret_env")
            && out.stderr.contains("bearer.jwt.keys[1].secret_env"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("bearer.jwt.keys[1].secret_env (NOT SET)"),
        "{out:?}"
    );
    assert!(!out.all().contains("AG_CLI_UNSET_"), "{out:?}");
}

/// A secret pasted into `secret_env` has the shape of a variable name more often
/// than not; no output of any subcommand that reads the file prints it.
#[test]
fn a_secret_pasted_into_secret_env_is_never_printed() {
    const PASTED: &str = "Kq7vXh2mP9sLw3NtR8yB5zC1dF6gJ4aE";
    let text = format!(
        "[bearer.jwt]\nalgorithms = [\"HS256\"]\naudience = \"{AUD}\"\n[[bearer.jwt.keys]]\nkid = \"h\"\nsecret_env = \"{PASTED}\"\n"
    );
    let fx = Fixture::new(&text, "");
    let check = run(&["check-config", fx.config()], None, &[]);
    assert_eq!(check.code, 2, "{check:?}");
    assert!(
        check.stderr.contains("bearer.jwt.keys[0].secret_env"),
        "{check:?}"
    );
    let mint = run(
        &["token", "mint", "--config", fx.config(), "--key", "h"],
        None,
        &[],
    );
    assert_ne!(mint.code, 0, "{mint:?}");
    let explain = run(&["explain", "--config", fx.config(), "x.y.z"], None, &[]);
    for out in [&check, &mint, &explain] {
        assert_no_secret(&out.all(), &[PASTED]);
        assert!(!out.all().contains("Kq7v"), "{out:?}");
    }
}

// ---------------------------------------------------------------------------
// hash-password
// ---------------------------------------------------------------------------

/// An htpasswd line from `hash-password --stdin`, authenticated through the layer.
fn hash_and_authenticate(extra: &[&str], hash_prefix: &str) {
    let password = "correct horse battery staple ✓";
    let mut args = vec!["hash-password", "--stdin"];
    args.extend_from_slice(extra);
    args.push("alice");
    let out = run(&args, Some(&format!("{password}\n")), &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let line = out.stdout.trim_end();
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    assert!(line.starts_with(&format!("alice:{hash_prefix}")), "{line}");
    assert_no_secret(&out.all(), &[password]);

    let fx = Fixture::new(
        "[basic]\nhtpasswd_file = \"users.htpasswd\"\n",
        &format!("{line}\n"),
    );
    let ok = through_layer(fx.load(), &basic_value(&format!("alice:{password}")));
    assert_eq!(ok.status, 200, "{ok:?}");
    let bad = through_layer(
        fx.load(),
        &basic_value("alice:correct horse battery staple"),
    );
    assert_eq!(bad.status, 401);
    assert_eq!(bad.event["auth.reason"], "wrong_password");
}

#[test]
fn hash_password_argon2id_verifies_through_the_layer() {
    hash_and_authenticate(&[], "$argon2id$v=19$m=19456,t=2,p=1$");
}

#[test]
fn hash_password_bcrypt_verifies_through_the_layer() {
    hash_and_authenticate(&["--algorithm", "bcrypt"], "$2y$10$");
}

#[test]
fn hash_password_refuses_what_would_not_work() {
    let cases: [(&[&str], &str, &str); 7] = [
        (
            &["--algorithm", "bcrypt", "--cost", "9", "u"],
            "pw",
            "below 10",
        ),
        (&["--algorithm", "bcrypt", "u"], &"x".repeat(73), "72"),
        (&["--cost", "12", "u"], "pw", "--cost sets the bcrypt"),
        (&["a:b"], "pw", "':'"),
        (&["a\u{7}b"], "pw", "control character"),
        (&["u"], "", "empty"),
        (&["u"], "two\nlines", "more than one line"),
    ];
    for (args, password, needle) in cases {
        let mut a = vec!["hash-password", "--stdin"];
        a.extend_from_slice(args);
        let out = run(&a, Some(password), &[]);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(needle),
            "{args:?}: missing {needle:?} in {out:?}"
        );
        assert!(out.stdout.is_empty());
    }
}

// ---------------------------------------------------------------------------
// api-key new
// ---------------------------------------------------------------------------

#[test]
fn api_key_new_output_pasted_into_a_config_authenticates() {
    let out = run(
        &[
            "api-key",
            "new",
            "--id",
            "reporting",
            "--scopes",
            "orders:read,orders:export",
        ],
        None,
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let (key, block) = out.stdout.split_once('\n').unwrap();
    assert!(key.starts_with("ag_") && key.len() == 46, "{key}");
    assert!(key[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(block.contains("[[bearer.api_keys]]"));
    assert!(block.contains(&format!("sha256 = \"{}\"", sha256_hex(key))));

    let fx = Fixture::new(block, "");
    let ok = through_layer(fx.load(), &format!("Bearer {key}"));
    assert_eq!(ok.status, 200, "{ok:?}");
    let out = run(
        &["explain", "--config", fx.config(), "--format", "json", key],
        None,
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["principal"]["subject"], "reporting");
    assert_eq!(
        v["principal"]["scopes"],
        json!(["orders:read", "orders:export"])
    );

    // Two keys differ.
    let other = run(&["api-key", "new", "--id", "x"], None, &[]);
    assert_ne!(other.stdout.lines().next(), Some(key));
    // Bad input.
    assert_eq!(run(&["api-key", "new", "--id", ""], None, &[]).code, 2);
    assert_eq!(
        run(
            &["api-key", "new", "--id", "a", "--scopes", "a b"],
            None,
            &[]
        )
        .code,
        2
    );
}

// ---------------------------------------------------------------------------
// token mint
// ---------------------------------------------------------------------------

fn mint_config() -> String {
    format!(
        r#"[bearer.jwt]
algorithms = ["HS256", "RS256", "ES256", "EdDSA"]
issuer = "{ISS}"
audience = ["{AUD}", "other-api"]
required_claims = ["exp", "sub"]

[[bearer.jwt.keys]]
kid = "hmac-1"
secret_env = "{HS_VAR}"
[[bearer.jwt.keys]]
kid = "rsa-2026"
public_key_pem_file = "{rsa}"
[[bearer.jwt.keys]]
kid = "ec-1"
public_key_pem_file = "{ec}"
[[bearer.jwt.keys]]
kid = "ed-1"
public_key_pem_file = "{ed}"
"#,
        rsa = key_str("rsa.pub.pem"),
        ec = key_str("ec.pub.pem"),
        ed = key_str("ed.pub.pem"),
    )
}

/// Minting with an RSA, EC or Ed25519 key needs only that key: an HMAC key's
/// unset variable elsewhere in the file does not stop it. The HMAC key itself
/// still needs its secret.
#[test]
fn token_mint_with_a_public_key_needs_no_unrelated_hmac_secret() {
    let fx = Fixture::new(&mint_config(), "");
    let pk = key_str("rsa.pem");
    let out = run(
        &[
            "token",
            "mint",
            "--config",
            fx.config(),
            "--key",
            "rsa-2026",
            "--private-key",
            &pk,
        ],
        None,
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim().split('.').count(), 3, "{out:?}");
    let hmac = run(
        &["token", "mint", "--config", fx.config(), "--key", "hmac-1"],
        None,
        &[],
    );
    assert_eq!(hmac.code, 2, "{hmac:?}");
    assert!(
        hmac.stderr.contains("bearer.jwt.keys[0].secret_env"),
        "{hmac:?}"
    );
}

#[test]
fn token_mint_output_passes_explain() {
    let fx = Fixture::new(&mint_config(), "");
    for (kid, private, alg) in [
        ("hmac-1", None, "HS256"),
        ("rsa-2026", Some("rsa.pem"), "RS256"),
        ("ec-1", Some("ec.pem"), "ES256"),
        ("ed-1", Some("ed.pem"), "EdDSA"),
    ] {
        let pk = private.map(key_str);
        let mut args = vec![
            "token",
            "mint",
            "--config",
            fx.config(),
            "--key",
            kid,
            "--exp",
            "2h",
        ];
        if let Some(pk) = &pk {
            args.extend(["--private-key", pk.as_str()]);
        }
        let out = run(&args, None, &env());
        assert_eq!(out.code, 0, "{kid}: {out:?}");
        let token = out.stdout.trim();
        assert_eq!(out.stdout.lines().count(), 1);
        let ex = run(
            &["explain", "--config", fx.config(), "--format", "json", "-"],
            Some(token),
            &env(),
        );
        assert_eq!(ex.code, 0, "{kid}: {ex:?}");
        let v: Value = serde_json::from_str(&ex.stdout).unwrap();
        assert_eq!(v["header"]["alg"], alg);
        assert_eq!(v["header"]["kid"], kid);
        assert_eq!(v["claims"]["sub"], "test");
        assert_eq!(v["claims"]["iss"], ISS);
        assert_eq!(v["claims"]["aud"], AUD);
        let (iat, exp) = (
            v["claims"]["iat"].as_u64().unwrap(),
            v["claims"]["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 7200);
        // And through the layer itself.
        assert_eq!(
            through_layer(fx.load(), &format!("Bearer {token}")).status,
            200
        );
    }
}

#[test]
fn token_mint_merges_claims() {
    let fx = Fixture::new(&mint_config(), "");
    let out = run(
        &[
            "token",
            "mint",
            "--config",
            fx.config(),
            "--key",
            "hmac-1",
            "--claims",
            r#"{"sub":"alice","scope":"admin","aud":"other-api"}"#,
        ],
        None,
        &env(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let ex = run(
        &[
            "explain",
            "--config",
            fx.config(),
            "--format",
            "json",
            out.stdout.trim(),
        ],
        None,
        &env(),
    );
    let v: Value = serde_json::from_str(&ex.stdout).unwrap();
    assert_eq!(v["principal"]["subject"], "alice");
    assert_eq!(v["principal"]["scopes"], json!(["admin"]));
    assert_eq!(v["claims"]["aud"], "other-api");
    // Removing a required claim: printed (signature fine), with a warning.
    let out = run(
        &[
            "token",
            "mint",
            "--config",
            fx.config(),
            "--key",
            "hmac-1",
            "--claims",
            r#"{"sub":null}"#,
        ],
        None,
        &env(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("missing_claim"),
        "{out:?}"
    );
    // Bad --claims / --exp.
    for bad in [
        vec!["--claims", "[1]"],
        vec!["--claims", "{nope"],
        vec!["--exp", "10 minutes"],
    ] {
        let mut a = vec!["token", "mint", "--config", fx.config(), "--key", "hmac-1"];
        a.extend(bad.iter().copied());
        let out = run(&a, None, &env());
        assert_eq!(out.code, 2, "{bad:?}: {out:?}");
    }
}

#[test]
fn token_mint_refuses_an_unknown_kid() {
    let fx = Fixture::new(&mint_config(), "");
    let out = run(
        &[
            "token",
            "mint",
            "--config",
            fx.config(),
            "--key",
            "rsa-1999",
        ],
        None,
        &env(),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("no key with kid \"rsa-1999\"") && out.stderr.contains("\"rsa-2026\""),
        "{out:?}"
    );
}

#[test]
fn token_mint_refuses_a_mismatching_private_key() {
    let fx = Fixture::new(&mint_config(), "");
    let rsa2 = key_str("rsa2.pem");
    let out = run(
        &[
            "token",
            "mint",
            "--config",
            fx.config(),
            "--key",
            "rsa-2026",
            "--private-key",
            &rsa2,
        ],
        None,
        &env(),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.is_empty(), "no token may be printed: {out:?}");
    assert!(
        out.stderr.contains("signature_invalid") && out.stderr.contains("does not match"),
        "{out:?}"
    );
    // A private key of another type, and no private key at all.
    let ec = key_str("ec.pem");
    let out = run(
        &[
            "token",
            "mint",
            "--config",
            fx.config(),
            "--key",
            "rsa-2026",
            "--private-key",
            &ec,
        ],
        None,
        &env(),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.is_empty());
    let out = run(
        &[
            "token",
            "mint",
            "--config",
            fx.config(),
            "--key",
            "rsa-2026",
        ],
        None,
        &env(),
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--private-key"), "{out:?}");
}

#[test]
fn token_mint_verifies_offline_against_a_config_with_remote_keys() {
    // The remote key set is never contacted (keys.invalid does not resolve).
    let text = format!(
        "[bearer.jwt]\nalgorithms = [\"HS256\"]\naudience = \"{AUD}\"\njwks_url = \"https://keys.invalid/jwks.json\"\n[[bearer.jwt.keys]]\nkid = \"hmac-1\"\nsecret_env = \"{HS_VAR}\"\n"
    );
    let fx = Fixture::new(&text, "");
    let out = run(
        &["token", "mint", "--config", fx.config(), "--key", "hmac-1"],
        None,
        &env(),
    );
    assert_eq!(out.code, 0, "{out:?}");
}

// ---------------------------------------------------------------------------
// Help and secrets
// ---------------------------------------------------------------------------

#[test]
fn every_subcommand_has_help_with_examples() {
    for cmd in [
        vec![],
        vec!["explain"],
        vec!["check-config"],
        vec!["hash-password"],
        vec!["api-key", "new"],
        vec!["token", "mint"],
    ] {
        let mut a = cmd.clone();
        a.push("--help");
        let out = run(&a, None, &[]);
        assert_eq!(out.code, 0, "{cmd:?}");
        assert!(out.stdout.contains("Examples:"), "{cmd:?}: {}", out.stdout);
    }
}

/// No subcommand prints a secret: not the token explained, the Basic password,
/// the API key, the HMAC secret, a private key or a password being hashed; except
/// `api-key new`, which prints its new key exactly once.
#[test]
fn no_subcommand_prints_a_secret() {
    let fx = Fixture::base();
    let pem = std::fs::read_to_string(key("rsa.pem")).unwrap();
    // A line from the middle of the private key's base64 body.
    let pem_line = pem.lines().nth(5).unwrap().to_owned();
    let password = "Distinctive-Password-4711";
    let mut secrets: Vec<String> =
        vec![HS_SECRET.into(), API_KEY.into(), pem_line, password.into()];
    let mut outputs = Vec::new();

    let hashed = run(&["hash-password", "--stdin", "bob"], Some(password), &[]);
    assert_eq!(hashed.code, 0);
    outputs.push(hashed.all());
    let bfx = Fixture::new(&base_config(), &format!("{BASIC_LINE}\n{}", hashed.stdout));

    let tokens = [
        good_token(json!({})),
        good_token(json!({"exp": AT - 3600})),
        good_token(json!({"aud": "billing-api"})),
        rs256("rsa-2026", "rsa2.pem", &claims(json!({}))),
    ];
    for t in &tokens {
        secrets.push(t.clone());
        for format in ["text", "json"] {
            outputs.push(
                run(
                    &["explain", "--config", fx.config(), "--format", format, t],
                    None,
                    &env(),
                )
                .all(),
            );
        }
    }
    for format in ["text", "json"] {
        outputs.push(
            run(
                &[
                    "explain",
                    "--config",
                    fx.config(),
                    "--format",
                    format,
                    API_KEY,
                ],
                None,
                &env(),
            )
            .all(),
        );
        for pw in [password, "Wrong-Password-0815"] {
            let creds = format!("bob:{pw}");
            outputs.push(
                run(
                    &[
                        "explain",
                        "--config",
                        bfx.config(),
                        "--format",
                        format,
                        "--basic",
                        "-",
                    ],
                    Some(&creds),
                    &env(),
                )
                .all(),
            );
        }
    }
    secrets.push("Wrong-Password-0815".into());
    outputs.push(run(&["check-config", fx.config()], None, &env()).all());
    // A mint with the HMAC secret and with a private key; the minted tokens are
    // the command's output, but the secret and key material are not.
    let mfx = Fixture::new(&mint_config(), "");
    outputs.push(
        run(
            &["token", "mint", "--config", mfx.config(), "--key", "hmac-1"],
            None,
            &env(),
        )
        .all(),
    );
    let rsa = key_str("rsa.pem");
    outputs.push(
        run(
            &[
                "token",
                "mint",
                "--config",
                mfx.config(),
                "--key",
                "rsa-2026",
                "--private-key",
                &rsa,
            ],
            None,
            &env(),
        )
        .all(),
    );
    // Error paths too.
    let rsa2 = key_str("rsa2.pem");
    outputs.push(
        run(
            &[
                "token",
                "mint",
                "--config",
                mfx.config(),
                "--key",
                "rsa-2026",
                "--private-key",
                &rsa2,
            ],
            None,
            &env(),
        )
        .all(),
    );
    outputs.push(
        run(
            &[
                "hash-password",
                "--stdin",
                "--algorithm",
                "bcrypt",
                "--cost",
                "4",
                "x",
            ],
            Some(password),
            &[],
        )
        .all(),
    );

    let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    for (i, out) in outputs.iter().enumerate() {
        if let Some(found) = find_secret(out, &secret_refs) {
            panic!("output #{i}: {found}");
        }
    }

    // api-key new: the key once, in no other form.
    let out = run(&["api-key", "new", "--id", "once"], None, &[]);
    let key = out.stdout.lines().next().unwrap().to_owned();
    assert_eq!(out.all().matches(&key).count(), 1, "{out:?}");
    let without = out.all().replacen(&key, "", 1);
    assert_no_secret(&without, &[&key]);
}

// ---------------------------------------------------------------------------
// Secret scanning (copied from the workspace's tests/common, which this crate
// cannot reach)
// ---------------------------------------------------------------------------

/// Every form of `secret` that [`assert_no_secret`] looks for.
fn secret_forms(secret: &str) -> Vec<(&'static str, String)> {
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

/// Panics if any secret appears in `haystack` in any form of [`secret_forms`];
/// the message names the secret's index and the form, never the secret.
fn assert_no_secret(haystack: &str, secrets: &[&str]) {
    if let Some(found) = find_secret(haystack, secrets) {
        panic!("{found}");
    }
}

/// `secret #N found in output (FORM form)` for the first secret in `haystack`.
fn find_secret(haystack: &str, secrets: &[&str]) -> Option<String> {
    for (index, secret) in secrets.iter().enumerate() {
        for (form, needle) in secret_forms(secret) {
            if haystack.contains(&needle) {
                return Some(format!("secret #{index} found in output ({form} form)"));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// explain: step-up (RFC 9470) with --acr / --max-age
// ---------------------------------------------------------------------------

#[test]
fn explain_insufficient_user_authentication() {
    let fx = Fixture::base();
    let at = AT.to_string();
    let explain = |token: &str, extra: &[&str]| {
        let mut args = vec![
            "explain",
            "--config",
            fx.config(),
            "--at",
            &at,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        args.push(token);
        run(&args, None, &env())
    };
    let pwd = good_token(json!({"acr": "urn:example:pwd", "auth_time": AT - 900}));
    let out = explain(&pwd, &["--acr", "urn:example:mfa", "--max-age", "300"]);
    assert_eq!(out.code, 1, "{out:?}");
    let cli: Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    assert_eq!(cli["reason"], "insufficient_user_authentication");
    assert_eq!(cli["status"], 401);
    assert_eq!(cli["required_acr"], "urn:example:mfa");
    assert_eq!(cli["token_acr"], "urn:example:pwd");
    assert_eq!(cli["auth_age_secs"], 900);
    assert_eq!(cli["signature_verified"], true);
    let challenge = cli["challenges"][0].as_str().unwrap();
    assert!(
        challenge.contains(r#"acr_values="urn:example:mfa""#)
            && challenge.contains(r#"max_age="300""#),
        "{challenge}"
    );

    // The text form names them too.
    let mut args = vec!["explain", "--config", fx.config(), "--at", &at];
    args.extend_from_slice(&["--acr", "urn:example:mfa", "--max-age", "300", &pwd]);
    let out = run(&args, None, &env());
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("REJECTED: 401 insufficient_user_authentication"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("required acr urn:example:mfa; token acr urn:example:pwd; login 900 s ago"),
        "{}",
        out.stdout
    );

    // A recent multi-factor login passes; without the flags no route check runs.
    let mfa = good_token(json!({"acr": "urn:example:mfa", "auth_time": AT - 60}));
    assert_eq!(
        explain(&mfa, &["--acr", "urn:example:mfa", "--max-age", "300"]).code,
        0
    );
    assert_eq!(explain(&pwd, &[]).code, 0);
}
