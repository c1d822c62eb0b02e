//! `AuthConfig::from_toml_*` (SPEC §4): one test per validation message, the
//! complete SPEC example, `examples/authgate.toml`, and that no error shows a
//! secret. Environment variables are injected through
//! `AuthConfig::from_toml_str_with_env`, never set on the process.

mod common;

use std::path::{Path, PathBuf};

use authgate::{AuthConfig, AuthLayer, ConfigError};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt as _;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn keys_dir() -> PathBuf {
    repo().join("tests").join("keys")
}

/// Loads `text` with base_dir `tests/keys/` and the given environment.
fn load_env(text: &str, env: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
    load_in(text, &keys_dir(), env)
}

fn load_in(text: &str, base: &Path, env: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    AuthConfig::from_toml_str_with_env(text, base, &move |name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

fn load(text: &str) -> Result<AuthConfig, ConfigError> {
    load_env(text, &[])
}

#[track_caller]
fn err(text: &str, env: &[(&str, &str)]) -> ConfigError {
    match load_env(text, env) {
        Ok(cfg) => panic!("expected an error, loaded {cfg:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_mentions(e: &ConfigError, needles: &[&str]) {
    for n in needles {
        assert!(e.to_string().contains(n), "{n:?} not in: {e}");
    }
}

/// A fresh, empty temporary directory for one test, removed when dropped.
fn temp_dir(name: &str) -> common::TempPath {
    common::TempPath::dir(&format!("config-file-{name}"))
}

/// The SEC1 point of `ec.pub.pem` as a P-256 JWK.
fn ec_jwk(kid: &str) -> serde_json::Value {
    let der = pem_body("ec.pub.pem");
    let point = &der[der.len() - 64..];
    json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&point[..32]),
        "y": URL_SAFE_NO_PAD.encode(&point[32..]),
    })
}

/// `ed.pub.pem` as an OKP JWK.
fn ed_jwk(kid: &str) -> serde_json::Value {
    let der = pem_body("ed.pub.pem");
    json!({
        "kty": "OKP", "crv": "Ed25519", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&der[der.len() - 32..]),
    })
}

fn pem_body(name: &str) -> Vec<u8> {
    let pem = String::from_utf8(common::read_key(name)).expect("PEM is text");
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    STANDARD.decode(b64).expect("PEM base64")
}

/// Status of `GET /` with `Authorization: Bearer <token>` through `cfg`.
async fn status_with_token(cfg: AuthConfig, token: &str) -> StatusCode {
    status_with(cfg, &format!("Bearer {token}")).await
}

/// Status of `GET /` with this `Authorization` value through `cfg`.
async fn status_with(cfg: AuthConfig, authorization: &str) -> StatusCode {
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(AuthLayer::new(cfg));
    let req = Request::get("/")
        .header("authorization", authorization)
        .body(Body::empty())
        .expect("request");
    app.oneshot(req).await.expect("infallible").status()
}

const HS_ONLY: &str = r#"
[bearer.jwt]
algorithms = ["HS256"]
[[bearer.jwt.keys]]
kid = "h"
secret_env = "AUTHGATE_TEST_HS_SECRET"
"#;

/// sha256("ci-bot-key-0123456789")
const CI_BOT_SHA256: &str = "6785d0b0a2e4912866b5cb944b63d5df1965f3785001862c68cfa4ce0296d961";

/// `openssl passwd -6 -salt authgatetestsalt 'alice-password'`
const ALICE_HASH: &str = "$6$authgatetestsalt$wt2GZnxjf2e71Ttx4E5JwtInyWYNbEb0k.JYq5ieVhTFBQAH0dD2fHFPl02HGzNThMOQPlZGcPABJ8AUkaVc./";

// ---------------------------------------------------------------------------
// One test per validation message
// ---------------------------------------------------------------------------

#[test]
fn typo_in_a_key_is_named() {
    let e = err(
        "[bearer.jwt]\nalgoritms = [\"RS256\"]\n",
        &[("AUTHGATE_TEST_UNUSED", "x")],
    );
    assert_eq!(e.key(), "bearer.jwt.algoritms");
    assert_mentions(
        &e,
        &["unknown field `algoritms`", "expected", "`algorithms`"],
    );
}

