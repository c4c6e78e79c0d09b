//! Field masks: each case's mask, accepted by the fake's update, and what it changed read back
//! from the updated resource.

use google_ads::latest::common::{CustomParameter, ManualCpc, MaximizeConversions};
use google_ads::latest::enums::response_content_type_enum::ResponseContentType;
use google_ads::latest::resources::Campaign;
use google_ads::latest::resources::campaign::{CampaignBiddingStrategy, NetworkSettings};
use google_ads::mutate::{FieldMaskBuilder, MutateResult as _, Operations, diff, field_mask};
use prost_types::FieldMask;

use super::*;

/// A campaign with network settings, a tracking template and custom parameters, created in
/// the fake; its real name.
async fn existing_campaign(client: &GoogleAdsClient) -> (String, Campaign) {
    let mut operations = Operations::new(CID).unwrap();
    let budget = operations.create(super::budget("B")).unwrap();
    let mut campaign = super::campaign("C", &budget);
    campaign.network_settings = Some(NetworkSettings {
        target_google_search: Some(true),
        target_search_network: Some(true),
        target_content_network: Some(true),
        ..Default::default()
    });
    campaign.tracking_url_template = Some("https://example.com/{lpurl}".into());
    campaign.url_custom_parameters = vec![CustomParameter {
        key: Some("k".into()),
        value: Some("v".into()),
    }];
    campaign.campaign_bidding_strategy = Some(CampaignBiddingStrategy::ManualCpc(ManualCpc {
        enhanced_cpc_enabled: Some(true),
    }));
    operations.create(campaign.clone()).unwrap();
    let results = client.mutate(operations).send().await.unwrap();
    let name = results.resource_names()[1].unwrap().to_owned();
    // The names the server gave: the temporary ones mean nothing after the request.
    campaign.resource_name = name.clone();
    campaign.campaign_budget = results.resource_names()[0].map(str::to_owned);
    (name, campaign)
}

/// Updates with `mask` and returns the campaign as the fake stored it.
async fn update(client: &GoogleAdsClient, campaign: Campaign, mask: FieldMask) -> Campaign {
    let mut operations = Operations::new(CID).unwrap();
    operations.update_with_mask(campaign, mask);
    let results = client
        .mutate(operations)
        .response_content_type(ResponseContentType::MutableResource)
        .send()
        .await
        .unwrap();
    results.outcomes()[0]
        .as_ref()
        .unwrap()
        .resource::<Campaign>()
        .expect("the updated campaign")
        .clone()
}

fn only(name: &str) -> Campaign {
    Campaign {
        resource_name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_bool_set_to_false_and_a_nested_leaf_are_in_the_mask_and_applied() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let (name, _) = existing_campaign(&client).await;
    let mut change = only(&name);
    change.network_settings = Some(NetworkSettings {
        target_search_network: Some(false),
        ..Default::default()
    });
    let mask = field_mask(&change);
    assert_eq!(mask.paths, ["network_settings.target_search_network"]);
    let after = update(&client, change, mask).await;
    let settings = after.network_settings.unwrap();
    assert_eq!(settings.target_search_network, Some(false), "set to false");
    assert_eq!(
        settings.target_google_search,
        Some(true),
        "the other leaves kept"
    );
    assert_eq!(settings.target_content_network, Some(true));
}

#[tokio::test]
async fn an_int_set_to_zero_is_in_the_mask_and_applied() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut operations = Operations::new(CID).unwrap();
    operations.create(super::budget("B")).unwrap();
    let budget = client
        .mutate(operations)
        .send()
        .await
        .unwrap()
        .resource_names()[0]
        .unwrap()
        .to_owned();
    let change = google_ads::latest::resources::CampaignBudget {
        resource_name: budget,
        amount_micros: Some(0),
        ..Default::default()
    };
    let mask = field_mask(&change);
    assert_eq!(mask.paths, ["amount_micros"]);
    let mut operations = Operations::new(CID).unwrap();
    operations.update(change);
    let results = client
        .mutate(operations)
        .response_content_type(ResponseContentType::MutableResource)
        .send()
        .await
        .unwrap();
    let after = results.outcomes()[0]
        .as_ref()
        .unwrap()
        .resource::<google_ads::latest::resources::CampaignBudget>()
        .unwrap();
    assert_eq!(after.amount_micros, Some(0));
}

