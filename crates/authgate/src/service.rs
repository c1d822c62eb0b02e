//! [`AuthService`]: authenticates each request, then calls the inner service or
//! answers with the rejection.

use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, Entry, PROXY_AUTHORIZATION};
use http::{Extensions, HeaderMap, Request, Response};
use tower_service::Service;

use crate::authenticate::{Decision, Shared};
use crate::challenge::Responder;
use crate::future::{ResponseBody, ResponseFuture};
use crate::principal::Principal;
use crate::rejection::Failure;

/// Middleware built by [`AuthLayer`](crate::AuthLayer).
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// Lets route-level layers ([`RequireScopes`](crate::RequireScopes)) answer with the
/// same realm, challenges and body settings as the [`AuthLayer`](crate::AuthLayer)
/// that authenticated the request.
#[derive(Clone, Debug)]
pub(crate) struct AuthContext(pub(crate) Weak<Shared>);

impl<S> AuthService<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        AuthService { inner, shared }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, consuming this one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Whatever logs the request after us (TraceLayer, Debug) must not print
        // the credentials.
        mark_sensitive(req.headers_mut());
        match self
            .shared
            .decide(req.method(), req.uri(), req.headers(), req.extensions())
        {
            Decision::Pass(principal) => {
                crate::metrics::passed(principal.as_ref());
                crate::trace::passed(principal.as_ref(), self.shared.cfg.record_enduser_id);
                insert(req.extensions_mut(), principal, &self.shared);
                ResponseFuture::inner(self.inner.call(req))
            }
            Decision::Reject(failure) => {
                ResponseFuture::rejected(reject(&self.shared, &failure, &req))
            }
            Decision::Pending(verification) => {
                // The inner service was driven to readiness; take that instance
                // into the future and leave a fresh clone behind (the tower-service
                // docs' "be careful when cloning inner services").
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::verifying(verification, inner, req, Arc::clone(&self.shared))
            }
        }
    }
}

/// Puts the principal in the request, with the layer that authenticated it
/// (one extension insert); an anonymous request gets the layer alone.
pub(crate) fn insert(ext: &mut Extensions, principal: Option<Principal>, shared: &Arc<Shared>) {
    match principal {
        Some(mut principal) => {
            principal.layer = Some(Arc::downgrade(shared));
            ext.insert(principal);
        }
        None => {
            ext.insert(AuthContext(Arc::downgrade(shared)));
        }
    }
}

/// The [`AuthLayer`](crate::AuthLayer) that authenticated a request, for route
/// layers and extractors answering in its name.
pub(crate) fn context(ext: &Extensions) -> Option<Arc<Shared>> {
    ext.get::<Principal>()
        .and_then(|p| p.layer.as_ref())
        .or_else(|| ext.get::<AuthContext>().map(|c| &c.0))
        .and_then(Weak::upgrade)
}

/// Logs the rejection event and builds the response.
pub(crate) fn reject<B>(shared: &Shared, failure: &Failure, req: &Request<B>) -> Response<Bytes> {
    let status = Responder::status(failure);
    crate::event::rejection(failure, status.as_u16(), req.method(), req.uri().path());
    shared.responder.respond(failure)
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
