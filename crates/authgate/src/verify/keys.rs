//! Verification keys: algorithms, key types, and loading from PEM, JWK and secrets.

use std::fmt;
use std::str::FromStr;

use curve25519_dalek::edwards::CompressedEdwardsY;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{DecodingKey, DecodingKeyKind};
use pkcs1::der::Decode as _;

use crate::config::{ConfigError, ConfigErrorKind};

/// A key that cannot be used, for configuration `key`.
fn unusable(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message).with_kind(ConfigErrorKind::UnusableKey)
}

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
///
/// ```
/// use authgate::{Algorithm, AuthConfig, JwtConfig, JwtKey, KeyType};
///
/// let hmac = JwtKey::hmac(b"a secret of at least 32 bytes...").with_kid("hmac-1");
/// assert_eq!((hmac.kid(), hmac.key_type()), (Some("hmac-1"), KeyType::Hmac));
/// assert!(!format!("{hmac:?}").contains("secret"));
///
/// // A key whose type does not fit the allowed algorithms is refused at start-up.
/// let err = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::RS256]).key(hmac))
///     .build()
///     .unwrap_err();
/// assert!(err.key().starts_with("bearer.jwt"), "{err}");
///
/// // The all-zero Ed25519 placeholder is a small-order point: refused.
/// let zero = r#"{"kty":"OKP","crv":"Ed25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;
/// assert!(JwtKey::from_jwk_json(zero).is_err());
/// ```
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
    /// Keys that cannot bind a signature are refused:
    ///
    /// - an Ed25519 key that is not a point of the curve, or is one of the eight
    ///   points of small order (the identity, the all-zero placeholder, …): under
    ///   such a key the signature check of RFC 8032 §5.1.7 passes for signatures
    ///   made without any private key, so any token could be forged;
    /// - an EC point that is not on its curve (P-256 or P-384);
    /// - an RSA key whose modulus has fewer than 2048 bits (RFC 7518 §3.3; the
    ///   bits are counted, leading zero bytes do not count) or more than 8192, or
    ///   is even, or whose public exponent is even, below 3 (RFC 8017 §3.1) or not
    ///   below 2^33 (the largest the verifier accepts).
    ///
    /// # Errors
    ///
    /// When the text is not a PEM public key of one of those types (private keys
    /// are refused: configure the public half), or the key is one of the above.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let pem = pem.as_ref();
        let text = String::from_utf8_lossy(pem);
        if text.contains("PRIVATE KEY") {
            return Err(unusable(
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
            return Err(unusable(
                "public_key_pem_file",
                "not a PEM public key of a supported type (RSA, EC P-256/P-384, Ed25519 in SPKI `PUBLIC KEY` form)",
            ));
        };
        let curve = (key_type == KeyType::Ec)
            .then(|| ec_curve(&decoding))
            .flatten();
        check_public_key(key_type, curve, &decoding)
            .map_err(|why| unusable("public_key_pem_file", why))?;
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
    /// encryption (`use: "enc"`, `key_ops` without `verify`) are refused, and so
    /// are keys that cannot bind a signature, as in [`JwtKey::from_pem`]: an
    /// Ed25519 `x` that is not 32 bytes, not a curve point, or a point of small
    /// order (the all-zero `x` placeholder among them); an EC point not on the
    /// curve `crv` names; an RSA `n` under 2048 bits (leading zero bytes do not
    /// count) or over 8192, or an `e` that is even, below 3 or not below 2^33.
    ///
    /// # Errors
    ///
    /// When the JSON is neither a JWK nor a JWK Set, or a key is unusable (the
    /// message names its `kid`).
    pub fn from_jwk_json(json: &str) -> Result<Vec<Self>, ConfigError> {
        const KEY: &str = "jwk_file";
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| unusable(KEY, "not valid JSON; expected a JWK or a JWK Set"))?;
        let jwks: Vec<Jwk> = if value.get("keys").is_some() {
            serde_json::from_value::<JwkSet>(value)
                .map_err(|_| unusable(KEY, "not a valid JWK Set (RFC 7517 §5)"))?
                .keys
        } else {
            vec![
                serde_json::from_value::<Jwk>(value)
                    .map_err(|_| unusable(KEY, "not a valid JWK (RFC 7517 §4)"))?,
            ]
        };
        if jwks.is_empty() {
            return Err(unusable(KEY, "the JWK Set has no keys"));
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
            return Err(unusable(
                KEY,
                named(
                    "`use` is not \"sig\"; an encryption key cannot verify signatures (RFC 7517 §4.2)",
                ),
            ));
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops.contains(&KeyOperations::Verify)
        {
            return Err(unusable(
                KEY,
                named("`key_ops` does not include \"verify\" (RFC 7517 §4.3)"),
            ));
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => Some(a.to_string().parse::<Algorithm>().map_err(|_| {
                unusable(KEY, named("`alg` is not a supported signature algorithm"))
            })?),
        };
        let (key_type, curve, secret_len) = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => (KeyType::Rsa, None, None),
            AlgorithmParameters::EllipticCurve(p) => {
                let curve = match p.curve {
                    EllipticCurve::P256 => Curve::P256,
                    EllipticCurve::P384 => Curve::P384,
                    _ => {
                        return Err(unusable(
                            KEY,
                            named("unsupported EC curve; P-256 and P-384 are supported"),
                        ));
                    }
                };
                (KeyType::Ec, Some(curve), None)
            }
            AlgorithmParameters::OctetKeyPair(p) => {
                if p.curve != EllipticCurve::Ed25519 {
                    return Err(unusable(
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
                return Err(unusable(
                    KEY,
                    named("unsupported `kty`; RSA, EC, OKP and oct are supported"),
                ));
            }
        };
        if let Some(alg) = alg
            && alg.key_type() != key_type
        {
            return Err(unusable(
                KEY,
                named(&format!("`alg` {alg} does not fit {}", key_type.describe())),
            ));
        }
        let decoding = DecodingKey::from_jwk(jwk)
            .map_err(|_| unusable(KEY, named("the key parameters do not decode (base64url)")))?;
        check_public_key(key_type, curve, &decoding).map_err(|why| unusable(KEY, named(&why)))?;
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

/// The curve of an EC key, from the length of its SEC 1 point (§2.3.3:
/// uncompressed `04 x y` or compressed `02/03 x`).
fn ec_curve(key: &DecodingKey) -> Option<Curve> {
    match key.kind() {
        DecodingKeyKind::SecretOrDer(point) => match point.len() {
            65 | 33 => Some(Curve::P256),
            97 | 49 => Some(Curve::P384),
            _ => None,
        },
        DecodingKeyKind::RsaModulusExponent { .. } => None,
    }
}

/// Smallest RSA modulus, in bits (RFC 7518 §3.3).
const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus the verifiers accept, in bits.
const RSA_MAX_BITS: usize = 8192;
/// Largest RSA public exponent, in bits, the verifiers accept (aws-lc refuses
/// larger ones at every verification).
const RSA_MAX_EXPONENT_BITS: usize = 33;

/// Whether a public key can bind a signature; the reason when it cannot. One
/// check for every source (PEM, JWK, remote JWK Set), on the material
/// jsonwebtoken verifies with. HMAC secrets pass (their length is checked against
/// the algorithms when the configuration is built).
fn check_public_key(
    key_type: KeyType,
    curve: Option<Curve>,
    key: &DecodingKey,
) -> Result<(), String> {
    match (key_type, key.kind()) {
        (KeyType::Hmac, _) => Ok(()),
        (KeyType::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => check_rsa(n, e),
        (KeyType::Rsa, DecodingKeyKind::SecretOrDer(der)) => {
            let key = pkcs1::RsaPublicKeyRef::from_der(der).map_err(|_| {
                "the RSA public key is not a DER RSAPublicKey (RFC 8017 §A.1.1)".to_owned()
            })?;
            check_rsa(key.modulus.as_bytes(), key.public_exponent.as_bytes())
        }
        (KeyType::Ec, DecodingKeyKind::SecretOrDer(point)) => check_ec(curve, point),
        (KeyType::Ed25519, DecodingKeyKind::SecretOrDer(x)) => check_ed25519(x),
        (KeyType::Ec | KeyType::Ed25519, DecodingKeyKind::RsaModulusExponent { .. }) => {
            Err(format!("{} cannot be RSA parameters", key_type.describe()))
        }
    }
}

/// The number of bits of a big-endian unsigned integer (leading zeros ignored).
fn bit_len(be: &[u8]) -> usize {
    let be = &be[be.iter().take_while(|&&b| b == 0).count()..];
    match be.first() {
        Some(&top) => be.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), String> {
    let n_bits = bit_len(n);
    if n_bits < RSA_MIN_BITS {
        return Err(format!(
            "the RSA modulus is {n_bits} bits; at least {RSA_MIN_BITS} are required (RFC 7518 §3.3)"
        ));
    }
    if n_bits > RSA_MAX_BITS {
        return Err(format!(
            "the RSA modulus is {n_bits} bits; at most {RSA_MAX_BITS} can be verified"
        ));
    }
    if n.last().is_some_and(|b| b & 1 == 0) {
        return Err(
            "the RSA modulus is even, so it is not a product of two primes (RFC 8017 §3.1)"
                .to_owned(),
        );
    }
    let e_bits = bit_len(e);
    if e_bits > RSA_MAX_EXPONENT_BITS {
        return Err(format!(
            "the RSA public exponent is {e_bits} bits; it must be below 2^{RSA_MAX_EXPONENT_BITS} to be verified with (65537 is usual)"
        ));
    }
    let e_value = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if e_value < 3 || e_value % 2 == 0 {
        return Err(format!(
            "the RSA public exponent is {e_value}; it must be odd and at least 3 (RFC 8017 §3.1)"
        ));
    }
    Ok(())
}

fn check_ec(curve: Option<Curve>, point: &[u8]) -> Result<(), String> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED};
    let (alg, name) = match curve {
        Some(Curve::P256) => (&ECDSA_P256_SHA256_FIXED, "P-256"),
        Some(Curve::P384) => (&ECDSA_P384_SHA384_FIXED, "P-384"),
        None => {
            return Err(format!(
                "the EC public key is {} bytes, not a P-256 or P-384 point (SEC 1 §2.3.3)",
                point.len()
            ));
        }
    };
    // Parsing the SEC 1 point checks that it is on the curve and not the point
    // at infinity (SEC 1 §3.2.2).
    aws_lc_rs::signature::ParsedPublicKey::new(alg, point)
        .map(drop)
        .map_err(|_| format!("the EC public key is not on the {name} curve (SEC 1 §3.2.2)"))
}

fn check_ed25519(x: &[u8]) -> Result<(), String> {
    let Ok(bytes) = <[u8; 32]>::try_from(x) else {
        return Err(format!(
            "an Ed25519 public key is 32 bytes (RFC 8037 §2), this one is {}",
            x.len()
        ));
    };
    match CompressedEdwardsY(bytes).decompress() {
        None => Err("the Ed25519 public key is not a point of the curve (RFC 8032 §5.1.3)".to_owned()),
        // [S]B = R + [k]A holds for R = the identity and S = 0 whenever [k]A is
        // the identity, which for A of order 1, 2, 4 or 8 is every 1st, 2nd, 4th
        // or 8th message: anyone could forge tokens (RFC 8032 §5.1.7).
        Some(point) if point.is_small_order() => Err(
            "the Ed25519 public key is a small-order point (a placeholder such as an all-zero x, or an attack): signatures made without any private key would verify under it (RFC 8032 §5.1.7); configure the issuer's real key"
                .to_owned(),
        ),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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

    /// The eight canonical small-order encodings (identity, order 2, two of order
    /// 4, four of order 8).
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

    fn unhex(s: &str) -> [u8; 32] {
        let v: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    #[test]
    fn the_eight_small_order_encodings_are_canonical_distinct_and_refused() {
        let mut orders = Vec::new();
        for hex in SMALL_ORDER {
            let bytes = unhex(hex);
            let point = CompressedEdwardsY(bytes).decompress().expect(hex);
            assert!(point.is_small_order(), "{hex}");
            assert_eq!(point.compress().0, bytes, "{hex} is canonical");
            let order = (0..=3)
                .map(|k| 1u32 << k)
                .find(|&n| {
                    (point * curve25519_dalek::Scalar::from(n)).compress()
                        == CompressedEdwardsY(unhex(SMALL_ORDER[0]))
                })
                .expect("order divides 8");
            orders.push(order);
            let err = check_ed25519(&bytes).unwrap_err();
            assert!(err.contains("small-order"), "{hex}: {err}");
        }
        assert_eq!(orders, [1, 2, 4, 4, 8, 8, 8, 8]);
        // Non-canonical encodings of small-order points are refused too: y = p + 1
        // (the identity again) and the identity with the sign bit set.
        let mut p_plus_1 = [0xff; 32];
        p_plus_1[0] = 0xee;
        p_plus_1[31] = 0x7f;
        let mut minus_zero = unhex(SMALL_ORDER[0]);
        minus_zero[31] |= 0x80;
        for bytes in [p_plus_1, minus_zero] {
            assert!(check_ed25519(&bytes).is_err(), "{bytes:02x?}");
        }
        // A y with no point on the curve.
        let mut off = [0u8; 32];
        off[0] = 2;
        let err = check_ed25519(&off).unwrap_err();
        assert!(err.contains("not a point"), "{err}");
        // The RFC 8032 §7.1 test 1 public key is fine.
        let good = unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        assert_eq!(check_ed25519(&good), Ok(()));
    }

    #[test]
    fn rsa_sizes_count_bits_and_exponents_must_be_odd_at_least_3_below_2_pow_33() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0, 1]), 1);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
        let modulus = |top: u8, len: usize| {
            let mut n = vec![0xa5; len];
            n[0] = top;
            n[len - 1] |= 1;
            n
        };
        let f4 = [1, 0, 1];
        assert_eq!(check_rsa(&modulus(0x80, 256), &f4), Ok(()));
        assert_eq!(check_rsa(&modulus(0x80, 1024), &f4), Ok(()));
        // 256 bytes, but 2041 bits.
        let err = check_rsa(&modulus(0x01, 256), &f4).unwrap_err();
        assert!(err.contains("2041 bits"), "{err}");
        let mut padded = vec![0; 128];
        padded.extend(modulus(0x80, 128));
        let err = check_rsa(&padded, &f4).unwrap_err();
        assert!(err.contains("1024 bits"), "{err}");
        let err = check_rsa(&modulus(0x01, 1025), &f4).unwrap_err();
        assert!(err.contains("8193 bits"), "{err}");
        let mut even = modulus(0x80, 256);
        even[255] &= 0xfe;
        assert!(check_rsa(&even, &f4).unwrap_err().contains("even"));
        let n = modulus(0x80, 256);
        for ok in [&[3][..], &[0, 0, 3], &[1, 0xff, 0xff, 0xff, 0xff]] {
            assert_eq!(check_rsa(&n, ok), Ok(()), "{ok:?}");
        }
        for bad in [
            &[][..],
            &[0],
            &[1],
            &[2],
            &[1, 0, 0],
            &[2, 0, 0, 0, 1],
            &[2, 0, 0, 0, 0, 0, 0, 0, 1],
        ] {
            let err = check_rsa(&n, bad).unwrap_err();
            assert!(err.contains("exponent"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn ec_points_must_be_on_their_curve() {
        // The RFC 7517 §A.1 P-256 key.
        let x = URL_SAFE_NO_PAD
            .decode("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4")
            .unwrap();
        let y = URL_SAFE_NO_PAD
            .decode("4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM")
            .unwrap();
        let mut point = vec![4];
        point.extend(&x);
        point.extend(&y);
        assert_eq!(check_ec(Some(Curve::P256), &point), Ok(()));
        let err = check_ec(Some(Curve::P384), &point).unwrap_err();
        assert!(err.contains("P-384"), "{err}");
        *point.last_mut().unwrap() ^= 1;
        assert!(check_ec(Some(Curve::P256), &point).is_err());
        // The point at infinity, and a point of no known size.
        assert!(check_ec(Some(Curve::P256), &[0]).is_err());
        assert!(check_ec(None, &[4; 10]).unwrap_err().contains("10 bytes"));
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
