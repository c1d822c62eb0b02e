//! A real OpenID Provider for the interop tests: `oidc-provider` (the Node project in
//! tests/idp/, see provider.mjs there for its configuration) started as a child
//! process on 127.0.0.1.
//!
//! Include it next to `mod common;` with
//! `#[path = "common/idp.rs"] mod idp;`.
//!
//! [`shared`] starts one provider per test binary (the first test to ask starts
//! it); tests that stop or restart a provider start their own with [`Idp::start`].
//! A provider exits when its [`Idp`] is dropped, and also when the test binary
//! exits (it watches its stdin, a pipe held by the binary), so none is left
//! behind even for the shared one, which is never dropped.
//!
//! Without `node` on the PATH the tests print why and pass, except on CI (`CI`
//! set), where a missing `node` fails them: `.ci/run` installs it.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;

/// The secret of every token client (client-rs256, …, short-lived).
pub const CLIENT_SECRET: &str = "authgate-test-client-secret";
/// The resource server's own client, for introspection.
pub const INTROSPECTION_CLIENT: &str = "authgate";
pub const INTROSPECTION_SECRET: &str = "authgate-introspection-secret";
/// The resource the tests' layer is configured for, and another one.
pub const ORDERS: &str = "urn:authgate:orders";
pub const BILLING: &str = "urn:authgate:billing";

/// One running provider.
pub struct Idp {
    child: Option<Child>,
    // Held open: the provider exits when it closes.
    _stdin: Option<ChildStdin>,
    pub issuer: String,
    pub addr: SocketAddr,
    /// The signing keys' kids by algorithm (RS256, PS256, ES256, EdDSA).
    pub kids: serde_json::Value,
}

fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/idp")
}

fn on_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

fn node_present() -> bool {
    Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the provider can run here. `false` (with a printed reason) only when
/// `node` is absent and this is not CI; on CI that panics.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if !node_present() {
            assert!(
                !on_ci(),
                "`node` is not on the PATH: the OpenID Provider interop tests cannot run (CI installs Node.js and runs `npm ci` in tests/idp)"
            );
            // Straight to stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: `node` is not on the PATH, so the OpenID Provider interop tests do not run here (install Node.js 20+ and run `npm ci` in tests/idp)"
            );
            return false;
        }
        let dir = project_dir();
        if !dir.join("node_modules/oidc-provider").is_dir() {
            // A fresh checkout: install the locked packages once.
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .expect("running `npm ci` in tests/idp");
            assert!(status.success(), "`npm ci` in tests/idp failed");
        }
        true
    })
}

/// The provider shared by the tests of this binary, started on first use; `None`
/// when [`available`] is false.
pub fn shared() -> Option<&'static Idp> {
    static SHARED: OnceLock<Option<Idp>> = OnceLock::new();
    SHARED.get_or_init(|| Idp::start(None)).as_ref()
}

impl Idp {
    /// Starts a provider on `port` (a free one when `None`), waits until its
    /// discovery document answers. `None` when [`available`] is false.
    pub fn start(port: Option<u16>) -> Option<Idp> {
        if !available() {
            return None;
        }
        let mut cmd = Command::new("node");
        cmd.arg("provider.mjs")
            .current_dir(project_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(port) = port {
            cmd.args(["--port", &port.to_string()]);
        }
        let mut child = cmd.spawn().expect("starting node provider.mjs");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if !line.trim().is_empty() => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the provider did not start within 30 s: {other:?}");
            }
        };
        let info: serde_json::Value = serde_json::from_str(&line).expect("provider's JSON line");
        let issuer = info["issuer"].as_str().expect("issuer").to_owned();
        let port = u16::try_from(info["port"].as_u64().expect("port")).expect("port");
        let idp = Idp {
            child: Some(child),
            _stdin: stdin,
            issuer,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            kids: info["kids"].clone(),
        };
        idp.wait_for_discovery();
        Some(idp)
    }

    /// Polls the discovery document until it answers 200 (at most 10 s).
    fn wait_for_discovery(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.blocking_status("/.well-known/openid-configuration") == Some(200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the provider's discovery document did not answer within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A plain blocking GET's status (before any runtime exists).
    fn blocking_status(&self, path: &str) -> Option<u16> {
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    }

    /// The port, to restart on the same one.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops the provider and waits for it to exit.
    pub fn stop(&mut self) {
        self._stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A client-credentials token (RFC 6749 §4.4) for `client` (its secret is
    /// [`CLIENT_SECRET`]): a JWT when `resource` is given (RFC 8707), opaque
    /// otherwise. Panics unless the provider answers 200.
    pub async fn token(&self, client: &str, resource: Option<&str>, scope: &str) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        form.append_pair("scope", scope);
        if let Some(resource) = resource {
            form.append_pair("resource", resource);
        }
        let res = self
            .post("/token", client, CLIENT_SECRET, form.finish())
            .await;
        assert_eq!(res.status, 200, "token endpoint: {}", res.text());
        res.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Revokes a token at the provider (RFC 7009).
    pub async fn revoke(&self, token: &str) {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .finish();
        let res = self
            .post(
                "/token/revocation",
                INTROSPECTION_CLIENT,
                INTROSPECTION_SECRET,
                body,
            )
            .await;
        assert_eq!(res.status, 200, "revocation endpoint: {}", res.text());
    }

    /// The provider's introspection endpoint URL.
    pub fn introspection_url(&self) -> String {
        format!("{}/token/introspection", self.issuer)
    }

    async fn post(&self, path: &str, user: &str, pass: &str, form: String) -> super::common::Resp {
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        );
        super::common::request(
            self.addr,
            http::Method::POST,
            path,
            &[
                ("authorization", auth.as_bytes()),
                (
                    "content-type",
                    b"application/x-www-form-urlencoded".as_slice(),
                ),
            ],
            Bytes::from(form),
        )
        .await
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.stop();
    }
}
