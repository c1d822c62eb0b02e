//! The one structured `tracing` event per rejection (SPEC §3), and the DEBUG event
//! per success. Field names use OpenTelemetry semantic conventions where one exists.

use std::borrow::Cow;

use http::Method;
use sha2::{Digest, Sha256};

use crate::rejection::Failure;

/// The event target of every authgate event.
pub const TARGET: &str = "authgate";

/// Longest event field value, in characters; longer values end with `…`.
pub const MAX_FIELD_CHARS: usize = 1024;

/// Cuts `s` to [`MAX_FIELD_CHARS`] characters, marking the cut with `…` (SPEC §3:
/// never dropped silently).
pub(crate) fn cap(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(MAX_FIELD_CHARS) {
        None => Cow::Borrowed(s),
        Some((end, _)) => {
            let end = s[..end].char_indices().last().map_or(0, |(i, _)| i);
            let mut out = String::with_capacity(end + 3);
            out.push_str(&s[..end]);
            out.push('…');
            Cow::Owned(out)
        }
    }
}

/// A claim or header value fit for a sentence: control characters escaped (no log
/// injection), at most 128 characters.
pub(crate) fn sanitize_for_message(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 128 {
            out.push('…');
            break;
        }
        if c.is_control() || c == '"' || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `auth.token_fp`: the first 12 hex characters of SHA-256 of the token, for
/// correlating log lines without logging the token (SPEC §3).
pub fn token_fingerprint(token: &str) -> String {
    fingerprint_of_bytes(token.as_bytes())
}

/// [`token_fingerprint`] of a token as sent (its characters not checked yet).
pub(crate) fn fingerprint_of_bytes(token: &[u8]) -> String {
    let digest = Sha256::digest(token);
    let mut out = String::with_capacity(12);
    for b in &digest[..6] {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

fn opt(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(cap)
}

/// Emits the rejection event of SPEC §3.
pub(crate) fn rejection(f: &Failure, status: u16, method: &Method, path: &str) {
    let reason = f.reason;
    // Nothing below is computed unless a subscriber wants the event: floods of
    // bad requests are how auth layers get attacked.
    let level = match status {
        500..=599 => tracing::Level::WARN,
        403 => tracing::Level::INFO,
        _ if reason == crate::Reason::MissingCredentials => tracing::Level::DEBUG,
        _ => tracing::Level::INFO,
    };
    let wanted = match level {
        tracing::Level::WARN => tracing::enabled!(target: "authgate", tracing::Level::WARN),
        tracing::Level::INFO => tracing::enabled!(target: "authgate", tracing::Level::INFO),
        _ => tracing::enabled!(target: "authgate", tracing::Level::DEBUG),
    };
    if !wanted {
        return;
    }
    let detail = cap(&f.detail);
    let hint = f.hint.as_deref().map(cap);
    let hint = hint.as_deref();
    let path = cap(path);
    // An extension method is any token, of any length (RFC 9110 §9.1): cap it
    // like every other field (found by tests/headers.rs, 2000-char method).
    let method = cap(method.as_str());
    let alg = opt(&f.jwt_alg);
    let kid = opt(&f.jwt_kid);
    let iss = opt(&f.jwt_iss);
    let aud = opt(&f.jwt_aud);
    let sub = opt(&f.jwt_sub);
    let expected = opt(&f.expected);
    let user = opt(&f.user);
    let key_id = opt(&f.key_id);
    let required = opt(&f.required_scopes);
    let granted = opt(&f.granted_scopes);
    macro_rules! emit {
        ($level:expr, $message:literal) => {
            tracing::event!(
                target: "authgate",
                $level,
                auth.outcome = reason.outcome(),
                auth.reason = reason.code(),
                auth.scheme = f.scheme.as_str(),
                http.response.status_code = status,
                http.request.method = &*method,
                url.path = &*path,
                auth.detail = &*detail,
                auth.hint = hint,
                auth.token_fp = f.token_fp.as_deref(),
                jwt.alg = alg.as_deref(),
                jwt.kid = kid.as_deref(),
                jwt.iss = iss.as_deref(),
                jwt.aud = aud.as_deref(),
                jwt.sub = sub.as_deref(),
                auth.expected = expected.as_deref(),
                auth.skew_secs = f.skew_secs,
                auth.user = user.as_deref(),
                auth.key_id = key_id.as_deref(),
                auth.required_scopes = required.as_deref(),
                auth.granted_scopes = granted.as_deref(),
                $message
            )
        };
    }
    match (level, status) {
        (tracing::Level::WARN, _) => emit!(tracing::Level::WARN, "authentication unavailable"),
        (_, 403) => emit!(tracing::Level::INFO, "access forbidden"),
        (tracing::Level::DEBUG, _) => emit!(tracing::Level::DEBUG, "authentication failed"),
        _ => emit!(tracing::Level::INFO, "authentication failed"),
    }
}

/// Emits the DEBUG `authenticated` event, and records `auth.subject` on the current
/// span when the span declares that field (e.g. a `TraceLayer` span built with
/// `auth.subject = tracing::field::Empty`).
pub(crate) fn authenticated(
    scheme: &str,
    subject: Option<&str>,
    kid: Option<&str>,
    iss: Option<&str>,
) {
    // Nothing is capped (or formatted) unless a subscriber wants the event.
    if tracing::enabled!(target: "authgate", tracing::Level::DEBUG) {
        let subject = subject.map(cap);
        let kid = kid.map(cap);
        let iss = iss.map(cap);
        tracing::event!(
            target: "authgate",
            tracing::Level::DEBUG,
            auth.scheme = scheme,
            auth.subject = subject.as_deref(),
            jwt.kid = kid.as_deref(),
            jwt.iss = iss.as_deref(),
            "authenticated"
        );
    }
    if let Some(subject) = subject {
        let span = tracing::Span::current();
        if span.has_field("auth.subject") {
            span.record("auth.subject", &*cap(subject));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_keeps_short_values_and_marks_cuts() {
        assert_eq!(cap("abc"), "abc");
        let exact = "x".repeat(MAX_FIELD_CHARS);
        assert_eq!(cap(&exact), exact);
        let long = "é".repeat(MAX_FIELD_CHARS + 5);
        let capped = cap(&long);
        assert_eq!(capped.chars().count(), MAX_FIELD_CHARS);
        assert!(capped.ends_with('…'));
    }

    #[test]
    fn fingerprint_is_12_hex_of_sha256() {
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223...
        assert_eq!(token_fingerprint("abc"), "ba7816bf8f01");
    }

    #[test]
    fn sanitize_escapes_control_and_quotes() {
        assert_eq!(
            sanitize_for_message("a\r\nb\"\u{1b}"),
            "a\\r\\nb\\\"\\u{1b}"
        );
        assert_eq!(sanitize_for_message(&"y".repeat(200)).chars().count(), 129);
    }
}