#[test]
fn typo_in_an_array_of_tables_entry_is_named_with_its_index() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\n[[bearer.jwt.keys]]\nsecrt_env = \"X\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[1].secrt_env");
    assert_mentions(&e, &["unknown field `secrt_env`", "`secret_env`", "line 6"]);
}

#[test]
fn hs256_secret_shorter_than_32_bytes() {
    let secret = "0123456789abcdefghijklmnopqrstu"; // 31 bytes
    assert_eq!(secret.len(), 31);
    let e = err(HS_ONLY, &[("AUTHGATE_TEST_HS_SECRET", secret)]);
    assert_eq!(e.key(), "bearer.jwt.keys[0] (kid \"h\")");
    assert_mentions(
        &e,
        &[
            "AUTHGATE_TEST_HS_SECRET",
            "31 bytes",
            "HS256 needs at least 32",
            "RFC 7518 §3.2",
        ],
    );
    common::assert_no_secret(&e.to_string(), &[secret]);
    common::assert_no_secret(&format!("{e:?}"), &[secret]);
}

#[test]
fn empty_algorithm_list() {
    let e = err(
        "[bearer.jwt]\nalgorithms = []\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.algorithms");
    assert_mentions(&e, &["empty"]);
}

#[test]
fn missing_algorithm_list() {
    let e = err(
        "[bearer.jwt]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.algorithms");
    assert_mentions(&e, &["missing", "RS256"]);
}

#[test]
fn unknown_algorithm_name() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\", \"rs512\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.algorithms");
    assert_mentions(
        &e,
        &[
            "\"rs512\"",
            "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA",
        ],
    );
    // `none` is just as unknown, and a control character is escaped.
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"none\\n\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\n",
        &[],
    );
    assert_mentions(&e, &["\"none\\n\""]);
    assert!(!e.to_string().contains('\n'), "{e}");
}

#[test]
fn key_type_fitting_no_allowed_algorithm() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"ES256\"]\n[[bearer.jwt.keys]]\nkid = \"r\"\npublic_key_pem_file = \"rsa.pub.pem\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[0] (kid \"r\")");
    assert_mentions(
        &e,
        &[
            "rsa.pub.pem",
            "an RSA public key fits none of the allowed algorithms [ES256]",
        ],
    );
}

#[test]
fn unreadable_key_file() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"no-such-key.pem\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[0].public_key_pem_file");
    let expected_path = keys_dir().join("no-such-key.pem");
    assert_mentions(
        &e,
        &[
            &expected_path.display().to_string(),
            "not found",
            "check the path",
        ],
    );
}

#[test]
fn unreadable_jwk_file() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"ES256\"]\n[[bearer.jwt.keys]]\njwk_file = \"missing.jwk.json\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[0].jwk_file");
    assert_mentions(&e, &["missing.jwk.json", "not found"]);
}

#[test]
fn pem_file_holding_a_private_key() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pem\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[0].public_key_pem_file");
    assert_mentions(&e, &["rsa.pem", "private key", "-pubout"]);
}

