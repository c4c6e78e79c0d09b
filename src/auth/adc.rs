//! Application default credentials: `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's file,
//! else the metadata server.

use std::sync::Arc;

use super::metadata::MetadataServer;
use super::oauth::{RefreshTokenSource, TokenClient};
use super::service_account::{KeyFile, ServiceAccount};
use super::{AuthError, TokenSource};
use crate::config::SCOPE;
use crate::secret::Secret;

/// `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's application_default_credentials.json
/// (an authorized-user file, a refresh token, or a service-account key), else, with neither,
/// the metadata server (on Google Cloud: the attached service account).
pub(super) fn application_default(http: &TokenClient) -> Result<Arc<dyn TokenSource>, AuthError> {
    let path = match std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let gcloud = std::env::var_os("HOME").map(|home| {
                std::path::PathBuf::from(home)
                    .join(".config/gcloud/application_default_credentials.json")
            });
            match gcloud {
                Some(file) if file.exists() => file,
                _ => return Ok(Arc::new(MetadataServer::from_env())),
            }
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        AuthError::permanent(format!(
            "no application default credentials at {} ({e}): run `gcloud auth application-default login --scopes={SCOPE},https://www.googleapis.com/auth/cloud-platform` or set GOOGLE_APPLICATION_CREDENTIALS",
            path.display()
        ))
    })?;
    let key = KeyFile::parse(&text).map_err(|e| {
        AuthError::permanent(format!("{} is not a credentials file: {e}", path.display()))
    })?;
    match key.kind.as_str() {
        "authorized_user" => Ok(Arc::new(RefreshTokenSource {
            client_id: key.client_id,
            client_secret: Secret::new(key.client_secret),
            refresh_token: Secret::new(key.refresh_token),
            token_uri: if key.token_uri.is_empty() {
                crate::config::GOOGLE_TOKEN_URI.to_owned()
            } else {
                key.token_uri
            },
            http: http.clone(),
        })),
        "service_account" => Ok(Arc::new(
            ServiceAccount::from_key(key, None)?.through(http.clone()),
        )),
        other => Err(AuthError::permanent(format!(
            "{}: credentials of type {other:?} are not supported",
            path.display()
        ))),
    }
}
