//! When to try a failed call again, and how long to wait first.
//!
//! A [`RetryPolicy`] sees each failed attempt and answers with a delay or gives up. Policies
//! compose with decorators ([`RetryPolicyExt::with_attempt_limit`],
//! [`RetryPolicyExt::with_time_limit`]). The client runs every call through one (by default
//! [`default_policy`]); [`crate::CallOptions`] on a request change it for that call.
//!
//! Two rules sit outside any policy: a stream that has delivered a row is never restarted,
//! and an UNAUTHENTICATED answer to an expired or invalid token refreshes the token and tries
//! once more, whatever the policy says.
//!
//! To watch the waits as they happen (a progress line, a log, a metric), give the client or a
//! call an observer: [`crate::GoogleAdsClientBuilder::on_retry`] or
//! [`crate::CallOptions::on_retry`]. It sees each failed attempt the policy sends again, with
//! the error and the delay, just before the wait ([`Retrying`]):
//!
//! ```no_run
//! # fn demo(config: google_ads::Config) -> Result<(), google_ads::Error> {
//! let client = google_ads::GoogleAdsClient::builder(config)
//!     .on_retry(|r| {
//!         eprintln!("{} attempt {} failed, waiting {:?}: {}", r.method, r.attempt, r.delay, r.error)
//!     })
//!     .build()?;
//! # Ok(()) }
//! ```

use crate::latest::errors::error_code::ErrorCode;
use crate::latest::errors::internal_error_enum::InternalError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tonic::Code;

use crate::Error;

mod backoff;
mod run;

#[cfg(feature = "fake")]
pub(crate) use backoff::seed_thread_jitter;
pub use backoff::{BackoffPolicy, ExponentialBackoff, SERVER_DELAY_CAP};
pub(crate) use backoff::{ServerDelay, google_backoff, server_delay};
pub(crate) use run::{Failure, RetryLoop};

/// A failed attempt, as a policy sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct FailedAttempt<'a> {
    /// What went wrong.
    pub error: &'a Error,
    /// How many attempts have been made, this one included (1 after the first failure).
    pub attempt: u32,
    /// Time since the call started.
    pub elapsed: Duration,
    /// Whether the call may be sent again without changing anything on the server: Search,
    /// Get..., List... calls, or a call marked by [`crate::CallOptions::idempotent`].
    pub idempotent: bool,
    /// The status came from the server (rather than from a broken connection, after which a
    /// mutate may or may not have committed).
    pub from_server: bool,
    /// The request was never sent: no connection could be made, or no access token could
    /// be had.
    pub connect_failed: bool,
}

impl<'a> FailedAttempt<'a> {
    /// The `attempt`-th attempt failed with `error`, `elapsed` after the call started: an
    /// answer from the server to a call that is not idempotent. The layer builds these for
    /// every failure; this is for testing a policy, the other fields set afterwards:
    ///
    /// ```
    /// use std::time::Duration;
    /// use google_ads::retry::{FailedAttempt, GoogleRetry, RetryPolicy};
    ///
    /// let error = google_ads::Error::from(tonic::Status::deadline_exceeded("slow"));
    /// let mut attempt = FailedAttempt::new(&error, 1, Duration::from_secs(2));
    /// // Not idempotent: a mutate may have committed before the deadline.
    /// assert_eq!(GoogleRetry::default().retry_after(&attempt), None);
    /// attempt.idempotent = true;
    /// assert!(GoogleRetry::default().retry_after(&attempt).is_some());
    /// ```
    pub fn new(error: &'a Error, attempt: u32, elapsed: Duration) -> Self {
        FailedAttempt {
            error,
            attempt,
            elapsed,
            idempotent: false,
            from_server: true,
            connect_failed: false,
        }
    }
}

/// A failed attempt that is about to be tried again, as a retry observer sees it
/// ([`crate::GoogleAdsClientBuilder::on_retry`], [`crate::CallOptions::on_retry`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Retrying<'a> {
    /// The call's service and method, e.g. `GoogleAdsService/Mutate`.
    pub method: &'a str,
    /// The attempt that failed: 1 for the first.
    pub attempt: u32,
    /// Why it failed.
    pub error: &'a Error,
    /// How long the client waits before attempt `attempt + 1` (the retry policy's answer).
    pub delay: Duration,
}

