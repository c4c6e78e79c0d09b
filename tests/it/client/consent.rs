//! The consent flow end to end against a local authorization server and token endpoint: the
//! test is the browser (it opens the consent URL and follows the redirect over HTTP).

use base64::Engine as _;
use google_ads::auth::{ClientSecrets, ConsentFlow};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;

use super::*;

/// A local authorization server: a GET of its consent page with `redirect_uri` and `state`
/// answers 302 to `redirect_uri?code=CODE&state=STATE` (`state` replaced by `forge` when set),
/// as Google's does once the user allows access. Returns its consent page's URL.
async fn authorization_server(code: &'static str, forge: Option<&'static str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/o/oauth2/auth", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| async move {
                    let query = request.uri().query().unwrap_or_default().to_owned();
                    let form = parse_query(&query);
                    let redirect = value(&form, "redirect_uri").to_owned();
                    let state =
                        forge.map_or_else(|| value(&form, "state").to_owned(), str::to_owned);
                    let location = format!("{redirect}/?code={code}&state={state}");
                    Ok::<_, std::convert::Infallible>(
                        hyper::Response::builder()
                            .status(302)
                            .header("location", location)
                            .body(http_body_util::Full::new(Bytes::new()))
                            .unwrap(),
                    )
                },
            );
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    uri
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let decode = |s: &str| {
                let mut out = Vec::new();
                let b = s.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%' && i + 2 < b.len() {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            };
            Some((decode(k), decode(v)))
        })
        .collect()
}

/// The browser: GET `url`, and where it redirects, GET that too; the last page's text.
async fn browse(url: &str) -> String {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let mut url: hyper::Uri = url.parse().unwrap();
    loop {
        let response = client.get(url.clone()).await.unwrap();
        if let Some(location) = response.headers().get("location") {
            url = location.to_str().unwrap().parse().unwrap();
            continue;
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        return String::from_utf8_lossy(&body).into_owned();
    }
}

fn client_secrets(auth_uri: &str, token_uri: &str) -> ClientSecrets {
    let json = serde_json::json!({
        "installed": {
            "client_id": "desktop-client.apps.example",
            "client_secret": "desktop-secret",
            "auth_uri": auth_uri,
            "token_uri": token_uri,
            "redirect_uris": ["http://localhost"],
        }
    });
    ClientSecrets::from_json(&json.to_string()).unwrap()
}

/// The whole flow: the consent URL asks for the adwords scope, offline access, consent, a
/// state and an S256 challenge; the redirect comes back to the loopback port; the code is
/// exchanged with the verifier whose SHA-256 is the challenge; the refresh token comes out.
#[tokio::test]
async fn a_user_consents_and_the_refresh_token_comes_out() {
    let endpoint = TokenEndpoint::start(Answer::Refresh("the-refresh-token")).await;
    let auth = authorization_server("the-code", None).await;
    let flow = ConsentFlow::start(client_secrets(&auth, &endpoint.uri))
        .await
        .unwrap();
    let url = flow.authorization_url();
    assert!(url.starts_with(&format!("{auth}?")), "{url}");
    let asked = parse_query(url.split_once('?').unwrap().1);
    assert_eq!(value(&asked, "client_id"), "desktop-client.apps.example");
    assert_eq!(
        value(&asked, "scope"),
        "https://www.googleapis.com/auth/adwords"
    );
    assert_eq!(value(&asked, "access_type"), "offline");
    assert_eq!(value(&asked, "prompt"), "consent");
    assert_eq!(value(&asked, "response_type"), "code");
    assert_eq!(value(&asked, "code_challenge_method"), "S256");
    assert!(value(&asked, "redirect_uri").starts_with("http://127.0.0.1:"));
    assert!(value(&asked, "state").len() >= 32);
    let finished = tokio::spawn(flow.finish());
    let page = browse(&url).await;
    assert!(page.contains("Done"), "{page}");
    let refresh = finished.await.unwrap().unwrap();
    assert_eq!(refresh.expose(), "the-refresh-token");

    let form = endpoint.form(0);
    assert_eq!(value(&form, "grant_type"), "authorization_code");
    assert_eq!(value(&form, "code"), "the-code");
    assert_eq!(value(&form, "redirect_uri"), value(&asked, "redirect_uri"));
    assert_eq!(value(&form, "client_secret"), "desktop-secret");
    let verifier = value(&form, "code_verifier");
    assert!((43..=128).contains(&verifier.len()), "{verifier}");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    assert_eq!(challenge, value(&asked, "code_challenge"));
}

/// A redirect whose state is not the one sent (forged, or from an older run) is refused, and
/// no code is exchanged.
#[tokio::test]
async fn a_redirect_with_another_state_is_refused() {
    let endpoint = TokenEndpoint::start(Answer::Refresh("never")).await;
    let auth = authorization_server("stolen-code", Some("not-the-state")).await;
    let flow = ConsentFlow::start(client_secrets(&auth, &endpoint.uri))
        .await
        .unwrap();
    let url = flow.authorization_url();
    let finished = tokio::spawn(flow.finish());
    let page = browse(&url).await;
    assert!(page.contains("not asked for"), "{page}");
    let error = finished.await.unwrap().unwrap_err().to_string();
    assert!(error.contains("state"), "{error}");
    assert_eq!(endpoint.requests(), 0, "no code was exchanged");
}

/// Client secrets without an id or secret, or of no known kind, are refused by name.
#[test]
fn broken_client_secrets_are_refused() {
    let error = ClientSecrets::from_json(r#"{"installed": {"client_id": "x"}}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("client_secret"), "{error}");
    let error = ClientSecrets::from_json(r#"{"other": {}}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("installed"), "{error}");
    let defaults =
        ClientSecrets::from_json(r#"{"web": {"client_id": "id", "client_secret": "secret"}}"#)
            .unwrap();
    assert_eq!(defaults.auth_uri, google_ads::auth::GOOGLE_AUTH_URI);
    assert!(
        !format!("{defaults:?}").contains("secret\""),
        "{defaults:?}"
    );
}
