//! Each rule refuses its case before anything is sent, naming the operation, the field path
//! and the rule.

use google_ads::latest::resources::{Campaign, CampaignBudget};
use google_ads::mutate::Operations;

use super::*;

/// A temporary name written by hand (the allocator then keeps clear of it).
const BUDGET_1: &str = "customers/1234567890/campaignBudgets/-100";

/// Sends `operations` and expects a refusal with nothing sent; returns the violations as
/// (operation, field, rule).
async fn refused(operations: Operations) -> Vec<(Option<usize>, String, String)> {
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    let error = client.mutate(operations).send().await.unwrap_err();
    assert!(fake.calls().is_empty(), "nothing was sent: {error}");
    assert!(error.to_string().contains("nothing was sent"), "{error}");
    error
        .violations()
        .iter()
        .map(|v| (v.operation(), v.field().to_owned(), v.rule().to_owned()))
        .collect()
}

fn named_budget(name: &str, resource_name: &str) -> CampaignBudget {
    CampaignBudget {
        resource_name: resource_name.into(),
        ..super::budget(name)
    }
}

#[tokio::test]
async fn a_temporary_name_used_before_its_create_is_refused() {
    let mut operations = Operations::new(CID).unwrap();
    operations.create(super::campaign("C", &BUDGET_1)).unwrap();
    operations.create(named_budget("B", BUDGET_1)).unwrap();
    let violations = refused(operations).await;
    assert_eq!(violations.len(), 1, "{violations:?}");
    let (operation, field, rule) = &violations[0];
    assert_eq!(*operation, Some(0));
    assert_eq!(
        field,
        "mutate_operations[0].campaign_operation.create.campaign_budget"
    );
    assert!(
        rule.contains("used before the operation that creates it (operation 1)"),
        "{rule}"
    );
}

#[tokio::test]
async fn one_temporary_id_created_twice_is_refused() {
    let mut operations = Operations::new(CID).unwrap();
    operations.create(named_budget("B1", BUDGET_1)).unwrap();
    operations.create(named_budget("B2", BUDGET_1)).unwrap();
    let violations = refused(operations).await;
    let (operation, field, rule) = &violations[0];
    assert_eq!(*operation, Some(1));
    assert_eq!(
        field,
        "mutate_operations[1].campaign_budget_operation.create.resource_name"
    );
    assert!(
        rule.contains("created twice: operation 0 creates it already"),
        "{rule}"
    );
}

#[tokio::test]
async fn one_temporary_id_for_two_resource_types_is_refused() {
    let mut operations = Operations::new(CID).unwrap();
    operations.create(named_budget("B", BUDGET_1)).unwrap();
    operations
        .create(Campaign {
            resource_name: "customers/1234567890/campaigns/-100".into(),
            ..super::campaign("C", &BUDGET_1)
        })
        .unwrap();
    let violations = refused(operations).await;
    assert!(
        violations.iter().any(|(op, field, rule)| *op == Some(1)
            && field == "mutate_operations[1].campaign_operation.create.resource_name"
            && rule.contains("used for two resource types: CampaignBudget and Campaign")),
        "{violations:?}"
    );
}

#[tokio::test]
async fn a_temporary_name_never_created_is_refused() {
    let mut operations = Operations::new(CID).unwrap();
    operations.create(label("L")).unwrap();
    operations
        .create(super::campaign(
            "C",
            &"customers/1234567890/campaignBudgets/-7",
        ))
        .unwrap();
    let violations = refused(operations).await;
    let (operation, field, rule) = &violations[0];
    assert_eq!(*operation, Some(1));
    assert_eq!(
        field,
        "mutate_operations[1].campaign_operation.create.campaign_budget"
    );
    assert!(
        rule.contains("never created: no operation creates temporary id -7"),
        "{rule}"
    );
}

#[tokio::test]
async fn a_reference_to_a_temporary_name_of_the_wrong_type_is_refused() {
    let mut operations = Operations::new(CID).unwrap();
    let budget = operations.create(super::budget("B")).unwrap();
    let campaign = operations.create(super::campaign("C", &budget)).unwrap();
    // The campaign's name where its budget's belongs.
    operations.create(super::campaign("D", &campaign)).unwrap();
    let violations = refused(operations).await;
    let (operation, field, rule) = &violations[0];
    assert_eq!(*operation, Some(2));
    assert_eq!(
        field,
        "mutate_operations[2].campaign_operation.create.campaign_budget"
    );
    assert!(
        rule.contains("takes a CampaignBudget but the temporary name"),
        "{rule}"
    );
}

#[tokio::test]
async fn an_operation_on_another_customers_resource_is_refused() {
    let mut operations = Operations::new(CID).unwrap();
    operations.update(Campaign {
        resource_name: "customers/9999999999/campaigns/1".into(),
        name: Some("renamed".into()),
        ..Default::default()
    });
    let violations = refused(operations).await;
    let (operation, field, rule) = &violations[0];
    assert_eq!(*operation, Some(0));
    assert_eq!(
        field,
        "mutate_operations[0].campaign_operation.update.resource_name"
    );
    assert!(
        rule.contains("customer 9999999999, but the request is for customer 1234567890"),
        "{rule}"
    );
}

