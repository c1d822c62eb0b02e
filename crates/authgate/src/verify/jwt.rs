//! Bearer JWT verification (RFC 7515, RFC 7519, RFC 8725), in this order:
//! structure → `alg` allow-list → key selection → signature → claim presence and
//! types → `exp` → `nbf` → `iat` → `iss` → `aud` → revocation.
//!
//! The token is parsed once, here, with strict JSON. jsonwebtoken does the
//! signature check (its verifiers, prepared once per key and thread:
//! `verify::prepared`); everything it leaves to the
//! caller (`nbf`, `iat`, `crit`, `exp == now`, mistyped `iss`/`aud`, `alg: none`
//! reporting, duplicate JSON members) is done here.

// `Failure` carries every field of the rejection event; it travels only on the
// rejection path, where its size costs nothing next to building a response.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use serde_json::Value;

use crate::config::{JwtConfig, RevocationCheck};
use crate::credentials::SchemeLabel;
use crate::event::sanitize_for_message as clean;
use crate::principal::{Principal, Subject};
use crate::reason::Reason;
use crate::rejection::Failure;
use crate::verify::cache::TimeClaims;
use crate::verify::json::{Claims, Header, Member, parse_claims, parse_header};
use crate::verify::keys::{Algorithm, JwtKey};
use crate::verify::prepared;
use crate::verify::remote::Snapshot;

/// A token whose signature and claims verified, as a principal; with what the
/// token cache needs when it was asked for.
#[derive(Debug)]
pub(crate) struct VerifiedJwt {
    pub(crate) principal: Principal,
    pub(crate) cache: Option<ForCache>,
}

/// What a token cache entry keeps besides the principal: the success event's
/// fields and the `jti` for the revocation check on hits.
#[derive(Debug)]
pub(crate) struct ForCache {
    pub(crate) kid: Option<String>,
    pub(crate) iss: Option<String>,
    pub(crate) jti: Option<String>,
    pub(crate) time: TimeClaims,
}

/// Verifies Bearer JWTs against one [`JwtConfig`].
#[derive(Debug)]
pub(crate) struct JwtVerifier {
    cfg: JwtConfig,
    /// `cfg.scope_claim`, shared with every principal.
    scope_claim: Arc<str>,
    leeway: u64,
    /// `required_claims` plus `iss`/`aud` when issuers/audiences are configured.
    required: Vec<String>,
}

/// Time claims closer than this to "now" count as clock skew in hints.
const SKEW_HINT_SECS: i64 = 600;

fn fail(reason: Reason, detail: impl Into<Cow<'static, str>>) -> Failure {
    Failure::new(reason, SchemeLabel::Bearer, detail)
}

fn malformed(detail: &'static str) -> Failure {
    fail(Reason::TokenMalformed, detail)
}

impl JwtVerifier {
    pub(crate) fn new(cfg: JwtConfig, leeway: u64) -> Self {
        let mut required = cfg.required_claims.clone();
        for (claim, on) in [
            ("iss", !cfg.issuers.is_empty()),
            ("aud", !cfg.audiences.is_empty()),
        ] {
            if on && !required.iter().any(|c| c == claim) {
                required.push(claim.to_owned());
            }
        }
        JwtVerifier {
            scope_claim: cfg.scope_claim.as_str().into(),
            cfg,
            leeway,
            required,
        }
    }

