//! What checking a mutate costs next to what sending it costs anyway: preparing 10,000
//! operations (temporary names allocated, every check, grouping by type) against prost
//! encoding the same request, in the same run.
//!
//! Run with: cargo bench --bench mutate_prepare --features fake

use std::time::{Duration, Instant};

use google_ads::latest::common::KeywordInfo;
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType,
    keyword_match_type_enum::KeywordMatchType,
};
use google_ads::latest::resources::{
    AdGroup, AdGroupCriterion, Campaign, CampaignBudget, ad_group_criterion::Criterion,
};
use google_ads::latest::services::{
    AdGroupCriterionOperation, AdGroupOperation, CampaignBudgetOperation, CampaignOperation,
    MutateGoogleAdsRequest, MutateOperation, ad_group_criterion_operation, ad_group_operation,
    campaign_budget_operation, campaign_operation,
};
use google_ads::mutate::Operations;
use google_ads::{Config, GoogleAdsClient};
use prost::Message as _;

const TREES: usize = 2_500; // x 4 operations
const ROUNDS: usize = 15;

/// 2,500 budget -> campaign -> ad group -> keyword trees, linked by temporary names as
/// `Operations::create` hands them out: the allocation is part of what is timed.
fn build(client: &GoogleAdsClient) -> (Duration, Duration, Duration, MutateGoogleAdsRequest) {
    let started = Instant::now();
    let mut operations = Operations::new("1234567890").unwrap();
    for i in 0..TREES {
        let budget = operations
            .create(CampaignBudget {
                name: Some(format!("Budget {i}")),
                amount_micros: Some(10_000_000),
                ..Default::default()
            })
            .unwrap();
        let campaign = operations
            .create(Campaign {
                name: Some(format!("Campaign {i}")),
                advertising_channel_type: AdvertisingChannelType::Search as i32,
                campaign_budget: Some(budget.into()),
                ..Default::default()
            })
            .unwrap();
        let group = operations
            .create(AdGroup {
                name: Some(format!("Group {i}")),
                campaign: Some(campaign.into()),
                cpc_bid_micros: Some(1_000_000),
                ..Default::default()
            })
            .unwrap();
        operations
            .create(AdGroupCriterion {
                ad_group: Some(group.into()),
                criterion: Some(Criterion::Keyword(KeywordInfo {
                    text: Some(format!("keyword {i}")),
                    match_type: KeywordMatchType::Exact as i32,
                })),
                ..Default::default()
            })
            .unwrap();
    }
    let built = started.elapsed();
    // The baseline: prost encoding these very operations as one request, in the caller's
    // order (the same objects the checks then read, so both see the same memory layout).
    let customer = CUSTOMER.to_owned();
    let started = Instant::now();
    let encoding = encode_request(&customer, operations.as_slice());
    let encoded = started.elapsed();
    assert!(encoding.len() > TREES * 4 * 50);
    drop(encoding);
    let started = Instant::now();
    let mut prepared = client
        .mutate(operations)
        .group_by_type(true)
        .prepare()
        .unwrap();
    let checked = started.elapsed();
    (built, encoded, checked, prepared.remove(0).request)
}

const CUSTOMER: &str = "1234567890";

/// What `MutateGoogleAdsRequest { customer_id, mutate_operations, .. }.encode_to_vec()`
/// writes (fields 1 and 2), from borrowed operations.
#[allow(clippy::ptr_arg)] // prost's string encoder takes a &String
fn encode_request(customer_id: &String, operations: &[MutateOperation]) -> Vec<u8> {
    use prost::encoding::{message, string};
    let len = string::encoded_len(1, customer_id) + message::encoded_len_repeated(2, operations);
    let mut buf = Vec::with_capacity(len);
    string::encode(1, customer_id, &mut buf);
    message::encode_repeated(2, operations, &mut buf);
    buf
}

