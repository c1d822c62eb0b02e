//! The closed set of rejection reasons and what each one means on the wire.

use http::StatusCode;

/// Why a request was rejected: exactly one per rejection, stable snake_case codes.
///
/// The code appears in the `auth.reason` event field and in the problem body's
/// `reason` member (except that clients see `invalid_credentials` for both
/// [`Reason::UnknownUser`] and [`Reason::WrongPassword`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// No `Authorization` header.
    MissingCredentials,
    /// A scheme that is not enabled.
    UnsupportedScheme,
    /// The header does not parse.
    MalformedCredentials,
    /// More than one `Authorization` field, or more than one way of sending a token.
    MultipleCredentials,
    /// Not a decodable JWT and no API key matched.
    TokenMalformed,
    /// `alg` is not in the allow-list (includes `none`).
    AlgorithmNotAllowed,
    /// No key for this `kid` / algorithm.
    UnknownKey,
    /// The signature does not verify.
    SignatureInvalid,
    /// `exp` + leeway is in the past.
    TokenExpired,
    /// `nbf` − leeway is in the future.
    TokenNotYetValid,
    /// `iat` − leeway is in the future.
    TokenIssuedInFuture,
    /// `iss` is not one of the expected issuers.
    IssuerMismatch,
    /// No `aud` value is an expected audience.
    AudienceMismatch,
    /// A required claim is absent or of the wrong type.
    MissingClaim,
    /// The token id (`jti`) or API key is revoked.
    TokenRevoked,
    /// An opaque bearer token matches no configured API key.
    UnknownApiKey,
    /// Basic user-id not known (clients see `invalid_credentials`).
    UnknownUser,
    /// Basic password does not verify (clients see `invalid_credentials`).
    WrongPassword,
    /// Authenticated, but required scope(s) are missing.
    InsufficientScope,
    /// Authenticated, but a custom policy refused.
    AccessDenied,
    /// Remote keys unreachable and none cached.
    KeySetUnavailable,
    /// The verifier itself failed.
    InternalError,
    /// The Basic password-hash queue is full (`basic.max_pending`); answered at once
    /// with 503 and `Retry-After`.
    VerifierBusy,
    /// Authenticated, but the route needs a stronger or more recent login (`acr` /
    /// `auth_time`, RFC 9470).
    InsufficientUserAuthentication,
    /// An opaque token the introspection endpoint calls inactive (RFC 7662 §2.2).
    TokenInactive,
    /// Too many failed attempts for this user-id or client address; answered with
    /// 429 and `Retry-After` before any password hash or signature is computed.
    TooManyAttempts,
    /// The introspection endpoint cannot be reached and no answer is cached.
    IntrospectionUnavailable,
    /// The shared state store is down and the configuration says fail closed.
    StateUnavailable,
}

/// The `error` parameter of a Bearer challenge (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BearerError {
    /// `invalid_request`: the request is malformed (400).
    InvalidRequest,
    /// `invalid_token`: the token is expired, revoked, malformed or invalid (401).
    InvalidToken,
    /// `insufficient_scope`: the token lacks a required scope (403).
    InsufficientScope,
    /// `insufficient_user_authentication`: the login behind the token is not strong
    /// or recent enough for this resource (401, RFC 9470 §3).
    InsufficientUserAuthentication,
}

impl BearerError {
    /// The parameter value as RFC 6750 §3.1 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
            BearerError::InsufficientUserAuthentication => "insufficient_user_authentication",
        }
    }
}

