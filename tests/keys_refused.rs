//! Keys that cannot bind a signature are refused from every source: a PEM file
//! (`JwtKey::from_pem`, `public_key_pem_file`), a JWK file (`JwtKey::from_jwk_json`,
//! `jwk_file`) and a remote JWK Set served by a real HTTP server on 127.0.0.1,
//! where such a key is skipped with one WARN and the rest of the set still serves.
//!
//! - Ed25519: the eight canonical small-order points (RFC 8032 §5.1.7 verifies
//!   `[S]B = R + [k]A`; with `A` of small order, `R` = identity and `S` = 0 make a
//!   "signature" that needs no private key).
//! - EC: a point that is not on its curve.
//! - RSA: a modulus under 2048 bits (its bits counted, leading zero bytes
//!   ignored), an exponent that is even, below 3, or too large to verify with.
//!
//! The RSA fixtures in `tests/fixtures/keys-refused/` were made with `openssl`
//! (see the README there).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use authgate::{Algorithm, AuthConfig, AuthLayer, ConfigError, JwtConfig, JwtKey, RequireScopes};
use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// The eight canonical encodings of the points of small order on edwards25519
/// (RFC 8032 §5.1.2 encoding): the identity (order 1), (0, −1) (order 2), the two
/// points with y = 0 (order 4) and the four points of order 8.
const SMALL_ORDER: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn small_order(i: usize) -> Vec<u8> {
    unhex(SMALL_ORDER[i])
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("keys-refused")
        .join(name)
}

fn read_fixture(name: &str) -> Vec<u8> {
    let path = fixture(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_body(pem: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(pem.to_vec()).expect("PEM is text");
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).expect("PEM base64")
}

/// An Ed25519 SubjectPublicKeyInfo (RFC 8410 §4) around a raw 32-byte key: the
/// DER prefix of every Ed25519 SPKI (here the one of `ed.pub.pem`), then the key.
fn ed25519_spki_pem(x: &[u8]) -> String {
    let real = pem_body(&common::read_key("ed.pub.pem"));
    assert_eq!(real.len(), 44, "an Ed25519 SPKI is 44 bytes");
    let mut der = real[..12].to_vec();
    der.extend_from_slice(x);
    pem("PUBLIC KEY", &der)
}

fn ed25519_jwk(kid: &str, x: &[u8]) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": URL_SAFE_NO_PAD.encode(x)})
}

/// `ec.pub.pem` with the last byte of its point's `y` changed: no longer on P-256.
fn ec_off_curve_pem() -> String {
    let mut der = pem_body(&common::read_key("ec.pub.pem"));
    *der.last_mut().expect("non-empty") ^= 0x01;
    pem("PUBLIC KEY", &der)
}