    /// Verifies `token` at time `now` (unix seconds); on success emits the
    /// `authenticated` event. `for_cache`: also return what a cache entry keeps.
    pub(crate) fn verify(
        &self,
        token: &str,
        now: u64,
        revocation: Option<&RevocationCheck>,
        remote: Option<&Snapshot>,
        for_cache: bool,
    ) -> Result<VerifiedJwt, Failure> {
        // 1. Structure: three base64url segments, each JSON part a strict object.
        let mut segments = token.split('.');
        let (Some(h64), Some(p64), Some(s64), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            let n = token.split('.').count();
            return Err(if n == 5 {
                malformed("the token has 5 segments: a JWE (encrypted JWT), which is not supported")
            } else {
                fail(
                    Reason::TokenMalformed,
                    format!(
                        "a JWT has 3 dot-separated segments (RFC 7515 §7.1); this token has {n}"
                    ),
                )
            });
        };
        // The header is short: decoded on the stack when it fits.
        let mut header_buf = [0u8; 256];
        let header_vec;
        let header: &[u8] = if h64.len() / 4 * 3 + 3 <= header_buf.len() {
            URL_SAFE_NO_PAD
                .decode_slice(h64, &mut header_buf)
                .ok()
                .map(|n| &header_buf[..n])
        } else {
            header_vec = URL_SAFE_NO_PAD.decode(h64).ok();
            header_vec.as_deref()
        }
        .ok_or_else(|| malformed("the JOSE header is not unpadded base64url (RFC 7515 §2)"))?;
        let header = parse_header(header).map_err(|_| {
            malformed("the JOSE header is not a JSON object (or repeats a member name)")
        })?;
        let payload = URL_SAFE_NO_PAD
            .decode(p64)
            .map_err(|_| malformed("the payload is not unpadded base64url (RFC 7515 §2)"))?;
        // Decoded into this thread's reused buffer (jsonwebtoken's verifiers take
        // a `&Vec<u8>`): no allocation per request.
        let mut signature = prepared::SignatureBuf::take();
        URL_SAFE_NO_PAD
            .decode_vec(s64, &mut signature)
            .map_err(|_| malformed("the signature is not unpadded base64url (RFC 7515 §2)"))?;
        let alg_name = match &header.alg {
            Member::Str(s) => &**s,
            Member::Absent => return Err(malformed("the header has no alg (RFC 7515 §4.1.1)")),
            _ => return Err(malformed("the header's alg is not a string")),
        };
        let kid = match &header.kid {
            Member::Absent => None,
            Member::Str(s) => Some(&**s),
            _ => {
                return Err(with_header(
                    malformed("the header's kid is not a string"),
                    alg_name,
                    None,
                ));
            }
        };
        let annotate = |f: Failure| with_header(f, alg_name, kid);
        check_header(&header).map_err(annotate)?;
        // The scope claim is read when a handler or `RequireScopes` asks
        // (`Principal::scopes`), not here.
        let claims = parse_claims(&payload, None).map_err(|_| {
            annotate(malformed(
                "the payload is not a JSON object (or repeats a member name)",
            ))
        })?;

        // 2. Algorithm allow-list. `alg` is case-sensitive (RFC 7515 §4.1.1).
        let alg = match alg_name.parse::<Algorithm>() {
            Ok(alg) if self.cfg.algorithms.contains(&alg) => alg,
            parsed => return Err(annotate(self.alg_not_allowed(alg_name, parsed.ok()))),
        };

        // 3. Key selection, 4. signature.
        let message = &token[..h64.len() + 1 + p64.len()];
        self.check_signature(alg, kid, remote, message, &signature)
            .map_err(annotate)?;

        // From here on the claims are verified and may be logged.
        let verified = |f: Failure| annotate(with_verified_claims(f, &claims));
        let time = self
            .check_claims(&claims, now, revocation)
            .map_err(verified)?;
        crate::event::authenticated("bearer", claims.sub.as_str(), kid, claims.iss.as_str());
        let text = |m: &Member<'_>| m.as_str().map(str::to_owned);
        let cache = for_cache.then(|| ForCache {
            kid: kid.map(str::to_owned),
            iss: text(&claims.iss),
            jti: text(&claims.jti),
            time,
        });
        let subject = Subject::locate(&payload, claims.sub.as_str());
        drop(claims);
        Ok(VerifiedJwt {
            principal: Principal::from_jwt(payload, subject, Arc::clone(&self.scope_claim)),
            cache,
        })
    }

