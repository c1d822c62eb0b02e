//! Basic authentication: a request whose credentials the verified-
//! credentials cache answers, against one that pays the password hash, for the
//! fixture user `alice` (bcrypt `$2y$`, cost 10, `tests/fixtures/users.htpasswd`).
//!
//! - `Basic-bcrypt10/valid/authgate`: the cache turned off (`BasicConfig::cache(0, ..)`),
//!   so every request verifies the bcrypt hash (on tokio's blocking pool);
//! - `Basic-bcrypt10/valid/authgate-cached`: the default cache, warmed by the
//!   check request.
//!
//! ```text
//! cargo bench -p authgate --features basic --bench basic
//! ```

#![allow(missing_docs, unreachable_pub)]

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use authgate::{AuthConfig, AuthLayer, BasicConfig};
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, StatusCode};

fn htpasswd() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("tests/fixtures/users.htpasswd"))
        .find(|path| path.is_file())
        .expect("tests/fixtures/users.htpasswd above the manifest")
}

fn app(cache: bool) -> axum::Router {
    let mut users = BasicConfig::new()
        .htpasswd_file(htpasswd())
        .expect("fixture htpasswd");
    if !cache {
        users = users.cache(0, Duration::ZERO);
    }
    let cfg = AuthConfig::builder()
        .basic(users)
        .build()
        .expect("valid config");
    support::app().layer(AuthLayer::new(cfg))
}

fn basic(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let credentials = base64::engine::general_purpose::STANDARD.encode("alice:alice-s3cret");
    let auth = HeaderValue::from_str(&format!("Basic {credentials}")).expect("header");
    let mut group = c.benchmark_group("Basic-bcrypt10");
    // Each uncached request costs tens of milliseconds: few samples.
    group.sample_size(10);
    for (stack, cache) in [("authgate", false), ("authgate-cached", true)] {
        let svc = app(cache);
        let status = rt.block_on(support::one(&mut svc.clone(), Some(&auth)));
        assert_eq!(status, StatusCode::OK, "{stack}");
        group.bench_function(format!("valid/{stack}"), |b| {
            b.iter_custom(|iters| {
                let mut svc = svc.clone();
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(support::one(&mut svc, Some(&auth)).await);
                    }
                    start.elapsed()
                })
            });
        });
    }
    // A refused guess: `wrong_password` pays the bcrypt-10 check, a user past the
    // failed-attempt limit is answered 429 `too_many_attempts` without any hash.
    let wrong = base64::engine::general_purpose::STANDARD.encode("alice:not-the-password");
    let wrong = HeaderValue::from_str(&format!("Basic {wrong}")).expect("header");
    let svc = app(false);
    group.bench_function("wrong_password/authgate", |b| {
        b.iter_custom(|iters| {
            let mut svc = svc.clone();
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(support::one(&mut svc, Some(&wrong)).await);
                }
                start.elapsed()
            })
        });
    });
    let users = BasicConfig::new()
        .htpasswd_file(htpasswd())
        .expect("fixture htpasswd");
    let cfg = AuthConfig::builder()
        .basic(users)
        .limits(
            authgate::LimitsConfig::new()
                .max_failures(1)
                .window_secs(86_400),
        )
        .build()
        .expect("valid config");
    let limited = support::app().layer(AuthLayer::new(cfg));
    let first = rt.block_on(support::one(&mut limited.clone(), Some(&wrong)));
    assert_eq!(first, StatusCode::UNAUTHORIZED);
    let then = rt.block_on(support::one(&mut limited.clone(), Some(&wrong)));
    assert_eq!(then, StatusCode::TOO_MANY_REQUESTS);
    group.bench_function("too_many_attempts/authgate", |b| {
        b.iter_custom(|iters| {
            let mut svc = limited.clone();
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(support::one(&mut svc, Some(&wrong)).await);
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = basic
}
criterion_main!(benches);
