//! Builds an atomic GoogleAdsService.Mutate request that creates a campaign budget and a
//! campaign using it, linked by temporary resource names, and shows its wire size.
//!
//! Run with: cargo run --example build_mutate_request

use google_ads::latest::resources::{Campaign, CampaignBudget};
use google_ads::latest::services::{
    CampaignBudgetOperation, CampaignOperation, MutateGoogleAdsRequest, MutateOperation,
    campaign_budget_operation, campaign_operation, mutate_operation,
};
use google_ads::resource_names::{CampaignBudgetName, CampaignName};
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let customer_id = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "1234567890".into());
    let budget_name = CampaignBudgetName::new(&customer_id, -1)?.to_string();
    let budget = CampaignBudget {
        resource_name: budget_name.clone(),
        name: Some("Example budget".into()),
        amount_micros: Some(10_000_000),
        ..Default::default()
    };
    let campaign = Campaign {
        resource_name: CampaignName::new(&customer_id, -2)?.to_string(),
        name: Some("Example campaign".into()),
        campaign_budget: Some(budget_name),
        ..Default::default()
    };
    let request = MutateGoogleAdsRequest {
        customer_id,
        mutate_operations: vec![
            MutateOperation {
                operation: Some(mutate_operation::Operation::CampaignBudgetOperation(
                    CampaignBudgetOperation {
                        operation: Some(campaign_budget_operation::Operation::Create(budget)),
                        ..Default::default()
                    },
                )),
            },
            MutateOperation {
                operation: Some(mutate_operation::Operation::CampaignOperation(
                    CampaignOperation {
                        operation: Some(campaign_operation::Operation::Create(campaign)),
                        ..Default::default()
                    },
                )),
            },
        ],
        ..Default::default()
    };
    println!("Google Ads API {}", google_ads::API_VERSION);
    println!("{request:#?}");
    println!("encoded: {} bytes", request.encoded_len());
    Ok(())
}
