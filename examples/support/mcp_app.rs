//! The MCP server of `examples/mcp.rs`: one tool, served over Streamable HTTP by
//! the official Rust SDK (`rmcp`) at `/mcp`, behind authgate, with the protected
//! resource metadata document (RFC 9728) beside it, unauthenticated.

use authgate::{AuthConfig, AuthLayer, Principal, ProtectedResourceMetadata};
use axum::Router;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};

/// The MCP server: one tool that says who called it.
#[derive(Debug, Clone, Default)]
pub struct Tools;

#[tool_router]
impl Tools {
    /// The authenticated caller, as authgate put it in the HTTP request.
    #[tool(description = "Who am I? The subject of the access token")]
    fn whoami(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        parts
            .extensions
            .get::<Principal>()
            .and_then(Principal::subject)
            .unwrap_or("anonymous")
            .to_owned()
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("An MCP server protected by authgate")
    }
}

/// `/mcp` (MCP Streamable HTTP, behind authgate) and the metadata document at
/// the path of `[resource]` (outside it). Without `[resource]`, only `/mcp`.
pub fn router(cfg: AuthConfig) -> Router {
    let metadata = ProtectedResourceMetadata::from_config(&cfg);
    // Stateless JSON answers: every POST stands alone, which suits a layer that
    // authenticates every request.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true);
    let mcp =
        StreamableHttpService::new(|| Ok(Tools), LocalSessionManager::default().into(), config);
    let app = Router::new()
        .nest_service("/mcp", mcp)
        .layer(AuthLayer::new(cfg));
    match metadata {
        Some(metadata) => app.merge(metadata.router()),
        None => app,
    }
}
