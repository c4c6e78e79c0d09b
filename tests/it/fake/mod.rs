//! The fake server driven with the raw generated clients only.

mod auth;
mod batch;
mod faults;
mod mutate;
mod search;

use google_ads::fake::{FakeServer, FakeServerBuilder};
use google_ads::latest::enums::advertising_channel_type_enum::AdvertisingChannelType;
use google_ads::latest::errors::GoogleAdsFailure;
use google_ads::latest::resources::{AdGroup, Campaign, CampaignBudget, Label};
use google_ads::latest::services::{
    AdGroupOperation, CampaignBudgetOperation, CampaignOperation, LabelOperation, MutateOperation,
    ad_group_operation, campaign_budget_operation, campaign_operation, label_operation,
    mutate_operation,
};
use prost::Message;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

pub const CID: &str = "1234567890";

pub struct Ctx {
    pub fake: FakeServer,
    pub channel: Channel,
}

pub async fn start(builder: FakeServerBuilder) -> Ctx {
    let fake = builder.start().await.expect("fake starts");
    let channel = Endpoint::from_shared(fake.uri())
        .unwrap()
        .connect()
        .await
        .expect("connects");
    Ctx { fake, channel }
}

pub async fn start_default() -> Ctx {
    start(FakeServer::builder()).await
}

/// A request with the headers every call needs.
pub fn req<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", "Bearer test-access-token".parse().unwrap());
    request
        .metadata_mut()
        .insert("developer-token", "test-developer-token".parse().unwrap());
    request
}

/// The GoogleAdsFailure of a failed call, from its versioned trailer.
pub fn failure(status: &Status) -> GoogleAdsFailure {
    let bytes = status
        .metadata()
        .get_bin(google_ads::FAILURE_TRAILER_KEY)
        .unwrap_or_else(|| panic!("no failure trailer on {status:?}"))
        .to_bytes()
        .unwrap();
    GoogleAdsFailure::decode(bytes).unwrap()
}

/// Each error as `field: NAME @ path[index].more`.
pub fn codes(failure: &GoogleAdsFailure) -> Vec<String> {
    use google_ads::failure::{CodeName, FieldPath};
    failure
        .errors
        .iter()
        .map(|e| {
            let code = CodeName::of(e).expect("a code this version knows");
            let path = FieldPath::of(e);
            if path.is_empty() {
                code.to_string()
            } else {
                format!("{code} @ {path}")
            }
        })
        .collect()
}

pub fn request_id(status: &Status) -> String {
    status
        .metadata()
        .get("request-id")
        .expect("request-id")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn budget(temp: i64, name: &str, amount_micros: i64) -> MutateOperation {
    MutateOperation {
        operation: Some(mutate_operation::Operation::CampaignBudgetOperation(
            Box::new(CampaignBudgetOperation {
                operation: Some(campaign_budget_operation::Operation::Create(
                    CampaignBudget {
                        resource_name: format!("customers/{CID}/campaignBudgets/{temp}"),
                        name: Some(name.into()),
                        amount_micros: Some(amount_micros),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }),
        )),
    }
}

pub fn campaign(temp: i64, name: &str, budget: &str) -> MutateOperation {
    MutateOperation {
        operation: Some(mutate_operation::Operation::CampaignOperation(Box::new(
            CampaignOperation {
                operation: Some(campaign_operation::Operation::Create(campaign_resource(
                    temp, name, budget,
                ))),
                ..Default::default()
            },
        ))),
    }
}

pub fn campaign_resource(temp: i64, name: &str, budget: &str) -> Campaign {
    Campaign {
        resource_name: format!("customers/{CID}/campaigns/{temp}"),
        name: Some(name.into()),
        advertising_channel_type: AdvertisingChannelType::Search as i32,
        campaign_budget: Some(budget.into()),
        ..Default::default()
    }
}

pub fn ad_group(temp: i64, name: &str, campaign: &str) -> MutateOperation {
    MutateOperation {
        operation: Some(mutate_operation::Operation::AdGroupOperation(Box::new(
            AdGroupOperation {
                operation: Some(ad_group_operation::Operation::Create(AdGroup {
                    resource_name: format!("customers/{CID}/adGroups/{temp}"),
                    name: Some(name.into()),
                    campaign: Some(campaign.into()),
                    ..Default::default()
                })),
                ..Default::default()
            },
        ))),
    }
}

pub fn label(name: &str) -> MutateOperation {
    MutateOperation {
        operation: Some(mutate_operation::Operation::LabelOperation(Box::new(
            LabelOperation {
                operation: Some(label_operation::Operation::Create(Label {
                    name: Some(name.into()),
                    ..Default::default()
                })),
                ..Default::default()
            },
        ))),
    }
}

pub fn temp_budget(temp: i64) -> String {
    format!("customers/{CID}/campaignBudgets/{temp}")
}

pub fn temp_campaign(temp: i64) -> String {
    format!("customers/{CID}/campaigns/{temp}")
}
