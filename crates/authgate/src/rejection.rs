//! A rejection: the reason plus everything the event and the response need.

use std::borrow::Cow;

use crate::credentials::SchemeLabel;
use crate::reason::Reason;

/// Everything known about one rejected request. Every text in it is secret-free
/// by construction: details are fixed sentences or numbers, and claim values
/// appear only once the signature verified.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) reason: Reason,
    pub(crate) scheme: SchemeLabel,
    pub(crate) detail: Cow<'static, str>,
    pub(crate) hint: Option<Cow<'static, str>>,
    pub(crate) token_fp: Option<String>,
    pub(crate) jwt_alg: Option<String>,
    pub(crate) jwt_kid: Option<String>,
    pub(crate) jwt_iss: Option<String>,
    pub(crate) jwt_aud: Option<String>,
    pub(crate) jwt_sub: Option<String>,
    pub(crate) expected: Option<String>,
    pub(crate) skew_secs: Option<i64>,
    pub(crate) user: Option<String>,
    pub(crate) key_id: Option<String>,
    pub(crate) required_scopes: Option<String>,
    pub(crate) granted_scopes: Option<String>,
    /// No key could be selected for the token (kid unknown or no key fits): a
    /// remote key set may know it after a refetch.
    pub(crate) key_missing: bool,
}

impl Failure {
    pub(crate) fn new(
        reason: Reason,
        scheme: SchemeLabel,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Failure {
            reason,
            scheme,
            detail: detail.into(),
            hint: None,
            token_fp: None,
            jwt_alg: None,
            jwt_kid: None,
            jwt_iss: None,
            jwt_aud: None,
            jwt_sub: None,
            expected: None,
            skew_secs: None,
            user: None,
            key_id: None,
            required_scopes: None,
            granted_scopes: None,
            key_missing: false,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The detail the client sees. It is the same secret-free sentence as the
    /// event's, except for Basic failures, where it must not tell an unknown user
    /// from a wrong password.
    pub(crate) fn public_detail(&self) -> &str {
        match self.reason {
            Reason::UnknownUser | Reason::WrongPassword => "the user-id or password is not valid",
            _ => &self.detail,
        }
    }
}

/// Why authgate refused a request. Rejection responses carry it in their
/// extensions, so outer layers (metrics, custom renderers) can read it.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    reason: Reason,
    detail: Cow<'static, str>,
    hint: Option<Cow<'static, str>>,
}

impl AuthRejection {
    pub(crate) fn from_failure(f: &Failure) -> Self {
        AuthRejection {
            reason: f.reason,
            detail: f.detail.clone(),
            hint: f.hint.clone(),
        }
    }

    /// The precise reason (including `unknown_user` vs `wrong_password`).
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The secret-free detail sentence of the event.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The hint of the event, when the cause was guessable.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}
