//! GoogleAdsClient against the fake over TLS, with a local OAuth2 token endpoint.

#[cfg(feature = "google-cloud-auth")]
mod adc;
mod auth;
pub(crate) mod bodies;
mod config;
mod consent;
mod proxy;

use std::sync::{Arc, Mutex};

use google_ads::fake::FakeServer;
use google_ads::transport::TransportOptions;
use google_ads::{Config, GoogleAdsClient};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::sync::Semaphore;

/// What the token endpoint answers.
#[derive(Clone)]
pub enum Answer {
    /// `{"access_token": ..., "expires_in": ...}`
    Token(&'static str, u64),
    /// HTTP 400 `{"error": "invalid_grant"}`
    Revoked,
    /// HTTP 503, no body: the endpoint is down for a while.
    Down,
    /// An authorization code's exchange: an access token and this refresh token.
    Refresh(&'static str),
    /// HTTP 200 with this JSON body (an STS or IAM answer, which are shaped otherwise).
    Json(String),
}

/// A request as the endpoint saw it: `METHOD /path?query`, and its `metadata-flavor` header.
pub type Seen = (String, Option<String>);

/// A request's `authorization` header and body.
pub type Received = (Option<String>, String);

/// A request's form fields, in order.
pub type Form = Vec<(String, String)>;

/// A local OAuth2 token endpoint: records each request's form, answers as told, and can hold
/// answers until released.
#[derive(Clone)]
pub struct TokenEndpoint {
    pub uri: String,
    /// Where it listens (`http://{addr}/token` is `uri`).
    pub addr: std::net::SocketAddr,
    pub forms: Arc<Mutex<Vec<Form>>>,
    answer: Arc<Mutex<Answer>>,
    /// Answers given once each, in order, before `answer`.
    first: Arc<Mutex<std::collections::VecDeque<Answer>>>,
    hold: Arc<Mutex<Option<Arc<Semaphore>>>>,
    /// Each request's method, path and query, and its `metadata-flavor` header.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Each request's `authorization` header and body, in order.
    pub received: Arc<Mutex<Vec<Received>>>,
}

fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    fn unescape(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    // google-cloud-auth posts its refresh-token grant as JSON: its members, as strings.
    if let Ok(serde_json::Value::Object(members)) = serde_json::from_slice(body) {
        return members
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(v) => (k, v),
                other => (k, other.to_string()),
            })
            .collect();
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (unescape(k), unescape(v)))
        .collect()
}

impl TokenEndpoint {
    pub async fn start(answer: Answer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let endpoint = TokenEndpoint {
            uri: format!("http://{addr}/token"),
            addr,
            forms: Arc::default(),
            answer: Arc::new(Mutex::new(answer)),
            first: Arc::default(),
            hold: Arc::default(),
            seen: Arc::default(),
            received: Arc::default(),
        };
        let shared = endpoint.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| {
                            let shared = shared.clone();
                            async move {
                                let flavor = request
                                    .headers()
                                    .get("metadata-flavor")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned);
                                shared.seen.lock().unwrap().push((
                                    format!("{} {}", request.method(), request.uri()),
                                    flavor,
                                ));
                                let authorization = request
                                    .headers()
                                    .get("authorization")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned);
                                let body = request.into_body().collect().await.unwrap().to_bytes();
                                shared.received.lock().unwrap().push((
                                    authorization,
                                    String::from_utf8_lossy(&body).into_owned(),
                                ));
                                shared.forms.lock().unwrap().push(parse_form(&body));
                                let hold = shared.hold.lock().unwrap().clone();
                                if let Some(hold) = hold {
                                    // Closed by the test: every held answer goes.
                                    let _ = hold.acquire().await;
                                }
                                let scripted = shared.first.lock().unwrap().pop_front();
                                let answer = scripted
                                    .unwrap_or_else(|| shared.answer.lock().unwrap().clone());
                                let (status, json) = match answer {
                                Answer::Token(token, expires_in) => {
                                    (200, format!(r#"{{"access_token":"{token}","expires_in":{expires_in},"token_type":"Bearer"}}"#))
                                }
                                Answer::Revoked => (400, r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#.to_owned()),
                                Answer::Down => (503, String::new()),
                                Answer::Refresh(refresh) => (200, format!(r#"{{"access_token":"first-access","expires_in":3599,"refresh_token":"{refresh}","token_type":"Bearer"}}"#)),
                                Answer::Json(json) => (200, json),
                            };
                                Ok::<_, std::convert::Infallible>(
                                    hyper::Response::builder()
                                        .status(status)
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(json)))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        endpoint
    }

    /// Holds every answer until the returned gate is closed (`close()` releases all of them,
    /// those not yet waiting included).
    pub fn hold(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.hold.lock().unwrap() = Some(gate.clone());
        gate
    }

    /// Waits until the endpoint has received `n` requests; a test that expects them fails
    /// (rather than hangs) when they never come.
    pub async fn wait_for_requests(&self, n: usize) {
        let wait = async {
            while self.requests() < n {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        };
        if tokio::time::timeout(std::time::Duration::from_secs(30), wait)
            .await
            .is_err()
        {
            panic!(
                "the token endpoint got {} requests, not {n}",
                self.requests()
            );
        }
    }

    /// Gives these answers first, one request each, then the usual one.
    pub fn answer_first(&self, answers: impl IntoIterator<Item = Answer>) {
        self.first.lock().unwrap().extend(answers);
    }

    pub fn requests(&self) -> usize {
        self.forms.lock().unwrap().len()
    }

    pub fn form(&self, i: usize) -> Vec<(String, String)> {
        self.forms.lock().unwrap()[i].clone()
    }
}

pub fn value<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {form:?}"))
}

/// A fake over TLS and a client trusting its certificate.
pub async fn tls_fake_and_client(
    config: google_ads::config::ConfigBuilder,
) -> (FakeServer, GoogleAdsClient) {
    let fake = FakeServer::builder().tls(true).start().await.unwrap();
    let config: Config = config.with_endpoint(fake.uri()).build().unwrap();
    let options = TransportOptions {
        extra_roots_pem: vec![fake.ca_pem().unwrap().to_owned()],
        ..Default::default()
    };
    let client = GoogleAdsClient::builder(config)
        .with_transport_options(options)
        .build()
        .unwrap();
    (fake, client)
}
