//! Credential verifiers.

pub(crate) mod json;
pub(crate) mod jwt;
pub(crate) mod keys;
