//! Credential verifiers.

pub(crate) mod api_key;
pub(crate) mod basic;
pub(crate) mod cache;
pub(crate) mod json;
pub(crate) mod jwt;
pub(crate) mod keys;
pub(crate) mod prepared;
#[cfg(feature = "jwks")]
pub(crate) mod remote;
#[cfg(not(feature = "jwks"))]
#[path = "remote_off.rs"]
pub(crate) mod remote;
