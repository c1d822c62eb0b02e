//! Property tests of the whole layer through `oneshot` (SECURITY-CASES §3, F-1,
//! F-3, F-4): arbitrary `Authorization` bytes (0–3 fields) and mutations of valid
//! tokens (byte flips, segment drops/dups/swaps, inserted characters, `alg` and
//! `kid` swaps). For every request:
//!
//! - nothing panics;
//! - the status is 400, 401 or 403, or 200 exactly when the request carries one
//!   valid credential (an independent oracle, not the code under test);
//! - a rejection has exactly one event whose `auth.reason` is a SPEC §2 code,
//!   and the problem body agrees with it;
//! - every 401 has at least one `WWW-Authenticate`, and every challenge passes
//!   the strict RFC 9110 parser;
//! - every event field is at most 1024 characters.
//!
//! Cases are kept modest for a 2-core CI (`PROPTEST_CASES` overrides).

mod common;
mod configd;

use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use configd::*;
use http::HeaderValue;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::Value;

const CASES: u32 = 128;

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    TestRunner::new(ProptestConfig {
        cases,
        source_file: Some(file!()),
        ..ProptestConfig::default()
    })
}

/// Everything one property run needs, built once per test.
struct Fixture {
    rt: tokio::runtime::Runtime,
    app: Router,
    cap: common::Captured,
    /// Credentials that must pass: the valid tokens and the API key.
    valid: Vec<String>,
}

impl Fixture {
    fn new(cap: common::Captured) -> Self {
        Fixture {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            app: app(Variant::D),
            cap,
            valid: vec![
                valid(),
                valid_es(),
                valid_ed(),
                valid_hs(),
                API_KEY_CI.to_owned(),
            ],
        }
    }

    /// Sends the request and checks every invariant. `want_ok` is the oracle's
    /// verdict.
    fn check(
        &self,
        path: &str,
        values: &[HeaderValue],
        want_ok: bool,
    ) -> Result<(), TestCaseError> {
        let mut req = http::Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        for v in values {
            req.headers_mut().append("authorization", v.clone());
        }
        self.cap.clear();
        let resp = self.rt.block_on(oneshot(&self.app, req));
        let events = self.cap.authgate_events();

        let caps = check_field_caps(&events);
        prop_assert!(caps.is_empty(), "{caps:?}");
        if want_ok {
            prop_assert_eq!(
                resp.status,
                200,
                "a valid credential was refused: {}",
                resp.text()
            );
            return Ok(());
        }
        prop_assert!(
            matches!(resp.status, 400 | 401 | 403),
            "status {} for {values:?}",
            resp.status
        );
        let rejections: Vec<&Value> = events
            .iter()
            .filter(|e| e["fields"].get("auth.reason").is_some())
            .collect();
        prop_assert_eq!(rejections.len(), 1, "events {:?}", events);
        let f = &rejections[0]["fields"];
        let reason = f["auth.reason"].as_str().unwrap_or_default();
        prop_assert!(SPEC_REASONS.contains(&reason), "reason {reason}");
        prop_assert_eq!(
            f["http.response.status_code"].as_u64(),
            Some(u64::from(resp.status))
        );
        let want_status = match reason {
            "malformed_credentials" | "multiple_credentials" => 400,
            "insufficient_scope" | "access_denied" => 403,
            _ => 401,
        };
        prop_assert_eq!(resp.status, want_status, "reason {}", reason);
        let body = resp.json();
        prop_assert_eq!(&body["reason"], reason);
        prop_assert_eq!(body["status"].as_u64(), Some(u64::from(resp.status)));
        let cache_control = resp.header("cache-control");
        prop_assert_eq!(cache_control.as_deref(), Some("no-store"));
        let raw = resp.www_authenticate();
        if resp.status == 401 {
            prop_assert!(!raw.is_empty(), "401 without WWW-Authenticate");
        }
        for c in &raw {
            let parsed = common::parse_challenge(c);
            prop_assert!(parsed.is_ok(), "bad challenge {c:?}: {parsed:?}");
        }
        Ok(())
    }
}

/// The oracle: one `Authorization` field whose value, without surrounding OWS, is
/// `Bearer` (any case), one or more SP and exactly one of the valid credentials;
/// and no `access_token` query parameter.
fn oracle_ok(values: &[HeaderValue], query_token: bool, valid: &[String]) -> bool {
    if query_token || values.len() != 1 {
        return false;
    }
    let v = values[0].as_bytes();
    let start = v.iter().position(|&b| b != b' ' && b != b'\t');
    let end = v.iter().rposition(|&b| b != b' ' && b != b'\t');
    let (Some(start), Some(end)) = (start, end) else {
        return false;
    };
    let v = &v[start..=end];
    if v.len() < 7 || !v[..6].eq_ignore_ascii_case(b"bearer") || v[6] != b' ' {
        return false;
    }
    let token = &v[6..];
    let token = &token[token.iter().position(|&b| b != b' ').unwrap_or(token.len())..];
    valid.iter().any(|t| t.as_bytes() == token)
}