/// Every reason, in the order of the documented table.
const ALL: &[Reason] = &[
    Reason::MissingCredentials,
    Reason::UnsupportedScheme,
    Reason::MalformedCredentials,
    Reason::MultipleCredentials,
    Reason::TokenMalformed,
    Reason::AlgorithmNotAllowed,
    Reason::UnknownKey,
    Reason::SignatureInvalid,
    Reason::TokenExpired,
    Reason::TokenNotYetValid,
    Reason::TokenIssuedInFuture,
    Reason::IssuerMismatch,
    Reason::AudienceMismatch,
    Reason::MissingClaim,
    Reason::TokenRevoked,
    Reason::UnknownApiKey,
    Reason::UnknownUser,
    Reason::WrongPassword,
    Reason::InsufficientScope,
    Reason::AccessDenied,
    Reason::KeySetUnavailable,
    Reason::InternalError,
    Reason::InsufficientUserAuthentication,
    Reason::TokenInactive,
    Reason::TooManyAttempts,
    Reason::VerifierBusy,
    Reason::IntrospectionUnavailable,
    Reason::StateUnavailable,
];

impl Reason {
    /// Every reason, in the order of the reference table: for exhaustive tables,
    /// dashboards and tests. A slice, so that a new reason (the enum is
    /// `#[non_exhaustive]`) does not change its type.
    pub const ALL: &'static [Reason] = ALL;

