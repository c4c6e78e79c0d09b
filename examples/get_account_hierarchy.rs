//! Prints every account under one or more manager accounts as a tree: sub-managers walked,
//! each account once, with name, currency, time zone and any status other than ENABLED.
//!
//! Run with: cargo run --example get_account_hierarchy --features fake [-- --customer-id 1234567890[,MANAGER...]]
//!
//! `--customer-id` names the manager (or managers, comma-separated) at the root; each is also
//! the login-customer-id of the calls made for the accounts under it. With credentials
//! configured (google-ads.yaml, GOOGLE_ADS_CONFIGURATION_FILE_PATH or GOOGLE_ADS_* variables)
//! it asks that API (`--customer-id` required). With none, the embedded fake, holding a tree
//! of three levels under the manager (default 1234567890): two sub-managers, an account both
//! of them manage (listed once), a suspended account, and one the credentials cannot reach.
//! Last it says how many accounts a report over the tree would run on: the enabled client
//! accounts.

use google_ads::accounts::AccountTree;
use google_ads::fake::FakeServer;

mod common;

use clap::Parser as _;
use common::Connected;

/// Prints every account under one or more manager accounts as a tree.
#[derive(clap::Parser)]
struct Args {
    /// The manager account(s) at the root (10 digits each, comma-separated). Required against
    /// the real API; against the embedded fake, the root of its demo tree (default
    /// 1234567890).
    #[arg(long = "customer-id", value_name = "ID[,ID...]", value_delimiter = ',')]
    customer_ids: Vec<String>,
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
    let managers = args
        .customer_ids
        .iter()
        .map(|id| id.parse::<google_ads::CustomerId>())
        .collect::<Result<Vec<_>, _>>()?;
    let root = managers
        .first()
        .map_or_else(|| "1234567890".to_owned(), ToString::to_string);
    let connected = Connected::or_fake(
        common::with_demo_tree_customers(FakeServer::builder()),
        Some(&root),
    )
    .await?;
    let managers = match (&connected.fake, managers.is_empty()) {
        (Some(fake), _) => {
            common::demo_account_tree(fake, &root)?;
            vec![root.parse()?]
        }
        (None, true) => {
            return Err(google_ads::Error::invalid(
                "--customer-id",
                "is required against the real API: the manager account(s) at the root",
            ));
        }
        (None, false) => managers,
    };
    let tree = AccountTree::walk(&connected.client, &managers).await?;
    print!("{tree}");
    let skipped: Vec<String> = tree
        .accounts()
        .iter()
        .filter(|a| !a.is_enabled())
        .map(|a| format!("{} ({})", a.id, a.status.as_str_name()))
        .collect();
    println!(
        "{} accounts, {} enabled client accounts to report on; skipped: {}",
        tree.accounts().len(),
        tree.clients().count(),
        if skipped.is_empty() {
            "none".to_owned()
        } else {
            skipped.join(", ")
        }
    );
    Ok(())
}
