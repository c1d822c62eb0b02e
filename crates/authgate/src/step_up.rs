//! Step-up authentication (RFC 9470): a route that needs a stronger or more
//! recent login than the token shows answers 401 `insufficient_user_authentication`,
//! and its challenge tells the client what to ask the authorization server for.
//!
//! [`RequireAuthContext`] is a route layer beside
//! [`RequireScopes`](crate::RequireScopes), behind [`AuthLayer`](crate::AuthLayer).
//! It reads two verified claims of the token (OpenID Connect Core §2):
//!
//! - `acr`, the authentication context class of the login: it must be one of the
//!   values given to [`RequireAuthContext::acr`];
//! - `auth_time`, when the user logged in: with a
//!   [`max_age`](AuthorizeLayer::max_age), at most that many seconds ago (a token
//!   without `auth_time` is refused then). A login up to the layer's leeway in the
//!   future is taken as now (clock skew); further is refused.
//!
//! The answer is 401 with
//! `Bearer realm="…", error="insufficient_user_authentication", error_description="…", acr_values="…", max_age="N"`
//! (RFC 9470 §3), and the event carries `auth.required_acr`, `auth.token_acr` and
//! `auth.auth_age_secs`. The client then asks the authorization server for a new
//! token with the same `acr_values` and `max_age` (RFC 9470 §4).

use std::time::{Duration, UNIX_EPOCH};

use crate::authorize::{AccessRequest, AuthorizeLayer, Denial, Policy};
use crate::principal::{Principal, Scheme};

/// Builds route layers that require a minimum authentication context (RFC 9470).
///
/// ```
/// use std::time::Duration;
/// use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, JwtKey, RequireAuthContext};
/// use http::{Request, Response, StatusCode, header};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = b"a secret of at least 32 bytes...";
/// let cfg = AuthConfig::builder()
///     .jwt(JwtConfig::new([Algorithm::HS256]).key(JwtKey::hmac(secret)))
///     .build()?;
/// let mut svc = ServiceBuilder::new()
///     .layer(AuthLayer::new(cfg))
///     .layer(RequireAuthContext::acr(["urn:example:mfa"]).max_age(Duration::from_secs(300)))
///     .service_fn(|_req: Request<()>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
///     });
///
/// // A password-only login: the route asks for more.
/// let claims = serde_json::json!({ "sub": "bob", "acr": "urn:example:pwd", "exp": 4_000_000_000u64 });
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
///     &claims,
///     &jsonwebtoken::EncodingKey::from_secret(secret),
/// )?;
/// let req = Request::get("/").header(header::AUTHORIZATION, format!("Bearer {token}")).body(())?;
/// let res = svc.ready().await?.call(req).await?;
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// let challenge = res.headers()[header::WWW_AUTHENTICATE].to_str()?;
/// assert!(challenge.contains(r#"error="insufficient_user_authentication""#));
/// assert!(challenge.contains(r#"acr_values="urn:example:mfa""#));
/// assert!(challenge.contains(r#"max_age="300""#));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequireAuthContext;

impl RequireAuthContext {
    /// The token's `acr` must be one of `values` (compared exactly).
    pub fn acr<I, S>(values: I) -> AuthorizeLayer<AuthContextPolicy>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AuthorizeLayer::new(AuthContextPolicy {
            acr: values.into_iter().map(Into::into).collect(),
            max_age_secs: None,
        })
    }

    /// The user must have logged in at most `max_age` ago (whole seconds); see
    /// [`AuthorizeLayer::max_age`].
    pub fn max_age(max_age: Duration) -> AuthorizeLayer<AuthContextPolicy> {
        AuthorizeLayer::new(AuthContextPolicy {
            acr: Vec::new(),
            max_age_secs: Some(max_age.as_secs()),
        })
    }
}

impl AuthorizeLayer<AuthContextPolicy> {
    /// Also requires a login at most `max_age` ago, by the token's `auth_time`
    /// (whole seconds; a token without `auth_time` is refused).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.policy_mut().max_age_secs = Some(max_age.as_secs());
        self
    }
}

/// The requirement of a [`RequireAuthContext`] layer.
#[derive(Debug, Clone)]
pub struct AuthContextPolicy {
    acr: Vec<String>,
    max_age_secs: Option<u64>,
}

impl Policy for AuthContextPolicy {
    fn check(&self, request: &AccessRequest<'_>) -> Result<(), Denial> {
        let p = request.principal();
        let token_acr = p.acr();
        let now = request
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let auth_time = p.auth_time();
        let age = auth_time.map(|t| {
            i64::try_from(now)
                .unwrap_or(i64::MAX)
                .saturating_sub(i64::try_from(t).unwrap_or(i64::MAX))
        });
        let deny = |detail: String| {
            Err(Denial::insufficient_user_authentication(
                detail,
                self.acr.clone(),
                token_acr.map(str::to_owned),
                age,
                self.max_age_secs,
            ))
        };
        if !self.acr.is_empty() {
            let accepted = self.acr.join(" or ");
            match token_acr {
                None => {
                    return deny(format!(
                        "the token has no acr claim; this route requires an authentication context of {accepted}"
                    ));
                }
                Some(acr) if !self.acr.iter().any(|a| a == acr) => {
                    return deny(format!(
                        "the token's authentication context (acr) \"{}\" is not one this route accepts ({accepted})",
                        crate::event::sanitize_for_message(acr)
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(max_age) = self.max_age_secs {
            let leeway = i64::try_from(request.leeway_secs()).unwrap_or(i64::MAX);
            match age {
                None => {
                    return deny(format!(
                        "the token has no auth_time claim; this route requires a login within the last {max_age} s"
                    ));
                }
                Some(age) if age < -leeway => {
                    return deny(format!(
                        "the token's auth_time lies {} s in the future (leeway {leeway} s)",
                        age.unsigned_abs()
                    ));
                }
                Some(age) if age > i64::try_from(max_age).unwrap_or(i64::MAX) => {
                    return deny(format!(
                        "the login is {age} s old; this route requires one within the last {max_age} s"
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// The next step for a caller whose login is not enough.
pub(crate) fn hint(principal: &Principal, acr: &[String], max_age: Option<u64>) -> String {
    if principal.scheme() == Scheme::Basic || principal.claims().is_none() {
        return "only a JWT carries acr and auth_time: this route cannot be reached with Basic credentials or an API key".to_owned();
    }
    let mut ask = Vec::new();
    if !acr.is_empty() {
        ask.push(format!("acr_values={}", acr.join(" ")));
    }
    if let Some(max_age) = max_age {
        ask.push(format!("max_age={max_age}"));
    }
    format!(
        "the user must log in again: request a new token from the authorization server with {} (RFC 9470 §4); check that the provider puts acr and auth_time in access tokens",
        ask.join(" and ")
    )
}
