//! A rejection: the reason plus everything the event and the response need.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

use crate::credentials::SchemeLabel;
use crate::reason::Reason;

/// Everything known about one rejected request. Every text in it is secret-free
/// by construction: details are fixed sentences or numbers, and claim values
/// appear only once the signature verified.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) reason: Reason,
    pub(crate) scheme: SchemeLabel,
    pub(crate) detail: Cow<'static, str>,
    pub(crate) hint: Option<Cow<'static, str>>,
    pub(crate) token_fp: Option<String>,
    pub(crate) jwt_alg: Option<String>,
    pub(crate) jwt_kid: Option<String>,
    pub(crate) jwt_iss: Option<String>,
    pub(crate) jwt_aud: Option<String>,
    pub(crate) jwt_sub: Option<String>,
    pub(crate) expected: Option<String>,
    pub(crate) skew_secs: Option<i64>,
    pub(crate) user: Option<String>,
    pub(crate) key_id: Option<String>,
    pub(crate) required_scopes: Option<String>,
    pub(crate) granted_scopes: Option<String>,
    /// Step-up (RFC 9470): the `acr` values the route accepts, space-separated.
    pub(crate) required_acr: Option<String>,
    /// Step-up: the token's `acr` claim, when it has one.
    pub(crate) token_acr: Option<String>,
    /// Step-up: seconds since the token's `auth_time`, when it has one.
    pub(crate) auth_age_secs: Option<i64>,
    /// Step-up: the route's `max_age`, for the challenge.
    pub(crate) max_age_secs: Option<u64>,
    /// No key could be selected for the token (kid unknown or no key fits): a
    /// remote key set may know it after a refetch.
    pub(crate) key_missing: bool,
    /// `Retry-After` seconds for this answer (429 and some 503s); `None` leaves the
    /// layer's default for 503 answers and no header otherwise.
    pub(crate) retry_after_secs: Option<u64>,
    /// The kind of key a `too_many_attempts` refusal counted (`user`, `client_ip`).
    pub(crate) limit_key: Option<&'static str>,
}

impl Failure {
    pub(crate) fn new(
        reason: Reason,
        scheme: SchemeLabel,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Failure {
            reason,
            scheme,
            detail: detail.into(),
            hint: None,
            token_fp: None,
            jwt_alg: None,
            jwt_kid: None,
            jwt_iss: None,
            jwt_aud: None,
            jwt_sub: None,
            expected: None,
            skew_secs: None,
            user: None,
            key_id: None,
            required_scopes: None,
            granted_scopes: None,
            required_acr: None,
            token_acr: None,
            auth_age_secs: None,
            max_age_secs: None,
            key_missing: false,
            retry_after_secs: None,
            limit_key: None,
        }
    }

    /// Sets the `Retry-After` seconds of the answer (RFC 9110 §10.2.3).
    pub(crate) fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The detail the client sees. It is the same secret-free sentence as the
    /// event's, except for Basic failures, where it must not tell an unknown user
    /// from a wrong password.
    pub(crate) fn public_detail(&self) -> &str {
        match self.reason {
            Reason::UnknownUser | Reason::WrongPassword => PUBLIC_BASIC_DETAIL,
            _ => &self.detail,
        }
    }
}

/// The detail of a request that has no `Authorization` header (with or without a
/// hint): the commonest rejection, whose body the responder writes only once.
pub(crate) const NO_AUTHORIZATION_HEADER: &str = "the request has no Authorization header";

/// Why authgate refused a request.
///
/// Rejection responses carry it in their extensions, so outer layers (metrics,
/// logging) can read it, and a [`RejectionResponse`] renders the response from
/// it. It has the accessors of axum's rejections: [`status`](Self::status),
/// [`body_text`](Self::body_text), `Display` (the body text) and `Error`.
///
/// Two views of the cause: [`reason`](Self::reason) and [`detail`](Self::detail)
/// are precise, for the server's own use (they tell an unknown user-id from a
/// wrong password); [`public_reason`](Self::public_reason) and
/// [`body_text`](Self::body_text) are what a client may be shown. A renderer
/// should put only the public ones in a response.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    reason: Reason,
    status: http::StatusCode,
    detail: Cow<'static, str>,
    hint: Option<Cow<'static, str>>,
}

