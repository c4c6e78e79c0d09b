//! `GoogleAdsClient`: a config, a token cache and one HTTP/2 channel, and a typed accessor for
//! every service (generated: see google-ads-types/build.rs), each client running on
//! [`AdsService`].

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;
use tonic::transport::Channel;

use crate::auth::{AuthError, TokenCache, TokenSource};
use crate::config::{Config, ConfigError, Credentials};
use crate::layer::{AdsLayer, AdsService, StaticHeaders};
use crate::transport::{TransportError, TransportOptions};

/// The service every generated client of [`GoogleAdsClient`] runs on.
pub type AdsChannel = AdsService<Channel>;

/// Why a client could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// The configuration is unusable.
    Config(ConfigError),
    /// The credentials cannot produce tokens (unreadable or malformed key file...).
    Auth(AuthError),
    /// The endpoint or transport options are unusable.
    Transport(TransportError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => e.fmt(f),
            Self::Auth(e) => e.fmt(f),
            Self::Transport(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Auth(e) => Some(e),
            Self::Transport(e) => Some(e),
        }
    }
}

/// The Google Ads API client. Cheap to clone: clones share the channel and the token cache.
#[derive(Clone)]
pub struct GoogleAdsClient {
    service: AdsChannel,
    config: Arc<Config>,
    tokens: Arc<TokenCache>,
}

impl fmt::Debug for GoogleAdsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Config's secrets print as <redacted>.
        f.debug_struct("GoogleAdsClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GoogleAdsClient {
    /// A client for `config`, with default transport options. Connects on first use.
    pub fn new(config: Config) -> Result<Self, BuildError> {
        Self::with_options(config, TransportOptions::default())
    }

    /// A client for `config` with transport options (extra roots, forced plaintext).
    pub fn with_options(config: Config, options: TransportOptions) -> Result<Self, BuildError> {
        let source = crate::auth::source_for(&config.credentials).map_err(BuildError::Auth)?;
        Self::with_token_source(config, options, source)
    }

    /// A client whose tokens come from `source` (the config's credentials are not used).
    pub fn with_token_source(
        config: Config,
        options: TransportOptions,
        source: Arc<dyn TokenSource>,
    ) -> Result<Self, BuildError> {
        let channel =
            crate::transport::channel(&config.endpoint, &options).map_err(BuildError::Transport)?;
        Self::with_channel(config, channel, source)
    }

    /// A client over a channel of your own (a custom transport, a connection shared with
    /// other code); the config's endpoint is not used.
    pub fn with_channel(
        config: Config,
        channel: Channel,
        source: Arc<dyn TokenSource>,
    ) -> Result<Self, BuildError> {
        let header = |key: &str, value: &str| {
            HeaderValue::from_str(value).map_err(|_| {
                BuildError::Config(ConfigError::invalid(key, "is not a valid header value"))
            })
        };
        let mut developer_token =
            match (&config.developer_token, config.use_cloud_org_for_api_access) {
                (Some(token), false) => Some(header("developer_token", token.expose())?),
                _ => None,
            };
        if let Some(v) = developer_token.as_mut() {
            v.set_sensitive(true);
        }
        let headers = StaticHeaders {
            developer_token,
            login_customer_id: config
                .login_customer_id
                .as_deref()
                .map(|v| header("login_customer_id", v))
                .transpose()?,
            linked_customer_id: config
                .linked_customer_id
                .as_deref()
                .map(|v| header("linked_customer_id", v))
                .transpose()?,
            api_client: HeaderValue::from_static(API_CLIENT),
        };
        let tokens = Arc::new(TokenCache::new(source));
        let service = tower::Layer::layer(&AdsLayer::new(tokens.clone(), headers), channel);
        Ok(Self {
            service,
            config: Arc::new(config),
            tokens,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The layered channel, for building any generated client by hand.
    pub fn channel(&self) -> AdsChannel {
        self.service.clone()
    }

    /// This client with another retry policy for every call (clones made before keep theirs).
    /// Per call, [`crate::retry::CallOptions`] wins.
    pub fn with_retry_policy(mut self, policy: impl crate::retry::RetryPolicy) -> Self {
        self.service.policy = Arc::new(policy);
        self
    }

    /// Drops the cached access token so the next call fetches a new one.
    pub fn invalidate_token(&self) {
        self.tokens.invalidate();
    }

    /// Which credential kind the client uses, for messages.
    pub fn credential_kind(&self) -> &'static str {
        match self.config.credentials {
            Credentials::RefreshToken { .. } => "OAuth2 refresh token",
            Credentials::ServiceAccount { .. } => "service account",
            Credentials::ApplicationDefault => "application default credentials",
            Credentials::AccessToken(_) => "fixed access token",
        }
    }
}

/// `x-goog-api-client`: language, transport and crate versions.
const API_CLIENT: &str = concat!(
    "gl-rust/",
    env!("RUSTC_VERSION_FOR_API_CLIENT"),
    " tonic/0.14 gccl/",
    env!("CARGO_PKG_VERSION")
);

/// Wraps a request message so that this call alone goes through `login_customer_id`
/// (for users who manage many accounts from one client).
pub fn with_login_customer_id<T>(
    message: T,
    login_customer_id: &str,
) -> Result<tonic::Request<T>, ConfigError> {
    crate::config::check_customer_id("login_customer_id", login_customer_id)?;
    let mut request = tonic::Request::new(message);
    if let Ok(value) = login_customer_id.parse() {
        request.metadata_mut().insert("login-customer-id", value);
    }
    Ok(request)
}
