//! Proxies, through a real one: tinyproxy from Debian's packages (`.ci/run` installs it; under
//! `CI` a missing tinyproxy fails these tests, elsewhere they say so and pass). Each test reads
//! tinyproxy's own log to see what went through it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use google_ads::latest::services::ListAccessibleCustomersRequest;
use google_ads::{Config, GoogleAdsClient};

use super::*;

/// A tinyproxy on a loopback port of its own, logging every CONNECT to a file.
struct Tinyproxy {
    port: u16,
    log: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tinyproxy {
    /// Starts one allowing CONNECT to `ports`, asking for `user:password` when given; `None`
    /// when tinyproxy is not installed and this is not CI.
    async fn start(ports: &[u16], basic_auth: Option<(&str, &str)>) -> Option<Self> {
        let binary = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists());
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("CI").is_none(),
                "tinyproxy is not installed: .ci/run installs it (apt-get install tinyproxy)"
            );
            eprintln!("tinyproxy is not installed (apt-get install tinyproxy): not tested here");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join("tinyproxy.log");
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Info\nMaxClients 50\nAllow 127.0.0.1\n",
            log.display()
        );
        for p in ports {
            conf.push_str(&format!("ConnectPort {p}\n"));
        }
        if let Some((user, password)) = basic_auth {
            conf.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let conf_path = dir.path().join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(binary)
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let proxy = Tinyproxy {
            port,
            log,
            child,
            _dir: dir,
        };
        // A separate process: its port opens when it is ready, polled for up to 10 s.
        for _ in 0..1000 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(proxy);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("tinyproxy did not open port {port}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The CONNECT requests tinyproxy logged: `host:port` each.
    fn connects(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split("): CONNECT ").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

async fn list(client: &GoogleAdsClient) -> Result<(), google_ads::Error> {
    client
        .customer()
        .list_accessible_customers(ListAccessibleCustomersRequest {})
        .await
        .map(drop)
}

/// `http_proxy` from the configuration carries the API's calls and the token requests alike:
/// tinyproxy logs a CONNECT to the fake's port and one to the token endpoint's, and the call
/// arrives with the token.
#[tokio::test]
async fn calls_and_token_requests_go_through_the_configured_proxy() {
    let endpoint = TokenEndpoint::start(Answer::Token("proxied-token", 3600)).await;
    let fake = FakeServer::start().await.unwrap();
    let fake_port = fake.addr().port();
    let Some(proxy) = Tinyproxy::start(&[fake_port, endpoint.addr.port()], None).await else {
        return;
    };
    let config = Config::builder()
        .with_developer_token("dev")
        .with_refresh_token("client", "secret", "refresh")
        .with("token_uri", endpoint.uri.clone())
        .with("http_proxy", proxy.url())
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    let client = GoogleAdsClient::builder(config).build().unwrap();
    list(&client).await.unwrap();
    list(&client).await.unwrap();
    let connects = proxy.connects();
    assert!(
        connects.contains(&format!("127.0.0.1:{fake_port}"))
            && connects.contains(&format!("127.0.0.1:{}", endpoint.addr.port())),
        "{connects:?}\n{}",
        proxy.log_text()
    );
    assert_eq!(endpoint.requests(), 1);
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].header("authorization"),
        Some("Bearer proxied-token")
    );
}

/// A proxy asking for basic authentication: with the right `user:password@` both the calls
/// and the token requests go through. With a wrong password (tinyproxy answers 401) the call
/// fails once (no retries) with an error naming the proxy and the likely cause; the password appears
/// in no error or Debug output, and nothing reaches the API.
#[tokio::test]
async fn a_proxy_with_basic_auth_and_a_wrong_password_is_one_clear_error() {
    let endpoint = TokenEndpoint::start(Answer::Token("auth-proxied", 3600)).await;
    let fake = FakeServer::start().await.unwrap();
    let fake_port = fake.addr().port();
    let Some(proxy) = Tinyproxy::start(
        &[fake_port, endpoint.addr.port()],
        Some(("ads", "proxy-pass-1")),
    )
    .await
    else {
        return;
    };
    let with_proxy = |url: String| {
        Config::builder()
            .with_developer_token("dev")
            .with_refresh_token("client", "secret", "refresh")
            .with("token_uri", endpoint.uri.clone())
            .with("http_proxy", url)
            .with_endpoint(fake.uri())
            .build()
            .unwrap()
    };
    let good = format!("http://ads:proxy-pass-1@127.0.0.1:{}", proxy.port);
    let client = GoogleAdsClient::builder(with_proxy(good)).build().unwrap();
    list(&client).await.unwrap();
    assert_eq!(fake.calls().len(), 1);
    assert_eq!(
        fake.calls()[0].header("authorization"),
        Some("Bearer auth-proxied")
    );
    let through = proxy.connects().len();
    assert!(through >= 2, "{}", proxy.log_text());

    // The wrong password, on the token request (the first thing sent).
    let wrong = format!("http://ads:wrong-pass-2@127.0.0.1:{}", proxy.port);
    let config = with_proxy(wrong.clone());
    let client = GoogleAdsClient::builder(config.clone()).build().unwrap();
    let error = list(&client).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "the proxy http://ads:<redacted>@127.0.0.1:{} refused the tunnel",
            proxy.port
        )) && message.contains("a wrong user or password"),
        "{message}"
    );
    assert_eq!(error.attempts(), 1, "{message}");
    assert!(!error.is_retryable());

    // The wrong password on the API's channel (a fixed token: nothing to fetch first).
    let config = Config::builder()
        .with_developer_token("dev")
        .with("access_token", "fixed")
        .with("http_proxy", wrong)
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    let client = GoogleAdsClient::builder(config.clone()).build().unwrap();
    let error = list(&client).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("refused the tunnel")
            && message.contains(&format!("to 127.0.0.1:{fake_port}"))
            && message.contains("a wrong user or password"),
        "{message}"
    );
    assert_eq!(error.attempts(), 1, "{message}");
    assert_eq!(fake.calls().len(), 1, "nothing more reached the API");
    let printed = format!("{message}\n{error:?}\n{config:?}\n{client:?}");
    for secret in ["wrong-pass-2", "proxy-pass-1"] {
        assert!(!printed.contains(secret), "{secret} leaked:\n{printed}");
    }
}

