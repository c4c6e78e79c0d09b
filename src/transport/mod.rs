//! The HTTP/2 channel: rustls with ring, webpki or native roots, keepalive, message and header
//! limits, and plaintext only to loopback unless forced.
//!
//! gRPC goes through tonic's own rustls integration: tonic refuses an `https` endpoint on a
//! custom connector (such as hyper-rustls's) unless its TLS is configured. The token client
//! (`auth/oauth.rs`) uses hyper-rustls with the config below. Both run rustls on ring.
//!
//! Owns: the channel's settings and the one loopback rule (`is_loopback`). Does not own:
//! anything sent on the channel (headers, tokens, retries: `layer`).
//!
//! The client builds its channel from the config's `endpoint`; [`TransportOptions`] change
//! what it trusts:
//!
//! ```no_run
//! # fn demo(config: google_ads::Config) -> Result<(), Box<dyn std::error::Error>> {
//! use google_ads::GoogleAdsClient;
//! use google_ads::transport::TransportOptions;
//!
//! // A proxy or test server whose certificate a private CA signed.
//! let options = TransportOptions {
//!     extra_roots_pem: vec![std::fs::read_to_string("ca.pem")?],
//!     ..Default::default()
//! };
//! let client = GoogleAdsClient::builder(config)
//!     .with_transport_options(options)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! Plaintext (`http://`) is accepted only to this machine:
//!
//! ```
//! use google_ads::transport::{TransportOptions, channel};
//!
//! assert!(channel("http://example.com:80", &TransportOptions::default()).is_err());
//! ```

use std::sync::Arc;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

mod proxy;

pub(crate) use proxy::{Connector, ProxyRule};
pub use proxy::{ProxyError, ProxyUrl};

/// How long a connection (to the API, a token endpoint or the proxy) may take to open.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Largest message accepted (the official libraries' limit).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// Largest header list (failure trailers can be large).
const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024 * 1024;

/// Options of the channel, beyond the endpoint.
#[derive(Clone, Debug, Default)]
pub struct TransportOptions {
    /// Extra trusted certificates (PEM), e.g. a test CA.
    pub extra_roots_pem: Vec<String>,
    /// Allow plaintext to a non-loopback host.
    pub force_plaintext: bool,
}

/// The one crypto provider: ring's.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    // ring stays the one provider (rustls here and in tonic, the service-account signature,
    // the fake's certificate): aws-lc-rs, whose post-quantum key exchange rustls 0.23.48
    // deprecates ring's provider for lacking, was measured against it (BENCHMARKS.md, TLS
    // provider). ring's provider has no replacement to construct (its parts are private),
    // hence the allow.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes ring rustls's process-wide default provider, unless the program installed one (its
/// choice stands): for crates that take the process default, google-cloud-auth's HTTP client.
#[cfg(feature = "google-cloud-auth")]
pub(crate) fn install_default_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only when another thread installed one first: theirs stands.
        let _ = Arc::unwrap_or_clone(provider()).install_default();
    }
}

/// A rustls client config with ring as the one crypto provider.
pub(crate) fn rustls_config(extra_roots_pem: &[String]) -> rustls::ClientConfig {
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    #[cfg(feature = "native-roots")]
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    #[cfg(not(feature = "native-roots"))]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for pem in extra_roots_pem {
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
            let _ = roots.add(cert);
        }
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Whether `host` (of a URL: `localhost`, `127.0.0.2`, `[::1]`) is this machine: the one
/// place plaintext is allowed without being forced, for the gRPC channel and the token client
/// alike. The whole 127.0.0.0/8 range is loopback.
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An error and its causes on one line, each cause once: connection errors (hyper, tonic,
/// the tunnel, google-cloud-auth) say what failed on top and why underneath.
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    for cause in chain(error).skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
    }
    message
}

/// `error`, then each of its sources in turn.
pub(crate) fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// Why a channel could not be set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError(pub(crate) String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "google-ads transport: {}", self.0)
    }
}

impl std::error::Error for TransportError {}

/// A lazily connecting channel to `endpoint`, through `https_proxy` from the environment when
/// set (see [`ProxyUrl`]; a client takes `http_proxy` from its config first).
pub fn channel(endpoint: &str, options: &TransportOptions) -> Result<Channel, TransportError> {
    let rule =
        ProxyRule::resolve(None).map_err(|(name, e)| TransportError(format!("{name}: {e}")))?;
    channel_through(endpoint, options, &rule)
}

/// The rules of every connection the crate makes, the fake's in-memory ones included (so a
/// test sees what a user's program sees): a keep-alive ping after 30 s with nothing received,
/// 10 s for its answer, which is what finds a connection whose path died silently (a NAT or
/// load balancer that forgot it) and fails its calls as broken rather than leaving them
/// waiting; the header list limit; the connect timeout.
pub(crate) fn with_connection_rules(endpoint: Endpoint) -> Endpoint {
    endpoint
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .connect_timeout(CONNECT_TIMEOUT)
}

/// A lazily connecting channel to `endpoint`, through the proxy `rule` picks for it.
pub(crate) fn channel_through(
    endpoint: &str,
    options: &TransportOptions,
    rule: &ProxyRule,
) -> Result<Channel, TransportError> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|_| TransportError(format!("endpoint {endpoint:?} is not a URL")))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") => {
            let host = uri.host().unwrap_or_default();
            if !is_loopback(host) && !options.force_plaintext {
                return Err(TransportError(format!(
                    "refusing plaintext to {host}: tokens would travel unencrypted; use https, or force plaintext explicitly"
                )));
            }
        }
        _ => {
            return Err(TransportError(format!(
                "endpoint {endpoint:?} must be https:// (or http:// to loopback)"
            )));
        }
    }
    let https = uri.scheme_str() == Some("https");
    let mut endpoint = with_connection_rules(Endpoint::from(uri))
        .user_agent(concat!("google-ads-rust/", env!("CARGO_PKG_VERSION")))
        .map_err(|e| TransportError(e.to_string()))?;
    if https {
        #[cfg(feature = "native-roots")]
        let mut tls = ClientTlsConfig::new().with_native_roots();
        #[cfg(not(feature = "native-roots"))]
        let mut tls = ClientTlsConfig::new().with_webpki_roots();
        for pem in &options.extra_roots_pem {
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| TransportError(e.to_string()))?;
    }
    if rule.is_direct() {
        return Ok(endpoint.connect_lazy());
    }
    // tonic puts its TLS on top of the tunnel, so the API's certificate is checked end to end.
    Ok(endpoint.connect_with_connector_lazy(Connector::new(rule.clone(), CONNECT_TIMEOUT)))
}
