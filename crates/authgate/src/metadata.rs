//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the [`ProtectedResource`]
//! configuration and the [`ProtectedResourceMetadata`] service that serves its
//! document.
//!
//! A client that gets a 401 from a protected resource learns from the challenge's
//! `resource_metadata` parameter (RFC 9728 §5.1) where the resource describes
//! itself, fetches that document, and finds there the authorization servers that
//! issue tokens for it (§2). MCP clients are required to discover authorization
//! this way.
//!
//! With a [`ProtectedResource`] in the configuration
//! ([`AuthConfigBuilder::resource`](crate::AuthConfigBuilder::resource), or
//! `[resource]` in TOML):
//!
//! - every Bearer challenge on a 401 carries
//!   `resource_metadata="<origin>/.well-known/oauth-protected-resource<path>"`,
//!   the well-known segment inserted between the identifier's host and its path
//!   (RFC 9728 §3.1);
//! - the resource identifier is an accepted audience (`aud`) of JWTs, besides the
//!   configured ones (RFC 8707 §2: a token requested for this resource names it);
//! - [`ProtectedResourceMetadata`] serves the document. Mount it *outside* the
//!   auth layer: clients fetch it before they have a token.

use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use tower_service::Service;

use crate::config::ConfigError;

/// The well-known URI suffix of RFC 9728 §3 (registered in §8.3).
pub const WELL_KNOWN_SUFFIX: &str = "oauth-protected-resource";

/// How long clients and caches may keep the document: `Cache-Control: public,
/// max-age=3600`.
const CACHE_CONTROL_VALUE: &str = "public, max-age=3600";

/// A protected resource as RFC 9728 describes it: its identifier (RFC 8707), the
/// authorization servers that issue tokens for it, and what a client may want to
/// know before asking them for one.
///
/// Built like a tower-http configuration: [`ProtectedResource::new`] and chained
/// methods; it is checked when the [`AuthConfig`](crate::AuthConfig) is built.
/// The TOML form is the `[resource]` table:
///
/// ```toml
/// [resource]
/// id = "https://api.example.com/mcp"
/// authorization_servers = ["https://id.example.com/"]
/// scopes_supported = ["orders:read", "admin"]   # optional
/// name = "Orders API"                           # optional
/// documentation = "https://docs.example.com/"   # optional
/// jwks_uri = "https://api.example.com/jwks.json" # optional: the resource's own keys
/// ```
///
/// ```
/// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, ProtectedResource};
/// use http::{Request, Response, StatusCode, header};
/// use tower::{Layer, Service, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let ok = || tower::service_fn(|_req: Request<()>| async {
/// #     Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
/// # });
/// let cfg = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(b"a secret of at least 32 bytes...")))
///     .resource(
///         ProtectedResource::new("https://api.example.com/mcp")
///             .authorization_server("https://id.example.com/")
///             .scopes_supported(["tools:call"])
///             .name("Example MCP server"),
///     )
///     .build()?;
/// let resource = cfg.resource().unwrap();
/// assert_eq!(
///     resource.metadata_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// assert_eq!(resource.metadata_path(), "/.well-known/oauth-protected-resource/mcp");
///
/// // Every 401 tells the client where to look (RFC 9728 §5.1).
/// let mut svc = AuthLayer::new(cfg).layer(ok());
/// let res = svc.ready().await?.call(Request::new(())).await?;
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(
///     res.headers()[header::WWW_AUTHENTICATE],
///     r#"Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct ProtectedResource {
    pub(crate) id: String,
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) documentation: Option<String>,
    pub(crate) jwks_uri: Option<String>,
    /// Computed by [`ProtectedResource::check`].
    metadata_url: String,
    metadata_path: String,
}

impl fmt::Debug for ProtectedResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nothing here is secret: every member is published in the document.
        f.debug_struct("ProtectedResource")
            .field("id", &self.id)
            .field("authorization_servers", &self.authorization_servers)
            .field("scopes_supported", &self.scopes_supported)
            .field("name", &self.name)
            .field("documentation", &self.documentation)
            .field("jwks_uri", &self.jwks_uri)
            .finish()
    }
}

impl ProtectedResource {
    /// A resource with this identifier (RFC 8707 §2, RFC 9728 §1.2): an absolute
    /// `https://` URL (or `http://` to a loopback host, for local development)
    /// without a fragment, e.g. `https://api.example.com/mcp`. It is what clients
    /// ask tokens for (the `resource` parameter) and becomes an accepted audience.
    pub fn new(id: impl Into<String>) -> Self {
        ProtectedResource {
            id: id.into(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            name: None,
            documentation: None,
            jwks_uri: None,
            metadata_url: String::new(),
            metadata_path: String::new(),
        }
    }

    /// Adds an authorization server (its issuer identifier, RFC 8414) whose tokens
    /// this resource accepts. At least one is required.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Adds several authorization servers (see
    /// [`authorization_server`](Self::authorization_server)).
    pub fn authorization_servers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorization_servers
            .extend(issuers.into_iter().map(Into::into));
        self
    }

