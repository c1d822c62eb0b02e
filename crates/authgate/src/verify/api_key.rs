//! Opaque API keys sent as Bearer tokens. Only SHA-256 digests are configured;
//! lookup compares digests in constant time (`subtle`), one candidate at a time,
//! so timing reveals nothing about how close a guess came (CWE-208).

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::ConfigError;

/// One configured API key: an id (logged) and the SHA-256 of the key (never the
/// key itself).
///
/// ```
/// use authgate::{ApiKey, AuthConfig, AuthLayer};
/// use http::{Request, Response, StatusCode, header};
/// use tower::{Layer, Service, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let ok = || tower::service_fn(|_req: Request<()>| async {
/// #     Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
/// # });
/// // `printf %s "$KEY" | sha256sum` of the key "agk_example_key_0001"
/// let digest = "54705c8b0c921341fc0be57454631ebb696c8f069c010cca5563d56e4da7834e";
/// let cfg = AuthConfig::builder()
///     .api_key(ApiKey::from_sha256_hex("ci-bot", digest)?.scopes(["orders:read"]))
///     .build()?;
/// let mut svc = AuthLayer::new(cfg).layer(ok());
/// // The key itself: 200.
/// let req = Request::get("/").header(header::AUTHORIZATION, "Bearer agk_example_key_0001").body(())?;
/// assert_eq!(svc.ready().await?.call(req).await?.status(), StatusCode::OK);
/// // Another key: 401 `unknown_api_key`.
/// let req = Request::get("/").header(header::AUTHORIZATION, "Bearer agk_other_key").body(())?;
/// let res = svc.ready().await?.call(req).await?;
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert!(res.headers()[header::WWW_AUTHENTICATE].to_str()?.contains("invalid_token"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ApiKey {
    pub(crate) id: String,
    digest: [u8; 32],
    pub(crate) scopes: Vec<String>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("sha256", &"[redacted]")
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl ApiKey {
    /// A key given by its SHA-256 digest in hex (64 characters), as the TOML
    /// file's `sha256` key. `echo -n "$KEY" | sha256sum` makes one.
    ///
    /// # Errors
    ///
    /// When `sha256_hex` is not 64 hex characters or `id` is empty.
    pub fn from_sha256_hex(id: impl Into<String>, sha256_hex: &str) -> Result<Self, ConfigError> {
        let id = id.into();
        if id.is_empty() {
            return Err(ConfigError::new(
                "bearer.api_keys.id",
                "must not be empty: it names the key in logs",
            ));
        }
        let hex = sha256_hex.trim();
        let mut digest = [0u8; 32];
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ConfigError::new(
                format!(
                    "bearer.api_keys (id \"{}\").sha256",
                    crate::event::sanitize_for_message(&id)
                ),
                format!(
                    "must be 64 hex characters (the SHA-256 of the key), got {} characters; make it with `printf %s \"$KEY\" | sha256sum`",
                    hex.len()
                ),
            ));
        }
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        Ok(ApiKey {
            id,
            digest,
            scopes: Vec::new(),
        })
    }

    /// A key given in clear (hashed at once; the clear key is not kept).
    pub fn from_key(id: impl Into<String>, key: &str) -> Self {
        ApiKey {
            id: id.into(),
            digest: Sha256::digest(key.as_bytes()).into(),
            scopes: Vec::new(),
        }
    }

    /// The scopes this key grants.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Finds the key whose digest equals SHA-256 of `token`. Every candidate is
/// compared, in constant time, whether or not an earlier one matched.
pub(crate) fn lookup<'a>(keys: &'a [ApiKey], token: &str) -> Option<&'a ApiKey> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let mut found = None;
    for key in keys {
        if bool::from(key.digest.ct_eq(&digest)) {
            found = Some(key);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_parsing_and_lookup() {
        // sha256("abc")
        let k = ApiKey::from_sha256_hex(
            "ci",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        )
        .unwrap();
        let keys = [k, ApiKey::from_key("other", "xyz")];
        assert_eq!(lookup(&keys, "abc").map(ApiKey::id), Some("ci"));
        assert_eq!(lookup(&keys, "xyz").map(ApiKey::id), Some("other"));
        assert!(lookup(&keys, "abd").is_none());
        assert!(lookup(&keys, "ABC").is_none());
        assert!(lookup(&keys, "abcx").is_none());
    }

    #[test]
    fn bad_digests_are_config_errors() {
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63)] {
            let err = ApiKey::from_sha256_hex("k", bad).unwrap_err();
            assert!(err.message().contains("64 hex"), "{err}");
        }
        assert!(ApiKey::from_sha256_hex("", &"a".repeat(64)).is_err());
    }

    #[test]
    fn debug_hides_digest() {
        let k = ApiKey::from_key("id1", "secret-key");
        let s = format!("{k:?}");
        assert!(s.contains("[redacted]") && !s.contains("secret-key"));
    }
}
