//! The decision for one request: credentials in, principal or failure out.
//! Pure (no I/O, no logging), so it is tested by tables.

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, FORWARDED, ORIGIN, PROXY_AUTHORIZATION};
use std::sync::Arc;

use http::{HeaderMap, Method, Uri};

use crate::challenge::Responder;
use crate::config::{AuthConfig, CorsPreflight};
use crate::credentials::{self, BasicCredentials, Credentials, Missing, SchemeLabel};
use crate::event::token_fingerprint;
use crate::principal::Principal;
use crate::reason::Reason;
use crate::rejection::Failure;
use crate::verify::api_key;
use crate::verify::basic::BasicVerifier;
use crate::verify::jwt::JwtVerifier;

/// Everything the layer needs per request, shared by all clones.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: AuthConfig,
    pub(crate) jwt: Option<JwtVerifier>,
    pub(crate) basic: Option<Arc<BasicVerifier>>,
    pub(crate) responder: Responder,
    /// Requests without credentials pass on with no principal.
    pub(crate) optional: bool,
}

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Pass on, with a principal or anonymously.
    Pass(Option<Principal>),
    /// Answer with this failure.
    Reject(Box<Failure>),
    /// Basic credentials that the cache could not answer: verify them off the
    /// executor (password hashing is slow by design).
    VerifyBasic(Arc<BasicVerifier>, BasicCredentials),
}

/// The synchronous part of the decision.
enum Step {
    Done(Result<Option<Principal>, Failure>),
    SlowBasic(Arc<BasicVerifier>, BasicCredentials),
}

impl From<Result<Option<Principal>, Failure>> for Step {
    fn from(r: Result<Option<Principal>, Failure>) -> Self {
        Step::Done(r)
    }
}

impl Shared {
    pub(crate) fn new(cfg: AuthConfig, optional: bool) -> Self {
        let jwt = cfg
            .jwt
            .clone()
            .map(|j| JwtVerifier::new(j, cfg.leeway_secs));
        let basic = cfg.basic.clone().map(|b| Arc::new(BasicVerifier::new(b)));
        let bearer = jwt.is_some() || !cfg.api_keys.is_empty();
        let responder = Responder::new(&cfg.realm, bearer, basic.is_some(), cfg.problem_body);
        Shared {
            cfg,
            jwt,
            basic,
            responder,
            optional,
        }
    }

    /// A CORS preflight that the configuration lets through unauthenticated.
    pub(crate) fn is_preflight_pass(&self, method: &Method, headers: &HeaderMap) -> bool {
        self.cfg.cors_preflight == CorsPreflight::Allow && is_cors_preflight(method, headers)
    }

    fn bearer_enabled(&self) -> bool {
        self.jwt.is_some() || !self.cfg.api_keys.is_empty()
    }

    fn basic_enabled(&self) -> bool {
        self.basic.is_some()
    }

