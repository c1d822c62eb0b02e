//! [`AuthService`]: authenticates each request, then calls the inner service or
//! answers with the rejection.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, Entry, PROXY_AUTHORIZATION};
use http::{HeaderMap, Request, Response};
use tower_service::Service;

use crate::authenticate::{Decision, Shared};
use crate::challenge::Responder;
use crate::future::ResponseFuture;

/// Middleware built by [`AuthLayer`](crate::AuthLayer).
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// Lets route-level layers ([`RequireScopes`](crate::RequireScopes)) answer with the
/// same realm, challenges and body settings as the [`AuthLayer`](crate::AuthLayer)
/// that authenticated the request.
#[derive(Clone, Debug)]
pub(crate) struct AuthContext(pub(crate) Arc<Shared>);

impl<S> AuthService<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        AuthService { inner, shared }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Whatever logs the request after us (TraceLayer, Debug) must not print
        // the credentials.
        mark_sensitive(req.headers_mut());
        match self.shared.decide(req.method(), req.uri(), req.headers()) {
            Decision::Pass(principal) => {
                let ext = req.extensions_mut();
                if let Some(principal) = principal {
                    ext.insert(principal);
                }
                ext.insert(AuthContext(Arc::clone(&self.shared)));
                ResponseFuture::inner(self.inner.call(req))
            }
            Decision::Reject(failure) => {
                let status = Responder::status(&failure);
                crate::event::rejection(&failure, status.as_u16(), req.method(), req.uri().path());
                ResponseFuture::rejected(self.shared.responder.respond(&failure))
            }
        }
    }
}

fn mark_sensitive(headers: &mut HeaderMap) {
    for name in [AUTHORIZATION, PROXY_AUTHORIZATION] {
        if let Entry::Occupied(mut entry) = headers.entry(name) {
            for value in entry.iter_mut() {
                value.set_sensitive(true);
            }
        }
    }
}
