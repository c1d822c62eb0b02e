//! Request-derived values in events and responses, through real servers on
//! 127.0.0.1: escaping of line-breaking, control and bidirectional characters in
//! every log format, bounded echoed values in `WWW-Authenticate` and the problem
//! body, the correlation fields of 403 events, and the names of unsupported
//! schemes in `auth.scheme`.

mod common;

use std::net::SocketAddr;

use authgate::{Algorithm, AuthConfig, AuthLayer, BasicConfig, JwtConfig, JwtKey, RequireScopes};
use axum::Router;
use axum::routing::get;
use common::{HS_SECRET, Signing, capture, capture_text, fields, raw_jwt};
use serde_json::{Value, json};

/// The user-id of the fixture user whose name holds a line separator and a
/// bidirectional override (a valid, if unwise, user-id).
const ODD_USER: &str = "ops\u{2028}\u{202e}x";

/// Characters that must never reach a log line as themselves: C0 and C1
/// controls (NEL, CSI, ESC, DEL, CR, LF, VT, FF), the Unicode line and
/// paragraph separators, and the bidirectional formatting characters.
const HOSTILE: &[char] = &[
    '\u{85}', '\u{9b}', '\u{1b}', '\u{7f}', '\r', '\n', '\u{b}', '\u{c}', '\u{2028}', '\u{2029}',
    '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
];

/// What splits a line for a log shipper that honours Unicode line breaks.
const LINE_BREAKS: &[char] = &[
    '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
];

fn escape_of(c: char) -> String {
    format!("\\u{{{:x}}}", u32::from(c))
}

fn alice_hash() -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("users.htpasswd");
    let text = std::fs::read_to_string(&path).expect("users.htpasswd");
    text.lines()
        .find_map(|l| l.strip_prefix("alice:"))
        .expect("alice in users.htpasswd")
        .to_owned()
}

/// Many long required scopes: more than 256 characters in a header parameter.
fn many_required() -> Vec<String> {
    (0..60)
        .map(|i| format!("orders:write:region-{i:03}"))
        .collect()
}

/// HS256 (kid `k1`, audience `api`, tokens up to 400 KB) and Basic (user `ops`
/// with scope `orders:read`, and [`ODD_USER`]); `/api/whoami` needs nothing,
/// `/api/admin` scope `admin`, `/api/many` the scopes of [`many_required`].
fn app() -> Router {
    let hash = alice_hash();
    let cfg = AuthConfig::builder()
        .jwt(
            JwtConfig::new([Algorithm::HS256])
                .key(JwtKey::hmac(HS_SECRET).with_kid("k1"))
                .audience("api"),
        )
        .basic(
            BasicConfig::new()
                .user("ops", &hash, ["orders:read"])
                .expect("user ops")
                .user(ODD_USER, &hash, Vec::<String>::new())
                .expect("odd user"),
        )
        .max_token_bytes(400_000)
        .build()
        .expect("config");
    Router::new()
        .route("/api/whoami", get(|| async { "ok" }))
        .route(
            "/api/admin",
            get(|| async { "admin" }).layer(RequireScopes::all(["admin"])),
        )
        .route(
            "/api/many",
            get(|| async { "many" }).layer(RequireScopes::all(many_required())),
        )
        .layer(AuthLayer::new(cfg))
}

fn hs(header: &Value, claims: &Value) -> String {
    raw_jwt(
        &header.to_string(),
        &claims.to_string(),
        Signing::Hs256(HS_SECRET),
    )
}

fn claims(extra: Value) -> Value {
    let mut c = json!({"sub": "u1", "aud": "api", "exp": common::now() + 600});
    if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
        c.extend(extra);
    }
    c
}

/// The one rejection event captured (the DEBUG `authenticated` events aside).
fn one_rejection(cap: &common::Captured) -> Value {
    let mut events: Vec<Value> = cap
        .authgate_events()
        .into_iter()
        .filter(|e| fields(e)["message"] != "authenticated")
        .collect();
    assert_eq!(events.len(), 1, "{events:#?}");
    events.pop().expect("one event")
}