    fn alg_not_allowed(&self, alg: &str, parsed: Option<Algorithm>) -> Failure {
        let allowed: Vec<&str> = self.cfg.algorithms.iter().map(|a| a.as_str()).collect();
        let allowed = allowed.join(", ");
        if alg.eq_ignore_ascii_case("none") {
            return fail(
                Reason::AlgorithmNotAllowed,
                "the token is unsigned (alg none); unsigned tokens are never accepted (RFC 8725 §3.2)",
            )
            .hint("the client sent an unsigned token: a forged token, or a test token from a tool configured without a key");
        }
        let f = fail(
            Reason::AlgorithmNotAllowed,
            format!("the token's alg is not in the allow-list [{allowed}]"),
        );
        match parsed {
            Some(alg) => f.hint(format!(
                "if the issuer really signs with {alg}, add it to bearer.jwt.algorithms (in code: JwtConfig::new) with a matching key"
            )),
            None => f.hint("the alg is not a JWS algorithm authgate supports (names are case-sensitive)"),
        }
    }

    /// Key selection (the `kid` header, RFC 7515 §4.1.4) and the signature: the
    /// keys with the token's `kid` (all keys without one) that fit `alg`, static
    /// keys first, then the remote set's, in order; the first that verifies wins.
    fn check_signature(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        remote: Option<&Snapshot>,
        message: &str,
        signature: &Vec<u8>,
    ) -> Result<(), Failure> {
        let remote_keys = remote.map_or(&[][..], |r| r.keys.as_slice());
        let candidates = self
            .cfg
            .keys
            .iter()
            .chain(remote_keys)
            .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)) && k.fits(alg));
        let mut tried = 0usize;
        let mut other = None;
        for key in candidates {
            tried += 1;
            match prepared::verify(key, alg, message.as_bytes(), signature) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => match reason_for_error(e.kind()) {
                    Reason::SignatureInvalid => {}
                    reason => other = Some(reason),
                },
            }
        }
        if tried == 0 {
            return Err(self.no_key(alg, kid, remote_keys));
        }
        Err(match other {
            Some(reason) if tried == 1 => fail(reason, "the signature could not be checked"),
            _ => fail(Reason::SignatureInvalid, "the signature does not verify with the configured key")
                .hint("the token was signed by another key: check that the issuer's signing key matches the configured public key or secret (and secret_encoding)"),
        })
    }

    /// Why no key could be selected (`unknown_key`).
    fn no_key(&self, alg: Algorithm, kid: Option<&str>, remote_keys: &[JwtKey]) -> Failure {
        let keys = || self.cfg.keys.iter().chain(remote_keys);
        let missing = |mut f: Failure| {
            f.key_missing = true;
            f
        };
        let Some(kid) = kid else {
            return missing(fail(
                Reason::UnknownKey,
                format!(
                    "no configured key fits {alg}, which needs {}",
                    alg.key_type().describe()
                ),
            ));
        };
        match keys().find(|k| k.kid.as_deref() == Some(kid)) {
            // A key has the kid, but none with it fits the algorithm.
            Some(named) => fail(
                Reason::UnknownKey,
                format!(
                    "the key with the token's kid is {}, but {alg} needs {}",
                    named.key_type.describe(),
                    alg.key_type().describe()
                ),
            )
            .hint("the token's alg does not match its key: a forged token (algorithm confusion) or a misconfigured issuer"),
            None => {
                let known: Vec<String> =
                    keys().filter_map(|k| k.kid.as_deref()).map(clean).collect();
                let f = fail(Reason::UnknownKey, "no configured key has the token's kid");
                missing(if known.is_empty() {
                    f.hint("the token names a kid but none of the configured keys has one; set kid on the key that should verify it")
                } else {
                    f.hint(format!(
                        "known kids: {}; the issuer may have rotated its keys, or the token comes from another issuer or environment",
                        known.join(", ")
                    ))
                })
            }
        }
    }

    /// The claim checks, in order (presence and types, `exp`, `nbf`, `iat`,
    /// `iss`, `aud`); on success the time claims (for the token cache's
    /// re-checks).
    fn check_claims(
        &self,
        claims: &Claims<'_>,
        now: u64,
        revocation: Option<&RevocationCheck>,
    ) -> Result<TimeClaims, Failure> {
        // Presence of required claims.
        for name in &self.required {
            if !claims.contains(name) {
                let mut f = fail(
                    Reason::MissingClaim,
                    format!("the token has no {} claim, which is required", clean(name)),
                );
                if name == "iss" && !self.cfg.issuers.is_empty() {
                    f.expected = Some(self.cfg.issuers.join(" "));
                    f.detail = format!(
                        "the token has no iss claim; expected {}",
                        self.cfg.issuers.join(" or ")
                    )
                    .into();
                } else if name == "aud" && !self.cfg.audiences.is_empty() {
                    f.expected = Some(self.cfg.audiences.join(" "));
                    f.detail = format!(
                        "the token has no aud claim; expected {}",
                        self.cfg.audiences.join(" or ")
                    )
                    .into();
                }
                return Err(f);
            }
        }
        // Types of the registered claims that are present (RFC 7519 §4.1).
        let mut time = [None; 3];
        for (slot, (name, member)) in time.iter_mut().zip([
            ("exp", &claims.exp),
            ("nbf", &claims.nbf),
            ("iat", &claims.iat),
        ]) {
            match member {
                Member::Absent => {}
                Member::Num(Some(t)) => *slot = Some(*t),
                other => {
                    return Err(fail(
                        Reason::MissingClaim,
                        format!(
                            "the {name} claim is {}, not a NumericDate (a non-negative number of seconds)",
                            if matches!(other, Member::Num(None)) {
                                "a number out of range"
                            } else {
                                other.describe()
                            }
                        ),
                    ));
                }
            }
        }
        let [exp, nbf, iat] = time;
        for (name, member) in [
            ("iss", &claims.iss),
            ("sub", &claims.sub),
            ("jti", &claims.jti),
        ] {
            if !matches!(member, Member::Absent | Member::Str(_)) {
                return Err(fail(
                    Reason::MissingClaim,
                    format!(
                        "the {name} claim is {}, not a string (RFC 7519 §4.1)",
                        member.describe()
                    ),
                ));
            }
        }
        let aud = match &claims.aud {
            Member::Absent => None,
            member => Some(audiences(member).ok_or_else(|| {
                fail(
                    Reason::MissingClaim,
                    format!("the aud claim is {}, not a string or an array of strings (RFC 7519 §4.1.3)", member.describe()),
                )
            })?),
        };

        let leeway = self.leeway;
        let signed = |a: u64, b: u64| {
            (i128::from(a) - i128::from(b)).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
        };
        // exp: RFC 7519 §4.1.4 — now must be *before* exp, so now == exp is expired.
        if let Some(exp) = exp
            && now >= exp.saturating_add(leeway)
        {
            let ago = signed(now, exp);
            let mut f = fail(
                Reason::TokenExpired,
                format!("token expired {ago} s ago (leeway {leeway} s)"),
            );
            f.skew_secs = Some(ago);
            return Err(if ago > 86_400 {
                f.hint("expired more than a day ago: the client reuses an old token instead of refreshing it")
            } else {
                f.hint("the client should refresh the token before exp; if it was just issued, compare the issuer's clock with this server's")
            });
        }
        // nbf: RFC 7519 §4.1.5 — now must be after or equal to nbf.
        if let Some(nbf) = nbf
            && now.saturating_add(leeway) < nbf
        {
            let ahead = signed(nbf, now);
            let mut f = fail(
                Reason::TokenNotYetValid,
                format!("token not valid for another {ahead} s (nbf; leeway {leeway} s)"),
            );
            f.skew_secs = Some(ahead);
            return Err(skew_hint(f, ahead, leeway));
        }
        // iat: checked whenever present; jsonwebtoken never does.
        if let Some(iat) = iat
            && now.saturating_add(leeway) < iat
        {
            let ahead = signed(iat, now);
            let mut f = fail(
                Reason::TokenIssuedInFuture,
                format!("token issued {ahead} s in the future (iat; leeway {leeway} s)"),
            );
            f.skew_secs = Some(ahead);
            return Err(skew_hint(f, ahead, leeway));
        }
        if !self.cfg.issuers.is_empty()
            && let Some(iss) = claims.iss.as_str()
            && !self.cfg.issuers.iter().any(|i| i == iss)
        {
            let mut f = fail(
                Reason::IssuerMismatch,
                format!("issuer \"{}\" is not accepted", clean(iss)),
            );
            f.expected = Some(self.cfg.issuers.join(" "));
            return Err(f.hint(issuer_hint(iss, &self.cfg.issuers)));
        }
        if let Some(aud) = aud {
            self.check_audience(aud)?;
        }
        if let (Some(check), Some(jti)) = (revocation, claims.jti.as_str())
            && check(jti)
        {
            return Err(fail(
                Reason::TokenRevoked,
                "the token's id (jti) is revoked",
            ));
        }
        Ok(TimeClaims { exp, nbf, iat })
    }

    fn check_audience(&self, aud: &[Cow<'_, str>]) -> Result<(), Failure> {
        let expected = &self.cfg.audiences;
        if expected.is_empty() {
            if aud.is_empty() {
                return Ok(());
            }
            // RFC 7519 §4.1.3: a recipient that does not identify itself with a
            // value in `aud` MUST reject the token.
            return Err(fail(
                Reason::AudienceMismatch,
                "the token is meant for an audience, but this server has no audience configured (RFC 7519 §4.1.3)",
            )
            .hint(format!(
                "set bearer.jwt.audience (in code: JwtConfig::audience) to this API's identifier (\"{}\" if this token is meant for it)",
                clean(&aud[0])
            )));
        }
        if aud.iter().any(|a| expected.iter().any(|e| e == a)) {
            return Ok(());
        }
        let shown: Vec<String> = aud.iter().map(|a| clean(a)).collect();
        let mut f = fail(
            Reason::AudienceMismatch,
            if aud.is_empty() {
                "the token's aud is an empty array".to_owned()
            } else {
                format!("audience \"{}\" is not accepted", shown.join("\" \""))
            },
        );
        f.expected = Some(expected.join(" "));
        Err(f.hint(format!(
            "the token was issued for another API or environment (staging vs production?); request a token for \"{}\"{}",
            expected.join("\" or \""),
            if aud.is_empty() { String::new() } else { format!(" or add \"{}\" to bearer.jwt.audience (JwtConfig::audience)", shown.join("\", \"")) }
        )))
    }
}

