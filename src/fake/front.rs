//! The fake's front end, the one layer every call passes through before its service: it logs
//! the call as it arrives, runs the service's handler as a task of its own (cancelled when
//! the client goes away, unless the call is landing late and must outlive its connection),
//! and marks every answer as the fake's with the [`FAKE_HEADER`](super::FAKE_HEADER) header.
//!
//! It also serves every enabled API version with the newest's handlers: a call to an older
//! version's path (`google.ads.googleads.v25.services...`) is logged as it came, handled as the
//! newest version's, and its failure trailer renamed to the version asked. Google keeps field
//! numbers and enum values across versions, so the bytes are the same; what an older version
//! has and the newest dropped, the fake does not model.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tonic::body::Body;

use super::gate::MethodPath;
use super::gate::{self, Arrival};
use super::state::State;

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

/// Cancels the handler's task when the call's future is dropped (the client went away, as a
/// handler polled in place would be dropped), unless the call was detached to land late.
struct CancelUnlessDetached {
    task: tokio::task::AbortHandle,
    detached: Arc<AtomicBool>,
}

impl Drop for CancelUnlessDetached {
    fn drop(&mut self) {
        if !self.detached.load(Ordering::SeqCst) {
            // A finished task is not affected.
            self.task.abort();
        }
    }
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
        let older = older_version(&path);
        if let Some((version, _)) = older {
            // `google.ads.googleads.v25.services.X/Y` -> the newest's package, same rest.
            let rest = &path[VERSIONED_PREFIX.len() + version.len()..];
            let newest = format!("/{}{rest}", crate::latest::PACKAGE);
            if let Ok(uri) = http::Uri::builder().path_and_query(newest).build() {
                *request.uri_mut() = uri;
            }
        }
        let index = gate::arrive(
            &self.state.calls,
            self.state.started,
            path.clone(),
            request.headers(),
        );
        let detached = Arc::new(AtomicBool::new(false));
        request.extensions_mut().insert(MethodPath(path));
        request.extensions_mut().insert(Arrival {
            index,
            detached: detached.clone(),
        });
        // The service poll_ready readied is the one to call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let latency = self.state.call_latency;
        let task = tokio::spawn(async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            inner.call(request).await
        });
        Box::pin(async move {
            let _cancel = CancelUnlessDetached {
                task: task.abort_handle(),
                detached,
            };
            let mut response = match task.await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                // A handler that panicked: an answer rather than a dropped connection.
                Err(_) => tonic::Status::internal("the fake's handler failed").into_http(),
            };
            response.headers_mut().insert(
                crate::layer::FAKE_MARK,
                http::HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
            );
            if let Some((_, key)) = older {
                response = as_version(response, key);
            }
            Ok(response)
        })
    }
}

/// What every version's package starts with, before the version.
const VERSIONED_PREFIX: &str = "google.ads.googleads.";

/// The enabled API version other than the newest that a call's path names, with its failure
/// trailer key, if any.
fn older_version(path: &str) -> Option<(&'static str, &'static str)> {
    let version = path.strip_prefix(VERSIONED_PREFIX)?.split('.').next()?;
    crate::FAILURE_TRAILER_KEYS
        .iter()
        .copied()
        .find(|(v, _)| *v == version && *v != crate::API_VERSION)
}

/// The newest version's answer as an older version's: its failure trailer (in the headers of a
/// trailers-only answer, or in the trailers after a stream's messages) under that version's
/// `key`.
fn as_version(response: http::Response<Body>, key: &'static str) -> http::Response<Body> {
    use http_body_util::BodyExt as _;
    let key = http::HeaderName::from_static(key);
    let rename = move |headers: &mut http::HeaderMap| {
        if let Some(value) = headers.remove(crate::FAILURE_TRAILER_KEY) {
            headers.insert(key.clone(), value);
        }
    };
    let (mut parts, body) = response.into_parts();
    rename(&mut parts.headers);
    let body = body.map_frame(move |frame| match frame.into_trailers() {
        Ok(mut trailers) => {
            rename(&mut trailers);
            http_body::Frame::trailers(trailers)
        }
        Err(frame) => frame,
    });
    http::Response::from_parts(parts, Body::new(body))
}