/// `no_proxy` sends the hosts it lists direct, the configured proxy notwithstanding: tinyproxy
/// logs no CONNECT. (In a child process: the variable is set for it alone.)
#[tokio::test]
async fn no_proxy_hosts_go_direct() {
    if let Ok(proxy_url) = std::env::var("ADS_TEST_CHILD_PROXY") {
        let config = Config::builder()
            .with_developer_token("dev")
            .with("access_token", "fixed")
            .with("http_proxy", proxy_url)
            .with_endpoint(std::env::var("ADS_TEST_CHILD_PROXY_FAKE").unwrap())
            .build()
            .unwrap();
        list(&GoogleAdsClient::builder(config).build().unwrap())
            .await
            .unwrap();
        return;
    }
    let fake = FakeServer::start().await.unwrap();
    let Some(proxy) = Tinyproxy::start(&[fake.addr().port()], None).await else {
        return;
    };
    let child = crate::run_test_in_child(
        "client::proxy::no_proxy_hosts_go_direct",
        &[
            ("ADS_TEST_CHILD_PROXY", proxy.url()),
            ("ADS_TEST_CHILD_PROXY_FAKE", fake.uri()),
            ("no_proxy", "localhost,127.0.0.1".to_owned()),
        ],
    )
    .await;
    crate::assert_child_passed(&child);
    assert_eq!(fake.calls().len(), 1);
    assert!(proxy.connects().is_empty(), "{}", proxy.log_text());
}

/// A proxy URL that cannot work is refused when the configuration is read, naming the key and
/// the rule, its password masked.
#[test]
fn a_bad_proxy_url_is_refused_naming_the_key_and_the_rule() {
    for (url, rule) in [
        ("https://user:pw-123@proxy.example:3128", "must be http://"),
        (
            "http://user:pw-123@proxy.example",
            "must name a host and a port",
        ),
        (
            "http://user:pw-123@proxy.example:3128/path",
            "without a path",
        ),
    ] {
        let error = Config::builder()
            .with_developer_token("dev")
            .with("access_token", "fixed")
            .with("http_proxy", url)
            .build()
            .unwrap_err();
        let message = error.to_string();
        assert_eq!(error.key(), Some("http_proxy"), "{message}");
        assert!(
            message.contains(rule) && message.contains("user:<redacted>@proxy.example"),
            "{url}: {message}"
        );
        assert!(!format!("{message} {error:?}").contains("pw-123"));
    }
}

/// A proxy that wants a password and is given none answers 407: one error saying so, not five
/// attempts.
#[tokio::test]
async fn a_proxy_asking_for_a_password_none_given_is_one_clear_error() {
    let fake = FakeServer::start().await.unwrap();
    let Some(proxy) = Tinyproxy::start(&[fake.addr().port()], Some(("ads", "pw"))).await else {
        return;
    };
    let config = Config::builder()
        .with_developer_token("dev")
        .with("access_token", "fixed")
        .with("http_proxy", proxy.url())
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    let error = list(&GoogleAdsClient::builder(config).build().unwrap())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("asks for authentication (407)"),
        "{message}"
    );
    assert_eq!(error.attempts(), 1, "{message}");
    assert!(fake.calls().is_empty());
}

/// `https_proxy` from the environment carries no connection to this machine: the embedded
/// fake and local token endpoints keep working on a machine whose shell sets a proxy.
#[tokio::test]
async fn an_environment_proxy_leaves_loopback_direct() {
    if let Ok(fake_uri) = std::env::var("ADS_TEST_CHILD_ENV_PROXY_FAKE") {
        let config = Config::builder()
            .with_developer_token("dev")
            .with("access_token", "fixed")
            .with_endpoint(fake_uri)
            .build()
            .unwrap();
        list(&GoogleAdsClient::builder(config).build().unwrap())
            .await
            .unwrap();
        return;
    }
    let fake = FakeServer::start().await.unwrap();
    let Some(proxy) = Tinyproxy::start(&[fake.addr().port()], None).await else {
        return;
    };
    let child = crate::run_test_in_child(
        "client::proxy::an_environment_proxy_leaves_loopback_direct",
        &[
            ("ADS_TEST_CHILD_ENV_PROXY_FAKE", fake.uri()),
            ("https_proxy", proxy.url()),
            ("HTTPS_PROXY", proxy.url()),
        ],
    )
    .await;
    crate::assert_child_passed(&child);
    assert_eq!(fake.calls().len(), 1);
    assert!(proxy.connects().is_empty(), "{}", proxy.log_text());
}
