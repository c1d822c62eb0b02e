//! Stand-in for the remote key set when the `jwks` feature is off: the type has
//! no values (configurations with remote keys are refused at build time), so
//! callers need no `cfg` of their own.

use std::convert::Infallible;
use std::sync::Arc;

use crate::config::{Clock, ConfigError, RemoteKeysConfig};
use crate::verify::keys::JwtKey;

/// Keys from one fetch (never constructed without the feature).
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) keys: Vec<JwtKey>,
    pub(crate) generation: u64,
}

/// What waiting is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    FirstKeys,
    UnknownKid,
}

/// Uninhabited without the `jwks` feature.
#[derive(Debug)]
pub(crate) struct RemoteKeys(Infallible);

impl RemoteKeys {
    pub(crate) fn new(_cfg: RemoteKeysConfig, _clock: Clock) -> Result<Arc<Self>, ConfigError> {
        Err(ConfigError::new(
            "bearer.jwt.jwks_url",
            "remote key sets need the `jwks` feature of authgate",
        ))
    }
    pub(crate) fn host(&self) -> &str {
        match self.0 {}
    }
    pub(crate) fn current(self: &Arc<Self>) -> Option<Arc<Snapshot>> {
        match self.0 {}
    }
    pub(crate) async fn wait(self: &Arc<Self>, _why: Wait) -> bool {
        match self.0 {}
    }
    pub(crate) fn may_refetch(&self) -> bool {
        match self.0 {}
    }
    pub(crate) fn staleness(&self) -> Option<String> {
        match self.0 {}
    }
    pub(crate) async fn warm_up(self: &Arc<Self>) -> Result<bool, ConfigError> {
        match self.0 {}
    }
}
