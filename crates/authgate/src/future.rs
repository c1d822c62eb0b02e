//! The response future of [`AuthService`](crate::AuthService): the inner service's
//! future, or a rejection ready at once. No boxing.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of [`AuthService`](crate::AuthService).
    #[project = ResponseFutureProj]
    #[allow(missing_docs)] // pin-project-lite allows no doc comments on fields
    pub enum ResponseFuture<F, B, E> {
        /// The request was authenticated and passed on.
        Inner {
            #[pin]
            future: F,
        },
        /// The request was rejected; the response is ready.
        Rejected {
            response: Option<Response<B>>,
        },
        /// Basic credentials are being verified off the executor (password hashes
        /// are slow by design); the only boxed path.
        Verifying {
            future: BoxedResponse<B, E>,
        },
    }
}

/// The future of the Basic verification path.
pub(crate) type BoxedResponse<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResponseFuture::Inner { .. } => "ResponseFuture::Inner",
            ResponseFuture::Rejected { .. } => "ResponseFuture::Rejected",
            ResponseFuture::Verifying { .. } => "ResponseFuture::Verifying",
        })
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture::Inner { future }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        ResponseFuture::Rejected {
            response: Some(response),
        }
    }

    pub(crate) fn verifying(future: BoxedResponse<B, E>) -> Self {
        ResponseFuture::Verifying { future }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<Bytes>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Inner { future } => future.poll(cx),
            ResponseFutureProj::Verifying { future } => future.as_mut().poll(cx),
            ResponseFutureProj::Rejected { response } => {
                // Polling again after completion breaks the `Future` contract; answer
                // with an empty 500 rather than panic.
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    let mut res = Response::new(B::from(Bytes::new()));
                    *res.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    res
                })))
            }
        }
    }
}
