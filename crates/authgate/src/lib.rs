#![doc = include_str!("../README.md")]
//!
//! # Map of the crate
//!
//! | module | concern |
//! |---|---|
//! | [`layer`] / [`service`] / [`future`] | the Tower middleware |
//! | `credentials` | parsing `Authorization` (RFC 9110 §11.4, RFC 6750 §2, RFC 7617) |
//! | `verify` | JWT verification ([`JwtKey`], [`Algorithm`]) |
//! | [`reason`] | the reason codes of SPEC §2 |
//! | `challenge` | `WWW-Authenticate` and problem+json responses |
//! | [`event`] | the `tracing` event per rejection |
//! | [`config`] | [`AuthConfig`] and its validation |
//! | [`authorize`] | scopes and custom policies (403) |
//! | [`principal`] | the authenticated caller |
//! | [`summary`] | a secret-free description of a configuration ([`AuthConfig::summary`]) |
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authenticate;
pub mod authorize;
mod challenge;
pub mod config;
mod credentials;
pub mod event;
pub mod explain;
pub mod future;
pub mod layer;
pub mod principal;
pub mod reason;
mod rejection;
pub mod service;
pub mod summary;
mod verify;

#[cfg(feature = "axum")]
pub mod extract;

#[cfg(feature = "toml")]
mod config_file;

pub use authorize::{AccessRequest, Denial, Policy, RequirePolicy, RequireScopes};
pub use config::{AuthConfig, AuthConfigBuilder, ConfigError, CorsPreflight, JwtConfig};
pub use layer::AuthLayer;
pub use principal::{Principal, Scheme};
pub use reason::Reason;
pub use rejection::AuthRejection;
pub use service::AuthService;
pub use summary::ConfigSummary;
pub use verify::basic::BasicConfig;
pub use verify::keys::{Algorithm, JwtKey, KeyType, UnknownAlgorithm};
// `AuthConfigBuilder::api_key` takes an `ApiKey`; without this re-export no user
// outside the crate could name or build one (found by tests/jwt_reasons.rs).
pub use verify::api_key::ApiKey;

/// Entry points for the fuzz targets in `fuzz/`, compiled only with `--cfg fuzzing`
/// (which `cargo fuzz` sets). Not part of the API: no stability promise, absent
/// from every normal build, hidden from the documentation.
#[cfg(fuzzing)]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod __fuzz {
    use http::HeaderValue;

    /// The strict JOSE header parser (RFC 7515 §4); `true` when it accepts `bytes`.
    pub fn jose_header(bytes: &[u8]) -> bool {
        crate::verify::json::parse_header(bytes).is_ok()
    }

    /// The strict claim-set parser (RFC 7519 §4), keeping `scope` whole.
    pub fn claims(bytes: &[u8], scope: Option<&str>) -> bool {
        crate::verify::json::parse_claims(bytes, scope).is_ok()
    }

    /// The strict whole-object parser (behind `Principal::claims`).
    pub fn object(bytes: &[u8]) -> bool {
        crate::verify::json::parse_object(bytes).is_ok()
    }

    /// One `Authorization` value: the decoded Basic user-id and password, or `None`
    /// when it is anything else (Bearer, malformed, another scheme).
    pub fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
        match crate::credentials::parse_value(value) {
            crate::credentials::Credentials::Basic(c) => Some((c.user, c.password)),
            _ => None,
        }
    }

    /// The remote JWK Set parser: the keys kept, or `None` when the body is refused.
    #[cfg(feature = "jwks")]
    pub fn remote_jwk_set(body: &[u8]) -> Option<Vec<crate::JwtKey>> {
        crate::verify::remote::fuzz_parse_jwk_set(body)
    }
}
