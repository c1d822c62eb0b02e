//! Reading credentials out of a request (RFC 9110 §11.4, RFC 6750 §2, RFC 7617 §2).
//!
//! This module only parses: it never verifies and never logs. Its result tells the
//! service which verifier to run, or which reason to reject with.

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Uri, header::AUTHORIZATION};
use zeroize::Zeroizing;

/// The scheme label that goes into `auth.scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemeLabel {
    /// `bearer`
    Bearer,
    /// `basic`
    Basic,
    /// `none`: no credentials at all.
    None,
    /// A scheme authgate does not implement, or `unknown` (see [`SchemeName`]).
    Other(SchemeName),
}

impl SchemeLabel {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            SchemeLabel::Bearer => "bearer",
            SchemeLabel::Basic => "basic",
            SchemeLabel::None => "none",
            SchemeLabel::Other(name) => name.as_str(),
        }
    }
}

/// The name of a scheme authgate does not implement, as logged: lower-cased, at
/// most [`SchemeName::MAX_CHARS`] characters (a longer one keeps its first
/// characters and ends with `…`), held inline so that no request allocates for
/// it. `unknown` when the header's first word may be a credential rather than
/// a scheme name (a bare token), which must never reach a log.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SchemeName {
    len: u8,
    bytes: [u8; SchemeName::CAPACITY],
}

impl SchemeName {
    /// Longest logged name, in characters.
    pub(crate) const MAX_CHARS: usize = 32;
    /// 31 ASCII characters and a 3-byte `…`.
    const CAPACITY: usize = Self::MAX_CHARS - 1 + '…'.len_utf8();

    /// `unknown`.
    pub(crate) const UNKNOWN: SchemeName = SchemeName::from_ascii(b"unknown");

    /// `name` (tchar bytes, RFC 9110 §5.6.2: all printable ASCII, so nothing in
    /// it needs escaping in a log) lower-cased and cut.
    const fn from_ascii(name: &[u8]) -> SchemeName {
        let mut bytes = [0u8; Self::CAPACITY];
        let cut = name.len() > Self::MAX_CHARS;
        let keep = if cut { Self::MAX_CHARS - 1 } else { name.len() };
        let mut i = 0;
        while i < keep {
            bytes[i] = name[i].to_ascii_lowercase();
            i += 1;
        }
        let mut len = keep;
        if cut {
            let ellipsis = "…".as_bytes();
            bytes[len] = ellipsis[0];
            bytes[len + 1] = ellipsis[1];
            bytes[len + 2] = ellipsis[2];
            len += 3;
        }
        SchemeName {
            len: len as u8,
            bytes,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Built from ASCII and a whole `…`, so always UTF-8.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("unknown")
    }

    pub(crate) fn is_unknown(&self) -> bool {
        *self == Self::UNKNOWN
    }
}

impl std::fmt::Debug for SchemeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the request carries.
#[derive(PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// No usable `Authorization` field.
    Missing(Missing),
    /// `Bearer <b64token>`, the token already checked against RFC 6750 §2.1.
    Bearer(&'a str),
    /// `Basic <base64(user-id ":" password)>`, decoded.
    Basic(BasicCredentials),
    /// A scheme that is neither Bearer nor Basic.
    Unsupported(SchemeLabel),
    /// A Bearer or Basic header that does not parse.
    Malformed {
        /// Which scheme it claimed to be.
        scheme: SchemeLabel,
        /// A fixed, secret-free sentence saying what is wrong.
        detail: &'static str,
    },
    /// More than one credential.
    Multiple {
        /// The scheme of the first `Authorization` field (`bearer` for header + query).
        scheme: SchemeLabel,
        /// What was duplicated.
        detail: &'static str,
    },
}

impl std::fmt::Debug for Credentials<'_> {
    /// The Bearer token is never printed (`BasicCredentials` redacts itself).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Missing(m) => f.debug_tuple("Missing").field(m).finish(),
            Credentials::Bearer(_) => f.write_str("Bearer([redacted])"),
            Credentials::Basic(c) => f.debug_tuple("Basic").field(c).finish(),
            Credentials::Unsupported(l) => f.debug_tuple("Unsupported").field(l).finish(),
            Credentials::Malformed { scheme, detail } => f
                .debug_struct("Malformed")
                .field("scheme", scheme)
                .field("detail", detail)
                .finish(),
            Credentials::Multiple { scheme, detail } => f
                .debug_struct("Multiple")
                .field("scheme", scheme)
                .field("detail", detail)
                .finish(),
        }
    }
}

