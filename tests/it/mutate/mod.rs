//! google_ads::mutate against the fake: temporary names, validation, grouping, splitting,
//! field masks.

mod grouping;
mod masks;
mod references;
mod requests;
mod validation;

use google_ads::GoogleAdsClient;
use google_ads::fake::{FakeServer, FakeServerBuilder};
use google_ads::latest::common::KeywordInfo;
use google_ads::latest::enums::advertising_channel_type_enum::AdvertisingChannelType;
use google_ads::latest::enums::keyword_match_type_enum::KeywordMatchType;
use google_ads::latest::resources::{AdGroup, AdGroupCriterion, Campaign, CampaignBudget, Label};

pub const CID: &str = "1234567890";

/// A fake and a client on it.
pub async fn fake_and_client(builder: FakeServerBuilder) -> (FakeServer, GoogleAdsClient) {
    let fake = builder.start().await.unwrap();
    let client = crate::client_at(fake.uri());
    (fake, client)
}

pub fn budget(name: &str) -> CampaignBudget {
    CampaignBudget {
        name: Some(name.into()),
        amount_micros: Some(10_000_000),
        ..Default::default()
    }
}

pub fn campaign(name: &str, budget: &impl ToString) -> Campaign {
    Campaign {
        name: Some(name.into()),
        advertising_channel_type: AdvertisingChannelType::Search as i32,
        campaign_budget: Some(budget.to_string()),
        ..Default::default()
    }
}

pub fn ad_group(name: &str, campaign: &impl ToString) -> AdGroup {
    AdGroup {
        name: Some(name.into()),
        campaign: Some(campaign.to_string()),
        ..Default::default()
    }
}

pub fn keyword(text: &str, ad_group: &impl ToString) -> AdGroupCriterion {
    AdGroupCriterion {
        ad_group: Some(ad_group.to_string()),
        criterion: Some(
            google_ads::latest::resources::ad_group_criterion::Criterion::Keyword(KeywordInfo {
                text: Some(text.into()),
                match_type: KeywordMatchType::Exact as i32,
            }),
        ),
        ..Default::default()
    }
}

pub fn label(name: &str) -> Label {
    Label {
        name: Some(name.into()),
        ..Default::default()
    }
}

/// The Mutate calls the fake received.
pub fn mutate_calls(
    fake: &FakeServer,
) -> Vec<google_ads::latest::services::MutateGoogleAdsRequest> {
    fake.calls()
        .iter()
        .filter(|c| c.method.ends_with("GoogleAdsService/Mutate"))
        .map(|c| c.decode().unwrap())
        .collect()
}
