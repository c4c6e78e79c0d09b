//! The OAuth2 token endpoint: the refresh-token grant, and the form POST every grant shares.

use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use tokio::time::Instant;

use super::{AccessToken, AuthError, BoxFuture, TokenSource};
use crate::secret::Secret;

/// The OAuth2 refresh-token grant.
pub(super) struct RefreshTokenSource {
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    pub token_uri: String,
    pub http: TokenClient,
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
                &self.http,
                &self.token_uri,
                form,
                "the refresh token was revoked or has expired: generate a new one",
            )
            .await
        })
    }

    fn describe(&self) -> String {
        format!("token endpoint {}", self.token_uri)
    }
}

pub(super) fn form_encode(pairs: &[(&str, &str)]) -> String {
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
pub(super) async fn post_token(
    http: &TokenClient,
    uri: &str,
    form: String,
    advice: &str,
) -> Result<AccessToken, AuthError> {
    let request = form_request(uri, form)?;
    send_token_request(http, uri, request, advice).await
}

/// A form POST to the token endpoint `uri`, which must be https (or loopback, for tests).
pub(super) fn form_request(
    uri: &str,
    form: String,
) -> Result<hyper::Request<Full<Bytes>>, AuthError> {
    let parsed: hyper::Uri = uri
        .parse()
        .map_err(|_| AuthError::permanent(format!("token_uri {uri:?} is not a URL")))?;
    let loopback = parsed.host().is_some_and(crate::transport::is_loopback);
    if parsed.scheme_str() != Some("https") && !loopback {
        return Err(AuthError::permanent(format!(
            "token_uri {uri} must be https"
        )));
    }
    hyper::Request::post(parsed)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))
        .map_err(|e| AuthError::permanent(format!("bad token request: {e}")))
}

/// Sends `request` to the token endpoint `uri`: the answer's status and JSON body (empty when
/// the body is not JSON: the status then decides).
pub(super) async fn exchange(
    http: &TokenClient,
    uri: &str,
    request: hyper::Request<Full<Bytes>>,
) -> Result<(hyper::StatusCode, serde_json::Value), AuthError> {
    let response = http.0.request(request).await.map_err(|e| {
        // A proxy that refuses the tunnel (asks for a password, or forbids the host) will
        // refuse again: said once, not retried.
        match crate::transport::ProxyError::refusal_in(&e) {
            Some(refusal) => AuthError::permanent(format!("token endpoint {uri}: {refusal}")),
            None if timed_out(&e) => AuthError::transient(format!(
                "token endpoint {uri} unreachable: no connection within {:?} (the token connect timeout)",
                http.1
            )),
            None => AuthError::transient(format!(
                "token endpoint {uri} unreachable: {}",
                crate::transport::causes(&e)
            )),
        }
    })?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| AuthError::transient(format!("token endpoint {uri}: {e}")))?
        .to_bytes();
    Ok((status, serde_json::from_slice(&body).unwrap_or_default()))
}

/// Whether `error` is a connection that timed out (hyper-util reports its connect timeout as
/// an I/O error of kind `TimedOut`).
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    crate::transport::chain(error)
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::TimedOut)
}

/// Sends a token request to `uri` and reads the token from the answer (the OAuth2 token
/// response, which the metadata server's answer also is); `advice` says what to do when the
/// grant is refused for good.
pub(super) async fn send_token_request(
    http: &TokenClient,
    uri: &str,
    request: hyper::Request<Full<Bytes>>,
    advice: &str,
) -> Result<AccessToken, AuthError> {
    let (status, json) = exchange(http, uri, request).await?;
    let access_token = json_string(&json, "access_token");
    if status.is_success() && !access_token.is_empty() {
        let expires_in = json.get("expires_in").and_then(serde_json::Value::as_u64);
        // An expiry past what the clock can hold is the endpoint's bug: this refresh fails,
        // and the next call asks again.
        let expires_at = match expires_in {
            None => None,
            Some(s) => Some(
                Instant::now()
                    .checked_add(Duration::from_secs(s))
                    .ok_or_else(|| {
                        AuthError::transient(format!(
                            "token endpoint {uri} gave expires_in {s}: out of range"
                        ))
                    })?,
            ),
        };
        return Ok(AccessToken {
            token: Secret::new(access_token),
            expires_at,
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

/// How long a token request waits for its connection (to the token endpoint, or its proxy)
/// unless the client says otherwise
/// (`GoogleAdsClientBuilder::with_token_connect_timeout`).
pub const DEFAULT_TOKEN_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<crate::transport::Connector>,
    Full<Bytes>,
>;

/// The HTTP client of the token endpoints, through the client's proxy when it has one.
#[derive(Clone)]
pub(crate) struct TokenClient(HttpClient, Duration);

impl TokenClient {
    /// Through the proxy `rule` picks, each connection given `connect_timeout`; direct with
    /// the default timeout, the one shared client.
    pub fn new(rule: &crate::transport::ProxyRule, connect_timeout: Duration) -> Self {
        if rule.is_direct() && connect_timeout == DEFAULT_TOKEN_CONNECT_TIMEOUT {
            return Self::direct();
        }
        Self(build(rule.clone(), connect_timeout), connect_timeout)
    }

    /// Never through a proxy (the metadata server is the machine's own).
    pub fn direct() -> Self {
        static CLIENT: std::sync::OnceLock<HttpClient> = std::sync::OnceLock::new();
        Self(
            CLIENT
                .get_or_init(|| {
                    build(
                        crate::transport::ProxyRule::direct(),
                        DEFAULT_TOKEN_CONNECT_TIMEOUT,
                    )
                })
                .clone(),
            DEFAULT_TOKEN_CONNECT_TIMEOUT,
        )
    }
}

fn build(rule: crate::transport::ProxyRule, connect_timeout: Duration) -> HttpClient {
    // A connection not made within the connect timeout fails the refresh; the whole
    // refresh is bounded by the token cache's timeout.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(crate::transport::rustls_config(&[]))
        .https_or_http()
        .enable_http1()
        .wrap_connector(crate::transport::Connector::new(rule, connect_timeout));
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector)
}

/// A string member of a JSON object (empty when absent or not a string).
pub(super) fn json_string(value: &serde_json::Value, key: &str) -> String {
    value
        .get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