async fn get_with(addr: SocketAddr, path: &str, authorization: &[u8]) -> common::Resp {
    common::get(addr, path, &[("authorization", authorization)]).await
}

async fn bearer(addr: SocketAddr, path: &str, token: &str) -> common::Resp {
    get_with(addr, path, format!("Bearer {token}").as_bytes()).await
}

// ---------------------------------------------------------------------------
// Escaping in every log format
// ---------------------------------------------------------------------------

/// One request whose event carries `value` in `field`, and the status it gets.
struct Hostile {
    field: &'static str,
    /// The value as the request carries it.
    value: String,
    path: &'static str,
    authorization: Vec<u8>,
    status: u16,
}

fn hostile_requests() -> Vec<Hostile> {
    let mut out = Vec::new();
    for &c in HOSTILE {
        let kid = format!("k{c}1");
        out.push(Hostile {
            field: "jwt.kid",
            authorization: format!(
                "Bearer {}",
                hs(&json!({"alg": "HS256", "kid": kid}), &claims(json!({})))
            )
            .into_bytes(),
            value: kid,
            path: "/api/whoami",
            status: 401,
        });
        let alg = format!("HS256{c}");
        out.push(Hostile {
            field: "jwt.alg",
            authorization: format!(
                "Bearer {}",
                hs(&json!({"alg": alg, "kid": "k1"}), &claims(json!({})))
            )
            .into_bytes(),
            value: alg,
            path: "/api/whoami",
            status: 401,
        });
        // A verified claim: an expired token whose sub holds the character.
        let sub = format!("user{c}2");
        out.push(Hostile {
            field: "jwt.sub",
            authorization: format!(
                "Bearer {}",
                hs(
                    &json!({"alg": "HS256", "kid": "k1"}),
                    &claims(json!({"sub": sub, "exp": 1_000_000_000u64}))
                )
            )
            .into_bytes(),
            value: sub,
            path: "/api/whoami",
            status: 401,
        });
    }
    // A known Basic user-id with a line separator and an override in it, wrong
    // password.
    let (_, value) = common::basic(ODD_USER, "not-the-password");
    out.push(Hostile {
        field: "auth.user",
        value: ODD_USER.to_owned(),
        path: "/api/whoami",
        authorization: value,
        status: 401,
    });
    // The same user, right password, on a route that needs a scope: 403.
    let (_, value) = common::basic(ODD_USER, "alice-s3cret");
    out.push(Hostile {
        field: "auth.user",
        value: ODD_USER.to_owned(),
        path: "/api/admin",
        authorization: value,
        status: 403,
    });
    out
}

/// Which output a test reads.
#[derive(Debug, Clone, Copy)]
enum Format {
    Json,
    Full,
    Compact,
}

/// Every hostile request once, through a real server, with events captured in
/// `format`; the raw output and the requests.
async fn run_hostile(format: Format) -> (String, Vec<Hostile>) {
    let (cap, _guard) = match format {
        Format::Json => capture(),
        Format::Full => capture_text(false),
        Format::Compact => capture_text(true),
    };
    let addr = common::serve(app()).await;
    let requests = hostile_requests();
    for r in &requests {
        let resp = get_with(addr, r.path, &r.authorization).await;
        assert_eq!(
            resp.status,
            r.status,
            "{} {:?}: {}",
            r.field,
            r.value,
            resp.text()
        );
    }
    (cap.raw(), requests)
}

/// The checks every format shares: no raw hostile character anywhere in the
/// output, so a shipper splitting on any Unicode line break sees exactly the
/// `\n`-terminated lines, one per event; and one event line per request, in
/// order, each holding the escape of its value.
fn check_one_line_per_event(format: Format, raw: &str, requests: &[Hostile]) -> Vec<String> {
    for &c in HOSTILE.iter().filter(|&&c| c != '\n') {
        assert!(
            !raw.contains(c),
            "{format:?}: raw {:?} in the log output:\n{raw}",
            escape_of(c)
        );
    }
    let unicode_lines: Vec<&str> = raw
        .split(|c| LINE_BREAKS.contains(&c))
        .filter(|l| !l.is_empty())
        .collect();
    let lines: Vec<&str> = raw.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(unicode_lines, lines, "{format:?}");
    let events: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("authentication failed") || l.contains("access forbidden"))
        .map(|l| (*l).to_owned())
        .collect();
    assert_eq!(
        events.len(),
        requests.len(),
        "{format:?}: one line per rejection event:\n{raw}"
    );
    for (line, r) in events.iter().zip(requests) {
        for c in r.value.chars().filter(|c| HOSTILE.contains(c)) {
            assert!(
                line.contains(&escape_of(c)),
                "{format:?} {}: no {} in {line}",
                r.field,
                escape_of(c)
            );
        }
    }
    events
}

