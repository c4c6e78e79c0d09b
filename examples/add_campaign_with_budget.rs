//! Creates a budget, a campaign, an ad group and two keywords in one atomic request, linked
//! by temporary resource names, and prints the real names the results carry.
//!
//! Run with: cargo run --example add_campaign_with_budget --features fake [-- --customer-id 1234567890]
//!
//! With credentials configured (google-ads.yaml or GOOGLE_ADS_* variables) it calls that
//! account (`--customer-id` required); with none, the embedded fake server.

use google_ads::fake::FakeServer;

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::latest::common::KeywordInfo;
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType, campaign_status_enum::CampaignStatus,
    keyword_match_type_enum::KeywordMatchType,
};
use google_ads::latest::resources::{
    AdGroup, AdGroupCriterion, Campaign, CampaignBudget, ad_group_criterion::Criterion,
    campaign::CampaignBiddingStrategy,
};
use google_ads::mutate::Operations;

/// Creates a budget, a campaign, an ad group and two keywords in one atomic request.
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
    let customer_id = connected.customer_id(args.customer.customer_id.as_deref())?;
    let suffix = std::process::id();

    let mut operations = Operations::new(customer_id)?;
    let budget = operations.create(CampaignBudget {
        name: Some(format!("Interplanetary budget {suffix}")),
        amount_micros: Some(50_000_000),
        explicitly_shared: Some(false),
        ..Default::default()
    })?;
    let campaign = operations.create(Campaign {
        name: Some(format!("Interplanetary cruise {suffix}")),
        advertising_channel_type: AdvertisingChannelType::Search as i32,
        status: CampaignStatus::Paused as i32,
        campaign_budget: Some(budget.to_string()),
        campaign_bidding_strategy: Some(CampaignBiddingStrategy::ManualCpc(Default::default())),
        ..Default::default()
    })?;
    let ad_group = operations.create(AdGroup {
        name: Some(format!("Earth to Mars cruises {suffix}")),
        campaign: Some(campaign.to_string()),
        cpc_bid_micros: Some(1_000_000),
        ..Default::default()
    })?;
    for text in ["mars cruise", "space hotel"] {
        operations.create(AdGroupCriterion {
            ad_group: Some(ad_group.to_string()),
            criterion: Some(Criterion::Keyword(KeywordInfo {
                text: Some(text.into()),
                match_type: KeywordMatchType::Phrase as i32,
            })),
            ..Default::default()
        })?;
    }
    println!("sending {} operations atomically:", operations.len());
    for operation in operations.as_slice() {
        println!("  {}", google_ads::mutate::describe(operation));
    }
    let results = connected.client.mutate(operations).send().await?;
    println!("created:");
    for name in results.resource_names() {
        println!("  {}", name.unwrap_or("(no name)"));
    }
    Ok(())
}