#[tokio::test]
async fn an_empty_string_and_an_empty_list_clear_their_fields() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let (name, _) = existing_campaign(&client).await;
    let mask = FieldMaskBuilder::of(&only(&name))
        .clear("tracking_url_template")
        .clear("url_custom_parameters")
        .build()
        .unwrap();
    assert_eq!(
        mask.paths,
        ["tracking_url_template", "url_custom_parameters"]
    );
    let after = update(&client, only(&name), mask).await;
    assert_eq!(after.tracking_url_template, None);
    assert!(after.url_custom_parameters.is_empty());
    assert_eq!(after.name.as_deref(), Some("C"), "unnamed fields untouched");
}

#[tokio::test]
async fn a_message_replaced_whole_resets_its_unset_fields() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let (name, _) = existing_campaign(&client).await;
    let mut change = only(&name);
    change.network_settings = Some(NetworkSettings {
        target_google_search: Some(true),
        ..Default::default()
    });
    let mask = FieldMaskBuilder::of(&change)
        .replace("network_settings")
        .build()
        .unwrap();
    assert_eq!(mask.paths, ["network_settings"]);
    let after = update(&client, change, mask).await;
    let settings = after.network_settings.unwrap();
    assert_eq!(settings.target_google_search, Some(true));
    assert_eq!(
        settings.target_search_network, None,
        "reset with the whole message"
    );
}

#[tokio::test]
async fn a_oneof_member_switch_is_in_the_mask_and_applied() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let (name, before) = existing_campaign(&client).await;
    let mut change = only(&name);
    change.campaign_bidding_strategy = Some(CampaignBiddingStrategy::MaximizeConversions(
        MaximizeConversions::default(),
    ));
    let mask = field_mask(&change);
    assert_eq!(
        mask.paths,
        ["maximize_conversions"],
        "a set, empty member is its own path"
    );
    let after = update(&client, change.clone(), mask).await;
    assert!(matches!(
        after.campaign_bidding_strategy,
        Some(CampaignBiddingStrategy::MaximizeConversions(_))
    ));
    // The same as a difference of two versions: the old member cleared, the new one set.
    let mut new = before.clone();
    new.campaign_bidding_strategy = change.campaign_bidding_strategy;
    assert_eq!(
        diff(&before, &new).paths,
        ["manual_cpc", "maximize_conversions"]
    );
}

#[tokio::test]
async fn a_diff_of_two_versions_changes_exactly_what_differs() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let (_, before) = existing_campaign(&client).await;
    let mut after = before.clone();
    after.name = Some("Renamed".into());
    after.tracking_url_template = None;
    if let Some(settings) = after.network_settings.as_mut() {
        settings.target_content_network = Some(false);
    }
    let mask = diff(&before, &after);
    // In field-number order.
    assert_eq!(
        mask.paths,
        [
            "network_settings.target_content_network",
            "name",
            "tracking_url_template"
        ]
    );
    let stored = update(&client, after.clone(), mask).await;
    assert_eq!(stored.name.as_deref(), Some("Renamed"));
    assert_eq!(stored.tracking_url_template, None);
    assert_eq!(
        stored.network_settings.unwrap().target_content_network,
        Some(false)
    );
    assert_eq!(
        stored.url_custom_parameters, before.url_custom_parameters,
        "unchanged"
    );
}

#[test]
fn bad_mask_paths_name_the_path_and_the_rule() {
    let campaign = Campaign {
        resource_name: "customers/1234567890/campaigns/1".into(),
        name: Some("x".into()),
        ..Default::default()
    };
    let error = FieldMaskBuilder::of(&campaign)
        .clear("no_such_field")
        .clear("name")
        .replace("name")
        .build()
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("update_mask: no_such_field: Campaign has no field \"no_such_field\""),
        "{text}"
    );
    assert!(
        text.contains("update_mask: name: is set in the resource"),
        "{text}"
    );
    assert!(
        text.contains("update_mask: name: is not a message field"),
        "{text}"
    );
}