/// Why credentials count as missing; each case gets its own hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// No `Authorization` field at all.
    NoHeader,
    /// An `Authorization` field whose value is empty or blank.
    EmptyHeader,
    /// No header, but an `access_token` query parameter (never accepted).
    QueryToken,
}

/// Decoded Basic credentials. `Debug` never shows the password.
#[derive(PartialEq, Eq)]
pub(crate) struct BasicCredentials {
    pub(crate) user: String,
    /// Wiped when dropped (on the hashing thread, after the check).
    pub(crate) password: Zeroizing<String>,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The user-id may be a password typed into the wrong field: redact both.
        f.debug_struct("BasicCredentials")
            .field("user", &"[redacted]")
            .field("password", &"[redacted]")
            .finish()
    }
}

/// What [`parse_unchecked`] found: a Bearer token whose characters are not
/// checked yet, or the final answer. No `Debug`: it holds the token.
pub(crate) enum Parsed<'a> {
    /// `Bearer <token>` in the one `Authorization` field of a request without an
    /// `access_token` query parameter; the token (surrounding spaces removed) is
    /// not yet checked against RFC 6750 §2.1 ([`check_bearer`] does that).
    Bearer(&'a [u8]),
    /// Everything else, final.
    Done(Credentials<'a>),
}

impl<'a> Parsed<'a> {
    /// The final credentials: a Bearer token checked against RFC 6750 §2.1.
    pub(crate) fn checked(self) -> Credentials<'a> {
        match self {
            Parsed::Bearer(token) => match check_bearer(token) {
                Ok(token) => Credentials::Bearer(token),
                Err(detail) => malformed(SchemeLabel::Bearer, detail),
            },
            Parsed::Done(credentials) => credentials,
        }
    }
}

impl<'a> From<Credentials<'a>> for Parsed<'a> {
    fn from(credentials: Credentials<'a>) -> Self {
        Parsed::Done(credentials)
    }
}

/// Reads the credentials of a request from its headers and query.
pub(crate) fn parse<'a>(headers: &'a HeaderMap, uri: &Uri) -> Credentials<'a> {
    parse_unchecked(headers, uri).checked()
}

/// [`parse`], leaving a Bearer token's characters unchecked: the layer first
/// looks the raw token up in its verified-token cache, whose entries are all
/// tokens that passed [`check_bearer`].
pub(crate) fn parse_unchecked<'a>(headers: &'a HeaderMap, uri: &Uri) -> Parsed<'a> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let first = values.next();
    let more = values.next().is_some();
    let query_token = has_query_token(uri);

    let Some(first) = first else {
        return Credentials::Missing(if query_token {
            Missing::QueryToken
        } else {
            Missing::NoHeader
        })
        .into();
    };
    if more {
        return Credentials::Multiple {
            scheme: scheme_label(first),
            detail: "the request has more than one Authorization header field",
        }
        .into();
    }
    if query_token {
        // RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the
        // token in each request."
        return Credentials::Multiple {
            scheme: SchemeLabel::Bearer,
            detail: "the request sends credentials both in the Authorization header and in the access_token query parameter",
        }
        .into();
    }
    parse_value_unchecked(first)
}

/// Parses one `Authorization` field value.
pub(crate) fn parse_value(value: &HeaderValue) -> Credentials<'_> {
    parse_value_unchecked(value).checked()
}