/// Header parameters authgate refuses (RFC 7515 §4.1, RFC 7519 §5, RFC 8725 §3.11).
/// `jku`, `x5u`, `x5c` and `jwk` are ignored: never followed, never trusted.
fn check_header(header: &Header<'_>) -> Result<(), Failure> {
    if header.crit {
        // RFC 7515 §4.1.11: a recipient that does not understand a listed
        // extension MUST reject the JWS. authgate understands none.
        return Err(malformed(
            "the header lists critical extensions (crit) that authgate does not implement (RFC 7515 §4.1.11)",
        ));
    }
    if header.b64 {
        return Err(malformed(
            "unencoded payloads (b64, RFC 7797) are not supported",
        ));
    }
    if header.enc {
        return Err(malformed(
            "the token is a JWE (encrypted JWT), which is not supported",
        ));
    }
    match &header.cty {
        Member::Absent => {}
        Member::Str(cty) if cty.eq_ignore_ascii_case("jwt") => {
            return Err(malformed(
                "nested JWTs (cty JWT, RFC 7519 §5.2) are not supported",
            ));
        }
        Member::Str(_) => {}
        _ => return Err(malformed("the header's cty is not a string")),
    }
    match &header.typ {
        Member::Absent => Ok(()),
        Member::Str(typ) => {
            // RFC 7519 §5.1 / RFC 9068 §2.1, compared case-insensitively (RFC 7515 §4.1.9).
            const ACCEPTED: [&str; 4] = ["jwt", "at+jwt", "application/jwt", "application/at+jwt"];
            if ACCEPTED.iter().any(|t| typ.eq_ignore_ascii_case(t)) {
                Ok(())
            } else {
                Err(malformed(
                    "the header's typ is not JWT or at+jwt: not an access token (e.g. a DPoP proof or logout token, RFC 8725 §3.11)",
                ))
            }
        }
        _ => Err(malformed("the header's typ is not a string")),
    }
}

