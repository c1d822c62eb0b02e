//! Credential verifiers.

pub(crate) mod api_key;
pub(crate) mod basic;
pub(crate) mod json;
pub(crate) mod jwt;
pub(crate) mod keys;