/// References may point to other accounts (cross-account bidding strategies do).
#[tokio::test]
async fn a_reference_to_another_customers_resource_is_allowed() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut operations = Operations::new(CID).unwrap();
    let mut campaign = super::campaign("C", &"customers/1234567890/campaignBudgets/1");
    campaign.campaign_bidding_strategy = Some(
        google_ads::latest::resources::campaign::CampaignBiddingStrategy::BiddingStrategy(
            "customers/5555555555/biddingStrategies/3".into(),
        ),
    );
    operations.create(campaign).unwrap();
    // The check passes; the fake then refuses the unknown budget, which is the server's call.
    let prepared = client.mutate(operations).prepare().unwrap();
    assert_eq!(prepared[0].indices, [0]);
}

#[tokio::test]
async fn an_update_with_an_empty_mask_is_refused() {
    let mut operations = Operations::new(CID).unwrap();
    operations.update(Campaign {
        resource_name: "customers/1234567890/campaigns/1".into(),
        ..Default::default()
    });
    let violations = refused(operations).await;
    let (operation, field, rule) = &violations[0];
    assert_eq!(*operation, Some(0));
    assert_eq!(field, "mutate_operations[0].campaign_operation.update_mask");
    assert!(rule.contains("needs a mask"), "{rule}");
}

#[tokio::test]
async fn more_than_10000_operations_in_one_atomic_request_are_refused() {
    let mut operations = Operations::new(CID).unwrap();
    for i in 0..10_001 {
        operations.create(label(&format!("L{i}"))).unwrap();
    }
    let (fake, client) = fake_and_client(FakeServer::builder()).await;
    let error = client.mutate(operations).send().await.unwrap_err();
    assert!(fake.calls().is_empty());
    assert_eq!(error.invalid_field(), Some("mutate_operations"));
    assert!(
        error
            .to_string()
            .contains("10001 operations: an atomic request takes at most 10000 and is never split"),
        "{error}"
    );
}

/// Several problems: each one named, in operation order.
#[tokio::test]
async fn every_problem_is_named() {
    let mut operations = Operations::new(CID).unwrap();
    operations
        .create(super::campaign(
            "C",
            &"customers/1234567890/campaignBudgets/-8",
        ))
        .unwrap();
    operations.update(Campaign {
        resource_name: "customers/1234567890/campaigns/1".into(),
        ..Default::default()
    });
    let violations = refused(operations).await;
    let operations: Vec<Option<usize>> = violations.iter().map(|v| v.0).collect();
    assert_eq!(operations, [Some(0), Some(1)], "{violations:?}");
}

/// Temporary ids are kept by id, the allocator's dense ones apart from ids written far away:
/// what was learned of an id before the dense ones reached it (its type, an early use) still
/// counts once they do, and an id written very far away is checked like any other.
#[test]
fn temporary_ids_far_apart_are_checked_alike() {
    let mut operations = Operations::new(CID).unwrap();
    // Operation 0 uses -6000 as a campaign; the allocator later hands -6000 to a budget
    // (operation 5999), after thousands of ids in between.
    operations
        .create(super::ad_group(
            "G",
            &"customers/1234567890/campaigns/-6000",
        ))
        .unwrap();
    for i in 1..7_000 {
        operations.create(super::budget(&format!("B{i}"))).unwrap();
    }
    let error = operations.validate().unwrap_err();
    let violations: Vec<(Option<usize>, &str, &str)> = error
        .violations()
        .iter()
        .map(|v| (v.operation(), v.field(), v.rule()))
        .collect();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert_eq!(violations[0].0, Some(0));
    assert_eq!(
        violations[0].1,
        "mutate_operations[0].ad_group_operation.create.campaign"
    );
    assert!(
        violations[0]
            .2
            .contains("used before the operation that creates it (operation 5999)"),
        "{violations:?}"
    );
    assert_eq!(violations[1].0, Some(5999));
    assert_eq!(
        violations[1].1,
        "mutate_operations[5999].campaign_budget_operation.create.resource_name"
    );
    assert!(
        violations[1].2.contains(
            "temporary id -6000 is used for two resource types: Campaign and CampaignBudget"
        ),
        "{violations:?}"
    );

    // Ids written far apart, the lowest an i64 holds among them: created, then used.
    let mut operations = Operations::new(CID).unwrap();
    for id in [i64::MIN, -1_000_000_000_000, -3] {
        let budget = operations
            .create(named_budget(
                "B",
                &format!("customers/1234567890/campaignBudgets/{id}"),
            ))
            .unwrap();
        operations
            .create(Campaign {
                resource_name: format!("customers/1234567890/campaigns/{}", id / 2 - 1),
                ..super::campaign("C", &budget)
            })
            .unwrap();
    }
    operations.validate().unwrap();
}