/// Maps a jsonwebtoken error from the signature step to a reason. Anything it
/// reports about the signature or key material means "did not verify"; anything
/// else is a verifier failure.
pub(crate) fn reason_for_error(kind: &ErrorKind) -> Reason {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::Base64(_) => Reason::SignatureInvalid,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => Reason::AlgorithmNotAllowed,
        ErrorKind::InvalidToken | ErrorKind::Json(_) | ErrorKind::Utf8(_) => Reason::TokenMalformed,
        _ => Reason::InternalError,
    }
}

fn with_header(mut f: Failure, alg: &str, kid: Option<&str>) -> Failure {
    f.jwt_alg = Some(alg.to_owned());
    f.jwt_kid = kid.map(str::to_owned);
    f
}

fn with_verified_claims(mut f: Failure, claims: &Claims<'_>) -> Failure {
    f.jwt_iss = claims.iss.as_str().map(str::to_owned);
    f.jwt_sub = claims.sub.as_str().map(str::to_owned);
    f.jwt_aud = audiences(&claims.aud).map(|a| a.join(" "));
    f
}

fn skew_hint(f: Failure, ahead: i64, leeway: u64) -> Failure {
    if ahead <= SKEW_HINT_SECS {
        f.hint(format!(
            "only {ahead} s ahead: probably clock skew between the issuer and this server; sync both with NTP or raise leeway_secs (in code: AuthConfigBuilder::leeway_secs; now {leeway})"
        ))
    } else {
        f.hint(
            "far in the future: the issuer's clock is wrong, or the token was minted for later use",
        )
    }
}

