//! The tower layer under every generated client: `authorization` (awaiting a token refresh
//! when needed, which a sync tonic interceptor cannot), `developer-token`,
//! `login-customer-id`, `linked-customer-id`, `x-goog-api-client`, and a tracing span.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderValue;
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::auth::TokenCache;

/// Headers set on every call, computed once.
#[derive(Clone, Debug)]
pub(crate) struct StaticHeaders {
    pub developer_token: Option<HeaderValue>,
    pub login_customer_id: Option<HeaderValue>,
    pub linked_customer_id: Option<HeaderValue>,
    pub api_client: HeaderValue,
}

/// Adds credentials and headers to every call.
#[derive(Clone, Debug)]
pub struct AdsLayer {
    tokens: Arc<TokenCache>,
    headers: Arc<StaticHeaders>,
}

impl AdsLayer {
    pub(crate) fn new(tokens: Arc<TokenCache>, headers: StaticHeaders) -> Self {
        Self {
            tokens,
            headers: Arc::new(headers),
        }
    }
}

impl<S> Layer<S> for AdsLayer {
    type Service = AdsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdsService {
            inner,
            tokens: self.tokens.clone(),
            headers: self.headers.clone(),
        }
    }
}

/// The service [`AdsLayer`] makes: what the generated clients of [`crate::GoogleAdsClient`] run on.
#[derive(Clone, Debug)]
pub struct AdsService<S> {
    inner: S,
    tokens: Arc<TokenCache>,
    headers: Arc<StaticHeaders>,
}

impl<S> Service<http::Request<Body>> for AdsService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = crate::auth::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The clone that was made ready goes with this call (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tokens = self.tokens.clone();
        let headers = self.headers.clone();
        // Fields are formatted into the span here, from borrowed parts of the path: no
        // allocation per call for them.
        let span = {
            let path = request.uri().path().trim_start_matches('/');
            let (service, method) = path.rsplit_once('/').unwrap_or(("", ""));
            let service = service.rsplit('.').next().unwrap_or_default();
            tracing::info_span!(
                "google_ads.call",
                service = %service,
                method = %method,
                customer_id = tracing::field::Empty,
                request_id = tracing::field::Empty,
                grpc_status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            )
        };
        Box::pin(
            async move {
                let started = tokio::time::Instant::now();
                let authorization = match tokens.authorization().await {
                    Ok(value) => value,
                    Err(error) => {
                        tracing::warn!(error = %error, "no access token");
                        let status = tonic::Status::unauthenticated(error.to_string());
                        return Ok(status.into_http());
                    }
                };
                let h = request.headers_mut();
                h.insert("authorization", authorization);
                if let Some(v) = &headers.developer_token {
                    h.insert("developer-token", v.clone());
                }
                // A login-customer-id set on the request (per-call override) wins.
                if let Some(v) = &headers.login_customer_id
                    && !h.contains_key("login-customer-id")
                {
                    h.insert("login-customer-id", v.clone());
                }
                if let Some(v) = &headers.linked_customer_id
                    && !h.contains_key("linked-customer-id")
                {
                    h.insert("linked-customer-id", v.clone());
                }
                h.insert("x-goog-api-client", headers.api_client.clone());
                let request = request.map(|body| {
                    let mut span = Some(tracing::Span::current());
                    Body::new(Watched::new(body, move |frame| {
                        // The customer id of the first message, read as the frame goes by.
                        if let Some(data) = frame.and_then(http_body::Frame::data_ref)
                            && let Some(span) = span.take()
                            && let Some(customer_id) = customer_id_of(data)
                        {
                            span.record("customer_id", tracing::field::display(customer_id));
                        }
                    }))
                });
                let response = inner.call(request).await;
                let span = tracing::Span::current();
                let response = response?;
                if let Some(id) = response
                    .headers()
                    .get("request-id")
                    .and_then(|v| v.to_str().ok())
                {
                    span.record("request_id", tracing::field::display(id));
                }
                // Trailers-only failures carry their status in the headers; the others in the
                // trailers, which the body wrapper reads when the call ends.
                if let Some(code) = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                {
                    span.record("grpc_status", tracing::field::display(code));
                    span.record("duration_ms", started.elapsed().as_millis() as u64);
                    tracing::debug!("call finished");
                    return Ok(response);
                }
                Ok(response.map(|body| {
                    let mut span = Some(span);
                    Body::new(Watched::new(body, move |frame| {
                        // The status is in the trailers, which end the call (a stream too).
                        let code = match frame {
                            Some(frame) => match frame.trailers_ref() {
                                Some(trailers) => {
                                    trailers.get("grpc-status").and_then(|v| v.to_str().ok())
                                }
                                None => return,
                            },
                            None => None,
                        };
                        if let Some(span) = span.take() {
                            span.record(
                                "grpc_status",
                                tracing::field::display(code.unwrap_or("unknown")),
                            );
                            span.record("duration_ms", started.elapsed().as_millis() as u64);
                            let _entered = span.enter();
                            tracing::debug!("call finished");
                        }
                    }))
                }))
            }
            .instrument(span),
        )
    }
}

/// A body passed through unchanged, showing each polled frame to `watch` (`None` when the body
/// ends or fails): how the span learns the customer id of a request and the status of a
/// response without copying either.
struct Watched<F> {
    inner: Body,
    watch: F,
}

type Frame = http_body::Frame<hyper::body::Bytes>;

impl<F: FnMut(Option<&Frame>) + Unpin> Watched<F> {
    fn new(inner: Body, watch: F) -> Self {
        Self { inner, watch }
    }
}

impl<F> http_body::Body for Watched<F>
where
    F: FnMut(Option<&Frame>) + Unpin,
{
    type Data = hyper::body::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => (self.watch)(Some(frame)),
            Poll::Ready(None | Some(Err(_))) => (self.watch)(None),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The customer id in the first field of a gRPC-framed request message, if it holds one.
/// Written by hand: a full decode would need the message type, and this is five bytes of
/// framing and one length-delimited field.
fn customer_id_of(frame: &[u8]) -> Option<&str> {
    // gRPC frame: compressed flag, 4-byte length, then the message.
    let message = frame.get(5..)?;
    // Field 1, wire type 2 (length-delimited): tag byte 0x0a.
    if *message.first()? != 0x0a {
        return None;
    }
    let (mut len, mut at) = (0usize, 1);
    for shift in (0..35).step_by(7) {
        let byte = *message.get(at)?;
        at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let value = std::str::from_utf8(message.get(at..at.checked_add(len)?)?).ok()?;
    let id = value
        .strip_prefix("customers/")
        .map_or(value, |rest| rest.split('/').next().unwrap_or_default());
    (id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}
