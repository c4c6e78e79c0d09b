//! [`GoogleAdsClientBuilder`]: config in, options set with `with_*`, checked in `build()`.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use tonic::transport::Channel;

use super::GoogleAdsClient;
use crate::Error;
use crate::auth::{TokenCache, TokenSource};
use crate::config::{Config, ConfigError};
use crate::layer::retry::{RetryObserver, RetryPolicy, Retrying};
use crate::layer::{AdsLayer, QuotaBudget, StaticHeaders};
use crate::transport::TransportOptions;

/// Builds a [`GoogleAdsClient`]: `GoogleAdsClient::builder(config)`, any `with_*`, then
/// [`build`](Self::build), which checks everything before the client exists. The client
/// connects on first use.
///
/// ```no_run
/// # fn demo(config: google_ads::Config) -> Result<(), google_ads::Error> {
/// use google_ads::GoogleAdsClient;
/// use google_ads::retry::{GoogleRetry, RetryPolicyExt as _};
///
/// let client = GoogleAdsClient::builder(config)
///     .with_retry_policy(GoogleRetry::default().with_attempt_limit(3))
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct GoogleAdsClientBuilder {
    config: Config,
    transport: TransportOptions,
    token_source: Option<Arc<dyn TokenSource>>,
    policy: Option<Arc<dyn RetryPolicy>>,
    on_retry: Option<RetryObserver>,
    channel: Option<Channel>,
    token_timeout: Duration,
    token_connect_timeout: Duration,
    budget: QuotaBudget,
}