#[test]
fn env_var_unset() {
    let e = err(
        HS_ONLY,
        &[("AUTHGATE_TEST_OTHER_VAR", "x".repeat(40).as_str())],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[0].secret_env");
    // Named by its key path only: the value may be a secret pasted there.
    assert_mentions(&e, &["not set"]);
    assert!(!e.to_string().contains("AUTHGATE_TEST_HS_SECRET"), "{e}");
}

#[test]
fn env_var_empty() {
    let e = err(HS_ONLY, &[("AUTHGATE_TEST_HS_SECRET", "")]);
    assert_eq!(e.key(), "bearer.jwt.keys[0].secret_env");
    assert_mentions(&e, &["empty"]);
    assert!(!e.to_string().contains("AUTHGATE_TEST_HS_SECRET"), "{e}");
}

#[test]
fn secret_env_that_is_not_a_variable_name() {
    let pasted = "s3cret/value+with=symbols";
    let text = format!(
        "[bearer.jwt]\nalgorithms = [\"HS256\"]\n[[bearer.jwt.keys]]\nsecret_env = \"{pasted}\"\n"
    );
    let e = err(&text, &[]);
    assert_eq!(e.key(), "bearer.jwt.keys[0].secret_env");
    assert_mentions(
        &e,
        &[
            "NAME of an environment variable",
            "never written in the file",
        ],
    );
    common::assert_no_secret(&e.to_string(), &[pasted]);
}

#[test]
fn base64_secret_invalid() {
    let value = "not*base64*at*all*0123456789abcdef";
    let text = format!("{HS_ONLY}secret_encoding = \"base64\"\n");
    let e = err(&text, &[("AUTHGATE_TEST_HS_SECRET", value)]);
    assert_eq!(e.key(), "bearer.jwt.keys[0].secret_env");
    assert_mentions(&e, &["AUTHGATE_TEST_HS_SECRET", "not valid base64"]);
    common::assert_no_secret(&e.to_string(), &[value]);
}

#[test]
fn unknown_secret_encoding() {
    let text = format!("{HS_ONLY}secret_encoding = \"hex\"\n");
    let e = err(&text, &[("AUTHGATE_TEST_HS_SECRET", &"k".repeat(32))]);
    assert_eq!(e.key(), "bearer.jwt.keys[0].secret_encoding");
    assert_mentions(&e, &["unknown variant `hex`", "`raw` or `base64`"]);
}

#[test]
fn secret_encoding_without_secret_env() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\nsecret_encoding = \"base64\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[0].secret_encoding");
    assert_mentions(&e, &["only to secret_env"]);
}

#[test]
fn duplicate_kid() {
    let e = err(
        r#"
[bearer.jwt]
algorithms = ["RS256", "ES256"]
[[bearer.jwt.keys]]
kid = "same"
public_key_pem_file = "rsa.pub.pem"
[[bearer.jwt.keys]]
kid = "same"
public_key_pem_file = "ec.pub.pem"
"#,
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[1] (kid \"same\")");
    assert_mentions(&e, &["ec.pub.pem", "duplicate kid"]);
}

#[test]
fn api_key_digest_not_64_hex_chars() {
    let e = err(
        "[[bearer.api_keys]]\nid = \"ci-bot\"\nsha256 = \"abc123\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.api_keys[0].sha256");
    assert_mentions(
        &e,
        &["\"ci-bot\"", "64 hex characters", "got 6", "sha256sum"],
    );
    let e = err(
        &format!(
            "[[bearer.api_keys]]\nid = \"a\"\nsha256 = \"{CI_BOT_SHA256}\"\n[[bearer.api_keys]]\nid = \"b\"\nsha256 = \"{}\"\n",
            "z".repeat(64)
        ),
        &[],
    );
    assert_eq!(e.key(), "bearer.api_keys[1].sha256");
}

#[test]
fn api_key_missing_digest() {
    let e = err("[[bearer.api_keys]]\nid = \"ci-bot\"\n", &[]);
    assert_eq!(e.key(), "bearer.api_keys[0].sha256");
    assert_mentions(&e, &["required key is missing"]);
}

#[test]
fn two_key_sources_in_one_entry() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\", \"HS256\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\nsecret_env = \"AUTHGATE_TEST_HS_SECRET\"\n",
        &[("AUTHGATE_TEST_HS_SECRET", &"k".repeat(32))],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[0]");
    assert_mentions(
        &e,
        &[
            "2 key sources (public_key_pem_file, secret_env)",
            "exactly one of public_key_pem_file, secret_env or jwk_file",
        ],
    );
}

#[test]
fn no_key_source() {
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\n[[bearer.jwt.keys]]\nkid = \"lonely\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.keys[0]");
    assert_mentions(
        &e,
        &[
            "no key source",
            "public_key_pem_file, secret_env or jwk_file",
        ],
    );
}

#[test]
fn no_keys_at_all() {
    let e = err("[bearer.jwt]\nalgorithms = [\"RS256\"]\n", &[]);
    assert_eq!(e.key(), "bearer.jwt.keys");
    assert_mentions(&e, &["no verification keys"]);
}