// ---------------------------------------------------------------------------
// Arbitrary header bytes
// ---------------------------------------------------------------------------

fn scheme() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Bearer".to_owned()),
        Just("bearer".to_owned()),
        Just("BeArEr".to_owned()),
        Just("Basic".to_owned()),
        Just("Digest".to_owned()),
        "[A-Za-z!#$%&'*+.^_`|~-]{1,12}",
        Just(String::new()),
    ]
}

fn credentials(valid: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[A-Za-z0-9._~+/=-]{0,48}".prop_map(String::into_bytes),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        prop::sample::select(valid.clone()).prop_map(String::into_bytes),
        (
            prop::sample::select(valid),
            any::<prop::sample::Index>(),
            any::<u8>()
        )
            .prop_map(|(t, i, b)| {
                let mut t = t.into_bytes();
                let i = i.index(t.len());
                t[i] = b;
                t
            }),
    ]
}

fn header_value(valid: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..64),
        // `Bearer` in any case, 1*SP, a valid credential, OWS around (H-05…H-09).
        1 => (
            "[ \t]{0,2}",
            "[bB][eE][aA][rR][eE][rR]",
            " {1,3}",
            prop::sample::select(valid.clone()),
            "[ \t]{0,2}",
        )
            .prop_map(|(lead, scheme, sp, token, trail)| {
                format!("{lead}{scheme}{sp}{token}{trail}").into_bytes()
            }),
        3 => (
            "[ \t]{0,2}",
            scheme(),
            prop_oneof![Just(" ".to_owned()), "[ \t:=,]{0,3}"],
            credentials(valid),
            "[ \t]{0,2}",
        )
            .prop_map(|(lead, scheme, sep, creds, trail)| {
                let mut v = Vec::new();
                v.extend(lead.bytes());
                v.extend(scheme.bytes());
                v.extend(sep.bytes());
                v.extend(creds);
                v.extend(trail.bytes());
                v
            }),
    ]
}