fn issuer_hint(iss: &str, expected: &[String]) -> String {
    let trim = |s: &str| s.trim_end_matches('/').to_owned();
    if expected.iter().any(|e| trim(e) == trim(iss)) {
        "the issuers differ only in a trailing slash; iss is compared exactly (RFC 7519 §7.3), so configure bearer.jwt.issuer (JwtConfig::issuer) exactly as tokens carry it".to_owned()
    } else if expected.iter().any(|e| e.eq_ignore_ascii_case(iss)) {
        "the issuers differ only in letter case; iss is compared exactly (RFC 7519 §7.3)".to_owned()
    } else {
        format!(
            "the token comes from another issuer: often a token from another environment (staging vs production) or tenant; use a token from {} or add this issuer to bearer.jwt.issuer (JwtConfig::issuer)",
            expected.join(" or ")
        )
    }
}

/// `aud` as a list: a string, or an array of strings (RFC 7519 §4.1.3).
fn audiences<'m, 'a>(m: &'m Member<'a>) -> Option<&'m [Cow<'a, str>]> {
    match m {
        Member::Str(s) => Some(std::slice::from_ref(s)),
        Member::Strs(items) => Some(items),
        _ => None,
    }
}

/// Scopes from the scope claim `path` (a claim name or a dotted path into nested
/// objects), given the value of its first segment: a space-separated string
/// (RFC 6749 §3.3: split on U+0020 only) or an array of strings. Any other shape
/// grants nothing.
pub(crate) fn scopes_of(root: Option<&Value>, path: &str) -> Vec<String> {
    let mut value = root;
    for part in path.split('.').skip(1) {
        value = value.and_then(|v| v.get(part));
    }
    match value {
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `exp` as parsed: `Ok(Some(t))` a NumericDate, `Ok(None)` another number,
    /// `Err(type)` not a number.
    fn exp_of(json: &str) -> Result<Option<u64>, &'static str> {
        let doc = format!("{{\"exp\":{json}}}");
        match parse_claims(doc.as_bytes(), None).unwrap().exp {
            Member::Num(t) => Ok(t),
            other => Err(other.describe()),
        }
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(exp_of("0"), Ok(Some(0)));
        assert_eq!(exp_of("1700000000.5"), Ok(Some(1_700_000_001)));
        assert_eq!(exp_of(&u64::MAX.to_string()), Ok(Some(u64::MAX)));
        assert_eq!(exp_of("-1"), Ok(None));
        assert_eq!(exp_of("-1.5"), Ok(None));
        assert_eq!(exp_of("1e300"), Ok(None));
        assert_eq!(exp_of("\"1700000000\""), Err("a string"));
        assert_eq!(exp_of("null"), Err("null"));
        assert_eq!(exp_of("true"), Err("a boolean"));
        assert_eq!(exp_of("{}"), Err("an object"));
        assert_eq!(exp_of("[1]"), Err("an array"));
    }

    #[test]
    fn error_kinds_map_to_reasons() {
        assert_eq!(
            reason_for_error(&ErrorKind::InvalidSignature),
            Reason::SignatureInvalid
        );
        assert_eq!(
            reason_for_error(&ErrorKind::InvalidKeyFormat),
            Reason::SignatureInvalid
        );
        assert_eq!(
            reason_for_error(&ErrorKind::InvalidAlgorithm),
            Reason::AlgorithmNotAllowed
        );
        assert_eq!(
            reason_for_error(&ErrorKind::InvalidToken),
            Reason::TokenMalformed
        );
        // The forced `_` arm: anything unexpected is a verifier failure, never a pass.
        assert_eq!(
            reason_for_error(&ErrorKind::ExpiredSignature),
            Reason::InternalError
        );
        assert_eq!(
            reason_for_error(&ErrorKind::Provider("x".into())),
            Reason::InternalError
        );
    }

    #[test]
    fn audience_shapes() {
        let aud = |json: &str| {
            let doc = format!("{{\"aud\":{json}}}");
            let c = parse_claims(doc.as_bytes(), None).unwrap();
            audiences(&c.aud).map(|a| a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(aud("\"a\""), Some(vec!["a".to_owned()]));
        assert_eq!(
            aud("[\"a\", \"b\"]"),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(aud("[]"), Some(vec![]));
        assert_eq!(aud("[1]"), None);
        assert_eq!(aud("[\"a\", 1]"), None);
        assert_eq!(aud("123"), None);
        assert_eq!(aud("null"), None);
    }

    #[test]
    fn scopes_from_string_array_and_path() {
        let c = json!({"scope": "admin  orders:read", "scp": ["a", 1, "b"],
                       "realm_access": {"roles": ["r1"]}, "tab": "admin\torders"});
        let of = |path: &str| scopes_of(c.get(path.split('.').next().unwrap()), path);
        assert_eq!(of("scope"), ["admin", "orders:read"]);
        assert_eq!(of("scp"), ["a", "b"]);
        assert_eq!(of("realm_access.roles"), ["r1"]);
        assert_eq!(of("tab"), ["admin\torders"]);
        assert!(of("missing.path").is_empty());
        assert!(of("realm_access").is_empty());
    }
}