#[tokio::test]
async fn json_events_escape_hostile_characters_and_stay_one_line_each() {
    let (raw, requests) = run_hostile(Format::Json).await;
    let lines = check_one_line_per_event(Format::Json, &raw, &requests);
    for (line, r) in lines.iter().zip(&requests) {
        let event: Value = serde_json::from_str(line).expect("a JSON line");
        let got = fields(&event)[r.field]
            .as_str()
            .unwrap_or_else(|| panic!("no {} in {event}", r.field));
        let want: String = r
            .value
            .chars()
            .map(|c| {
                if HOSTILE.contains(&c) {
                    escape_of(c)
                } else {
                    c.to_string()
                }
            })
            .collect();
        assert_eq!(got, want, "{}", r.field);
    }
}

#[tokio::test]
async fn text_events_escape_hostile_characters_and_stay_one_line_each() {
    for format in [Format::Full, Format::Compact] {
        let (raw, requests) = run_hostile(format).await;
        check_one_line_per_event(format, &raw, &requests);
    }
}

#[tokio::test]
async fn an_escaped_value_is_cut_at_1024_characters_between_escapes() {
    let (cap, _guard) = capture();
    let addr = common::serve(app()).await;
    // 2000 NELs: 12 000 characters once escaped.
    let kid = "\u{85}".repeat(2000);
    let token = hs(&json!({"alg": "HS256", "kid": kid}), &claims(json!({})));
    assert_eq!(bearer(addr, "/api/whoami", &token).await.status, 401);
    // A short value with escapes is kept whole.
    let kid = format!("a{}b", "\u{202e}".repeat(10));
    let token = hs(&json!({"alg": "HS256", "kid": kid}), &claims(json!({})));
    assert_eq!(bearer(addr, "/api/whoami", &token).await.status, 401);
    let events = cap.authgate_events();
    assert_eq!(events.len(), 2, "{events:#?}");
    let long = fields(&events[0])["jwt.kid"].as_str().expect("jwt.kid");
    assert!(
        long.chars().count() <= 1024,
        "{} chars",
        long.chars().count()
    );
    let body = long.strip_suffix('…').expect("cut with …");
    assert!(!body.contains('\u{85}'));
    assert!(
        body.chars().count() > 1000,
        "{} chars kept",
        body.chars().count()
    );
    assert_eq!(
        body,
        "\\u{85}".repeat(body.len() / 6),
        "only whole escapes before the cut"
    );
    let short = fields(&events[1])["jwt.kid"].as_str().expect("jwt.kid");
    assert_eq!(short, format!("a{}b", "\\u{202e}".repeat(10)));
}

// ---------------------------------------------------------------------------
// Bounded echoed values
// ---------------------------------------------------------------------------

/// Checks the sizes of a rejection: every `WWW-Authenticate` parameter at most
/// 256 characters (and within RFC 6750 §3's characters, by the strict parser),
/// the body's `detail` at most 1024, and the whole head small enough for any
/// client.
fn assert_bounded(resp: &common::Resp) -> Value {
    for (scheme, params) in resp.challenges() {
        for (name, value) in params {
            assert!(
                value.chars().count() <= 256,
                "{scheme} {name} is {} chars",
                value.chars().count()
            );
        }
    }
    let head: usize = resp
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    assert!(head < 4096, "response head is {head} bytes");
    let body = resp.json();
    let detail = body["detail"].as_str().expect("detail");
    assert!(
        detail.chars().count() <= 1024,
        "detail is {} chars",
        detail.chars().count()
    );
    assert!(resp.body.len() < 2048, "body is {} bytes", resp.body.len());
    body
}

