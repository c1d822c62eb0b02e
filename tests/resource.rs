//! Protected resource metadata (RFC 9728) through real servers: the
//! `resource_metadata` parameter of every Bearer challenge on a 401, the document
//! at the URL it names (axum and plain hyper), the resource identifier as an
//! accepted audience, and `scope` on the 401 of a route that requires scopes
//! (RFC 6750 §3).

mod common;

use std::path::Path;

use authgate::{
    AuthConfig, AuthLayer, JwtConfig, JwtKey, Principal, ProtectedResource,
    ProtectedResourceMetadata, RequireScopes,
};
use axum::Router;
use axum::routing::get as route_get;
use bytes::Bytes;
use common::*;
use jsonwebtoken::Algorithm as Jwa;
use serde_json::json;

const ID: &str = "https://api.example.com/mcp";
const METADATA_URL: &str = "https://api.example.com/.well-known/oauth-protected-resource/mcp";
const METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

fn toml_config() -> AuthConfig {
    let text = r#"
realm = "api"
[bearer.jwt]
algorithms = ["HS256"]
issuer = "https://id.example.com/"
audience = "orders-api"
[[bearer.jwt.keys]]
secret_env = "RESOURCE_TEST_SECRET"

[resource]
id = "https://api.example.com/mcp"
authorization_servers = ["https://id.example.com/", "https://id2.example.com/"]
scopes_supported = ["tools:call", "admin"]
name = "Example tools"
documentation = "https://docs.example.com/"
"#;
    let env = |name: &str| (name == "RESOURCE_TEST_SECRET").then(|| HS_SECRET_STR.to_owned());
    AuthConfig::from_toml_str_with_env(text, Path::new("."), &env).expect("config")
}

fn token(aud: serde_json::Value, scope: &str) -> String {
    mint(
        Jwa::HS256,
        None,
        &json!({
            "iss": "https://id.example.com/",
            "sub": "alice",
            "aud": aud,
            "scope": scope,
            "exp": now() + 600,
        }),
    )
}

async fn whoami(p: Principal) -> String {
    p.subject().unwrap_or_default().to_owned()
}

fn app(cfg: AuthConfig) -> Router {
    let metadata = ProtectedResourceMetadata::from_config(&cfg).expect("resource configured");
    Router::new()
        .route("/mcp", route_get(whoami).post(whoami))
        .layer(AuthLayer::new(cfg))
        .merge(metadata.router())
}

/// The one Bearer challenge of a response, strictly parsed.
fn bearer_params(resp: &Resp) -> Vec<(String, String)> {
    let challenges = resp.challenges();
    let mut bearer = challenges
        .into_iter()
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    let (_, params) = bearer.next().expect("a Bearer challenge");
    assert!(bearer.next().is_none(), "one Bearer challenge");
    params
}

fn names(params: &[(String, String)]) -> Vec<&str> {
    params.iter().map(|(n, _)| n.as_str()).collect()
}