/// The public JWK of a fixture private key, with a kid.
fn fixture_jwk(alg: jsonwebtoken::Algorithm, private: &str, kid: &str) -> Value {
    let mut jwk =
        Jwk::from_encoding_key(&common::encoding_key_from_file(alg, private), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

fn ec_off_curve_jwk(kid: &str) -> Value {
    let mut jwk = fixture_jwk(jsonwebtoken::Algorithm::ES256, "ec.pem", kid);
    let mut y = URL_SAFE_NO_PAD
        .decode(jwk["y"].as_str().expect("y"))
        .expect("y");
    *y.last_mut().expect("non-empty") ^= 0x01;
    jwk["y"] = json!(URL_SAFE_NO_PAD.encode(y));
    jwk
}

/// The RSA JWK of `rsa.pem` (2048 bits) with the exponent `e` (big-endian).
fn rsa_jwk_with_e(kid: &str, e: &[u8]) -> Value {
    let mut jwk = fixture_jwk(jsonwebtoken::Algorithm::RS256, "rsa.pem", kid);
    jwk["e"] = json!(URL_SAFE_NO_PAD.encode(e));
    jwk
}

/// The 1024-bit key's JWK with its `n` padded by leading zero bytes to 256 bytes,
/// so that its length alone looks like 2048 bits.
fn rsa_padded_jwk(kid: &str) -> Value {
    let mut jwk: Value = serde_json::from_slice(&read_fixture("rsa1024.jwk.json")).unwrap();
    let n = URL_SAFE_NO_PAD
        .decode(jwk["n"].as_str().expect("n"))
        .expect("n");
    assert_eq!(n.len(), 128);
    let mut padded = vec![0u8; 256 - n.len()];
    padded.extend_from_slice(&n);
    jwk["n"] = json!(URL_SAFE_NO_PAD.encode(padded));
    jwk["kid"] = json!(kid);
    jwk
}

/// Every RSA JWK that must be refused, with a word its reason must contain.
fn bad_rsa_jwks() -> Vec<(Value, &'static str)> {
    let mut small: Value = serde_json::from_slice(&read_fixture("rsa1024.jwk.json")).unwrap();
    small["kid"] = json!("rsa-1024");
    vec![
        (small, "1024 bits"),
        (rsa_padded_jwk("rsa-padded"), "1024 bits"),
        (rsa_jwk_with_e("rsa-e1", &[1]), "exponent"),
        (rsa_jwk_with_e("rsa-e2", &[2]), "exponent"),
        (rsa_jwk_with_e("rsa-e65536", &[1, 0, 0]), "exponent"),
        (
            rsa_jwk_with_e("rsa-e2p65p1", &[2, 0, 0, 0, 0, 0, 0, 0, 1]),
            "exponent",
        ),
        (rsa_jwk_with_e("rsa-e2p33p1", &[2, 0, 0, 0, 1]), "exponent"),
    ]
}

/// Every RSA PEM fixture that must be refused, with a word its reason must contain.
const BAD_RSA_PEMS: [(&str, &str); 5] = [
    ("rsa1024.pub.pem", "1024 bits"),
    ("rsa-e1.pub.pem", "exponent"),
    ("rsa-e65536.pub.pem", "exponent"),
    ("rsa-e2p65p1.pub.pem", "exponent"),
    ("rsa-e2p33p1.pub.pem", "exponent"),
];

// ---------------------------------------------------------------------------
// Configuration files
// ---------------------------------------------------------------------------

fn load_in(text: &str, base: &Path) -> Result<AuthConfig, ConfigError> {
    AuthConfig::from_toml_str_with_env(text, base, &|_| None)
}

#[track_caller]
fn config_err(text: &str, base: &Path) -> ConfigError {
    match load_in(text, base) {
        Ok(cfg) => panic!("expected an error, loaded {cfg:?}"),
        Err(e) => e,
    }
}

fn pem_config(algorithms: &str, kid: &str) -> String {
    format!(
        "[bearer.jwt]\nalgorithms = [{algorithms}]\n[[bearer.jwt.keys]]\nkid = \"{kid}\"\npublic_key_pem_file = \"key.pem\"\n"
    )
}

fn jwk_config(algorithms: &str) -> String {
    format!(
        "[bearer.jwt]\nalgorithms = [{algorithms}]\n[[bearer.jwt.keys]]\njwk_file = \"key.jwk.json\"\n"
    )
}

// ---------------------------------------------------------------------------
// Static keys: PEM
// ---------------------------------------------------------------------------

#[test]
fn small_order_ed25519_pem_keys_are_refused() {
    let dir = common::TempPath::dir("keys-refused-ed-pem");
    for (i, hex) in SMALL_ORDER.iter().enumerate() {
        let pem = ed25519_spki_pem(&small_order(i));
        let err = JwtKey::from_pem(&pem).expect_err(hex);
        assert!(err.message().contains("small-order"), "{hex}: {err}");

        std::fs::write(dir.join("key.pem"), &pem).unwrap();
        let err = config_err(&pem_config("\"EdDSA\"", "so"), &dir);
        assert_eq!(err.key(), "bearer.jwt.keys[0].public_key_pem_file", "{hex}");
        assert!(err.message().contains("key.pem"), "{hex}: {err}");
        assert!(err.message().contains("small-order"), "{hex}: {err}");
    }
    // The real key still loads.
    assert!(JwtKey::from_pem(common::read_key("ed.pub.pem")).is_ok());
}

#[test]
fn ec_pem_point_off_its_curve_is_refused() {
    let err = JwtKey::from_pem(ec_off_curve_pem()).unwrap_err();
    assert_eq!(err.key(), "public_key_pem_file");
    assert!(err.message().contains("not on the P-256 curve"), "{err}");

    let dir = common::TempPath::dir("keys-refused-ec-pem");
    std::fs::write(dir.join("key.pem"), ec_off_curve_pem()).unwrap();
    let err = config_err(&pem_config("\"ES256\"", "ec"), &dir);
    assert_eq!(err.key(), "bearer.jwt.keys[0].public_key_pem_file");
    assert!(err.message().contains("not on the P-256 curve"), "{err}");

    for good in ["ec.pub.pem", "ec384.pub.pem"] {
        assert!(JwtKey::from_pem(common::read_key(good)).is_ok(), "{good}");
    }
}

#[test]
fn weak_rsa_pem_keys_are_refused() {
    let dir = common::TempPath::dir("keys-refused-rsa-pem");
    for (name, why) in BAD_RSA_PEMS {
        let bytes = read_fixture(name);
        let err = JwtKey::from_pem(&bytes).expect_err(name);
        assert_eq!(err.key(), "public_key_pem_file", "{name}");
        assert!(err.message().contains(why), "{name}: {err}");

        std::fs::write(dir.join("key.pem"), &bytes).unwrap();
        let err = config_err(&pem_config("\"RS256\"", "r"), &dir);
        assert_eq!(
            err.key(),
            "bearer.jwt.keys[0].public_key_pem_file",
            "{name}"
        );
        assert!(err.message().contains(why), "{name}: {err}");
    }
    // PKCS#1 (`RSA PUBLIC KEY`) goes through the same check as SPKI.
    for (name, why) in [
        ("rsa-e1.pkcs1.pem", "exponent"),
        ("rsa1024.pkcs1.pem", "1024 bits"),
    ] {
        let err = JwtKey::from_pem(read_fixture(name)).expect_err(name);
        assert!(err.message().contains(why), "{name}: {err}");
    }
    // The fixture keys with usable parameters still load, e = 3 included.
    for good in ["rsa.pub.pem", "rsa2.pub.pem"] {
        assert!(JwtKey::from_pem(common::read_key(good)).is_ok(), "{good}");
    }
    assert!(JwtKey::from_pem(read_fixture("rsa-e3.pub.pem")).is_ok());
}

// ---------------------------------------------------------------------------
// Static keys: JWK
// ---------------------------------------------------------------------------

#[test]
fn small_order_ed25519_jwks_are_refused() {
    let dir = common::TempPath::dir("keys-refused-ed-jwk");
    for (i, hex) in SMALL_ORDER.iter().enumerate() {
        let kid = format!("so-{i}");
        let jwk = ed25519_jwk(&kid, &small_order(i)).to_string();
        let err = JwtKey::from_jwk_json(&jwk).expect_err(hex);
        assert!(
            err.message().contains(&format!("\"{kid}\"")),
            "{hex}: {err}"
        );
        assert!(err.message().contains("small-order"), "{hex}: {err}");

        // In a JWK Set next to a good key, the whole file is refused.
        let set = json!({"keys": [
            fixture_jwk(jsonwebtoken::Algorithm::EdDSA, "ed.pem", "good"),
            ed25519_jwk(&kid, &small_order(i)),
        ]});
        std::fs::write(dir.join("key.jwk.json"), set.to_string()).unwrap();
        let err = config_err(&jwk_config("\"EdDSA\""), &dir);
        assert_eq!(err.key(), "bearer.jwt.keys[0].jwk_file", "{hex}");
        assert!(
            err.message().contains(&format!("\"{kid}\"")),
            "{hex}: {err}"
        );
        assert!(err.message().contains("small-order"), "{hex}: {err}");
    }
    let good = fixture_jwk(jsonwebtoken::Algorithm::EdDSA, "ed.pem", "good").to_string();
    assert!(JwtKey::from_jwk_json(&good).is_ok());
}

#[test]
fn ed25519_jwk_of_the_wrong_length_is_refused() {
    for len in [0, 31, 33, 64] {
        let jwk = ed25519_jwk("short", &vec![9u8; len]).to_string();
        let err = JwtKey::from_jwk_json(&jwk).expect_err("wrong length");
        assert!(err.message().contains("32 bytes"), "{len}: {err}");
    }
}

#[test]
fn ec_jwk_point_off_its_curve_is_refused() {
    let err = JwtKey::from_jwk_json(&ec_off_curve_jwk("off").to_string()).unwrap_err();
    assert!(err.message().contains("\"off\""), "{err}");
    assert!(err.message().contains("not on the P-256 curve"), "{err}");
    // A P-384 point labelled P-256 is not a P-256 point either.
    let mut p384 = fixture_jwk(jsonwebtoken::Algorithm::ES384, "ec384.pem", "p384");
    p384["crv"] = json!("P-256");
    let err = JwtKey::from_jwk_json(&p384.to_string()).unwrap_err();
    assert!(err.message().contains("P-256"), "{err}");
    for (alg, file) in [
        (jsonwebtoken::Algorithm::ES256, "ec.pem"),
        (jsonwebtoken::Algorithm::ES384, "ec384.pem"),
    ] {
        let good = fixture_jwk(alg, file, "good").to_string();
        assert!(JwtKey::from_jwk_json(&good).is_ok(), "{file}");
    }
}

#[test]
fn weak_rsa_jwks_are_refused() {
    let dir = common::TempPath::dir("keys-refused-rsa-jwk");
    for (jwk, why) in bad_rsa_jwks() {
        let kid = jwk["kid"].as_str().unwrap().to_owned();
        let err = JwtKey::from_jwk_json(&jwk.to_string()).expect_err(&kid);
        assert!(
            err.message().contains(&format!("\"{kid}\"")),
            "{kid}: {err}"
        );
        assert!(err.message().contains(why), "{kid}: {err}");

        std::fs::write(dir.join("key.jwk.json"), jwk.to_string()).unwrap();
        let err = config_err(&jwk_config("\"RS256\""), &dir);
        assert_eq!(err.key(), "bearer.jwt.keys[0].jwk_file", "{kid}");
        assert!(err.message().contains(why), "{kid}: {err}");
    }
    let e3 = rsa_jwk_with_e("e3", &[3]).to_string();
    assert!(JwtKey::from_jwk_json(&e3).is_ok());
    let e65537_padded = rsa_jwk_with_e("e", &[0, 1, 0, 1]).to_string();
    assert!(JwtKey::from_jwk_json(&e65537_padded).is_ok());
}

// ---------------------------------------------------------------------------
// Remote key sets, through real servers
// ---------------------------------------------------------------------------

/// Serves `set` at `GET /jwks` on 127.0.0.1.
async fn serve_jwks(set: Value) -> SocketAddr {
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let set = set.clone();
            async move { axum::Json(set) }
        }),
    );
    common::serve(app).await
}

