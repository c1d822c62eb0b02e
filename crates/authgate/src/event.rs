//! The one structured `tracing` event per rejection, and the DEBUG event per
//! success. Field names use OpenTelemetry semantic conventions where one exists.
//!
//! Every field value is at most [`MAX_FIELD_CHARS`] characters: a longer one is cut
//! and ends with `…`. Values are escaped before they are logged, whatever the log
//! format: C0 and C1 control characters, U+2028 LINE SEPARATOR, U+2029 PARAGRAPH
//! SEPARATOR and the Unicode bidirectional formatting characters (U+061C,
//! U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) are written as `\u{…}` escapes
//! (`\u{85}` for NEL), so one event is always one line and cannot pass for
//! another; the cut comes after escaping and never splits an escape.

use std::borrow::Cow;

use http::Method;
use sha2::{Digest, Sha256};

use crate::rejection::Failure;

/// The event target of every authgate event.
pub const TARGET: &str = "authgate";

/// Longest event field value, in characters; longer values end with `…`.
pub const MAX_FIELD_CHARS: usize = 1024;

/// Cuts `s` to [`MAX_FIELD_CHARS`] characters, marking the cut with `…` (a value
/// is never dropped silently).
pub(crate) fn cap(s: &str) -> Cow<'_, str> {
    cap_to(s, MAX_FIELD_CHARS)
}

/// Cuts `s` to `max` characters (`max` ≥ 1), marking the cut with `…`.
pub(crate) fn cap_to(s: &str, max: usize) -> Cow<'_, str> {
    // Fewer bytes than `max`: fewer characters too.
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    match s.char_indices().nth(max) {
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

/// Whether `c` is never written to a log as itself: C0 and C1 controls (DEL
/// included; NEL and CSI are C1), the line and paragraph separators U+2028 and
/// U+2029, and the Unicode bidirectional formatting characters (embeddings and
/// overrides U+202A–U+202E, isolates U+2066–U+2069, the marks U+200E, U+200F and
/// U+061C). Any of them can end a line for some log reader, or make one line
/// display as another.
pub(crate) fn must_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{61c}'
        )
}

