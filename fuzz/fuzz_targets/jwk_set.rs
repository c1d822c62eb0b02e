//! Arbitrary bytes as a JWK / JWK Set: the static loader (`JwtKey::from_jwk_json`)
//! and the parser of a remote JWK Set body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(keys) = authgate::JwtKey::from_jwk_json(text) {
            assert!(!keys.is_empty(), "an accepted JWK Set has at least one key");
            for key in &keys {
                let _ = (key.kid(), key.key_type(), format!("{key:?}"));
            }
        }
    }
    if let Some(keys) = authgate::__fuzz::remote_jwk_set(data) {
        for key in &keys {
            assert_ne!(
                key.key_type(),
                authgate::KeyType::Hmac,
                "a symmetric key taken from a remote set"
            );
            let _ = format!("{key:?}");
        }
    }
});
