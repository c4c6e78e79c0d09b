//! The tower layer under every generated client: `authorization` (awaiting a token refresh
//! when needed, which a sync tonic interceptor cannot), `developer-token`,
//! `login-customer-id`, `linked-customer-id`, `x-goog-api-client`, and a tracing span.

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
                let response = inner.call(request).await;
                let span = tracing::Span::current();
                span.record("duration_ms", started.elapsed().as_millis() as u64);
                if let Ok(response) = &response {
                    if let Some(id) = response
                        .headers()
                        .get("request-id")
                        .and_then(|v| v.to_str().ok())
                    {
                        span.record("request_id", id);
                    }
                    // Trailers-only failures carry their status in the headers.
                    if let Some(code) = response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                    {
                        span.record("grpc_status", code);
                    }
                }
                tracing::debug!("call finished");
                response
            }
            .instrument(span),
        )
    }
}