#[test]
fn remote_keys_are_checked() {
    // Plain http to a non-loopback host is refused unless allowed.
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\njwks_url = \"http://id.example.com/jwks.json\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.jwks_url");
    assert_mentions(&e, &["allow_insecure_http"]);
    // Both sources at once is ambiguous.
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\njwks_url = \"https://id.example.com/jwks\"\noidc_issuer = \"https://id.example.com/\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.jwks_url");
    assert_mentions(&e, &["either jwks_url or oidc_issuer"]);
    // Tuning keys out of range name themselves.
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\njwks_url = \"https://id.example.com/jwks\"\njwks_timeout_secs = 0\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.jwks_timeout_secs");
    // A remote key source alone is enough keys.
    load(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\noidc_issuer = \"https://id.example.com/\"\njwks_refresh_secs = 600\n",
    )
    .unwrap();
    load("[bearer.jwt]\nalgorithms = [\"RS256\"]\njwks_url = \"http://127.0.0.1:9/jwks\"\n")
        .unwrap();
}

#[test]
fn remote_key_settings_are_part_of_the_schema() {
    load(
        r#"
[bearer.jwt]
algorithms = ["RS256"]
allow_insecure_http = false
jwks_refresh_secs = 300
jwks_refetch_cooldown_secs = 30
jwks_stale_secs = 86400
jwks_timeout_secs = 5
[[bearer.jwt.keys]]
public_key_pem_file = "rsa.pub.pem"
"#,
    )
    .unwrap();
    let e = err(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\njwks_timeout_secs = \"5s\"\n",
        &[],
    );
    assert_eq!(e.key(), "bearer.jwt.jwks_timeout_secs");
}

#[test]
fn jwk_kid_override_needs_a_single_key() {
    let dir = temp_dir("jwk-kid-override");
    let set = json!({ "keys": [ec_jwk("e1"), ed_jwk("d1")] });
    std::fs::write(dir.join("set.jwk.json"), set.to_string()).unwrap();
    let text = "[bearer.jwt]\nalgorithms = [\"ES256\", \"EdDSA\"]\n[[bearer.jwt.keys]]\nkid = \"mine\"\njwk_file = \"set.jwk.json\"\n";
    let e = load_in(text, &dir, &[]).unwrap_err();
    assert_eq!(e.key(), "bearer.jwt.keys[0].kid");
    assert_mentions(&e, &["holds 2 keys", "single JWK"]);
    // Without the override, the set loads with the JWKs' own kids.
    let text = "[bearer.jwt]\nalgorithms = [\"ES256\", \"EdDSA\"]\n[[bearer.jwt.keys]]\njwk_file = \"set.jwk.json\"\n";
    load_in(text, &dir, &[]).unwrap();
}

#[test]
fn jwk_set_keys_are_reported_by_entry_and_position() {
    let dir = temp_dir("jwk-set-rekey");
    let set = json!({ "keys": [ec_jwk("e1"), ed_jwk("d1")] });
    std::fs::write(dir.join("set.jwk.json"), set.to_string()).unwrap();
    // Entry 1 expands into builder keys 1 and 2; the Ed25519 key (2 of 2) fits
    // no allowed algorithm.
    let text = "[bearer.jwt]\nalgorithms = [\"RS256\", \"ES256\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\n[[bearer.jwt.keys]]\njwk_file = \"set.jwk.json\"\n";
    let keys = keys_dir();
    let text = text.replace(
        "rsa.pub.pem",
        &keys.join("rsa.pub.pem").display().to_string(),
    );
    let e = load_in(&text, &dir, &[]).unwrap_err();
    assert_eq!(e.key(), "bearer.jwt.keys[1] (kid \"d1\")");
    assert_mentions(&e, &["set.jwk.json\" (key 2 of 2)", "Ed25519"]);
}

#[test]
fn basic_section_without_users() {
    let e = err("[basic]\n", &[]);
    assert_eq!(e.key(), "basic");
    assert_mentions(&e, &["htpasswd_file", "[[basic.users]]"]);
}

