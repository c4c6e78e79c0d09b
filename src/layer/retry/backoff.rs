//! How long to wait before the next attempt, and the one rule for delays the server asks for.
//!
//! Every wait of the crate comes from here: the layer's retries, the batch driver's upload and
//! run loops, results pages and the running job's poll schedule.

use std::fmt;
use std::time::Duration;

use crate::Error;

/// The longest delay a server may ask for (`QuotaErrorDetails.retry_delay`) that is waited
/// out by default; a longer one ends the call with the delay and this cap in the error
/// ([`crate::Error::retry_delay`]). Real quota delays range from seconds to hours: an hour's
/// sleep inside a call is never what a program wants.
pub const SERVER_DELAY_CAP: Duration = Duration::from_secs(120);

/// How long to wait before attempt `attempt + 1` (`attempt` counts from 1).
pub trait BackoffPolicy: Send + Sync + fmt::Debug + 'static {
    /// The wait after attempt `attempt` failed.
    fn delay(&self, attempt: u32) -> Duration;
}

/// `initial x multiplier^(attempt - 1)`, at most `max`, optionally jittered down to a
/// fraction of itself (so clients that failed together do not come back together).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialBackoff {
    initial: Duration,
    multiplier: f64,
    max: Duration,
    /// The least fraction of the delay a jittered wait keeps (1.0: no jitter).
    jitter_floor: f64,
}

impl ExponentialBackoff {
    /// Waits of `initial`, growing by `multiplier` per attempt (at least 1), at most `max`;
    /// no jitter.
    pub fn new(initial: Duration, multiplier: f64, max: Duration) -> Self {
        Self {
            initial,
            multiplier: if multiplier.is_finite() && multiplier >= 1.0 {
                multiplier
            } else {
                1.0
            },
            max: max.max(initial),
            jitter_floor: 1.0,
        }
    }

    /// Each wait drawn between `floor` (0 to 1) and all of the delay.
    pub fn with_jitter(mut self, floor: f64) -> Self {
        self.jitter_floor = if floor.is_finite() {
            floor.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self
    }

    /// The first wait.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The delay before jitter.
    pub fn unjittered(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

impl BackoffPolicy for ExponentialBackoff {
    fn delay(&self, attempt: u32) -> Duration {
        let delay = self.unjittered(attempt);
        if self.jitter_floor >= 1.0 {
            delay
        } else {
            jitter(delay, self.jitter_floor, 1.0)
        }
    }
}

/// Google's backoff for the Ads API: 5 s, x1.3, at most 60 s, jittered down to half.
pub(crate) fn google_backoff() -> ExponentialBackoff {
    ExponentialBackoff::new(Duration::from_secs(5), 1.3, Duration::from_secs(60)).with_jitter(0.5)
}

/// What a failed call's own delay (`QuotaErrorDetails.retry_delay`) means under `cap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerDelay {
    /// The server gave none: the backoff decides.
    None,
    /// Wait this long (the server's delay plus up to 10% jitter).
    Wait(Duration),
    /// Longer than the cap: not waited out; the error carries the delay and the cap.
    TooLong,
}

/// The one rule for a delay the server asks for: waited out up to `cap`, surfaced beyond.
pub(crate) fn server_delay(error: &Error, cap: Duration) -> ServerDelay {
    match error.retry_delay() {
        None => ServerDelay::None,
        Some(delay) if delay <= cap => ServerDelay::Wait(jitter(delay, 1.0, 1.1)),
        Some(_) => ServerDelay::TooLong,
    }
}

/// `delay` scaled by a random factor in `[low, high]`. Randomness from ring, the crate's one
/// crypto provider, rather than another dependency for a few bits; from a seeded sequence
/// instead on a thread where a simulation asked for one ([`seed_thread_jitter`]).
pub(crate) fn jitter(delay: Duration, low: f64, high: f64) -> Duration {
    let bits = seeded_bits().unwrap_or_else(|| {
        let rng = ring::rand::SystemRandom::new();
        ring::rand::generate::<[u8; 4]>(&rng)
            .map(|r| u32::from_le_bytes(r.expose()))
            .unwrap_or(u32::MAX / 2)
    });
    let unit = f64::from(bits) / f64::from(u32::MAX);
    delay.mul_f64(low + (high - low) * unit)
}

#[cfg(feature = "fake")]
thread_local! {
    static SEEDED: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Makes every jitter drawn on this thread come from a sequence seeded by `seed` (`None`:
/// back to the system's randomness). A run on a current-thread runtime on the paused clock
/// then waits the same delays each time: a simulation's seed replays its run.
#[cfg(feature = "fake")]
pub(crate) fn seed_thread_jitter(seed: Option<u64>) {
    SEEDED.with(|s| s.set(seed));
}

/// The next 32 bits of this thread's seeded sequence (splitmix64: tiny and well mixed,
/// which is all a jitter needs), if it has one.
fn seeded_bits() -> Option<u32> {
    #[cfg(feature = "fake")]
    {
        SEEDED.with(|s| {
            let state = s.get()?.wrapping_add(0x9E37_79B9_7F4A_7C15);
            s.set(Some(state));
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            Some(((z ^ (z >> 31)) >> 32) as u32)
        })
    }
    #[cfg(not(feature = "fake"))]
    None
}
