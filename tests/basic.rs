//! Basic authentication over the wire (SPEC §1–§3, SECURITY-CASES §2.2 B-xx):
//! real servers on 127.0.0.1, hashes made by htpasswd, mkpasswd and the argon2
//! CLI (tests/fixtures/README.md), never by authgate.
//!
//! Timing parity of unknown users and wrong passwords (SECURITY-CASES T-01) is
//! measured in tests/basic_timing.rs.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use authgate::{ApiKey, AuthConfig, AuthLayer, BasicConfig, Principal};
use axum::{Json, Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Resp, assert_no_secret, basic, capture, fields, hdrs, serve};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Fixtures and the app
// ---------------------------------------------------------------------------

/// `(user, password)` of every user in tests/fixtures/users.htpasswd.
const USERS: &[(&str, &str, &str)] = &[
    ("alice", "alice-s3cret", "bcrypt $2y$ cost 10 (htpasswd -B)"),
    ("bob", "bob-pass-argon", "argon2id (argon2 CLI)"),
    (
        "carol",
        "pa:ss:word",
        "SHA-512-crypt (mkpasswd), ':' in the password",
    ),
    (
        "dave",
        "dave-rounds",
        "SHA-512-crypt rounds=10000 (mkpasswd -R)",
    ),
    ("erin", "erin-2b", "bcrypt $2b$ (mkpasswd)"),
    ("frank", "frank-2a", "bcrypt $2a$ (mkpasswd)"),
    ("jürgen", "jürgen-pw", "UTF-8 user-id, bcrypt $2y$"),
];

/// The 72-byte password of user `long`.
fn p72() -> String {
    "L".repeat(72)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// The `user:hash` line of `user` in users.htpasswd.
fn fixture_line(user: &str) -> String {
    let text = std::fs::read_to_string(fixture("users.htpasswd")).expect("users.htpasswd");
    text.lines()
        .find(|l| l.split_once(':').is_some_and(|(u, _)| u == user))
        .unwrap_or_else(|| panic!("no {user} in users.htpasswd"))
        .to_owned()
}

/// The hash of `user` in users.htpasswd.
fn fixture_hash(user: &str) -> String {
    fixture_line(user)
        .split_once(':')
        .map(|(_, h)| h.to_owned())
        .expect("user:hash")
}

async fn whoami(p: Principal) -> Json<Value> {
    Json(json!({
        "subject": p.subject(),
        "scheme": p.scheme().as_str(),
        "scopes": p.scopes(),
    }))
}

/// `/api/whoami` behind Basic only; `/healthz` open.
fn app(basic_cfg: BasicConfig) -> Router {
    let cfg = AuthConfig::builder()
        .basic(basic_cfg)
        .build()
        .expect("valid config");
    Router::new()
        .route("/api/whoami", get(whoami))
        .layer(AuthLayer::new(cfg))
        .route("/healthz", get(|| async { "ok" }))
}

fn users_config() -> BasicConfig {
    BasicConfig::new()
        .htpasswd_file(fixture("users.htpasswd"))
        .expect("users.htpasswd loads")
}

async fn get_basic(addr: std::net::SocketAddr, user: &str, pass: &str) -> Resp {
    let h = [basic(user, pass)];
    common::get(addr, "/api/whoami", &hdrs(&h)).await
}

/// `Authorization: Basic <encoded>` with arbitrary bytes before encoding, or a
/// raw value after `Basic `.
async fn get_raw(addr: std::net::SocketAddr, value: &[u8]) -> Resp {
    common::get(addr, "/api/whoami", &[("authorization", value)]).await
}

fn basic_bytes(decoded: &[u8]) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(decoded)).into_bytes()
}

/// The one Basic challenge of a Basic-only server (RFC 7617 §2, §2.1).
fn assert_basic_challenge(resp: &Resp) {
    let challenges = resp.challenges();
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    let (scheme, params) = &challenges[0];
    assert_eq!(scheme, "Basic");
    assert_eq!(common::param(params, "realm"), Some("api"));
    assert_eq!(common::param(params, "charset"), Some("UTF-8"));
    assert!(
        common::param(params, "error").is_none(),
        "Basic has no error param"
    );
}

