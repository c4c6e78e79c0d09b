//! [`CallOptions`]: everything one call may set differently from its client, in one place.

use std::sync::Arc;
use std::time::Duration;

use super::retry::{RetryObserver, RetryPolicy, Retrying};
use crate::CustomerId;

/// Per-call settings: retry policy and retry observer, idempotency, attempt timeout, login
/// customer id. Put them
/// on a request with [`CallOptions::apply`] or build the request with
/// [`CallOptions::request`]; every service handle method takes either a message or such a
/// request.
///
/// ```
/// # use std::time::Duration;
/// # use google_ads::CallOptions;
/// # use google_ads::latest::services::SearchGoogleAdsRequest;
/// let request = CallOptions::new()
///     .attempt_timeout(Duration::from_secs(30))
///     .login_customer_id("1234567890".parse()?)
///     .request(SearchGoogleAdsRequest::default());
/// # Ok::<(), google_ads::customer_id::CustomerIdError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    pub(crate) policy: Option<Arc<dyn RetryPolicy>>,
    pub(crate) on_retry: Option<RetryObserver>,
    pub(crate) idempotent: Option<bool>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) login_customer_id: Option<CustomerId>,
}

impl CallOptions {
    /// No changes: the client's settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// This call's retry policy.
    pub fn retry_policy(mut self, policy: impl RetryPolicy) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// Calls `observer` before each wait of this call's retries, instead of the client's
    /// observer ([`crate::GoogleAdsClientBuilder::on_retry`]): which attempt failed, why,
    /// and how long the wait before the next one is. See [`Retrying`].
    pub fn on_retry(mut self, observer: impl Fn(&Retrying<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(RetryObserver::new(observer));
        self
    }

    /// Whether this call may be sent twice safely (default: Search, Get... and List... calls
    /// are; others, mutates above all, are not).
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = Some(yes);
        self
    }

    /// The deadline of each attempt, sent to the server as `grpc-timeout` and enforced here
    /// (as DEADLINE_EXCEEDED).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// The manager account this call goes through, instead of the client's
    /// `login_customer_id` (for one client serving many accounts).
    pub fn login_customer_id(mut self, id: CustomerId) -> Self {
        self.login_customer_id = Some(id);
        self
    }

    /// Puts these options on `request`.
    pub fn apply<T>(self, request: &mut tonic::Request<T>) {
        request.extensions_mut().insert(self);
    }

    /// `message` as a request carrying these options.
    pub fn request<T>(self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.apply(&mut request);
        request
    }
}