#[test]
fn unreadable_htpasswd_file() {
    let e = err("[basic]\nhtpasswd_file = \"nobody.htpasswd\"\n", &[]);
    assert_eq!(e.key(), "basic.htpasswd_file");
    assert_mentions(&e, &["nobody.htpasswd", "not found"]);
}

#[test]
fn no_scheme_enabled() {
    let e = err("realm = \"api\"\n", &[]);
    assert_eq!(e.key(), "bearer");
    assert_mentions(&e, &["no scheme is enabled"]);
}

#[test]
fn value_of_the_wrong_type() {
    let e = err(
        "leeway_secs = \"thirty\"\n[[bearer.api_keys]]\nid = \"a\"\nsha256 = \"0\"\n",
        &[],
    );
    assert_eq!(e.key(), "leeway_secs");
    assert_mentions(&e, &["invalid type", "expected u64", "line 1"]);
    assert!(
        !e.to_string().contains("thirty"),
        "string values are not echoed: {e}"
    );
}

#[test]
fn builder_checks_apply_to_files() {
    let api = format!("[[bearer.api_keys]]\nid = \"a\"\nsha256 = \"{CI_BOT_SHA256}\"\n");
    let e = err(&format!("leeway_secs = 86400\n{api}"), &[]);
    assert_eq!(e.key(), "leeway_secs");
    let e = err(&format!("realm = \"a\\\"b\"\n{api}"), &[]);
    assert_eq!(e.key(), "realm");
    let e = err(&format!("{api}{api}"), &[]);
    assert_mentions(&e, &["duplicate id"]);
}

#[test]
fn toml_syntax_error_names_its_place() {
    let e = err("realm = \"api\"\n[bearer.jwt\n", &[]);
    assert!(e.key().starts_with("line 2, column "), "{e}");
    assert_mentions(&e, &["not valid TOML"]);
}

#[test]
fn unreadable_config_file() {
    let dir = temp_dir("missing-config");
    let path = dir.join("nope.toml");
    let e = AuthConfig::from_toml_file(&path).unwrap_err();
    assert_eq!(e.key(), path.display().to_string());
    assert_mentions(&e, &["cannot read the configuration file", "not found"]);
}

// ---------------------------------------------------------------------------
// Paths, complete files
// ---------------------------------------------------------------------------

#[tokio::test]
async fn relative_paths_resolve_against_base_dir() {
    // From base_dir = tests/keys, "rsa.pub.pem" is the fixture.
    let text = "[bearer.jwt]\nalgorithms = [\"RS256\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"rsa.pub.pem\"\n";
    let cfg = load_in(text, &keys_dir(), &[]).unwrap();
    let token = common::mint(
        jsonwebtoken::Algorithm::RS256,
        None,
        &json!({ "exp": common::now() + 600, "sub": "u" }),
    );
    assert_eq!(status_with_token(cfg, &token).await, StatusCode::OK);
    // The same text from another base_dir does not find it.
    let e = load_in(text, &repo(), &[]).unwrap_err();
    assert_eq!(e.key(), "bearer.jwt.keys[0].public_key_pem_file");

    // from_toml_file: relative to the config file's own directory.
    let dir = temp_dir("relative-paths");
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(
        dir.join("keys").join("signing.jwk.json"),
        ec_jwk("ec-jwk").to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("authgate.toml"),
        "[bearer.jwt]\nalgorithms = [\"ES256\"]\n[[bearer.jwt.keys]]\njwk_file = \"keys/signing.jwk.json\"\n",
    )
    .unwrap();
    let cfg = AuthConfig::from_toml_file(dir.join("authgate.toml")).unwrap();
    let token = common::mint(
        jsonwebtoken::Algorithm::ES256,
        Some("ec-jwk"),
        &json!({ "exp": common::now() + 600 }),
    );
    assert_eq!(status_with_token(cfg, &token).await, StatusCode::OK);
}

