//! Gets a refresh token for google-ads.yaml, the way an installed app does: prints the consent
//! URL (and opens a browser when there is one), waits for Google's redirect on a loopback
//! port, checks its anti-forgery state, exchanges the code (with PKCE) and prints the lines to
//! paste into google-ads.yaml. Needs an OAuth client of type "Desktop app" from the Google
//! Cloud console: its downloaded JSON (`--client-secrets`), or its id and secret.
//!
//! Run with: cargo run --example generate_user_credentials --features fake -- --client-secrets client_secret.json
//!   (or --client-id ID --client-secret SECRET; it calls no account, so no --customer-id)

use google_ads::Error;
use google_ads::auth::{ClientSecrets, ConsentFlow};

/// Gets a refresh token for google-ads.yaml through the OAuth consent screen.
#[derive(clap::Parser)]
struct Args {
    /// The client-secrets JSON the Google Cloud console downloads for a "Desktop app" client.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["client_id", "client_secret"])]
    client_secrets: Option<String>,
    /// The OAuth client's id (with --client-secret), instead of --client-secrets.
    #[arg(long, value_name = "ID", requires = "client_secret")]
    client_id: Option<String>,
    /// The OAuth client's secret (with --client-id).
    #[arg(long, value_name = "SECRET", requires = "client_id")]
    client_secret: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(<Args as clap::Parser>::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let client = match (args.client_secrets, args.client_id, args.client_secret) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::invalid("--client-secrets", format!("{path} cannot be read: {e}"))
            })?;
            ClientSecrets::from_json(&text)?
        }
        (None, Some(id), Some(secret)) => ClientSecrets::new(id, secret),
        _ => {
            return Err(Error::invalid(
                "--client-secrets",
                "required (the JSON the Google Cloud console downloads for a Desktop app client), or --client-id and --client-secret",
            ));
        }
    };
    let flow = ConsentFlow::start(client.clone()).await?;
    let url = flow.authorization_url();
    println!("Open this URL, sign in with the Google Ads user, and allow access:\n\n{url}\n");
    open_browser(&url);
    println!(
        "Waiting for the browser to come back to {} ...",
        flow.redirect_uri()
    );
    let refresh_token = flow.finish().await?;
    println!("\nPaste into google-ads.yaml (with your developer_token):\n");
    println!("client_id: {}", client.client_id);
    println!("client_secret: {}", client.client_secret.expose());
    println!("refresh_token: {}", refresh_token.expose());
    Ok(())
}

/// Opens `url` in a browser when the machine has a desktop; silent when it cannot (the URL is
/// printed anyway).
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        Some("open")
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        Some("xdg-open")
    } else {
        None
    };
    if let Some(opener) = opener {
        let _ = std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}
