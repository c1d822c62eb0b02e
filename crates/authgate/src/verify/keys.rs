//! Verification keys: algorithms, key types, and loading from PEM, JWK and secrets.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyOperations, PublicKeyUse,
};

use crate::config::ConfigError;

/// A JWS signature algorithm authgate verifies (RFC 7518 §3, RFC 8037).
///
/// `none` is deliberately absent: unsigned tokens never pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// EdDSA with Ed25519.
    EdDSA,
}

/// Every supported algorithm.
pub(crate) const ALL_ALGORITHMS: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

impl Algorithm {
    /// The `alg` header value (case-sensitive, RFC 7515 §4.1.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The type of key this algorithm needs.
    pub fn key_type(self) -> KeyType {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyType::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyType::Rsa,
            Algorithm::ES256 | Algorithm::ES384 => KeyType::Ec,
            Algorithm::EdDSA => KeyType::Ed25519,
        }
    }

    /// For HMAC algorithms, the minimum secret length in bytes: the size of the hash
    /// output (RFC 7518 §3.2).
    pub(crate) fn min_hmac_secret_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 => Some(64),
            _ => None,
        }
    }

    pub(crate) fn curve(self) -> Option<Curve> {
        match self {
            Algorithm::ES256 => Some(Curve::P256),
            Algorithm::ES384 => Some(Curve::P384),
            _ => None,
        }
    }

    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Algorithm::HS256 => J::HS256,
            Algorithm::HS384 => J::HS384,
            Algorithm::HS512 => J::HS512,
            Algorithm::RS256 => J::RS256,
            Algorithm::RS384 => J::RS384,
            Algorithm::RS512 => J::RS512,
            Algorithm::PS256 => J::PS256,
            Algorithm::PS384 => J::PS384,
            Algorithm::PS512 => J::PS512,
            Algorithm::ES256 => J::ES256,
            Algorithm::ES384 => J::ES384,
            Algorithm::EdDSA => J::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Algorithm::from_str`]: the name is not a supported algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlgorithm(());

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "unknown algorithm; expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA",
        )
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Exact, case-sensitive match (RFC 7515 §4.1.1): `"none"` and `"hs256"` fail.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_ALGORITHMS
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnknownAlgorithm(()))
    }
}

/// The type of a verification key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// An HMAC shared secret (`oct`).
    Hmac,
    /// An RSA public key.
    Rsa,
    /// An elliptic-curve public key (P-256 or P-384).
    Ec,
    /// An Ed25519 public key (`OKP`).
    Ed25519,
}

impl KeyType {
    /// A human name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            KeyType::Hmac => "an HMAC secret",
            KeyType::Rsa => "an RSA public key",
            KeyType::Ec => "an EC public key",
            KeyType::Ed25519 => "an Ed25519 public key",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// One key that verifies JWT signatures. `Debug` never shows key material.
#[derive(Clone)]
pub struct JwtKey {
    pub(crate) kid: Option<String>,
    pub(crate) key_type: KeyType,
    /// For EC keys, the curve when known.
    pub(crate) curve: Option<Curve>,
    /// A JWK's `alg` restricts the key to that one algorithm (RFC 7517 §4.4).
    pub(crate) alg: Option<Algorithm>,
    /// For HMAC keys, the secret length, checked against RFC 7518 §3.2 at build time.
    pub(crate) secret_len: Option<usize>,
    pub(crate) decoding: DecodingKey,
    /// Names this key's material for the prepared verifiers
    /// (`verify::prepared`): unique per construction, shared by clones (which
    /// hold the same material).
    pub(crate) id: u64,
}

/// A fresh [`JwtKey::id`]; never reused (a `u64` counter does not wrap).
fn next_key_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("key_type", &self.key_type)
            .field("alg", &self.alg)
            .field("material", &"[redacted]")
            .finish()
    }
}

impl JwtKey {
    /// An HMAC secret for HS256/384/512. Its length is checked against the allowed
    /// algorithms when the configuration is built (RFC 7518 §3.2).
    pub fn hmac(secret: impl AsRef<[u8]>) -> Self {
        let secret = secret.as_ref();
        JwtKey {
            kid: None,
            key_type: KeyType::Hmac,
            curve: None,
            alg: None,
            secret_len: Some(secret.len()),
            decoding: DecodingKey::from_secret(secret),
            id: next_key_id(),
        }
    }

    /// A public key in PEM: RSA (`PUBLIC KEY` or `RSA PUBLIC KEY`), EC P-256/P-384 or
    /// Ed25519 (`PUBLIC KEY`, SPKI).
    ///
    /// # Errors
    ///
    /// When the text is not a PEM public key of one of those types (private keys
    /// are refused: configure the public half).
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let pem = pem.as_ref();
        let text = String::from_utf8_lossy(pem);
        if text.contains("PRIVATE KEY") {
            return Err(ConfigError::new(
                "public_key_pem_file",
                "the PEM holds a private key; configure the public key (e.g. `openssl pkey -in key.pem -pubout`)",
            ));
        }
        let (key_type, decoding) = if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
            (KeyType::Rsa, k)
        } else if let Ok(k) = DecodingKey::from_ec_pem(pem) {
            (KeyType::Ec, k)
        } else if let Ok(k) = DecodingKey::from_ed_pem(pem) {
            (KeyType::Ed25519, k)
        } else {
            return Err(ConfigError::new(
                "public_key_pem_file",
                "not a PEM public key of a supported type (RSA, EC P-256/P-384, Ed25519 in SPKI `PUBLIC KEY` form)",
            ));
        };
        let curve = (key_type == KeyType::Ec)
            .then(|| ec_curve(&decoding))
            .flatten();
        Ok(JwtKey {
            kid: None,
            key_type,
            curve,
            alg: None,
            secret_len: None,
            decoding,
            id: next_key_id(),
        })
    }

    /// Keys from a JWK or a JWK Set (RFC 7517) in JSON. Keys marked for
    /// encryption (`use: "enc"`, `key_ops` without `verify`) are refused.
    ///
    /// # Errors
    ///
    /// When the JSON is neither a JWK nor a JWK Set, or a key is unusable.
    pub fn from_jwk_json(json: &str) -> Result<Vec<Self>, ConfigError> {
        const KEY: &str = "jwk_file";
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| ConfigError::new(KEY, "not valid JSON; expected a JWK or a JWK Set"))?;
        let jwks: Vec<Jwk> = if value.get("keys").is_some() {
            serde_json::from_value::<JwkSet>(value)
                .map_err(|_| ConfigError::new(KEY, "not a valid JWK Set (RFC 7517 §5)"))?
                .keys
        } else {
            vec![
                serde_json::from_value::<Jwk>(value)
                    .map_err(|_| ConfigError::new(KEY, "not a valid JWK (RFC 7517 §4)"))?,
            ]
        };
        if jwks.is_empty() {
            return Err(ConfigError::new(KEY, "the JWK Set has no keys"));
        }
        jwks.iter().map(Self::from_jwk).collect()
    }

    pub(crate) fn from_jwk(jwk: &Jwk) -> Result<Self, ConfigError> {
        const KEY: &str = "jwk_file";
        let kid = jwk.common.key_id.clone();
        let named = |msg: &str| match &kid {
            Some(kid) => format!("key \"{}\": {msg}", crate::event::sanitize_for_message(kid)),
            None => msg.to_owned(),
        };
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            return Err(ConfigError::new(
                KEY,
                named(
                    "`use` is not \"sig\"; an encryption key cannot verify signatures (RFC 7517 §4.2)",
                ),
            ));
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops.contains(&KeyOperations::Verify)
        {
            return Err(ConfigError::new(
                KEY,
                named("`key_ops` does not include \"verify\" (RFC 7517 §4.3)"),
            ));
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => Some(a.to_string().parse::<Algorithm>().map_err(|_| {
                ConfigError::new(KEY, named("`alg` is not a supported signature algorithm"))
            })?),
        };
        let (key_type, curve, secret_len) = match &jwk.algorithm {
            AlgorithmParameters::RSA(p) => {
                let e = URL_SAFE_NO_PAD
                    .decode(p.e.trim_end_matches('='))
                    .unwrap_or_default();
                let e_small = e.iter().skip_while(|&&b| b == 0).count() <= 1
                    && e.last().is_none_or(|&b| b < 3);
                if e_small {
                    return Err(ConfigError::new(
                        KEY,
                        named("RSA public exponent below 3 (RFC 7518 §3.3)"),
                    ));
                }
                let n = base64_url_len(&p.n);
                if n < 256 {
                    return Err(ConfigError::new(
                        KEY,
                        named(&format!(
                            "RSA modulus is {} bits; at least 2048 are required (RFC 7518 §3.3)",
                            n * 8
                        )),
                    ));
                }
                (KeyType::Rsa, None, None)
            }
            AlgorithmParameters::EllipticCurve(p) => {
                let curve = match p.curve {
                    EllipticCurve::P256 => Curve::P256,
                    EllipticCurve::P384 => Curve::P384,
                    _ => {
                        return Err(ConfigError::new(
                            KEY,
                            named("unsupported EC curve; P-256 and P-384 are supported"),
                        ));
                    }
                };
                (KeyType::Ec, Some(curve), None)
            }
            AlgorithmParameters::OctetKeyPair(p) => {
                if p.curve != EllipticCurve::Ed25519 {
                    return Err(ConfigError::new(
                        KEY,
                        named("unsupported OKP curve; Ed25519 is supported"),
                    ));
                }
                (KeyType::Ed25519, None, None)
            }
            AlgorithmParameters::OctetKey(p) => {
                (KeyType::Hmac, None, Some(base64_url_len(&p.value)))
            }
            _ => {
                return Err(ConfigError::new(
                    KEY,
                    named("unsupported `kty`; RSA, EC, OKP and oct are supported"),
                ));
            }
        };
        if let Some(alg) = alg
            && alg.key_type() != key_type
        {
            return Err(ConfigError::new(
                KEY,
                named(&format!("`alg` {alg} does not fit {}", key_type.describe())),
            ));
        }
        let decoding = DecodingKey::from_jwk(jwk).map_err(|_| {
            ConfigError::new(KEY, named("the key parameters do not decode (base64url)"))
        })?;
        Ok(JwtKey {
            kid,
            key_type,
            curve,
            alg,
            secret_len,
            decoding,
            id: next_key_id(),
        })
    }

    /// Sets the key id that tokens name in their `kid` header.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Whether this key can verify a token signed with `alg`.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        alg.key_type() == self.key_type
            && self.alg.is_none_or(|a| a == alg)
            && match (alg.curve(), self.curve) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    }
}

/// The decoded length of an unpadded base64url string.
fn base64_url_len(s: &str) -> usize {
    s.trim_end_matches('=').len() * 3 / 4
}

/// The curve of an EC key, from the length of its uncompressed point.
fn ec_curve(key: &DecodingKey) -> Option<Curve> {
    match key.kind() {
        jsonwebtoken::DecodingKeyKind::SecretOrDer(point) => match point.len() {
            65 => Some(Curve::P256),
            97 => Some(Curve::P384),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip_and_are_case_sensitive() {
        for alg in ALL_ALGORITHMS {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
        }
        for bad in ["none", "None", "hs256", "ES512", "", "RS256 "] {
            assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hmac_key_fits_only_hmac() {
        let k = JwtKey::hmac([7u8; 64]);
        assert!(k.fits(Algorithm::HS256) && k.fits(Algorithm::HS512));
        assert!(!k.fits(Algorithm::RS256) && !k.fits(Algorithm::EdDSA));
        let dbg = format!("{k:?}");
        assert!(dbg.contains("[redacted]") && !dbg.contains("7, 7"), "{dbg}");
    }

    #[test]
    fn jwk_enc_keys_and_small_rsa_are_refused() {
        let enc = r#"{"kty":"EC","crv":"P-256","use":"enc","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert!(JwtKey::from_jwk_json(enc).is_err());
        let small = r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#;
        let err = JwtKey::from_jwk_json(small).unwrap_err().to_string();
        assert!(err.contains("2048"), "{err}");
    }

    #[test]
    fn jwk_ec_key_is_bound_to_its_curve() {
        let sig = r#"{"kty":"EC","crv":"P-256","kid":"e1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        let keys = JwtKey::from_jwk_json(sig).unwrap();
        assert_eq!(keys[0].kid(), Some("e1"));
        assert!(keys[0].fits(Algorithm::ES256));
        assert!(!keys[0].fits(Algorithm::ES384));
    }
}