fn description(resp: &common::Resp) -> String {
    let (_, params) = resp
        .challenges()
        .into_iter()
        .find(|(s, _)| s == "Bearer")
        .expect("a Bearer challenge");
    common::param(&params, "error_description")
        .expect("error_description")
        .to_owned()
}

#[tokio::test]
async fn a_10000_entry_aud_gives_a_bounded_401() {
    let (cap, _guard) = capture();
    let addr = common::serve(app()).await;
    let aud: Vec<String> = (0..10_000).map(|i| format!("a{i:04}")).collect();
    let token = hs(
        &json!({"alg": "HS256", "kid": "k1"}),
        &claims(json!({"aud": aud})),
    );
    let resp = bearer(addr, "/api/whoami", &token).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    let body = assert_bounded(&resp);
    assert_eq!(body["reason"], "audience_mismatch");
    let detail = body["detail"].as_str().expect("detail");
    assert!(detail.ends_with('…'), "{detail}");
    assert!(
        detail.starts_with("audience \"a0000\" \"a0001\""),
        "{detail}"
    );
    let described = description(&resp);
    assert!(described.ends_with("..."), "{described}");
    assert!(
        described.starts_with("audience 'a0000' 'a0001'"),
        "{described}"
    );
    // The event too is bounded.
    let event = one_rejection(&cap);
    for (name, value) in fields(&event).as_object().expect("fields") {
        if let Some(s) = value.as_str() {
            assert!(
                s.chars().count() <= 1024,
                "{name}: {} chars",
                s.chars().count()
            );
        }
    }
}

#[tokio::test]
async fn a_100_kib_sub_and_many_scopes_give_a_bounded_403() {
    let (cap, _guard) = capture();
    let addr = common::serve(app()).await;
    let granted: Vec<String> = (0..2_000).map(|i| format!("read:thing-{i}")).collect();
    let token = hs(
        &json!({"alg": "HS256", "kid": "k1"}),
        &claims(json!({"sub": "s".repeat(100 * 1024), "scope": granted.join(" ")})),
    );
    let resp = bearer(addr, "/api/many", &token).await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    let body = assert_bounded(&resp);
    assert_eq!(body["reason"], "insufficient_scope");
    let (_, params) = resp.challenges().into_iter().next().expect("a challenge");
    let scope = common::param(&params, "scope").expect("scope");
    // Cut between whole scope tokens, marked with a trailing "...".
    let kept: Vec<&str> = scope.split(' ').collect();
    let (mark, whole) = kept.split_last().expect("scope tokens");
    assert_eq!(*mark, "...", "{scope}");
    assert_eq!(whole, &many_required()[..whole.len()], "{scope}");
    assert!(whole.len() >= 5, "{scope}");
    let event = one_rejection(&cap);
    let f = fields(&event);
    for (name, value) in f.as_object().expect("fields") {
        if let Some(s) = value.as_str() {
            assert!(
                s.chars().count() <= 1024,
                "{name}: {} chars",
                s.chars().count()
            );
        }
    }
    assert!(f["jwt.sub"].as_str().expect("jwt.sub").ends_with('…'));
    assert!(
        f["auth.granted_scopes"]
            .as_str()
            .expect("granted")
            .ends_with('…')
    );
}

// ---------------------------------------------------------------------------
// 403 events: who, and which token
// ---------------------------------------------------------------------------

