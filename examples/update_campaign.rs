//! Updates a campaign and its ad group with masks that keep what was set: a bool set to
//! false, a bid set to 0, a field cleared; prints each mask sent and what the server stored.
//!
//! Run with: cargo run --example update_campaign --features fake [-- --customer-id 1234567890 --campaign-id 123 --ad-group-id 456]
//!
//! Without `--campaign-id` and `--ad-group-id` it first creates a paused campaign and ad
//! group to update. With credentials configured (google-ads.yaml or GOOGLE_ADS_* variables)
//! it calls that account (`--customer-id` required); with none, the embedded fake server.

use google_ads::fake::FakeServer;

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType, campaign_status_enum::CampaignStatus,
    response_content_type_enum::ResponseContentType,
};
use google_ads::latest::resources::campaign::{CampaignBiddingStrategy, NetworkSettings};
use google_ads::latest::resources::{AdGroup, Campaign, CampaignBudget};
use google_ads::mutate::{FieldMaskBuilder, MutateResult as _, Operations, field_mask};
use google_ads::resource_names::{AdGroupName, CampaignName};
use google_ads::{CustomerId, Error, GoogleAdsClient};

/// Updates a campaign and its ad group with field masks that keep what was set.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    customer: CustomerArg,
    /// The campaign to update (with --ad-group-id); without both, one is created first.
    #[arg(long = "campaign-id", value_name = "ID", requires = "ad_group_id")]
    campaign_id: Option<String>,
    /// The ad group to update (with --campaign-id).
    #[arg(long = "ad-group-id", value_name = "ID", requires = "campaign_id")]
    ad_group_id: Option<String>,
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
    let (campaign, ad_group) = match (args.campaign_id, args.ad_group_id) {
        (Some(campaign), Some(ad_group)) => (
            CampaignName::new(customer_id, campaign)?.to_string(),
            AdGroupName::new(customer_id, ad_group)?.to_string(),
        ),
        _ => create_campaign(client, customer_id).await?,
    };

    let mut operations = Operations::new(customer_id)?;
    // A bool set to false is sent: the field has presence, so "set to false" is not "unset".
    let campaign_change = Campaign {
        resource_name: campaign.clone(),
        network_settings: Some(NetworkSettings {
            target_content_network: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    };
    // And a field cleared: named in the mask, left unset in the resource.
    let campaign_mask = FieldMaskBuilder::of(&campaign_change)
        .clear("tracking_url_template")
        .build()?;
    println!("campaign mask: {}", campaign_mask.paths.join(", "));
    operations.update_with_mask(campaign_change, campaign_mask);
    // A bid set to 0.
    let ad_group_change = AdGroup {
        resource_name: ad_group.clone(),
        cpc_bid_micros: Some(0),
        ..Default::default()
    };
    println!(
        "ad group mask: {}",
        field_mask(&ad_group_change).paths.join(", ")
    );
    operations.update(ad_group_change);

    let results = client
        .mutate(operations)
        .response_content_type(ResponseContentType::MutableResource)
        .send()
        .await?;
    let outcomes = results.outcomes();
    if let Some(stored) = outcomes[0]
        .as_ref()
        .ok()
        .and_then(|r| r.resource::<Campaign>())
    {
        let settings = stored.network_settings.unwrap_or_default();
        println!(
            "updated {}: target_content_network = {:?}, tracking_url_template = {:?}",
            stored.resource_name, settings.target_content_network, stored.tracking_url_template
        );
    }
    if let Some(stored) = outcomes[1]
        .as_ref()
        .ok()
        .and_then(|r| r.resource::<AdGroup>())
    {
        println!(
            "updated {}: cpc_bid_micros = {:?}",
            stored.resource_name, stored.cpc_bid_micros
        );
    }
    Ok(())
}

/// A paused campaign with a tracking template and an ad group with a bid, to update.
async fn create_campaign(
    client: &GoogleAdsClient,
    customer_id: CustomerId,
) -> Result<(String, String), Error> {
    let suffix = std::process::id();
    let mut operations = Operations::new(customer_id)?;
    let budget = operations.create(CampaignBudget {
        name: Some(format!("Update example budget {suffix}")),
        amount_micros: Some(10_000_000),
        ..Default::default()
    })?;
    let campaign = operations.create(Campaign {
        name: Some(format!("Update example {suffix}")),
        advertising_channel_type: AdvertisingChannelType::Search as i32,
        status: CampaignStatus::Paused as i32,
        campaign_budget: Some(budget.to_string()),
        tracking_url_template: Some("https://example.com/?u={lpurl}".into()),
        network_settings: Some(NetworkSettings {
            target_google_search: Some(true),
            target_content_network: Some(true),
            ..Default::default()
        }),
        campaign_bidding_strategy: Some(CampaignBiddingStrategy::ManualCpc(Default::default())),
        ..Default::default()
    })?;
    operations.create(AdGroup {
        name: Some(format!("Update example group {suffix}")),
        campaign: Some(campaign.to_string()),
        cpc_bid_micros: Some(1_500_000),
        ..Default::default()
    })?;
    let results = client.mutate(operations).send().await?;
    let names = results.resource_names();
    println!(
        "created {} and {}",
        names[1].unwrap_or("?"),
        names[2].unwrap_or("?")
    );
    Ok((
        names[1].unwrap_or_default().to_owned(),
        names[2].unwrap_or_default().to_owned(),
    ))
}