/// The rejection events (message `authentication failed`) captured so far.
fn rejections(cap: &common::Captured) -> Vec<Value> {
    cap.authgate_events()
        .into_iter()
        .filter(|e| fields(e)["message"] == "authentication failed")
        .collect()
}

/// A fresh file path (nothing created), removed when dropped.
fn temp_path(name: &str) -> common::TempPath {
    common::TempPath::new(&format!("basic-it-{name}"))
}

/// Writes `text` with a modification time `secs_ahead` in the future, so every
/// rewrite has a new one even on coarse file-system clocks.
fn write_with_mtime(path: &std::path::Path, text: &str, secs_ahead: u64) {
    std::fs::write(path, text).expect("write htpasswd");
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open htpasswd");
    f.set_modified(SystemTime::now() + Duration::from_secs(secs_ahead))
        .expect("set mtime");
}

// ---------------------------------------------------------------------------
// Hash formats (B-01, B-02, B-08, B-12)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_hash_format_from_outside_tools_verifies() {
    let (cap, _guard) = capture();
    let addr = serve(app(users_config())).await;
    let long = p72();
    let mut all: Vec<(&str, &str, &str)> = USERS.to_vec();
    all.push(("long", &long, "bcrypt, password of exactly 72 bytes"));
    for &(user, pass, what) in &all {
        let resp = get_basic(addr, user, pass).await;
        assert_eq!(resp.status, 200, "{what}: {}", resp.text());
        assert_eq!(
            resp.json(),
            json!({"subject": user, "scheme": "basic", "scopes": []}),
            "{what}"
        );
    }
    // B-02: the scheme name is case-insensitive (RFC 9110 §11.1).
    for scheme in ["basic", "BASIC", "bAsIc"] {
        let value = format!("{scheme} {}", STANDARD.encode("alice:alice-s3cret"));
        assert_eq!(
            get_raw(addr, value.as_bytes()).await.status,
            200,
            "{scheme}"
        );
    }
    // One DEBUG `authenticated` event per success, naming the user.
    let ok: Vec<Value> = cap
        .authgate_events()
        .into_iter()
        .filter(|e| fields(e)["message"] == "authenticated")
        .collect();
    assert_eq!(ok.len(), all.len() + 3);
    assert_eq!(fields(&ok[0])["auth.scheme"], "basic");
    assert_eq!(fields(&ok[0])["auth.subject"], "alice");
    assert!(rejections(&cap).is_empty());
    let secrets: Vec<&str> = all.iter().map(|(_, p, _)| *p).collect();
    assert_no_secret(&cap.raw(), &secrets);
}

#[tokio::test]
async fn users_from_code_carry_their_scopes_and_user_ids_are_exact() {
    let cfg = BasicConfig::new()
        .user("ops", &fixture_hash("alice"), ["admin", "orders:read"])
        .expect("user entry")
        .htpasswd_file(fixture("users.htpasswd"))
        .expect("users.htpasswd");
    let addr = serve(app(cfg)).await;
    let resp = get_basic(addr, "ops", "alice-s3cret").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["scopes"], json!(["admin", "orders:read"]));

    let (cap, _guard) = capture();
    let addr = serve(app(users_config())).await;
    // No case folding, trimming or Unicode normalisation (B-13: NFD jürgen is
    // another user-id than the NFC one stored).
    for (user, pass) in [
        ("Alice", "alice-s3cret"),
        ("alice ", "alice-s3cret"),
        ("ju\u{308}rgen", "jürgen-pw"),
    ] {
        let resp = get_basic(addr, user, pass).await;
        assert_eq!(resp.status, 401, "{user:?}");
    }
    for pass in ["Alice-s3cret", "alice-s3cret ", " alice-s3cret"] {
        assert_eq!(get_basic(addr, "alice", pass).await.status, 401, "{pass:?}");
    }
    let reasons: Vec<Value> = rejections(&cap)
        .iter()
        .map(|e| fields(e)["auth.reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            "unknown_user",
            "unknown_user",
            "unknown_user",
            "wrong_password",
            "wrong_password",
            "wrong_password"
        ]
    );
}

