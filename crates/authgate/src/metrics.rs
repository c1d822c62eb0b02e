//! Metrics through the [`metrics`](https://docs.rs/metrics/0.24) facade (feature
//! `metrics`): any exporter the application installs receives them.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | [`REQUESTS_TOTAL`] | counter | `outcome`, `reason`, `scheme` |
//! | [`VERIFY_DURATION_SECONDS`] | histogram | `scheme`, `cached` |
//! | [`TOKEN_CACHE_TOTAL`] | counter | `result` (`hit`, `miss`) |
//! | [`KEY_SET_FETCHES_TOTAL`] | counter | `result` (`ok`, `not_modified`, `error`) |
//! | [`KEY_SET_AGE_SECONDS`] | gauge | none |
//!
//! Every label value comes from a closed set written into this crate: `outcome`
//! is `authenticated`, `anonymous`, `unauthenticated`, `forbidden`, `unavailable`
//! or `limited`; `reason` is a [`Reason::code`] or `none`; `scheme` is `bearer`,
//! `basic`, `none` or `other` (every scheme authgate does not implement). No
//! path, user-id, `kid`, issuer or scheme name sent by a client ever becomes a
//! label, so the number of series is bounded whatever the traffic.
//!
//! The keys are built at compile time: with no recorder installed, recording is
//! a thread-local check, an atomic load and a call to the facade's no-op
//! recorder, with nothing formatted or allocated. The latency histogram reads the
//! clock twice per verification even then: the facade cannot tell whether a
//! recorder is installed.
//!
//! A request passed by the layer and then refused by a route layer or an
//! extractor counts twice: once as passed, once as the rejection.
//!
//! Without the feature every function here is empty and compiles to nothing.

use crate::credentials::SchemeLabel;
use crate::principal::Principal;
use crate::reason::Reason;

/// Requests decided, by `outcome`, `reason` and `scheme` (counter).
pub const REQUESTS_TOTAL: &str = "authgate_requests_total";
/// Time spent verifying a credential, by `scheme` (`bearer`, `basic`) and `cached`
/// (`true` when a cache answered), in seconds (histogram).
pub const VERIFY_DURATION_SECONDS: &str = "authgate_verify_duration_seconds";
/// Lookups in the verified-token cache, by `result` (`hit`, `miss`) (counter).
pub const TOKEN_CACHE_TOTAL: &str = "authgate_token_cache_total";
/// Fetches of the remote key set, by `result` (counter): `ok` (a new document),
/// `not_modified` (the same document as the last good one) or `error`.
pub const KEY_SET_FETCHES_TOTAL: &str = "authgate_key_set_fetches_total";
/// Seconds since the remote key set was last fetched successfully (gauge).
pub const KEY_SET_AGE_SECONDS: &str = "authgate_key_set_age_seconds";

/// Every metric name, for dashboards and tests.
pub const ALL: &[&str] = &[
    REQUESTS_TOTAL,
    VERIFY_DURATION_SECONDS,
    TOKEN_CACHE_TOTAL,
    KEY_SET_FETCHES_TOTAL,
    KEY_SET_AGE_SECONDS,
];

/// Which verifier a duration is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verifier {
    Bearer,
    Basic,
}

/// The result of one key-set fetch.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
pub(crate) enum Fetch {
    Ok,
    NotModified,
    Error,
}

/// Gives the exporter the unit and a one-line description of every metric
/// (Prometheus `# HELP` lines). Call it once after installing the recorder;
/// the metrics are recorded whether or not it is called.
pub fn describe() {
    #[cfg(feature = "metrics")]
    on::describe();
}

#[cfg(feature = "metrics")]
use on as imp;

#[cfg(not(feature = "metrics"))]
use off as imp;

pub(crate) use imp::Timer;

/// A request refused for `reason` (every rejection event, wherever it is emitted).
#[inline]
pub(crate) fn rejected(reason: Reason, scheme: &SchemeLabel) {
    imp::rejected(reason, scheme);
}