#[tokio::test]
async fn a_401_points_at_the_document_which_names_the_resource() {
    let addr = serve(app(toml_config())).await;

    // No credentials: the plain challenge plus resource_metadata (RFC 9728 §5.1).
    let resp = get(addr, "/mcp", &[]).await;
    assert_eq!(resp.status, 401);
    let params = bearer_params(&resp);
    assert_eq!(names(&params), ["realm", "resource_metadata"]);
    let url = param(&params, "resource_metadata").unwrap();
    assert_eq!(url, METADATA_URL);

    // A bad token: invalid_token, and still resource_metadata.
    let resp = get(addr, "/mcp", &hdrs(&[bearer("a.b.c")])).await;
    assert_eq!(resp.status, 401);
    let params = bearer_params(&resp);
    assert_eq!(
        names(&params),
        ["realm", "error", "error_description", "resource_metadata"]
    );
    assert_eq!(param(&params, "resource_metadata"), Some(METADATA_URL));

    // A 400 is not a 401: no resource_metadata there.
    let resp = get(addr, "/mcp", &[("authorization", b"Bearer a b")]).await;
    assert_eq!(resp.status, 400);
    assert_eq!(
        names(&bearer_params(&resp)),
        ["realm", "error", "error_description"]
    );

    // The document, fetched (unauthenticated) at the path of the URL: its
    // `resource` equals the identifier (RFC 9728 §3.3).
    let path = url.strip_prefix("https://api.example.com").unwrap();
    assert_eq!(path, METADATA_PATH);
    let doc = get(addr, path, &[]).await;
    assert_eq!(doc.status, 200, "{}", doc.text());
    assert_eq!(
        doc.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        doc.header("cache-control").as_deref(),
        Some("public, max-age=3600")
    );
    assert!(doc.www_authenticate().is_empty());
    assert_eq!(
        doc.json(),
        json!({
            "resource": ID,
            "authorization_servers": ["https://id.example.com/", "https://id2.example.com/"],
            "scopes_supported": ["tools:call", "admin"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Example tools",
            "resource_documentation": "https://docs.example.com/",
        })
    );
    let head = request(addr, http::Method::HEAD, path, &[], Bytes::new()).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = request(addr, http::Method::POST, path, &[], Bytes::new()).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow").as_deref(), Some("GET, HEAD"));
}

#[tokio::test]
async fn the_resource_identifier_is_an_accepted_audience() {
    let (cap, _guard) = capture();
    let addr = serve(app(toml_config())).await;
    for aud in [json!(ID), json!("orders-api"), json!(["other", ID])] {
        let resp = get(addr, "/mcp", &hdrs(&[bearer(&token(aud.clone(), ""))])).await;
        assert_eq!(resp.status, 200, "aud {aud}: {}", resp.text());
        assert_eq!(resp.text(), "alice");
    }
    cap.clear();
    let resp = get(
        addr,
        "/mcp",
        &hdrs(&[bearer(&token(json!("https://other.example.com/mcp"), ""))]),
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["reason"], "audience_mismatch");
    let ev = cap.one_authgate_event();
    let expected = fields(&ev)["auth.expected"].as_str().unwrap().to_owned();
    assert!(
        expected.contains(ID) && expected.contains("orders-api"),
        "{expected}"
    );
}

#[tokio::test]
async fn the_document_in_a_plain_hyper_service() {
    let cfg = AuthConfig::builder()
        .jwt(JwtConfig::new([authgate::Algorithm::HS256]).key(JwtKey::hmac(HS_SECRET)))
        .resource(
            ProtectedResource::new("http://127.0.0.1:9/")
                .authorization_server("http://127.0.0.1:10/")
                .jwks_uri("http://127.0.0.1:9/jwks.json"),
        )
        .build()
        .unwrap();
    let resource = cfg.resource().unwrap();
    assert_eq!(
        resource.metadata_url(),
        "http://127.0.0.1:9/.well-known/oauth-protected-resource"
    );
    let svc = ProtectedResourceMetadata::new(resource);
    let addr = serve_hyper(svc).await;
    let doc = get(addr, "/.well-known/oauth-protected-resource", &[]).await;
    assert_eq!(doc.status, 200);
    assert_eq!(
        doc.json(),
        json!({
            "resource": "http://127.0.0.1:9/",
            "authorization_servers": ["http://127.0.0.1:10/"],
            "bearer_methods_supported": ["header"],
            "jwks_uri": "http://127.0.0.1:9/jwks.json",
        })
    );
    assert_eq!(
        doc.header("content-length").as_deref(),
        Some(doc.body.len().to_string().as_str())
    );
}

/// Behind `AuthLayer::optional`, a request without credentials reaches the route
/// layer, whose 401 names the scopes the route needs (RFC 6750 §3).
#[tokio::test]
async fn the_401_of_a_scoped_route_names_its_scope() {
    let (cap, _guard) = capture();
    let cfg = AuthConfig::builder()
        .jwt(
            JwtConfig::new([authgate::Algorithm::HS256])
                .key(JwtKey::hmac(HS_SECRET))
                .issuer("https://id.example.com/")
                .audience("orders-api"),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/api/admin",
            route_get(whoami).layer(RequireScopes::all(["admin", "orders:write"])),
        )
        .route(
            "/api/open",
            route_get(|p: Option<Principal>| async move {
                p.and_then(|p| p.subject().map(str::to_owned))
                    .unwrap_or_else(|| "anonymous".into())
            }),
        )
        .layer(AuthLayer::optional(cfg));
    let addr = serve(app).await;

    let resp = get(addr, "/api/admin", &[]).await;
    assert_eq!(resp.status, 401);
    let params = bearer_params(&resp);
    assert_eq!(names(&params), ["realm", "scope"]);
    assert_eq!(param(&params, "scope"), Some("admin orders:write"));
    assert_eq!(resp.json()["reason"], "missing_credentials");
    let ev = cap.one_authgate_event();
    assert_eq!(fields(&ev)["auth.required_scopes"], "admin orders:write");

    // Routes without a scope requirement are untouched.
    assert_eq!(get(addr, "/api/open", &[]).await.text(), "anonymous");

    // The 403 keeps its insufficient_scope challenge and scope.
    let resp = get(
        addr,
        "/api/admin",
        &hdrs(&[bearer(&token(json!("orders-api"), "admin"))]),
    )
    .await;
    assert_eq!(resp.status, 403);
    let params = bearer_params(&resp);
    assert_eq!(param(&params, "error"), Some("insufficient_scope"));
    assert_eq!(param(&params, "scope"), Some("admin orders:write"));
}

/// With a resource configured, the route layer's own 401 carries both `scope` and
/// `resource_metadata`.
#[tokio::test]
async fn scope_and_resource_metadata_together() {
    let cfg = toml_config();
    let metadata = ProtectedResourceMetadata::from_config(&cfg).unwrap();
    let app = Router::new()
        .route(
            "/mcp",
            route_get(whoami).layer(RequireScopes::any(["tools:call"])),
        )
        .layer(AuthLayer::optional(cfg))
        .merge(metadata.router());
    let addr = serve(app).await;
    let resp = get(addr, "/mcp", &[]).await;
    assert_eq!(resp.status, 401);
    let params = bearer_params(&resp);
    assert_eq!(names(&params), ["realm", "scope", "resource_metadata"]);
    assert_eq!(param(&params, "scope"), Some("tools:call"));
    assert_eq!(param(&params, "resource_metadata"), Some(METADATA_URL));
    // The document needs no credentials even behind an optional layer's router.
    assert_eq!(get(addr, METADATA_PATH, &[]).await.status, 200);
}