    /// The scopes a client may request for this resource (`scopes_supported`).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// A human-readable name (`resource_name`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A page of documentation for developers (`resource_documentation`).
    pub fn documentation(mut self, url: impl Into<String>) -> Self {
        self.documentation = Some(url.into());
        self
    }

    /// The URL of the resource's *own* JWK Set (`jwks_uri`, RFC 9728 §2: keys the
    /// resource signs its responses with). Not the authorization server's keys:
    /// clients find those through the authorization server's metadata.
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// The resource identifier.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the metadata document is published (RFC 9728 §3.1): the identifier's
    /// origin, then `/.well-known/oauth-protected-resource`, then the identifier's
    /// path and query (a lone `/` path is dropped). Empty until the configuration
    /// is built.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path (and query) part of [`metadata_url`](Self::metadata_url), where a
    /// router mounts [`ProtectedResourceMetadata`].
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// Validates every member and computes the metadata URL.
    pub(crate) fn check(&mut self) -> Result<(), ConfigError> {
        let id = check_url(&self.id, "resource.id")?;
        if self.authorization_servers.is_empty() {
            return Err(ConfigError::new(
                "resource.authorization_servers",
                "at least one authorization server (its issuer URL) is required, so that clients know where to get a token (RFC 9728 §2); ProtectedResource::authorization_server",
            ));
        }
        for (i, server) in self.authorization_servers.iter().enumerate() {
            check_url(server, &format!("resource.authorization_servers[{i}]"))?;
        }
        if let Some(url) = &self.documentation {
            check_url(url, "resource.documentation")?;
        }
        if let Some(url) = &self.jwks_uri {
            check_url(url, "resource.jwks_uri")?;
        }
        for (i, scope) in self.scopes_supported.iter().enumerate() {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
            if scope.is_empty()
                || !scope
                    .bytes()
                    .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
            {
                return Err(ConfigError::new(
                    format!("resource.scopes_supported[{i}]"),
                    "a scope is a non-empty run of visible ASCII characters other than '\"' and '\\' (RFC 6749 §3.3)",
                ));
            }
        }
        if self.name.as_deref().is_some_and(str::is_empty) {
            return Err(ConfigError::new(
                "resource.name",
                "empty; leave it out, or give the resource a human-readable name",
            ));
        }
        let (url, path) = metadata_location(&id);
        self.metadata_url = url;
        self.metadata_path = path;
        Ok(())
    }

    /// The metadata document (RFC 9728 §2), members in a fixed order.
    fn document(&self) -> Bytes {
        let mut doc = serde_json::Map::new();
        doc.insert("resource".into(), self.id.clone().into());
        doc.insert(
            "authorization_servers".into(),
            self.authorization_servers.clone().into(),
        );
        if !self.scopes_supported.is_empty() {
            doc.insert(
                "scopes_supported".into(),
                self.scopes_supported.clone().into(),
            );
        }
        // RFC 6750 §2.1 only: tokens in a form body or the query are refused.
        doc.insert("bearer_methods_supported".into(), vec!["header"].into());
        if let Some(name) = &self.name {
            doc.insert("resource_name".into(), name.clone().into());
        }
        if let Some(url) = &self.documentation {
            doc.insert("resource_documentation".into(), url.clone().into());
        }
        if let Some(url) = &self.jwks_uri {
            doc.insert("jwks_uri".into(), url.clone().into());
        }
        // Serializing a map of strings cannot fail.
        Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
    }
}

/// RFC 9728 §3.1: the well-known segment goes between the host and the path; a
/// terminating `/` after the host is removed first.
fn metadata_location(id: &Uri) -> (String, String) {
    // `http::Uri` gives "/" for an empty path too.
    let path = match id.path() {
        "/" => "",
        path => path,
    };
    let mut tail = format!("/.well-known/{WELL_KNOWN_SUFFIX}{path}");
    if let Some(query) = id.query() {
        tail.push('?');
        tail.push_str(query);
    }
    let scheme = id.scheme_str().unwrap_or("https");
    let authority = id.authority().map_or("", |a| a.as_str());
    (format!("{scheme}://{authority}{tail}"), tail)
}