/// An event field value from `s`: every [`must_escape`] character written as a
/// `\u{…}` escape (so one event is always one line, in every log format) and
/// every backslash doubled (so an escape in the log is always one of ours), then
/// cut to [`MAX_FIELD_CHARS`] characters with `…`, never inside an escape.
/// Borrows `s` when there is nothing to change, the common case.
pub(crate) fn field(s: &str) -> Cow<'_, str> {
    // Printable ASCII (checked bytewise first: the common case) needs no escape;
    // only its length can change it. A backslash is escaped too (`\\`), so that the text `\u{1b}` sent by a
    // client cannot pass for an escaped control character in the log.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\')
        || !s.chars().any(|c| c == '\\' || must_escape(c))
    {
        return cap(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = 0usize;
    // The length of `out` when it last held at most MAX_FIELD_CHARS - 1
    // characters: where a cut goes, leaving room for the `…`.
    let mut fits = 0usize;
    for c in s.chars() {
        if c == '\\' {
            chars += 2;
            out.push_str("\\\\");
        } else if must_escape(c) {
            let escape = c.escape_unicode();
            chars += escape.len();
            out.extend(escape);
        } else {
            chars += 1;
            out.push(c);
        }
        if chars > MAX_FIELD_CHARS {
            out.truncate(fits);
            out.push('…');
            return Cow::Owned(out);
        }
        if chars < MAX_FIELD_CHARS {
            fits = out.len();
        }
    }
    Cow::Owned(out)
}

/// A claim or header value fit for a sentence: [`must_escape`] characters,
/// quotes and backslashes escaped (no log injection), at most 128 characters.
pub(crate) fn sanitize_for_message(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 128 {
            out.push('…');
            break;
        }
        if c.is_control() || c == '"' || c == '\\' {
            out.extend(c.escape_default());
        } else if must_escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// `auth.token_fp`: the first 12 hex characters of SHA-256 of the token, for
/// correlating log lines without logging the token.
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
    s.as_deref().map(field)
}

/// Emits the rejection event.
pub(crate) fn rejection(f: &Failure, status: u16, method: &Method, path: &str) {
    let reason = f.reason;
    crate::metrics::rejected(reason, &f.scheme);
    crate::trace::rejected(reason, status);
    // Nothing below is computed unless a subscriber wants the event: floods of
    // bad requests are how auth layers get attacked.
    let level = match status {
        500..=599 => tracing::Level::WARN,
        403 => tracing::Level::INFO,
        // No header and nothing suspicious: crawlers and health checks make most
        // of these. With a hint (a proxy header, an empty Authorization, a query
        // token, a misplaced credential) it is the 401 people debug: INFO.
        _ if reason == crate::Reason::MissingCredentials && f.hint.is_none() => {
            tracing::Level::DEBUG
        }
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
    // Every value goes through `field`: most come from the request (claims,
    // header parameters, user-ids, scheme names, the path), and the sentences
    // may quote them.
    let detail = field(&f.detail);
    let hint = f.hint.as_deref().map(field);
    let hint = hint.as_deref();
    let scheme = field(f.scheme.as_str());
    let path = field(path);
    // An extension method is any token, of any length (RFC 9110 §9.1): cap it
    // like every other field (found by tests/headers.rs, 2000-char method).
    let method = field(method.as_str());
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
    let required_acr = opt(&f.required_acr);
    let token_acr = opt(&f.token_acr);
    macro_rules! emit {
        ($level:expr, $message:literal) => {
            tracing::event!(
                target: "authgate",
                $level,
                auth.outcome = reason.outcome(),
                auth.reason = reason.code(),
                auth.scheme = &*scheme,
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
                auth.limit_key = f.limit_key,
                auth.required_scopes = required.as_deref(),
                auth.granted_scopes = granted.as_deref(),
                auth.required_acr = required_acr.as_deref(),
                auth.token_acr = token_acr.as_deref(),
                auth.auth_age_secs = f.auth_age_secs,
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
        let subject = subject.map(field);
        let kid = kid.map(field);
        let iss = iss.map(field);
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
            span.record("auth.subject", &*field(subject));
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
    fn field_escapes_then_caps_between_escapes() {
        assert!(matches!(field("plain kid-1"), Cow::Borrowed("plain kid-1")));
        assert!(matches!(field("jürgen"), Cow::Borrowed("jürgen")));
        assert_eq!(
            field("a\u{85}b\u{2028}\u{202e}\u{2066}\u{200f}\u{61c}\u{9b}\n\u{7f}"),
            "a\\u{85}b\\u{2028}\\u{202e}\\u{2066}\\u{200f}\\u{61c}\\u{9b}\\u{a}\\u{7f}"
        );
        // Quotes are left to the log format's own quoting; a backslash is
        // doubled, so a client's literal `\u{1b}` never reads as our escape.
        assert_eq!(field("a\"b"), "a\"b");
        assert_eq!(field("a\\b"), "a\\\\b");
        assert_eq!(field("\\u{1b}[31m"), "\\\\u{1b}[31m");
        assert_eq!(field("\u{1b}[31m"), "\\u{1b}[31m");
        // Exactly MAX_FIELD_CHARS once escaped: kept whole.
        let exact = format!("{}\u{85}", "x".repeat(MAX_FIELD_CHARS - 6));
        let got = field(&exact);
        assert_eq!(got.chars().count(), MAX_FIELD_CHARS);
        assert!(got.ends_with("\\u{85}"));
        // One more: the whole escape goes, the cut is marked.
        let over = format!("{}\u{85}", "x".repeat(MAX_FIELD_CHARS - 5));
        let got = field(&over);
        assert_eq!(got, format!("{}…", "x".repeat(MAX_FIELD_CHARS - 5)));
        let many = "\u{2028}".repeat(MAX_FIELD_CHARS);
        let got = field(&many);
        assert!(got.chars().count() <= MAX_FIELD_CHARS);
        let body = got.strip_suffix('…').unwrap();
        assert_eq!(body, "\\u{2028}".repeat(body.len() / 8));
        assert_eq!(body.len(), 1016, "127 whole escapes");
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
        assert_eq!(
            sanitize_for_message("a\u{85}\u{2029}\u{202d}b"),
            "a\\u{85}\\u{2029}\\u{202d}b"
        );
    }
}
