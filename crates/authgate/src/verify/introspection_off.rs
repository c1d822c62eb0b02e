//! Stand-in for token introspection when the `introspection` feature is off: the
//! type has no values (configurations with introspection are refused at build
//! time), so callers need no `cfg` of their own.

use std::convert::Infallible;
use std::sync::Arc;

use crate::config::{AuthConfig, ConfigError};
use crate::principal::Principal;
use crate::rejection::Failure;

/// Uninhabited without the `introspection` feature.
#[derive(Debug)]
pub(crate) struct Introspector(Infallible);

impl Introspector {
    pub(crate) fn new(_cfg: &AuthConfig) -> Result<Option<Arc<Self>>, ConfigError> {
        Ok(None)
    }
    pub(crate) fn cached(&self, _token: &str) -> Option<Result<Principal, Failure>> {
        match self.0 {}
    }
    pub(crate) async fn introspect(self: Arc<Self>, _token: String) -> Result<Principal, Failure> {
        match self.0 {}
    }
}
