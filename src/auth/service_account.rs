//! Service-account keys: the JWT-bearer grant, signed with the key (RS256, ring), optionally
//! impersonating a user (domain-wide delegation).

use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::oauth::{TokenClient, form_encode, json_string, post_token};
use super::{AccessToken, AuthError, BoxFuture, TokenSource};
use crate::config::SCOPE;

/// A service-account key: the JWT-bearer grant, signed with the key.
pub struct ServiceAccount {
    client_email: String,
    private_key_id: String,
    key: ring::signature::RsaKeyPair,
    token_uri: String,
    subject: Option<String>,
    http: TokenClient,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("subject", &self.subject)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// The fields of a credentials JSON file (service-account key or gcloud authorized-user file)
/// that are read. Read through `serde_json::Value`: a derive would add serde_derive to every
/// user's build for two small structs.
#[derive(Default)]
pub(super) struct KeyFile {
    pub kind: String,
    pub client_email: String,
    pub private_key_id: String,
    pub private_key: String,
    pub token_uri: String,
    // An authorized-user file's fields, read by the crate's own application default
    // credentials (google-cloud-auth reads that file itself).
    #[cfg_attr(feature = "google-cloud-auth", allow(dead_code))]
    pub client_id: String,
    #[cfg_attr(feature = "google-cloud-auth", allow(dead_code))]
    pub client_secret: String,
    #[cfg_attr(feature = "google-cloud-auth", allow(dead_code))]
    pub refresh_token: String,
}

impl KeyFile {
    pub(super) fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let v: serde_json::Value = serde_json::from_str(text)?;
        Ok(Self {
            kind: json_string(&v, "type"),
            client_email: json_string(&v, "client_email"),
            private_key_id: json_string(&v, "private_key_id"),
            private_key: json_string(&v, "private_key"),
            token_uri: json_string(&v, "token_uri"),
            client_id: json_string(&v, "client_id"),
            client_secret: json_string(&v, "client_secret"),
            refresh_token: json_string(&v, "refresh_token"),
        })
    }
}

impl ServiceAccount {
    /// Reads a service-account key JSON file.
    pub fn from_file(path: &Path, subject: Option<String>) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            AuthError::permanent(format!("cannot read the key file {}: {e}", path.display()))
        })?;
        let key = KeyFile::parse(&text).map_err(|e| {
            AuthError::permanent(format!(
                "the key file {} is not a service-account key: {e}",
                path.display()
            ))
        })?;
        Self::from_key(key, subject)
    }

    pub(super) fn from_key(key: KeyFile, subject: Option<String>) -> Result<Self, AuthError> {
        use rustls_pki_types::pem::PemObject as _;
        // A file of another kind (gcloud's authorized_user, workload identity's
        // external_account) would otherwise fail on its missing key, which says less.
        if !key.kind.is_empty() && key.kind != "service_account" {
            return Err(AuthError::permanent(format!(
                "the key file is of type {:?}, not \"service_account\" (json_key_file_path takes a service-account key; other credentials files go through use_application_default_credentials)",
                key.kind
            )));
        }
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(key.private_key.as_bytes())
            .map_err(|_| {
                AuthError::permanent("the key file's private_key is not a PKCS#8 PEM key")
            })?;
        let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|_| AuthError::permanent("the key file's private_key is not an RSA key"))?;
        if key.client_email.is_empty() || key.token_uri.is_empty() {
            return Err(AuthError::permanent(
                "the key file lacks client_email or token_uri",
            ));
        }
        Ok(Self {
            client_email: key.client_email,
            private_key_id: key.private_key_id,
            key: pair,
            token_uri: key.token_uri,
            subject,
            http: TokenClient::direct(),
        })
    }

    /// Its token requests go through `http` (the client's proxy).
    pub(crate) fn through(mut self, http: TokenClient) -> Self {
        self.http = http;
        self
    }

    /// The signed JWT assertion for a token request issued at `now` (seconds since 1970).
    pub fn assertion(&self, now: u64) -> Result<String, AuthError> {
        let header =
            serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": self.private_key_id });
        let mut claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        if let Some(sub) = &self.subject {
            claims["sub"] = serde_json::Value::String(sub.clone());
        }
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| AuthError::permanent("signing the token request failed"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

impl TokenSource for ServiceAccount {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let assertion = self.assertion(now)?;
            let form = form_encode(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", &assertion),
            ]);
            post_token(&self.http, &self.token_uri, form, "the service account was refused: check the key, and domain-wide delegation for the impersonated user").await
        })
    }

    fn describe(&self) -> String {
        format!("token endpoint {}", self.token_uri)
    }
}
