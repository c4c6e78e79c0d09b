//! The tower layer under every call of [`crate::GoogleAdsClient`]: [`AdsLayer`] makes
//! [`AdsService`], which adds the headers the API needs, runs the attempts a call takes as its
//! retry policy says, and records each call in a tracing span.
//!
//! Owns: one call from request to answer. `headers` (what each attempt carries,
//! `authorization` awaited from the token cache, which a sync tonic interceptor cannot do),
//! `attempt` (sending, reading ahead to the first frame, retrying), `body` (the request's
//! one message, the watched response body), `telemetry` (the span, the summary event,
//! masking), [`retry`] (policies), [`budget`] (the calls of one client taking turns under
//! its quota) and [`CallOptions`] (per-call settings). Does not own:
//! tokens (`auth`), the channel (`transport`), what an error says (`error`).
//!
//! A failed call leaves here as a `tonic::Status` carrying the call's [`crate::Error`] as its
//! source: the service handles take that `Error` back as it is, and a raw tonic client over
//! the same channel still sees the server's status code and metadata.
//!
//! The client sets the layer up; what a user touches is [`CallOptions`], to change one call
//! (its retry policy, idempotency, attempt timeout, manager account):
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient) -> Result<(), google_ads::Error> {
//! use std::time::Duration;
//! use google_ads::CallOptions;
//! use google_ads::latest::services::MutateCampaignsRequest;
//! use google_ads::retry::NeverRetry;
//!
//! let request = CallOptions::new()
//!     .retry_policy(NeverRetry)
//!     .attempt_timeout(Duration::from_secs(20))
//!     .login_customer_id("9876543210".parse()?)
//!     .request(MutateCampaignsRequest {
//!         customer_id: "1234567890".into(),
//!         ..Default::default()
//!     });
//! let response = client.campaign().mutate_campaigns(request).await?;
//! # Ok(()) }
//! ```

mod attempt;
pub(crate) mod bodies;
// The fake's front end marks its answers with it.
#[cfg(feature = "fake")]
pub(crate) use attempt::FAKE_MARK;
mod body;
pub mod budget;
mod headers;
mod options;
pub mod retry;
mod telemetry;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::task::{Context, Poll};

use tonic::body::Body;
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::auth::TokenCache;
use budget::Budget;
pub use budget::QuotaBudget;
pub(crate) use headers::StaticHeaders;
pub use options::CallOptions;
use retry::{RetryObserver, RetryPolicy};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Adds credentials and headers to every call, and retries it as the retry policy says.
#[derive(Clone, Debug)]
pub struct AdsLayer {
    tokens: Arc<TokenCache>,
    headers: Arc<StaticHeaders>,
    policy: Arc<dyn RetryPolicy>,
    on_retry: Option<RetryObserver>,
    fake_seen: Arc<AtomicBool>,
    budget: Option<Arc<Budget>>,
}

impl AdsLayer {
    pub(crate) fn new(
        tokens: Arc<TokenCache>,
        headers: StaticHeaders,
        policy: Arc<dyn RetryPolicy>,
        on_retry: Option<RetryObserver>,
        fake_seen: Arc<AtomicBool>,
        budget: Option<Arc<Budget>>,
    ) -> Self {
        Self {
            tokens,
            headers: Arc::new(headers),
            policy,
            on_retry,
            fake_seen,
            budget,
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
            policy: self.policy.clone(),
            on_retry: self.on_retry.clone(),
            fake_seen: self.fake_seen.clone(),
            budget: self.budget.clone(),
        }
    }
}

/// The service [`AdsLayer`] makes: what the generated clients of [`crate::GoogleAdsClient`]
/// run on.
#[derive(Clone, Debug)]
pub struct AdsService<S> {
    inner: S,
    tokens: Arc<TokenCache>,
    headers: Arc<StaticHeaders>,
    policy: Arc<dyn RetryPolicy>,
    on_retry: Option<RetryObserver>,
    fake_seen: Arc<AtomicBool>,
    budget: Option<Arc<Budget>>,
}

impl<S> Service<http::Request<Body>> for AdsService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = crate::auth::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was made ready goes with this call (tower's usual swap).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let span = telemetry::call_span(request.uri().path());
        let call = attempt::Call {
            tokens: self.tokens.clone(),
            headers: self.headers.clone(),
            policy: self.policy.clone(),
            on_retry: self.on_retry.clone(),
            fake_seen: self.fake_seen.clone(),
            budget: self.budget.clone(),
        };
        Box::pin(
            async move {
                call.run(inner, request)
                    .await
                    // tonic takes a boxed Status back as it is, source included.
                    .map_err(|error| Box::new(error.to_status()) as BoxError)
            }
            .instrument(span),
        )
    }
}
