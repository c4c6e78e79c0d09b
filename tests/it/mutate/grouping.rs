//! Grouping by resource type: what the latency model charges, optimality against an
//! exhaustive search on small inputs, and orders that must not be grouped.

use std::collections::HashSet;
use std::time::Duration;

use google_ads::latest::resources::AdGroup;
use google_ads::latest::services::{MutateOperation, mutate_operation::Operation};
use google_ads::mutate::{Operations, PreparedRequest};
use tokio::time::Instant;

use super::*;

/// The member (resource type) of an operation, for counting runs.
fn kind(operation: &MutateOperation) -> &'static str {
    match &operation.operation {
        Some(Operation::LabelOperation(_)) => "label",
        Some(Operation::CampaignBudgetOperation(_)) => "budget",
        Some(Operation::CampaignOperation(_)) => "campaign",
        Some(Operation::AdGroupOperation(_)) => "ad_group",
        Some(Operation::AdGroupCriterionOperation(_)) => "criterion",
        _ => "other",
    }
}

fn runs(kinds: &[&str]) -> usize {
    if kinds.is_empty() {
        return 0;
    }
    1 + kinds.windows(2).filter(|w| w[0] != w[1]).count()
}

/// 100 budgets, campaigns, ad groups and keywords, interleaved (budget 1, campaign 1, ad group
/// 1, keyword 1, budget 2...), each using the one before: the dependencies allow 4 runs.
fn interleaved_tree() -> Operations {
    let mut operations = Operations::new(CID).unwrap();
    for i in 0..100 {
        let b = operations.create(super::budget(&format!("B{i}"))).unwrap();
        let c = operations
            .create(super::campaign(&format!("C{i}"), &b))
            .unwrap();
        let g = operations.create(ad_group(&format!("G{i}"), &c)).unwrap();
        operations.create(keyword(&format!("k{i}"), &g)).unwrap();
    }
    operations
}

/// The latency model of the fake charges one step per run of one type: grouped, the 400
/// operations cost 4 steps; as given, 400.
#[tokio::test(start_paused = true)]
async fn grouping_400_interleaved_operations_pays_4_type_changes() {
    let step = Duration::from_millis(100);
    let (fake, client) = fake_and_client(FakeServer::builder().mutate_step_latency(step)).await;
    let started = Instant::now();
    client
        .mutate(interleaved_tree())
        .group_by_type(true)
        .send()
        .await
        .unwrap();
    let grouped = started.elapsed();
    let started = Instant::now();
    let mut second = Operations::new(CID).unwrap();
    for operation in interleaved_tree().into_operations() {
        second.push(rename(operation));
    }
    client.mutate(second).send().await.unwrap();
    let ungrouped = started.elapsed();

    let calls = mutate_calls(&fake);
    let sent_runs: Vec<usize> = calls
        .iter()
        .map(|r| runs(&r.mutate_operations.iter().map(kind).collect::<Vec<_>>()))
        .collect();
    assert_eq!(sent_runs, [4, 400]);
    // The model's own clock: exact on the paused clock, nothing else runs.
    assert!(grouped >= step * 4 && grouped < step * 5, "{grouped:?}");
    assert!(
        ungrouped >= step * 400 && ungrouped < step * 401,
        "{ungrouped:?}"
    );
    eprintln!(
        "grouping 400 operations of 4 types: grouped {} runs, {grouped:?} of model time; as given {} runs, {ungrouped:?}",
        sent_runs[0], sent_runs[1]
    );
}

