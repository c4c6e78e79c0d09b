//! HTTP proxies: which one a connection goes through, and the CONNECT tunnel to it, for the
//! gRPC channel and the crate's token clients alike.
//!
//! The proxy is the configured `http_proxy` (google-ads.yaml, `GOOGLE_ADS_HTTP_PROXY`), else
//! `https_proxy`/`HTTPS_PROXY` from the environment; hosts in `no_proxy`/`NO_PROXY` go
//! direct. A proxy from the environment never carries connections to this machine (loopback),
//! as Go's and curl-like clients behave: a corporate proxy cannot reach your loopback, and the
//! embedded fake must keep working with `https_proxy` set. A configured `http_proxy` carries
//! every connection not in `no_proxy`, loopback included.
//!
//! The tunnel and the `no_proxy` rules are hyper-util's (the ones reqwest uses); what is
//! written here is the choice of proxy, the masking of its password, and the errors.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::secret::Secret;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A proxy's URL, `http://[user:password@]host:port`: its password never printed (`Debug`
/// and `Display` show `http://user:<redacted>@host:port`).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// The URL as given (password included): only handed to the tunnel.
    full: Secret,
    /// The URL with the password masked.
    shown: String,
}

impl ProxyUrl {
    /// Checks `url`: `http://`, a host, a port, no path; the error says which rule it broke
    /// (the password masked). A URL without a scheme is taken as `http://`, as curl does.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let with_scheme = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let masked = mask(&with_scheme);
        let uri: Uri = with_scheme.parse().map_err(|_| {
            format!("{masked} is not a URL (expected http://[user:password@]host:port)")
        })?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "{masked} must be http:// (the tunnel to the proxy is plain HTTP; a proxy reached over TLS is not supported)"
            ));
        }
        if uri.host().is_none_or(str::is_empty) || uri.port_u16().is_none() {
            return Err(format!(
                "{masked} must name a host and a port (http://host:port)"
            ));
        }
        if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
            return Err(format!("{masked} must be http://host:port, without a path"));
        }
        Ok(Self {
            full: Secret::new(with_scheme),
            shown: masked,
        })
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({})", self.shown)
    }
}

/// `url` with the password of its `user:password@` masked.
fn mask(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!(
                "{scheme}://{user}:<redacted>@{host}{}",
                &rest[authority_end..]
            )
        }
        None => url.to_owned(),
    }
}

/// Which proxy, if any, each connection goes through.
#[derive(Clone, Debug)]
pub(crate) struct ProxyRule {
    proxy: Option<(ProxyUrl, Arc<Matcher>)>,
    /// The proxy came from the environment: loopback goes direct.
    from_env: bool,
}

impl ProxyRule {
    /// The configured proxy, else `https_proxy`/`HTTPS_PROXY`; `no_proxy`/`NO_PROXY` either way.
    /// Err: the variable whose value is not a proxy URL, and why.
    pub fn resolve(configured: Option<&ProxyUrl>) -> Result<Self, (&'static str, String)> {
        let (url, from_env) = match configured {
            Some(url) => (Some(url.clone()), false),
            None => {
                let found = ["https_proxy", "HTTPS_PROXY"].iter().find_map(|name| {
                    let value = std::env::var(name).ok()?;
                    (!value.trim().is_empty()).then_some((*name, value))
                });
                match found {
                    Some((name, value)) => {
                        let name: &'static str = name;
                        (Some(ProxyUrl::parse(&value).map_err(|e| (name, e))?), true)
                    }
                    None => (None, true),
                }
            }
        };
        let proxy = url.map(|url| {
            let no = ["no_proxy", "NO_PROXY"]
                .iter()
                .find_map(|name| std::env::var(name).ok())
                .unwrap_or_default();
            let full = url.full.expose();
            let matcher = Matcher::builder().http(full).https(full).no(no).build();
            (url, Arc::new(matcher))
        });
        Ok(Self { proxy, from_env })
    }

    /// No proxy at all.
    pub fn direct() -> Self {
        Self {
            proxy: None,
            from_env: false,
        }
    }

    pub fn is_direct(&self) -> bool {
        self.proxy.is_none()
    }