// ---------------------------------------------------------------------------
// Reasons over the wire (B-03..B-10, B-20), events, secrets
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same_to_the_client() {
    let (cap, _guard) = capture();
    let addr = serve(app(users_config())).await;
    let unknown_id = "nobody-here-typed-a-password";
    let unknown_pw = "pw-of-an-unknown-user-1";
    let wrong_pw = "not-alices-password-2";

    let unknown = get_basic(addr, unknown_id, unknown_pw).await;
    let wrong = get_basic(addr, "alice", wrong_pw).await;

    assert_eq!(unknown.status, 401);
    assert_basic_challenge(&unknown);
    assert_eq!(unknown.json()["reason"], "invalid_credentials");
    assert_eq!(
        common::comparable(&unknown),
        common::comparable(&wrong),
        "byte-identical except Date"
    );

    // The events tell them apart; only the known user is named.
    let events = rejections(&cap);
    assert_eq!(events.len(), 2, "{events:#?}");
    let (u, w) = (fields(&events[0]), fields(&events[1]));
    assert_eq!(u["auth.reason"], "unknown_user");
    assert_eq!(w["auth.reason"], "wrong_password");
    assert!(u.get("auth.user").is_none(), "unknown user-id logged: {u}");
    assert_eq!(w["auth.user"], "alice");
    for f in [u, w] {
        assert_eq!(f["auth.scheme"], "basic");
        assert_eq!(f["auth.outcome"], "unauthenticated");
        assert_eq!(f["http.response.status_code"], 401);
        assert!(
            f.get("auth.token_fp").is_none(),
            "no fingerprint of passwords"
        );
    }
    assert_eq!(events[0]["level"], "INFO");

    let everything = format!("{}\n{}\n{}", cap.raw(), unknown.dump(), wrong.dump());
    assert_no_secret(
        &everything,
        &[unknown_id, unknown_pw, wrong_pw, "alice-s3cret"],
    );
}

