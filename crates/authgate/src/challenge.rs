//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3, RFC 7617 §2) and the
//! rejection response they belong to.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

use crate::credentials::SchemeLabel;
use crate::reason::{BearerError, Reason};
use crate::rejection::{AuthRejection, Failure, NO_AUTHORIZATION_HEADER, RejectionResponse};

/// Seconds a client should wait before retrying a 503, unless the remote key set's
/// refetch cooldown says otherwise.
const DEFAULT_RETRY_AFTER_SECS: u64 = 10;

/// Builds rejection responses; the plain challenges are rendered once, at
/// construction.
pub(crate) struct Responder {
    realm: String,
    bearer: Option<HeaderValue>,
    /// The plain Bearer challenge of a 401 when a protected resource is
    /// configured: `bearer` with `resource_metadata` (RFC 9728 §5.1).
    bearer_401: Option<HeaderValue>,
    /// `resource_metadata` of every Bearer challenge on a 401.
    resource_metadata: Option<String>,
    basic: Option<HeaderValue>,
    problem_body: bool,
    retry_after: HeaderValue,
    /// The problem body of the most common rejection, a request with no
    /// `Authorization` header: it depends on nothing in the request, so it is
    /// written once and shared (a reference count per response, no allocation).
    no_header_body: Bytes,
    /// The application's own rendering of rejections, if any.
    renderer: Option<Arc<dyn RejectionResponse>>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("realm", &self.realm)
            .field("problem_body", &self.problem_body)
            .field("renderer", &self.renderer.as_ref().map(|_| "<fn>"))
            .finish_non_exhaustive()
    }
}

impl Responder {
    pub(crate) fn new(realm: &str, bearer: bool, basic: bool, problem_body: bool) -> Self {
        // The realm was checked at config time to need no escaping.
        let value = |s: String| HeaderValue::from_str(&s).ok();
        Responder {
            realm: realm.to_owned(),
            bearer: bearer
                .then(|| value(format!("Bearer realm=\"{realm}\"")))
                .flatten(),
            bearer_401: None,
            resource_metadata: None,
            basic: basic
                .then(|| value(format!("Basic realm=\"{realm}\", charset=\"UTF-8\"")))
                .flatten(),
            problem_body,
            retry_after: HeaderValue::from(DEFAULT_RETRY_AFTER_SECS),
            no_header_body: problem_json(
                StatusCode::UNAUTHORIZED,
                &Failure::new(
                    Reason::MissingCredentials,
                    SchemeLabel::None,
                    NO_AUTHORIZATION_HEADER,
                ),
            ),
            renderer: None,
        }
    }

    /// Every Bearer challenge on a 401 names the resource's metadata document
    /// (RFC 9728 §5.1). The URL was checked at config time to be visible ASCII
    /// without `"` or `\\`.
    pub(crate) fn with_resource_metadata(mut self, url: &str) -> Self {
        self.resource_metadata = Some(url.to_owned());
        self.bearer_401 = self.bearer.as_ref().and_then(|_| {
            HeaderValue::from_str(&format!(
                "Bearer realm=\"{}\", resource_metadata=\"{url}\"",
                self.realm
            ))
            .ok()
        });
        self
    }

    /// Renders rejections with `renderer`; the protocol headers stay.
    pub(crate) fn set_renderer(&mut self, renderer: Arc<dyn RejectionResponse>) {
        self.renderer = Some(renderer);
    }

