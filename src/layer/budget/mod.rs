//! The quota budget: one per client, shared by every call of it and its clones (unary calls,
//! streams, the batch driver's and the reports' calls alike), so that calls take turns and a
//! quota error slows the scope the server names instead of each call backing off alone.
//!
//! Three rules, each attempt of a call passing through them before it is sent:
//! - at most [`max_in_flight`](QuotaBudget::max_in_flight) calls are in flight; an open
//!   stream counts until its last message is read or it is dropped;
//! - at most [`starts_per_second`](QuotaBudget::starts_per_second) attempts start per
//!   second (off by default: set it to your developer token's rate when you know it);
//! - a quota error whose `QuotaErrorDetails` name a scope (`ACCOUNT`: the customer the call
//!   was for; `DEVELOPER`: the whole developer token) holds new calls in that scope for the
//!   server's `retry_delay`, at most the retry policy's cap
//!   ([`crate::retry::SERVER_DELAY_CAP`], 120 s, by default); calls in other scopes go on.
//!   The daily operations quota (QuotaError `RESOURCE_EXHAUSTED`) with a longer delay (it
//!   answers with hours) stops the scope instead: until the delay has passed, each call in it
//!   fails at once, without being sent, with an error naming the quota and when it resets
//!   ([`crate::Error::quota_resets_at`]). Nothing sleeps for hours.
//!
//! Calls that wait keep their order: the first to arrive is the first to start, except that
//! a call whose scope is held lets calls of other scopes pass it. Holds and stops are
//! `quota` tracing events at INFO (held, released) and WARN (stopped). Time spent waiting
//! here is not part of a call's attempt timeout.
//!
//! ```no_run
//! # fn demo(config: google_ads::Config) -> Result<(), google_ads::Error> {
//! use google_ads::{GoogleAdsClient, QuotaBudget};
//!
//! let client = GoogleAdsClient::builder(config)
//!     .with_quota_budget(QuotaBudget::new().max_in_flight(20).starts_per_second(10.0))
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! A program that keeps streams open while it makes other calls (a report read row by row,
//! a mutate per row) holds one slot per open stream: with as many such streams open as
//! `max_in_flight`, the calls it makes meanwhile wait for one to end. Read streams to the end
//! (or drop them), or raise the limit.

mod queue;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::config::ConfigError;
use crate::latest::errors::error_code::ErrorCode;
use crate::latest::errors::quota_error_details::QuotaRateScope;
use crate::latest::errors::quota_error_enum::QuotaError;
use crate::{CustomerId, Error};
use queue::{Queue, Waiting};

/// The calls in flight a client allows by default: HTTP/2 servers commonly allow 100 open
/// streams per connection, so calls past it would wait in the connection anyway, out of
/// order and uncounted.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 100;

/// The quota budget's limits ([`crate::GoogleAdsClientBuilder::with_quota_budget`]); the
/// module doc says how it works. Default: on, at most [`DEFAULT_MAX_IN_FLIGHT`] calls in
/// flight, no limit on starts per second, scopes held and stopped as the server's quota errors
/// say.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaBudget {
    on: bool,
    max_in_flight: usize,
    starts_per_second: Option<f64>,
}

impl Default for QuotaBudget {
    fn default() -> Self {
        Self {
            on: true,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            starts_per_second: None,
        }
    }
}

impl QuotaBudget {
    /// The default budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// No budget: every call goes alone (no limits, no held scopes; each call's retry policy
    /// still waits out its own quota errors).
    pub fn off() -> Self {
        Self {
            on: false,
            ..Self::default()
        }
    }

