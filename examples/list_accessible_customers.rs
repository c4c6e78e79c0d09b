//! Lists the customers the credentials can access, and says whether `--customer-id` is one.
//!
//! Run with: cargo run --example list_accessible_customers --features fake [-- --customer-id 1234567890]
//!
//! With credentials configured (google-ads.yaml, GOOGLE_ADS_CONFIGURATION_FILE_PATH or
//! GOOGLE_ADS_* variables, endpoint included) it calls that API. With none, it starts the
//! embedded fake server in-process (whose accessible customer is `--customer-id`, default
//! 1234567890) and calls it. It never falls back to the fake when credentials were configured
//! but fail: that error is the answer.

use google_ads::fake::FakeServer;

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::latest::services::ListAccessibleCustomersRequest;

/// Lists the customers the credentials can access, and says whether --customer-id is one.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    customer: CustomerArg,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), google_ads::Error> {
    let connected =
        Connected::or_fake(FakeServer::builder(), args.customer.customer_id.as_deref()).await?;
    // Checked before the call: a malformed id is a mistake to say at once.
    let wanted = args
        .customer
        .customer_id
        .as_ref()
        .map(|id| id.parse::<google_ads::CustomerId>())
        .transpose()?;
    // A failure prints as google_ads::Error shows it: codes, field paths, request id, and how
    // many attempts the retry policy made.
    let response = connected
        .client
        .customer()
        .list_accessible_customers(ListAccessibleCustomersRequest {})
        .await?;
    for name in &response.resource_names {
        println!("{name}");
    }
    println!("{} accessible customers", response.resource_names.len());
    if let Some(id) = wanted {
        let name = format!("customers/{id}");
        if response.resource_names.contains(&name) {
            println!("{name} is accessible directly");
        } else {
            println!(
                "{name} is not accessible directly: reach it through its manager account \
                 (login_customer_id)"
            );
        }
    }
    Ok(())
}
