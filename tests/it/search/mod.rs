//! Reports through the public API against the fake over gRPC on loopback: search_stream and
//! paged search, rows by field path, CSV and JSON lines, quoting, stream faults and memory.

mod faults;
mod path;
mod rows;
mod write;

use google_ads::GoogleAdsClient;
use google_ads::fake::{FakeServer, FakeServerBuilder};
use google_ads::latest::common::KeywordInfo;
use google_ads::latest::enums::asset_field_type_enum::AssetFieldType;
use google_ads::latest::enums::campaign_status_enum::CampaignStatus;
use google_ads::latest::resources::{AdGroupCriterion, ad_group_criterion};
use google_ads::latest::services::{
    AdGroupCriterionOperation, MutateGoogleAdsRequest, MutateOperation,
    ad_group_criterion_operation, campaign_operation, mutate_operation,
};

use crate::fake::{CID, ad_group, budget, campaign_resource, temp_budget, temp_campaign};

/// A fake and a `GoogleAdsClient` on it.
pub async fn fake_and_client(builder: FakeServerBuilder) -> (FakeServer, GoogleAdsClient) {
    let (fake, client, _) = crate::errors::fake_and_client(builder).await;
    (fake, client)
}

pub async fn default_fake_and_client() -> (FakeServer, GoogleAdsClient) {
    fake_and_client(FakeServer::builder()).await
}

/// Names that need quoting in CSV, JSON and GAQL alike.
pub const TRICKY_NAMES: [&str; 3] = ["Alpha", "O'Brien, \"quoted\" \\ back", "Ünïcode ✓ 広告"];

/// A budget, three campaigns named [`TRICKY_NAMES`] (the second PAUSED, with two excluded
/// asset field types), an ad group under the first, and a keyword criterion with two final
/// URLs in it.
pub async fn seed(client: &GoogleAdsClient) {
    let mut ops = vec![budget(-1, "B", 10_000_000)];
    for (i, name) in TRICKY_NAMES.iter().enumerate() {
        let mut campaign = campaign_resource(-2 - i as i64, name, &temp_budget(-1));
        if i == 1 {
            campaign.status = CampaignStatus::Paused as i32;
            campaign.excluded_parent_asset_field_types = vec![
                AssetFieldType::Sitelink as i32,
                AssetFieldType::Callout as i32,
            ];
        }
        ops.push(MutateOperation {
            operation: Some(mutate_operation::Operation::CampaignOperation(Box::new(
                google_ads::latest::services::CampaignOperation {
                    operation: Some(campaign_operation::Operation::Create(campaign)),
                    ..Default::default()
                },
            ))),
        });
    }
    ops.push(ad_group(-9, "G1", &temp_campaign(-2)));
    ops.push(MutateOperation {
        operation: Some(mutate_operation::Operation::AdGroupCriterionOperation(
            Box::new(AdGroupCriterionOperation {
                operation: Some(ad_group_criterion_operation::Operation::Create(
                    AdGroupCriterion {
                        ad_group: Some(format!("customers/{CID}/adGroups/-9")),
                        final_urls: vec![
                            "https://example.com/a".into(),
                            "https://example.com/b".into(),
                        ],
                        criterion: Some(ad_group_criterion::Criterion::Keyword(KeywordInfo {
                            text: Some("running shoes".into()),
                            match_type: 2,
                        })),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }),
        )),
    });
    client
        .google_ads()
        .mutate(MutateGoogleAdsRequest {
            customer_id: CID.into(),
            mutate_operations: ops,
            ..Default::default()
        })
        .await
        .unwrap();
}