#[tokio::test]
async fn every_basic_reason_over_the_wire() {
    let (cap, _guard) = capture();
    let addr = serve(app(users_config())).await;
    struct Case {
        name: &'static str,
        value: Vec<u8>,
        reason: &'static str,
        user: Option<&'static str>,
    }
    let cases = [
        Case {
            name: "B-03 bad base64",
            value: b"Basic !!!!".to_vec(),
            reason: "malformed_credentials",
            user: None,
        },
        Case {
            name: "B-04 no colon",
            value: basic_bytes(b"alice"),
            reason: "malformed_credentials",
            user: None,
        },
        Case {
            name: "B-05 empty",
            value: b"Basic".to_vec(),
            reason: "malformed_credentials",
            user: None,
        },
        Case {
            name: "B-10 non-UTF-8 user-id",
            value: basic_bytes(b"\xff\xfe:pw-non-utf8"),
            reason: "malformed_credentials",
            user: None,
        },
        Case {
            name: "non-UTF-8 password",
            value: basic_bytes(b"alice:\xe9t\xe9"),
            reason: "malformed_credentials",
            user: None,
        },
        Case {
            name: "B-06 empty user-id",
            value: basic_bytes(b":pw-empty-user"),
            reason: "unknown_user",
            user: None,
        },
        Case {
            name: "B-07 empty password",
            value: basic_bytes(b"alice:"),
            reason: "wrong_password",
            user: Some("alice"),
        },
        Case {
            name: "B-09 colon splits at the first one",
            value: basic_bytes(b"carol:pa:ss:wrong"),
            reason: "wrong_password",
            user: Some("carol"),
        },
        Case {
            name: "B-09 user-ids cannot hold ':'",
            value: basic_bytes(b"nobody:x:pw-colon-user"),
            reason: "unknown_user",
            user: None,
        },
        Case {
            name: "unknown UTF-8 user-id",
            value: basic_bytes("jörg:pw-jörg".as_bytes()),
            reason: "unknown_user",
            user: None,
        },
    ];
    for case in &cases {
        cap.clear();
        let resp = get_raw(addr, &case.value).await;
        assert_eq!(resp.status, 401, "{}: {}", case.name, resp.text());
        assert_basic_challenge(&resp);
        assert_eq!(
            resp.header("cache-control").as_deref(),
            Some("no-store"),
            "{}",
            case.name
        );
        let public = match case.reason {
            "unknown_user" | "wrong_password" => "invalid_credentials",
            other => other,
        };
        assert_eq!(resp.json()["reason"], public, "{}", case.name);
        let event = cap.one_authgate_event();
        let f = fields(&event);
        assert_eq!(f["auth.reason"], case.reason, "{}", case.name);
        assert_eq!(f["auth.scheme"], "basic", "{}", case.name);
        assert_eq!(
            f.get("auth.user").and_then(Value::as_str),
            case.user,
            "{}",
            case.name
        );
        assert_no_secret(
            &format!("{}\n{}", cap.raw(), resp.dump()),
            &[
                "pw-non-utf8",
                "pw-empty-user",
                "pa:ss:wrong",
                "pw-colon-user",
                "pw-jörg",
                "jörg",
            ],
        );
    }
}

