//! [`TokenCache`]: one valid token for every call, refreshed ahead of expiry by a single
//! flight that every waiting call shares.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::Shared;
use http::HeaderValue;
use tokio::time::Instant;

use super::{AccessToken, AuthError, BoxFuture, TokenSource};

/// How long before expiry a token is replaced.
pub(super) const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How long one refresh may take, connection and answer included, unless the client says
/// otherwise (`GoogleAdsClientBuilder::with_token_timeout`): a token endpoint that accepts
/// the connection and never answers fails the refresh then, instead of hanging every call.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// A ready `authorization` value and when its token expires.
type Ready = (HeaderValue, Option<Instant>);

type Refresh = Shared<BoxFuture<'static, Result<AccessToken, AuthError>>>;

/// Caches the token of a [`TokenSource`]; concurrent callers share one refresh.
pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    /// The ready `authorization` value and its expiry; the refresh in flight, if any.
    state: Mutex<(Option<Ready>, Option<Refresh>)>,
    /// How long one refresh may take.
    timeout: Duration,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache over `source`.
    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        Self {
            source,
            state: Mutex::new((None, None)),
            timeout: DEFAULT_TOKEN_TIMEOUT,
        }
    }

    /// A cache whose refreshes each end within `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `authorization` header value (`Bearer ...`, marked sensitive) of a valid token: the
    /// cached one, or the result of the one refresh in flight. Kept ready-made so the common
    /// path is a lock and a reference-count increment.
    pub async fn authorization(&self) -> Result<HeaderValue, AuthError> {
        let refresh = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((header, expires_at)) = &state.0
                && expires_at.is_none_or(|at| Instant::now() + REFRESH_MARGIN < at)
            {
                return Ok(header.clone());
            }
            match &state.1 {
                Some(refresh) => refresh.clone(),
                None => {
                    let source = self.source.clone();
                    let timeout = self.timeout;
                    let refresh: BoxFuture<'static, _> =
                        Box::pin(async move { bounded_fetch(&*source, timeout).await });
                    let refresh = refresh.shared();
                    state.1 = Some(refresh.clone());
                    refresh
                }
            }
        };
        let result = refresh.clone().await;
        let header = result.and_then(|token| {
            let mut header = HeaderValue::from_str(&format!("Bearer {}", token.token.expose()))
                .map_err(|_| {
                    AuthError::permanent("the access token is not a valid header value")
                })?;
            header.set_sensitive(true);
            Ok((header, token.expires_at))
        });
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Errors are not cached: once every waiter of this flight has its error, a later call
        // tries again. Only this flight's own slot is cleared, never a newer one's.
        if state
            .1
            .as_ref()
            .is_some_and(|current| current.ptr_eq(&refresh))
        {
            state.1 = None;
            if let Ok(fresh) = &header {
                state.0 = Some(fresh.clone());
            }
        }
        header.map(|(h, _)| h)
    }

    /// Forgets the cached token (after the server called it expired).
    pub fn invalidate(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0 = None;
    }
}

/// One fetch of `source`, ended after `timeout`, with a panic turned into an error: a refresh
/// that hangs or panics fails the calls waiting on it, and (errors are not cached) the next
/// call starts a new one. A panic let through would stay in the shared future and fail every
/// later call too.
async fn bounded_fetch(
    source: &dyn TokenSource,
    timeout: Duration,
) -> Result<AccessToken, AuthError> {
    let fetch = std::panic::AssertUnwindSafe(async { source.fetch().await }).catch_unwind();
    match tokio::time::timeout(timeout, fetch).await {
        Ok(Ok(fetched)) => fetched,
        Ok(Err(panic)) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(AuthError::transient(format!(
                "{} panicked: {what}",
                source.describe()
            )))
        }
        Err(_) => Err(AuthError::transient(format!(
            "{} gave no token within {timeout:?} (the token timeout)",
            source.describe()
        ))),
    }
}