/// The same tree again with other names (the fake refuses duplicate names).
fn rename(mut operation: MutateOperation) -> MutateOperation {
    use google_ads::latest::services::{
        ad_group_operation, campaign_budget_operation, campaign_operation,
    };
    let again = |name: &mut Option<String>| {
        if let Some(n) = name {
            n.push_str(" again");
        }
    };
    match &mut operation.operation {
        Some(Operation::CampaignBudgetOperation(op)) => {
            if let Some(campaign_budget_operation::Operation::Create(b)) = &mut op.operation {
                again(&mut b.name);
            }
        }
        Some(Operation::CampaignOperation(op)) => {
            if let Some(campaign_operation::Operation::Create(c)) = &mut op.operation {
                again(&mut c.name);
            }
        }
        Some(Operation::AdGroupOperation(op)) => {
            if let Some(ad_group_operation::Operation::Create(g)) = &mut op.operation {
                again(&mut g.name);
            }
        }
        _ => {}
    }
    operation
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const REAL_GROUP: &str = "customers/1234567890/adGroups/777";
const REAL_CAMPAIGN: &str = "customers/1234567890/campaigns/555";

/// Up to 8 operations of 5 types that create, update and use each other's names.
fn random_operations(rng: &mut Rng) -> Operations {
    let mut operations = Operations::new(CID).unwrap();
    let (mut budgets, mut campaigns, mut groups) =
        (Vec::new(), Vec::new(), vec![REAL_GROUP.to_owned()]);
    let n = 2 + rng.below(7);
    for i in 0..n {
        match rng.below(6) {
            0 => {
                operations.create(label(&format!("L{i}"))).unwrap();
            }
            1 => budgets.push(
                operations
                    .create(super::budget(&format!("B{i}")))
                    .unwrap()
                    .to_string(),
            ),
            2 => {
                let b = budgets
                    .get(rng.below(budgets.len().max(1)))
                    .cloned()
                    .unwrap_or_else(|| "customers/1234567890/campaignBudgets/9".into());
                campaigns.push(
                    operations
                        .create(super::campaign(&format!("C{i}"), &b))
                        .unwrap()
                        .to_string(),
                );
            }
            3 => {
                let c = campaigns
                    .get(rng.below(campaigns.len().max(1)))
                    .cloned()
                    .unwrap_or(REAL_CAMPAIGN.into());
                groups.push(
                    operations
                        .create(ad_group(&format!("G{i}"), &c))
                        .unwrap()
                        .to_string(),
                );
            }
            4 => {
                // An update writes the real ad group: it orders everything that uses it.
                operations.update(AdGroup {
                    resource_name: REAL_GROUP.into(),
                    cpc_bid_micros: Some(1_000_000),
                    ..Default::default()
                });
            }
            _ => {
                let g = groups[rng.below(groups.len())].clone();
                operations.create(keyword(&format!("k{i}"), &g)).unwrap();
            }
        }
    }
    operations
}

/// The test's own reading of the ordering rule: names written (the operation's own) and
/// mentioned (references), edges wherever one side writes.
fn edges(operations: &[MutateOperation]) -> Vec<(usize, usize)> {
    let mentions: Vec<(Option<String>, HashSet<String>)> = operations
        .iter()
        .map(|operation| {
            let text = format!("{operation:?}");
            let mut names: HashSet<String> = text
                .split('"')
                .filter(|s| s.starts_with("customers/"))
                .map(str::to_owned)
                .collect();
            let own = own_name(operation);
            if let Some(own) = &own {
                names.remove(own);
            }
            (own, names)
        })
        .collect();
    let mut out = Vec::new();
    for j in 0..operations.len() {
        for i in 0..j {
            let (own_i, refs_i) = &mentions[i];
            let (own_j, refs_j) = &mentions[j];
            let writes =
                |own: &Option<String>, other_own: &Option<String>, other_refs: &HashSet<String>| {
                    own.as_ref()
                        .is_some_and(|o| other_refs.contains(o) || other_own.as_ref() == Some(o))
                };
            if writes(own_i, own_j, refs_j) || writes(own_j, own_i, refs_i) {
                out.push((i, j));
            }
        }
    }
    out
}

fn own_name(operation: &MutateOperation) -> Option<String> {
    let text = format!("{operation:?}");
    if let Some(at) = text.find("Remove(\"") {
        let rest = &text[at + 8..];
        return Some(rest[..rest.find('"')?].to_owned());
    }
    let at = text.find("resource_name: \"")?;
    let rest = &text[at + 16..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Whether `order` keeps every edge and each type's own order.
fn valid(order: &[usize], operations: &[MutateOperation], edges: &[(usize, usize)]) -> bool {
    let position: Vec<usize> = {
        let mut p = vec![0; order.len()];
        for (k, i) in order.iter().enumerate() {
            p[*i] = k;
        }
        p
    };
    let same_kind_kept = (0..operations.len()).all(|j| {
        (0..j).all(|i| kind(&operations[i]) != kind(&operations[j]) || position[i] < position[j])
    });
    same_kind_kept && edges.iter().all(|(i, j)| position[*i] < position[*j])
}

/// The fewest runs any valid order has, by trying them all.
fn minimum_runs(operations: &[MutateOperation], edges: &[(usize, usize)]) -> usize {
    fn search(
        prefix: &mut Vec<usize>,
        used: &mut Vec<bool>,
        operations: &[MutateOperation],
        edges: &[(usize, usize)],
        best: &mut usize,
    ) {
        let kinds: Vec<&str> = prefix.iter().map(|i| kind(&operations[*i])).collect();
        if runs(&kinds) >= *best {
            return;
        }
        if prefix.len() == operations.len() {
            *best = runs(&kinds);
            return;
        }
        for next in 0..operations.len() {
            let ready = !used[next]
                && edges.iter().all(|(i, j)| *j != next || used[*i])
                && (0..next).all(|i| used[i] || kind(&operations[i]) != kind(&operations[next]));
            if ready {
                used[next] = true;
                prefix.push(next);
                search(prefix, used, operations, edges, best);
                prefix.pop();
                used[next] = false;
            }
        }
    }
    let mut best = usize::MAX;
    search(
        &mut Vec::new(),
        &mut vec![false; operations.len()],
        operations,
        edges,
        &mut best,
    );
    best
}

/// On 500 random inputs of up to 8 operations, the greedy order keeps every edge, and its
/// run count is compared with the minimum an exhaustive search finds.
#[tokio::test]
async fn greedy_grouping_keeps_every_edge_and_comes_close_to_the_minimum() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut optimal, mut off_by) = (0, Vec::new());
    for case in 0..500 {
        let operations = random_operations(&mut rng);
        let list = operations.as_slice().to_vec();
        let prepared: Vec<PreparedRequest> = client
            .mutate(operations)
            .group_by_type(true)
            .prepare()
            .unwrap();
        assert_eq!(prepared.len(), 1);
        let order = &prepared[0].indices;
        let edges = edges(&list);
        assert!(
            valid(order, &list, &edges),
            "case {case}: {order:?} breaks {edges:?}"
        );
        let greedy = runs(&order.iter().map(|i| kind(&list[*i])).collect::<Vec<_>>());
        let best = minimum_runs(&list, &edges);
        assert!(greedy >= best);
        if greedy == best {
            optimal += 1;
        } else {
            off_by.push(greedy - best);
        }
        assert!(
            greedy <= best + 2,
            "case {case}: greedy {greedy} runs, best {best}"
        );
    }
    eprintln!(
        "greedy grouping: optimal in {optimal} of 500 random cases; otherwise off by {off_by:?}"
    );
}

/// A creates, B uses A, A's type again uses B: full grouping would break an edge; the order
/// stays as given.
#[tokio::test]
async fn a_chain_that_forbids_full_grouping_keeps_its_order() {
    let (_fake, client) = fake_and_client(FakeServer::builder()).await;
    let mut operations = Operations::new(CID).unwrap();
    operations.update(AdGroup {
        resource_name: REAL_GROUP.into(),
        cpc_bid_micros: Some(2_000_000),
        ..Default::default()
    });
    operations
        .create(keyword("uses the updated group", &REAL_GROUP))
        .unwrap();
    operations.remove(
        &REAL_GROUP
            .parse::<google_ads::resource_names::AdGroupName>()
            .unwrap(),
    );
    let prepared = client
        .mutate(operations)
        .group_by_type(true)
        .prepare()
        .unwrap();
    assert_eq!(prepared[0].indices, [0, 1, 2]);
}
