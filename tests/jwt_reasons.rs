//! Every reason code the core layer owns (SPEC §2), and the JWT rows of the
//! catalog (SECURITY-CASES §2.4 S-xx, §2.5 A-xx, §2.6 C-xx, §2.3 K-xx), each
//! through `oneshot` and through a real server on 127.0.0.1, with every response
//! and event checked against SPEC §1–§3 by `configd::check_*`.

mod common;
mod configd;

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{HS_SECRET, Signing, b64url, raw_jws, raw_jwt};
use configd::*;
use jsonwebtoken::Algorithm as J;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// One case per core reason code
// ---------------------------------------------------------------------------

/// One case per reason code of SPEC §2 that the core layer owns, plus a pass per
/// key type and per credential kind.
fn every_reason() -> Vec<Case> {
    let expired = rs(&claims_with(|c| {
        c.insert("exp".into(), json!(NOW - 120));
    }));
    let future_nbf = rs(&claims_with(|c| {
        c.insert("nbf".into(), json!(NOW + 300));
    }));
    let future_iat = rs(&claims_with(|c| {
        c.insert("iat".into(), json!(NOW + 300));
    }));
    let staging = rs(&claims_with(|c| {
        c.insert("iss".into(), json!("https://id.staging.example.com/"));
    }));
    let billing = rs(&claims_with(|c| {
        c.insert("aud".into(), json!("billing"));
    }));
    let no_sub = rs(&claims_with(|c| {
        c.remove("sub");
    }));
    let revoked = rs(&claims_with(|c| {
        c.insert("jti".into(), json!(REVOKED_JTI));
    }));
    let two_seg = {
        let v = valid();
        v.rsplit_once('.').expect("3 segments").0.to_owned()
    };
    let alg_none = raw_jwt(
        r#"{"alg":"none","typ":"JWT"}"#,
        &Value::Object(claims()).to_string(),
        Signing::Empty,
    );
    let unknown_kid = common::mint(J::RS256, Some("rsa-unknown"), &Value::Object(claims()));
    let other_key = common::mint_with_key(
        J::RS256,
        Some("rsa-1"),
        &Value::Object(claims()),
        &common::encoding_key_from_file(J::RS256, "rsa2.pem"),
    );
    let owner = rs(&claims_with(|c| {
        c.insert("sub".into(), json!("owner"));
    }));
    let v = valid();
    vec![
        // passes
        Case::valid_rs("pass: RS256 rsa-1", &v)
            .subject(Some("alice"))
            .scopes(&["orders:read"]),
        Case::bearer("pass: ES256 ec-1", &valid_es())
            .jwt("ES256", Some("ec-1"))
            .subject(Some("alice")),
        Case::bearer("pass: EdDSA ed-1", &valid_ed())
            .jwt("EdDSA", Some("ed-1"))
            .subject(Some("alice")),
        Case::bearer("pass: HS256 hmac-1", &valid_hs())
            .jwt("HS256", Some("hmac-1"))
            .subject(Some("alice")),
        Case::bearer("pass: API key ci-bot", API_KEY_CI)
            .subject(Some("ci-bot"))
            .scopes(&["orders:read"]),
        Case::valid_rs("pass: admin scope on /api/admin", &valid_admin())
            .path("/api/admin")
            .scopes(&["admin", "orders:read"]),
        Case::valid_rs("pass: policy allows owner", &owner)
            .path("/api/policy")
            .subject(Some("owner")),
        Case::new("pass: /healthz outside the layer", vec![])
            .path("/healthz")
            .silent(),
        // the 18 core reasons
        Case::new("missing_credentials", vec![])
            .rej(401, "missing_credentials")
            .no_hint(),
        Case::auth(
            "unsupported_scheme",
            r#"Digest username="u", realm="api", nonce="n", uri="/", response="r""#,
        )
        .rej(401, "unsupported_scheme")
        .scheme("digest"),
        Case::auth("malformed_credentials", "Bearer")
            .bad_request()
            .hint("$UNSET"),
        Case::new(
            "multiple_credentials",
            vec![common::bearer(&v), common::bearer(&v)],
        )
        .rej(400, "multiple_credentials")
        .hint("exactly one credential"),
        Case::bearer("token_malformed", &two_seg)
            .t("token_malformed")
            .detail("this token has 2"),
        Case::bearer("algorithm_not_allowed", &alg_none)
            .t("algorithm_not_allowed")
            .jwt("none", None)
            .hint("unsigned"),
        Case::bearer("unknown_key", &unknown_kid)
            .t("unknown_key")
            .jwt("RS256", Some("rsa-unknown"))
            .hint("known kids: rsa-1, ec-1, ed-1, hmac-1"),
        Case::bearer("signature_invalid", &other_key)
            .t("signature_invalid")
            .rs256()
            .hint("signed by another key"),
        Case::bearer("token_expired", &expired)
            .t("token_expired")
            .rs256()
            .verified()
            .skew(120)
            .detail("token expired 120 s ago (leeway 30 s)")
            .hint("refresh"),
        Case::bearer("token_not_yet_valid", &future_nbf)
            .t("token_not_yet_valid")
            .rs256()
            .verified()
            .skew(300)
            .detail("leeway 30 s")
            .hint("clock skew"),
        Case::bearer("token_issued_in_future", &future_iat)
            .t("token_issued_in_future")
            .rs256()
            .verified()
            .skew(300)
            .detail("leeway 30 s")
            .hint("clock skew"),
        Case::bearer("issuer_mismatch", &staging)
            .t("issuer_mismatch")
            .rs256()
            .verified()
            .iss(Some("https://id.staging.example.com/"))
            .expected(ISS)
            .hint("another environment"),
        Case::bearer("audience_mismatch", &billing)
            .t("audience_mismatch")
            .rs256()
            .verified()
            .aud(Some("billing"))
            .expected(AUD)
            .hint("request a token for \"orders-api\""),
        Case::bearer("missing_claim", &no_sub)
            .t("missing_claim")
            .rs256()
            .verified()
            .sub(None)
            .detail("no sub claim"),
        Case::bearer("token_revoked (jti)", &revoked)
            .t("token_revoked")
            .rs256()
            .verified(),
        Case::bearer("token_revoked (API key)", API_KEY_REVOKED)
            .t("token_revoked")
            .key_id("old-bot"),
        Case::bearer("unknown_api_key", "agk_ci_0000000000000000000000000000000")
            .t("unknown_api_key")
            .hint("case-sensitive"),
        // Route-level 403s carry the token's fingerprint and the verified claims.
        Case::bearer("insufficient_scope", &v)
            .path("/api/admin")
            .forbidden_scope("admin", "orders:read")
            .hint("the token grants [orders:read]")
            .verified(),
        Case::bearer("access_denied", &v)
            .path("/api/policy")
            .rej(403, "access_denied")
            .granted("orders:read")
            .detail("policy refused")
            .verified(),
    ]
}

