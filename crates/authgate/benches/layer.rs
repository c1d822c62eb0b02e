//! In-process cost of one request through each benchmarked stack: `poll_ready` +
//! `call` + dropping the response, on a current-thread tokio runtime.
//!
//! Benchmarks are named `<ALG>/<path>/<stack>` (e.g. `HS256/valid/authgate`):
//! ALG in HS256, RS256, ES256, EdDSA; path in `valid`, `missing`, `expired`,
//! `bad_signature`; stack in `baseline` (axum, no auth), `floor` (a bare layer
//! calling `jsonwebtoken::decode`), `authgate` (token cache off),
//! `authgate-cached` (default token cache, warmed: `valid` is a hit).
//!
//! No tracing subscriber is installed, so events are discarded at the callsite;
//! the last group, `HS256/{missing,valid}/authgate-subscriber`, installs a `fmt`
//! subscriber at DEBUG that writes to `std::io::sink()` to show what events cost.
//!
//! ```text
//! cargo bench -p authgate --bench layer                 # everything (~5 min)
//! cargo bench -p authgate --bench layer -- 'HS256/'     # one algorithm
//! ```
//! `scripts/bench-table.py` turns criterion's output into the tables of
//! docs/BENCHMARKS.md.

#![allow(missing_docs, unreachable_pub)]

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response};
use tower::Service;

use support::{ALGS, Alg, Path, STACKS};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Measures `iters` requests inside one `block_on`, so the runtime's entry cost
/// is not part of each request.
fn measure<S, RB>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    name: &str,
    svc: S,
    auth: Option<HeaderValue>,
) where
    S: Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: std::fmt::Debug,
{
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut svc = svc.clone();
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(support::one(&mut svc, auth.as_ref()).await);
                }
                start.elapsed()
            })
        });
    });
}

fn check<S, RB>(
    rt: &tokio::runtime::Runtime,
    svc: &S,
    auth: Option<&HeaderValue>,
    want: http::StatusCode,
    name: &str,
) where
    S: Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: std::fmt::Debug,
{
    let got = rt.block_on(support::one(&mut svc.clone(), auth));
    assert_eq!(got, want, "{name}: wrong status before measuring");
}

fn stacks(c: &mut Criterion) {
    let rt = runtime();
    for alg in ALGS {
        let mut group = c.benchmark_group(alg.name());
        for stack in STACKS {
            for &path in stack.paths() {
                let name = format!("{}/{}", path.name(), stack.name());
                let auth = support::authorization(alg, path);
                let svc = stack.build(alg);
                check(&rt, &svc, auth.as_ref(), stack.expected_status(path), &name);
                measure(&mut group, &rt, &name, svc, auth);
            }
        }
        group.finish();
    }
}

/// A subscriber that wants every event and drops it: what authgate's events
/// cost to build and dispatch, without any formatting or I/O.
struct Discard;

impl tracing::Subscriber for Discard {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        std::hint::black_box(event);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Runs last: once a scoped subscriber has been set, every later event pays for
/// the thread-local dispatcher lookup. Two subscribers, HS256 `missing` and
/// `valid`: `authgate-discard` (every event built, dispatched and dropped) and
/// `authgate-subscriber` (`tracing_subscriber::fmt` at DEBUG formatting every
/// event into `std::io::sink`).
fn with_subscriber(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group(Alg::Hs256.name());
    let run = |group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
               stack: &str| {
        for path in [Path::Missing, Path::Valid] {
            let name = format!("{}/{stack}", path.name());
            let auth = support::authorization(Alg::Hs256, path);
            let svc = support::authgate(Alg::Hs256);
            check(&rt, &svc, auth.as_ref(), path.expected_status(), &name);
            measure(group, &rt, &name, svc, auth);
        }
    };
    {
        let _guard = tracing::subscriber::set_default(Discard);
        run(&mut group, "authgate-discard");
    }
    {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        run(&mut group, "authgate-subscriber");
    }
    group.finish();
}

/// The request path with failed-attempt limits on and 100 000 revoked token ids,
/// beside the same stack without them (same run): `HS256/valid/authgate` vs
/// `HS256/valid/authgate-limits-revoked100k`.
fn limits(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group(Alg::Hs256.name());
    let auth = support::authorization(Alg::Hs256, Path::Valid);
    for (name, svc) in [
        ("valid/authgate", support::authgate(Alg::Hs256)),
        (
            "valid/authgate-limits-revoked100k",
            support::authgate_limited(Alg::Hs256, 100_000),
        ),
    ] {
        check(&rt, &svc, auth.as_ref(), http::StatusCode::OK, name);
        measure(&mut group, &rt, name, svc, auth.clone());
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = stacks, with_subscriber, limits
}
criterion_main!(benches);
