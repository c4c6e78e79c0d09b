//! The one retry loop: every place in the crate that tries something again (the layer's
//! attempts, the batch driver's upload and run loops, its status reads) counts attempts, asks
//! its [`RetryPolicy`] and sleeps here, so the rules (the policy decides, the backoff sizes the
//! wait, a server delay beyond the cap is surfaced with the cap in the error) hold everywhere.
//!
//! A loop object rather than a function taking a closure: the callers' attempts borrow their
//! own state mutably (the driver's chunk and state), which a closure returning a future
//! cannot do without cloning it per attempt.

use std::time::Duration;

use tokio::time::Instant;

use super::{FailedAttempt, RetryPolicy};
use crate::Error;

/// A failed attempt and what is known of whether its request reached the server.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: Error,
    /// The server answered: it handled, or refused, the request.
    pub from_server: bool,
    /// Nothing was sent (no connection, no token).
    pub not_sent: bool,
}

impl Failure {
    /// The server answered with a failure.
    pub fn answered(error: Error) -> Self {
        Self {
            error,
            from_server: true,
            not_sent: false,
        }
    }

    /// No answer came (a timeout, a connection broken mid-call): the request may have been
    /// handled.
    pub fn unanswered(error: Error) -> Self {
        Self {
            error,
            from_server: false,
            not_sent: false,
        }
    }

    /// The request never left: no connection could be made, or no token could be had.
    pub fn not_sent(error: Error) -> Self {
        Self {
            error,
            from_server: false,
            not_sent: true,
        }
    }
}

/// Attempts of one piece of work under one policy.
pub(crate) struct RetryLoop<'p> {
    policy: &'p dyn RetryPolicy,
    idempotent: bool,
    started: Instant,
    attempt: u32,
}

impl<'p> RetryLoop<'p> {
    /// A loop for work that may (`idempotent`) or may not be repeated safely.
    pub fn new(policy: &'p dyn RetryPolicy, idempotent: bool) -> Self {
        Self {
            policy,
            idempotent,
            started: Instant::now(),
            attempt: 0,
        }
    }

    /// Counts the attempt about to be made and returns its number (1 for the first).
    pub fn next_attempt(&mut self) -> u32 {
        self.attempt = self.attempt.saturating_add(1);
        self.attempt
    }

    /// When the first attempt began.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// What the failed attempt leads to: the wait before the next one, or the error to
    /// return (with the attempts made, and the cap when the server asked for a longer wait).
    pub fn decide(&self, failure: &Failure) -> Result<Duration, Error> {
        let decision = self.policy.retry_after(&FailedAttempt {
            error: &failure.error,
            attempt: self.attempt,
            elapsed: self.started.elapsed(),
            idempotent: self.idempotent,
            from_server: failure.from_server,
            connect_failed: failure.not_sent,
        });
        match decision {
            Some(delay) => Ok(delay),
            None => {
                let cap = self.policy.server_delay_cap();
                let mut error = failure.error.clone().with_attempts(self.attempt.max(1));
                if error.retry_delay().is_some_and(|d| d > cap) {
                    error = error.with_delay_cap(cap);
                }
                Err(error)
            }
        }
    }

    /// [`decide`](Self::decide), then the wait.
    pub async fn wait_after(&mut self, failure: Failure) -> Result<(), Error> {
        let delay = self.decide(&failure)?;
        tracing::info!(attempt = self.attempt, error = %failure.error, wait_ms = delay.as_millis() as u64, "trying again");
        tokio::time::sleep(delay).await;
        Ok(())
    }
}