    pub(crate) fn decide(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Decision {
        match self.step(method, uri, headers) {
            Step::Done(Ok(p)) => Decision::Pass(p),
            Step::Done(Err(f)) => Decision::Reject(Box::new(f)),
            Step::SlowBasic(v, c) => Decision::VerifyBasic(v, c),
        }
    }

    fn step(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Step {
        if self.is_preflight_pass(method, headers) {
            return Step::Done(Ok(None));
        }
        let creds = match credentials::parse(headers, uri) {
            Credentials::Basic(c) => c,
            other => return self.authenticate(other, headers).into(),
        };
        let Some(basic) = &self.basic else {
            return Step::Done(Err(self.not_enabled(SchemeLabel::Basic)));
        };
        match basic.check_cached(&creds.user, &creds.password) {
            Some(result) => Step::Done(result.map(Some)),
            None => Step::SlowBasic(Arc::clone(basic), creds),
        }
    }

    fn authenticate(
        &self,
        creds: Credentials<'_>,
        headers: &HeaderMap,
    ) -> Result<Option<Principal>, Failure> {
        match creds {
            Credentials::Missing(_) if self.optional => Ok(None),
            Credentials::Missing(kind) => Err(missing(kind, headers)),
            Credentials::Bearer(token) if self.bearer_enabled() => self.bearer(token).map(Some),
            Credentials::Bearer(_) => Err(self.not_enabled(SchemeLabel::Bearer)),
            Credentials::Basic(_) => Err(self.not_enabled(SchemeLabel::Basic)),
            Credentials::Malformed { scheme, .. } if !self.scheme_enabled(scheme) => Err(self.not_enabled(scheme)),
            Credentials::Malformed { scheme, detail } => {
                let f = Failure::new(Reason::MalformedCredentials, scheme, detail);
                Err(if detail == "the Bearer token is empty" {
                    f.hint("the header is `Bearer ` with nothing after it: is the variable holding the token set? (`Bearer $UNSET`)")
                } else {
                    f
                })
            }
            Credentials::Multiple { scheme, detail } => {
                Err(Failure::new(Reason::MultipleCredentials, scheme, detail).hint(
                    "send exactly one credential, in one Authorization header (RFC 6750 §2, RFC 9110 §11.6.2)",
                ))
            }
            Credentials::Unsupported(label) => Err(self.unsupported(label)),
        }
    }

    fn scheme_enabled(&self, scheme: SchemeLabel) -> bool {
        match scheme {
            SchemeLabel::Bearer => self.bearer_enabled(),
            SchemeLabel::Basic => self.basic_enabled(),
            _ => false,
        }
    }

    fn accepted(&self) -> &'static str {
        match (self.bearer_enabled(), self.basic_enabled()) {
            (true, true) => "Bearer and Basic",
            (false, true) => "Basic",
            _ => "Bearer",
        }
    }

    fn not_enabled(&self, scheme: SchemeLabel) -> Failure {
        let f = Failure::new(
            Reason::UnsupportedScheme,
            scheme,
            format!(
                "the {} scheme is not enabled; this server accepts {}",
                scheme.as_str(),
                self.accepted()
            ),
        );
        match scheme {
            SchemeLabel::Basic => f.hint(
                "Basic credentials were sent where only Bearer is enabled: send `Authorization: Bearer <token>` (a client or proxy may be adding Basic credentials of its own)",
            ),
            _ => f.hint("Bearer credentials were sent where only Basic is enabled"),
        }
    }

    fn unsupported(&self, label: SchemeLabel) -> Failure {
        let accepted = self.accepted();
        match label {
            SchemeLabel::Other("unknown") => Failure::new(
                Reason::UnsupportedScheme,
                label,
                format!("the Authorization header does not start with a supported scheme; this server accepts {accepted}"),
            )
            .hint("send `Authorization: Bearer <token>`; a bare token without the `Bearer ` prefix is not accepted"),
            _ => Failure::new(
                Reason::UnsupportedScheme,
                label,
                format!("the {} scheme is not supported; this server accepts {accepted}", label.as_str()),
            ),
        }
    }

    fn bearer(&self, token: &str) -> Result<Principal, Failure> {
        let fp = || token_fingerprint(token);
        let with_fp = |mut f: Failure| {
            f.token_fp = Some(fp());
            f
        };
        if token.len() > self.cfg.max_token_bytes {
            return Err(with_fp(Failure::new(
                Reason::TokenMalformed,
                SchemeLabel::Bearer,
                format!(
                    "the token is {} bytes, over max_token_bytes ({})",
                    token.len(),
                    self.cfg.max_token_bytes
                ),
            )));
        }
        if !self.cfg.api_keys.is_empty() && !token.contains('.') {
            return self.api_key(token).map_err(with_fp);
        }
        let Some(jwt) = &self.jwt else {
            return Err(with_fp(Failure::new(
                Reason::TokenMalformed,
                SchemeLabel::Bearer,
                "the token contains '.', so it is not an API key, and JWTs are not enabled",
            )));
        };
        if !token.contains('.') {
            return Err(with_fp(
                Failure::new(
                    Reason::TokenMalformed,
                    SchemeLabel::Bearer,
                    "the token is not a JWT (it has no '.') and no API keys are configured",
                )
                .hint("an opaque token: the client may be sending a refresh token, an API key or a session id instead of a JWT access token"),
            ));
        }
        let now = self.cfg.now_secs();
        let verified = jwt
            .verify(token, now, self.cfg.revocation.as_ref())
            .map_err(with_fp)?;
        let iss = verified
            .claims
            .get("iss")
            .and_then(serde_json::Value::as_str);
        let sub = verified
            .claims
            .get("sub")
            .and_then(serde_json::Value::as_str);
        crate::event::authenticated("bearer", sub, verified.kid.as_deref(), iss);
        Ok(Principal::from_jwt(
            verified.claims,
            &jwt.config().scope_claim,
        ))
    }
}

impl Shared {
    /// SPEC §2: a Bearer token without `.` is looked up as an API key.
    fn api_key(&self, token: &str) -> Result<Principal, Failure> {
        let Some(key) = api_key::lookup(&self.cfg.api_keys, token) else {
            return Err(Failure::new(
                Reason::UnknownApiKey,
                SchemeLabel::Bearer,
                "the token matches no configured API key",
            )
            .hint("check for a truncated, stale or mistyped key (keys are case-sensitive), or a key from another environment"));
        };
        if let Some(check) = &self.cfg.revocation
            && check(&key.id)
        {
            let mut f = Failure::new(
                Reason::TokenRevoked,
                SchemeLabel::Bearer,
                "the API key is revoked",
            );
            f.key_id = Some(key.id.clone());
            return Err(f);
        }
        crate::event::authenticated("bearer", Some(&key.id), None, None);
        Ok(Principal::new(
            Some(key.id.clone()),
            crate::principal::Scheme::Bearer,
            key.scopes.clone(),
        ))
    }
}

fn missing(kind: Missing, headers: &HeaderMap) -> Failure {
    let f =
        |detail: &'static str| Failure::new(Reason::MissingCredentials, SchemeLabel::None, detail);
    match kind {
        Missing::EmptyHeader => f("the Authorization header is present but empty")
            .hint("an empty header is often `Bearer $TOKEN` with the variable unset, or a proxy blanking it"),
        Missing::QueryToken => f("the request has no Authorization header; a token in the access_token query parameter is never accepted")
            .hint("send the token as `Authorization: Bearer <token>`; query tokens leak into logs and caches (RFC 6750 §2.3, §5.3)"),
        Missing::NoHeader if headers.contains_key(PROXY_AUTHORIZATION) => f("the request has no Authorization header")
            .hint("the credentials were sent in Proxy-Authorization, which is meant for proxies; send them in Authorization"),
        Missing::NoHeader if headers.contains_key(FORWARDED) || headers.contains_key("x-forwarded-for") => {
            f("the request has no Authorization header").hint(
                "the request came through a proxy (Forwarded / X-Forwarded-For present) that may have stripped the Authorization header; check that the proxy passes it on",
            )
        }
        Missing::NoHeader => f("the request has no Authorization header"),
    }
}

/// A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`
/// (Fetch standard §3.2.2).
fn is_cors_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(ORIGIN)
        && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}