/// The example server's `/api/admin` (scope `admin` required) behind a layer
/// whose keys come from `jwks`, served on 127.0.0.1.
async fn serve_admin_api(
    jwks: SocketAddr,
    algorithms: impl IntoIterator<Item = Algorithm>,
) -> SocketAddr {
    let cfg = AuthConfig::builder()
        .jwt(
            JwtConfig::new(algorithms)
                .jwks_url(format!("http://{jwks}/jwks"))
                .jwks_timeout_secs(2),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/api/admin",
            get(|| async { "admin area" }).layer(RequireScopes::all(["admin"])),
        )
        .layer(AuthLayer::new(cfg));
    common::serve(app).await
}

/// A compact JWS with this header and claims and the "signature" R || S where R
/// is the identity point's encoding and S = 0: it verifies under an Ed25519 key
/// of small order whenever `[k]A` is the identity, which for the identity key is
/// always.
fn forged_eddsa(kid: &str, jti: usize) -> String {
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid}).to_string();
    let claims = json!({
        "sub": "mallory", "scope": "admin", "jti": format!("forged-{jti}"),
        "exp": common::now() + 600,
    })
    .to_string();
    let mut sig = small_order(0);
    sig.extend_from_slice(&[0u8; 32]);
    common::raw_jwt(&header, &claims, common::Signing::Raw(&common::b64url(sig)))
}

