//! Access tokens: where they come from ([`TokenSource`]: a refresh token, a service account,
//! application default credentials, a fixed token, or your own) and the [`TokenCache`] that
//! refreshes them ahead of expiry, one refresh at a time however many calls wait.
//!
//! Owns: credentials to tokens, token errors (permanent or transient). Does not own: the
//! configuration that names the credentials (`config`), or putting the token on a call
//! (`layer`).
//!
//! The OAuth2 exchanges are written here rather than taken from an OAuth crate: yup-oauth2's
//! refresh-token flow posts to a fixed Google URL (no way to test it against a local endpoint)
//! and jsonwebtoken's current releases sign with aws-lc-rs or RustCrypto, a second crypto
//! stack beside the ring that rustls already uses. What is here is two form POSTs and one
//! RS256 signature with ring.
//!
//! The configured credentials pick a source by themselves; a source of your own (a secret
//! manager, a token broker) goes in with [`with_token_source`](crate::GoogleAdsClientBuilder::with_token_source):
//!
//! ```no_run
//! use std::sync::Arc;
//! use google_ads::auth::{AccessToken, AuthError, BoxFuture, TokenSource};
//! use google_ads::{Config, GoogleAdsClient, Secret};
//!
//! /// Tokens from somewhere else, valid for an hour.
//! struct Broker;
//!
//! impl TokenSource for Broker {
//!     fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
//!         Box::pin(async {
//!             let token = std::env::var("MY_ACCESS_TOKEN")
//!                 .map_err(|_| AuthError::permanent("MY_ACCESS_TOKEN is not set"))?;
//!             Ok(AccessToken {
//!                 token: Secret::new(token),
//!                 expires_at: Some(tokio::time::Instant::now() + std::time::Duration::from_secs(3600)),
//!             })
//!         })
//!     }
//! }
//!
//! # fn demo(config: Config) -> Result<(), google_ads::Error> {
//! let client = GoogleAdsClient::builder(config)
//!     .with_token_source(Arc::new(Broker))
//!     .build()?;
//! # Ok(()) }
//! ```

// The crate's own reading of application default credentials, unless google-cloud-auth does it.
#[cfg(not(feature = "google-cloud-auth"))]
mod adc;
mod cache;
#[cfg(feature = "google-cloud-auth")]
mod cloud;
mod consent;
#[cfg(not(feature = "google-cloud-auth"))]
mod metadata;
mod oauth;
mod service_account;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::time::Instant;

use crate::config::Credentials;
use crate::secret::Secret;

pub use cache::{DEFAULT_TOKEN_TIMEOUT, TokenCache};
pub use consent::{ClientSecrets, ConsentFlow, GOOGLE_AUTH_URI};
pub use oauth::DEFAULT_TOKEN_CONNECT_TIMEOUT;
pub(crate) use oauth::TokenClient;
pub use service_account::ServiceAccount;

/// A boxed future, as [`TokenSource`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An access token and when it stops working.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// When it expires (tokio's clock); `None`: never.
    pub expires_at: Option<Instant>,
}

/// Why no token could be had.
#[derive(Clone, Debug)]
pub struct AuthError {
    permanent: bool,
    message: String,
}

impl AuthError {
    /// A failure that retrying will not fix (revoked refresh token, bad key).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            message: message.into(),
        }
    }

    /// A failure that may pass (network, token endpoint unavailable).
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
        }
    }

    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "google-ads authentication failed: {}", self.message)
    }
}

impl std::error::Error for AuthError {}

/// Where access tokens come from. Implement it to plug in your own.
pub trait TokenSource: Send + Sync + 'static {
    /// Fetches a new token.
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>>;

    /// What the source is, for errors (a token endpoint's URL, say): never a secret.
    fn describe(&self) -> String {
        "the token source".to_owned()
    }
}

/// The token source for configured credentials; token endpoints reached through `http` (the
/// client's proxy and connect timeout).
pub(crate) fn source_for(
    credentials: &Credentials,
    http: &TokenClient,
) -> Result<Arc<dyn TokenSource>, AuthError> {
    Ok(match credentials {
        Credentials::AccessToken(token) => Arc::new(FixedToken(token.clone())),
        Credentials::RefreshToken {
            client_id,
            client_secret,
            refresh_token,
            token_uri,
        } => Arc::new(oauth::RefreshTokenSource {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            refresh_token: refresh_token.clone(),
            token_uri: token_uri.clone(),
            http: http.clone(),
        }),
        Credentials::ServiceAccount {
            key_file,
            impersonated_email,
        } => Arc::new(
            ServiceAccount::from_file(key_file, impersonated_email.clone())?.through(http.clone()),
        ),
        // google-cloud-auth builds its own HTTP clients: they take proxies from the
        // environment (`https_proxy`), not from the configured `http_proxy`.
        #[cfg(feature = "google-cloud-auth")]
        Credentials::ApplicationDefault => cloud::application_default()?,
        #[cfg(not(feature = "google-cloud-auth"))]
        Credentials::ApplicationDefault => adc::application_default(http)?,
    })
}

/// A token that never changes.
struct FixedToken(Secret);

impl TokenSource for FixedToken {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async {
            Ok(AccessToken {
                token: self.0.clone(),
                expires_at: None,
            })
        })
    }
}