/// An `https://` URL, or `http://` to a loopback host; no fragment, no
/// user-info, nothing that cannot sit inside a quoted challenge parameter.
/// Messages never repeat the value.
fn check_url(url: &str, key: &str) -> Result<Uri, ConfigError> {
    let bad = |why: &str| ConfigError::new(key, why.to_owned());
    if url.contains('#') {
        return Err(bad(
            "the URL has a fragment (`#…`); a resource identifier must not have one (RFC 8707 §2): remove it",
        ));
    }
    if !url
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        return Err(bad(
            "the URL holds a space, a control, a quote, a backslash or a non-ASCII character; percent-encode it (RFC 3986)",
        ));
    }
    let uri: Uri = url.parse().map_err(|_| {
        bad("not a valid absolute URL (RFC 3986); expected e.g. https://api.example.com/")
    })?;
    let host = uri.host().unwrap_or_default();
    if host.is_empty() {
        return Err(bad(
            "the URL has no host; expected e.g. https://api.example.com/",
        ));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(bad("the URL has user-info (`user@`); remove it"));
    }
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if is_loopback(host) => {}
        Some("http") => {
            return Err(bad(
                "plain http:// is accepted only for loopback hosts; use https://",
            ));
        }
        _ => return Err(bad("the URL must start with https://")),
    }
    Ok(uri)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A tower [`Service`] answering with a resource's metadata document (RFC 9728
/// §2): `GET` and `HEAD` get `200`, `Content-Type: application/json` and
/// `Cache-Control: public, max-age=3600`; any other method gets `405` with
/// `Allow: GET, HEAD`. The document is rendered once, at construction; cloning
/// is cheap.
///
/// It answers whatever path it is called with: mount it at
/// [`ProtectedResource::metadata_path`], *outside* the auth layer (a client
/// fetches it before it has a token). With the `axum` feature,
/// [`router`](Self::router) does that.
///
/// In a plain hyper service:
///
/// ```
/// use authgate::{Algorithm, AuthConfig, JwtConfig, JwtKey, ProtectedResource, ProtectedResourceMetadata};
/// use http::{Request, StatusCode, header};
/// use http_body_util::BodyExt;
/// use tower::{Service, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cfg = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(b"a secret of at least 32 bytes...")))
///     .resource(ProtectedResource::new("https://api.example.com/").authorization_server("https://id.example.com/"))
///     .build()?;
/// let mut metadata = ProtectedResourceMetadata::from_config(&cfg).unwrap();
/// let path = cfg.resource().unwrap().metadata_path();
/// assert_eq!(path, "/.well-known/oauth-protected-resource");
///
/// // In the hyper service: `if req.uri().path() == path { return metadata.call(req).await }`
/// let req = Request::get(path).body(())?;
/// let res = ServiceExt::<Request<()>>::ready(&mut metadata).await?.call(req).await?;
/// assert_eq!(res.status(), StatusCode::OK);
/// assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
/// let doc: serde_json::Value = serde_json::from_slice(&res.into_body().collect().await?.to_bytes())?;
/// assert_eq!(doc["resource"], "https://api.example.com/");
/// assert_eq!(doc["authorization_servers"][0], "https://id.example.com/");
/// assert_eq!(doc["bearer_methods_supported"][0], "header");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ProtectedResourceMetadata {
    document: Bytes,
    path: String,
}

impl fmt::Debug for ProtectedResourceMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedResourceMetadata")
            .field("path", &self.path)
            .field("len", &self.document.len())
            .finish()
    }
}

impl ProtectedResourceMetadata {
    /// The service for a resource taken from a built configuration
    /// ([`AuthConfig::resource`](crate::AuthConfig::resource)).
    pub fn new(resource: &ProtectedResource) -> Self {
        ProtectedResourceMetadata {
            document: resource.document(),
            path: resource.metadata_path.clone(),
        }
    }

    /// The service for the configuration's resource; `None` without one.
    pub fn from_config(cfg: &crate::AuthConfig) -> Option<Self> {
        cfg.resource().map(Self::new)
    }

    /// The JSON document it serves.
    pub fn document(&self) -> &[u8] {
        &self.document
    }

    /// Where it belongs: [`ProtectedResource::metadata_path`].
    pub fn path(&self) -> &str {
        &self.path
    }

    fn respond(&self, method: &Method) -> Response<MetadataBody> {
        let mut res = Response::new(MetadataBody(None));
        if method != Method::GET && method != Method::HEAD {
            *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return res;
        }
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(self.document.len()));
        if method == Method::GET {
            *res.body_mut() = MetadataBody(Some(self.document.clone()));
        }
        res
    }

    /// An axum router serving the document at
    /// [`ProtectedResource::metadata_path`]; merge it into the application
    /// *outside* the auth layer:
    ///
    /// ```
    /// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, ProtectedResource, ProtectedResourceMetadata};
    /// use axum::{Router, routing::get};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let cfg = AuthConfig::builder()
    ///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(b"a secret of at least 32 bytes...")))
    ///     .resource(ProtectedResource::new("https://api.example.com/mcp").authorization_server("https://id.example.com/"))
    ///     .build()?;
    /// let metadata = ProtectedResourceMetadata::from_config(&cfg).unwrap();
    /// let app: Router = Router::new()
    ///     .route("/mcp", get(|| async { "tools" }))
    ///     .layer(AuthLayer::new(cfg))
    ///     .merge(metadata.router());
    /// # let _ = app;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        axum::Router::new().route_service(&self.path, self.clone())
    }
}

