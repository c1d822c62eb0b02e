//! The response future and body of [`AuthService`](crate::AuthService) and the
//! route layers ([`RequireScopes`](crate::RequireScopes),
//! [`RequirePolicy`](crate::RequirePolicy)).
//!
//! The future is a state machine: the inner service's future, a rejection ready at
//! once, or a verification that has to wait (a password hash computed off the
//! executor, a remote key set being fetched) followed by the inner call. It holds
//! the inner service and the request itself while it waits, so neither needs to
//! be `Send` or `'static`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::authenticate::{Pending, Shared};

pin_project! {
    /// Response future of [`AuthService`](crate::AuthService) and of the route
    /// layers.
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        kind: Kind<S, ReqBody>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        /// Passed on: the inner service's future.
        Inner {
            #[pin]
            future: S::Future,
        },
        /// Rejected: the response is ready.
        Rejected {
            response: Option<Response<Bytes>>,
        },
        /// Waiting for the verification; then the inner service is called with
        /// the request (or the rejection is answered).
        // `next` is boxed so that the common states keep the future small (it is
        // moved and boxed by routers on every request); the waiting path pays one
        // allocation for it, as it paid one for a boxed `async` block before.
        Verifying {
            verification: Pending,
            next: Option<Box<(S, Request<ReqBody>)>>,
            shared: Arc<Shared>,
        },
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Rejected { .. } => "Rejected",
            Kind::Verifying { .. } => "Verifying",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn rejected(response: Response<Bytes>) -> Self {
        ResponseFuture {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    /// Awaits `verification`, then calls `inner` (already driven to readiness)
    /// with `req`, or answers with the rejection.
    pub(crate) fn verifying(
        verification: Pending,
        inner: S,
        req: Request<ReqBody>,
        shared: Arc<Shared>,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Verifying {
                verification,
                next: Some(Box::new((inner, req))),
                shared,
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.kind.as_mut().project() {
                KindProj::Inner { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
                KindProj::Rejected { response } => {
                    // Polled again after completion (a broken `Future` contract):
                    // an empty 500 rather than a panic.
                    let response = response.take().unwrap_or_else(|| {
                        let mut res = Response::new(Bytes::new());
                        *res.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                        res
                    });
                    return Poll::Ready(Ok(response.map(ResponseBody::rejection)));
                }
                KindProj::Verifying {
                    verification,
                    next,
                    shared,
                } => {
                    let outcome = ready!(verification.as_mut().poll(cx));
                    let Some(next) = next.take() else {
                        return Poll::Ready(Ok(ResponseBody::internal_error()));
                    };
                    let (mut inner, mut req) = *next;
                    match outcome {
                        Ok(principal) => {
                            crate::metrics::passed(Some(&principal));
                            crate::trace::passed(Some(&principal), shared.cfg.record_enduser_id);
                            crate::service::insert(req.extensions_mut(), Some(principal), shared);
                            inner.call(req)
                        }
                        Err(failure) => {
                            let response = crate::service::reject(shared, &failure, &req);
                            // Done: a poll after completion must not resume the
                            // finished verification.
                            this.kind.set(Kind::Rejected { response: None });
                            return Poll::Ready(Ok(response.map(ResponseBody::rejection)));
                        }
                    }
                }
            };
            this.kind.set(Kind::Inner { future: next });
        }
    }
}

pin_project! {
    /// Response body of [`AuthService`](crate::AuthService) and of the route
    /// layers: the inner service's body, or the body of a rejection
    /// (`application/problem+json`, or empty).
    ///
    /// Any inner body whose data chunks can be made from [`Bytes`] fits, so
    /// layers that change the body type (`TraceLayer`, `CompressionLayer`) can sit
    /// inside or outside [`AuthLayer`](crate::AuthLayer).
    pub struct ResponseBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyKindProj]
    enum BodyKind<B> {
        Inner {
            #[pin]
            body: B,
        },
        Rejection {
            data: Option<Bytes>,
        },
    }
}

impl<B> ResponseBody<B> {
    fn inner(body: B) -> Self {
        ResponseBody {
            kind: BodyKind::Inner { body },
        }
    }

    fn rejection(data: Bytes) -> Self {
        ResponseBody {
            kind: BodyKind::Rejection {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }

    fn internal_error() -> Response<Self> {
        let mut res = Response::new(ResponseBody::rejection(Bytes::new()));
        *res.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        res
    }
}

impl<B: fmt::Debug> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyKind::Inner { body } => f.debug_tuple("ResponseBody::Inner").field(body).finish(),
            BodyKind::Rejection { data } => f
                .debug_struct("ResponseBody::Rejection")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .finish(),
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            BodyKindProj::Inner { body } => body.poll_frame(cx),
            BodyKindProj::Rejection { data } => {
                Poll::Ready(data.take().map(|d| Ok(Frame::data(B::Data::from(d)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Inner { body } => body.is_end_stream(),
            BodyKind::Rejection { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Inner { body } => body.size_hint(),
            BodyKind::Rejection { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}
