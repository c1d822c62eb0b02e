//! Explaining a decision offline: what the layer would answer for a request, and
//! why. Used by the `authgate explain` command; it runs the very same code path
//! as the middleware.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, Method, Uri};
use serde_json::{Map, Value};

use crate::authenticate::{Decision, Shared};
use crate::challenge::Responder;
use crate::credentials::{self, Credentials};
use crate::event::token_fingerprint;
use crate::principal::Principal;
use crate::reason::Reason;
use crate::rejection::Failure;

/// What the layer would answer, and why. Never holds the token itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Explanation {
    /// The status the layer would answer with (200 when it would pass the request on).
    pub status: u16,
    /// The reason of a rejection.
    pub reason: Option<Reason>,
    /// The `WWW-Authenticate` challenges of the answer.
    pub challenges: Vec<String>,
    /// The event's detail sentence.
    pub detail: Option<String>,
    /// The event's hint.
    pub hint: Option<String>,
    /// `auth.token_fp` of a Bearer token.
    pub token_fp: Option<String>,
    /// The authenticated principal, when it would pass.
    pub principal: Option<Principal>,
    /// The JOSE header of a JWT, decoded (not verified).
    pub header: Option<Map<String, Value>>,
    /// The claims of a JWT, decoded.
    pub claims: Option<Map<String, Value>>,
    /// Whether the signature verified, so that the claims above can be trusted.
    /// Claims checks run only after the signature has verified.
    pub signature_verified: bool,
    /// Step-up (RFC 9470), when a route policy refused with
    /// `insufficient_user_authentication`: the `acr` values it accepts.
    pub required_acr: Option<String>,
    /// Step-up: the token's `acr`.
    pub token_acr: Option<String>,
    /// Step-up: seconds since the token's `auth_time`.
    pub auth_age_secs: Option<i64>,
}

impl Explanation {
    /// Whether the request would pass.
    pub fn passed(&self) -> bool {
        self.reason.is_none()
    }
}

pub(crate) async fn explain(
    shared: &Arc<Shared>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Explanation {
    explain_with(shared, method, uri, headers, None).await
}

/// As [`explain`], then, for a request that would pass, the route policy: what
/// a route behind a layer such as `RequireAuthContext` would answer.
pub(crate) async fn explain_with(
    shared: &Arc<Shared>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    policy: Option<&dyn crate::authorize::Policy>,
) -> Explanation {
    let token = match credentials::parse(headers, uri) {
        Credentials::Bearer(t) => Some(t.to_owned()),
        _ => None,
    };
    let (header, claims) = token.as_deref().map(decode_unverified).unwrap_or_default();
    let mut outcome: Result<Option<Principal>, Failure> =
        match shared.decide(method, uri, headers, &http::Extensions::new()) {
            Decision::Pass(p) => Ok(p),
            Decision::Reject(f) => Err(*f),
            Decision::Pending(fut) => fut.await.map(Some),
        };
    let mut policy_refused = false;
    if let (Some(policy), Ok(Some(principal))) = (policy, &outcome)
        && let Err(denial) = policy.check(&crate::authorize::AccessRequest::new(
            principal,
            method,
            uri,
            headers,
            &shared.cfg,
        ))
    {
        outcome = Err(crate::authorize::denied(
            principal,
            denial,
            token.as_deref(),
        ));
        policy_refused = true;
    }
    let mut e = Explanation {
        status: 200,
        reason: None,
        challenges: Vec::new(),
        detail: None,
        hint: None,
        token_fp: token.as_deref().map(token_fingerprint),
        principal: None,
        header,
        claims,
        signature_verified: false,
        required_acr: None,
        token_acr: None,
        auth_age_secs: None,
    };
    match outcome {
        Ok(principal) => {
            e.signature_verified = e.header.is_some();
            e.principal = principal;
        }
        Err(f) => {
            let res: http::Response<bytes::Bytes> = shared.responder.respond(&f);
            e.status = Responder::status(&f).as_u16();
            e.challenges = res
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            // A route policy sees only verified principals.
            e.signature_verified =
                (policy_refused || f.reason.follows_signature_check()) && e.header.is_some();
            e.required_acr = f.required_acr.clone();
            e.token_acr = f.token_acr.clone();
            e.auth_age_secs = f.auth_age_secs;
            e.reason = Some(f.reason);
            e.detail = Some(f.detail.into_owned());
            e.hint = f.hint.map(|h| h.into_owned());
        }
    }
    e
}

type JsonObject = Map<String, Value>;

/// The header and claims of a compact JWS, without verifying anything.
fn decode_unverified(token: &str) -> (Option<JsonObject>, Option<JsonObject>) {
    let mut parts = token.split('.');
    let mut next = || {
        parts
            .next()
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
    };
    let header = next();
    let claims = next();
    (header, claims)
}