#[tokio::test]
async fn forbidden_events_name_the_basic_user_and_the_token_header() {
    let (cap, _guard) = capture();
    let addr = common::serve(app()).await;

    let (_, value) = common::basic("ops", "alice-s3cret");
    let resp = get_with(addr, "/api/admin", &value).await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert!(resp.www_authenticate().is_empty(), "no challenge for Basic");
    let event = one_rejection(&cap);
    let basic = fields(&event);
    assert_eq!(basic["auth.reason"], "insufficient_scope");
    assert_eq!(basic["auth.scheme"], "basic");
    assert_eq!(basic["auth.user"], "ops");
    assert_eq!(basic["auth.granted_scopes"], "orders:read");
    let hint = basic["auth.hint"].as_str().expect("hint");
    assert!(!hint.contains("token"), "a Basic hint about tokens: {hint}");
    assert!(hint.contains("basic.users"), "{hint}");
    assert!(basic.get("jwt.alg").is_none() && basic.get("auth.token_fp").is_none());
    cap.clear();

    let token = hs(
        &json!({"alg": "HS256", "kid": "k1"}),
        &claims(json!({"scope": "orders:read"})),
    );
    let resp = bearer(addr, "/api/admin", &token).await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    let event = one_rejection(&cap);
    let bearer_f = fields(&event);
    assert_eq!(bearer_f["auth.reason"], "insufficient_scope");
    assert_eq!(bearer_f["auth.scheme"], "bearer");
    assert_eq!(bearer_f["jwt.alg"], "HS256");
    assert_eq!(bearer_f["jwt.kid"], "k1");
    assert_eq!(bearer_f["jwt.sub"], "u1");
    assert_eq!(
        bearer_f["auth.token_fp"],
        authgate::event::token_fingerprint(&token)
    );
    assert!(bearer_f.get("auth.user").is_none());
    cap.clear();

    // No kid: no jwt.kid, still jwt.alg.
    let token = hs(&json!({"alg": "HS256"}), &claims(json!({})));
    assert_eq!(bearer(addr, "/api/admin", &token).await.status, 403);
    let event = one_rejection(&cap);
    assert_eq!(fields(&event)["jwt.alg"], "HS256");
    assert!(fields(&event).get("jwt.kid").is_none(), "{event}");
}

// ---------------------------------------------------------------------------
// auth.scheme of unsupported schemes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unsupported_schemes_are_logged_by_name_and_bare_tokens_as_unknown() {
    let (cap, _guard) = capture();
    let addr = common::serve(app()).await;
    let bare_jwt = hs(&json!({"alg": "HS256", "kid": "k1"}), &claims(json!({})));
    let long = format!("{} x", "S".repeat(100));
    let cases: Vec<(Vec<u8>, String)> = vec![
        // A word the layer does not know may be a credential (`<api-key> x`).
        (b"X-Custom credential".to_vec(), "unknown".into()),
        (b"sk_live_51HcQwErTy7uIoP x".to_vec(), "unknown".into()),
        (b"Token abc".to_vec(), "token".into()),
        (b"Digest x".to_vec(), "digest".into()),
        (b"DIGEST username=\"u\"".to_vec(), "digest".into()),
        (long.into_bytes(), "unknown".into()),
        (bare_jwt.clone().into_bytes(), "unknown".into()),
        (b"eyJhbGciOiJIUzI1NiJ9".to_vec(), "unknown".into()),
        (b"opaque-api-key-no-space".to_vec(), "unknown".into()),
        // A token's body before its padding is not a scheme either.
        (b"c2VjcmV0LXRva2Vu==".to_vec(), "unknown".into()),
        // A JWT followed by something: a word with '.' is never a scheme name.
        (format!("{bare_jwt} x").into_bytes(), "unknown".into()),
    ];
    for (value, _) in &cases {
        let resp = get_with(addr, "/api/whoami", value).await;
        assert_eq!(resp.status, 401, "{:?}", String::from_utf8_lossy(value));
    }
    let events = cap.authgate_events();
    assert_eq!(events.len(), cases.len(), "{events:#?}");
    for (event, (value, want)) in events.iter().zip(&cases) {
        let f = fields(event);
        assert_eq!(f["auth.reason"], "unsupported_scheme");
        assert_eq!(
            f["auth.scheme"],
            **want,
            "{:?}",
            String::from_utf8_lossy(value)
        );
    }
    let raw = cap.raw();
    for secret in [
        bare_jwt.as_str(),
        "eyJhbGciOiJIUzI1NiJ9",
        "opaque-api-key-no-space",
        "c2VjcmV0LXRva2Vu",
    ] {
        common::assert_no_secret(&raw, &[secret]);
    }
    // The lower-cased form of a bare token is not logged either.
    assert!(!raw.contains("eyjhbgcioijiuzi1nij9"), "{raw}");
    assert!(!raw.contains("opaque-api-key"), "{raw}");
}
