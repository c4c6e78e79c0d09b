//! Access tokens: where they come from (refresh token, service account, application default
//! credentials, a fixed token, or your own [`TokenSource`]) and the cache that refreshes them
//! ahead of expiry, one refresh at a time however many calls wait.
//!
//! The OAuth2 exchanges are written here rather than taken from an OAuth crate: yup-oauth2's
//! refresh-token flow posts to a fixed Google URL (no way to test it against a local endpoint)
//! and jsonwebtoken's current releases sign with aws-lc-rs or RustCrypto, a second crypto
//! stack beside the ring that rustls already uses. What is here is two form POSTs and one
//! RS256 signature with ring.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt as _;
use futures_util::future::Shared;
use http::HeaderValue;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use tokio::time::Instant;

use crate::config::{Credentials, SCOPE};
use crate::secret::Secret;

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
}

/// How long before expiry a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A ready `authorization` value and when its token expires.
type Ready = (HeaderValue, Option<Instant>);

type Refresh = Shared<BoxFuture<'static, Result<AccessToken, AuthError>>>;

/// Caches the token of a [`TokenSource`]; concurrent callers share one refresh.
pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    /// The ready `authorization` value and its expiry; the refresh in flight, if any.
    state: Mutex<(Option<Ready>, Option<Refresh>)>,
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
        }
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
                    let refresh: BoxFuture<'static, _> =
                        Box::pin(async move { source.fetch().await });
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

/// The token source for configured credentials.
pub fn source_for(credentials: &Credentials) -> Result<Arc<dyn TokenSource>, AuthError> {
    Ok(match credentials {
        Credentials::AccessToken(token) => Arc::new(FixedToken(token.clone())),
        Credentials::RefreshToken {
            client_id,
            client_secret,
            refresh_token,
            token_uri,
        } => Arc::new(RefreshTokenSource {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            refresh_token: refresh_token.clone(),
            token_uri: token_uri.clone(),
        }),
        Credentials::ServiceAccount {
            key_file,
            impersonated_email,
        } => Arc::new(ServiceAccount::from_file(
            key_file,
            impersonated_email.clone(),
        )?),
        Credentials::ApplicationDefault => application_default()?,
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

/// The OAuth2 refresh-token grant.
struct RefreshTokenSource {
    client_id: String,
    client_secret: Secret,
    refresh_token: Secret,
    token_uri: String,
}

impl TokenSource for RefreshTokenSource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let form = form_encode(&[
                ("grant_type", "refresh_token"),
                ("client_id", &self.client_id),
                ("client_secret", self.client_secret.expose()),
                ("refresh_token", self.refresh_token.expose()),
            ]);
            post_token(
                &self.token_uri,
                form,
                "the refresh token was revoked or has expired: generate a new one",
            )
            .await
        })
    }
}

/// A service-account key: the JWT-bearer grant, signed with the key.
pub struct ServiceAccount {
    client_email: String,
    private_key_id: String,
    key: ring::signature::RsaKeyPair,
    token_uri: String,
    subject: Option<String>,
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
struct KeyFile {
    kind: String,
    client_email: String,
    private_key_id: String,
    private_key: String,
    token_uri: String,
    client_id: String,
    client_secret: String,
    refresh_token: String,
}

fn json_string(value: &serde_json::Value, key: &str) -> String {
    value
        .get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl KeyFile {
    fn parse(text: &str) -> Result<Self, serde_json::Error> {
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

    fn from_key(key: KeyFile, subject: Option<String>) -> Result<Self, AuthError> {
        use rustls_pki_types::pem::PemObject as _;
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
        })
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
            post_token(&self.token_uri, form, "the service account was refused: check the key, and domain-wide delegation for the impersonated user").await
        })
    }
}

/// `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's application_default_credentials.json:
/// an authorized-user file (a refresh token) or a service-account key.
fn application_default() -> Result<Arc<dyn TokenSource>, AuthError> {
    let path = match std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::env::var_os("HOME")
            .map(|home| {
                std::path::PathBuf::from(home)
                    .join(".config/gcloud/application_default_credentials.json")
            })
            .ok_or_else(|| {
                AuthError::permanent(
                    "no application default credentials: set GOOGLE_APPLICATION_CREDENTIALS",
                )
            })?,
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
        })),
        "service_account" => Ok(Arc::new(ServiceAccount::from_key(key, None)?)),
        other => Err(AuthError::permanent(format!(
            "{}: credentials of type {other:?} are not supported",
            path.display()
        ))),
    }
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn escape(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Posts a token request; `advice` says what to do when the grant is refused for good.
async fn post_token(uri: &str, form: String, advice: &str) -> Result<AccessToken, AuthError> {
    let parsed: hyper::Uri = uri
        .parse()
        .map_err(|_| AuthError::permanent(format!("token_uri {uri:?} is not a URL")))?;
    let loopback = matches!(
        parsed.host(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    if parsed.scheme_str() != Some("https") && !loopback {
        return Err(AuthError::permanent(format!(
            "token_uri {uri} must be https"
        )));
    }
    let request = hyper::Request::post(parsed)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))
        .map_err(|e| AuthError::permanent(format!("bad token request: {e}")))?;
    let response = http_client()
        .request(request)
        .await
        .map_err(|e| AuthError::transient(format!("token endpoint {uri} unreachable: {e}")))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| AuthError::transient(format!("token endpoint {uri}: {e}")))?
        .to_bytes();
    // A body that is not JSON reads as empty: the HTTP status then decides.
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let access_token = json_string(&json, "access_token");
    if status.is_success() && !access_token.is_empty() {
        let expires_in = json.get("expires_in").and_then(serde_json::Value::as_u64);
        return Ok(AccessToken {
            token: Secret::new(access_token),
            expires_at: expires_in.map(|s| Instant::now() + Duration::from_secs(s)),
        });
    }
    let (error, description) = (
        json_string(&json, "error"),
        json_string(&json, "error_description"),
    );
    let what = if error.is_empty() {
        status.to_string()
    } else {
        format!("{error} ({description})")
    };
    match error.as_str() {
        "invalid_grant"
        | "invalid_client"
        | "unauthorized_client"
        | "invalid_scope"
        | "access_denied" => Err(AuthError::permanent(format!("{what}: {advice}"))),
        _ if status.is_client_error() && status.as_u16() != 429 => {
            Err(AuthError::permanent(format!("{what}: {advice}")))
        }
        _ => Err(AuthError::transient(format!(
            "token endpoint {uri} answered {what}"
        ))),
    }
}

type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

fn http_client() -> HttpClient {
    static CLIENT: std::sync::OnceLock<HttpClient> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(crate::transport::rustls_config(&[]))
                .https_or_http()
                .enable_http1()
                .build();
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector)
        })
        .clone()
}
