//! [`ConsentFlow`]: from an OAuth client id to a refresh token, the way an installed app gets
//! one: the user opens the consent URL, Google redirects the browser to a loopback port this
//! flow listens on, and the code it carries is exchanged for tokens. PKCE (S256) binds the
//! exchange to this process, and the `state` value refuses a redirect this flow did not ask
//! for. The `generate_user_credentials` example drives it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::AuthError;
use super::oauth::{exchange, form_encode, form_request, json_string};
use crate::config::{GOOGLE_TOKEN_URI, SCOPE};
use crate::secret::Secret;

/// Google's consent page.
pub const GOOGLE_AUTH_URI: &str = "https://accounts.google.com/o/oauth2/auth";

/// An OAuth client (a "Desktop app" client of the Google Cloud console): its id and secret,
/// and where to ask for consent and exchange codes.
#[derive(Clone)]
pub struct ClientSecrets {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The consent page.
    pub auth_uri: String,
    /// The token endpoint.
    pub token_uri: String,
}

impl fmt::Debug for ClientSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecrets")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("auth_uri", &self.auth_uri)
            .field("token_uri", &self.token_uri)
            .finish()
    }
}

impl ClientSecrets {
    /// A client with Google's consent page and token endpoint.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret.into()),
            auth_uri: GOOGLE_AUTH_URI.to_owned(),
            token_uri: GOOGLE_TOKEN_URI.to_owned(),
        }
    }

    /// The client-secrets JSON the Google Cloud console downloads (`{"installed": {...}}`,
    /// or `"web"`): its id, secret, `auth_uri` and `token_uri` (Google's when absent).
    pub fn from_json(text: &str) -> Result<Self, AuthError> {
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| AuthError::permanent(format!("client secrets: not JSON: {e}")))?;
        let client = json
            .get("installed")
            .or_else(|| json.get("web"))
            .ok_or_else(|| {
                AuthError::permanent("client secrets: no \"installed\" or \"web\" client")
            })?;
        let field = |key: &str| json_string(client, key);
        let (client_id, client_secret) = (field("client_id"), field("client_secret"));
        if client_id.is_empty() || client_secret.is_empty() {
            return Err(AuthError::permanent(
                "client secrets: client_id and client_secret are required",
            ));
        }
        let or = |value: String, default: &str| {
            if value.is_empty() {
                default.to_owned()
            } else {
                value
            }
        };
        Ok(Self {
            client_id,
            client_secret: Secret::new(client_secret),
            auth_uri: or(field("auth_uri"), GOOGLE_AUTH_URI),
            token_uri: or(field("token_uri"), GOOGLE_TOKEN_URI),
        })
    }
}

/// One consent: [`start`](Self::start) listens on a loopback port,
/// [`authorization_url`](Self::authorization_url) is what the user opens, and
/// [`finish`](Self::finish) waits for the redirect and exchanges its code for a refresh
/// token (offline access, consent asked again so Google hands one out).
pub struct ConsentFlow {
    client: ClientSecrets,
    listener: TcpListener,
    redirect_uri: String,
    state: String,
    verifier: Secret,
}

impl fmt::Debug for ConsentFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsentFlow")
            .field("client", &self.client)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// `n` random bytes as URL-safe base64 (ring, the crate's one source of randomness).
fn random(n: usize) -> Result<String, AuthError> {
    let mut bytes = vec![0u8; n];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| AuthError::permanent("no randomness for the consent flow"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

impl ConsentFlow {
    /// Listens on a free loopback port for the redirect.
    pub async fn start(client: ClientSecrets) -> Result<Self, AuthError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| AuthError::permanent(format!("cannot listen on a loopback port: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| AuthError::permanent(e.to_string()))?
            .port();
        Ok(Self {
            client,
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}"),
            state: random(24)?,
            // 64 random bytes: 86 characters, inside PKCE's 43 to 128.
            verifier: Secret::new(random(64)?),
        })
    }

    /// The consent URL: the adwords scope, offline access, consent asked, the PKCE challenge
    /// and the anti-forgery state.
    pub fn authorization_url(&self) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            self.verifier.expose().as_bytes(),
        ));
        let separator = if self.client.auth_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}{}",
            self.client.auth_uri,
            form_encode(&[
                ("client_id", &self.client.client_id),
                ("redirect_uri", &self.redirect_uri),
                ("response_type", "code"),
                ("scope", SCOPE),
                ("access_type", "offline"),
                ("prompt", "consent"),
                ("state", &self.state),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
        )
    }

    /// Where the browser is sent back to.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the redirect, checks its state, and exchanges its code (with the PKCE
    /// verifier) for a refresh token.
    pub async fn finish(self) -> Result<Secret, AuthError> {
        let code = loop {
            let (mut stream, _) =
                self.listener.accept().await.map_err(|e| {
                    AuthError::permanent(format!("the redirect listener failed: {e}"))
                })?;
            let Some(query) = read_request_query(&mut stream).await else {
                continue;
            };
            let param = |key: &str| {
                query.split('&').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    (k == key).then(|| percent_decode(v))
                })
            };
            let (page, outcome) = match (param("state"), param("code"), param("error")) {
                // A browser also asks for /favicon.ico and such: not the redirect.
                (None, None, None) => continue,
                (_, _, Some(error)) => (
                    "Consent was not given; you can close this page.",
                    Err(AuthError::permanent(format!("consent refused: {error}"))),
                ),
                (Some(state), Some(code), None) if state == self.state => {
                    ("Done: you can close this page.", Ok(code))
                }
                _ => (
                    "This redirect was not asked for by the running command.",
                    Err(AuthError::permanent(
                        "the redirect's state is not the one sent: refused (forged or stale)",
                    )),
                ),
            };
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
            break outcome?;
        };
        self.exchange(&code).await
    }

    async fn exchange(&self, code: &str) -> Result<Secret, AuthError> {
        let uri = &self.client.token_uri;
        let form = form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
            ("client_id", &self.client.client_id),
            ("client_secret", self.client.client_secret.expose()),
            ("code_verifier", self.verifier.expose()),
        ]);
        // Through `https_proxy` when the environment sets one, like the browser's side.
        let proxy = crate::transport::ProxyRule::resolve(None)
            .map_err(|(name, e)| AuthError::permanent(format!("{name}: {e}")))?;
        let http = super::oauth::TokenClient::new(&proxy, super::DEFAULT_TOKEN_CONNECT_TIMEOUT);
        let (status, json) = exchange(&http, uri, form_request(uri, form)?).await?;
        let refresh_token = json_string(&json, "refresh_token");
        if status.is_success() && !refresh_token.is_empty() {
            return Ok(Secret::new(refresh_token));
        }
        Err(AuthError::permanent(format!(
            "token endpoint {uri} gave no refresh token ({status} {} {}): run the command again and give consent",
            json_string(&json, "error"),
            json_string(&json, "error_description"),
        )))
    }
}

/// The query of the request on `stream` (`GET /?code=...&state=... HTTP/1.1`), read by hand:
/// one request line is all the redirect carries, less code than a server (and no server
/// feature of hyper in every build). Bounded at 16 KiB.
async fn read_request_query(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buffer[..n]);
    }
    let line = std::str::from_utf8(&head).ok()?.lines().next()?;
    let target = line.split(' ').nth(1)?;
    Some(target.split_once('?').map_or("", |(_, q)| q).to_owned())
}

/// `%XX` and `+` decoded (the redirect's query values); a `%` not followed by two hex digits
/// stays as it is.
fn percent_decode(value: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