#[test]
fn arbitrary_authorization_headers() {
    let (cap, _g) = common::capture();
    let fx = Fixture::new(cap);
    let strategy = (
        prop::collection::vec(header_value(fx.valid.clone()), 0..=3),
        any::<bool>(),
        prop::sample::select(vec!["/api/whoami", "/api/admin"]),
    );
    let result = runner().run(&strategy, |(raw_values, query, path)| {
        // `HeaderValue::from_bytes` refuses CTLs other than HTAB (they cannot be
        // sent); keep what it accepts, obs-text included.
        let values: Vec<HeaderValue> = raw_values
            .iter()
            .filter_map(|v| HeaderValue::from_bytes(v).ok())
            .collect();
        let path = if query {
            format!("{path}?access_token=q")
        } else {
            path.to_owned()
        };
        let ok = oracle_ok(&values, query, &fx.valid);
        // Only admin-scoped tokens pass /api/admin: none of the valid set has it.
        if ok && path.starts_with("/api/admin") {
            return fx.check(&path, &values, false);
        }
        fx.check(&path, &values, ok)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// F-1's round trip: `Bearer` in any case, 1*SP, a valid credential and any OWS
/// around it always passes, through `oneshot` (where nothing trimmed the OWS).
#[test]
fn valid_credentials_in_every_legal_shape_pass() {
    let (cap, _g) = common::capture();
    let fx = Fixture::new(cap);
    let strategy = (
        "[ \t]{0,3}",
        "[bB][eE][aA][rR][eE][rR]",
        " {1,4}",
        prop::sample::select(fx.valid.clone()),
        "[ \t]{0,3}",
    );
    let result = runner().run(&strategy, |(lead, scheme, sp, token, trail)| {
        let value =
            HeaderValue::from_str(&format!("{lead}{scheme}{sp}{token}{trail}")).expect("printable");
        prop_assert!(oracle_ok(std::slice::from_ref(&value), false, &fx.valid));
        fx.check("/api/whoami", &[value], true)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------
// Token mutations
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    DropSegment(prop::sample::Index),
    DupSegment(prop::sample::Index),
    SwapSegments(prop::sample::Index, prop::sample::Index),
    Insert(prop::sample::Index, char),
    Truncate(prop::sample::Index),
    Alg(&'static str),
    Kid(Option<&'static str>),
    ClaimType(&'static str, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        any::<prop::sample::Index>().prop_map(Mutation::DropSegment),
        any::<prop::sample::Index>().prop_map(Mutation::DupSegment),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Mutation::SwapSegments(a, b)),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(vec!['.', '=', '+', '/', '~', '-', '_', 'A'])
        )
            .prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        prop::sample::select(vec![
            "none", "None", "nOnE", "HS256", "RS256", "RS384", "PS256", "ES256", "EdDSA", ""
        ])
        .prop_map(Mutation::Alg),
        prop::sample::select(vec![
            None,
            Some("rsa-1"),
            Some("ec-1"),
            Some("ed-1"),
            Some("hmac-1"),
            Some("nope")
        ])
        .prop_map(Mutation::Kid),
        (
            prop::sample::select(vec!["exp", "nbf", "iat", "iss", "aud", "sub"]),
            prop::sample::select(vec!["null", "\"x\"", "-1", "1e300", "[]", "{}", "true"])
        )
            .prop_map(|(c, v)| Mutation::ClaimType(c, v)),
    ]
}

/// Re-encodes the JSON object in segment `i` after `f` changed it (no-op when
/// the segment is not a JSON object).
fn edit_segment(
    token: &str,
    i: usize,
    f: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> String {
    let mut segs: Vec<String> = token.split('.').map(str::to_owned).collect();
    let Some(seg) = segs.get(i) else {
        return token.to_owned();
    };
    let Some(mut obj) = URL_SAFE_NO_PAD
        .decode(seg)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.as_object().cloned())
    else {
        return token.to_owned();
    };
    f(&mut obj);
    segs[i] = URL_SAFE_NO_PAD.encode(Value::Object(obj).to_string());
    segs.join(".")
}

fn apply(token: &str, m: &Mutation) -> Vec<u8> {
    let segs: Vec<&str> = token.split('.').collect();
    match m {
        Mutation::Flip(i, mask) => {
            let mut b = token.as_bytes().to_vec();
            if !b.is_empty() {
                let i = i.index(b.len());
                b[i] ^= mask;
            }
            b
        }
        Mutation::DropSegment(i) => {
            let mut s = segs.clone();
            s.remove(i.index(s.len()));
            s.join(".").into_bytes()
        }
        Mutation::DupSegment(i) => {
            let mut s = segs.clone();
            let i = i.index(s.len());
            s.insert(i, segs[i]);
            s.join(".").into_bytes()
        }
        Mutation::SwapSegments(a, b) => {
            let mut s = segs.clone();
            let (a, b) = (a.index(s.len()), b.index(s.len()));
            s.swap(a, b);
            s.join(".").into_bytes()
        }
        Mutation::Insert(i, c) => {
            let mut t = token.to_owned();
            let i = i.index(t.len() + 1);
            t.insert(i, *c);
            t.into_bytes()
        }
        Mutation::Truncate(i) => token.as_bytes()[..i.index(token.len() + 1)].to_vec(),
        Mutation::Alg(alg) => edit_segment(token, 0, |h| {
            h.insert("alg".into(), Value::String((*alg).to_owned()));
        })
        .into_bytes(),
        Mutation::Kid(kid) => edit_segment(token, 0, |h| match kid {
            Some(k) => {
                h.insert("kid".into(), Value::String((*k).to_owned()));
            }
            None => {
                h.remove("kid");
            }
        })
        .into_bytes(),
        Mutation::ClaimType(claim, value) => edit_segment(token, 1, |p| {
            p.insert(
                (*claim).to_owned(),
                serde_json::from_str(value).expect("JSON literal"),
            );
        })
        .into_bytes(),
    }
}

#[test]
fn mutated_tokens() {
    let (cap, _g) = common::capture();
    let fx = Fixture::new(cap);
    let jwts: Vec<String> = fx.valid[..4].to_vec();
    let strategy = (
        prop::sample::select(jwts),
        prop::collection::vec(mutation(), 1..=3),
    );
    let result = runner().run(&strategy, |(original, mutations)| {
        let mut token = original.clone().into_bytes();
        for m in &mutations {
            // Once a flip made the token non-UTF-8, later text edits see it lossily.
            let text = String::from_utf8_lossy(&token).into_owned();
            token = apply(&text, m);
        }
        let mut value = b"Bearer ".to_vec();
        value.extend(&token);
        let Ok(value) = HeaderValue::from_bytes(&value) else {
            return Ok(()); // not sendable (a CTL)
        };
        let ok = token == original.as_bytes();
        fx.check("/api/whoami", &[value], ok)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The oracle itself, on the shapes H-05…H-09 and a few refusals.
#[test]
fn oracle_agrees_with_the_catalog() {
    let v = valid();
    let valid = vec![v.clone()];
    let hv = |s: String| HeaderValue::from_str(&s).expect("value");
    assert!(oracle_ok(&[hv(format!("Bearer {v}"))], false, &valid));
    assert!(oracle_ok(
        &[hv(format!(" \tbEaReR   {v}\t"))],
        false,
        &valid
    ));
    assert!(!oracle_ok(&[hv(format!("Bearer\t{v}"))], false, &valid));
    assert!(!oracle_ok(&[hv(format!("Bearer {v}"))], true, &valid));
    assert!(!oracle_ok(
        &[hv(format!("Bearer {v}")), hv(format!("Bearer {v}"))],
        false,
        &valid
    ));
    assert!(!oracle_ok(&[hv(format!("Bearer {v}x"))], false, &valid));
}
