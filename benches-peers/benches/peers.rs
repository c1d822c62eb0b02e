//! authgate against its Rust peers, in-process: `poll_ready` + `call` + dropping
//! the response, same keys, tokens and claims as crates/authgate/benches (whose
//! `support` module this file includes). Names are `<ALG>/<path>/<stack>` with
//! stack one of:
//!
//! - `baseline` (axum 0.8, no auth) and `baseline-axum07` (axum 0.7, no auth:
//!   jwt-authorizer 0.15 runs on axum 0.7);
//! - `floor`: the bare `jsonwebtoken::decode` layer (v11, aws_lc_rs);
//! - `authgate` (token cache off: the peers have none either), and
//!   `authgate-cached` (`AuthLayer` as configured by default, with its token
//!   cache: `valid` only, a cache hit, since only valid tokens are cached);
//! - `jwt-authorizer`: jwt-authorizer 0.15 (jsonwebtoken 9, ring), claims as
//!   `serde_json::Value`, issuer, audience and leeway as the others;
//! - `axum-jwt-auth`: axum-jwt-auth 0.7 (jsonwebtoken 10, rust_crypto), an
//!   extractor (`Claims<Value>`) rather than a layer;
//! - `tower-http-bearer`: tower-http 0.6's deprecated
//!   `ValidateRequestHeaderLayer::bearer`, which compares the header with one
//!   static token (no JWT verification at all: a lower bound, HS256 row only).
//!
//! ```text
//! cd benches-peers && cargo bench --bench peers [-- FILTER]
//! ```

#![allow(missing_docs, deprecated)]

#[path = "../../crates/authgate/benches/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response, StatusCode};
use tower::{Service, ServiceExt as _};

use support::{ALGS, AUDIENCE, Alg, ISSUER, LEEWAY_SECS, PATHS, Path};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// One request: ready + call + drop, for any body type the stack uses.
async fn one<S, B>(svc: &mut S, auth: Option<&HeaderValue>) -> StatusCode
where
    S: Service<Request<B>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: Default,
{
    let mut req = Request::new(B::default());
    *req.uri_mut() = http::Uri::from_static("/api/whoami");
    if let Some(auth) = auth {
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, auth.clone());
    }
    let res = svc
        .ready()
        .await
        .expect("ready")
        .call(req)
        .await
        .expect("call");
    res.status()
}

#[allow(clippy::too_many_arguments)]
fn measure<S, B>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    alg: Alg,
    path: Path,
    stack: &str,
    svc: S,
    want: StatusCode,
) where
    S: Service<Request<B>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: Default,
{
    let name = format!("{}/{}/{stack}", alg.name(), path.name());
    let auth = support::authorization(alg, path);
    let got = rt.block_on(one(&mut svc.clone(), auth.as_ref()));
    if got != want {
        // A peer that answers differently is reported, not measured.
        eprintln!("{name}: status {got}, expected {want}; skipped");
        return;
    }
    c.bench_function(&name, |b| {
        b.iter_custom(|iters| {
            let mut svc = svc.clone();
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(one(&mut svc, auth.as_ref()).await);
                }
                start.elapsed()
            })
        });
    });
}

async fn handler() -> &'static str {
    "ok"
}

fn baseline_axum07() -> axum07::Router {
    axum07::Router::new().route("/api/whoami", axum07::routing::get(handler))
}