    /// `Retry-After` of 503 answers: when a new fetch of the key set may start.
    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = HeaderValue::from(secs);
        self
    }

    /// The status a failure answers with.
    pub(crate) fn status(f: &Failure) -> StatusCode {
        if f.scheme == SchemeLabel::Basic {
            f.reason.status_for_basic()
        } else {
            f.reason.status()
        }
    }

    /// The full rejection response for `f`.
    pub(crate) fn respond<B: From<Bytes>>(&self, f: &Failure) -> Response<B> {
        let status = Self::status(f);
        let body = if !self.problem_body {
            Bytes::new()
        } else if f.reason == Reason::MissingCredentials && f.detail == NO_AUTHORIZATION_HEADER {
            self.no_header_body.clone()
        } else {
            problem_json(status, f)
        };
        let mut res = Response::new(B::from(body));
        *res.status_mut() = status;
        let headers = res.headers_mut();
        for challenge in self.challenges(f, status) {
            headers.append(WWW_AUTHENTICATE, challenge);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.problem_body {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
        }
        // RFC 9110 §10.2.3: when the client may try again. A failure that knows
        // (a limit window, a full queue) says so; other 503s use the layer's
        // estimate of when a new fetch of the key set may start.
        if let Some(secs) = f.retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, self.retry_after.clone());
        }
        let rejection = AuthRejection::from_failure(f, status);
        let Some(renderer) = &self.renderer else {
            res.extensions_mut().insert(rejection);
            return res;
        };
        let mut custom = renderer.response(&rejection);
        // The challenges, `no-store` and `Retry-After` are the protocol, not the
        // envelope: kept unless the renderer set them itself.
        for name in [WWW_AUTHENTICATE, CACHE_CONTROL, RETRY_AFTER] {
            if custom.headers().contains_key(&name) {
                continue;
            }
            for value in res.headers().get_all(&name) {
                custom.headers_mut().append(name.clone(), value.clone());
            }
        }
        custom.extensions_mut().insert(rejection);
        custom.map(B::from)
    }

    /// The challenges for a response: on 400/401 one per enabled scheme, the failing
    /// scheme's first and only it with `error`; on 403 the Bearer
    /// `insufficient_scope` challenge for Bearer principals; none otherwise.
    ///
    /// A Bearer challenge on a 401 also carries `scope` when the route that
    /// answered requires scopes (RFC 6750 §3), `acr_values` / `max_age` for a
    /// step-up (RFC 9470 §3), and `resource_metadata` when a protected resource
    /// is configured (RFC 9728 §5.1).
    fn challenges(&self, f: &Failure, status: StatusCode) -> Vec<HeaderValue> {
        let mut out = Vec::with_capacity(2);
        match status.as_u16() {
            code @ (400 | 401) => {
                let bearer_error = f.reason.bearer_error().filter(|_| {
                    f.scheme == SchemeLabel::Bearer || f.reason == Reason::MultipleCredentials
                });
                let on_401 = code == 401;
                let scope = f.required_scopes.as_deref().filter(|_| on_401);
                let bearer = match (bearer_error, &self.bearer) {
                    (_, None) => None,
                    (None, Some(plain)) if scope.is_none() => {
                        if on_401 {
                            self.bearer_401.clone().or_else(|| Some(plain.clone()))
                        } else {
                            Some(plain.clone())
                        }
                    }
                    (err, Some(_)) => {
                        self.bearer_with(err.map(|e| (e, f.public_detail())), scope, f, on_401)
                    }
                };
                let basic = self.basic.clone();
                let (first, second) = if f.scheme == SchemeLabel::Basic {
                    (basic, bearer)
                } else {
                    (bearer, basic)
                };
                out.extend(first);
                out.extend(second);
            }
            403 if f.reason == Reason::InsufficientScope && f.scheme == SchemeLabel::Bearer => {
                let scope = f.required_scopes.as_deref().unwrap_or_default();
                out.extend(self.bearer_with(
                    Some((BearerError::InsufficientScope, f.public_detail())),
                    Some(scope),
                    f,
                    false,
                ));
            }
            _ => {}
        }
        out
    }

    /// A Bearer challenge with parameters, in the order `realm`, `error`,
    /// `error_description`, `scope`, `acr_values`, `max_age`,
    /// `resource_metadata`; every value quoted.
    fn bearer_with(
        &self,
        error: Option<(BearerError, &str)>,
        scope: Option<&str>,
        f: &Failure,
        on_401: bool,
    ) -> Option<HeaderValue> {
        let mut s = format!("Bearer realm=\"{}\"", self.realm);
        if let Some((error, description)) = error {
            s.push_str(&format!(
                ", error=\"{}\", error_description=\"{}\"",
                error.as_str(),
                description_chars(description)
            ));
        }
        if let Some(scope) = scope {
            s.push_str(&format!(", scope=\"{}\"", scope_chars(scope)));
        }
        if f.reason == Reason::InsufficientUserAuthentication {
            if let Some(acr) = f.required_acr.as_deref().filter(|a| !a.is_empty()) {
                // acr values are URIs or short tokens: the scope-token
                // characters, space-separated (RFC 9470 §3).
                s.push_str(&format!(", acr_values=\"{}\"", scope_chars(acr)));
            }
            if let Some(max_age) = f.max_age_secs {
                s.push_str(&format!(", max_age=\"{max_age}\""));
            }
        }
        if on_401 && let Some(url) = &self.resource_metadata {
            s.push_str(&format!(", resource_metadata=\"{url}\""));
        }
        HeaderValue::from_str(&s).ok()
    }
}

