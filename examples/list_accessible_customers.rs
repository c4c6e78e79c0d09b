//! Lists the customers the credentials can access.
//!
//! Run with: cargo run --example list_accessible_customers --features fake
//!
//! With credentials configured (google-ads.yaml, GOOGLE_ADS_CONFIGURATION_FILE_PATH or
//! GOOGLE_ADS_* variables, endpoint included) it calls that API. With none, it starts the
//! embedded fake server in-process and calls it. It never falls back to the fake when
//! credentials were configured but fail: that error is the answer.

use google_ads::fake::FakeServer;
use google_ads::latest::services::ListAccessibleCustomersRequest;
use google_ads::{Config, GoogleAdsClient};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _fake) = match Config::discover()? {
        Some(config) => {
            println!("using the configured credentials: {}", config.endpoint);
            (GoogleAdsClient::builder(config).build()?, None)
        }
        None => {
            let fake = FakeServer::start().await?;
            println!(
                "no credentials configured: using the embedded fake server at {}",
                fake.uri()
            );
            let config = Config::builder()
                .with_developer_token("fake-developer-token")
                .with_access_token("fake-access-token")
                .with_endpoint(fake.uri())
                .build()?;
            (GoogleAdsClient::builder(config).build()?, Some(fake))
        }
    };
    // A failure prints as google_ads::Error shows it: codes, field paths, request id, and how
    // many attempts the retry policy made.
    let response = client
        .customer()
        .list_accessible_customers(ListAccessibleCustomersRequest {})
        .await?;
    for name in response.resource_names {
        println!("{name}");
    }
    Ok(())
}
