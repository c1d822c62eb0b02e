//! The example server of SPEC §5 as a child process: its first stderr line, its
//! routes over a real connection, its JSON log events on stdout, CORS, graceful
//! shutdown on SIGTERM, and exit code 2 with one line for a bad configuration.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The compiled example (built by `cargo test` with the other examples; built
/// here if it is missing).
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir
        .join("examples")
        .join(format!("server{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "server"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build --example server");
        assert!(status.success());
    }
    bin
}

const SECRET_B64: &str = "c2VydmVyLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODktYWJjZGVmZ2hpamtsbW5vcA==";

fn write_config(dir: &std::path::Path, extra: &str) -> PathBuf {
    let keys = common::key_path("rsa.pub.pem");
    let text = format!(
        r#"
realm = "api"
{extra}
[bearer.jwt]
algorithms = ["RS256", "HS256"]
issuer = "https://id.example.com/"
audience = "orders-api"
required_claims = ["exp", "sub"]

[[bearer.jwt.keys]]
kid = "rsa-1"
public_key_pem_file = "{}"

[[bearer.jwt.keys]]
kid = "hmac-1"
secret_env = "SERVER_TEST_HS_SECRET"
secret_encoding = "base64"
"#,
        keys.display()
    );
    let path = dir.join("authgate.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Server {
    child: Child,
    addr: SocketAddr,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(config: &std::path::Path) -> Server {
        Server::start_with(config, &[])
    }

    fn start_with(config: &std::path::Path, extra: &[&str]) -> Server {
        let mut child = Command::new(server_binary())
            .args([
                "--config",
                config.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
            ])
            .args(extra)
            .env("SERVER_TEST_HS_SECRET", SECRET_B64)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the example server");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        let addr = first
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first stderr line: {first:?}"))
            .parse()
            .unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stdout);
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Server {
            child,
            addr,
            stdout,
        }
    }

    /// Waits (bounded) for a JSON log line whose event has `auth.reason == reason`.
    fn event(&self, reason: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = self.stdout.lock().unwrap().iter().find_map(|l| {
                let v: Value = serde_json::from_str(l).ok()?;
                (v["fields"]["auth.reason"] == reason).then_some(v)
            });
            if let Some(v) = found {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "no {reason} event in {:?}",
                self.stdout.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn hs_token(claims: Value) -> String {
    let secret = base64::engine::general_purpose::STANDARD
        .decode(SECRET_B64)
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("hmac-1".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .unwrap()
}

#[tokio::test]
async fn serves_the_spec_routes_and_logs_json_events() {
    let dir = tempdir();
    let server = Server::start(&write_config(&dir, ""));
    let addr = server.addr;
    let now = common::now();
    let base = json!({"iss": "https://id.example.com/", "aud": "orders-api", "sub": "alice"});
    let with = |extra: Value| {
        let mut c = base.clone();
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };

    assert_eq!(common::get(addr, "/healthz", &[]).await.status, 200);

    // No credentials: 401 with the Bearer challenge, no error parameter.
    let r = common::get(addr, "/api/whoami", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.www_authenticate(), ["Bearer realm=\"api\""]);
    assert_eq!(r.json()["reason"], "missing_credentials");

    // A valid token: the whoami JSON of SPEC §5.
    let ok = hs_token(with(json!({"exp": now + 600, "scope": "orders:read"})));
    let (name, value) = common::bearer(&ok);
    let r = common::get(addr, "/api/whoami", &[(name, &value)]).await;
    assert_eq!(r.status, 200, "{}", r.dump());
    assert_eq!(
        r.json(),
        json!({"subject": "alice", "scheme": "bearer", "scopes": ["orders:read"]})
    );

    // Without scope admin: 403 insufficient_scope.
    let r = common::get(addr, "/api/admin", &[(name, &value)]).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["reason"], "insufficient_scope");
    let admin = hs_token(with(json!({"exp": now + 600, "scope": "admin"})));
    let (n2, v2) = common::bearer(&admin);
    assert_eq!(
        common::get(addr, "/api/admin", &[(n2, &v2)]).await.status,
        200
    );

    // Expired: 401 with the error challenge, CORS header on the rejection, and
    // the JSON event on stdout with its fields under `fields`.
    let expired = hs_token(with(json!({"exp": now - 300})));
    let (n3, v3) = common::bearer(&expired);
    let r = common::get(
        addr,
        "/api/whoami",
        &[(n3, &v3), ("origin", b"https://app.example")],
    )
    .await;
    assert_eq!(r.status, 401);
    let (scheme, params) = common::parse_challenge(&r.www_authenticate()[0]).unwrap();
    assert_eq!(scheme, "Bearer");
    assert_eq!(common::param(&params, "error"), Some("invalid_token"));
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let event = server.event("token_expired");
    assert_eq!(event["target"], "authgate");
    assert_eq!(event["level"], "INFO");
    let f = &event["fields"];
    assert_eq!(f["message"], "authentication failed");
    assert_eq!(f["http.response.status_code"], 401);
    assert_eq!(f["url.path"], "/api/whoami");
    assert_eq!(f["jwt.kid"], "hmac-1");
    assert!(f["auth.skew_secs"].as_i64().unwrap() >= 300);
    let logs = server.stdout.lock().unwrap().join("\n");
    common::assert_no_secret(&logs, &[&expired, &ok, &admin, SECRET_B64]);

    // A CORS preflight is answered by the CORS layer, unauthenticated.
    let r = common::request(
        addr,
        http::Method::OPTIONS,
        "/api/whoami",
        &[
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"GET"),
        ],
        bytes::Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.dump());
    assert!(r.header("access-control-allow-origin").is_some());

    // SIGTERM: graceful shutdown, exit 0.
    assert!(server.terminate().success());
}

#[tokio::test]
async fn authenticate_preflight_mode_has_no_cors_layer() {
    let dir = tempdir();
    let server = Server::start(&write_config(&dir, "cors_preflight = \"authenticate\""));
    let r = common::request(
        server.addr,
        http::Method::OPTIONS,
        "/api/whoami",
        &[
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"GET"),
        ],
        bytes::Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["reason"], "missing_credentials");
    assert!(server.terminate().success());
}

/// `--metrics`: Prometheus text at `GET /metrics`, outside the auth layer, with
/// the counters of the requests made before (SPEC §11); without the flag it is
/// an unknown route behind the layer.
#[tokio::test]
async fn metrics_flag_serves_prometheus_text_outside_the_layer() {
    let dir = tempdir();
    let server = Server::start_with(&write_config(&dir, ""), &["--metrics"]);
    let addr = server.addr;
    let now = common::now();
    let ok = hs_token(json!({
        "iss": "https://id.example.com/", "aud": "orders-api", "sub": "alice",
        "exp": now + 600,
    }));
    let (name, value) = common::bearer(&ok);
    assert_eq!(
        common::get(addr, "/api/whoami", &[(name, &value)])
            .await
            .status,
        200
    );
    assert_eq!(
        common::get(addr, "/api/whoami", &[(name, &value)])
            .await
            .status,
        200
    );
    assert_eq!(common::get(addr, "/api/whoami", &[]).await.status, 401);
    assert_eq!(common::get(addr, "/api/whoami", &[]).await.status, 401);
    let digest: &[u8] = b"Digest username=\"someone\"";
    let r = common::get(addr, "/api/admin", &[("authorization", digest)]).await;
    assert_eq!(r.status, 401);

    // No credentials needed.
    let r = common::get(addr, "/metrics", &[]).await;
    assert_eq!(r.status, 200, "{}", r.dump());
    assert!(
        r.header("content-type").unwrap().starts_with("text/plain"),
        "{}",
        r.dump()
    );
    let text = r.text();
    let value_of = |series: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    };
    assert_eq!(
        value_of(
            r#"authgate_requests_total{outcome="authenticated",reason="none",scheme="bearer"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value_of(
            r#"authgate_requests_total{outcome="unauthenticated",reason="missing_credentials",scheme="none"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value_of(
            r#"authgate_requests_total{outcome="unauthenticated",reason="unsupported_scheme",scheme="other"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value_of(r#"authgate_token_cache_total{result="hit"}"#),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("# HELP authgate_requests_total"), "{text}");
    assert!(
        text.contains(
            r#"authgate_verify_duration_seconds_bucket{scheme="bearer",cached="false",le="0.01"}"#
        ),
        "{text}"
    );
    // The scheme's name stays out of the labels.
    assert!(!text.contains("digest"), "{text}");
    // The scrape itself went around the layer: no request was counted for it.
    let again = common::get(addr, "/metrics", &[]).await.text();
    assert!(
        again.contains(r#"reason="missing_credentials",scheme="none"} 2"#),
        "{again}"
    );
    assert!(server.terminate().success());

    // Without the flag /metrics is an unknown route behind the layer.
    let plain = Server::start(&write_config(&dir, ""));
    let r = common::get(plain.addr, "/metrics", &[]).await;
    assert_eq!(r.status, 401, "{}", r.dump());
    assert!(!r.text().contains("authgate_requests_total"));
    assert!(plain.terminate().success());
}

#[test]
fn a_bad_configuration_is_one_stderr_line_and_exit_2() {
    let dir = tempdir();
    // A typo'd key.
    let path = dir.join("typo.toml");
    std::fs::write(&path, "[bearer.jwt]\nalgoritms = [\"RS256\"]\n").unwrap();
    // An HS256 secret too short, given through the environment: never printed.
    let short = dir.join("short.toml");
    std::fs::write(
        &short,
        "[bearer.jwt]\nalgorithms = [\"HS256\"]\n[[bearer.jwt.keys]]\nsecret_env = \"SERVER_TEST_SHORT\"\n",
    )
    .unwrap();
    for (config, key) in [(&path, "algoritms"), (&short, "SERVER_TEST_SHORT")] {
        let out = Command::new(server_binary())
            .args([
                "--config",
                config.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .env("SERVER_TEST_SHORT", "too-short-secret-value")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(key), "{stderr}");
        assert!(!stderr.contains("too-short-secret-value"), "{stderr}");
    }
}

/// A secret pasted into `secret_env` instead of the variable's name is never
/// printed, even when it has the shape of a variable name (most random secrets do).
#[test]
fn a_secret_pasted_into_secret_env_is_never_printed() {
    const PASTED: &str = "Kq7vXh2mP9sLw3NtR8yB5zC1dF6gJ4aE";
    let dir = tempdir();
    for value in [PASTED, "Kq7v+Xh2/mP9sLw3NtR8yB5zC1dF6gJ4aE=="] {
        let config = dir.join("pasted.toml");
        std::fs::write(
            &config,
            format!("[bearer.jwt]\nalgorithms = [\"HS256\"]\n[[bearer.jwt.keys]]\nsecret_env = \"{value}\"\n"),
        )
        .unwrap();
        let out = Command::new(server_binary())
            .args([
                "--config",
                config.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .env_remove(value)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("bearer.jwt.keys[0].secret_env"), "{stderr}");
        for part in [value, "Kq7v", "gJ4aE"] {
            assert!(
                !stderr.contains(part) && !stdout.contains(part),
                "{part}: {stderr}{stdout}"
            );
        }
    }
}

/// Waits (at most `limit`) for the server to close `conn`: a read that returns 0
/// bytes or fails. Returns the time it took, or `None` if it stayed open.
fn closed_within(conn: &mut std::net::TcpStream, limit: Duration) -> Option<Duration> {
    use std::io::Read;
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        conn.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        match conn.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

/// A client that trickles its request headers a few bytes at a time is cut off
/// once the header timeout passes, however steadily it keeps sending.
#[test]
fn trickled_headers_are_cut_off_at_the_header_timeout() {
    use std::io::Write;
    let dir = tempdir();
    let server = Server::start_with(&write_config(&dir, ""), &["--header-timeout-secs", "1"]);
    let mut conn = std::net::TcpStream::connect(server.addr).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let start = Instant::now();
    let mut cut = false;
    // One header line every 100 ms for at most 6 s: far past the timeout.
    for i in 0..60 {
        if conn
            .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
            .is_err()
        {
            cut = true;
            break;
        }
        if closed_within(&mut conn, Duration::from_millis(100)).is_some() {
            cut = true;
            break;
        }
    }
    let took = start.elapsed();
    assert!(
        cut,
        "the connection stayed open for {took:?} of trickled headers"
    );
    assert!(
        took >= Duration::from_millis(800),
        "cut after {took:?}, before the timeout"
    );
    assert!(took < Duration::from_secs(4), "cut only after {took:?}");
}

/// An idle keep-alive connection, and one that never sends anything, are closed.
#[test]
fn idle_connections_are_closed() {
    use std::io::{Read, Write};
    let dir = tempdir();
    let server = Server::start_with(&write_config(&dir, ""), &["--header-timeout-secs", "1"]);
    // After one complete request and its response.
    let mut conn = std::net::TcpStream::connect(server.addr).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let took =
        closed_within(&mut conn, Duration::from_secs(5)).expect("idle keep-alive stayed open 5 s");
    assert!(
        took >= Duration::from_millis(700),
        "closed after {took:?}, before the timeout"
    );
    // A connection that never sends a byte.
    let mut silent = std::net::TcpStream::connect(server.addr).unwrap();
    closed_within(&mut silent, Duration::from_secs(5))
        .expect("a silent connection stayed open 5 s");
}

/// With no flag, the bound is 10 s: a silent connection is closed after about
/// that long (well within a minute), and not at once.
#[test]
fn the_default_header_timeout_is_ten_seconds() {
    let dir = tempdir();
    let server = Server::start(&write_config(&dir, ""));
    let mut silent = std::net::TcpStream::connect(server.addr).unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(30))
        .expect("a silent connection stayed open 30 s");
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(20),
        "closed after {took:?}"
    );
}

/// A fresh directory, removed when dropped.
fn tempdir() -> common::TempPath {
    common::TempPath::dir("server-test")
}

/// With `[resource]`: every 401 names the metadata document, which the server
/// serves unauthenticated at the RFC 9728 §3.1 path; `/api/step-up` wants a
/// recent multi-factor login (RFC 9470).
#[tokio::test]
async fn resource_metadata_and_step_up_routes() {
    let dir = tempdir();
    let server = Server::start(&write_config(
        &dir,
        r#"[resource]
id = "http://127.0.0.1/mcp"
authorization_servers = ["https://id.example.com/"]
scopes_supported = ["admin"]
"#,
    ));
    let addr = server.addr;
    let now = common::now();

    let r = common::get(addr, "/api/whoami", &[]).await;
    assert_eq!(r.status, 401);
    let url = "http://127.0.0.1/.well-known/oauth-protected-resource/mcp";
    assert_eq!(
        r.www_authenticate(),
        [format!("Bearer realm=\"api\", resource_metadata=\"{url}\"")]
    );
    let doc = common::get(addr, "/.well-known/oauth-protected-resource/mcp", &[]).await;
    assert_eq!(doc.status, 200);
    assert_eq!(
        doc.header("cache-control").as_deref(),
        Some("public, max-age=3600")
    );
    assert_eq!(doc.json()["resource"], "http://127.0.0.1/mcp");
    assert_eq!(
        doc.json()["authorization_servers"],
        json!(["https://id.example.com/"])
    );

    // The identifier is an accepted audience; /api/step-up wants acr
    // urn:example:mfa and a login at most 300 s old.
    let claims = |extra: Value| {
        let mut c = json!({"iss": "https://id.example.com/", "aud": "http://127.0.0.1/mcp",
            "sub": "alice", "exp": now + 600});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let pwd = hs_token(claims(
        json!({"acr": "urn:example:pwd", "auth_time": now - 10}),
    ));
    let (name, value) = common::bearer(&pwd);
    assert_eq!(
        common::get(addr, "/api/whoami", &[(name, &value)])
            .await
            .status,
        200
    );
    let r = common::get(addr, "/api/step-up", &[(name, &value)]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["reason"], "insufficient_user_authentication");
    let (_, params) = common::parse_challenge(&r.www_authenticate()[0]).unwrap();
    assert_eq!(
        common::param(&params, "acr_values"),
        Some("urn:example:mfa")
    );
    assert_eq!(common::param(&params, "max_age"), Some("300"));
    assert_eq!(common::param(&params, "resource_metadata"), Some(url));
    let ev = server.event("insufficient_user_authentication");
    assert_eq!(ev["fields"]["auth.token_acr"], "urn:example:pwd");
    assert_eq!(ev["fields"]["auth.required_acr"], "urn:example:mfa");

    let mfa = hs_token(claims(
        json!({"acr": "urn:example:mfa", "auth_time": now - 10}),
    ));
    let (name, value) = common::bearer(&mfa);
    let r = common::get(addr, "/api/step-up", &[(name, &value)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["subject"], "alice");
    assert_eq!(server.terminate().code(), Some(0));
}