/// Longest value of a challenge parameter (`error_description`, `scope`), in
/// characters: whatever a token holds, a client must be able to read the
/// response.
pub(crate) const MAX_PARAM_CHARS: usize = 256;

/// Longest `detail` of a problem body, in characters.
pub(crate) const MAX_DETAIL_CHARS: usize = 1024;

/// The mark of a cut in a challenge parameter. RFC 6750 §3 allows only
/// %x20-21 / %x23-5B / %x5D-7E in `error_description` and %x21 / %x23-5B /
/// %x5D-7E in `scope`: ASCII only, so "..." stands for the body's `…`.
const PARAM_CUT: &str = "...";

/// RFC 6750 §3: `error_description` uses only %x20-21 / %x23-5B / %x5D-7E. At
/// most [`MAX_PARAM_CHARS`] characters, a longer one cut and ending in "...".
pub(crate) fn description_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_PARAM_CHARS + 8));
    for c in s.chars() {
        match c {
            '"' => out.push('\''),
            '\\' => out.push('/'),
            '§' => out.push_str("section "),
            '…' => out.push_str("..."),
            '−' | '–' | '—' => out.push('-'),
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
        // ASCII only, so bytes are characters.
        if out.len() > MAX_PARAM_CHARS {
            out.truncate(MAX_PARAM_CHARS - PARAM_CUT.len());
            out.push_str(PARAM_CUT);
            break;
        }
    }
    out
}

/// RFC 6750 §3: scope tokens use %x21 / %x23-5B / %x5D-7E, separated by SP. At
/// most [`MAX_PARAM_CHARS`] characters: a longer list keeps the whole tokens
/// that fit and ends with a "..." token (when even that does not fit, the last
/// kept token is cut and ends in "...").
pub(crate) fn scope_chars(s: &str) -> String {
    let tokens = s
        .split(' ')
        .map(|t| {
            t.chars()
                .filter(|&c| matches!(c, '!' | '#'..='[' | ']'..='~'))
                .collect::<String>()
        })
        .filter(|t| !t.is_empty());
    let mut out = String::new();
    for token in tokens {
        let sep = usize::from(!out.is_empty());
        if out.len() + sep + token.len() <= MAX_PARAM_CHARS {
            if sep == 1 {
                out.push(' ');
            }
            out.push_str(&token);
            continue;
        }
        // ASCII only, so bytes are characters.
        if out.is_empty() {
            out.push_str(&token[..MAX_PARAM_CHARS - PARAM_CUT.len()]);
        } else if out.len() + 1 + PARAM_CUT.len() <= MAX_PARAM_CHARS {
            out.push(' ');
        } else {
            out.truncate(MAX_PARAM_CHARS - PARAM_CUT.len());
        }
        out.push_str(PARAM_CUT);
        break;
    }
    out
}