/// A request passed on by the layer, with a principal or anonymously.
#[inline]
pub(crate) fn passed(principal: Option<&Principal>) {
    imp::passed(principal);
}

/// `pending`, its duration measured from `timer` when it finishes.
#[inline]
pub(crate) fn timed<F: std::future::Future>(
    pending: F,
    timer: Timer,
    verifier: Verifier,
) -> impl std::future::Future<Output = F::Output> {
    imp::timed(pending, timer, verifier)
}

/// One lookup in the verified-token cache.
#[inline]
pub(crate) fn token_cache(hit: bool) {
    imp::token_cache(hit);
}

/// One finished key-set fetch.
#[inline]
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
pub(crate) fn key_set_fetch(result: Fetch) {
    imp::key_set_fetch(result);
}

/// The age of the key set in use, in seconds.
#[inline]
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
pub(crate) fn key_set_age(secs: u64) {
    imp::key_set_age(secs);
}

#[cfg(not(feature = "metrics"))]
mod off {
    use super::{Fetch, Principal, Reason, SchemeLabel, Verifier};

    /// Measures nothing without the feature.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Timer;

    impl Timer {
        #[inline(always)]
        pub(crate) fn start() -> Self {
            Timer
        }
        #[inline(always)]
        pub(crate) fn verified(self, _: Verifier, _: bool) {}
    }

    #[inline(always)]
    pub(super) fn timed<F>(pending: F, _: Timer, _: Verifier) -> F {
        pending
    }
    #[inline(always)]
    pub(super) fn rejected(_: Reason, _: &SchemeLabel) {}
    #[inline(always)]
    pub(super) fn passed(_: Option<&Principal>) {}
    #[inline(always)]
    pub(super) fn token_cache(_: bool) {}
    #[inline(always)]
    pub(super) fn key_set_fetch(_: Fetch) {}
    #[inline(always)]
    pub(super) fn key_set_age(_: u64) {}
}

#[cfg(feature = "metrics")]
mod on {
    use std::time::Instant;

    use ::metrics::{Key, Label, Level, Metadata, Unit};

    use super::{
        Fetch, KEY_SET_AGE_SECONDS, KEY_SET_FETCHES_TOTAL, Principal, REQUESTS_TOTAL, Reason,
        SchemeLabel, TOKEN_CACHE_TOTAL, VERIFY_DURATION_SECONDS, Verifier,
    };
    use crate::principal::Scheme;

    static METADATA: Metadata<'static> =
        Metadata::new(crate::event::TARGET, Level::INFO, Some(module_path!()));

    /// The four `scheme` label values, in [`scheme_index`] order.
    macro_rules! per_scheme {
        ($name:expr, $outcome:literal, $reason:literal) => {{
            static LABELS: [[Label; 3]; 4] = [
        per_scheme!(@one $outcome, $reason, "bearer"),
        per_scheme!(@one $outcome, $reason, "basic"),
        per_scheme!(@one $outcome, $reason, "none"),
        per_scheme!(@one $outcome, $reason, "other"),
            ];
            static KEYS: [Key; 4] = [
                Key::from_static_parts($name, &LABELS[0]),
                Key::from_static_parts($name, &LABELS[1]),
                Key::from_static_parts($name, &LABELS[2]),
                Key::from_static_parts($name, &LABELS[3]),
            ];
            &KEYS
        }};
        (@one $outcome:literal, $reason:literal, $scheme:literal) => {
            [
                Label::from_static_parts("outcome", $outcome),
                Label::from_static_parts("reason", $reason),
                Label::from_static_parts("scheme", $scheme),
            ]
        };
    }