fn rs256_admin_token(kid: &str) -> String {
    common::mint_with_key(
        jsonwebtoken::Algorithm::RS256,
        Some(kid),
        &json!({"sub": "alice", "scope": "admin", "exp": common::now() + 600}),
        &common::encoding_key_from_file(jsonwebtoken::Algorithm::RS256, "rsa.pem"),
    )
}

/// The WARN events that skipped a key with this kid.
fn skip_warnings<'a>(events: &'a [Value], kid: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| {
            e["level"] == "WARN"
                && common::fields(e)["jwt.kid"] == kid
                && common::fields(e)["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("skipping a key"))
        })
        .collect()
}

#[tokio::test]
async fn a_forged_token_against_a_key_set_with_small_order_keys_is_401() {
    let (cap, _guard) = common::capture();
    let mut keys: Vec<Value> = (0..SMALL_ORDER.len())
        .map(|i| ed25519_jwk(&format!("so-{i}"), &small_order(i)))
        .collect();
    keys.push(fixture_jwk(
        jsonwebtoken::Algorithm::RS256,
        "rsa.pem",
        "rsa",
    ));
    let jwks = serve_jwks(json!({ "keys": keys })).await;
    let api = serve_admin_api(jwks, [Algorithm::RS256, Algorithm::EdDSA]).await;

    // The normal RSA key of the set serves.
    let good = common::bearer(&rs256_admin_token("rsa"));
    let res = common::get(api, "/api/admin", &common::hdrs(&[good])).await;
    assert_eq!(res.status, 200, "{}", res.dump());

    // A few forged tokens per small-order key (a key of order n accepts the
    // forgery for about one token in n): none gets through.
    for (i, hex) in SMALL_ORDER.iter().enumerate() {
        let kid = format!("so-{i}");
        for jti in 0..8 {
            let forged = common::bearer(&forged_eddsa(&kid, jti));
            let res = common::get(api, "/api/admin", &common::hdrs(&[forged])).await;
            assert_eq!(
                res.status,
                401,
                "forged token for {kid} ({hex}) got through: {}",
                res.dump()
            );
            assert_eq!(res.json()["reason"], "unknown_key", "{kid}");
        }
    }

    // One WARN per refused key, naming its kid and why.
    let events = cap.events();
    for i in 0..SMALL_ORDER.len() {
        let kid = format!("so-{i}");
        let warns = skip_warnings(&events, &kid);
        assert_eq!(warns.len(), 1, "{kid}: {warns:#?}");
        let msg = common::fields(warns[0])["message"].as_str().unwrap();
        assert!(msg.contains("small-order"), "{kid}: {msg}");
    }
    assert!(skip_warnings(&events, "rsa").is_empty());
}