    /// At most `calls` in flight at once (at least 1); an open stream counts until it ends.
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls;
        self
    }

    /// At most `rate` attempts start per second, evenly spaced (a stream takes one start).
    pub fn starts_per_second(mut self, rate: f64) -> Self {
        self.starts_per_second = Some(rate);
        self
    }

    /// The budget these limits make, or the setting that breaks a rule.
    pub(crate) fn build(&self) -> Result<Option<Arc<Budget>>, ConfigError> {
        if !self.on {
            return Ok(None);
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::invalid(
                "quota_budget.max_in_flight",
                "must be at least 1",
            ));
        }
        let interval = match self.starts_per_second {
            None => None,
            Some(rate) if rate.is_finite() && rate > 0.0 && rate <= 1e6 => {
                Some(Duration::from_secs_f64(1.0 / rate))
            }
            Some(_) => {
                return Err(ConfigError::invalid(
                    "quota_budget.starts_per_second",
                    "must be a number above 0 and at most 1000000",
                ));
            }
        };
        Ok(Some(Arc::new(Budget {
            max_in_flight: self.max_in_flight,
            interval,
            state: Mutex::new(State::default()),
        })))
    }
}

/// Where a quota ran out, as `QuotaErrorDetails.rate_scope` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    Developer,
    Account(CustomerId),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Developer => f.write_str("developer token"),
            Scope::Account(id) => write!(f, "account {id}"),
        }
    }
}

/// The shared state of one client's budget.
pub(crate) struct Budget {
    max_in_flight: usize,
    /// The spacing of starts, when a rate is set.
    interval: Option<Duration>,
    state: Mutex<State>,
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("max_in_flight", &self.max_in_flight)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
pub(super) struct State {
    in_flight: usize,
    /// The earliest the next attempt may start, when a rate is set.
    next_start: Option<Instant>,
    /// Scopes held until an instant, with the quota's name.
    holds: HashMap<Scope, (Instant, String)>,
    /// Scopes stopped until an instant, with the error every call in them gets meanwhile.
    stops: HashMap<Scope, (Instant, Error)>,
    queue: Queue,
}

/// A turn taken: the call is in flight until this is dropped (for a stream, when its last
/// message has been read or it is dropped).
pub(crate) struct Permit(Arc<Budget>);

impl Drop for Permit {
    fn drop(&mut self) {
        let budget = &self.0;
        let mut state = budget.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        budget.dispatch(&mut state, Instant::now());
    }
}

impl Budget {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere while the lock
        // was held leaves nothing half done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this call's turn: a slot in flight, a start within the rate, its scopes not
    /// held. A call in a stopped scope fails at once with the error that stopped it.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        customer: Option<CustomerId>,
    ) -> Result<Permit, Error> {
        let waiting = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let now = Instant::now();
            state.expire(now);
            if let Some(error) = state.stopped(customer) {
                return Err(error);
            }
            // The fast path of every call while nobody waits: no queue entry, no wake-up.
            if state.queue.is_empty()
                && state.in_flight < self.max_in_flight
                && state.next_start.is_none_or(|at| at <= now)
                && state.held_until(customer, now).is_none()
            {
                start(
                    self.interval,
                    &mut state.in_flight,
                    &mut state.next_start,
                    now,
                );
                return Ok(Permit(self.clone()));
            }
            let ticket = state.queue.push(customer);
            self.dispatch(state, now);
            ticket
        };
        Waiting::new(self.clone(), waiting).wait().await?;
        Ok(Permit(self.clone()))
    }

    /// Gives every waiting call that may start now its turn, in order of arrival.
    fn dispatch(&self, state: &mut State, now: Instant) {
        state.expire(now);
        let State {
            in_flight,
            next_start,
            holds,
            stops,
            queue,
        } = state;
        queue.dispatch(|customer| {
            if let Some(error) = stopped(stops, customer) {
                return queue::Turn::Refuse(error);
            }
            if held_until(holds, customer, now).is_some() {
                return queue::Turn::Wait;
            }
            if *in_flight >= self.max_in_flight || next_start.is_some_and(|at| at > now) {
                return queue::Turn::Wait;
            }
            start(self.interval, in_flight, next_start, now);
            queue::Turn::Go
        });
        if !state.queue.is_empty() {
            state.queue.watch(state.next_event(now));
        }
    }

    /// Reads a failed attempt's quota errors. Each scope they name is held for the server's
    /// delay, at most `cap`; the daily quota (QuotaError RESOURCE_EXHAUSTED) with a longer
    /// delay stops its scope until the delay has passed instead. Returns when the quota
    /// resets for a stop.
    pub(crate) fn note_failure(
        &self,
        customer: Option<CustomerId>,
        error: &Error,
        cap: Duration,
    ) -> Option<SystemTime> {
        if !error.is_quota() {
            return None;
        }
        let mut resets = None;
        let now = Instant::now();
        let mut state = self.lock();
        for ads_error in error.errors() {
            let Some(details) = ads_error
                .details
                .as_ref()
                .and_then(|d| d.quota_error_details.as_ref())
            else {
                continue;
            };
            let Some(delay) = crate::failure::retry_delay(ads_error) else {
                continue;
            };
            let scope = match (details.rate_scope(), customer) {
                (QuotaRateScope::Developer, _) => Scope::Developer,
                (QuotaRateScope::Account, Some(id)) => Scope::Account(id),
                _ => continue,
            };
            let rate_name = details.rate_name.as_str();
            let used_up = ads_error.error_code.as_ref().and_then(|c| c.error_code)
                == Some(ErrorCode::QuotaError(QuotaError::ResourceExhausted.into()));
            if delay <= cap || !used_up {
                let hold = delay.min(cap);
                let until = now + hold;
                let held = state.holds.entry(scope).or_insert((now, String::new()));
                if until > held.0 {
                    *held = (until, rate_name.to_owned());
                    tracing::info!(target: "google_ads::quota", %scope, rate_name, hold_ms = hold.as_millis() as u64, "quota: scope held");
                }
            } else {
                let until = now + delay;
                let at = SystemTime::now() + delay;
                resets = Some(at);
                let refusal = error.clone().with_quota_reset(at);
                tracing::warn!(target: "google_ads::quota", %scope, rate_name, resets_in_s = delay.as_secs(), "quota: scope stopped until the quota resets");
                state.stops.insert(scope, (until, refusal));
            }
        }
        // A stop refuses the calls already waiting in its scope.
        self.dispatch(&mut state, now);
        resets
    }
}