fn pem(alg: Alg) -> Option<String> {
    let file = match alg {
        Alg::Hs256 => return None,
        Alg::Rs256 => "rsa.pub.pem",
        Alg::Es256 => "ec.pub.pem",
        Alg::EdDsa => "ed.pub.pem",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/keys")
        .join(file);
    Some(std::fs::read_to_string(path).expect("fixture key"))
}

fn jwt_authorizer(rt: &tokio::runtime::Runtime, alg: Alg) -> axum07::Router {
    use jwt_authorizer::{Authorizer, IntoLayer as _, JwtAuthorizer, Validation};
    let secret = std::str::from_utf8(support::HS_SECRET).expect("ascii secret");
    let builder = match (alg, pem(alg)) {
        (Alg::Hs256, _) => JwtAuthorizer::from_secret(secret),
        (Alg::Rs256, Some(p)) => JwtAuthorizer::from_rsa_pem_text(&p),
        (Alg::Es256, Some(p)) => JwtAuthorizer::from_ec_pem_text(&p),
        (_, Some(p)) => JwtAuthorizer::from_ed_pem_text(&p),
        _ => unreachable!(),
    };
    let auth: Authorizer<serde_json::Value> = rt
        .block_on(
            builder
                .validation(
                    Validation::new()
                        .iss(&[ISSUER])
                        .aud(&[AUDIENCE])
                        .leeway(LEEWAY_SECS),
                )
                .build(),
        )
        .expect("jwt-authorizer");
    baseline_axum07().layer(auth.into_layer())
}

fn axum_jwt_auth(alg: Alg) -> axum::Router {
    use axum_jwt_auth::{Claims, Decoder, LocalDecoder};
    use jsonwebtoken10::{Algorithm, DecodingKey, Validation};
    let (key, algorithm) = match (alg, pem(alg)) {
        (Alg::Hs256, _) => (
            DecodingKey::from_secret(support::HS_SECRET),
            Algorithm::HS256,
        ),
        (Alg::Rs256, Some(p)) => (
            DecodingKey::from_rsa_pem(p.as_bytes()).expect("rsa"),
            Algorithm::RS256,
        ),
        (Alg::Es256, Some(p)) => (
            DecodingKey::from_ec_pem(p.as_bytes()).expect("ec"),
            Algorithm::ES256,
        ),
        (_, Some(p)) => (
            DecodingKey::from_ed_pem(p.as_bytes()).expect("ed"),
            Algorithm::EdDSA,
        ),
        _ => unreachable!(),
    };
    let mut validation = Validation::new(algorithm);
    validation.leeway = LEEWAY_SECS;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let decoder: Decoder<serde_json::Value> = std::sync::Arc::new(
        LocalDecoder::builder()
            .keys(vec![key])
            .validation(validation)
            .build()
            .expect("axum-jwt-auth decoder"),
    );
    async fn whoami(_claims: Claims<serde_json::Value>) -> &'static str {
        "ok"
    }
    axum::Router::new()
        .route("/api/whoami", axum::routing::get(whoami))
        .with_state(decoder)
}

fn tower_http_bearer() -> axum::Router {
    let valid = support::authorization(Alg::Hs256, Path::Valid).expect("token");
    let token = valid
        .to_str()
        .expect("ascii")
        .strip_prefix("Bearer ")
        .expect("bearer")
        .to_owned();
    support::app().layer(tower_http::validate_request::ValidateRequestHeaderLayer::bearer(&token))
}

fn peers(c: &mut Criterion) {
    let rt = runtime();
    for alg in ALGS {
        let ok = |p: Path| p.expected_status();
        measure(
            c,
            &rt,
            alg,
            Path::Valid,
            "authgate-cached",
            support::authgate_cached(alg),
            StatusCode::OK,
        );
        for path in [Path::Valid, Path::Missing] {
            measure(
                c,
                &rt,
                alg,
                path,
                "baseline",
                support::baseline(),
                StatusCode::OK,
            );
            measure(
                c,
                &rt,
                alg,
                path,
                "baseline-axum07",
                baseline_axum07(),
                StatusCode::OK,
            );
        }
        for path in PATHS {
            measure(c, &rt, alg, path, "floor", support::floor(alg), ok(path));
            measure(
                c,
                &rt,
                alg,
                path,
                "authgate",
                support::authgate(alg),
                ok(path),
            );
            measure(
                c,
                &rt,
                alg,
                path,
                "jwt-authorizer",
                jwt_authorizer(&rt, alg),
                ok(path),
            );
            measure(
                c,
                &rt,
                alg,
                path,
                "axum-jwt-auth",
                axum_jwt_auth(alg),
                ok(path),
            );
        }
    }
    // The valid token is the one token it accepts; every other path is a 401.
    for path in PATHS {
        measure(
            c,
            &rt,
            Alg::Hs256,
            path,
            "tower-http-bearer",
            tower_http_bearer(),
            path.expected_status(),
        );
    }
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
    targets = peers
}
criterion_main!(benches);
