//! Application default credentials through `google-cloud-auth`, Google's Rust auth crate
//! (feature `google-cloud-auth`): every kind it reads (workload identity federation's
//! `external_account` from a file, a URL, an executable or AWS; `impersonated_service_account`;
//! the metadata server; user and service-account files), asked for the adwords scope.
//!
//! That crate keeps its own token cache and refreshes ahead of expiry, but its access token does
//! not say when it expires. So the [`TokenCache`](super::TokenCache) is told each token is good
//! for [`RECHECK`] past the cache's refresh margin: it asks again that often, and the answer
//! comes from google-cloud-auth's cache (a lock, no request) until that one refreshes.

use std::sync::Arc;
use std::time::Duration;

use google_cloud_auth::credentials::{AccessTokenCredentials, Builder};
use tokio::time::Instant;

use super::cache::REFRESH_MARGIN;
use super::{AccessToken, AuthError, BoxFuture, TokenSource};
use crate::config::SCOPE;
use crate::secret::Secret;

/// How long a token from google-cloud-auth is used before it is asked again. It refreshes
/// 240 s before a token expires (10 s for a token that lives less than that), so a token it
/// hands out outlives this.
const RECHECK: Duration = Duration::from_secs(10);

/// The application default credentials, as google-cloud-auth finds them.
pub(super) fn application_default() -> Result<Arc<dyn TokenSource>, AuthError> {
    // Without its default features google-cloud-auth has no crypto provider of its own: it
    // takes rustls's process default. Ring is installed unless the program installed one.
    crate::transport::install_default_provider();
    let credentials = Builder::default()
        .with_scopes([SCOPE])
        .build_access_token_credentials()
        .map_err(|e| {
            AuthError::permanent(format!(
                "application default credentials (google-cloud-auth): {}",
                crate::transport::causes(&e)
            ))
        })?;
    Ok(Arc::new(CloudAuth { credentials }))
}

struct CloudAuth {
    credentials: AccessTokenCredentials,
}

impl TokenSource for CloudAuth {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let token = self.credentials.access_token().await.map_err(|e| {
                let message = format!(
                    "application default credentials (google-cloud-auth): {}",
                    crate::transport::causes(&e)
                );
                if e.is_transient() {
                    AuthError::transient(message)
                } else {
                    AuthError::permanent(message)
                }
            })?;
            Ok(AccessToken {
                token: Secret::new(token.token),
                expires_at: Some(Instant::now() + REFRESH_MARGIN + RECHECK),
            })
        })
    }

    fn describe(&self) -> String {
        "application default credentials (google-cloud-auth)".to_owned()
    }
}