/// An RFC 9457 problem object with authgate's `reason` member; its `detail` at
/// most [`MAX_DETAIL_CHARS`] characters, a longer one cut and ending with `…`.
fn problem_json(status: StatusCode, f: &Failure) -> Bytes {
    // Written directly (one buffer) rather than through a `json!` map: rejections
    // must stay cheap, floods of bad requests are how auth layers get attacked.
    // Members in alphabetical order, as serde_json's map would write them.
    let detail = crate::event::cap_to(f.public_detail(), MAX_DETAIL_CHARS);
    let detail = &*detail;
    // The other members take at most ~116 bytes (longest reason and title); escaping may
    // lengthen the detail, which then reallocates once.
    let mut out = Vec::with_capacity(128 + detail.len());
    out.extend_from_slice(b"{\"detail\":");
    // Serializing a `&str` into a `Vec` cannot fail; it escapes as JSON requires.
    let _ = serde_json::to_writer(&mut out, detail);
    out.extend_from_slice(b",\"reason\":\"");
    out.extend_from_slice(f.reason.public_code().as_bytes());
    out.extend_from_slice(b"\",\"status\":");
    out.extend_from_slice(status.as_str().as_bytes());
    out.extend_from_slice(b",\"title\":\"");
    out.extend_from_slice(status.canonical_reason().unwrap_or("Error").as_bytes());
    out.extend_from_slice(b"\",\"type\":\"about:blank\"}");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body written once for a request without `Authorization` is the body
    /// `problem_json` writes for it, with or without a hint (hints stay in the log).
    #[test]
    fn the_shared_no_header_body_is_the_written_one() {
        let responder = Responder::new("api", true, true, true);
        let plain = Failure::new(
            Reason::MissingCredentials,
            SchemeLabel::None,
            NO_AUTHORIZATION_HEADER,
        );
        let hinted = plain.clone().hint("the request came through a proxy");
        let written = problem_json(StatusCode::UNAUTHORIZED, &plain);
        assert!(
            std::str::from_utf8(&written)
                .unwrap()
                .contains("no Authorization header")
        );
        for f in [&plain, &hinted] {
            let res: Response<Bytes> = responder.respond(f);
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(res.body(), &written);
        }
        // Another missing-credentials detail is written for itself.
        let empty = Failure::new(
            Reason::MissingCredentials,
            SchemeLabel::None,
            "the Authorization header is present but empty",
        );
        let res: Response<Bytes> = responder.respond(&empty);
        assert!(
            std::str::from_utf8(res.body())
                .unwrap()
                .contains("present but empty")
        );
    }

    #[test]
    fn description_keeps_to_rfc6750_characters() {
        let out = description_chars("a \"b\" \\c § d…\u{1b}é");
        assert!(
            out.chars()
                .all(|c| matches!(c, ' '..='!' | '#'..='[' | ']'..='~')),
            "{out}"
        );
        assert_eq!(out, "a 'b' /c section  d...??");
    }

    #[test]
    fn scope_keeps_to_rfc6750_characters() {
        assert_eq!(
            scope_chars("admin  orders:read \"x\\"),
            "admin orders:read x"
        );
    }

    #[test]
    fn header_params_are_bounded() {
        let exact = "d".repeat(MAX_PARAM_CHARS);
        assert_eq!(description_chars(&exact), exact);
        let long = format!("{exact}x");
        let cut = description_chars(&long);
        assert_eq!(cut.len(), MAX_PARAM_CHARS);
        assert!(cut.ends_with("...") && cut.starts_with("ddd"));
        // '§' grows to "section ": the bound is on what is sent.
        assert_eq!(description_chars(&"§".repeat(100)).len(), MAX_PARAM_CHARS);

        let scopes: Vec<String> = (0..100).map(|i| format!("scope-{i:02}")).collect();
        let cut = scope_chars(&scopes.join(" "));
        assert!(cut.len() <= MAX_PARAM_CHARS, "{cut}");
        let (mark, kept) = cut.rsplit_once(' ').unwrap();
        assert_eq!(kept, "...");
        assert_eq!(mark, scopes[..mark.split(' ').count()].join(" "));
        assert_eq!(scope_chars("a b"), "a b");
        let one = "s".repeat(300);
        assert_eq!(scope_chars(&one), format!("{}...", "s".repeat(253)));
        // Whole tokens that leave no room for " ...": the last one is cut.
        let tight = format!("{} {}", "a".repeat(254), "b".repeat(10));
        assert_eq!(scope_chars(&tight), format!("{}...", "a".repeat(253)));
    }

    #[test]
    fn problem_detail_is_bounded() {
        let r = Responder::new("api", true, false, true);
        let mut f = fail(Reason::AudienceMismatch, SchemeLabel::Bearer);
        f.detail = "é".repeat(5000).into();
        let res: Response<Bytes> = r.respond(&f);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS);
        assert!(detail.ends_with('…'));
        let challenge = res.headers()[WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.len() < MAX_PARAM_CHARS + 80, "{challenge}");
    }

    fn fail(reason: Reason, scheme: SchemeLabel) -> Failure {
        Failure::new(reason, scheme, "d")
    }

    fn challenges(r: &Responder, f: &Failure) -> Vec<String> {
        r.challenges(f, Responder::status(f))
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn challenge_sets() {
        let both = Responder::new("api", true, true, true);
        assert_eq!(
            challenges(&both, &fail(Reason::MissingCredentials, SchemeLabel::None)),
            [
                "Bearer realm=\"api\"",
                "Basic realm=\"api\", charset=\"UTF-8\""
            ]
        );
        assert_eq!(
            challenges(&both, &fail(Reason::TokenExpired, SchemeLabel::Bearer)),
            [
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"d\"",
                "Basic realm=\"api\", charset=\"UTF-8\""
            ]
        );
        assert_eq!(
            challenges(&both, &fail(Reason::WrongPassword, SchemeLabel::Basic)),
            [
                "Basic realm=\"api\", charset=\"UTF-8\"",
                "Bearer realm=\"api\""
            ]
        );
        let bearer = Responder::new("api", true, false, true);
        assert_eq!(
            challenges(
                &bearer,
                &fail(Reason::MalformedCredentials, SchemeLabel::Bearer)
            ),
            ["Bearer realm=\"api\", error=\"invalid_request\", error_description=\"d\""]
        );
        let mut f = fail(Reason::InsufficientScope, SchemeLabel::Bearer);
        f.required_scopes = Some("admin".into());
        assert_eq!(
            challenges(&bearer, &f),
            [
                "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"d\", scope=\"admin\""
            ]
        );
        f.scheme = SchemeLabel::Basic;
        assert!(challenges(&bearer, &f).is_empty());
        assert!(
            challenges(
                &bearer,
                &fail(Reason::KeySetUnavailable, SchemeLabel::Bearer)
            )
            .is_empty()
        );
    }

    #[test]
    fn resource_metadata_scope_and_step_up_parameters() {
        let url = "https://api.example.com/.well-known/oauth-protected-resource/mcp";
        let r = Responder::new("api", true, true, true).with_resource_metadata(url);
        let rm = format!("resource_metadata=\"{url}\"");
        assert_eq!(
            challenges(&r, &fail(Reason::MissingCredentials, SchemeLabel::None)),
            [
                format!("Bearer realm=\"api\", {rm}"),
                "Basic realm=\"api\", charset=\"UTF-8\"".to_owned()
            ]
        );
        assert_eq!(
            challenges(&r, &fail(Reason::WrongPassword, SchemeLabel::Basic))[1],
            format!("Bearer realm=\"api\", {rm}")
        );
        assert_eq!(
            challenges(&r, &fail(Reason::TokenExpired, SchemeLabel::Bearer))[0],
            format!("Bearer realm=\"api\", error=\"invalid_token\", error_description=\"d\", {rm}")
        );
        // Not on a 400, nor on a 403.
        assert_eq!(
            challenges(&r, &fail(Reason::MalformedCredentials, SchemeLabel::Bearer))[0],
            "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"d\""
        );
        let mut scope = fail(Reason::InsufficientScope, SchemeLabel::Bearer);
        scope.required_scopes = Some("admin".into());
        assert!(!challenges(&r, &scope)[0].contains("resource_metadata"));
        // A route's 401 to a request without credentials names its scope.
        let mut anon = fail(Reason::MissingCredentials, SchemeLabel::None);
        anon.required_scopes = Some("admin tools".into());
        assert_eq!(
            challenges(&r, &anon)[0],
            format!("Bearer realm=\"api\", scope=\"admin tools\", {rm}")
        );
        let mut step = fail(Reason::InsufficientUserAuthentication, SchemeLabel::Bearer);
        step.required_acr = Some("urn:a urn:b".into());
        step.max_age_secs = Some(300);
        assert_eq!(
            challenges(&r, &step)[0],
            format!(
                "Bearer realm=\"api\", error=\"insufficient_user_authentication\", error_description=\"d\", acr_values=\"urn:a urn:b\", max_age=\"300\", {rm}"
            )
        );
        // Without a resource: the same, without resource_metadata.
        let plain = Responder::new("api", true, false, true);
        step.required_acr = Some(String::new());
        assert_eq!(
            challenges(&plain, &step),
            [
                "Bearer realm=\"api\", error=\"insufficient_user_authentication\", error_description=\"d\", max_age=\"300\""
            ]
        );
    }

    #[test]
    fn response_headers_and_body() {
        let r = Responder::new("api", true, false, true);
        let res: Response<Bytes> = r.respond(&fail(Reason::KeySetUnavailable, SchemeLabel::Bearer));
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()[RETRY_AFTER], "10");
        let slow = Responder::new("api", true, false, true).with_retry_after(30);
        let res: Response<Bytes> =
            slow.respond(&fail(Reason::KeySetUnavailable, SchemeLabel::Bearer));
        assert_eq!(res.headers()[RETRY_AFTER], "30");
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body["reason"], "key_set_unavailable");
        assert_eq!(body["status"], 503);
        assert_eq!(body["type"], "about:blank");
        assert_eq!(body["title"], "Service Unavailable");
        let mut quoted = fail(Reason::TokenExpired, SchemeLabel::Bearer);
        quoted.detail = "a \"quoted\" \\ detail\n".into();
        let res: Response<Bytes> = r.respond(&quoted);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body["detail"], "a \"quoted\" \\ detail\n");
        assert_eq!(body.as_object().unwrap().len(), 5);
        let quiet = Responder::new("api", true, false, false);
        let res: Response<Bytes> = quiet.respond(&fail(Reason::TokenExpired, SchemeLabel::Bearer));
        assert!(res.body().is_empty() && !res.headers().contains_key(CONTENT_TYPE));
    }
}