#[test]
fn legacy_formats_are_refused_at_start_up_naming_the_line() {
    let path = fixture("legacy.htpasswd");
    let err = BasicConfig::new().htpasswd_file(&path).unwrap_err();
    assert_eq!(err.key(), "basic.htpasswd_file");
    let msg = err.message();
    assert!(msg.contains("legacy.htpasswd\" line 3:"), "{msg}");
    assert!(msg.contains("$apr1$"), "{msg}");
    for accepted in ["bcrypt", "argon2id", "SHA-512-crypt"] {
        assert!(msg.contains(accepted), "{msg}");
    }
    assert!(!msg.contains("CQxaRl1h"), "the hash is not repeated: {msg}");

    // More refused formats, made by htpasswd / mkpasswd / argon2.
    for (line, names) in [
        ("sha1user:{SHA}NtOU43Co1JrOvDv98Av/fsQjVIY=", "{SHA}"),
        ("cryptuser:K.zpoNG4vc0vA", "DES crypt"),
        ("plainuser:plain-pw", "plaintext"),
        ("md5:$1$PzBc.p9e$T3Jo4zzBsP8.pE6iXVuYI/", "MD5-crypt"),
        (
            "sha256:$5$sH5F6D1.CvtEsrQ3$1/IUBmY6jJPig1HDomcj9ncW.gUNlVdk.6v.s7ngz4B",
            "SHA-256-crypt",
        ),
        (
            "yes:$y$j9T$3k2IN2oWbvzUfp5KV0RqZ0$ZwpzP/pUNMBKEi2ysqgt9OTU2Ms/CAf2C3jg/Ph8jo2",
            "yescrypt",
        ),
        (
            "argon2i:$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQxMjM0$aeM1aQZGBbjCuyx8TZwBuHGn4eH0QZ0HSGk2HGM426M",
            "argon2i",
        ),
    ] {
        let text = format!("# comment\n{line}\n");
        let err = BasicConfig::new().htpasswd_str(&text).unwrap_err();
        assert_eq!(err.key(), "basic.htpasswd_file");
        assert!(err.message().contains("line 2:"), "{err}");
        assert!(err.message().contains(names), "{err}");
        assert!(!err.to_string().contains("plain-pw"), "{err}");
        assert!(!err.to_string().contains("NtOU43Co1J"), "{err}");
    }

    // Duplicates, and unreadable files (the path is named, never contents).
    let alice = fixture_line("alice");
    let err = BasicConfig::new()
        .htpasswd_str(&format!("{alice}\n\n{alice}\n"))
        .unwrap_err();
    assert!(
        err.message()
            .contains("line 3: user \"alice\" is already defined on line 1"),
        "{err}"
    );
    let missing = temp_path("missing.htpasswd");
    let err = BasicConfig::new().htpasswd_file(&missing).unwrap_err();
    assert_eq!(err.key(), "basic.htpasswd_file");
    assert!(
        err.message().contains(&missing.display().to_string()),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Length rules (B-21, B-22)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bcrypt_ignores_nothing_past_72_bytes() {
    let (cap, _guard) = capture();
    let addr = serve(app(users_config())).await;
    let exact = p72();
    // bcrypt alone would accept this: its first 72 bytes are right (CVE-2025-22228).
    let longer = format!("{exact}-tail-bcrypt-would-ignore");
    assert_eq!(get_basic(addr, "long", &exact).await.status, 200);
    cap.clear();
    let resp = get_basic(addr, "long", &longer).await;
    assert_eq!(resp.status, 401);
    assert_basic_challenge(&resp);
    let event = cap.one_authgate_event();
    let f = fields(&event);
    assert_eq!(f["auth.reason"], "wrong_password");
    assert_eq!(f["auth.user"], "long");
    assert!(
        f["auth.detail"].as_str().unwrap_or_default().contains("72"),
        "{f}"
    );
    assert_no_secret(&format!("{}\n{}", cap.raw(), resp.dump()), &[&longer]);
}

#[tokio::test]
async fn an_8_kib_password_is_refused_without_hashing() {
    let (cap, _guard) = capture();
    let addr = serve(app(users_config())).await;
    let huge = "h".repeat(8 * 1024);
    // A wrong password for bcrypt cost 10: the cost of one hash.
    let start = Instant::now();
    assert_eq!(get_basic(addr, "alice", "wrong-pw-x").await.status, 401);
    let hashed = start.elapsed();

    let mut fastest = Duration::MAX;
    for user in ["alice", "nobody-for-huge", "alice"] {
        let start = Instant::now();
        let resp = get_basic(addr, user, &huge).await;
        fastest = fastest.min(start.elapsed());
        assert_eq!(resp.status, 401);
        assert_basic_challenge(&resp);
        assert_eq!(resp.json()["reason"], "invalid_credentials");
    }
    assert!(
        fastest * 2 < hashed,
        "an 8 KiB password took {fastest:?}, a hashed wrong password {hashed:?}"
    );
    let events = rejections(&cap);
    let f = fields(&events[1]);
    assert_eq!(f["auth.reason"], "wrong_password");
    assert!(
        f["auth.detail"]
            .as_str()
            .unwrap_or_default()
            .contains("8192 bytes, over the limit of 1024"),
        "{f}"
    );
    assert_eq!(fields(&events[2])["auth.reason"], "unknown_user");
    assert!(fields(&events[2]).get("auth.user").is_none());
    assert_no_secret(&cap.raw(), &[&huge, "nobody-for-huge"]);
}

// ---------------------------------------------------------------------------
// Concurrency: hashing never stalls the executor
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_hashes_never_stall_other_requests() {
    // alice is bcrypt cost 10; distinct wrong passwords are never cached.
    let addr = serve(app(users_config())).await;
    let start = Instant::now();
    let mut slow = tokio::task::JoinSet::new();
    for i in 0..50 {
        slow.spawn(async move {
            let resp = get_basic(addr, "alice", &format!("wrong-password-{i}")).await;
            (resp.status, start.elapsed())
        });
    }
    // Let the verifications get going, then ask for cheap answers: an open route,
    // and a Basic request through the same layer that needs no hashing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cheap_start = Instant::now();
    let health = common::get(addr, "/healthz", &[]).await;
    assert_eq!(health.status, 200);
    let malformed = get_raw(addr, b"Basic !!!!").await;
    assert_eq!(malformed.status, 401);
    let cheap_latency = cheap_start.elapsed();
    let cheap_done = start.elapsed();

    let mut last_done = Duration::ZERO;
    let mut finished_before_cheap = 0;
    let all = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(joined) = slow.join_next().await {
            let (status, done) = joined.expect("request task");
            assert_eq!(status, 401);
            last_done = last_done.max(done);
            if done < cheap_done {
                finished_before_cheap += 1;
            }
        }
    })
    .await;
    assert!(all.is_ok(), "50 verifications did not finish in 120 s");
    assert!(
        cheap_done < last_done,
        "the cheap requests ({cheap_done:?}) waited for all 50 hashes ({last_done:?})"
    );
    assert!(
        finished_before_cheap < 50,
        "{finished_before_cheap} hashes finished first"
    );
    assert!(
        cheap_latency * 4 < last_done,
        "cheap requests took {cheap_latency:?}; the 50 hashes {last_done:?}"
    );
}