    /// The stable snake_case code, as logged in `auth.reason`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MissingCredentials => "missing_credentials",
            Reason::UnsupportedScheme => "unsupported_scheme",
            Reason::MalformedCredentials => "malformed_credentials",
            Reason::MultipleCredentials => "multiple_credentials",
            Reason::TokenMalformed => "token_malformed",
            Reason::AlgorithmNotAllowed => "algorithm_not_allowed",
            Reason::UnknownKey => "unknown_key",
            Reason::SignatureInvalid => "signature_invalid",
            Reason::TokenExpired => "token_expired",
            Reason::TokenNotYetValid => "token_not_yet_valid",
            Reason::TokenIssuedInFuture => "token_issued_in_future",
            Reason::IssuerMismatch => "issuer_mismatch",
            Reason::AudienceMismatch => "audience_mismatch",
            Reason::MissingClaim => "missing_claim",
            Reason::TokenRevoked => "token_revoked",
            Reason::UnknownApiKey => "unknown_api_key",
            Reason::UnknownUser => "unknown_user",
            Reason::WrongPassword => "wrong_password",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::AccessDenied => "access_denied",
            Reason::KeySetUnavailable => "key_set_unavailable",
            Reason::InternalError => "internal_error",
            Reason::VerifierBusy => "verifier_busy",
            Reason::InsufficientUserAuthentication => "insufficient_user_authentication",
            Reason::TokenInactive => "token_inactive",
            Reason::TooManyAttempts => "too_many_attempts",
            Reason::IntrospectionUnavailable => "introspection_unavailable",
            Reason::StateUnavailable => "state_unavailable",
        }
    }

    /// The code the client sees in the problem body: the same as [`Reason::code`],
    /// except that `unknown_user` and `wrong_password` both read `invalid_credentials`
    /// so a client cannot probe which user-ids exist.
    pub fn public_code(self) -> &'static str {
        match self {
            Reason::UnknownUser | Reason::WrongPassword => "invalid_credentials",
            other => other.code(),
        }
    }

    /// The HTTP status this reason answers with. `malformed_credentials` is 400 for
    /// Bearer and 401 for Basic; this returns the Bearer status, see
    /// [`Reason::status_for_basic`].
    pub fn status(self) -> StatusCode {
        match self {
            Reason::MalformedCredentials | Reason::MultipleCredentials => StatusCode::BAD_REQUEST,
            Reason::InsufficientScope | Reason::AccessDenied => StatusCode::FORBIDDEN,
            Reason::KeySetUnavailable
            | Reason::VerifierBusy
            | Reason::IntrospectionUnavailable
            | Reason::StateUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Reason::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            Reason::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Reason::MissingCredentials
            | Reason::UnsupportedScheme
            | Reason::TokenMalformed
            | Reason::AlgorithmNotAllowed
            | Reason::UnknownKey
            | Reason::SignatureInvalid
            | Reason::TokenExpired
            | Reason::TokenNotYetValid
            | Reason::TokenIssuedInFuture
            | Reason::IssuerMismatch
            | Reason::AudienceMismatch
            | Reason::MissingClaim
            | Reason::TokenRevoked
            | Reason::UnknownApiKey
            | Reason::UnknownUser
            | Reason::WrongPassword
            | Reason::InsufficientUserAuthentication
            | Reason::TokenInactive => StatusCode::UNAUTHORIZED,
        }
    }

    /// The status when the failing credentials were Basic: RFC 7617 has no 400
    /// answer for undecodable credentials, the client is challenged again (401).
    pub fn status_for_basic(self) -> StatusCode {
        match self {
            Reason::MalformedCredentials => StatusCode::UNAUTHORIZED,
            other => other.status(),
        }
    }

    /// The RFC 6750 §3.1 `error` a Bearer challenge carries for this reason, if any.
    ///
    /// `None` for the no-credentials cases (RFC 6750 §3.1: "the resource server
    /// SHOULD NOT include an error code") and for reasons that are not about a
    /// Bearer token.
    pub fn bearer_error(self) -> Option<BearerError> {
        match self {
            Reason::MalformedCredentials | Reason::MultipleCredentials => {
                Some(BearerError::InvalidRequest)
            }
            Reason::TokenMalformed
            | Reason::AlgorithmNotAllowed
            | Reason::UnknownKey
            | Reason::SignatureInvalid
            | Reason::TokenExpired
            | Reason::TokenNotYetValid
            | Reason::TokenIssuedInFuture
            | Reason::IssuerMismatch
            | Reason::AudienceMismatch
            | Reason::MissingClaim
            | Reason::TokenRevoked
            | Reason::UnknownApiKey
            | Reason::TokenInactive => Some(BearerError::InvalidToken),
            Reason::InsufficientScope => Some(BearerError::InsufficientScope),
            Reason::InsufficientUserAuthentication => {
                Some(BearerError::InsufficientUserAuthentication)
            }
            Reason::MissingCredentials
            | Reason::UnsupportedScheme
            | Reason::UnknownUser
            | Reason::WrongPassword
            | Reason::AccessDenied
            | Reason::KeySetUnavailable
            | Reason::InternalError
            | Reason::VerifierBusy
            | Reason::TooManyAttempts
            | Reason::IntrospectionUnavailable
            | Reason::StateUnavailable => None,
        }
    }

    /// Whether a JWT rejected for this reason had a verified signature: the claim
    /// checks run only after the signature (the documented order), so their reasons
    /// imply it, and the token's claims can be trusted.
    pub fn follows_signature_check(self) -> bool {
        match self {
            Reason::MissingClaim
            | Reason::TokenExpired
            | Reason::TokenNotYetValid
            | Reason::TokenIssuedInFuture
            | Reason::IssuerMismatch
            | Reason::AudienceMismatch
            | Reason::TokenRevoked => true,
            Reason::MissingCredentials
            | Reason::UnsupportedScheme
            | Reason::MalformedCredentials
            | Reason::MultipleCredentials
            | Reason::TokenMalformed
            | Reason::AlgorithmNotAllowed
            | Reason::UnknownKey
            | Reason::SignatureInvalid
            | Reason::UnknownApiKey
            | Reason::UnknownUser
            | Reason::WrongPassword
            | Reason::InsufficientScope
            | Reason::AccessDenied
            | Reason::KeySetUnavailable
            | Reason::InternalError
            | Reason::VerifierBusy
            | Reason::InsufficientUserAuthentication
            | Reason::TokenInactive
            | Reason::TooManyAttempts
            | Reason::IntrospectionUnavailable
            | Reason::StateUnavailable => false,
        }
    }

    /// The `auth.outcome` event field: `unauthenticated`, `forbidden`, `limited` or
    /// `unavailable`.
    pub fn outcome(self) -> &'static str {
        match self.status() {
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::TOO_MANY_REQUESTS => "limited",
            s if s.is_server_error() => "unavailable",
            _ => "unauthenticated",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented reason table, row by row: code and status.
    const REASON_TABLE: [(&str, u16); 28] = [
        ("missing_credentials", 401),
        ("unsupported_scheme", 401),
        ("malformed_credentials", 400),
        ("multiple_credentials", 400),
        ("token_malformed", 401),
        ("algorithm_not_allowed", 401),
        ("unknown_key", 401),
        ("signature_invalid", 401),
        ("token_expired", 401),
        ("token_not_yet_valid", 401),
        ("token_issued_in_future", 401),
        ("issuer_mismatch", 401),
        ("audience_mismatch", 401),
        ("missing_claim", 401),
        ("token_revoked", 401),
        ("unknown_api_key", 401),
        ("unknown_user", 401),
        ("wrong_password", 401),
        ("insufficient_scope", 403),
        ("access_denied", 403),
        ("key_set_unavailable", 503),
        ("internal_error", 500),
        ("insufficient_user_authentication", 401),
        ("token_inactive", 401),
        ("too_many_attempts", 429),
        ("verifier_busy", 503),
        ("introspection_unavailable", 503),
        ("state_unavailable", 503),
    ];

    #[test]
    fn codes_and_statuses_match_the_spec_table() {
        for (reason, (code, status)) in Reason::ALL.iter().zip(REASON_TABLE) {
            assert_eq!(reason.code(), code);
            assert_eq!(reason.status().as_u16(), status, "{code}");
        }
    }

    #[test]
    fn basic_malformed_is_401() {
        assert_eq!(
            Reason::MalformedCredentials.status_for_basic(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Reason::TokenExpired.status_for_basic(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn clients_never_learn_whether_a_user_exists() {
        assert_eq!(Reason::UnknownUser.public_code(), "invalid_credentials");
        assert_eq!(Reason::WrongPassword.public_code(), "invalid_credentials");
        assert_eq!(Reason::TokenExpired.public_code(), "token_expired");
    }

    #[test]
    fn bearer_errors_follow_rfc6750() {
        for &reason in Reason::ALL {
            let expected = match reason.status().as_u16() {
                400 => Some(BearerError::InvalidRequest),
                403 if reason == Reason::InsufficientScope => Some(BearerError::InsufficientScope),
                401 if reason == Reason::InsufficientUserAuthentication => {
                    Some(BearerError::InsufficientUserAuthentication)
                }
                401 if matches!(
                    reason,
                    Reason::MissingCredentials
                        | Reason::UnsupportedScheme
                        | Reason::UnknownUser
                        | Reason::WrongPassword
                ) =>
                {
                    None
                }
                401 => Some(BearerError::InvalidToken),
                _ => None,
            };
            assert_eq!(reason.bearer_error(), expected, "{reason}");
        }
    }

    #[test]
    fn reasons_after_the_signature_follow_the_spec_order() {
        let after: Vec<&str> = Reason::ALL
            .iter()
            .filter(|r| r.follows_signature_check())
            .map(|r| r.code())
            .collect();
        assert_eq!(
            after,
            [
                "token_expired",
                "token_not_yet_valid",
                "token_issued_in_future",
                "issuer_mismatch",
                "audience_mismatch",
                "missing_claim",
                "token_revoked"
            ]
        );
    }

    #[test]
    fn outcomes() {
        assert_eq!(Reason::TokenExpired.outcome(), "unauthenticated");
        assert_eq!(Reason::MalformedCredentials.outcome(), "unauthenticated");
        assert_eq!(Reason::InsufficientScope.outcome(), "forbidden");
        assert_eq!(Reason::KeySetUnavailable.outcome(), "unavailable");
        assert_eq!(Reason::InternalError.outcome(), "unavailable");
        assert_eq!(Reason::VerifierBusy.outcome(), "unavailable");
        assert_eq!(
            Reason::VerifierBusy.status_for_basic(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(Reason::VerifierBusy.public_code(), "verifier_busy");
    }
}