/// The SPEC §4 example, minus remote keys, with real files in a temp dir.
fn spec_example(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::copy(
        keys_dir().join("rsa.pub.pem"),
        dir.join("keys").join("rsa.pub.pem"),
    )
    .unwrap();
    std::fs::write(
        dir.join("keys").join("signing.jwk.json"),
        json!({ "keys": [ec_jwk("ec-jwk"), ed_jwk("ed-jwk")] }).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("users.htpasswd"),
        format!("# demo users\nbob:{ALICE_HASH}\n"),
    )
    .unwrap();
    format!(
        r#"
realm = "api"                 # default "api"
leeway_secs = 30              # default 30
cors_preflight = "allow"      # "allow" (default) or "authenticate"
problem_body = true           # default true; false = empty body, no Content-Type
max_token_bytes = 16384       # default 16384; longer Bearer tokens are rejected unparsed

[bearer.jwt]
algorithms = ["RS256", "ES256", "EdDSA", "HS256"]   # explicit allow-list, required
issuer = ["https://id.example.com/"]                # optional; string or list
audience = ["orders-api"]                           # optional; string or list
required_claims = ["exp", "sub"]                    # default ["exp"]
scope_claim = "scope"

[[bearer.jwt.keys]]
kid = "rsa-2026"               # optional
public_key_pem_file = "keys/rsa.pub.pem"   # RSA, EC P-256/P-384 or Ed25519 SPKI PEM
[[bearer.jwt.keys]]
kid = "hmac-1"
secret_env = "AUTHGATE_TEST_SPEC_HS256_SECRET"
secret_encoding = "raw"
[[bearer.jwt.keys]]
jwk_file = "keys/signing.jwk.json"         # a JWK or a JWK Set

[[bearer.api_keys]]
id = "ci-bot"                  # logged; the key itself never is
sha256 = "{CI_BOT_SHA256}"
scopes = ["orders:read"]

[basic]
htpasswd_file = "users.htpasswd"
[[basic.users]]
name = "alice"
password_hash = "{ALICE_HASH}"
scopes = ["admin"]
"#
    )
}

#[tokio::test]
async fn complete_spec_example_loads_and_verifies() {
    let dir = temp_dir("spec-example");
    let text = spec_example(&dir);
    std::fs::write(dir.join("authgate.toml"), &text).unwrap();
    let env = [("AUTHGATE_TEST_SPEC_HS256_SECRET", common::HS_SECRET_STR)];
    let cfg = load_in(&text, &dir, &env).unwrap();
    assert_eq!(cfg.realm(), "api");
    let dbg = format!("{cfg:?}");
    common::assert_no_secret(&dbg, &[common::HS_SECRET_STR]);

    let claims = json!({
        "exp": common::now() + 600, "sub": "u",
        "iss": "https://id.example.com/", "aud": "orders-api",
    });
    use jsonwebtoken::Algorithm as A;
    for (alg, kid) in [
        (A::RS256, "rsa-2026"),
        (A::HS256, "hmac-1"),
        (A::ES256, "ec-jwk"),
        (A::EdDSA, "ed-jwk"),
    ] {
        let token = common::mint(alg, Some(kid), &claims);
        assert_eq!(
            status_with_token(cfg.clone(), &token).await,
            StatusCode::OK,
            "{alg:?}"
        );
    }
    // The API key works as a Bearer token; audience is enforced.
    assert_eq!(
        status_with_token(cfg.clone(), "ci-bot-key-0123456789").await,
        StatusCode::OK
    );
    let wrong_aud = json!({ "exp": common::now() + 600, "sub": "u",
        "iss": "https://id.example.com/", "aud": "other" });
    let token = common::mint(A::RS256, Some("rsa-2026"), &wrong_aud);
    assert_eq!(
        status_with_token(cfg.clone(), &token).await,
        StatusCode::UNAUTHORIZED
    );
    // Basic: alice from [[basic.users]], bob from the htpasswd file.
    for (user, password, want) in [
        ("alice", "alice-password", StatusCode::OK),
        ("bob", "alice-password", StatusCode::OK),
        ("alice", "wrong-password", StatusCode::UNAUTHORIZED),
    ] {
        let creds = STANDARD.encode(format!("{user}:{password}"));
        assert_eq!(
            status_with(cfg.clone(), &format!("Basic {creds}")).await,
            want,
            "{user}"
        );
    }
}