// ---------------------------------------------------------------------------
// Cache and reload
// ---------------------------------------------------------------------------

#[tokio::test]
async fn cache_answers_repeats_and_a_changed_file_replaces_the_users() {
    let (cap, _guard) = capture();
    let path = temp_path("users.htpasswd");
    write_with_mtime(&path, &format!("{}\n", fixture_line("alice")), 0);
    let addr = serve(app(BasicConfig::new().htpasswd_file(&path).expect("loads"))).await;

    let start = Instant::now();
    assert_eq!(get_basic(addr, "alice", "alice-s3cret").await.status, 200);
    let first = start.elapsed();
    let mut cached = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let resp = get_basic(addr, "alice", "alice-s3cret").await;
        cached = cached.min(start.elapsed());
        assert_eq!(resp.status, 200);
        assert_eq!(resp.json()["subject"], "alice");
    }
    // bcrypt cost 10 against a cache lookup (the exact count of hashes is
    // checked by the unit tests in verify/basic.rs).
    assert!(cached * 4 < first, "cached {cached:?} vs first {first:?}");

    // alice now has erin's hash (password erin-2b), and bob appears.
    let alice_as_erin = fixture_line("erin").replacen("erin:", "alice:", 1);
    write_with_mtime(
        &path,
        &format!("# rotated\n{alice_as_erin}\n{}\n", fixture_line("bob")),
        10,
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cap.clear();
    let resp = get_basic(addr, "alice", "alice-s3cret").await;
    assert_eq!(resp.status, 401, "the cached old password still works");
    assert_eq!(get_basic(addr, "alice", "erin-2b").await.status, 200);
    assert_eq!(get_basic(addr, "bob", "bob-pass-argon").await.status, 200);
    let reloaded = cap
        .authgate_events()
        .into_iter()
        .filter(|e| {
            fields(e)["message"]
                .as_str()
                .is_some_and(|m| m.contains("reloaded"))
        })
        .count();
    assert_eq!(reloaded, 1);

    // An invalid file keeps the users in force, with a WARN that names the line.
    write_with_mtime(
        &path,
        "alice:$apr1$CQxaRl1h$q2gx6E22Cbhh//OwLJy80/\nbroken-line\n",
        20,
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cap.clear();
    assert_eq!(get_basic(addr, "alice", "erin-2b").await.status, 200);
    assert_eq!(get_basic(addr, "bob", "bob-pass-argon").await.status, 200);
    let warns: Vec<Value> = cap
        .authgate_events()
        .into_iter()
        .filter(|e| e["level"] == "WARN")
        .collect();
    assert_eq!(warns.len(), 1, "{warns:#?}");
    let warn = warns[0].to_string();
    assert!(warn.contains("keeping the previous"), "{warn}");
    assert!(warn.contains("line 1"), "{warn}");
    assert!(!warn.contains("CQxaRl1h"), "{warn}");
    assert_no_secret(&cap.raw(), &["alice-s3cret", "erin-2b", "bob-pass-argon"]);
    let _ = std::fs::remove_file(&path);
}

// ---------------------------------------------------------------------------
// The bounded queue for the hashing threads (basic.max_pending)
// ---------------------------------------------------------------------------

/// A bcrypt hash of `password` at `cost`, made with the `bcrypt` crate (for tests
/// that need a chosen cost; the fixtures' hashes come from outside tools).
fn bcrypt_at_cost(password: &str, cost: u32) -> String {
    bcrypt::hash_with_salt(password, cost, *b"queue-test-salt!")
        .expect("bcrypt hash")
        .format_for_version(bcrypt::Version::TwoY)
}

/// Fires `n` concurrent wrong-password requests for `user`; each task returns the
/// response and when it arrived, from `start`.
fn wrong_password_burst(
    addr: std::net::SocketAddr,
    user: &'static str,
    n: usize,
    start: Instant,
) -> tokio::task::JoinSet<(Resp, Duration)> {
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..n {
        burst.spawn(async move {
            let resp = get_basic(addr, user, &format!("wrong-password-{i}")).await;
            (resp, start.elapsed())
        });
    }
    burst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_basic_queue_is_bounded_at_64_by_default() {
    // One hashing thread: 1 check runs, at most 64 wait, the rest are refused.
    let basic_cfg = BasicConfig::new()
        .user("slow", &bcrypt_at_cost("pw", 8), Vec::<String>::new())
        .and_then(|c| c.max_concurrent(1))
        .expect("valid");
    let addr = serve(app(basic_cfg)).await;
    let mut burst = wrong_password_burst(addr, "slow", 80, Instant::now());
    let (mut refused, mut checked) = (0, 0);
    while let Some(joined) = burst.join_next().await {
        let (resp, _) = joined.expect("request task");
        match resp.status {
            503 => refused += 1,
            401 => checked += 1,
            other => panic!("unexpected {other}: {}", resp.dump()),
        }
    }
    assert!(
        refused >= 1 && checked >= 65,
        "80 concurrent checks with one hashing thread: {refused} got 503 verifier_busy, {checked} got 401 (expected at least 1 and 65)"
    );
}

/// The API key of [`busy_app`] (a test value, not a secret anywhere).
const QUEUE_TEST_API_KEY: &str = "ag_queue-test-api-key-0123456789";

/// `/api/whoami` behind Basic (one hashing thread, at most `max_pending` waiting)
/// and an API key.
fn busy_app(max_pending: usize) -> Router {
    let basic_cfg = users_config()
        .max_concurrent(1)
        .and_then(|c| c.max_pending(max_pending))
        .expect("valid");
    let cfg = AuthConfig::builder()
        .basic(basic_cfg)
        .api_key(ApiKey::from_key("ci", QUEUE_TEST_API_KEY))
        .build()
        .expect("valid config");
    Router::new()
        .route("/api/whoami", get(whoami))
        .layer(AuthLayer::new(cfg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_basic_queue_answers_503_at_once_while_cached_and_bearer_requests_pass() {
    let (cap, _guard) = capture();
    let addr = serve(busy_app(3)).await;
    // Cached from now on.
    assert_eq!(get_basic(addr, "alice", "alice-s3cret").await.status, 200);
    cap.clear();

    // alice is bcrypt cost 10: 1 check runs, 3 wait, the rest are refused.
    let start = Instant::now();
    let mut burst = wrong_password_burst(addr, "alice", 16, start);
    // The first answers of the burst are refusals, which need no hashing.
    let (first, first_at) = burst.join_next().await.expect("one").expect("task");
    assert_eq!(first.status, 503, "{}", first.dump());
    // While the queue is full, cached credentials and Bearer are answered.
    let cached = get_basic(addr, "alice", "alice-s3cret").await;
    let cached_at = start.elapsed();
    let h = [common::bearer(QUEUE_TEST_API_KEY)];
    let bearer = common::get(addr, "/api/whoami", &hdrs(&h)).await;
    let bearer_at = start.elapsed();
    assert_eq!(cached.status, 200, "{}", cached.dump());
    assert_eq!(cached.json()["subject"], "alice");
    assert_eq!(bearer.status, 200, "{}", bearer.dump());
    assert_eq!(bearer.json()["scheme"], "bearer");

    let mut refused = vec![(first, first_at)];
    let mut checked_at = Vec::new();
    while let Some(joined) = burst.join_next().await {
        let (resp, at) = joined.expect("request task");
        match resp.status {
            503 => refused.push((resp, at)),
            401 => checked_at.push(at),
            other => panic!("unexpected {other}: {}", resp.dump()),
        }
    }
    assert!(checked_at.len() >= 4, "{} checked", checked_at.len());
    let last_checked = checked_at.iter().max().copied().expect("checked");
    // Order, not absolute time: every refusal, the cached and the Bearer request
    // were answered before the queue had drained.
    for (resp, at) in &refused {
        assert!(
            *at < last_checked,
            "a 503 waited for the queue: {at:?} vs {last_checked:?}"
        );
        assert_eq!(resp.header("retry-after").as_deref(), Some("1"));
        assert!(resp.www_authenticate().is_empty(), "{}", resp.dump());
        assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            resp.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        let body = resp.json();
        assert_eq!(body["reason"], "verifier_busy");
        assert_eq!(body["status"], 503);
    }
    assert!(cached_at < last_checked && bearer_at < last_checked);

    // One WARN event per refusal, naming the fix; nothing secret.
    let busy: Vec<Value> = cap
        .authgate_events()
        .into_iter()
        .filter(|e| fields(e)["auth.reason"] == "verifier_busy")
        .collect();
    assert_eq!(busy.len(), refused.len(), "{busy:#?}");
    for e in &busy {
        let f = fields(e);
        assert_eq!(e["level"], "WARN");
        assert_eq!(f["message"], "authentication unavailable");
        assert_eq!(f["auth.outcome"], "unavailable");
        assert_eq!(f["auth.scheme"], "basic");
        assert_eq!(f["http.response.status_code"], 503);
        assert!(f.get("auth.user").is_none(), "{f}");
        let hint = f["auth.hint"].as_str().expect("a hint");
        assert!(hint.contains("raise basic.max_pending"), "{hint}");
    }
    let mut secrets = vec!["alice-s3cret", QUEUE_TEST_API_KEY];
    let wrong: Vec<String> = (0..16).map(|i| format!("wrong-password-{i}")).collect();
    secrets.extend(wrong.iter().map(String::as_str));
    assert_no_secret(&cap.raw(), &secrets);
}

#[test]
fn max_pending_from_toml_is_checked_and_named() {
    let dir = fixture("users.htpasswd");
    let dir = dir.parent().expect("fixtures dir");
    let load = |value: &str| {
        AuthConfig::from_toml_str(
            &format!("[basic]\nhtpasswd_file = \"users.htpasswd\"\nmax_pending = {value}\n"),
            dir,
        )
    };
    assert_eq!(
        load("8")
            .expect("valid")
            .summary()
            .basic
            .expect("basic")
            .max_pending,
        8
    );
    for bad in ["0", "-1", "65537", "9999999999999"] {
        let err = load(bad).expect_err(bad);
        assert_eq!(err.key(), "basic.max_pending", "{bad}: {err}");
        assert!(err.message().contains("from 1 to 65536"), "{bad}: {err}");
    }
    let err = load("\"many\"").expect_err("a string");
    assert!(err.to_string().contains("max_pending"), "{err}");
    let default = AuthConfig::from_toml_str("[basic]\nhtpasswd_file = \"users.htpasswd\"\n", dir)
        .expect("valid");
    assert_eq!(default.summary().basic.expect("basic").max_pending, 64);
}
