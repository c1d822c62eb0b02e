//! An MCP server (`rmcp`, Streamable HTTP) behind authgate, through a real
//! server: the unauthenticated `initialize` gets 401 with `resource_metadata`;
//! that document names the resource and its authorization servers; a token for
//! the resource gets through `initialize` and `tools/call`; a token for another
//! resource is `audience_mismatch`.

mod common;

#[path = "../examples/support/mcp_app.rs"]
mod mcp_app;

use std::path::Path;

use authgate::AuthConfig;
use bytes::Bytes;
use common::*;
use jsonwebtoken::Algorithm as Jwa;
use serde_json::{Value, json};

const ID: &str = "http://127.0.0.1/mcp";
const ISSUER: &str = "https://id.example.com/";

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"authgate-test","version":"1.0"}}}"#;
const CALL: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;

fn config() -> AuthConfig {
    let text = format!(
        r#"
[bearer.jwt]
algorithms = ["HS256"]
issuer = "{ISSUER}"
[[bearer.jwt.keys]]
secret_env = "MCP_TEST_SECRET"

[resource]
id = "{ID}"
authorization_servers = ["{ISSUER}"]
scopes_supported = ["tools"]
name = "authgate MCP example"
"#
    );
    let env = |name: &str| (name == "MCP_TEST_SECRET").then(|| HS_SECRET_STR.to_owned());
    AuthConfig::from_toml_str_with_env(&text, Path::new("."), &env).unwrap()
}

fn token_for(aud: &str) -> String {
    mint(
        Jwa::HS256,
        None,
        &json!({ "iss": ISSUER, "aud": aud, "sub": "mcp-user", "exp": now() + 600 }),
    )
}

async fn post(addr: std::net::SocketAddr, body: &str, extra: &[(&str, Vec<u8>)]) -> Resp {
    let mut headers = vec![
        ("content-type", b"application/json".to_vec()),
        ("accept", b"application/json, text/event-stream".to_vec()),
    ];
    headers.extend(extra.iter().cloned());
    request(
        addr,
        http::Method::POST,
        "/mcp",
        &hdrs(&headers),
        Bytes::from(body.to_owned()),
    )
    .await
}

/// A JSON-RPC answer: a JSON body, or the first `data:` of an SSE stream.
fn rpc(resp: &Resp) -> Value {
    let text = resp.text();
    if let Ok(v) = serde_json::from_str(&text) {
        return v;
    }
    let data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| !d.is_empty())
        .unwrap_or_else(|| panic!("no JSON-RPC answer in {text:?}"));
    serde_json::from_str(data).unwrap()
}

#[tokio::test]
async fn an_mcp_client_discovers_and_gets_through() {
    let (cap, _guard) = capture();
    let addr = serve(mcp_app::router(config())).await;

    // 1. initialize without a token: 401 pointing at the metadata (RFC 9728 §5.1).
    let resp = post(addr, INITIALIZE, &[]).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    let challenges = resp.challenges();
    assert_eq!(challenges.len(), 1);
    let (scheme, params) = &challenges[0];
    assert_eq!(scheme, "Bearer");
    let url = param(params, "resource_metadata").expect("resource_metadata");
    assert_eq!(
        url,
        "http://127.0.0.1/.well-known/oauth-protected-resource/mcp"
    );

    // 2. The document at that URL (its path, on this server): the resource is the
    //    identifier (RFC 9728 §3.3), the authorization servers the configured ones.
    let path = url.strip_prefix("http://127.0.0.1").unwrap();
    let doc = get(addr, path, &[]).await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["resource"], ID);
    assert_eq!(doc["authorization_servers"], json!([ISSUER]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));

    // 3. A token for this resource: initialize and tools/call go through.
    let ok = bearer(&token_for(ID));
    let resp = post(addr, INITIALIZE, std::slice::from_ref(&ok)).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let init = rpc(&resp);
    assert_eq!(init["id"], 1);
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    let mut call_headers = vec![ok.clone(), ("mcp-protocol-version", b"2025-06-18".to_vec())];
    if let Some(session) = resp.header("mcp-session-id") {
        call_headers.push(("mcp-session-id", session.into_bytes()));
    }
    let resp = post(addr, CALL, &call_headers).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let call = rpc(&resp);
    assert_eq!(call["id"], 2, "{call}");
    assert_eq!(call["result"]["content"][0]["text"], "mcp-user", "{call}");

    // 4. A token for another resource: audience_mismatch.
    cap.clear();
    let other = bearer(&token_for("https://other.example.com/mcp"));
    let resp = post(addr, INITIALIZE, &[other]).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["reason"], "audience_mismatch");
    let (_, params) = &resp.challenges()[0];
    assert_eq!(param(params, "error"), Some("invalid_token"));
    assert!(param(params, "resource_metadata").is_some());
    let ev = cap.one_authgate_event();
    assert_eq!(fields(&ev)["auth.expected"], ID);
}