    /// The tunnel for a connection to `dst`, or `None` to go direct.
    fn tunnel(&self, dst: &Uri, http: &HttpConnector) -> Option<(Tunnel<HttpConnector>, String)> {
        let (url, matcher) = self.proxy.as_ref()?;
        if self.from_env && dst.host().is_some_and(super::is_loopback) {
            return None;
        }
        let intercept = matcher.intercept(dst)?;
        let mut tunnel = Tunnel::new(intercept.uri().clone(), http.clone());
        if let Some(auth) = intercept.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        Some((tunnel, url.shown.clone()))
    }
}

/// A TCP connector that goes through the proxy the rule picks: the gRPC channel's (tonic puts
/// TLS on top) and the token clients' (hyper-rustls does).
#[derive(Clone)]
pub(crate) struct Connector {
    http: HttpConnector,
    rule: ProxyRule,
}

impl Connector {
    pub fn new(rule: ProxyRule, connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        Self { http, rule }
    }
}

impl tower::Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // HttpConnector is always ready; each call clones it.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        use tower::ServiceExt as _;
        match self.rule.tunnel(&dst, &self.http) {
            None => {
                let connect = self.http.clone().oneshot(dst);
                Box::pin(async move { connect.await.map_err(Into::into) })
            }
            Some((tunnel, proxy)) => Box::pin(async move {
                let target = format!(
                    "{}:{}",
                    dst.host().unwrap_or_default(),
                    dst.port_u16().unwrap_or(443)
                );
                tunnel.oneshot(dst).await.map_err(|error| {
                    // hyper-util does not export its error type; its variant names say what
                    // happened (a refusal, or the proxy unreachable).
                    let failure = match format!("{error:?}") {
                        e if e.starts_with("ProxyAuthRequired") => Failure::AuthRequired,
                        e if e.starts_with("TunnelUnsuccessful") => Failure::Refused,
                        e if e.starts_with("ConnectFailed") => Failure::Unreachable,
                        _ => Failure::Other,
                    };
                    Box::new(ProxyError {
                        proxy,
                        target,
                        failure,
                        error: Box::new(error),
                    }) as BoxError
                })
            }),
        }
    }
}

/// A connection through the proxy failed: the proxy unreachable, or its refusal.
#[derive(Debug)]
pub struct ProxyError {
    /// The proxy, its password masked.
    proxy: String,
    target: String,
    failure: Failure,
    error: BoxError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// 407: the proxy wants (other) credentials.
    AuthRequired,
    /// Another answer than 200 to CONNECT.
    Refused,
    /// No connection to the proxy itself.
    Unreachable,
    Other,
}

impl ProxyError {
    /// The proxy answered and refused the tunnel (it asks for authentication, or does not
    /// allow the target): trying again will not help.
    pub fn is_refusal(&self) -> bool {
        matches!(self.failure, Failure::AuthRequired | Failure::Refused)
    }

    /// The first `ProxyError` refusal in `error`'s source chain.
    pub(crate) fn refusal_in<'a>(
        error: &'a (dyn std::error::Error + 'static),
    ) -> Option<&'a ProxyError> {
        super::chain(error)
            .filter_map(|e| e.downcast_ref::<ProxyError>())
            .find(|proxy| proxy.is_refusal())
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failure {
            Failure::AuthRequired => write!(
                f,
                "the proxy {} refused the tunnel to {}: it asks for authentication (407); check the user and password in the proxy URL",
                self.proxy, self.target
            ),
            // hyper-util's tunnel keeps no status code; tinyproxy, for one, answers a wrong
            // password with 401 rather than 407.
            Failure::Refused => write!(
                f,
                "the proxy {} refused the tunnel to {}: a wrong user or password in the proxy URL, or a host or port its rules do not allow",
                self.proxy, self.target
            ),
            Failure::Unreachable => write!(
                f,
                "cannot reach the proxy {}: {}",
                self.proxy,
                super::causes(self.error.as_ref())
            ),
            Failure::Other => write!(
                f,
                "the tunnel through the proxy {} to {} failed: {}",
                self.proxy,
                self.target,
                super::causes(self.error.as_ref())
            ),
        }
    }
}

// No source: the causes are in the message already.
impl std::error::Error for ProxyError {}