#[tokio::test]
async fn unusable_ec_and_rsa_remote_keys_are_skipped_with_one_warning_each() {
    let (cap, _guard) = common::capture();
    let mut keys = vec![ec_off_curve_jwk("ec-off")];
    let bad_rsa = bad_rsa_jwks();
    keys.extend(bad_rsa.iter().map(|(jwk, _)| jwk.clone()));
    keys.push(fixture_jwk(
        jsonwebtoken::Algorithm::RS256,
        "rsa.pem",
        "rsa",
    ));
    let jwks = serve_jwks(json!({ "keys": keys })).await;
    let api = serve_admin_api(jwks, [Algorithm::RS256, Algorithm::ES256]).await;

    let good = common::bearer(&rs256_admin_token("rsa"));
    let res = common::get(api, "/api/admin", &common::hdrs(&[good])).await;
    assert_eq!(res.status, 200, "{}", res.dump());
    // A token naming a skipped RSA key does not find it.
    let skipped = common::bearer(&rs256_admin_token("rsa-e1"));
    let res = common::get(api, "/api/admin", &common::hdrs(&[skipped])).await;
    assert_eq!(
        (res.status, res.json()["reason"].clone()),
        (401, json!("unknown_key"))
    );

    let events = cap.events();
    let mut expected = vec![("ec-off".to_owned(), "not on the P-256 curve")];
    expected.extend(
        bad_rsa
            .iter()
            .map(|(jwk, why)| (jwk["kid"].as_str().unwrap().to_owned(), *why)),
    );
    for (kid, why) in expected {
        let warns = skip_warnings(&events, &kid);
        assert_eq!(warns.len(), 1, "{kid}: {warns:#?}");
        let msg = common::fields(warns[0])["message"].as_str().unwrap();
        assert!(msg.contains(why), "{kid}: {msg}");
    }
}
