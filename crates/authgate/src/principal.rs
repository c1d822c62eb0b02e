//! The authenticated caller, as handlers see it.

use std::sync::Arc;

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

#[derive(Debug)]
struct Inner {
    subject: Option<String>,
    scheme: Scheme,
    scopes: Vec<String>,
    claims: Option<Map<String, Value>>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.inner.subject)
            .field("scheme", &self.inner.scheme)
            .field("scopes", &self.inner.scopes)
            .field("claims", &self.inner.claims)
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
                claims: None,
            }),
        }
    }

    pub(crate) fn from_jwt(claims: Map<String, Value>, scope_claim: &str) -> Self {
        let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        let scopes = scopes_from(&claims, scope_claim);
        Principal {
            inner: Arc::new(Inner {
                subject,
                scheme: Scheme::Bearer,
                scopes,
                claims: Some(claims),
            }),
        }
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

    /// The verified JWT claims (`None` for Basic and API keys).
    pub fn claims(&self) -> Option<&Map<String, Value>> {
        self.inner.claims.as_ref()
    }

    /// The verified claims deserialized into the caller's type.
    ///
    /// # Errors
    ///
    /// When there are no claims or they do not fit `T`.
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let claims = self.inner.claims.as_ref().cloned().unwrap_or_default();
        serde_json::from_value(Value::Object(claims))
    }
}

/// Scopes from `path` (a claim name or a dotted path into nested objects): a
/// space-separated string (RFC 6749 §3.3: split on U+0020 only) or an array of
/// strings. Any other shape grants nothing.
pub(crate) fn scopes_from(claims: &Map<String, Value>, path: &str) -> Vec<String> {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else {
        return Vec::new();
    };
    let mut value = claims.get(first);
    for part in parts {
        value = value.and_then(|v| v.get(part));
    }
    match value {
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn scopes_from_string_array_and_path() {
        let c = map(json!({"scope": "admin  orders:read", "scp": ["a", 1, "b"],
                           "realm_access": {"roles": ["r1"]}, "tab": "admin\torders"}));
        assert_eq!(scopes_from(&c, "scope"), ["admin", "orders:read"]);
        assert_eq!(scopes_from(&c, "scp"), ["a", "b"]);
        assert_eq!(scopes_from(&c, "realm_access.roles"), ["r1"]);
        assert_eq!(scopes_from(&c, "tab"), ["admin\torders"]);
        assert!(scopes_from(&c, "missing.path").is_empty());
    }

    #[test]
    fn typed_claims() {
        #[derive(serde::Deserialize)]
        struct Mine {
            sub: String,
        }
        let p = Principal::from_jwt(map(json!({"sub": "u1", "scope": "x"})), "scope");
        assert_eq!(p.claims_as::<Mine>().unwrap().sub, "u1");
        assert_eq!(p.subject(), Some("u1"));
        assert!(p.has_scope("x"));
    }
}
