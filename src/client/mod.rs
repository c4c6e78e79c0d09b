//! [`GoogleAdsClient`] and how it is built ([`GoogleAdsClientBuilder`]), and a handle for
//! every service of the API ([`handles`]: `client.campaign()`, `client.google_ads()`...),
//! whose methods return the response or a [`crate::Error`] with the failure already decoded.
//!
//! Owns: putting config, token cache, channel and layer together; the per-service surface and
//! the codec every call uses (`codec`: responses decoded from one slice).
//! Does not own: what happens on a call (`layer`), the channel's settings (`transport`), the
//! engines built on top (`search`, `mutate`, `batch`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), google_ads::Error> {
//! use google_ads::{Config, GoogleAdsClient};
//! use google_ads::latest::services::ListAccessibleCustomersRequest;
//!
//! let client = GoogleAdsClient::builder(Config::from_default_yaml_file()?).build()?;
//! let customers = client.customer().list_accessible_customers(ListAccessibleCustomersRequest {}).await?;
//! # Ok(()) }
//! ```

mod builder;
pub(crate) mod codec;
pub mod handles;

use std::fmt;
use std::sync::Arc;

use tonic::transport::Channel;

pub use builder::GoogleAdsClientBuilder;
pub use handles::ResponseStream;

use crate::auth::TokenCache;
use crate::config::{Config, Credentials};
use crate::layer::AdsService;

/// The service every generated client of [`GoogleAdsClient`] runs on.
pub type AdsChannel = AdsService<Channel>;

/// The Google Ads API client. Cheap to clone: clones share the channel and the token cache.
#[derive(Clone)]
pub struct GoogleAdsClient {
    service: AdsChannel,
    config: Arc<Config>,
    tokens: Arc<TokenCache>,
    fake_seen: Arc<std::sync::atomic::AtomicBool>,
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
    /// A builder for a client of `config`: the one way to make a client.
    pub fn builder(config: Config) -> GoogleAdsClientBuilder {
        GoogleAdsClientBuilder::new(config)
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether an answer so far carried the mark of this crate's fake (the embedded one or
    /// `fake_server`; the real API never sends it). Batch work left on its default schedule
    /// polls such a server every 100 ms ([`PollSchedule::local`](crate::batch::PollSchedule::local))
    /// instead of the guide's 30 s: judged by what the server answers, never by where it
    /// listens (the real API through a tunnel on loopback is still the real API).
    pub fn answered_as_fake(&self) -> bool {
        self.fake_seen.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The layered channel, for building any generated client by hand (the handles'
    /// `raw()` gives the same for one service).
    pub fn channel(&self) -> AdsChannel {
        self.service.clone()
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
