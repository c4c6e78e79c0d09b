//! Sending: atomic, partial failure, validate-only, and work split over requests.

use google_ads::latest::common::AdTextAsset;
use google_ads::latest::resources::{Ad, AdGroupAd, ad::AdData};
use google_ads::latest::services::MutateOperation;
use google_ads::mutate::{MutateResult as _, Operations};
use std::collections::HashSet;

use google_ads::resource_names::{AdGroupCriterionName, AdGroupName, CampaignBudgetName};

use super::*;

fn responsive_ad(ad_group: &impl ToString) -> AdGroupAd {
    let text = |t: &str| AdTextAsset {
        text: Some(t.into()),
        ..Default::default()
    };
    AdGroupAd {
        ad_group: Some(ad_group.to_string()),
        ad: Some(Ad {
            final_urls: vec!["https://example.com".into()],
            ad_data: Some(AdData::ResponsiveSearchAd(
                google_ads::latest::common::ResponsiveSearchAdInfo {
                    headlines: vec![text("One"), text("Two"), text("Three")],
                    descriptions: vec![text("Four"), text("Five")],
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Budget, campaign, ad group, ad and keywords in one atomic request, linked by temporary
/// names; each result names the real resource its operation asked for.
#[tokio::test]
async fn a_campaign_tree_is_created_atomically_by_temporary_names() {
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut operations = Operations::new(CID).unwrap();
    let budget = operations.create(super::budget("Budget")).unwrap();
    let campaign = operations
        .create(super::campaign("Campaign", &budget))
        .unwrap();
    let group = operations.create(ad_group("Group", &campaign)).unwrap();
    let ad = operations.create(responsive_ad(&group)).unwrap();
    let keywords: Vec<AdGroupCriterionName> = ["shoes", "boots"]
        .iter()
        .map(|text| operations.create(keyword(text, &group)).unwrap())
        .collect();
    assert_eq!(
        budget.to_string(),
        "customers/1234567890/campaignBudgets/-1"
    );
    assert_eq!(group.to_string(), "customers/1234567890/adGroups/-3");
    assert_eq!(ad.to_string(), "customers/1234567890/adGroupAds/-3~-4");
    assert_eq!(
        keywords[1].to_string(),
        "customers/1234567890/adGroupCriteria/-3~-6"
    );

    let results = client.mutate(operations).send().await.unwrap();
    assert!(results.all_succeeded());
    assert_eq!(mutate_calls(&fake).len(), 1, "one atomic request");
    let names: Vec<&str> = results
        .resource_names()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(names.len(), 6);
    // Each name is real (no temporary id left) and of the type its operation created.
    let budget: CampaignBudgetName = names[0].parse().unwrap();
    let group: AdGroupName = names[2].parse().unwrap();
    assert!(!budget.campaign_budget_id().starts_with('-'));
    assert!(names[1].starts_with("customers/1234567890/campaigns/"));
    for (i, name) in names.iter().enumerate() {
        assert!(!name.contains("/-") && !name.contains("~-"), "{i}: {name}");
    }
    assert!(names[3].starts_with(&format!(
        "customers/1234567890/adGroupAds/{}~",
        group.ad_group_id()
    )));
    for keyword in &names[4..] {
        let keyword: AdGroupCriterionName = keyword.parse().unwrap();
        assert_eq!(keyword.ad_group_id(), group.ad_group_id());
    }
    assert_eq!(fake.count(CID, "AdGroupCriterion"), 2);
}

/// An atomic request that fails commits nothing, and its error names the caller's index
/// even after grouping moved the operation.
#[tokio::test]
async fn an_atomic_failure_commits_nothing_and_names_the_callers_index() {
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut operations = Operations::new(CID).unwrap();
    operations.create(label("A")).unwrap();
    operations.create(super::budget("B1")).unwrap();
    operations.create(label("C")).unwrap();
    let mut bad = super::budget("B2");
    bad.amount_micros = Some(-10_000);
    operations.create(bad).unwrap();
    let error = client
        .mutate(operations)
        .group_by_type(true)
        .send()
        .await
        .unwrap_err();
    // Sent as label, label, budget, budget: the bad budget was fourth both ways, so check
    // what the server saw against what the caller gets.
    let sent = &mutate_calls(&fake)[0];
    assert!(
        sent.mutate_operations[1]
            .operation
            .as_ref()
            .is_some_and(|o| matches!(
                o,
                google_ads::latest::services::mutate_operation::Operation::LabelOperation(_)
            ))
    );
    let by_operation = error.errors_by_operation();
    assert_eq!(
        by_operation.keys().copied().collect::<Vec<_>>(),
        [3],
        "{error}"
    );
    assert!(
        error.to_string().contains("mutate_operations[3]"),
        "{error}"
    );
    assert_eq!(fake.count(CID, "Label"), 0);
    assert_eq!(fake.count(CID, "CampaignBudget"), 0);
}

/// Partial failure commits the good operations; each failed one's errors come back at its
/// caller index although grouping sent it elsewhere.
#[tokio::test]
async fn partial_failure_after_grouping_reports_the_callers_indices() {
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut operations = Operations::new(CID).unwrap();
    for i in 0..6 {
        if i % 2 == 0 {
            operations.create(label(&format!("L{i}"))).unwrap();
        } else {
            let mut budget = super::budget(&format!("B{i}"));
            if i == 3 {
                budget.amount_micros = Some(1); // not a multiple of the currency's unit
            }
            operations.create(budget).unwrap();
        }
    }
    let results = client
        .mutate(operations)
        .group_by_type(true)
        .partial_failure(true)
        .send()
        .await
        .unwrap();
    let sent = &mutate_calls(&fake)[0];
    let kinds: Vec<bool> = sent
        .mutate_operations
        .iter()
        .map(|o| {
            matches!(
                o.operation,
                Some(google_ads::latest::services::mutate_operation::Operation::LabelOperation(_))
            )
        })
        .collect();
    assert_eq!(kinds, [true, true, true, false, false, false], "grouped");
    let failed: Vec<usize> = results.failures().map(|(i, _)| i).collect();
    assert_eq!(failed, [3]);
    let (_, errors) = results.failures().next().unwrap();
    assert_eq!(
        google_ads::failure::operation_index(&errors[0]),
        Some(3),
        "the error's own path names the caller's index"
    );
    for (i, outcome) in results.outcomes().iter().enumerate() {
        if i != 3 {
            let name = outcome.as_ref().unwrap().resource_name().unwrap();
            let expected = if i % 2 == 0 {
                "/labels/"
            } else {
                "/campaignBudgets/"
            };
            assert!(name.contains(expected), "{i}: {name}");
        }
    }
    assert_eq!(fake.count(CID, "Label"), 3);
    assert_eq!(fake.count(CID, "CampaignBudget"), 2);
}

#[tokio::test]
async fn validate_only_commits_nothing() {
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut operations = Operations::new(CID).unwrap();
    let budget = operations.create(super::budget("B")).unwrap();
    operations.create(super::campaign("C", &budget)).unwrap();
    let results = client
        .mutate(operations)
        .validate_only(true)
        .send()
        .await
        .unwrap();
    assert!(results.all_succeeded());
    assert_eq!(results.outcomes().len(), 2);
    assert_eq!(fake.count(CID, "CampaignBudget"), 0);
    assert_eq!(fake.count(CID, "Campaign"), 0);
    assert!(mutate_calls(&fake)[0].validate_only);
}

/// 25,000 independent keywords and 50 budget+campaign pairs linked by temporary names, with
/// partial failure: requests of at most 10,000, no pair cut, one outcome per operation.
#[tokio::test]
async fn large_work_is_split_between_linked_groups() {
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    // One real ad group for the keywords.
    let mut setup = Operations::new(CID).unwrap();
    let budget = setup.create(super::budget("Setup")).unwrap();
    let campaign = setup.create(super::campaign("Setup", &budget)).unwrap();
    setup.create(ad_group("Setup", &campaign)).unwrap();
    let group = client.mutate(setup).send().await.unwrap().resource_names()[2]
        .unwrap()
        .to_owned();

    let mut operations = Operations::new(CID).unwrap();
    let mut pairs = Vec::new();
    for i in 0..25_000 {
        operations
            .create(keyword(&format!("k{i}"), &group))
            .unwrap();
        if i % 500 == 250 {
            let b = operations.create(super::budget(&format!("B{i}"))).unwrap();
            // The campaign comes a little later: the pair straddles other work.
            pairs.push(b);
        }
        if i % 500 == 260 {
            let b = pairs.last().unwrap().clone();
            operations
                .create(super::campaign(&format!("C{i}"), &b))
                .unwrap();
        }
    }
    let total = operations.len();
    assert_eq!(total, 25_100);
    let results = client
        .mutate(operations)
        .partial_failure(true)
        .send()
        .await
        .unwrap();
    assert_eq!(results.outcomes().len(), total);
    assert!(results.all_succeeded(), "{:?}", results.failures().next());
    let calls = mutate_calls(&fake);
    assert_eq!(calls.len(), 1 + 3, "setup, then 25,100 in three requests");
    let mut pairs_seen = 0;
    for request in &calls[1..] {
        use google_ads::latest::services::mutate_operation::Operation;
        use google_ads::latest::services::{campaign_budget_operation, campaign_operation};
        assert!(request.mutate_operations.len() <= 10_000);
        // Every temporary budget a request's campaigns use is created in that request.
        let (mut created, mut used) = (HashSet::new(), HashSet::new());
        for operation in &request.mutate_operations {
            match &operation.operation {
                Some(Operation::CampaignBudgetOperation(op)) => {
                    if let Some(campaign_budget_operation::Operation::Create(b)) = &op.operation {
                        created.insert(b.resource_name.clone());
                    }
                }
                Some(Operation::CampaignOperation(op)) => {
                    if let Some(campaign_operation::Operation::Create(c)) = &op.operation {
                        used.insert(c.campaign_budget.clone().unwrap());
                    }
                }
                _ => {}
            }
        }
        assert!(used.is_subset(&created), "a pair was cut");
        pairs_seen += used.len();
    }
    assert_eq!(pairs_seen, 50);
    assert_eq!(fake.count(CID, "Campaign"), 51);
    assert_eq!(fake.count(CID, "AdGroupCriterion"), 25_000);
    // Real names, all different.
    let names: HashSet<&str> = results
        .resource_names()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(names.len(), total);
}

/// Issue 19, case 9: 9,000 labels; 1,000 budgets; campaign "A" renamed; 499 labels; 1,000
/// campaigns, each using one of the budgets, the first taking the name "A". Split over
/// requests of 10,000, the operations go in the caller's order, cut before the budgets (the
/// pairs overlap into one stretch): were the new "A" sent in a request before the rename (as
/// when whole groups were packed by their first operation), its name would still be taken.
#[tokio::test]
async fn split_requests_keep_the_callers_order_across_linked_pairs() {
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut setup = Operations::new(CID).unwrap();
    let budget = setup.create(super::budget("Setup")).unwrap();
    setup.create(super::campaign("A", &budget)).unwrap();
    let a = client.mutate(setup).send().await.unwrap().resource_names()[1]
        .unwrap()
        .to_owned();

    let mut operations = Operations::new(CID).unwrap();
    for i in 0..9_000 {
        operations.create(label(&format!("L{i}"))).unwrap();
    }
    let budgets: Vec<CampaignBudgetName> = (0..1_000)
        .map(|k| operations.create(super::budget(&format!("B{k}"))).unwrap())
        .collect();
    let rename = operations.len();
    operations.update(Campaign {
        resource_name: a.clone(),
        name: Some("A (old)".into()),
        ..Default::default()
    });
    for i in 0..499 {
        operations.create(label(&format!("M{i}"))).unwrap();
    }
    let new_a = operations.len();
    for (k, b) in budgets.iter().enumerate() {
        let name = if k == 0 {
            "A".to_owned()
        } else {
            format!("C{k}")
        };
        operations.create(super::campaign(&name, b)).unwrap();
    }
    assert_eq!((rename, new_a, operations.len()), (10_000, 10_500, 11_500));
    let list = operations.as_slice().to_vec();

    let results = client
        .mutate(operations)
        .partial_failure(true)
        .send()
        .await
        .unwrap();
    let calls = mutate_calls(&fake);
    let sent: Vec<&MutateOperation> = calls[1..]
        .iter()
        .flat_map(|request| &request.mutate_operations)
        .collect();
    assert_eq!(sent.len(), list.len());
    let first_moved = (0..list.len()).find(|k| *sent[*k] != list[*k]);
    assert_eq!(
        first_moved,
        None,
        "the requests ({:?} operations) do not keep the caller's order",
        calls[1..]
            .iter()
            .map(|r| r.mutate_operations.len())
            .collect::<Vec<_>>()
    );
    let sizes: Vec<usize> = calls[1..]
        .iter()
        .map(|r| r.mutate_operations.len())
        .collect();
    assert_eq!(sizes, [9_000, 2_500]);
    assert!(results.all_succeeded(), "{:?}", results.failures().next());
    assert_eq!(fake.count(CID, "Campaign"), 1 + 1_000);
    assert_eq!(fake.count(CID, "Label"), 9_499);
}

/// One temporary campaign used by the 10,000 ad groups after it: 10,001 linked operations, more
/// than one request holds. Refused before anything is sent, the error naming the stretch.
#[tokio::test]
async fn a_linked_stretch_longer_than_a_request_is_refused_before_sending() {
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut operations = Operations::new(CID).unwrap();
    for i in 0..5 {
        operations.create(label(&format!("L{i}"))).unwrap();
    }
    let campaign = operations
        .create(super::campaign("C", &REAL_BUDGET))
        .unwrap();
    for i in 0..10_000 {
        operations
            .create(ad_group(&format!("G{i}"), &campaign))
            .unwrap();
    }
    for i in 5..10 {
        operations.create(label(&format!("L{i}"))).unwrap();
    }
    let error = client
        .mutate(operations)
        .partial_failure(true)
        .send()
        .await
        .unwrap_err();
    let violations = error.violations();
    assert_eq!(violations.len(), 1, "{error}");
    assert_eq!(violations[0].field(), "mutate_operations[5..=10005]");
    assert_eq!(violations[0].operation(), Some(5));
    assert!(
        violations[0]
            .rule()
            .starts_with("10001 operations must go in one request, which holds at most 10000"),
        "{error}"
    );
    assert!(mutate_calls(&fake).is_empty(), "nothing is sent");
}

const REAL_BUDGET: &str = "customers/1234567890/campaignBudgets/9";

/// One operation of a generated list.
#[derive(Clone, Debug)]
enum Step {
    Label,
    /// Creates a budget with a temporary name.
    Budget,
    /// Creates a campaign using the budget created `k` budgets back, or the real budget when
    /// there are not that many.
    Campaign(usize),
    /// Updates the real budget: it orders every operation before and after that uses it.
    UpdateRealBudget,
}

/// The operations `steps` make, and the test's own reading of which pairs are linked: a
/// temporary budget's create and its campaigns; the real budget's update and every other
/// operation naming it (two campaigns only reading it are not linked).
fn build(steps: &[Step]) -> (Operations, Vec<(usize, usize)>) {
    let mut operations = Operations::new(CID).unwrap();
    let (mut budgets, mut pairs) = (Vec::new(), Vec::new());
    let (mut writers, mut readers) = (Vec::new(), Vec::new());
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Label => {
                operations.create(label(&format!("L{i}"))).unwrap();
            }
            Step::Budget => {
                let name = operations.create(super::budget(&format!("B{i}"))).unwrap();
                budgets.push((i, name.to_string()));
            }
            Step::Campaign(k) => {
                let budget = match budgets.len().checked_sub(k + 1) {
                    Some(b) => {
                        pairs.push((budgets[b].0, i));
                        budgets[b].1.clone()
                    }
                    None => {
                        pairs.extend(writers.iter().map(|w| (*w, i)));
                        readers.push(i);
                        REAL_BUDGET.to_owned()
                    }
                };
                operations
                    .create(super::campaign(&format!("C{i}"), &budget))
                    .unwrap();
            }
            Step::UpdateRealBudget => {
                operations.update(CampaignBudget {
                    resource_name: REAL_BUDGET.into(),
                    amount_micros: Some(20_000_000),
                    ..Default::default()
                });
                pairs.extend(writers.iter().chain(&readers).map(|o| (*o, i)));
                writers.push(i);
            }
        }
    }
    (operations, pairs)
}

/// The requests' caller indices for `steps` split at `limit`, or the violations' fields.
fn split(
    client: &google_ads::GoogleAdsClient,
    steps: &[Step],
    limit: usize,
) -> Result<Vec<Vec<usize>>, Vec<String>> {
    let (operations, _) = build(steps);
    client
        .mutate(operations)
        .partial_failure(true)
        .max_operations_per_request(limit)
        .prepare()
        .map(|requests| requests.into_iter().map(|r| r.indices).collect())
        .map_err(|error| {
            error
                .violations()
                .iter()
                .map(|v| v.field().to_owned())
                .collect()
        })
}

/// A label between a budget and its campaign travels with them: requests are ranges of the
/// caller's order, cut before the stretch when it does not fit whole.
#[tokio::test]
async fn a_cut_falls_before_a_linked_stretch_that_does_not_fit() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    use Step::*;
    let steps = [Label, Budget, Label, Campaign(0), Label, Label];
    assert_eq!(
        split(&client, &steps, 4),
        Ok(vec![vec![0, 1, 2, 3], vec![4, 5]])
    );
    assert_eq!(
        split(&client, &steps, 3),
        Ok(vec![vec![0], vec![1, 2, 3], vec![4, 5]])
    );
    assert_eq!(
        split(&client, &steps, 2),
        Err(vec!["mutate_operations[1..=3]".to_owned()])
    );
}

/// On random lists: requests are contiguous ranges covering every operation once in order,
/// each at most the limit; no linked pair spans a cut; each cut is the last allowed one
/// within the limit. A stretch longer than the limit is refused, every such stretch named.
#[tokio::test]
async fn split_requests_are_ranges_cut_as_late_as_linked_stretches_allow() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRng, TestRunner};
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let step = prop_oneof![
        3 => Just(Step::Label),
        2 => Just(Step::Budget),
        2 => (0usize..6).prop_map(Step::Campaign),
        1 => Just(Step::UpdateRealBudget),
    ];
    let cases = (1usize..=10, proptest::collection::vec(step, 1..40));
    let config = Config {
        cases: 1_000,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&cases, |(limit, steps)| {
        let n = steps.len();
        let (_, pairs) = build(&steps);
        // Cuts before operation c, for c in 0..=n, that split no linked pair.
        let allowed: Vec<bool> = (0..=n)
            .map(|c| !pairs.iter().any(|(i, j)| *i < c && c <= *j))
            .collect();
        let bounds: Vec<usize> = (0..=n).filter(|c| allowed[*c]).collect();
        let too_long: Vec<String> = bounds
            .windows(2)
            .filter(|w| w[1] - w[0] > limit)
            .map(|w| format!("mutate_operations[{}..={}]", w[0], w[1] - 1))
            .collect();
        let parts = match split(&client, &steps, limit) {
            Err(fields) => {
                prop_assert!(!too_long.is_empty(), "refused: {fields:?}");
                prop_assert_eq!(fields, too_long);
                return Ok(());
            }
            Ok(parts) => parts,
        };
        prop_assert!(too_long.is_empty(), "accepted despite {too_long:?}");
        let flat: Vec<usize> = parts.iter().flatten().copied().collect();
        prop_assert_eq!(flat, (0..n).collect::<Vec<_>>());
        let mut start = 0;
        for part in &parts {
            prop_assert!(!part.is_empty() && part.len() <= limit, "{parts:?}");
            let end = start + part.len();
            prop_assert!(
                allowed[end],
                "a cut before {end} splits a linked pair: {parts:?}"
            );
            // No later allowed cut fits: this one is as late as possible.
            let later = (end + 1..=n.min(start + limit)).find(|c| allowed[*c]);
            if end < n && later.is_some() {
                return Err(TestCaseError::fail(format!(
                    "cut before {end}, but {later:?} fits: {parts:?}"
                )));
            }
            start = end;
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
