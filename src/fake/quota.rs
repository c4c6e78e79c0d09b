//! The fake's quota model: a rate per developer token and per account, and a daily operations
//! quota, answered as the real API answers them: RESOURCE_EXHAUSTED with a QuotaError and
//! `QuotaErrorDetails` (scope, rate name, retry delay).
//!
//! Rates are token buckets on tokio's clock, holding one second's worth of calls (at least
//! one), so a burst of that size passes and then calls pass at the rate. A call over a rate
//! is answered RESOURCE_TEMPORARILY_EXHAUSTED with the time until the bucket has a call again,
//! in whole seconds (at least one), as `retry_delay`. The daily quota counts each call as one
//! operation (the real one counts each mutate operation) in days of tokio time since the
//! fake started; used up, calls are answered RESOURCE_EXHAUSTED with the time left until the
//! day ends. A refused call uses nothing up.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use tonic::{Code, Status};

use super::failure::{self, AdsError};
use crate::latest::errors::{ErrorDetails, QuotaErrorDetails, quota_error_details::QuotaRateScope};

const DAY: Duration = Duration::from_secs(86_400);

/// The limits, as the builder set them (none by default).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct QuotaModel {
    pub developer_per_second: Option<f64>,
    pub account_per_second: Option<f64>,
    pub daily_operations: Option<u64>,
}

/// A call the quota model refused ([`crate::fake::FakeServer::quota_refusals`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaRefusal {
    /// When, on tokio's clock, since the fake started (as [`crate::fake::Call::at`]).
    pub at: Duration,
    /// The customer the call was for, if it named one.
    pub customer_id: Option<String>,
    /// The scope the refusal named: the developer token (rates and the daily quota) rather
    /// than the account.
    pub developer: bool,
    /// The QuotaError: `RESOURCE_TEMPORARILY_EXHAUSTED` (a rate) or `RESOURCE_EXHAUSTED`
    /// (the daily quota).
    pub error: &'static str,
    /// The `retry_delay` sent.
    pub retry_delay: Duration,
}

/// What the quotas have used up.
pub(crate) struct Quotas {
    model: QuotaModel,
    started: Instant,
    developer: Bucket,
    accounts: HashMap<String, Bucket>,
    day: u64,
    used_today: u64,
    refused: Vec<QuotaRefusal>,
}

struct Bucket {
    calls: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: f64, now: Instant) -> Self {
        Self {
            calls: rate.max(1.0),
            at: now,
        }
    }

    /// Refills to `now`; `None` when a call may pass, else how long until one may.
    fn wait(&mut self, rate: f64, now: Instant) -> Option<Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.calls = (self.calls + elapsed * rate).min(rate.max(1.0));
        self.at = now;
        (self.calls < 1.0).then(|| Duration::from_secs_f64((1.0 - self.calls) / rate))
    }
}

impl Quotas {
    /// Quotas counted from `started`, when the fake started.
    pub(crate) fn new(model: QuotaModel, started: Instant) -> Self {
        Self {
            developer: Bucket::full(model.developer_per_second.unwrap_or(1.0), started),
            model,
            started,
            accounts: HashMap::new(),
            day: 0,
            used_today: 0,
            refused: Vec::new(),
        }
    }

    /// The calls the quotas refused, in order.
    pub(crate) fn refused(&self) -> Vec<QuotaRefusal> {
        self.refused.clone()
    }

    /// Lets one call of `customer` pass, using its share up, or refuses it.
    pub(crate) fn take(&mut self, customer: Option<&str>, request_id: &str) -> Result<(), Status> {
        let now = Instant::now();
        let refusal = self.refusal(customer, now);
        if let Some((name, scope, rate_name, delay)) = refusal {
            self.refused.push(QuotaRefusal {
                at: now.saturating_duration_since(self.started),
                customer_id: customer.map(str::to_owned),
                developer: scope == QuotaRateScope::Developer,
                error: name,
                retry_delay: delay,
            });
            return Err(quota_status(name, scope, rate_name, delay, request_id));
        }
        if self.model.developer_per_second.is_some() {
            self.developer.calls -= 1.0;
        }
        if let (Some(_), Some(id)) = (self.model.account_per_second, customer)
            && let Some(bucket) = self.accounts.get_mut(id)
        {
            bucket.calls -= 1.0;
        }
        self.used_today += 1;
        Ok(())
    }

    fn refusal(
        &mut self,
        customer: Option<&str>,
        now: Instant,
    ) -> Option<(&'static str, QuotaRateScope, &'static str, Duration)> {
        let since_start = now.saturating_duration_since(self.started);
        let day = since_start.as_secs() / DAY.as_secs();
        if day != self.day {
            self.day = day;
            self.used_today = 0;
        }
        if let Some(limit) = self.model.daily_operations
            && self.used_today >= limit
        {
            let day_ends = Duration::from_secs((day + 1) * DAY.as_secs());
            return Some((
                "RESOURCE_EXHAUSTED",
                QuotaRateScope::Developer,
                "Number of operations for basic access",
                whole_seconds(day_ends.saturating_sub(since_start)),
            ));
        }
        if let Some(rate) = self.model.developer_per_second
            && let Some(wait) = self.developer.wait(rate, now)
        {
            return Some((
                "RESOURCE_TEMPORARILY_EXHAUSTED",
                QuotaRateScope::Developer,
                "Requests per developer token",
                whole_seconds(wait),
            ));
        }
        if let (Some(rate), Some(id)) = (self.model.account_per_second, customer) {
            let bucket = self
                .accounts
                .entry(id.to_owned())
                .or_insert_with(|| Bucket::full(rate, now));
            if let Some(wait) = bucket.wait(rate, now) {
                return Some((
                    "RESOURCE_TEMPORARILY_EXHAUSTED",
                    QuotaRateScope::Account,
                    "Requests per account",
                    whole_seconds(wait),
                ));
            }
        }
        None
    }
}

/// The real API's delays are whole seconds.
fn whole_seconds(wait: Duration) -> Duration {
    Duration::from_secs(wait.as_secs_f64().ceil().max(1.0) as u64)
}

/// RESOURCE_EXHAUSTED with one QuotaError `name` and its QuotaErrorDetails (scope, rate
/// name, `retry_delay`), as the API sends a quota error.
pub(crate) fn quota_status(
    name: &'static str,
    scope: QuotaRateScope,
    rate_name: &str,
    delay: Duration,
    request_id: &str,
) -> Status {
    let mut error = AdsError::new(
        "quota_error",
        name,
        "Too many requests. Retry in the time given in retry_delay.",
    );
    error.details = Some(Box::new(ErrorDetails {
        quota_error_details: Some(QuotaErrorDetails {
            rate_scope: scope as i32,
            rate_name: rate_name.into(),
            retry_delay: Some(prost_types::Duration {
                seconds: i64::try_from(delay.as_secs()).unwrap_or(i64::MAX),
                nanos: delay.subsec_nanos() as i32,
            }),
        }),
        ..Default::default()
    }));
    failure::status(Code::ResourceExhausted, &[error], request_id)
}