impl std::fmt::Debug for GoogleAdsClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleAdsClientBuilder")
            .field("config", &self.config)
            .field("transport", &self.transport)
            .field("policy", &self.policy)
            .field("on_retry", &self.on_retry)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl GoogleAdsClientBuilder {
    pub(super) fn new(config: Config) -> Self {
        Self {
            config,
            transport: TransportOptions::default(),
            token_source: None,
            policy: None,
            on_retry: None,
            channel: None,
            token_timeout: crate::auth::DEFAULT_TOKEN_TIMEOUT,
            token_connect_timeout: crate::auth::DEFAULT_TOKEN_CONNECT_TIMEOUT,
            budget: QuotaBudget::default(),
        }
    }

    /// Transport options: extra trusted roots, forced plaintext.
    pub fn with_transport_options(mut self, options: TransportOptions) -> Self {
        self.transport = options;
        self
    }

    /// Tokens from `source` instead of the config's credentials.
    pub fn with_token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.token_source = Some(source);
        self
    }

    /// The retry policy of every call (default: [`crate::retry::default_policy`]); per call,
    /// [`crate::CallOptions`] wins.
    pub fn with_retry_policy(mut self, policy: impl RetryPolicy) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// Calls `observer` before each wait of every call's retries: which call, which attempt
    /// failed and why, how long the wait before the next attempt is ([`Retrying`]). For
    /// progress lines, logs and metrics; it runs on the calling task, so keep it quick.
    /// [`crate::CallOptions::on_retry`] replaces it for one call. Waits that are not the
    /// retry policy's (a batch job's polling, the one token refresh after an expired token)
    /// do not call it; every retry is also a `retrying` tracing event at INFO.
    ///
    /// ```no_run
    /// # fn demo(config: google_ads::Config) -> Result<(), google_ads::Error> {
    /// let client = google_ads::GoogleAdsClient::builder(config)
    ///     .on_retry(|r| eprintln!("{}: attempt {} failed; next in {:?}", r.method, r.attempt, r.delay))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_retry(mut self, observer: impl Fn(&Retrying<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(RetryObserver::new(observer));
        self
    }

    /// A channel of your own (a custom transport, a connection shared with other code); the
    /// config's endpoint and the transport options are then not used.
    pub fn with_channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// How long a token request waits for its connection to the token endpoint (or the
    /// proxy) before that attempt fails (default
    /// [`DEFAULT_TOKEN_CONNECT_TIMEOUT`](crate::auth::DEFAULT_TOKEN_CONNECT_TIMEOUT), 10 s).
    /// Google's own auth crate (feature `google-cloud-auth`) keeps its own; the token timeout
    /// bounds it.
    pub fn with_token_connect_timeout(mut self, timeout: Duration) -> Self {
        self.token_connect_timeout = timeout;
        self
    }

    /// The longest one token refresh may take, connecting and answering included
    /// (default [`DEFAULT_TOKEN_TIMEOUT`](crate::auth::DEFAULT_TOKEN_TIMEOUT), 30 s; a
    /// connection alone gets the token connect timeout, 10 s): past it the refresh fails with an error naming the token
    /// endpoint, the calls waiting on it fail (or retry, as the policy says), and the next
    /// call asks again. A call's attempt timeout, when set, bounds the wait too.
    pub fn with_token_timeout(mut self, timeout: Duration) -> Self {
        self.token_timeout = timeout;
        self
    }

    /// The quota budget every call of the client and its clones shares (default
    /// [`QuotaBudget::default`]: on, at most 100 calls in flight, quota scopes held as the
    /// server's errors say); [`QuotaBudget::off`] lets each call go alone. See
    /// [`crate::layer::budget`].
    pub fn with_quota_budget(mut self, budget: QuotaBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<GoogleAdsClient, Error> {
        let config = self.config;
        let budget = self.budget.build()?;
        let proxy = crate::transport::ProxyRule::resolve(config.http_proxy.as_ref())
            .map_err(|(name, e)| ConfigError::invalid(name, &e))?;
        let source = match self.token_source {
            Some(source) => source,
            None => crate::auth::source_for(
                &config.credentials,
                &crate::auth::TokenClient::new(&proxy, self.token_connect_timeout),
            )?,
        };
        let channel = match self.channel {
            Some(channel) => channel,
            None => crate::transport::channel_through(&config.endpoint, &self.transport, &proxy)?,
        };
        let headers = static_headers(&config)?;
        let tokens = Arc::new(TokenCache::new(source).with_timeout(self.token_timeout));
        let policy = self
            .policy
            .unwrap_or_else(crate::layer::retry::default_policy);
        let fake_seen = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let layer = AdsLayer::new(
            tokens.clone(),
            headers,
            policy,
            self.on_retry,
            fake_seen.clone(),
            budget,
        );
        Ok(GoogleAdsClient {
            service: tower::Layer::layer(&layer, channel),
            config: Arc::new(config),
            tokens,
            fake_seen,
        })
    }
}

/// The headers every call carries, made once.
fn static_headers(config: &Config) -> Result<StaticHeaders, ConfigError> {
    let header = |key: &str, value: &str| {
        HeaderValue::from_str(value)
            .map_err(|_| ConfigError::invalid(key, "is not a valid header value"))
    };
    let developer_token = match (&config.developer_token, config.use_cloud_org_for_api_access) {
        (Some(token), false) => {
            let mut value = header("developer_token", token.expose())?;
            value.set_sensitive(true);
            Some(value)
        }
        _ => None,
    };
    Ok(StaticHeaders {
        developer_token,
        login_customer_id: config
            .login_customer_id
            .map(|id| header("login_customer_id", id.as_str()))
            .transpose()?,
        linked_customer_id: config
            .linked_customer_id
            .map(|id| header("linked_customer_id", id.as_str()))
            .transpose()?,
        api_client: HeaderValue::from_static(API_CLIENT),
    })
}

/// `x-goog-api-client`: language, transport and crate versions.
const API_CLIENT: &str = concat!(
    "gl-rust/",
    env!("RUSTC_VERSION_FOR_API_CLIENT"),
    " tonic/0.14 gccl/",
    env!("CARGO_PKG_VERSION")
);