#[test]
fn absent_sections_turn_schemes_off() {
    // Only API keys: loads, with no [bearer.jwt] and no [basic].
    let text = format!("[[bearer.api_keys]]\nid = \"a\"\nsha256 = \"{CI_BOT_SHA256}\"\n");
    load(&text).unwrap();
    // Only Basic.
    load(&format!(
        "[[basic.users]]\nname = \"alice\"\npassword_hash = \"{ALICE_HASH}\"\n"
    ))
    .unwrap();
}

#[test]
fn examples_authgate_toml_loads() {
    let path = repo().join("examples").join("authgate.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let secret_b64 = STANDARD.encode(common::HS_SECRET);
    let env = [("AUTHGATE_HS256_SECRET", secret_b64.as_str())];
    let cfg = load_in(&text, &repo().join("examples"), &env).unwrap();
    assert_eq!(cfg.realm(), "api");
    // And without the variable, the error names its key path.
    let e = load_in(&text, &repo().join("examples"), &[]).unwrap_err();
    assert_eq!(e.key(), "bearer.jwt.keys[3].secret_env");
    assert_mentions(&e, &["not set"]);
}

// ---------------------------------------------------------------------------
// No secret in any error
// ---------------------------------------------------------------------------

#[test]
fn no_config_error_shows_a_secret_value() {
    let short = "short-secret-value-xyz"; // 22 bytes
    let long = "this-is-a-long-enough-secret-value-0123456789";
    let not_b64 = "***not-base64-secret-value***";
    let short_b64 = STANDARD.encode(short);
    let hs = |extra: &str, algs: &str| {
        format!(
            "[bearer.jwt]\nalgorithms = [{algs}]\n[[bearer.jwt.keys]]\nkid = \"h\"\nsecret_env = \"AUTHGATE_TEST_NOLEAK\"\n{extra}"
        )
    };
    let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
        // too short for HS256
        (hs("", "\"HS256\""), vec![("AUTHGATE_TEST_NOLEAK", short)]),
        // long enough for HS256, too short for HS512
        (
            hs("", "\"HS256\", \"HS512\""),
            vec![("AUTHGATE_TEST_NOLEAK", long)],
        ),
        // an HMAC key with only asymmetric algorithms allowed
        (hs("", "\"RS256\""), vec![("AUTHGATE_TEST_NOLEAK", long)]),
        // invalid base64
        (
            hs("secret_encoding = \"base64\"\n", "\"HS256\""),
            vec![("AUTHGATE_TEST_NOLEAK", not_b64)],
        ),
        // valid base64 of a short secret
        (
            hs("secret_encoding = \"base64\"\n", "\"HS256\""),
            vec![("AUTHGATE_TEST_NOLEAK", &short_b64)],
        ),
        // duplicate kid next to a secret
        (
            format!(
                "{}[[bearer.jwt.keys]]\nkid = \"h\"\nsecret_env = \"AUTHGATE_TEST_NOLEAK\"\n",
                hs("", "\"HS256\"")
            ),
            vec![("AUTHGATE_TEST_NOLEAK", long)],
        ),
        // a secret pasted where a variable name belongs, or as a wrongly typed value
        (
            format!(
                "[bearer.jwt]\nalgorithms = [\"HS256\"]\n[[bearer.jwt.keys]]\nsecret_env = \"{long}!\"\n"
            ),
            vec![],
        ),
        (format!("realm = [\"{long}\"]\n"), vec![]),
        (format!("max_token_bytes = \"{long}\"\n"), vec![]),
        (
            format!("[[bearer.api_keys]]\nid = \"a\"\nsha256 = \"{long}\"\n"),
            vec![],
        ),
    ];
    for (i, (text, env)) in cases.iter().enumerate() {
        let e = match load_env(text, env) {
            Ok(_) => panic!("case {i} loaded"),
            Err(e) => e,
        };
        let shown = format!("{e} / {e:?}");
        common::assert_no_secret(&shown, &[short, long, not_b64]);
        assert!(!e.key().is_empty() && !e.message().is_empty(), "case {i}");
    }
}
