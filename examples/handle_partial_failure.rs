//! Creates ad groups with partial failure: the good ones commit, and each failed operation
//! is printed with its index and errors.
//!
//! Run with: cargo run --example handle_partial_failure --features fake [-- --customer-id 1234567890 --campaign-id 123]
//!
//! Without `--campaign-id` it first creates a paused campaign to add the ad groups to. With
//! credentials configured (google-ads.yaml or GOOGLE_ADS_* variables) it calls that account
//! (`--customer-id` required); with none, the embedded fake server.

use google_ads::Error;
use google_ads::failure::ErrorLine;
use google_ads::fake::FakeServer;

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType, campaign_status_enum::CampaignStatus,
};
use google_ads::latest::resources::campaign::CampaignBiddingStrategy;
use google_ads::latest::resources::{AdGroup, Campaign, CampaignBudget};
use google_ads::mutate::{MutateResult as _, Operations};
use google_ads::resource_names::CampaignName;

/// Creates ad groups with partial failure and prints each failed operation with its errors.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    customer: CustomerArg,
    /// The campaign to add the ad groups to; without it, a paused one is created first.
    #[arg(long = "campaign-id", value_name = "ID")]
    campaign_id: Option<String>,
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

async fn run(args: Args) -> Result<(), Error> {
    let connected =
        Connected::or_fake(FakeServer::builder(), args.customer.customer_id.as_deref()).await?;
    let customer_id = connected.customer_id(args.customer.customer_id.as_deref())?;
    let client = &connected.client;
    let suffix = std::process::id();
    let campaign = match args.campaign_id {
        Some(id) => CampaignName::new(customer_id, id)?.to_string(),
        None => {
            let mut operations = Operations::new(customer_id)?;
            let budget = operations.create(CampaignBudget {
                name: Some(format!("Partial failure budget {suffix}")),
                amount_micros: Some(10_000_000),
                ..Default::default()
            })?;
            operations.create(Campaign {
                name: Some(format!("Partial failure campaign {suffix}")),
                advertising_channel_type: AdvertisingChannelType::Search as i32,
                status: CampaignStatus::Paused as i32,
                campaign_budget: Some(budget.to_string()),
                campaign_bidding_strategy: Some(CampaignBiddingStrategy::ManualCpc(
                    Default::default(),
                )),
                ..Default::default()
            })?;
            let results = client.mutate(operations).send().await?;
            results.resource_names()[1].unwrap_or_default().to_owned()
        }
    };

    // Two ad groups with the same name (the second fails) and one in a campaign that does
    // not exist (it fails too); the others commit.
    let mut operations = Operations::new(customer_id)?;
    let group = |name: String, campaign: &str| AdGroup {
        name: Some(name),
        campaign: Some(campaign.to_owned()),
        ..Default::default()
    };
    operations.create(group(format!("Valid group {suffix}"), &campaign))?;
    operations.create(group(format!("Duplicate group {suffix}"), &campaign))?;
    operations.create(group(format!("Duplicate group {suffix}"), &campaign))?;
    operations.create(group(
        format!("Orphan group {suffix}"),
        &CampaignName::new(customer_id, 1)?.to_string(),
    ))?;
    let results = client
        .mutate(operations)
        .partial_failure(true)
        .send()
        .await?;
    for (i, outcome) in results.outcomes().iter().enumerate() {
        match outcome {
            Ok(result) => println!(
                "operation {i} succeeded: {}",
                result.resource_name().unwrap_or("")
            ),
            Err(errors) => {
                println!("operation {i} failed:");
                for error in errors {
                    println!("  {}", ErrorLine::new(error));
                }
            }
        }
    }
    Ok(())
}
