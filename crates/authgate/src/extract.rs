//! axum extractors (feature `axum`): [`Principal`], `Option<Principal>` and
//! [`Claims<T>`].

// `Failure` carries every field of the rejection event; it travels only on the
// rejection path, where its size costs nothing next to building a response.
#![allow(clippy::result_large_err)]

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::credentials::SchemeLabel;
use crate::principal::Principal;
use crate::reason::Reason;
use crate::rejection::Failure;
use crate::service::context;

/// Rejection of the extractors when the request has no principal: a route that
/// needs one is not behind [`AuthLayer`](crate::AuthLayer) (500), or is behind
/// [`AuthLayer::optional`](crate::AuthLayer::optional) and the request had no
/// credentials (401 with the layer's challenges), or the claims do not fit the
/// handler's type (500: the token verified, the handler's type is wrong).
#[derive(Debug)]
pub struct PrincipalRejection {
    response: Response,
}

impl IntoResponse for PrincipalRejection {
    fn into_response(self) -> Response {
        self.response
    }
}

impl PrincipalRejection {
    /// The status of the response (401 or 500).
    pub fn status(&self) -> http::StatusCode {
        self.response.status()
    }

    /// The rejection the response was rendered from.
    pub fn rejection(&self) -> Option<&crate::AuthRejection> {
        self.response.extensions().get::<crate::AuthRejection>()
    }

    /// The precise reason.
    pub fn reason(&self) -> Reason {
        self.rejection()
            .map_or(Reason::InternalError, crate::AuthRejection::reason)
    }

    /// The sentence a client may see.
    pub fn body_text(&self) -> String {
        self.rejection()
            .map(crate::AuthRejection::body_text)
            .unwrap_or_default()
    }
}

impl std::fmt::Display for PrincipalRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rejection() {
            Some(r) => std::fmt::Display::fmt(r, f),
            None => write!(f, "no usable principal ({})", self.response.status()),
        }
    }
}

impl std::error::Error for PrincipalRejection {}

fn reject(parts: &Parts, reason: Reason, detail: &'static str) -> PrincipalRejection {
    let f = Failure::new(reason, SchemeLabel::None, detail);
    let status = reason.status().as_u16();
    crate::event::rejection(&f, status, &parts.method, parts.uri.path());
    let response = match context(&parts.extensions) {
        Some(shared) => shared.responder.respond(&f),
        None => crate::challenge::Responder::new("api", false, false, true).respond(&f),
    };
    PrincipalRejection { response }
}

fn principal(parts: &Parts) -> Result<Principal, PrincipalRejection> {
    if let Some(p) = parts.extensions.get::<Principal>() {
        return Ok(p.clone());
    }
    Err(if context(&parts.extensions).is_some() {
        reject(
            parts,
            Reason::MissingCredentials,
            "this handler requires authentication and the request has no credentials",
        )
    } else {
        reject(
            parts,
            Reason::InternalError,
            "a handler extracts Principal but no AuthLayer runs in front of it",
        )
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = PrincipalRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        principal(parts)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}

/// The verified JWT claims, deserialized into the handler's own type.
///
/// ```
/// use authgate::extract::Claims;
/// #[derive(serde::Deserialize)]
/// struct MyClaims { sub: String, tenant: String }
/// async fn handler(Claims(c): Claims<MyClaims>) -> String { format!("{} @ {}", c.sub, c.tenant) }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = PrincipalRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let p = principal(parts)?;
        p.claims_as::<T>().map(Claims).map_err(|_| {
            reject(
                parts,
                Reason::InternalError,
                "the verified claims do not fit the handler's Claims<T> type",
            )
        })
    }
}
