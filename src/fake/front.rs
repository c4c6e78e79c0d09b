//! The fake's front end, the one layer every call passes through before its service: it logs
//! the call as it arrives and marks every answer as the fake's with the
//! [`FAKE_HEADER`](super::FAKE_HEADER) header.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;

use super::gate::{self, Arrival};
use super::service::{MethodPath, State};

/// Makes [`Front`] services.
#[derive(Clone)]
pub(crate) struct FrontLayer(pub Arc<State>);

impl<S> tower::Layer<S> for FrontLayer {
    type Service = Front<S>;

    fn layer(&self, inner: S) -> Front<S> {
        Front {
            inner,
            state: self.0.clone(),
        }
    }
}

/// See the module's doc.
#[derive(Clone)]
pub(crate) struct Front<S> {
    inner: S,
    state: Arc<State>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S> tower::Service<http::Request<Body>> for Front<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let path = request.uri().path().trim_start_matches('/').to_owned();
        let index = gate::arrive(
            &self.state.calls,
            self.state.started,
            path.clone(),
            request.headers(),
        );
        request.extensions_mut().insert(MethodPath(path));
        request.extensions_mut().insert(Arrival { index });
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = match answer.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            response.headers_mut().insert(
                super::FAKE_HEADER,
                http::HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
            );
            Ok(response)
        })
    }
}