fn parse_value_unchecked(value: &HeaderValue) -> Parsed<'_> {
    // hyper's parser strips leading/trailing OWS (SP / HTAB) before the value
    // reaches us; requests built in-process do not go through it, so trim here too
    // to behave the same in both paths (RFC 9110 §5.5).
    let bytes = trim_ows(value.as_bytes());
    if bytes.is_empty() {
        return Credentials::Missing(Missing::EmptyHeader).into();
    }
    // credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]  (RFC 9110 §11.4)
    let end = bytes
        .iter()
        .position(|&b| !is_tchar(b))
        .unwrap_or(bytes.len());
    let (scheme, rest) = bytes.split_at(end);
    let label = if scheme.eq_ignore_ascii_case(b"bearer") {
        SchemeLabel::Bearer
    } else if scheme.eq_ignore_ascii_case(b"basic") {
        SchemeLabel::Basic
    } else {
        return Credentials::Unsupported(SchemeLabel::Other(other_scheme_name(scheme, rest)))
            .into();
    };
    if !matches!(rest.first(), None | Some(b' ')) {
        return malformed(
            label,
            "the scheme must be followed by a single space and the credentials (RFC 9110 §11.4)",
        )
        .into();
    }
    let rest = trim_leading_sp(rest);
    match label {
        SchemeLabel::Basic => parse_basic(rest).into(),
        _ => Parsed::Bearer(rest),
    }
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// A Bearer token checked against RFC 6750 §2.1, or a fixed, secret-free
/// sentence saying what is wrong with it.
pub(crate) fn check_bearer(token: &[u8]) -> Result<&str, &'static str> {
    check_b64token(token)?;
    // b64token is ASCII, so this cannot fail; kept total rather than panicking.
    std::str::from_utf8(token).map_err(|_| "the Bearer token is not ASCII")
}

/// The b64token characters (RFC 6750 §2.1) as a lookup table: the check runs
/// over every byte of every token.
static B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        i += 1;
    }
    table
};

/// Whether `b` is one of b64token's characters before the padding, as
/// arithmetic rather than a table lookup, so that [`all_b64token`] vectorizes.
#[inline(always)]
fn b64token_byte(b: u8) -> u8 {
    // Non-short-circuit `|` throughout: every comparison becomes a lane op.
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    let dash_dot_slash = b.wrapping_sub(b'-') < 3; // '-' '.' '/'
    u8::from(letter | digit | dash_dot_slash | (b == b'+') | (b == b'_') | (b == b'~'))
}

/// Whether every byte of `bytes` is a b64token character: one reduction without
/// early exit (every byte of a valid token is read anyway), which the compiler
/// turns into vector compares. Tokens are checked on every request,
/// cache hits included.
fn all_b64token(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(0u8, |bad, &b| bad | (b64token_byte(b) ^ 1))
        == 0
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn check_b64token(token: &[u8]) -> Result<(), &'static str> {
    if token.is_empty() {
        return Err("the Bearer token is empty");
    }
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    if body_len == 0 {
        return Err("the Bearer token has no characters before its '=' padding");
    }
    let body = &token[..body_len];
    if all_b64token(body) {
        return Ok(());
    }
    for &b in body {
        if !B64TOKEN[usize::from(b)] {
            return Err(match b {
                b' ' | b'\t' => {
                    "the Bearer credentials contain more than one word; RFC 6750 §2.1 allows exactly one token"
                }
                b'=' => "'=' may only appear at the end of a Bearer token (RFC 6750 §2.1)",
                b',' => {
                    "the Bearer credentials contain a ','; send the token alone, not auth-params"
                }
                b'"' => "the Bearer token is quoted; send it without quotes",
                _ => "the Bearer token contains a character outside the RFC 6750 §2.1 b64token set",
            });
        }
    }
    Ok(())
}

fn parse_basic(encoded: &[u8]) -> Credentials<'static> {
    if encoded.is_empty() {
        return malformed(SchemeLabel::Basic, "the Basic credentials are empty");
    }
    // The decoded `user-id:password` is wiped when dropped, whatever the outcome
    // (a failed decode included); the password keeps this buffer, so there are
    // as many allocations as the user-id and password need, no copy of the password.
    let mut decoded = Zeroizing::new(Vec::new());
    if base64::engine::general_purpose::STANDARD
        .decode_vec(encoded, &mut decoded)
        .is_err()
    {
        return malformed(
            SchemeLabel::Basic,
            "the Basic credentials are not valid base64 (RFC 7617 §2)",
        );
    }
    // RFC 7617 §2: the user-id cannot contain ':'; the first ':' splits.
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return malformed(
            SchemeLabel::Basic,
            "the decoded Basic credentials have no ':' between user-id and password",
        );
    };
    // The challenge announces charset="UTF-8" (RFC 7617 §2.1).
    const NOT_UTF8: &str = "the Basic user-id or password is not valid UTF-8 (the challenge announces charset=\"UTF-8\")";
    // The user-id outlives the request (events, the principal): a copy of its
    // bytes alone.
    let Ok(user) = std::str::from_utf8(&decoded[..colon]).map(str::to_owned) else {
        return malformed(SchemeLabel::Basic, NOT_UTF8);
    };
    decoded.drain(..=colon);
    let password = match String::from_utf8(std::mem::take(&mut *decoded)) {
        Ok(password) => Zeroizing::new(password),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            return malformed(SchemeLabel::Basic, NOT_UTF8);
        }
    };
    if user.chars().any(char::is_control) {
        return malformed(
            SchemeLabel::Basic,
            "the Basic user-id contains a control character (RFC 7617 §2)",
        );
    }
    Credentials::Basic(BasicCredentials { user, password })
}

