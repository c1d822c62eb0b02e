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
///
/// ```
/// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, Principal};
/// use http::{Request, Response, StatusCode, header};
/// use tower::{Layer, Service, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = b"a secret of at least 32 bytes...";
/// let cfg = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(secret)))
///     .build()?;
/// let handler = tower::service_fn(|req: Request<()>| async move {
///     let who = req.extensions().get::<Principal>().unwrap();
///     assert_eq!(who.subject(), Some("alice"));
///     assert!(who.has_scope("orders:read"));
///     Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
/// });
/// let mut svc = AuthLayer::new(cfg).layer(handler);
///
/// let claims = serde_json::json!({ "sub": "alice", "scope": "orders:read", "exp": 4_000_000_000u64 });
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
///     &claims,
///     &jsonwebtoken::EncodingKey::from_secret(secret),
/// )?;
/// let req = Request::get("/").header(header::AUTHORIZATION, format!("Bearer {token}")).body(())?;
/// assert_eq!(svc.ready().await?.call(req).await?.status(), StatusCode::OK);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Principal {
    inner: Arc<Inner>,
    /// The layer that authenticated the request, for route layers' answers
    /// (`service::context`): carried here so a request costs one extension
    /// insert, not two. Never set on principals kept in caches. Weak: a
    /// principal a handler keeps (in a task, a session) must not keep the
    /// layer's caches and key fetcher alive after the service is gone.
    pub(crate) layer: Option<std::sync::Weak<crate::authenticate::Shared>>,
}

struct Inner {
    subject: Subject,
    scheme: Scheme,
    /// Set at construction, or (JWTs) computed from the claims on first use.
    scopes: OnceLock<Vec<String>>,
    jwt: Option<JwtClaims>,
}

/// The subject: owned, or (JWTs) where it sits in the verified JSON, so a
/// request whose `sub` has no escapes allocates nothing for it.
#[derive(Debug)]
pub(crate) enum Subject {
    None,
    Owned(String),
    InJson(std::ops::Range<usize>),
}

impl Subject {
    /// `sub` as found in `json`: its place there when it is a slice of it (it
    /// had no escapes), a copy otherwise.
    pub(crate) fn locate(json: &[u8], sub: Option<&str>) -> Subject {
        let Some(sub) = sub else {
            return Subject::None;
        };
        let start = (sub.as_ptr() as usize).wrapping_sub(json.as_ptr() as usize);
        let range = start..start.wrapping_add(sub.len());
        // Compared as pointers, not only as bytes: the same text elsewhere in the
        // JSON would do too, but only a slice of `json` has this address.
        match json.get(range.clone()) {
            Some(bytes) if std::ptr::eq(bytes.as_ptr(), sub.as_ptr()) => Subject::InJson(range),
            _ => Subject::Owned(sub.to_owned()),
        }
    }
}

/// A verified JWT's claim set: the JSON as it was verified, the map built from
/// it on first use (most requests never ask for it), and the scope
/// claim path the scopes are read from when first asked for.
struct JwtClaims {
    json: Vec<u8>,
    map: OnceLock<Map<String, Value>>,
    scope_claim: Arc<str>,
}

impl JwtClaims {
    fn map(&self) -> &Map<String, Value> {
        // The JSON passed the same strict parser when the token was verified, so
        // this cannot fail; were it to, no claims is the safe answer.
        self.map
            .get_or_init(|| crate::verify::json::parse_object(&self.json).unwrap_or_default())
    }

    fn scopes(&self) -> Vec<String> {
        let root = self.scope_claim.split('.').next().unwrap_or_default();
        crate::verify::json::parse_claims(&self.json, Some(root))
            .map(|c| crate::verify::jwt::scopes_of(c.scope.as_ref(), &self.scope_claim))
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.subject())
            .field("scheme", &self.inner.scheme)
            .field("scopes", &self.scopes())
            .field("claims", &self.claims())
            .finish()
    }
}

