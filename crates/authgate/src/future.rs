//! The response future of [`AuthService`](crate::AuthService): the inner service's
//! future, or a rejection ready at once. No boxing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of [`AuthService`](crate::AuthService).
    #[project = ResponseFutureProj]
    #[derive(Debug)]
    #[allow(missing_docs)] // pin-project-lite allows no doc comments on fields
    pub enum ResponseFuture<F, B> {
        /// The request was authenticated and passed on.
        Inner {
            #[pin]
            future: F,
        },
        /// The request was rejected; the response is ready.
        Rejected {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture::Inner { future }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        ResponseFuture::Rejected {
            response: Some(response),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<Bytes>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Inner { future } => future.poll(cx),
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