impl State {
    /// Forgets holds and stops that have passed.
    fn expire(&mut self, now: Instant) {
        self.holds.retain(|scope, (until, rate_name)| {
            let keep = *until > now;
            if !keep {
                tracing::info!(target: "google_ads::quota", %scope, rate_name = rate_name.as_str(), "quota: scope released");
            }
            keep
        });
        self.stops.retain(|_, (until, _)| *until > now);
    }

    fn stopped(&self, customer: Option<CustomerId>) -> Option<Error> {
        stopped(&self.stops, customer)
    }

    fn held_until(&self, customer: Option<CustomerId>, now: Instant) -> Option<Instant> {
        held_until(&self.holds, customer, now)
    }

    /// The next instant something may change without a call ending: a hold ends, or the rate
    /// allows the next start.
    fn next_event(&self, now: Instant) -> Option<Instant> {
        self.holds
            .values()
            .map(|(until, _)| *until)
            .chain(self.next_start)
            .filter(|at| *at > now)
            .min()
    }
}

/// One more call in flight, and the rate's next slot moved on: starts are evenly spaced, never
/// closer than the interval (an idle spell earns no burst), so a timer that fires late costs
/// that start its lateness.
fn start(
    interval: Option<Duration>,
    in_flight: &mut usize,
    next_start: &mut Option<Instant>,
    now: Instant,
) {
    *in_flight += 1;
    if let Some(interval) = interval {
        *next_start = Some(next_start.map_or(now, |at| at.max(now)) + interval);
    }
}

fn stopped(
    stops: &HashMap<Scope, (Instant, Error)>,
    customer: Option<CustomerId>,
) -> Option<Error> {
    if stops.is_empty() {
        return None;
    }
    let scoped = customer.and_then(|id| stops.get(&Scope::Account(id)));
    stops
        .get(&Scope::Developer)
        .or(scoped)
        .map(|(_, error)| error.clone())
}

fn held_until(
    holds: &HashMap<Scope, (Instant, String)>,
    customer: Option<CustomerId>,
    now: Instant,
) -> Option<Instant> {
    if holds.is_empty() {
        return None;
    }
    let developer = holds.get(&Scope::Developer).map(|(at, _)| *at);
    let account = customer
        .and_then(|id| holds.get(&Scope::Account(id)))
        .map(|(at, _)| *at);
    developer.max(account).filter(|at| *at > now)
}