fn malformed(scheme: SchemeLabel, detail: &'static str) -> Credentials<'static> {
    Credentials::Malformed { scheme, detail }
}

/// The scheme label of a header value, for `multiple_credentials`.
fn scheme_label(value: &HeaderValue) -> SchemeLabel {
    match parse_value(value) {
        Credentials::Bearer(_) => SchemeLabel::Bearer,
        Credentials::Basic(_) => SchemeLabel::Basic,
        Credentials::Malformed { scheme, .. } | Credentials::Multiple { scheme, .. } => scheme,
        Credentials::Unsupported(label) => label,
        Credentials::Missing(_) => SchemeLabel::None,
    }
}

/// The logged name of a scheme that is neither Bearer nor Basic: `scheme` is the
/// header's leading run of tchar, `rest` what follows it.
///
/// Only a word followed by a space is a scheme name (`auth-scheme 1*SP …`, RFC
/// 9110 §11.4), and only a name from [`KNOWN_SCHEMES`] is logged. Anything else
/// is `unknown`: a value with no space after its first word is more often a token
/// sent without its scheme than a scheme sent alone, and a first word followed by
/// a space may still be a credential (`<api-key> x`, a password pasted in the
/// wrong field). A credential must never reach a log, so a word authgate does not
/// know is never written.
fn other_scheme_name(scheme: &[u8], rest: &[u8]) -> SchemeName {
    if rest.first() != Some(&b' ')
        || !KNOWN_SCHEMES
            .iter()
            .any(|known| known.as_bytes().eq_ignore_ascii_case(scheme))
    {
        return SchemeName::UNKNOWN;
    }
    SchemeName::from_ascii(scheme)
}

/// Scheme names logged as such when they are not enabled: the IANA HTTP
/// Authentication Scheme Registry (RFC 9110 §16.4.1) and the unregistered names
/// clients commonly send by mistake (`Token`, `JWT`, `ApiKey`, vendor schemes).
const KNOWN_SCHEMES: &[&str] = &[
    // IANA registry.
    "basic",
    "bearer",
    "concealed",
    "digest",
    "dpop",
    "gnap",
    "hoba",
    "mutual",
    "negotiate",
    "oauth",
    "privatetoken",
    "scram-sha-1",
    "scram-sha-256",
    "vapid",
    // Common outside the registry.
    "access-token",
    "api-key",
    "apikey",
    "aws4-hmac-sha256",
    "hawk",
    "hmac",
    "jwt",
    "kerberos",
    "key",
    "mac",
    "ntlm",
    "signature",
    "ssws",
    "token",
];

pub(crate) fn has_query_token(uri: &Uri) -> bool {
    let Some(query) = uri.query() else {
        return false;
    };
    // Matched after form-urlencoded decoding, so `access%5Ftoken` counts.
    form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "access_token")
}

