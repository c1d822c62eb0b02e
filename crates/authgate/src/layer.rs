//! [`AuthLayer`]: the one line that adds authentication to a service.

use std::sync::Arc;

use tower_layer::Layer;

use crate::authenticate::Shared;
use crate::config::AuthConfig;
use crate::service::AuthService;

/// Authenticates every request before it reaches the inner service.
///
/// Valid credentials put a [`Principal`](crate::Principal) in the request
/// extensions; anything else is answered here with the right status, challenge and
/// problem body, and one `tracing` event naming the reason. Cloning is cheap (one
/// `Arc`).
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

impl AuthLayer {
    /// Requires authentication on every request (CORS preflights excepted unless
    /// configured otherwise).
    pub fn new(cfg: AuthConfig) -> Self {
        AuthLayer {
            shared: Arc::new(Shared::new(cfg, false)),
        }
    }

    /// Optional authentication: a request *without* credentials passes on with no
    /// principal (handlers take `Option<Principal>`), while a request with bad
    /// credentials is still rejected, never let through as anonymous.
    pub fn optional(cfg: AuthConfig) -> Self {
        AuthLayer {
            shared: Arc::new(Shared::new(cfg, true)),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, Arc::clone(&self.shared))
    }
}
