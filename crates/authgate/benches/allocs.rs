//! Heap allocations per request through each benchmarked stack, counted by a
//! global allocator wrapper (`stats_alloc`; the workspace forbids `unsafe_code`,
//! and a `GlobalAlloc` impl needs it, so the wrapper comes from that crate).
//!
//! For every `<ALG>/<path>/<stack>`: 1 000 warm-up requests, then the average
//! over 10 000 requests of `poll_ready` + `call` + dropping the response, request
//! construction included (the same for every stack: one `HeaderMap`, the
//! `Authorization` value is a refcounted clone). `delta` is the count minus the
//! `baseline` stack's for the same path, i.e. what the auth layer itself costs.
//!
//! ```text
//! cargo bench -p authgate --bench allocs [-- FILTER]
//! ```
//!
//! `ALLOCS_REQUESTS` and `ALLOCS_WARM_UP` change the counts, and `ALLOCS_EXACT=1`
//! runs only the benchmark named exactly FILTER (no baseline): that is how
//! `scripts/instructions.sh` counts instructions per request under callgrind,
//! collecting only inside [`measured`].

#![allow(missing_docs, unreachable_pub)]

mod support;

use std::alloc::System;
use std::hint::black_box;

use axum::body::Body;
use http::{HeaderValue, Request, Response};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::Service;

use support::{ALGS, Path, STACKS, Stack};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (allocations, reallocations, bytes allocated) per request.
fn count<S, RB>(rt: &tokio::runtime::Runtime, svc: S, auth: Option<HeaderValue>) -> (f64, f64, f64)
where
    S: Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: std::fmt::Debug,
{
    let mut svc = svc.clone();
    let warm_up = env_count("ALLOCS_WARM_UP", 1_000);
    let requests = env_count("ALLOCS_REQUESTS", 10_000).max(1);
    rt.block_on(async {
        for _ in 0..warm_up {
            black_box(support::one(&mut svc, auth.as_ref()).await);
        }
    });
    let region = Region::new(GLOBAL);
    measured(rt, &mut svc, auth.as_ref(), requests);
    let stats = region.change();
    let per = |n: usize| n as f64 / requests as f64;
    (
        per(stats.allocations),
        per(stats.reallocations),
        per(stats.bytes_allocated),
    )
}

/// The measured requests; callgrind collects only inside this function.
#[inline(never)]
fn measured<S, RB>(rt: &tokio::runtime::Runtime, svc: &mut S, auth: Option<&HeaderValue>, n: u64)
where
    S: Service<Request<Body>, Response = Response<RB>>,
    S::Error: std::fmt::Debug,
{
    rt.block_on(async {
        for _ in 0..n {
            black_box(support::one(svc, auth).await);
        }
    });
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects names containing it.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    let exact = std::env::var_os("ALLOCS_EXACT").is_some();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{:<32} {:>8} {:>8} {:>8} {:>10}",
        "benchmark", "allocs", "delta", "reallocs", "bytes"
    );
    for alg in ALGS {
        let mut baseline = [0.0; 4];
        for stack in STACKS {
            for &path in stack.paths() {
                let name = format!("{}/{}/{}", alg.name(), path.name(), stack.name());
                // The baseline is always counted: the deltas need it.
                let skip = if exact {
                    name != filter
                } else {
                    stack != Stack::Baseline && !name.contains(&filter)
                };
                if skip {
                    continue;
                }
                let svc = stack.build(alg);
                let auth = support::authorization(alg, path);
                let status = rt.block_on(support::one(&mut svc.clone(), auth.as_ref()));
                assert_eq!(status, stack.expected_status(path), "{name}");
                let (allocs, reallocs, bytes) = count(&rt, svc, auth);
                let reference = match stack {
                    Stack::Baseline => {
                        baseline[path_index(path)] = allocs;
                        allocs
                    }
                    // The baseline's `missing` is the same app without a header.
                    _ if path == Path::Valid => baseline[path_index(Path::Valid)],
                    _ => baseline[path_index(Path::Missing)],
                };
                if name.contains(&filter) {
                    println!(
                        "{name:<32} {allocs:>8.2} {:>+8.2} {reallocs:>8.2} {bytes:>10.0}",
                        allocs - reference
                    );
                }
            }
        }
    }
    // Not among the compared stacks: they split the layer's own allocations from axum's
    // per-route layering (see support::baseline_layered, support::authgate_outer).
    let extras = [
        "HS256/valid/baseline-layered",
        "HS256/valid/authgate-outer",
        "HS256/valid/authgate-cached-outer",
    ];
    // (Not counted in exact mode: scripts/instructions.sh measures one name, and
    // a second measured loop would add to its count.)
    let baseline_valid = if exact {
        f64::NAN
    } else {
        let auth = support::authorization(support::Alg::Hs256, Path::Valid);
        count(&rt, support::baseline(), auth).0
    };
    for name in extras {
        if (exact && name != filter) || (!exact && !name.contains(&filter)) {
            continue;
        }
        let auth = support::authorization(support::Alg::Hs256, Path::Valid);
        let (allocs, reallocs, bytes) = match name {
            "HS256/valid/baseline-layered" => count(&rt, support::baseline_layered(), auth),
            "HS256/valid/authgate-outer" => count(
                &rt,
                support::authgate_outer(support::Alg::Hs256, false),
                auth,
            ),
            _ => count(
                &rt,
                support::authgate_outer(support::Alg::Hs256, true),
                auth,
            ),
        };
        println!(
            "{name:<32} {allocs:>8.2} {:>+8.2} {reallocs:>8.2} {bytes:>10.0}",
            allocs - baseline_valid
        );
    }
    if !exact {
        claims_memory();
    }
}

fn path_index(path: Path) -> usize {
    match path {
        Path::Valid => 0,
        Path::Missing => 1,
        Path::Expired => 2,
        Path::BadSignature => 3,
    }
}

/// The heap a parsed claim set holds: what one token-cache entry holding the
/// claims map costs beyond its fixed part (for the memory bound in the cache's
/// docs).
fn claims_memory() {
    let now = support::now();
    let typical = serde_json::to_vec(&support::claims(now, now + 3600)).expect("json");
    // A large payload (the cache takes tokens up to 4 KiB, i.e. ~3 KiB of JSON)
    // of short string claims, the costliest shape per JSON byte.
    let mut big = serde_json::Map::new();
    let mut i = 0;
    while serde_json::to_vec(&big).expect("json").len() < 6 * 1024 - 16 {
        big.insert(format!("c{i}"), serde_json::Value::from("v"));
        i += 1;
    }
    let big = serde_json::to_vec(&big).expect("json");
    println!();
    println!("{:<32} {:>8} {:>10}", "claims map", "json B", "heap B");
    for (name, json) in [
        ("typical (bench token)", &typical),
        ("6 KiB of short claims", &big),
    ] {
        let region = Region::new(GLOBAL);
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(json).expect("object");
        let stats = region.change();
        black_box(&map);
        let held = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
            + stats.bytes_reallocated as i64;
        println!("{name:<32} {:>8} {held:>10}", json.len());
    }
}
