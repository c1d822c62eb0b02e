//! Basic failures take the same time whoever the user is, in a store that mixes
//! hash algorithms and costs: a wrong password for a bcrypt, an argon2id or a
//! SHA-512-crypt user, and an unknown user-id, over the wire on 127.0.0.1.
//!
//! The figure compared is a ratio of medians (slowest kind / fastest kind), never an
//! absolute time, so a slow or busy machine does not make the test fail. The
//! requests of the kinds are interleaved, so load from elsewhere falls on all of them
//! alike. The parameters are small so that the whole test stays within seconds.

mod common;

use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher as _;
use authgate::{AuthConfig, AuthLayer, BasicConfig, Principal};
use axum::{Router, routing::get};
use common::{basic, hdrs, serve};

/// Tries per kind of failure (the contract asks for at least 100).
const TRIES: usize = 110;
/// The largest allowed ratio of the slowest kind's median to the fastest's.
const MAX_RATIO: f64 = 1.5;

fn bcrypt_hash(password: &str, cost: u32) -> String {
    bcrypt::hash_with_salt(password, cost, *b"timing-salt-0123")
        .expect("bcrypt hash")
        .format_for_version(bcrypt::Version::TwoY)
}

fn argon2id_hash(password: &str, m_kib: u32, t: u32) -> String {
    let params = argon2::Params::new(m_kib, t, 1, None).expect("argon2 params");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_with_salt(password.as_bytes(), b"timing-salt-0123")
        .expect("argon2 hash")
        .to_string()
}

fn sha512_crypt_hash(password: &str, rounds: u32) -> String {
    sha_crypt::ShaCrypt::new(
        sha_crypt::Algorithm::Sha512Crypt,
        sha_crypt::Params::new(rounds).expect("sha-crypt rounds"),
    )
    .hash_password_with_salt(password.as_bytes(), b"timing-salt1")
    .expect("sha-crypt hash")
    .to_string()
}

/// A store whose hashes differ in algorithm and cost by more than an order of
/// magnitude: bcrypt cost 8, argon2id with 2 MiB and one pass, SHA-512-crypt with
/// 2000 rounds.
fn mixed_store() -> BasicConfig {
    BasicConfig::new()
        .user("bcrypt-user", &bcrypt_hash("b-pw", 8), Vec::<String>::new())
        .and_then(|c| c.user("argon-user", &argon2id_hash("a-pw", 2048, 1), ["x"]))
        .and_then(|c| c.user("sha-user", &sha512_crypt_hash("s-pw", 2000), ["x"]))
        .expect("valid users")
}

async fn whoami(p: Principal) -> String {
    p.subject().unwrap_or_default().to_owned()
}

fn app(basic_cfg: BasicConfig) -> Router {
    let cfg = AuthConfig::builder()
        .basic(basic_cfg)
        .build()
        .expect("valid config");
    Router::new()
        .route("/api/whoami", get(whoami))
        .layer(AuthLayer::new(cfg))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_takes_as_long_whatever_the_users_hash() {
    let addr = serve(app(mixed_store())).await;
    // (label, user-id, password): every one fails; none is ever cached.
    let kinds: [(&str, &str, &str); 4] = [
        ("bcrypt wrong password", "bcrypt-user", "wrong"),
        ("argon2id wrong password", "argon-user", "wrong"),
        ("SHA-512-crypt wrong password", "sha-user", "wrong"),
        ("unknown user", "no-such-user", "wrong"),
    ];

    // The right passwords work (so the wrong ones fail for the right reason).
    for (user, pw) in [
        ("bcrypt-user", "b-pw"),
        ("argon-user", "a-pw"),
        ("sha-user", "s-pw"),
    ] {
        let h = [basic(user, pw)];
        let ok = common::get(addr, "/api/whoami", &hdrs(&h)).await;
        assert_eq!((ok.status, ok.text().as_str()), (200, user));
    }

    // Byte-identical answers, and a warm-up round.
    let mut first: Vec<common::Comparable> = Vec::new();
    for (_, user, pw) in kinds {
        let h = [basic(user, pw)];
        let resp = common::get(addr, "/api/whoami", &hdrs(&h)).await;
        assert_eq!(resp.status, 401);
        first.push(common::comparable(&resp));
    }
    for (i, c) in first.iter().enumerate().skip(1) {
        assert_eq!(
            c, &first[0],
            "{} and {} answer differently",
            kinds[i].0, kinds[0].0
        );
    }

    let started = Instant::now();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(TRIES); kinds.len()];
    for round in 0..TRIES {
        // Interleaved, starting with another kind each round.
        for k in 0..kinds.len() {
            let idx = (round + k) % kinds.len();
            let (_, user, pw) = kinds[idx];
            let h = [basic(user, pw)];
            let t = Instant::now();
            let resp = common::get(addr, "/api/whoami", &hdrs(&h)).await;
            samples[idx].push(t.elapsed());
            assert_eq!(resp.status, 401, "{}", kinds[idx].0);
        }
    }
    let medians: Vec<Duration> = samples.into_iter().map(median).collect();
    let report: Vec<String> = kinds
        .iter()
        .zip(&medians)
        .map(|((label, ..), m)| format!("{label}: {:.2} ms", m.as_secs_f64() * 1e3))
        .collect();
    let slowest = medians.iter().max().expect("kinds").as_secs_f64();
    let fastest = medians.iter().min().expect("kinds").as_secs_f64();
    let ratio = slowest / fastest;
    eprintln!(
        "medians of {TRIES} tries per kind ({:.1} s in all): {}; slowest/fastest = {ratio:.2}",
        started.elapsed().as_secs_f64(),
        report.join(", ")
    );
    assert!(
        ratio <= MAX_RATIO,
        "median latencies differ by {ratio:.2}x (at most {MAX_RATIO}x allowed): {}",
        report.join(", ")
    );
}