#[test]
fn every_core_reason_has_a_case() {
    let have: BTreeSet<&str> = every_reason()
        .iter()
        .filter_map(|c| c.want_reason)
        .collect();
    for r in CORE_REASONS {
        assert!(have.contains(r), "no case for {r}");
    }
}

#[tokio::test]
async fn every_reason_oneshot() {
    run_oneshot(&every_reason()).await;
}

#[tokio::test]
async fn every_reason_wire() {
    run_wire(&every_reason()).await;
}

// ---------------------------------------------------------------------------
// S-xx: JWT structure and encoding
// ---------------------------------------------------------------------------

fn segments(t: &str) -> (String, String, String) {
    let mut it = t.split('.').map(str::to_owned);
    (
        it.next().expect("h"),
        it.next().expect("p"),
        it.next().expect("s"),
    )
}

fn structure() -> Vec<Case> {
    let v = valid();
    let (h, p, s) = segments(&v);
    let payload = Value::Object(claims()).to_string();
    let mut cases = vec![
        Case::bearer("S-01 h.p", &format!("{h}.{p}"))
            .t("token_malformed")
            .detail("has 2"),
        Case::bearer("S-02 h.p.s.x", &format!("{h}.{p}.{s}.x"))
            .t("token_malformed")
            .detail("has 4"),
        Case::bearer("S-03 five segments (JWE)", &{
            let jh = b64url(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
            format!("{jh}.a2V5.aXY.Y2lwaGVy.dGFn")
        })
        .t("token_malformed")
        .detail("JWE"),
        Case::bearer("S-03b JWE header in 3 segments", &{
            raw_rs(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#, &payload)
        })
        .t("token_malformed")
        .jwt("RSA-OAEP", None)
        .detail("JWE"),
        Case::bearer("S-04 trailing dot", &format!("{v}."))
            .t("token_malformed")
            .detail("has 4"),
        Case::bearer("S-05 signature stripped (RS256)", &format!("{h}.{p}."))
            .t("signature_invalid")
            .rs256(),
        Case::bearer("S-06 h.p. with alg none", &{
            raw_jwt(r#"{"alg":"none"}"#, &payload, Signing::Empty)
        })
        .t("algorithm_not_allowed")
        .jwt("none", None),
        Case::auth(
            "S-07 padding in a middle segment",
            format!("Bearer {h}==.{p}.{s}"),
        )
        .bad_request()
        .detail("'='"),
        Case::bearer("S-08 padding on the signature", &format!("{v}=="))
            .t("token_malformed")
            .detail("signature is not unpadded base64url"),
        Case::bearer("S-08b padding on the header", &{
            let hp = URL_SAFE_NO_PAD.decode(&h).expect("b64");
            let padded = base64::engine::general_purpose::URL_SAFE.encode(hp);
            format!("{padded}.{p}.{s}")
        })
        .no_token()
        .bad_request(),
        Case::bearer("S-09 '+' in the payload", &{
            format!("{h}.{}+{}.{s}", &p[..10], &p[10..])
        })
        .t("token_malformed")
        .detail("payload is not unpadded base64url"),
        Case::bearer("S-09b '/' in the header", &{
            format!("{}/{}.{p}.{s}", &h[..5], &h[5..])
        })
        .t("token_malformed")
        .detail("header is not unpadded base64url"),
        Case::bearer("S-10 '~' in the payload", &{
            format!("{h}.{}~~{}.{s}", &p[..10], &p[10..])
        })
        .t("token_malformed"),
        Case::bearer("S-11 signature's unused trailing bits changed", &{
            // 256 bytes → 342 chars; the last char carries 2 data bits + 4 zero bits.
            let last = s.chars().last().expect("non-empty");
            let idx = URL_ALPHABET.find(last).expect("b64url char");
            let tweaked = URL_ALPHABET.as_bytes()[(idx & !0xf) | 1] as char;
            format!("{h}.{p}.{}{tweaked}", &s[..s.len() - 1])
        })
        .t("token_malformed")
        .detail("signature is not unpadded base64url"),
        Case::bearer("S-12 header not JSON", &{ raw_rs("{alg:RS256}", &payload) })
            .t("token_malformed")
            .detail("header is not a JSON object"),
        Case::bearer("S-13 header []", &raw_rs("[]", &payload))
            .t("token_malformed")
            .detail("header is not a JSON object"),
        Case::bearer("S-13 header \"x\"", &raw_rs("\"x\"", &payload))
            .t("token_malformed")
            .detail("header is not a JSON object"),
        Case::bearer("S-16 header UTF-16 with BOM", &{
            let mut bytes = vec![0xff, 0xfe];
            for u in RS_HEADER.encode_utf16() {
                bytes.extend(u.to_le_bytes());
            }
            raw_jws(&bytes, payload.as_bytes(), Signing::Rs256("rsa.pem"))
        })
        .t("token_malformed")
        .detail("header is not a JSON object"),
        Case::bearer("S-16b header UTF-8 with BOM", &{
            let mut bytes = vec![0xef, 0xbb, 0xbf];
            bytes.extend(RS_HEADER.as_bytes());
            raw_jws(&bytes, payload.as_bytes(), Signing::Rs256("rsa.pem"))
        })
        .t("token_malformed"),
        Case::bearer("S-17 duplicate alg", &{
            raw_rs(r#"{"alg":"RS256","alg":"none","kid":"rsa-1"}"#, &payload)
        })
        .t("token_malformed")
        .detail("repeats a member name"),
        Case::bearer("S-18 duplicate exp claim", &{
            raw_rs(RS_HEADER, &payload_prepend(r#""exp":1"#))
        })
        .t("token_malformed")
        .rs256()
        .detail("payload is not a JSON object (or repeats a member name)"),
        Case::bearer("S-18b duplicate nested member", &{
            raw_rs(RS_HEADER, &payload_prepend(r#""x":{"a":1,"a":2}"#))
        })
        .t("token_malformed")
        .rs256(),
        Case::bearer("S-19 claim nested 200 levels", &{
            let deep = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
            raw_rs(RS_HEADER, &payload_prepend(&format!("\"deep\":{deep}")))
        })
        .t("token_malformed")
        .rs256(),
        Case::bearer("S-19b array nested 200 levels", &{
            let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
            raw_rs(RS_HEADER, &payload_prepend(&format!("\"deep\":{deep}")))
        })
        .t("token_malformed")
        .rs256(),
        Case::bearer("S-20 60 KiB claims (over max_token_bytes)", &{
            rs(&claims_with(|c| {
                c.insert("blob".into(), json!("x".repeat(60 * 1024)));
            }))
        })
        .t("token_malformed")
        .detail("over max_token_bytes (16384)"),
        Case::bearer("S-20b 10 KiB claims (under the cap)", &{
            rs(&claims_with(|c| {
                c.insert("blob".into(), json!("x".repeat(10 * 1024)));
            }))
        })
        .rs256()
        .ok()
        .subject(Some("alice")),
        Case::bearer("S-21 cty JWT (nested JWT)", &{
            raw_rs(r#"{"alg":"RS256","kid":"rsa-1","cty":"JWT"}"#, &payload)
        })
        .t("token_malformed")
        .rs256()
        .detail("nested JWTs"),
        Case::bearer("S-22 b64 false with crit", &{
            raw_rs(
                r#"{"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]}"#,
                &payload,
            )
        })
        .t("token_malformed")
        .rs256(),
        Case::bearer("S-22b b64 false alone", &{
            raw_rs(r#"{"alg":"RS256","kid":"rsa-1","b64":false}"#, &payload)
        })
        .t("token_malformed")
        .rs256()
        .detail("RFC 7797"),
        Case::bearer("S-15 payload with invalid UTF-8", &{
            raw_jws(
                RS_HEADER.as_bytes(),
                b"{\"sub\":\"a\xC0\xAFb\",\"exp\":9999999999}",
                Signing::Rs256("rsa.pem"),
            )
        })
        .t("token_malformed")
        .rs256(),
        Case::bearer("S-15b payload with a lone surrogate", &{
            raw_rs(RS_HEADER, &payload_prepend(r#""x":"\ud800""#))
        })
        .t("token_malformed")
        .rs256(),
        Case::bearer("S-15c payload with trailing data", &{
            raw_rs(RS_HEADER, &format!("{payload} x"))
        })
        .t("token_malformed")
        .rs256(),
        Case::bearer("S-15d payload with NaN", &{
            raw_rs(RS_HEADER, &payload_prepend(r#""x":NaN"#))
        })
        .t("token_malformed")
        .rs256(),
        Case::bearer("K-04 abc.def (a dot, not a JWT)", "abc.def")
            .t("token_malformed")
            .detail("has 2"),
        Case::bearer("empty segments ..", "..")
            .t("token_malformed")
            .detail("header is not a JSON object"),
    ];
    for (name, body) in [
        ("S-14 payload array", r#"[{"sub":"alice"}]"#),
        ("S-14 payload string", r#""x""#),
        ("S-14 payload number", "42"),
        ("S-14 payload null", "null"),
        ("S-14 payload empty", ""),
    ] {
        cases.push(
            Case::bearer(name, &raw_rs(RS_HEADER, body))
                .t("token_malformed")
                .rs256()
                .detail("payload is not a JSON object"),
        );
    }
    cases
}

const URL_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[tokio::test]
async fn structure_oneshot() {
    run_oneshot(&structure()).await;
}

#[tokio::test]
async fn structure_wire() {
    run_wire(&structure()).await;
}

// ---------------------------------------------------------------------------
// A-xx: algorithm, key and header attacks
// ---------------------------------------------------------------------------

/// An ECDSA `r‖s` signature (64 bytes) as DER (RFC 3279), which JWS forbids.
fn ecdsa_to_der(raw: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let mut x = x.to_vec();
        while x.len() > 1 && x[0] == 0 && x[1] < 0x80 {
            x.remove(0);
        }
        if x[0] >= 0x80 {
            x.insert(0, 0);
        }
        let mut out = vec![0x02, x.len() as u8];
        out.extend(x);
        out
    };
    let mut body = int(&raw[..32]);
    body.extend(int(&raw[32..]));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// The SPKI DER bytes inside a PEM file.
fn pem_der(name: &str) -> Vec<u8> {
    let text = String::from_utf8(pem(name)).expect("PEM is text");
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).expect("PEM body is base64")
}

fn attacks() -> Vec<Case> {
    let payload = Value::Object(claims()).to_string();
    let claims_v = Value::Object(claims());
    let rsa2 = common::encoding_key_from_file(J::RS256, "rsa2.pem");
    let hs_header = |kid: Option<&str>| match kid {
        Some(k) => format!(r#"{{"alg":"HS256","kid":"{k}"}}"#),
        None => r#"{"alg":"HS256"}"#.to_owned(),
    };
    let rsa_pub_pem = pem("rsa.pub.pem");
    let es = valid_es();
    let (eh, ep, es_sig) = segments(&es);
    let es_raw = URL_SAFE_NO_PAD.decode(&es_sig).expect("sig");
    assert_eq!(es_raw.len(), 64);
    let ed = valid_ed();
    let (dh, dp, ed_sig) = segments(&ed);
    let ed_raw = URL_SAFE_NO_PAD.decode(&ed_sig).expect("sig");
    let v = valid();
    let (vh, _vp, vs) = segments(&v);
    let attacker_n = {
        // rsa2's modulus as a JWK `n` would be; any base64url will do for
        // an embedded key that must never be used.
        b64url(&pem_der("rsa2.pub.pem")[33..289])
    };

    let mut cases = vec![];
    for alg in ["none", "None", "NONE", "nOnE"] {
        cases.push(
            Case::bearer(format!("A-01/02 alg {alg:?}, empty signature"), &{
                raw_jwt(&format!(r#"{{"alg":"{alg}"}}"#), &payload, Signing::Empty)
            })
            .t("algorithm_not_allowed")
            .jwt(alg, None)
            .detail("unsigned")
            .hint("unsigned"),
        );
    }
    cases.extend([
        Case::bearer("A-03 alg none with a signature", &{
            raw_jwt(r#"{"alg":"none","kid":"rsa-1"}"#, &payload, Signing::Rs256("rsa.pem"))
        })
        .t("algorithm_not_allowed")
        .jwt("none", Some("rsa-1")),
        Case::bearer("A-04 alg missing", &raw_rs(r#"{"kid":"rsa-1"}"#, &payload))
            .t("token_malformed")
            .detail("no alg"),
        Case::bearer("A-05 alg 256", &raw_rs(r#"{"alg":256}"#, &payload))
            .t("token_malformed")
            .detail("alg is not a string"),
        Case::bearer("A-05 alg null", &raw_rs(r#"{"alg":null}"#, &payload))
            .t("token_malformed")
            .detail("alg is not a string"),
        Case::bearer("A-05 alg \"\"", &raw_rs(r#"{"alg":""}"#, &payload))
            .t("algorithm_not_allowed")
            .jwt("", None),
        Case::bearer("A-05b alg \"rs256\" (case)", &raw_rs(r#"{"alg":"rs256"}"#, &payload))
            .t("algorithm_not_allowed")
            .jwt("rs256", None)
            .hint("case-sensitive"),
        Case::bearer("A-06 RS384 signed by rsa-1", &{
            common::mint(J::RS384, Some("rsa-1"), &claims_v)
        })
        .t("algorithm_not_allowed")
        .jwt("RS384", Some("rsa-1"))
        .hint("add it to bearer.jwt.algorithms"),
        Case::bearer("A-07 PS256 signed by rsa-1", &{
            common::mint(J::PS256, Some("rsa-1"), &claims_v)
        })
        .t("algorithm_not_allowed")
        .jwt("PS256", Some("rsa-1")),
        Case::bearer("A-06b ES384 (not allow-listed)", &{
            common::mint(J::ES384, None, &claims_v)
        })
        .t("algorithm_not_allowed")
        .jwt("ES384", None),
        Case::bearer("A-08 HS256 keyed with rsa-1's PEM, kid rsa-1", &{
            raw_jwt(&hs_header(Some("rsa-1")), &payload, Signing::Hs256(&rsa_pub_pem))
        })
        .t("unknown_key")
        .jwt("HS256", Some("rsa-1"))
        .detail("the key with the token's kid is an RSA public key, but HS256 needs an HMAC secret")
        .hint("algorithm confusion"),
        Case::bearer("A-09 HS256 keyed with rsa-1's PEM, no kid", &{
            raw_jwt(&hs_header(None), &payload, Signing::Hs256(&rsa_pub_pem))
        })
        .t("signature_invalid")
        .jwt("HS256", None),
        Case::bearer("A-10 HS256 keyed with rsa-1's SPKI DER, no kid", &{
            raw_jwt(&hs_header(None), &payload, Signing::Hs256(&pem_der("rsa.pub.pem")))
        })
        .t("signature_invalid")
        .jwt("HS256", None),
        Case::bearer("A-10 HS256 keyed with ec-1's PEM, kid ec-1", &{
            raw_jwt(&hs_header(Some("ec-1")), &payload, Signing::Hs256(&pem("ec.pub.pem")))
        })
        .t("unknown_key")
        .jwt("HS256", Some("ec-1"))
        .detail("EC public key"),
        Case::bearer("A-11 kid rsa-unknown", &{
            common::mint(J::RS256, Some("rsa-unknown"), &claims_v)
        })
        .t("unknown_key")
        .jwt("RS256", Some("rsa-unknown"))
        .detail("no configured key has the token's kid"),
        Case::bearer("A-14 kid of 8000 chars", &{
            common::mint(J::RS256, Some(&"k".repeat(8000)), &claims_v)
        })
        .t("unknown_key")
        .jwt("RS256", Some(&"k".repeat(8000))),
        Case::bearer("A-15 kid with CR, LF and ESC", &{
            raw_rs(r#"{"alg":"RS256","kid":"a\r\nb\u001b[31mc\"d\\e"}"#, &payload)
        })
        .t("unknown_key")
        .jwt("RS256", Some("a\r\nb\u{1b}[31mc\"d\\e")),
        Case::bearer("A-16 kid 123", &raw_rs(r#"{"alg":"RS256","kid":123}"#, &payload))
            .t("token_malformed")
            .jwt("RS256", None)
            .detail("kid is not a string"),
        Case::bearer("A-16 kid {}", &raw_rs(r#"{"alg":"RS256","kid":{}}"#, &payload))
            .t("token_malformed")
            .jwt("RS256", None),
        Case::bearer("A-19 embedded jwk, signed with it, no kid", &{
            let h = format!(
                r#"{{"alg":"RS256","jwk":{{"kty":"RSA","e":"AQAB","n":"{attacker_n}"}}}}"#
            );
            raw_jwt(&h, &payload, Signing::Rs256("rsa2.pem"))
        })
        .t("signature_invalid")
        .jwt("RS256", None),
        Case::bearer("A-19 embedded jwk with its own kid", &{
            let h = format!(
                r#"{{"alg":"RS256","kid":"attacker","jwk":{{"kty":"RSA","kid":"attacker","e":"AQAB","n":"{attacker_n}"}}}}"#
            );
            raw_jwt(&h, &payload, Signing::Rs256("rsa2.pem"))
        })
        .t("unknown_key")
        .jwt("RS256", Some("attacker")),
        Case::bearer("A-20 x5c attacker chain", &{
            let h = format!(
                r#"{{"alg":"RS256","x5c":["{}"]}}"#,
                STANDARD.encode(pem_der("rsa2.pub.pem"))
            );
            raw_jwt(&h, &payload, Signing::Rs256("rsa2.pem"))
        })
        .t("signature_invalid")
        .jwt("RS256", None),
        Case::bearer("A-21 kid ec-1 with alg RS256", &{
            common::mint(J::RS256, Some("ec-1"), &claims_v)
        })
        .t("unknown_key")
        .jwt("RS256", Some("ec-1"))
        .detail("EC public key, but RS256 needs an RSA public key"),
        Case::bearer("A-21b kid hmac-1 with alg EdDSA", &{
            common::mint(J::EdDSA, Some("hmac-1"), &claims_v)
        })
        .t("unknown_key")
        .jwt("EdDSA", Some("hmac-1")),
        Case::bearer("A-22 ES256 r = s = 0", &format!("{eh}.{ep}.{}", b64url([0u8; 64])))
            .t("signature_invalid")
            .jwt("ES256", Some("ec-1")),
        Case::bearer("A-23 ES256 DER signature", &{
            format!("{eh}.{ep}.{}", b64url(ecdsa_to_der(&es_raw)))
        })
        .t("signature_invalid")
        .jwt("ES256", Some("ec-1")),
        Case::bearer("A-24 EdDSA signature of 63 bytes", &{
            format!("{dh}.{dp}.{}", b64url(&ed_raw[..63]))
        })
        .t("signature_invalid")
        .jwt("EdDSA", Some("ed-1")),
        Case::bearer("A-24 EdDSA signature of 65 bytes", &{
            let mut s = ed_raw.clone();
            s.push(0);
            format!("{dh}.{dp}.{}", b64url(s))
        })
        .t("signature_invalid")
        .jwt("EdDSA", Some("ed-1")),
        Case::bearer("A-25 payload changed, old signature", &{
            let p = b64url(
                claims_with(|c| {
                    c.insert("scope".into(), json!("admin"));
                })
                .to_string(),
            );
            format!("{vh}.{p}.{vs}")
        })
        .t("signature_invalid")
        .rs256(),
        Case::bearer("A-26 signed by rsa2 under kid rsa-1", &{
            common::mint_with_key(J::RS256, Some("rsa-1"), &claims_v, &rsa2)
        })
        .t("signature_invalid")
        .rs256(),
        Case::bearer("A-26b signed by rsa2, no kid", &{
            common::mint_with_key(J::RS256, None, &claims_v, &rsa2)
        })
        .t("signature_invalid")
        .jwt("RS256", None),
        Case::bearer("A-26c HS256 with another secret", &{
            raw_jwt(&hs_header(Some("hmac-1")), &payload, Signing::Hs256(&[7u8; 64]))
        })
        .t("signature_invalid")
        .jwt("HS256", Some("hmac-1")),
        Case::bearer("A-26d garbage signature", &{
            raw_jwt(RS_HEADER, &payload, Signing::Garbage)
        })
        .t("signature_invalid")
        .rs256(),
        Case::bearer("A-30 expired AND forged", &{
            common::mint_with_key(
                J::RS256,
                Some("rsa-1"),
                &claims_with(|c| {
                    c.insert("exp".into(), json!(NOW - 120));
                    c.insert("aud".into(), json!("billing"));
                }),
                &rsa2,
            )
        })
        .t("signature_invalid")
        .rs256(),
        Case::bearer("pass: no kid, RS256 (keys of that type tried)", &{
            common::mint(J::RS256, None, &claims_v)
        })
        .jwt("RS256", None)
        .ok(),
        Case::bearer("pass: no kid, ES256", &common::mint(J::ES256, None, &claims_v))
            .jwt("ES256", None)
            .ok(),
        Case::bearer("pass: no kid, HS256", &common::mint(J::HS256, None, &claims_v))
            .jwt("HS256", None)
            .ok(),
    ]);
    for crit in [
        r#"["x-unknown"],"x-unknown":1"#,
        "[]",
        r#"["alg"]"#,
        r#""b64""#,
    ] {
        cases.push(
            Case::bearer(format!("A-27/28 crit {crit}"), &{
                raw_rs(
                    &format!(r#"{{"alg":"RS256","kid":"rsa-1","crit":{crit}}}"#),
                    &payload,
                )
            })
            .t("token_malformed")
            .rs256()
            .detail("crit"),
        );
    }
    for typ in ["dpop+jwt", "secevent+jwt", "logout+jwt", "JWE", ""] {
        cases.push(
            Case::bearer(format!("A-29 typ {typ:?}"), &{
                raw_rs(
                    &format!(r#"{{"alg":"RS256","kid":"rsa-1","typ":"{typ}"}}"#),
                    &payload,
                )
            })
            .t("token_malformed")
            .rs256()
            .detail("typ"),
        );
    }
    cases.push(
        Case::bearer(
            "A-29 typ 42",
            &raw_rs(r#"{"alg":"RS256","kid":"rsa-1","typ":42}"#, &payload),
        )
        .t("token_malformed")
        .rs256(),
    );
    for typ in [
        "JWT",
        "jwt",
        "at+jwt",
        "application/at+JWT",
        "application/jwt",
    ] {
        cases.push(
            Case::bearer(format!("A-29 pass: typ {typ:?}"), &{
                raw_rs(
                    &format!(r#"{{"alg":"RS256","kid":"rsa-1","typ":"{typ}"}}"#),
                    &payload,
                )
            })
            .rs256()
            .ok()
            .subject(Some("alice")),
        );
    }
    for kid in [
        "../../../../dev/null",
        "/etc/passwd",
        "file:///x",
        "C:\\\\x",
        "x' OR '1'='1",
        "*)(uid=*",
    ] {
        let decoded: String = serde_json::from_str(&format!("\"{kid}\"")).expect("kid JSON");
        cases.push(
            Case::bearer(format!("A-12/13 kid {kid}"), &{
                raw_rs(&format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#), &payload)
            })
            .t("unknown_key")
            .jwt("RS256", Some(&decoded)),
        );
    }
    cases
}

#[tokio::test]
async fn attacks_oneshot() {
    run_oneshot(&attacks()).await;
}

#[tokio::test]
async fn attacks_wire() {
    run_wire(&attacks()).await;
}

/// A-17 / A-18: `jku` and `x5u` pointing at a loopback trap are never fetched.
#[tokio::test]
async fn jku_and_x5u_are_never_followed() {
    let trap = std::net::TcpListener::bind("127.0.0.1:0").expect("bind trap");
    trap.set_nonblocking(true).expect("nonblocking");
    let port = trap.local_addr().expect("addr").port();
    let payload = Value::Object(claims()).to_string();
    let mut cases = vec![];
    for (param, kid, signing_file) in [
        ("jku", Some("attacker"), "rsa2.pem"),
        ("x5u", Some("attacker"), "rsa2.pem"),
        ("jku", None, "rsa2.pem"),
        ("x5u", None, "rsa2.pem"),
    ] {
        let kid_json = kid.map_or(String::new(), |k| format!(r#","kid":"{k}""#));
        let header =
            format!(r#"{{"alg":"RS256"{kid_json},"{param}":"http://127.0.0.1:{port}/jwks"}}"#);
        let token = raw_jwt(&header, &payload, Signing::Rs256(signing_file));
        let case = Case::bearer(format!("A-17/18 {param} kid {kid:?}"), &token).jwt("RS256", kid);
        cases.push(match kid {
            Some(_) => case.t("unknown_key"),
            None => case.t("signature_invalid"),
        });
    }
    run_oneshot(&cases).await;
    run_wire(&cases).await;
    match trap.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok(_) => panic!("the layer connected to the jku/x5u trap"),
        Err(e) => panic!("trap: {e}"),
    }
}

// ---------------------------------------------------------------------------
// C-xx: claims (all validly signed)
// ---------------------------------------------------------------------------

fn with(key: &str, value: Value) -> String {
    let key = key.to_owned();
    rs(&claims_with(move |c| {
        c.insert(key, value);
    }))
}

fn without(key: &str) -> String {
    let key = key.to_owned();
    rs(&claims_with(move |c| {
        c.remove(&key);
    }))
}

fn raw_claim(key: &str, value: &str) -> String {
    raw_rs(RS_HEADER, &payload_with_raw(key, value))
}

fn claims_cases() -> Vec<Case> {
    let vc = |name: String, token: &str| Case::bearer(name, token).rs256();
    let mut cases = vec![
        vc("C-01 exp = now-120".into(), &with("exp", json!(NOW - 120)))
            .t("token_expired")
            .verified()
            .skew(120)
            .detail("leeway 30 s"),
        vc(
            "C-01b exp a week ago".into(),
            &with("exp", json!(NOW - 7 * 86_400)),
        )
        .t("token_expired")
        .verified()
        .skew(7 * 86_400)
        .hint("more than a day"),
        vc(
            "C-01c exp = now-30 (edge of leeway)".into(),
            &with("exp", json!(NOW - 30)),
        )
        .t("token_expired")
        .verified()
        .skew(30),
        vc("C-02 exp = now-10".into(), &with("exp", json!(NOW - 10))).ok(),
        vc("C-02b exp = now-29".into(), &with("exp", json!(NOW - 29))).ok(),
        vc("C-03 exp = now, leeway 0".into(), &with("exp", json!(NOW)))
            .variant(Variant::Leeway0)
            .t("token_expired")
            .verified()
            .skew(0)
            .detail("token expired 0 s ago (leeway 0 s)"),
        vc(
            "C-03b exp = now+1, leeway 0".into(),
            &with("exp", json!(NOW + 1)),
        )
        .variant(Variant::Leeway0)
        .ok(),
        vc("C-04 exp absent".into(), &without("exp"))
            .t("missing_claim")
            .verified()
            .detail("no exp claim"),
        vc(
            "C-06 exp = now+3600.5".into(),
            &with("exp", json!(NOW as f64 + 3600.5)),
        )
        .ok(),
        vc("C-07 exp = 2^64-1".into(), &with("exp", json!(u64::MAX))).ok(),
        vc("C-07 exp = 1e400".into(), &raw_claim("exp", "1e400")).t("token_malformed"),
        vc("C-08 nbf = now+300".into(), &with("nbf", json!(NOW + 300)))
            .t("token_not_yet_valid")
            .verified()
            .skew(300),
        vc("C-08b nbf = now+31".into(), &with("nbf", json!(NOW + 31)))
            .t("token_not_yet_valid")
            .verified()
            .skew(31),
        vc(
            "C-08c nbf far ahead".into(),
            &with("nbf", json!(NOW + 86_400)),
        )
        .t("token_not_yet_valid")
        .verified()
        .skew(86_400)
        .hint("far in the future"),
        vc("C-09 nbf = now+10".into(), &with("nbf", json!(NOW + 10))).ok(),
        vc("C-09b nbf = now+30".into(), &with("nbf", json!(NOW + 30))).ok(),
        vc("C-11 iat = now+300".into(), &with("iat", json!(NOW + 300)))
            .t("token_issued_in_future")
            .verified()
            .skew(300),
        vc("C-11b iat = now+31".into(), &with("iat", json!(NOW + 31)))
            .t("token_issued_in_future")
            .verified()
            .skew(31),
        vc("C-12 iat = now+10".into(), &with("iat", json!(NOW + 10))).ok(),
        vc(
            "C-14 iss staging".into(),
            &with("iss", json!("https://id.staging.example.com/")),
        )
        .t("issuer_mismatch")
        .verified()
        .iss(Some("https://id.staging.example.com/"))
        .expected(ISS)
        .detail("issuer \"https://id.staging.example.com/\" is not accepted"),
        vc(
            "C-15 iss without trailing slash".into(),
            &with("iss", json!("https://id.example.com")),
        )
        .t("issuer_mismatch")
        .verified()
        .iss(Some("https://id.example.com"))
        .expected(ISS)
        .hint("trailing slash"),
        vc(
            "C-15 iss upper-case host".into(),
            &with("iss", json!("https://ID.EXAMPLE.COM/")),
        )
        .t("issuer_mismatch")
        .verified()
        .iss(Some("https://ID.EXAMPLE.COM/"))
        .expected(ISS)
        .hint("letter case"),
        vc(
            "C-15b iss with quote, backslash and non-ASCII (R-03)".into(),
            &with("iss", json!("https://évil\"x\\y/")),
        )
        .t("issuer_mismatch")
        .verified()
        // As logged: the backslash doubled.
        .iss(Some("https://évil\"x\\\\y/"))
        .expected(ISS),
        vc("C-16 iss absent".into(), &without("iss"))
            .t("missing_claim")
            .verified()
            .iss(None)
            .expected(ISS)
            .detail("no iss claim; expected https://id.example.com/"),
        vc("C-17 iss 123".into(), &with("iss", json!(123)))
            .t("missing_claim")
            .verified()
            .iss(None)
            .detail("iss claim is a number"),
        vc("C-18 iss array".into(), &with("iss", json!([ISS])))
            .t("missing_claim")
            .verified()
            .iss(None)
            .detail("iss claim is an array"),
        vc(
            "C-19 aud array containing orders-api".into(),
            &with("aud", json!(["billing", AUD])),
        )
        .ok(),
        vc("C-20 aud billing".into(), &with("aud", json!("billing")))
            .t("audience_mismatch")
            .verified()
            .aud(Some("billing"))
            .expected(AUD),
        vc(
            "C-20 aud [billing, search]".into(),
            &with("aud", json!(["billing", "search"])),
        )
        .t("audience_mismatch")
        .verified()
        .aud(Some("billing search"))
        .expected(AUD),
        vc("C-20 aud []".into(), &with("aud", json!([])))
            .t("audience_mismatch")
            .verified()
            .aud(Some(""))
            .expected(AUD)
            .detail("empty array"),
        vc(
            "C-21 aud Orders-API".into(),
            &with("aud", json!("Orders-API")),
        )
        .t("audience_mismatch")
        .verified()
        .aud(Some("Orders-API"))
        .expected(AUD),
        vc("C-22 aud absent".into(), &without("aud"))
            .t("missing_claim")
            .verified()
            .aud(None)
            .expected(AUD)
            .detail("no aud claim; expected orders-api"),
        vc(
            "C-24 aud present, no audience configured".into(),
            &rs(&Value::Object(claims())),
        )
        .variant(Variant::NoAudience)
        .t("audience_mismatch")
        .verified()
        .hint("set bearer.jwt.audience"),
        vc(
            "C-24b no aud, no audience configured".into(),
            &without("aud"),
        )
        .variant(Variant::NoAudience)
        .ok(),
        vc("C-25 sub absent".into(), &without("sub"))
            .t("missing_claim")
            .verified()
            .sub(None),
        vc("C-25 sub 42".into(), &with("sub", json!(42)))
            .t("missing_claim")
            .verified()
            .sub(None)
            .detail("sub claim is a number"),
        vc("C-25b jti 7".into(), &with("jti", json!(7)))
            .t("missing_claim")
            .verified()
            .detail("jti claim is a number"),
        vc("C-26 jti revoked".into(), &with("jti", json!(REVOKED_JTI)))
            .t("token_revoked")
            .verified()
            .detail("jti"),
        vc(
            "C-27 expired and wrong aud".into(),
            &rs(&claims_with(|c| {
                c.insert("exp".into(), json!(NOW - 120));
                c.insert("aud".into(), json!("billing"));
            })),
        )
        .t("token_expired")
        .verified()
        .aud(Some("billing"))
        .skew(120),
        vc(
            "C-27b nbf ahead and wrong iss".into(),
            &rs(&claims_with(|c| {
                c.insert("nbf".into(), json!(NOW + 300));
                c.insert("iss".into(), json!("https://other/"));
            })),
        )
        .t("token_not_yet_valid")
        .verified()
        .iss(Some("https://other/"))
        .skew(300),
        vc(
            "C-27c wrong iss and wrong aud".into(),
            &rs(&claims_with(|c| {
                c.insert("iss".into(), json!("https://other/"));
                c.insert("aud".into(), json!("billing"));
            })),
        )
        .t("issuer_mismatch")
        .verified()
        .iss(Some("https://other/"))
        .aud(Some("billing"))
        .expected(ISS),
        vc(
            "C-27d sub missing and expired".into(),
            &rs(&claims_with(|c| {
                c.remove("sub");
                c.insert("exp".into(), json!(NOW - 120));
            })),
        )
        .t("missing_claim")
        .verified()
        .sub(None),
        vc("C-28 no scope claim".into(), &without("scope"))
            .ok()
            .subject(Some("alice"))
            .scopes(&[]),
    ];
    // C-05, C-07, C-10, C-13: time claims of the wrong type.
    for claim in ["exp", "nbf", "iat"] {
        for (label, value) in [
            ("null", "null"),
            ("string", r#""1700000000""#),
            ("word", r#""tomorrow""#),
            ("bool", "true"),
            ("-1", "-1"),
            ("1e300", "1e300"),
            ("2^64", "18446744073709551616"),
            ("object", "{}"),
            ("array", "[1]"),
        ] {
            cases.push(
                vc(
                    format!("C-05/07/10/13 {claim} {label}"),
                    &raw_claim(claim, value),
                )
                .t("missing_claim")
                .verified()
                .detail(match claim {
                    "exp" => "the exp claim is",
                    "nbf" => "the nbf claim is",
                    _ => "the iat claim is",
                }),
            );
        }
    }
    // C-23: aud of the wrong type.
    for (label, value) in [
        ("123", json!(123)),
        ("{}", json!({})),
        ("null", json!(null)),
        ("[1]", json!([1])),
        ("[\"orders-api\", 1]", json!([AUD, 1])),
    ] {
        cases.push(
            vc(format!("C-23 aud {label}"), &with("aud", value))
                .t("missing_claim")
                .verified()
                .aud(None)
                .detail("aud claim is"),
        );
    }
    cases
}

#[tokio::test]
async fn claims_oneshot() {
    run_oneshot(&claims_cases()).await;
}

#[tokio::test]
async fn claims_wire() {
    run_wire(&claims_cases()).await;
}

// ---------------------------------------------------------------------------
// K-xx: API keys
// ---------------------------------------------------------------------------

fn api_keys() -> Vec<Case> {
    let near = [
        format!("{}X", &API_KEY_CI[..API_KEY_CI.len() - 1]),
        format!("{API_KEY_CI}x"),
        API_KEY_CI[..10].to_owned(),
        API_KEY_CI.to_uppercase(),
        "abcd==".to_owned(),
    ];
    let mut cases = vec![
        Case::bearer("K-01 configured key", API_KEY_CI)
            .ok()
            .subject(Some("ci-bot"))
            .scopes(&["orders:read"]),
        Case::bearer("K-05 revoked key", API_KEY_REVOKED)
            .t("token_revoked")
            .key_id("old-bot")
            .detail("revoked"),
        Case::bearer("K-01b key on /api/admin", API_KEY_CI)
            .path("/api/admin")
            .forbidden_scope("admin", "orders:read")
            .key_id("ci-bot"),
    ];
    for (i, t) in near.iter().enumerate() {
        cases.push(
            Case::bearer(format!("K-02/03 near miss #{i}"), t)
                .t("unknown_api_key")
                .hint("truncated, stale or mistyped"),
        );
    }
    cases
}

#[tokio::test]
async fn api_keys_oneshot() {
    run_oneshot(&api_keys()).await;
}

#[tokio::test]
async fn api_keys_wire() {
    run_wire(&api_keys()).await;
}

// ---------------------------------------------------------------------------
// Facts the tables rely on
// ---------------------------------------------------------------------------

/// The HMAC secret of config D really is the 64-byte harness secret, and the
/// fixture tokens are minted by jsonwebtoken, not by authgate.
#[test]
fn fixtures_are_independent() {
    assert_eq!(HS_SECRET.len(), 64);
    let t = valid_hs();
    let mut v = jsonwebtoken::Validation::new(J::HS256);
    v.validate_exp = false;
    v.set_audience(&[AUD]);
    jsonwebtoken::decode::<Value>(&t, &jsonwebtoken::DecodingKey::from_secret(HS_SECRET), &v)
        .expect("jsonwebtoken verifies its own token");
    assert_eq!(ecdsa_to_der(&[0x80; 64])[..4], [0x30, 0x46, 0x02, 0x21]);
}

// ---------------------------------------------------------------------------
// The same token, judged again on every request
// ---------------------------------------------------------------------------

/// Time claims and revocation are decided per request (SPEC §2 "Revocation": "a
/// `jti` … looked up per request"): a token that passed is refused once it is
/// revoked or expired, and a not-yet-valid token passes once its `nbf` arrives.
/// Guards any verified-token cache.
#[tokio::test]
async fn the_same_token_is_judged_again_on_every_request() {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, UNIX_EPOCH};

    let now = Arc::new(AtomicU64::new(NOW));
    let revoked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let cfg = {
        let now = Arc::clone(&now);
        let revoked = Arc::clone(&revoked);
        builder(Variant::D)
            .clock(move || UNIX_EPOCH + Duration::from_secs(now.load(Ordering::SeqCst)))
            .revocation(move |jti| revoked.lock().expect("lock").contains(jti))
            .build()
            .expect("config")
    };
    let app = app_with(cfg, false);
    let (cap, _g) = common::capture();
    let send = |token: &str| {
        let req = http::Request::builder()
            .uri("/api/whoami")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .expect("request");
        cap.clear();
        oneshot(&app, req)
    };
    let reason = || {
        cap.authgate_events()
            .iter()
            .find_map(|e| e["fields"]["auth.reason"].as_str().map(str::to_owned))
    };

    let token = rs(&claims_with(|c| {
        c.insert("exp".into(), json!(NOW + 60));
        c.insert("jti".into(), json!("jti-rejudge"));
    }));
    assert_eq!(send(&token).await.status, 200);
    assert_eq!(send(&token).await.status, 200);
    revoked.lock().expect("lock").insert("jti-rejudge".into());
    assert_eq!(send(&token).await.status, 401);
    assert_eq!(reason().as_deref(), Some("token_revoked"));
    revoked.lock().expect("lock").clear();
    assert_eq!(send(&token).await.status, 200);
    // exp + leeway = NOW + 90.
    now.store(NOW + 89, Ordering::SeqCst);
    assert_eq!(send(&token).await.status, 200);
    now.store(NOW + 90, Ordering::SeqCst);
    assert_eq!(send(&token).await.status, 401);
    assert_eq!(reason().as_deref(), Some("token_expired"));

    let later = rs(&claims_with(|c| {
        c.insert("nbf".into(), json!(NOW + 200));
        c.insert("exp".into(), json!(NOW + 900));
    }));
    now.store(NOW, Ordering::SeqCst);
    assert_eq!(send(&later).await.status, 401);
    assert_eq!(reason().as_deref(), Some("token_not_yet_valid"));
    now.store(NOW + 170, Ordering::SeqCst);
    assert_eq!(send(&later).await.status, 200);
}

// ---------------------------------------------------------------------------
// The checks can fail
// ---------------------------------------------------------------------------

/// The table checks are not vacuous: a right expectation passes, and each wrong
/// one is reported.
#[tokio::test]
async fn the_checks_catch_wrong_expectations() {
    let (cap, _g) = common::capture();
    let app = app(Variant::D);
    let token = rs(&claims_with(|c| {
        c.insert("exp".into(), json!(NOW - 120));
    }));
    let right = Case::bearer("expired", &token)
        .t("token_expired")
        .rs256()
        .verified()
        .skew(120)
        .hint("refresh");
    let req = http::Request::builder()
        .uri("/api/whoami")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let resp = oneshot(&app, req).await;
    let events = cap.events();
    let errors = |c: &Case| {
        let mut e = check_response(c, &resp);
        e.extend(check_events(c, &events));
        e
    };
    assert_eq!(errors(&right), Vec::<String>::new());

    let wrong: Vec<(&str, Case)> = vec![
        ("status", right.clone().rej(400, "token_expired")),
        ("reason", right.clone().t("token_not_yet_valid")),
        ("scheme", right.clone().scheme("basic")),
        ("hint", right.clone().hint("nothing like this")),
        ("no hint", right.clone().no_hint()),
        ("detail", right.clone().detail("nothing like this")),
        ("fingerprint", right.clone().no_token()),
        ("alg", right.clone().jwt("ES256", Some("rsa-1"))),
        ("kid", right.clone().jwt("RS256", None)),
        ("unverified", {
            let mut c = right.clone();
            c.verified = false;
            c
        }),
        ("sub", right.clone().sub(Some("bob"))),
        ("skew", right.clone().skew(121)),
        ("expected", right.clone().expected(ISS)),
        ("error param", {
            let mut c = right.clone();
            c.want_error = Some("invalid_request");
            c
        }),
        ("pass", right.clone().ok()),
    ];
    for (what, case) in wrong {
        assert!(!errors(&case).is_empty(), "a wrong {what} went unnoticed");
    }
}
