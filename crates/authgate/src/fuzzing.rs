//! Entry points for the fuzz targets in `fuzz/`, compiled only with `--cfg fuzzing`
//! (which `cargo fuzz` sets). Not part of the API: no stability promise, absent
//! from every normal build, hidden from the documentation.

use http::HeaderValue;

/// The strict JOSE header parser (RFC 7515 §4); `true` when it accepts `bytes`.
pub fn jose_header(bytes: &[u8]) -> bool {
    crate::verify::json::parse_header(bytes).is_ok()
}

/// The strict claim-set parser (RFC 7519 §4), keeping `scope` whole.
pub fn claims(bytes: &[u8], scope: Option<&str>) -> bool {
    crate::verify::json::parse_claims(bytes, scope).is_ok()
}

/// The strict whole-object parser (behind `Principal::claims`).
pub fn object(bytes: &[u8]) -> bool {
    crate::verify::json::parse_object(bytes).is_ok()
}

/// One `Authorization` value: the decoded Basic user-id and password, or `None`
/// when it is anything else (Bearer, malformed, another scheme).
pub fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    match crate::credentials::parse_value(value) {
        crate::credentials::Credentials::Basic(c) => Some((c.user, c.password.to_string())),
        _ => None,
    }
}

/// The remote JWK Set parser: the keys kept, or `None` when the body is refused.
#[cfg(feature = "jwks")]
pub fn remote_jwk_set(body: &[u8]) -> Option<Vec<crate::JwtKey>> {
    crate::verify::remote::fuzz_parse_jwk_set(body)
}