fn trim_ows(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

fn trim_leading_sp(mut b: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = b {
        b = rest;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_b64token_check_agrees_with_the_table() {
        for b in 0..=255u8 {
            assert_eq!(
                b64token_byte(b) == 1,
                B64TOKEN[usize::from(b)],
                "byte {b:#x}"
            );
        }
        // Every position of every chunk length: one bad byte is found.
        for len in [1usize, 31, 32, 33, 64, 95, 650] {
            let good = vec![b'A'; len];
            assert!(all_b64token(&good));
            for at in 0..len {
                for bad in [b' ', b'=', 0x80, b'"', 0] {
                    let mut t = good.clone();
                    t[at] = bad;
                    assert!(!all_b64token(&t), "len {len} at {at} byte {bad:#x}");
                }
            }
        }
    }

    fn hv(s: &[u8]) -> HeaderValue {
        HeaderValue::from_bytes(s).unwrap()
    }

    fn parse_one(s: &[u8]) -> Credentials<'static> {
        let v = Box::leak(Box::new(hv(s)));
        parse_value(v)
    }

    fn reason_of(c: &Credentials<'_>) -> &'static str {
        match c {
            Credentials::Missing(_) => "missing",
            Credentials::Bearer(_) => "bearer",
            Credentials::Basic(_) => "basic",
            Credentials::Unsupported(_) => "unsupported",
            Credentials::Malformed { .. } => "malformed",
            Credentials::Multiple { .. } => "multiple",
        }
    }

    #[test]
    fn table() {
        struct Case {
            name: &'static str,
            value: &'static [u8],
            want: &'static str,
        }
        let cases = [
            Case {
                name: "plain",
                value: b"Bearer abc.def.ghi",
                want: "bearer",
            },
            Case {
                name: "lower-case scheme",
                value: b"bearer abc",
                want: "bearer",
            },
            Case {
                name: "upper-case scheme",
                value: b"BEARER abc",
                want: "bearer",
            },
            Case {
                name: "two spaces",
                value: b"Bearer  abc",
                want: "bearer",
            },
            Case {
                name: "padding",
                value: b"Bearer abc==",
                want: "bearer",
            },
            Case {
                name: "all b64token chars",
                value: b"Bearer aZ09-._~+/=",
                want: "bearer",
            },
            Case {
                name: "surrounding OWS",
                value: b" \tBearer abc \t",
                want: "bearer",
            },
            Case {
                name: "empty",
                value: b"",
                want: "missing",
            },
            Case {
                name: "blank",
                value: b"   ",
                want: "missing",
            },
            Case {
                name: "scheme only",
                value: b"Bearer",
                want: "malformed",
            },
            Case {
                name: "scheme and space",
                value: b"Bearer ",
                want: "malformed",
            },
            Case {
                name: "two words",
                value: b"Bearer abc def",
                want: "malformed",
            },
            Case {
                name: "comma",
                value: b"Bearer abc,def",
                want: "malformed",
            },
            Case {
                name: "quoted",
                value: b"Bearer \"abc\"",
                want: "malformed",
            },
            Case {
                name: "mid padding",
                value: b"Bearer ab==c",
                want: "malformed",
            },
            Case {
                name: "only padding",
                value: b"Bearer ==",
                want: "malformed",
            },
            Case {
                name: "obs-text",
                value: b"Bearer ab\xffc",
                want: "malformed",
            },
            Case {
                name: "tab separator",
                value: b"Bearer\tabc",
                want: "malformed",
            },
            Case {
                name: "colon separator",
                value: b"Bearer:abc",
                want: "malformed",
            },
            Case {
                name: "digest",
                value: b"Digest username=\"x\"",
                want: "unsupported",
            },
            Case {
                name: "bare token",
                value: b"eyJhbGciOi.x.y",
                want: "unsupported",
            },
            Case {
                name: "basic ok",
                value: b"Basic YWxpY2U6c2VjcmV0",
                want: "basic",
            },
            Case {
                name: "basic no colon",
                value: b"Basic YWxpY2U=",
                want: "malformed",
            },
            Case {
                name: "basic bad b64",
                value: b"Basic !!!",
                want: "malformed",
            },
            Case {
                name: "basic empty",
                value: b"Basic",
                want: "malformed",
            },
        ];
        for case in cases {
            let got = parse_one(case.value);
            assert_eq!(reason_of(&got), case.want, "{}", case.name);
        }
    }

    #[test]
    fn bearer_token_is_returned_whole() {
        assert_eq!(
            parse_one(b"bEaReR  a.b.c=="),
            Credentials::Bearer("a.b.c==")
        );
    }

    #[test]
    fn basic_splits_on_first_colon_and_keeps_the_rest() {
        // "alice:pa:ss" — the password may contain ':' (RFC 7617 §2).
        let Credentials::Basic(c) = parse_one(b"Basic YWxpY2U6cGE6c3M=") else {
            panic!("not basic")
        };
        assert_eq!(c.user, "alice");
        assert_eq!(c.password.as_str(), "pa:ss");
    }

    #[test]
    fn basic_password_is_wiped_on_drop_and_not_left_behind_the_user_id() {
        fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}
        // "alice:hunter2"
        let Credentials::Basic(c) = parse_one(b"Basic YWxpY2U6aHVudGVyMg==") else {
            panic!("not basic")
        };
        assert_eq!((c.user.as_str(), c.password.as_str()), ("alice", "hunter2"));
        wiped_on_drop(&c.password);
        // The user-id outlives the request (in events and the principal): its
        // buffer holds the user-id alone, not the password in spare capacity.
        assert_eq!(c.user.capacity(), c.user.len());
    }

    #[test]
    fn basic_utf8_user_and_non_utf8_rejected() {
        // "jürgen:pw"
        let Credentials::Basic(c) = parse_one(b"Basic asO8cmdlbjpwdw==") else {
            panic!("not basic")
        };
        assert_eq!(c.user, "jürgen");
        // 0xff 0x3a 0x70 => "\xff:p"
        assert_eq!(reason_of(&parse_one(b"Basic /zpw")), "malformed");
    }

    #[test]
    fn unknown_single_words_are_not_logged_as_schemes() {
        let label = |v: &[u8]| match parse_one(v) {
            Credentials::Unsupported(label) => label.as_str().to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(label(b"eyJhbGciOiJIUzI1NiJ9.e30.sig"), "unknown");
        assert_eq!(label(b"eyJhbGciOiJIUzI1NiJ9.e30.sig more"), "unknown");
        assert_eq!(label(b"c2VjcmV0=="), "unknown");
        assert_eq!(label(b"Negotiate"), "unknown");
        assert_eq!(label(b"Digest\tx=1"), "unknown");
        assert_eq!(label(b"DIGEST x=1"), "digest");
        assert_eq!(label(b"Token abc"), "token");
        assert_eq!(label(b"dpop abc"), "dpop");
        // A word followed by a space may be a credential: only known names.
        assert_eq!(label(b"X-Custom credential"), "unknown");
        assert_eq!(label(b"sk_live_51HcQwErTy7uIoP x"), "unknown");
        assert_eq!(label(b"hunter2 x"), "unknown");
        let long = format!("{} x", "Ab".repeat(50));
        assert_eq!(label(long.as_bytes()), "unknown");
        // Names are cut to MAX_CHARS with an ellipsis.
        let cut = SchemeName::from_ascii("Ab".repeat(50).as_bytes());
        assert_eq!(cut.as_str(), format!("{}…", &"ab".repeat(16)[..31]));
        assert_eq!(cut.as_str().chars().count(), SchemeName::MAX_CHARS);
        let exact = SchemeName::from_ascii("Q".repeat(32).as_bytes());
        assert_eq!(exact.as_str(), "q".repeat(32));
    }

    #[test]
    fn multiple_fields_and_query_tokens() {
        let mut headers = HeaderMap::new();
        headers.append(AUTHORIZATION, hv(b"Basic YWxpY2U6c2VjcmV0"));
        headers.append(AUTHORIZATION, hv(b"Bearer abc"));
        let uri: Uri = "/x".parse().unwrap();
        assert_eq!(
            parse(&headers, &uri),
            Credentials::Multiple {
                scheme: SchemeLabel::Basic,
                detail: "the request has more than one Authorization header field"
            }
        );

        let uri: Uri = "/x?a=1&access%5Ftoken=zzz".parse().unwrap();
        assert_eq!(
            parse(&HeaderMap::new(), &uri),
            Credentials::Missing(Missing::QueryToken)
        );
        let mut one = HeaderMap::new();
        one.append(AUTHORIZATION, hv(b"Bearer abc"));
        assert!(matches!(
            parse(&one, &uri),
            Credentials::Multiple {
                scheme: SchemeLabel::Bearer,
                ..
            }
        ));
        let uri: Uri = "/x?not_access_token=1".parse().unwrap();
        assert_eq!(parse(&one, &uri), Credentials::Bearer("abc"));
    }

    #[test]
    fn bearer_debug_is_redacted() {
        let s = format!("{:?}", parse_one(b"Bearer abc.def.secret-signature"));
        assert_eq!(s, "Bearer([redacted])");
    }

    #[test]
    fn basic_debug_is_redacted() {
        let c = BasicCredentials {
            user: "alice".into(),
            password: Zeroizing::new("hunter2".into()),
        };
        let s = format!("{c:?}");
        assert!(!s.contains("alice") && !s.contains("hunter2"), "{s}");
    }
}