/// A retry observer: called once per wait, before it, on the task making the call.
#[derive(Clone)]
pub(crate) struct RetryObserver(Arc<dyn Fn(&Retrying<'_>) + Send + Sync>);

impl RetryObserver {
    pub(crate) fn new(observer: impl Fn(&Retrying<'_>) + Send + Sync + 'static) -> Self {
        Self(Arc::new(observer))
    }

    pub(crate) fn notify(&self, retrying: &Retrying<'_>) {
        (self.0)(retrying);
    }
}

impl fmt::Debug for RetryObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetryObserver")
    }
}

/// Decides whether to try again and after how long.
pub trait RetryPolicy: Send + Sync + fmt::Debug + 'static {
    /// `Some(delay)` to try again after `delay`, `None` to give up.
    fn retry_after(&self, attempt: &FailedAttempt<'_>) -> Option<Duration>;

    /// The longest server-requested delay (`QuotaErrorDetails.retry_delay`) this policy waits
    /// out; a call given up on a longer one says so in its error. Default
    /// [`SERVER_DELAY_CAP`].
    fn server_delay_cap(&self) -> Duration {
        SERVER_DELAY_CAP
    }
}

/// Decorators for any policy.
pub trait RetryPolicyExt: RetryPolicy + Sized {
    /// Give up after `attempts` attempts in all.
    fn with_attempt_limit(self, attempts: u32) -> AttemptLimit<Self> {
        AttemptLimit {
            inner: self,
            attempts,
        }
    }

    /// Give up rather than wait past `limit` since the call started.
    fn with_time_limit(self, limit: Duration) -> TimeLimit<Self> {
        TimeLimit { inner: self, limit }
    }
}

impl<P: RetryPolicy> RetryPolicyExt for P {}

/// See [`RetryPolicyExt::with_attempt_limit`].
#[derive(Clone, Debug)]
pub struct AttemptLimit<P> {
    inner: P,
    attempts: u32,
}

impl<P: RetryPolicy> RetryPolicy for AttemptLimit<P> {
    fn retry_after(&self, attempt: &FailedAttempt<'_>) -> Option<Duration> {
        if attempt.attempt >= self.attempts {
            return None;
        }
        self.inner.retry_after(attempt)
    }

    fn server_delay_cap(&self) -> Duration {
        self.inner.server_delay_cap()
    }
}

/// See [`RetryPolicyExt::with_time_limit`].
#[derive(Clone, Debug)]
pub struct TimeLimit<P> {
    inner: P,
    limit: Duration,
}

impl<P: RetryPolicy> RetryPolicy for TimeLimit<P> {
    fn retry_after(&self, attempt: &FailedAttempt<'_>) -> Option<Duration> {
        let delay = self.inner.retry_after(attempt)?;
        (attempt.elapsed + delay <= self.limit).then_some(delay)
    }

    fn server_delay_cap(&self) -> Duration {
        self.inner.server_delay_cap()
    }
}

/// Never retries.
#[derive(Clone, Copy, Debug, Default)]
pub struct NeverRetry;

impl RetryPolicy for NeverRetry {
    fn retry_after(&self, _: &FailedAttempt<'_>) -> Option<Duration> {
        None
    }
}

/// Google's retry settings for the Ads API, and the quota and idempotency rules around them:
/// - UNAVAILABLE and DEADLINE_EXCEEDED: exponential backoff (5 s, x1.3, at most 60 s), each
///   delay jittered down to between half and all of it, for idempotent calls. Other calls
///   (mutates) are retried on an UNAVAILABLE the server sent (it did not take the request) or
///   a failed connect (nothing was sent), never on DEADLINE_EXCEEDED or a connection broken
///   mid-call (the mutate may have committed).
/// - Quota errors: wait at least the server's `retry_delay` (plus up to 10% jitter, so clients
///   do not come back together), when it is at most `quota_wait_cap`; a longer delay is
///   surfaced at once with the delay in the error. Without a delay, the backoff applies.
/// - An INTERNAL error the server calls TRANSIENT_ERROR, and a token endpoint that failed
///   for a passing reason (no token could be had, nothing was sent): as UNAVAILABLE.
/// - Anything else (INVALID_ARGUMENT...) is not retried: it would fail the same way.
#[derive(Clone, Debug)]
pub struct GoogleRetry {
    backoff: ExponentialBackoff,
    quota_wait_cap: Duration,
    retry_mutates_on_deadline: bool,
}

impl Default for GoogleRetry {
    fn default() -> Self {
        Self {
            backoff: google_backoff(),
            quota_wait_cap: SERVER_DELAY_CAP,
            retry_mutates_on_deadline: false,
        }
    }
}

impl GoogleRetry {
    /// Backoff: first delay, growth per attempt, largest delay.
    pub fn with_backoff(mut self, initial: Duration, multiplier: f64, max: Duration) -> Self {
        self.backoff = ExponentialBackoff::new(initial, multiplier, max).with_jitter(0.5);
        self
    }

    /// The longest quota `retry_delay` waited out (default [`SERVER_DELAY_CAP`], 120 s);
    /// longer ones are surfaced.
    pub fn with_quota_wait_cap(mut self, cap: Duration) -> Self {
        self.quota_wait_cap = cap;
        self
    }

    /// Also retry non-idempotent calls after DEADLINE_EXCEEDED or a broken connection: for
    /// callers whose mutates are safe to repeat (updates, removes, validate-only).
    pub fn retry_mutates_on_deadline(mut self, yes: bool) -> Self {
        self.retry_mutates_on_deadline = yes;
        self
    }
}

impl RetryPolicy for GoogleRetry {
    fn retry_after(&self, attempt: &FailedAttempt<'_>) -> Option<Duration> {
        let error = attempt.error;
        let safe_to_resend = attempt.idempotent || self.retry_mutates_on_deadline;
        let jittered = || self.backoff.delay(attempt.attempt);
        // No token: a token endpoint that is down is waited out like UNAVAILABLE (nothing was
        // sent); a refused grant (revoked refresh token, bad key) is final.
        if let Some(auth) = error.auth_error() {
            return (!auth.is_permanent()).then(jittered);
        }
        match error.code()? {
            Code::ResourceExhausted if error.is_quota() => {
                match server_delay(error, self.quota_wait_cap) {
                    ServerDelay::Wait(delay) => Some(delay),
                    ServerDelay::TooLong => None,
                    ServerDelay::None => Some(jittered()),
                }
            }
            Code::Unavailable
                if attempt.from_server || attempt.connect_failed || safe_to_resend =>
            {
                Some(jittered())
            }
            Code::DeadlineExceeded if safe_to_resend => Some(jittered()),
            Code::Internal
                if error.has_error_code(ErrorCode::InternalError(
                    InternalError::TransientError.into(),
                )) =>
            {
                Some(jittered())
            }
            _ => None,
        }
    }

    fn server_delay_cap(&self) -> Duration {
        self.quota_wait_cap
    }
}

/// What every call uses unless told otherwise: Google's settings with their overall limit of
/// 14,400 s, and at most 5 attempts, so that a dead endpoint or an outage fails in about half
/// a minute rather than retrying for hours (Google's own settings have no attempt limit).
pub fn default_policy() -> Arc<dyn RetryPolicy> {
    Arc::new(
        GoogleRetry::default()
            .with_attempt_limit(DEFAULT_ATTEMPTS)
            .with_time_limit(Duration::from_secs(14_400)),
    )
}

/// The attempt limit of [`default_policy`].
pub const DEFAULT_ATTEMPTS: u32 = 5;

/// Read-only calls by name: Search, SearchStream, Get..., List... (ListBatchJobResults,
/// GetOperation, ListAccessibleCustomers).
pub(crate) fn idempotent_by_name(method: &str) -> bool {
    ["Search", "Get", "List"]
        .iter()
        .any(|prefix| method.starts_with(prefix))
}
