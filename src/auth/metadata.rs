//! The metadata server of Google Cloud (Compute Engine, Cloud Run, GKE, Cloud Functions): the
//! token of the service account attached to the machine, no key file. Application default
//! credentials fall back to it when neither `GOOGLE_APPLICATION_CREDENTIALS` nor gcloud's
//! file is there, as Google's own libraries do.

use http_body_util::Full;
use hyper::body::Bytes;

use super::oauth::{form_encode, send_token_request};
use super::{AccessToken, AuthError, BoxFuture, TokenSource};
use crate::config::SCOPE;

/// Where the metadata server answers on Google Cloud.
const DEFAULT_HOST: &str = "metadata.google.internal";

/// The attached service account's token, from the metadata server.
pub(super) struct MetadataServer {
    host: String,
}

impl MetadataServer {
    /// The metadata server at `GCE_METADATA_HOST` (host and port; the variable Google's
    /// libraries read, for tests and proxies), else `metadata.google.internal`.
    pub fn from_env() -> Self {
        let host = std::env::var("GCE_METADATA_HOST")
            .ok()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_owned());
        Self { host }
    }

    fn uri(&self) -> String {
        // The adwords scope asked for explicitly: the attached account's default scopes
        // (cloud-platform on most platforms) do not include it.
        format!(
            "http://{}/computeMetadata/v1/instance/service-accounts/default/token?{}",
            self.host,
            form_encode(&[("scopes", SCOPE)])
        )
    }
}

impl TokenSource for MetadataServer {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let uri = self.uri();
            // Plain HTTP, unlike every other token endpoint: the metadata server is a
            // link-local service of the machine itself, and answers only HTTP.
            let request = hyper::Request::get(&uri)
                .header("metadata-flavor", "Google")
                .body(Full::new(Bytes::new()))
                .map_err(|e| AuthError::permanent(format!("bad metadata request: {e}")))?;
            // Never through a proxy: the metadata server is the machine's own.
            send_token_request(
                &super::oauth::TokenClient::direct(),
                &uri,
                request,
                "the metadata server refused a token: check the service account attached to this machine and its access scopes",
            )
            .await
            .map_err(|e| {
                AuthError::transient(format!(
                    "{e} (application default credentials: no GOOGLE_APPLICATION_CREDENTIALS and no gcloud file, so the metadata server at {} was asked; off Google Cloud, run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS)",
                    self.host
                ))
            })
        })
    }

    fn describe(&self) -> String {
        format!("the metadata server at {}", self.host)
    }
}