/// The same operations built by hand, as a user of the bare stub does: temporary names
/// counted and formatted in place, no checks.
fn build_by_hand() -> (Duration, Vec<MutateOperation>) {
    let started = Instant::now();
    let mut operations: Vec<MutateOperation> = Vec::new();
    let customer = "1234567890";
    for i in 0..TREES as i64 {
        let id = -(4 * i);
        let budget = format!("customers/{customer}/campaignBudgets/{}", id - 1);
        let campaign = format!("customers/{customer}/campaigns/{}", id - 2);
        let group = format!("customers/{customer}/adGroups/{}", id - 3);
        operations.push(
            CampaignBudgetOperation {
                operation: Some(campaign_budget_operation::Operation::Create(
                    CampaignBudget {
                        resource_name: budget.clone(),
                        name: Some(format!("Budget {i}")),
                        amount_micros: Some(10_000_000),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }
            .into(),
        );
        operations.push(
            CampaignOperation {
                operation: Some(campaign_operation::Operation::Create(Campaign {
                    resource_name: campaign.clone(),
                    name: Some(format!("Campaign {i}")),
                    advertising_channel_type: AdvertisingChannelType::Search as i32,
                    campaign_budget: Some(budget),
                    ..Default::default()
                })),
                ..Default::default()
            }
            .into(),
        );
        operations.push(
            AdGroupOperation {
                operation: Some(ad_group_operation::Operation::Create(AdGroup {
                    resource_name: group.clone(),
                    name: Some(format!("Group {i}")),
                    campaign: Some(campaign),
                    cpc_bid_micros: Some(1_000_000),
                    ..Default::default()
                })),
                ..Default::default()
            }
            .into(),
        );
        operations.push(
            AdGroupCriterionOperation {
                operation: Some(ad_group_criterion_operation::Operation::Create(
                    AdGroupCriterion {
                        resource_name: format!(
                            "customers/{customer}/adGroupCriteria/{}~{}",
                            id - 3,
                            id - 4
                        ),
                        ad_group: Some(group),
                        criterion: Some(Criterion::Keyword(KeywordInfo {
                            text: Some(format!("keyword {i}")),
                            match_type: KeywordMatchType::Exact as i32,
                        })),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }
            .into(),
        );
    }
    (started.elapsed(), operations)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let config = Config::builder()
        .with_developer_token("d")
        .with_access_token("t")
        .with_endpoint("http://127.0.0.1:1")
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let client = GoogleAdsClient::builder(config).build().unwrap();
    let (mut built, mut checked, mut encoded, mut by_hand) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut encoded_by_hand, mut checked_by_hand, mut bytes) = (Vec::new(), Vec::new(), 0);
    for round in 0..ROUNDS {
        // Each side's operations are dropped before the other builds, and the sides take
        // turns going first, so neither builds on a heap the other just filled.
        let mut hand = || {
            let (time, plain) = build_by_hand();
            by_hand.push(time);
            let request = MutateGoogleAdsRequest {
                customer_id: CUSTOMER.into(),
                mutate_operations: plain,
                ..Default::default()
            };
            let started = Instant::now();
            let encoding = request.encode_to_vec();
            encoded_by_hand.push(started.elapsed());
            assert_eq!(
                encoding,
                encode_request(&request.customer_id, &request.mutate_operations)
            );
            // The same operations pushed as they are: every name is read by the checks
            // (the allocator's own names need not be).
            let mut operations = Operations::new(CUSTOMER).unwrap();
            for operation in request.mutate_operations {
                operations.push(operation);
            }
            let started = Instant::now();
            let prepared = client
                .mutate(operations)
                .group_by_type(true)
                .prepare()
                .unwrap();
            checked_by_hand.push(started.elapsed());
            assert_eq!(prepared[0].request.mutate_operations.len(), TREES * 4);
            encoding.len()
        };
        let mut ours = || {
            let (b, e, c, request) = build(&client);
            built.push(b);
            encoded.push(e);
            checked.push(c);
            request.mutate_operations.len()
        };
        let count = if round % 2 == 0 {
            bytes = hand();
            ours()
        } else {
            let count = ours();
            bytes = hand();
            count
        };
        assert_eq!(count, TREES * 4);
    }
    let (built, checked, encoded, by_hand) = (
        median(built),
        median(checked),
        median(encoded),
        median(by_hand),
    );
    let (checked_by_hand, encoded_by_hand) = (median(checked_by_hand), median(encoded_by_hand));
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "10,000 operations ({TREES} budget/campaign/ad group/keyword trees), {bytes} bytes encoded; medians of {ROUNDS} rounds"
    );
    println!("| step | us | ratio to encoding |");
    println!("|---|---|---|");
    println!(
        "| build by hand, temporary names formatted in place (baseline for building) | {:.0} | {:.2} |",
        micros(by_hand),
        micros(by_hand) / micros(encoded)
    );
    println!(
        "| build with Operations::create (names allocated and typed) | {:.0} | {:.2} |",
        micros(built),
        micros(built) / micros(encoded)
    );
    println!(
        "| allocation's own cost: the difference | {:.0} | {:.2} |",
        micros(built) - micros(by_hand),
        (micros(built) - micros(by_hand)) / micros(encoded)
    );
    println!(
        "| check + group by type (MutateRequest::prepare) | {:.0} | {:.2} |",
        micros(checked),
        micros(checked) / micros(encoded)
    );
    println!(
        "| preparing: allocation + check + grouping | {:.0} | **{:.2}** |",
        micros(built) - micros(by_hand) + micros(checked),
        (micros(built) - micros(by_hand) + micros(checked)) / micros(encoded)
    );
    println!(
        "| check + group of the operations built by hand (`Operations::push`: every name parsed) | {:.0} | {:.2} |",
        micros(checked_by_hand),
        micros(checked_by_hand) / micros(encoded)
    );
    println!(
        "| prost encode of the same request (the operations `Operations::create` built) | {:.0} | 1.00 |",
        micros(encoded)
    );
    println!(
        "| prost encode of the operations built by hand (for reference) | {:.0} | {:.2} |",
        micros(encoded_by_hand),
        micros(encoded_by_hand) / micros(encoded)
    );
}