/// A name written by hand with the lowest id there is leaves no temporary id to hand out:
/// the next create is an error naming the rule, not an overflow.
#[test]
fn no_temporary_id_below_the_lowest_is_an_error_not_an_overflow() {
    let mut operations = Operations::new(CID).unwrap();
    let lowest = format!("customers/1234567890/campaignBudgets/{}", i64::MIN);
    operations.create(named_budget("Lowest", &lowest)).unwrap();
    let error = operations.create(super::budget("Next")).unwrap_err();
    assert!(
        error.to_string().contains("no temporary id is left below"),
        "{error}"
    );
    assert_eq!(operations.len(), 1);
}

/// The checks skip reading what they already know: a name `Operations::create` allocated
/// (its id only is read), and a reference that is byte for byte its create's name. On
/// random short lists of creates whose references point anywhere among ids -1 to -10 (before
/// or after their create, to the wrong type, or never created), the allocator's operations
/// get the same verdict, rule for rule, as the same operations pushed as they are (every
/// name parsed), both through `Operations::validate` and through grouping's checks.
#[tokio::test]
async fn the_allocators_operations_are_checked_as_the_same_operations_pushed() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let verdict = |result: Result<Vec<usize>, google_ads::Error>| match result {
        Ok(order) => Ok(order),
        Err(error) => Err(error
            .violations()
            .iter()
            .map(|v| (v.operation(), v.field().to_owned(), v.rule().to_owned()))
            .collect::<Vec<_>>()),
    };
    let (mut refused, mut passed) = (0, 0);
    for _ in 0..500 {
        let mut allocated = Operations::new(CID).unwrap();
        // The names created so far, by collection: most references go to the right one.
        let mut made: [Vec<String>; 3] = Default::default();
        for _ in 0..1 + next(8) {
            let kind = next(4) as usize;
            let wanted = kind.saturating_sub(1).min(2);
            let target = match made[wanted].len() {
                n if n > 0 && next(8) != 0 => made[wanted][next(n as u64) as usize].clone(),
                _ => {
                    let collection = ["campaignBudgets", "campaigns", "adGroups"][next(3) as usize];
                    format!("customers/{CID}/{collection}/-{}", 1 + next(10))
                }
            };
            let name = match kind {
                0 => allocated.create(super::budget("B")).map(|n| n.to_string()),
                1 => allocated
                    .create(super::campaign("C", &target))
                    .map(|n| n.to_string()),
                2 => allocated
                    .create(super::ad_group("G", &target))
                    .map(|n| n.to_string()),
                // Composite: its parent's id comes from the reference, whichever type.
                _ => allocated
                    .create(super::keyword("k", &target))
                    .map(|n| n.to_string()),
            };
            if let (Ok(name), Some(list)) = (name, made.get_mut(kind)) {
                list.push(name);
            }
        }
        if allocated.is_empty() {
            continue; // every create refused (a keyword needs an ad group's id)
        }
        let mut pushed = Operations::new(CID).unwrap();
        for operation in allocated.as_slice() {
            pushed.push(operation.clone());
        }
        let (a, p) = (
            verdict(allocated.validate().map(|()| Vec::new())),
            verdict(pushed.validate().map(|()| Vec::new())),
        );
        assert_eq!(a, p, "{:#?}", allocated.as_slice());
        let grouped = |operations: Operations| {
            verdict(
                client
                    .mutate(operations)
                    .group_by_type(true)
                    .prepare()
                    .map(|mut requests| requests.remove(0).indices),
            )
        };
        let (ga, gp) = (grouped(allocated.clone()), grouped(pushed));
        assert_eq!(ga, gp, "{:#?}", allocated.as_slice());
        assert_eq!(a.is_ok(), ga.is_ok());
        if a.is_ok() { passed += 1 } else { refused += 1 }
    }
    // Both verdicts came up often enough to mean something.
    assert!(
        passed > 50 && refused > 50,
        "{passed} passed, {refused} refused"
    );
}

/// `Operations::names` hands out the allocator itself: swapped for another customer's, the
/// names allocated before are checked against the new customer like any other.
#[test]
fn names_allocated_for_another_customer_are_refused_after_the_allocator_is_swapped() {
    let mut operations = Operations::new(CID).unwrap();
    operations.create(super::budget("B")).unwrap();
    *operations.names() = google_ads::mutate::TempNames::new("5555555555").unwrap();
    assert_eq!(operations.customer_id().to_string(), "5555555555");
    let error = operations.validate().unwrap_err();
    let violations = error.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(
        violations[0].field(),
        "mutate_operations[0].campaign_budget_operation.create.resource_name"
    );
    assert!(
        violations[0]
            .rule()
            .contains("customer 1234567890, but the request is for customer 5555555555"),
        "{violations:?}"
    );
}
