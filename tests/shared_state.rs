//! Shared state through a real Redis (started by the test on a free port): two
//! example-server processes share revocations and failed-attempt counts; Redis
//! killed and restarted under them.

#![cfg(feature = "redis")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{RedisServer, TempPath, basic, bearer, hdrs, now};
use serde_json::{Value, json};

const SECRET: &str = "shared-state-test-secret-0123456789-abcdefghij";

/// The example server, with the `redis` feature, built once per run of this file
/// (a no-op when it is up to date: `cargo test --test shared_state` alone does not
/// build the examples, and a stale binary would test old code).
fn server_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test binary path");
            let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
            let status = Command::new(env!("CARGO"))
                .args(["build", "--example", "server", "--features", "redis"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo build --example server");
            assert!(status.success());
            dir.join("examples").join("server")
        })
        .clone()
}

fn config(dir: &Path, redis: &RedisServer, prefix: &str, mode: &str) -> PathBuf {
    let hash = bcrypt::hash_with_salt("alice-pw", 4, *b"shared-test-salt")
        .expect("bcrypt")
        .format_for_version(bcrypt::Version::TwoY);
    let text = format!(
        r#"
[bearer.jwt]
algorithms = ["HS256"]
required_claims = ["exp", "sub"]
[[bearer.jwt.keys]]
secret_env = "SHARED_TEST_SECRET"

[basic]
[[basic.users]]
name = "alice"
password_hash = "{hash}"
scopes = ["read"]

[state]
redis_url = "{}"
key_prefix = "{prefix}"
on_unavailable = "{mode}"

[limits]
max_failures = 4
window_secs = 120
"#,
        redis.url()
    );
    let path = dir.join(format!("{prefix}authgate.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

struct Instance {
    child: Child,
    addr: SocketAddr,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Instance {
    fn start(config: &Path) -> Instance {
        let mut child = Command::new(server_binary())
            .args([
                "--config",
                config.to_str().expect("path"),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--log-format", "json"])
            .env("SHARED_TEST_SECRET", SECRET)
            .env("RUST_LOG", "authgate=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the example server");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut first = String::new();
        stderr.read_line(&mut first).expect("first line");
        let addr = first
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first stderr line: {first:?}"))
            .parse()
            .expect("address");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stdout);
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().expect("lines").push(line);
            }
        });
        Instance {
            child,
            addr,
            stdout,
        }
    }

    /// Log lines whose message contains `text`.
    fn logged(&self, text: &str) -> Vec<Value> {
        self.stdout
            .lock()
            .expect("lines")
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| {
                v["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(text))
            })
            .collect()
    }

    fn raw_logs(&self) -> String {
        self.stdout.lock().expect("lines").join("\n")
    }

    async fn whoami(&self, token: &str) -> common::Resp {
        common::get(self.addr, "/api/whoami", &hdrs(&[bearer(token)])).await
    }

    async fn revoke(&self, admin: &str, body: Value) -> u16 {
        let h = [
            bearer(admin),
            ("content-type", b"application/json".to_vec()),
        ];
        common::request(
            self.addr,
            http::Method::POST,
            "/admin/revoke",
            &hdrs(&h),
            if body.is_null() {
                bytes::Bytes::new()
            } else {
                body.to_string().into()
            },
        )
        .await
        .status
    }

    /// Waits (bounded) until the instance is connected to the store.
    async fn wait_connected(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.logged("shared state store connected").is_empty() {
            assert!(
                Instant::now() < deadline,
                "never connected: {}",
                self.raw_logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token(sub: &str, jti: &str, scope: &str) -> String {
    let claims = json!({"sub": sub, "jti": jti, "scope": scope, "exp": now() + 3600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode")
}

struct Setup {
    redis: RedisServer,
    a: Instance,
    b: Instance,
    _dir: TempPath,
}

async fn setup(prefix: &str, mode: &str) -> Option<Setup> {
    let redis = RedisServer::start()?;
    let dir = TempPath::dir("shared-state");
    let cfg = config(&dir, &redis, prefix, mode);
    let a = Instance::start(&cfg);
    let b = Instance::start(&cfg);
    a.wait_connected().await;
    b.wait_connected().await;
    Some(Setup {
        redis,
        a,
        b,
        _dir: dir,
    })
}

/// Polls `f` every 2 ms until it holds; how long that took, at most `limit`.
async fn until<F, Fut>(limit: Duration, mut f: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if f().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

/// 100 tokens, each accepted by B (and so in B's verified-token cache), then
/// revoked through A: B refuses each within 1 s. Prints p50 / p99.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_one_instance_reaches_the_other_within_a_second() {
    let Some(s) = setup("rev:", "open").await else {
        return;
    };
    let admin = token("root", "admin-1", "admin");
    let mut took = Vec::new();
    for i in 0..100 {
        let t = token("user", &format!("t-{i}"), "read");
        assert_eq!(s.b.whoami(&t).await.status, 200);
        assert_eq!(
            s.a.revoke(&admin, json!({"jti": format!("t-{i}")})).await,
            204
        );
        let start = Instant::now();
        let seen = until(Duration::from_secs(1), || async {
            let r = s.b.whoami(&t).await;
            r.status == 401 && r.json()["reason"] == "token_revoked"
        })
        .await;
        assert!(
            seen.is_some(),
            "B still accepts t-{i} 1 s after A revoked it"
        );
        took.push(start.elapsed());
    }
    took.sort();
    eprintln!(
        "revocation propagation A -> B over {} revocations: p50 {:?}, p99 {:?}, max {:?}",
        took.len(),
        took[took.len() / 2],
        took[took.len() * 99 / 100],
        took[took.len() - 1]
    );
    // The caller's own token, with no body.
    let own = token("root", "admin-2", "admin");
    assert_eq!(s.a.revoke(&own, Value::Null).await, 204);
    assert!(
        until(Duration::from_secs(1), || async {
            s.b.whoami(&own).await.status == 401
        })
        .await
        .is_some()
    );
    drop(s.redis);
}

/// A guesser alternating A and B is refused after max_failures (4) in total,
/// by both, with no password in any log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_spreading_tries_across_instances_is_limited_after_max_failures_total() {
    let Some(s) = setup("lim:", "open").await else {
        return;
    };
    let guess = |i: usize| basic("alice", &format!("guess-{i}"));
    for i in 0..4 {
        let inst = if i % 2 == 0 { &s.a } else { &s.b };
        let r = common::get(inst.addr, "/api/whoami", &hdrs(&[guess(i)])).await;
        assert_eq!(r.status, 401, "try {i}: {}", r.dump());
    }
    for inst in [&s.a, &s.b] {
        let r = common::get(
            inst.addr,
            "/api/whoami",
            &hdrs(&[basic("alice", "alice-pw")]),
        )
        .await;
        assert_eq!(r.status, 429, "{}", r.dump());
        assert!(r.header("retry-after").is_some());
    }
    for inst in [&s.a, &s.b] {
        assert!(
            !inst.raw_logs().contains("guess-"),
            "a password reached the logs"
        );
    }
}

/// Redis killed: "open" keeps serving (revocations made before still hold, one
/// WARN per outage); a revocation made on A meanwhile holds on A at once and
/// reaches B after Redis returns, with no restart of either instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_open_keeps_serving_and_catches_up_after_it_returns() {
    let Some(mut s) = setup("open:", "open").await else {
        return;
    };
    let admin = token("root", "admin-1", "admin");
    let before = token("user", "before", "read");
    let during = token("user", "during", "read");
    let fine = token("user", "fine", "read");
    assert_eq!(s.a.revoke(&admin, json!({"jti": "before"})).await, 204);
    assert!(
        until(Duration::from_secs(1), || async {
            s.b.whoami(&before).await.status == 401
        })
        .await
        .is_some()
    );

    s.redis.stop();
    for inst in [&s.a, &s.b] {
        let warned = until(Duration::from_secs(5), || async {
            !inst.logged("unreachable").is_empty()
        })
        .await;
        assert!(warned.is_some(), "no WARN: {}", inst.raw_logs());
    }
    for _ in 0..3 {
        for inst in [&s.a, &s.b] {
            assert_eq!(inst.whoami(&fine).await.status, 200);
            assert_eq!(
                inst.whoami(&before).await.status,
                401,
                "a revocation was forgotten"
            );
        }
    }
    assert_eq!(s.a.revoke(&admin, json!({"jti": "during"})).await, 204);
    assert_eq!(
        s.a.whoami(&during).await.status,
        401,
        "not applied on A at once"
    );
    assert_eq!(
        s.b.whoami(&during).await.status,
        200,
        "B cannot know it yet"
    );
    // Several failed reconnects: still one WARN per outage.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(s.a.logged("unreachable").len(), 1, "{}", s.a.raw_logs());

    s.redis.restart();
    let seen = until(Duration::from_secs(6), || async {
        s.b.whoami(&during).await.status == 401
    })
    .await;
    assert!(
        seen.is_some(),
        "the revocation made during the outage never reached B"
    );
    for inst in [&s.a, &s.b] {
        let back = until(Duration::from_secs(5), || async {
            !inst.logged("reachable again").is_empty()
        })
        .await;
        assert!(back.is_some(), "no INFO on recovery: {}", inst.raw_logs());
        assert_eq!(inst.whoami(&fine).await.status, 200);
    }
    eprintln!("revocation made during the outage reached B {seen:?} after Redis restarted");
}

/// Redis killed with on_unavailable = "closed": 503 state_unavailable; back to
/// normal when Redis returns, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_closed_answers_503_and_recovers() {
    let Some(mut s) = setup("closed:", "closed").await else {
        return;
    };
    let fine = token("user", "fine", "read");
    assert_eq!(s.a.whoami(&fine).await.status, 200);
    s.redis.stop();
    for inst in [&s.a, &s.b] {
        let closed = until(Duration::from_secs(5), || async {
            let r = inst.whoami(&fine).await;
            r.status == 503 && r.json()["reason"] == "state_unavailable"
        })
        .await;
        assert!(
            closed.is_some(),
            "no 503 state_unavailable: {}",
            inst.raw_logs()
        );
    }
    s.redis.restart();
    for inst in [&s.a, &s.b] {
        let back = until(Duration::from_secs(6), || async {
            inst.whoami(&fine).await.status == 200
        })
        .await;
        assert!(back.is_some(), "still refusing after Redis returned");
    }
}