impl<B> Service<Request<B>> for ProtectedResourceMetadata {
    type Response = Response<MetadataBody>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(self.respond(req.method())))
    }
}

/// The body of a [`ProtectedResourceMetadata`] response: the document, or
/// nothing (`HEAD`, `405`).
#[derive(Debug, Clone)]
pub struct MetadataBody(Option<Bytes>);

impl Body for MetadataBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |d| d.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(id: &str) -> Result<ProtectedResource, ConfigError> {
        let mut r = ProtectedResource::new(id).authorization_server("https://id.example.com/");
        r.check().map(|()| r)
    }

    #[test]
    fn well_known_segment_goes_between_host_and_path() {
        for (id, url) in [
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/mcp",
                "https://api.example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://api.example.com:8443/a/b/",
                "https://api.example.com:8443/.well-known/oauth-protected-resource/a/b/",
            ),
            (
                "http://127.0.0.1:9000/mcp?tenant=1",
                "http://127.0.0.1:9000/.well-known/oauth-protected-resource/mcp?tenant=1",
            ),
        ] {
            assert_eq!(checked(id).unwrap().metadata_url(), url, "{id}");
        }
    }

    #[test]
    fn identifiers_are_checked() {
        for (id, words) in [
            ("https://api.example.com/#top", "fragment"),
            ("http://api.example.com/", "loopback"),
            ("ftp://api.example.com/", "https://"),
            ("/mcp", "no host"),
            ("https://u@api.example.com/", "user-info"),
            ("https://api.example.com/a\"b", "quote"),
        ] {
            let e = checked(id).unwrap_err();
            assert_eq!(e.key(), "resource.id", "{id}");
            assert!(e.message().contains(words), "{id}: {e}");
        }
        assert!(checked("http://localhost:3000/mcp").is_ok());
        assert!(checked("http://[::1]:3000/").is_ok());
        let mut none = ProtectedResource::new("https://api.example.com/");
        assert_eq!(
            none.check().unwrap_err().key(),
            "resource.authorization_servers"
        );
        let mut bad_server =
            ProtectedResource::new("https://a.example/").authorization_server("http://id.example/");
        assert_eq!(
            bad_server.check().unwrap_err().key(),
            "resource.authorization_servers[0]"
        );
        let mut bad_scope = ProtectedResource::new("https://a.example/")
            .authorization_server("https://id.example/")
            .scopes_supported(["ok", "two words"]);
        assert_eq!(
            bad_scope.check().unwrap_err().key(),
            "resource.scopes_supported[1]"
        );
    }

    #[test]
    fn document_members() {
        let mut r = ProtectedResource::new("https://api.example.com/mcp")
            .authorization_servers(["https://id.example.com/", "https://id2.example.com/"])
            .scopes_supported(["a", "b"])
            .name("Orders \"API\"")
            .documentation("https://docs.example.com/")
            .jwks_uri("https://api.example.com/jwks.json");
        r.check().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&r.document()).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "resource": "https://api.example.com/mcp",
                "authorization_servers": ["https://id.example.com/", "https://id2.example.com/"],
                "scopes_supported": ["a", "b"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Orders \"API\"",
                "resource_documentation": "https://docs.example.com/",
                "jwks_uri": "https://api.example.com/jwks.json",
            })
        );
        let mut bare = ProtectedResource::new("https://api.example.com/")
            .authorization_server("https://id.example.com/");
        bare.check().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&bare.document()).unwrap();
        assert_eq!(doc.as_object().unwrap().len(), 3, "{doc}");
    }

    #[test]
    fn methods() {
        let mut r = ProtectedResource::new("https://api.example.com/")
            .authorization_server("https://id.example.com/");
        r.check().unwrap();
        let svc = ProtectedResourceMetadata::new(&r);
        let get = svc.respond(&Method::GET);
        assert_eq!(get.status(), 200);
        assert_eq!(get.headers()[CACHE_CONTROL], "public, max-age=3600");
        assert!(get.body().0.is_some());
        let head = svc.respond(&Method::HEAD);
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()[CONTENT_LENGTH],
            svc.document().len().to_string().as_str()
        );
        assert!(head.body().0.is_none());
        let post = svc.respond(&Method::POST);
        assert_eq!(post.status(), 405);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
    }
}
