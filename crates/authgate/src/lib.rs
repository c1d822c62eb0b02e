#![doc = include_str!("../README.md")]
//!
//! # Map of the crate
//!
//! | module | concern |
//! |---|---|
//! | [`layer`] / [`service`] / [`future`] | the Tower middleware |
//! | `credentials` | parsing `Authorization` (RFC 9110 §11.4, RFC 6750 §2, RFC 7617) |
//! | `verify` | JWT verification ([`JwtKey`], [`Algorithm`]) |
//! | [`reason`] | the reason codes, one per rejection cause |
//! | `challenge` | `WWW-Authenticate` and problem+json responses |
//! | [`event`] | the `tracing` event per rejection |
//! | [`trace`] | a request span with OpenTelemetry field names |
//! | [`metrics`] | counters, a histogram and a gauge (feature `metrics`) |
//! | [`config`] | [`AuthConfig`] and its validation |
//! | [`authorize`] | scopes and custom policies (403) |
//! | [`principal`] | the authenticated caller |
//! | [`metadata`] | protected resource metadata (RFC 9728) |
//! | [`step_up`] | step-up authentication (RFC 9470) |
//! | [`summary`] | a secret-free description of a configuration ([`AuthConfig::summary`]) |
//!
//! # Crypto backend
//!
//! Signatures are verified by [jsonwebtoken](https://docs.rs/jsonwebtoken/11)'s
//! aws-lc-rs verifiers: authgate enables jsonwebtoken's `aws_lc_rs` feature and
//! builds every verifier from `jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER`
//! itself. It never uses, installs or changes jsonwebtoken's process-wide default
//! provider, so its own verification works whatever else the process does.
//!
//! That default provider matters to the application's *own* jsonwebtoken calls
//! (`encode`, `decode`, `crypto::sign`, `crypto::verify`, JWK thumbprints). Cargo
//! unifies features, so with authgate in the dependency tree `aws_lc_rs` is on for
//! every user of jsonwebtoken 11 in the build:
//!
//! - if nothing else enables a backend, jsonwebtoken picks aws-lc-rs as the default
//!   (an application that enabled none relies on authgate for it);
//! - if the application or another dependency enables jsonwebtoken's `rust_crypto`
//!   too, both backends are compiled in and jsonwebtoken cannot choose: unless a
//!   provider was installed first, the default it settles on is a placeholder whose
//!   every signing, verifying and JWK helper panics ("Could not automatically
//!   determine the process-level CryptoProvider from jsonwebtoken crate features").
//!   The build succeeds; the panic comes at the application's first such call.
//!
//! The remedy is to choose the provider once at start-up, before anything calls
//! jsonwebtoken (the default is fixed by the first call that needs it, and
//! `install_default` succeeds only once per process):
//!
//! ```
//! // aws-lc-rs, as authgate uses; `jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER`
//! // is the other choice when that feature is enabled.
//! let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
//! ```
//!
//! Dropping `rust_crypto` from the application's jsonwebtoken features (leaving
//! aws-lc-rs alone) also works, and builds one crypto library instead of two.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authenticate;
pub mod authorize;
mod challenge;
pub mod config;
mod config_introspection;
mod credentials;
pub mod event;
pub mod explain;
pub mod future;
pub mod layer;
mod limits;
pub mod metadata;
pub mod metrics;
pub mod principal;
pub mod reason;
mod rejection;
mod revocation;
pub mod service;
mod state;
pub mod step_up;
pub mod summary;
pub mod trace;
mod verify;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod extract;

#[cfg(feature = "toml")]
mod config_file;

pub use authorize::{
    AccessRequest, AsyncPolicy, Denial, Policy, PolicyFuture, RequirePolicy, RequireScopes,
};
pub use config::{
    AuthConfig, AuthConfigBuilder, ConfigError, ConfigErrorKind, CorsPreflight, JwtConfig,
};
pub use config_introspection::IntrospectionConfig;
pub use layer::AuthLayer;
pub use limits::{LimitKey, LimitsConfig};
pub use metadata::{ProtectedResource, ProtectedResourceMetadata};
pub use principal::{Principal, Scheme};
pub use reason::Reason;
pub use rejection::{AuthRejection, RejectionResponse};
pub use revocation::Revocations;
pub use service::AuthService;
pub use state::{OnUnavailable, StateConfig};
pub use step_up::RequireAuthContext;
pub use summary::ConfigSummary;
pub use verify::basic::BasicConfig;
pub use verify::keys::{Algorithm, JwtKey, KeyType, UnknownAlgorithm};
// `AuthConfigBuilder::api_key` takes an `ApiKey`; without this re-export no user
// outside the crate could name or build one (found by tests/jwt_reasons.rs).
pub use verify::api_key::ApiKey;

// Shared across threads and tasks: checked at compile time, so a change that
// loses it fails here rather than in a user's `tokio::spawn`.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<AuthLayer>();
    send_sync::<AuthConfig>();
    send_sync::<Principal>();
    send_sync::<AuthRejection>();
    send_sync::<ConfigError>();
};

/// Entry points for the fuzz targets in `fuzz/` (not part of the API).
#[cfg(fuzzing)]
#[doc(hidden)]
#[allow(missing_docs)]
#[path = "fuzzing.rs"]
pub mod __fuzz;