    /// The `authgate_requests_total` keys of a rejection, one per scheme. An
    /// exhaustive match: a new reason does not compile until it has its row; the
    /// unit tests check every row against [`Reason::code`] and
    /// [`Reason::outcome`].
    macro_rules! rejection_keys {
        ($($variant:ident => $outcome:literal, $code:literal;)*) => {
            pub(super) fn rejection_keys(reason: Reason) -> &'static [Key; 4] {
                match reason {
                    $(Reason::$variant => per_scheme!(REQUESTS_TOTAL, $outcome, $code),)*
                }
            }
        };
    }

    rejection_keys! {
        MissingCredentials => "unauthenticated", "missing_credentials";
        UnsupportedScheme => "unauthenticated", "unsupported_scheme";
        MalformedCredentials => "unauthenticated", "malformed_credentials";
        MultipleCredentials => "unauthenticated", "multiple_credentials";
        TokenMalformed => "unauthenticated", "token_malformed";
        AlgorithmNotAllowed => "unauthenticated", "algorithm_not_allowed";
        UnknownKey => "unauthenticated", "unknown_key";
        SignatureInvalid => "unauthenticated", "signature_invalid";
        TokenExpired => "unauthenticated", "token_expired";
        TokenNotYetValid => "unauthenticated", "token_not_yet_valid";
        TokenIssuedInFuture => "unauthenticated", "token_issued_in_future";
        IssuerMismatch => "unauthenticated", "issuer_mismatch";
        AudienceMismatch => "unauthenticated", "audience_mismatch";
        MissingClaim => "unauthenticated", "missing_claim";
        TokenRevoked => "unauthenticated", "token_revoked";
        UnknownApiKey => "unauthenticated", "unknown_api_key";
        UnknownUser => "unauthenticated", "unknown_user";
        WrongPassword => "unauthenticated", "wrong_password";
        InsufficientScope => "forbidden", "insufficient_scope";
        AccessDenied => "forbidden", "access_denied";
        KeySetUnavailable => "unavailable", "key_set_unavailable";
        InternalError => "unavailable", "internal_error";
        VerifierBusy => "unavailable", "verifier_busy";
        InsufficientUserAuthentication => "unauthenticated", "insufficient_user_authentication";
        TokenInactive => "unauthenticated", "token_inactive";
        TooManyAttempts => "limited", "too_many_attempts";
        IntrospectionUnavailable => "unavailable", "introspection_unavailable";
        StateUnavailable => "unavailable", "state_unavailable";
    }

    pub(super) fn authenticated_keys() -> &'static [Key; 4] {
        per_scheme!(REQUESTS_TOTAL, "authenticated", "none")
    }

    pub(super) fn anonymous_keys() -> &'static [Key; 4] {
        per_scheme!(REQUESTS_TOTAL, "anonymous", "none")
    }

    /// Index of the `scheme` label: a scheme authgate does not implement is
    /// `other`, never its name.
    fn scheme_index(scheme: &SchemeLabel) -> usize {
        match scheme {
            SchemeLabel::Bearer => 0,
            SchemeLabel::Basic => 1,
            SchemeLabel::None => 2,
            SchemeLabel::Other(_) => 3,
        }
    }

    macro_rules! static_key {
        ($name:expr $(, $k:literal => $v:literal)*) => {{
            static LABELS: [Label; <[&str]>::len(&[$($k),*])] = [$(Label::from_static_parts($k, $v)),*];
            static KEY: Key = Key::from_static_parts($name, &LABELS);
            &KEY
        }};
    }

    fn increment(key: &'static Key) {
        ::metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(1));
    }

    pub(super) fn rejected(reason: Reason, scheme: &SchemeLabel) {
        increment(&rejection_keys(reason)[scheme_index(scheme)]);
    }

    pub(super) fn passed(principal: Option<&Principal>) {
        let key = match principal.map(Principal::scheme) {
            Some(Scheme::Bearer) => &authenticated_keys()[0],
            Some(Scheme::Basic) => &authenticated_keys()[1],
            None => &anonymous_keys()[2],
        };
        increment(key);
    }

    pub(super) fn token_cache(hit: bool) {
        increment(if hit {
            static_key!(TOKEN_CACHE_TOTAL, "result" => "hit")
        } else {
            static_key!(TOKEN_CACHE_TOTAL, "result" => "miss")
        });
    }

    pub(super) fn key_set_fetch(result: Fetch) {
        increment(match result {
            Fetch::Ok => static_key!(KEY_SET_FETCHES_TOTAL, "result" => "ok"),
            Fetch::NotModified => static_key!(KEY_SET_FETCHES_TOTAL, "result" => "not_modified"),
            Fetch::Error => static_key!(KEY_SET_FETCHES_TOTAL, "result" => "error"),
        });
    }

    pub(super) fn key_set_age(secs: u64) {
        let key = static_key!(KEY_SET_AGE_SECONDS);
        // Seconds fit an f64 exactly far beyond any real age.
        #[allow(clippy::cast_precision_loss)]
        let secs = secs as f64;
        ::metrics::with_recorder(|r| r.register_gauge(key, &METADATA).set(secs));
    }

    /// Measures one verification, from [`Timer::start`] to [`Timer::verified`].
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Timer(Instant);

    impl Timer {
        #[inline]
        pub(crate) fn start() -> Self {
            Timer(Instant::now())
        }

        pub(crate) fn verified(self, verifier: Verifier, cached: bool) {
            let key = match (verifier, cached) {
                (Verifier::Bearer, false) => {
                    static_key!(VERIFY_DURATION_SECONDS, "scheme" => "bearer", "cached" => "false")
                }
                (Verifier::Bearer, true) => {
                    static_key!(VERIFY_DURATION_SECONDS, "scheme" => "bearer", "cached" => "true")
                }
                (Verifier::Basic, false) => {
                    static_key!(VERIFY_DURATION_SECONDS, "scheme" => "basic", "cached" => "false")
                }
                (Verifier::Basic, true) => {
                    static_key!(VERIFY_DURATION_SECONDS, "scheme" => "basic", "cached" => "true")
                }
            };
            let secs = self.0.elapsed().as_secs_f64();
            ::metrics::with_recorder(|r| r.register_histogram(key, &METADATA).record(secs));
        }
    }

    pub(super) async fn timed<F: std::future::Future>(
        pending: F,
        timer: Timer,
        verifier: Verifier,
    ) -> F::Output {
        let out = pending.await;
        timer.verified(verifier, false);
        out
    }

    pub(super) fn describe() {
        ::metrics::describe_counter!(
            REQUESTS_TOTAL,
            Unit::Count,
            "Requests decided by authgate, by outcome, reason code and scheme"
        );
        ::metrics::describe_histogram!(
            VERIFY_DURATION_SECONDS,
            Unit::Seconds,
            "Time spent verifying a credential, by scheme and whether a cache answered"
        );
        ::metrics::describe_counter!(
            TOKEN_CACHE_TOTAL,
            Unit::Count,
            "Lookups in the verified-token cache, by result (hit or miss)"
        );
        ::metrics::describe_counter!(
            KEY_SET_FETCHES_TOTAL,
            Unit::Count,
            "Fetches of the remote key set, by result (ok, not_modified or error)"
        );
        ::metrics::describe_gauge!(
            KEY_SET_AGE_SECONDS,
            Unit::Seconds,
            "Seconds since the remote key set was last fetched successfully"
        );
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::on::{anonymous_keys, authenticated_keys, rejection_keys};
    use super::*;

    fn label<'k>(key: &'k ::metrics::Key, name: &str) -> &'k str {
        key.labels()
            .find(|l| l.key() == name)
            .map(|l| l.value())
            .unwrap_or_else(|| panic!("no {name} label on {key:?}"))
    }

    #[test]
    fn every_reason_row_matches_its_code_and_outcome() {
        for &reason in Reason::ALL {
            let keys = rejection_keys(reason);
            for (key, scheme) in keys.iter().zip(["bearer", "basic", "none", "other"]) {
                assert_eq!(key.name(), REQUESTS_TOTAL);
                assert_eq!(label(key, "reason"), reason.code(), "{reason:?}");
                assert_eq!(label(key, "outcome"), reason.outcome(), "{reason:?}");
                assert_eq!(label(key, "scheme"), scheme);
            }
        }
        assert_eq!(label(&authenticated_keys()[0], "outcome"), "authenticated");
        assert_eq!(label(&anonymous_keys()[2], "scheme"), "none");
    }
}
