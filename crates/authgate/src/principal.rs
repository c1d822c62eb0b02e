//! The authenticated caller, as handlers see it.

use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The scheme a principal authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `Authorization: Bearer` (a JWT or an API key).
    Bearer,
    /// `Authorization: Basic`.
    Basic,
}

impl Scheme {
    /// `bearer` or `basic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Bearer => "bearer",
            Scheme::Basic => "basic",
        }
    }
}

/// Who made the request. The auth layer puts it in the request extensions; with
/// the `axum` feature, handlers extract it directly. Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct Principal {
    inner: Arc<Inner>,
}

struct Inner {
    subject: Option<String>,
    scheme: Scheme,
    scopes: Vec<String>,
    jwt: Option<JwtClaims>,
}

/// A verified JWT's claim set: the JSON as it was verified, and the map built
/// from it on first use (most requests never ask for it; issue 6).
struct JwtClaims {
    json: Box<[u8]>,
    map: OnceLock<Map<String, Value>>,
}

impl JwtClaims {
    fn map(&self) -> &Map<String, Value> {
        // The JSON passed the same strict parser when the token was verified, so
        // this cannot fail; were it to, no claims is the safe answer.
        self.map
            .get_or_init(|| crate::verify::json::parse_object(&self.json).unwrap_or_default())
    }
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.inner.subject)
            .field("scheme", &self.inner.scheme)
            .field("scopes", &self.inner.scopes)
            .field("claims", &self.claims())
            .finish()
    }
}

impl Principal {
    /// A principal; used by verifiers and by tests of handlers.
    pub fn new(subject: Option<String>, scheme: Scheme, scopes: Vec<String>) -> Self {
        Principal {
            inner: Arc::new(Inner {
                subject,
                scheme,
                scopes,
                jwt: None,
            }),
        }
    }

    /// A Bearer JWT principal: `json` is the verified claim set, `subject` its
    /// `sub`, `scopes` from the scope claim.
    pub(crate) fn from_jwt(json: Vec<u8>, subject: Option<String>, scopes: Vec<String>) -> Self {
        Principal {
            inner: Arc::new(Inner {
                subject,
                scheme: Scheme::Bearer,
                scopes,
                jwt: Some(JwtClaims {
                    json: json.into_boxed_slice(),
                    map: OnceLock::new(),
                }),
            }),
        }
    }

    /// Whether this principal came from a JWT (it has claims).
    pub(crate) fn is_jwt(&self) -> bool {
        self.inner.jwt.is_some()
    }

    /// The subject: a JWT's `sub`, a Basic user-id, or an API key's id.
    pub fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }

    /// The scheme used.
    pub fn scheme(&self) -> Scheme {
        self.inner.scheme
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// The verified JWT claims (`None` for Basic and API keys). The map is built
    /// on the first call and kept.
    pub fn claims(&self) -> Option<&Map<String, Value>> {
        self.inner.jwt.as_ref().map(JwtClaims::map)
    }

    /// The verified claims deserialized into the caller's type, straight from the
    /// verified JSON.
    ///
    /// # Errors
    ///
    /// When there are no claims or they do not fit `T`.
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.inner.jwt {
            Some(jwt) => serde_json::from_slice(&jwt.json),
            None => serde_json::from_value(Value::Object(Map::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_claims() {
        #[derive(serde::Deserialize)]
        struct Mine {
            sub: String,
        }
        let json = json!({"sub": "u1", "scope": "x", "n": {"k": [1]}});
        let p = Principal::from_jwt(
            serde_json::to_vec(&json).unwrap(),
            Some("u1".into()),
            vec!["x".into()],
        );
        assert_eq!(p.claims_as::<Mine>().unwrap().sub, "u1");
        assert_eq!(p.subject(), Some("u1"));
        assert!(p.has_scope("x"));
        assert!(p.is_jwt());
        // Built lazily, once: the same map on every call.
        let first = p.claims().unwrap() as *const Map<String, Value>;
        assert_eq!(p.claims().unwrap(), json.as_object().unwrap());
        assert!(std::ptr::eq(first, p.claims().unwrap()));
        let key = Principal::new(Some("ci".into()), Scheme::Bearer, vec![]);
        assert!(key.claims().is_none() && !key.is_jwt());
        assert!(key.claims_as::<Mine>().is_err());
    }
}
