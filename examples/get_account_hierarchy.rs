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

mod common;

use clap::Parser as _;

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
    let (connected, managers) =
        common::managers_or_demo_tree(&args.customer_ids, "--customer-id").await?;
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