impl AuthRejection {
    pub(crate) fn from_failure(f: &Failure, status: http::StatusCode) -> Self {
        AuthRejection {
            reason: f.reason,
            status,
            detail: f.detail.clone(),
            hint: f.hint.clone(),
        }
    }

    /// The client-safe sentence, capped; borrowed unless it had to be cut.
    fn public_text(&self) -> Cow<'_, str> {
        match self.reason {
            Reason::UnknownUser | Reason::WrongPassword => Cow::Borrowed(PUBLIC_BASIC_DETAIL),
            _ => crate::event::cap_to(&self.detail, crate::challenge::MAX_DETAIL_CHARS),
        }
    }

    /// The status of the response: 400, 401, 403, 429, 500 or 503.
    pub fn status(&self) -> http::StatusCode {
        self.status
    }

    /// The precise reason (including `unknown_user` vs `wrong_password`); for the
    /// server's logs and metrics, not for the client.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The reason code a client may see: [`Reason::public_code`], which says
    /// `invalid_credentials` for both an unknown user-id and a wrong password.
    pub fn public_reason(&self) -> &'static str {
        self.reason.public_code()
    }

    /// The sentence a client may see (the problem body's `detail`): secret-free,
    /// the same for an unknown user-id and a wrong password, at most 1024
    /// characters.
    pub fn body_text(&self) -> String {
        self.public_text().into_owned()
    }

    /// The secret-free detail sentence of the event (server side: it may tell
    /// an unknown user-id from a wrong password).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The hint of the event, when the cause was guessable (server side).
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

/// What the client sees for both `unknown_user` and `wrong_password`.
const PUBLIC_BASIC_DETAIL: &str = "the user-id or password is not valid";

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.public_text())
    }
}

impl std::error::Error for AuthRejection {}

/// Renders the response of a rejection in an application's own error envelope;
/// set with [`AuthLayer::with_rejection_response`](crate::AuthLayer::with_rejection_response).
///
/// Closures `Fn(&AuthRejection) -> Response<B>` implement it, for any body `B`
/// that converts into [`Bytes`] (`String`, `Vec<u8>`, `&'static str`, `Bytes`).
/// Use [`AuthRejection::status`] as the status, and only
/// [`public_reason`](AuthRejection::public_reason) and
/// [`body_text`](AuthRejection::body_text) in the body.
///
/// The protocol stays: the `WWW-Authenticate` challenges (RFC 9110 §11.6.1),
/// `Cache-Control: no-store` and `Retry-After` of the default response are added
/// to the rendered one, unless the renderer sets a header of that name itself.
/// The [`AuthRejection`] is put in the response's extensions as usual.
///
/// ```
/// use authgate::{Algorithm, AuthConfig, AuthLayer, AuthRejection, JwtConfig, JwtKey};
/// use http::{Request, Response, header};
/// use tower::{Service, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cfg = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac([7u8; 32])))
///     .build()?;
/// let layer = AuthLayer::new(cfg).with_rejection_response(|r: &AuthRejection| {
///     let body = format!(r#"{{"error":{{"code":"{}"}}}}"#, r.public_reason());
///     Response::builder()
///         .status(r.status())
///         .header(header::CONTENT_TYPE, "application/json")
///         .body(body)
///         .unwrap()
/// });
/// let mut svc = tower::Layer::layer(&layer, tower::service_fn(|_: Request<()>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
/// }));
///
/// let res = svc.ready().await?.call(Request::new(())).await?;
/// assert_eq!(res.status(), 401);
/// // The challenge is still there; the body is the application's.
/// assert_eq!(res.headers()[header::WWW_AUTHENTICATE], r#"Bearer realm="api""#);
/// assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
/// # Ok(())
/// # }
/// ```
pub trait RejectionResponse: Send + Sync + 'static {
    /// The response for `rejection`.
    fn response(&self, rejection: &AuthRejection) -> http::Response<Bytes>;
}

impl<F, B> RejectionResponse for F
where
    F: Fn(&AuthRejection) -> http::Response<B> + Send + Sync + 'static,
    B: Into<Bytes>,
{
    fn response(&self, rejection: &AuthRejection) -> http::Response<Bytes> {
        self(rejection).map(Into::into)
    }
}