impl Principal {
    /// A principal; used by verifiers and by tests of handlers.
    pub fn new(subject: Option<String>, scheme: Scheme, scopes: Vec<String>) -> Self {
        Principal {
            layer: None,
            inner: Arc::new(Inner {
                subject: subject.map_or(Subject::None, Subject::Owned),
                scheme,
                scopes: OnceLock::from(scopes),
                jwt: None,
            }),
        }
    }

    /// A Bearer JWT principal: `json` is the verified claim set, `subject` its
    /// `sub` claim ([`Subject::locate`]), `scope_claim` the path its scopes are
    /// read from.
    pub(crate) fn from_jwt(json: Vec<u8>, subject: Subject, scope_claim: Arc<str>) -> Self {
        Principal {
            layer: None,
            inner: Arc::new(Inner {
                subject,
                scheme: Scheme::Bearer,
                scopes: OnceLock::new(),
                jwt: Some(JwtClaims {
                    json,
                    map: OnceLock::new(),
                    scope_claim,
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
        match &self.inner.subject {
            Subject::None => None,
            Subject::Owned(s) => Some(s),
            Subject::InJson(range) => {
                let json = &self.inner.jwt.as_ref()?.json;
                std::str::from_utf8(json.get(range.clone())?).ok()
            }
        }
    }

    /// The scheme used.
    pub fn scheme(&self) -> Scheme {
        self.inner.scheme
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        self.inner.scopes.get_or_init(|| {
            self.inner
                .jwt
                .as_ref()
                .map(JwtClaims::scopes)
                .unwrap_or_default()
        })
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().iter().any(|s| s == scope)
    }

    /// The verified JWT claims (`None` for Basic and API keys). The map is built
    /// on the first call and kept.
    pub fn claims(&self) -> Option<&Map<String, Value>> {
        self.inner.jwt.as_ref().map(JwtClaims::map)
    }

    /// The verified `acr` claim (Authentication Context Class Reference, OpenID
    /// Connect Core §2, RFC 9470): how strongly the user logged in. `None` when
    /// absent or not a string, and for Basic and API-key principals.
    pub fn acr(&self) -> Option<&str> {
        self.claims()?.get("acr")?.as_str()
    }

    /// The verified `auth_time` claim: when the user last logged in, in seconds
    /// since the Unix epoch (OpenID Connect Core §2, RFC 9470). `None` when absent
    /// or not a non-negative number, and for Basic and API-key principals.
    pub fn auth_time(&self) -> Option<u64> {
        let value = self.claims()?.get("auth_time")?;
        value.as_u64().or_else(|| {
            value
                .as_f64()
                .filter(|t| t.is_finite() && *t >= 0.0 && *t < 1e15)
                // Whole seconds: a fraction never makes a login more recent.
                .map(|t| t.floor() as u64)
        })
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
        let json = json!({"sub": "u1", "scope": "x y", "n": {"k": [1]}});
        let bytes = serde_json::to_vec(&json).unwrap();
        let at = bytes.windows(2).position(|w| w == b"u1").unwrap();
        let sub = std::str::from_utf8(&bytes[at..at + 2]).unwrap();
        // A sub borrowed from the JSON...
        let subject = Subject::locate(&bytes, Some(sub));
        assert!(matches!(subject, Subject::InJson(_)));
        let p = Principal::from_jwt(bytes.clone(), subject, "scope".into());
        assert_eq!(p.claims_as::<Mine>().unwrap().sub, "u1");
        assert_eq!(p.subject(), Some("u1"));
        assert_eq!(p.scopes(), ["x", "y"]);
        assert!(p.has_scope("x") && !p.has_scope("z"));
        // ...or not (it had escapes): copied.
        let subject = Subject::locate(&bytes, Some("u1"));
        assert!(matches!(subject, Subject::Owned(_)));
        let q = Principal::from_jwt(bytes, subject, "n.k".into());
        assert_eq!(q.subject(), Some("u1"));
        assert!(q.scopes().is_empty(), "an array of numbers grants nothing");
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
