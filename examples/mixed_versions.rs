//! Two API versions in one program, as a team migrating service by service runs them: reads
//! campaigns through API v25's GoogleAdsService, then renames one through API v26's
//! CampaignService, over one client (one channel, credentials, headers, retries).
//!
//! Run with: cargo run --example mixed_versions --features fake,v25 [-- --customer-id 1234567890 --campaign-id 123 --name "New name" --apply]
//!
//! With credentials configured (google-ads.yaml or GOOGLE_ADS_* variables) it calls that
//! account (`--customer-id` required) and, without `--apply`, only validates the rename
//! (`validate_only`); with none, the embedded fake server, on two campaigns it creates first.

use google_ads::fake::FakeServer;

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::mutate::Operations;
use google_ads::prost_types::FieldMask;
use google_ads::{CustomerId, Error, GoogleAdsClient, v25, v26};

/// Reads campaigns through API v25 and renames one through API v26.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    customer: CustomerArg,
    /// The campaign to rename (default: the first one read).
    #[arg(long = "campaign-id", value_name = "ID")]
    campaign_id: Option<i64>,
    /// Its new name (default: its name with " (renamed through v26)" added).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Against the real API, apply the rename (without it, the server only validates it).
    #[arg(long)]
    apply: bool,
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
    if connected.fake.is_some() {
        create_campaigns(client, customer_id).await?;
    }

    // The read, on v25: its request and row types are v25's own.
    let query = "SELECT campaign.id, campaign.name, campaign.status FROM campaign";
    let response = client
        .v25()
        .google_ads()
        .search(v25::services::SearchGoogleAdsRequest {
            customer_id: customer_id.to_string(),
            query: query.into(),
            ..Default::default()
        })
        .await?;
    let campaigns: Vec<&v25::resources::Campaign> = response
        .results
        .iter()
        .filter_map(|row| row.campaign.as_deref())
        .collect();
    for campaign in &campaigns {
        println!(
            "v25 read: {} {:?} {}",
            campaign.resource_name,
            campaign.name.as_deref().unwrap_or_default(),
            v25::enums::campaign_status_enum::CampaignStatus::try_from(campaign.status)
                .map_or("?", |s| s.as_str_name()),
        );
    }
    let chosen = match args.campaign_id {
        Some(id) => campaigns.iter().find(|c| c.id == Some(id)).copied(),
        None => campaigns.first().copied(),
    };
    let Some(chosen) = chosen else {
        return Err(Error::invalid(
            "--campaign-id",
            "names no campaign of this account (none read through v25)",
        ));
    };

    // The write, on v26: the same resource name, v26's request types.
    let name = args.name.unwrap_or_else(|| {
        format!(
            "{} (renamed through v26)",
            chosen.name.as_deref().unwrap_or_default()
        )
    });
    let validate_only = connected.fake.is_none() && !args.apply;
    let response = client
        .v26()
        .campaign()
        .mutate_campaigns(v26::services::MutateCampaignsRequest {
            customer_id: customer_id.to_string(),
            operations: vec![v26::services::CampaignOperation {
                update_mask: Some(FieldMask {
                    paths: vec!["name".into()],
                }),
                operation: Some(v26::services::campaign_operation::Operation::Update(
                    v26::resources::Campaign {
                        resource_name: chosen.resource_name.clone(),
                        name: Some(name.clone()),
                        ..Default::default()
                    },
                )),
            }],
            validate_only,
            response_content_type:
                v26::enums::response_content_type_enum::ResponseContentType::MutableResource as i32,
            ..Default::default()
        })
        .await?;
    if validate_only {
        println!("v26 validated (not applied; --apply applies it): {name:?}");
        return Ok(());
    }
    for result in &response.results {
        let stored = result.campaign.as_ref().and_then(|c| c.name.as_deref());
        println!(
            "v26 renamed: {} to {:?}",
            result.resource_name,
            stored.unwrap_or_default()
        );
    }
    Ok(())
}

/// Two paused campaigns on the fake, written by the crate's mutate engine (the newest version).
async fn create_campaigns(client: &GoogleAdsClient, customer_id: CustomerId) -> Result<(), Error> {
    use google_ads::latest::enums::advertising_channel_type_enum::AdvertisingChannelType;
    use google_ads::latest::enums::campaign_status_enum::CampaignStatus;
    use google_ads::latest::resources::campaign::CampaignBiddingStrategy;
    use google_ads::latest::resources::{Campaign, CampaignBudget};

    let mut operations = Operations::new(customer_id)?;
    let budget = operations.create(CampaignBudget {
        name: Some("Mixed versions budget".into()),
        amount_micros: Some(10_000_000),
        ..Default::default()
    })?;
    for n in 1..=2 {
        operations.create(Campaign {
            name: Some(format!("Mixed versions #{n}")),
            advertising_channel_type: AdvertisingChannelType::Search as i32,
            status: CampaignStatus::Paused as i32,
            campaign_budget: Some(budget.to_string()),
            campaign_bidding_strategy: Some(CampaignBiddingStrategy::ManualCpc(Default::default())),
            ..Default::default()
        })?;
    }
    client.mutate(operations).send().await?;
    Ok(())
}
