//! A fixed number of requests through one row of the `layer` bench, for
//! instruction counts under `valgrind --tool=callgrind` (reliable where wall
//! time is noisy). Run it twice with different counts and take the difference:
//! that is the cost of the extra requests, without start-up.
//!
//! ```text
//! cargo bench -p authgate --bench instructions --no-run [--features metrics]
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!   target/release/deps/instructions-<hash> HS256 valid authgate 10000
//! ```
//! Rows: ALG in HS256, RS256, ES256, EdDSA; path in valid, missing, expired,
//! bad_signature; stack in authgate, authgate-cached.

#![allow(missing_docs, unreachable_pub)]

mod support;

use std::hint::black_box;

use support::{ALGS, PATHS, Stack};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` runs every bench target with `--bench`: do nothing then.
    if args.len() != 4 {
        return;
    }
    let alg = ALGS
        .into_iter()
        .find(|a| a.name() == args[0])
        .expect("ALG: HS256, RS256, ES256 or EdDSA");
    let path = PATHS
        .into_iter()
        .find(|p| p.name() == args[1])
        .expect("path: valid, missing, expired or bad_signature");
    let stack = [Stack::Authgate, Stack::AuthgateCached]
        .into_iter()
        .find(|s| s.name() == args[2])
        .expect("stack: authgate or authgate-cached");
    let n: usize = args[3].parse().expect("a count");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut svc = stack.build(alg);
    let auth = support::authorization(alg, path);
    rt.block_on(async {
        for _ in 0..n {
            let status = support::one(&mut svc, auth.as_ref()).await;
            assert_eq!(status, path.expected_status());
            black_box(status);
        }
    });
}
