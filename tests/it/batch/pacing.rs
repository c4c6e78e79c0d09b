//! The fleet's pacing rules alone (a pure state machine: no server, no clock of its own):
//! slots in each customer's job order, limits, the spacing between runs, the overlap rule, a
//! failed job refusing its overlapping successors, and a seeded search for deadlocks.

use std::collections::BTreeSet;
use std::time::Duration;

use google_ads::batch::__pacing::{Answer, JobState, Limits, Pacing};
use tokio::time::Instant;

fn touches(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn limits(max_running: usize, per_customer: usize) -> Limits {
    Limits {
        max_running,
        per_customer,
        spacing: Duration::from_secs(2),
    }
}

#[test]
fn slots_go_in_each_customers_job_order() {
    let mut pacing = Pacing::new(limits(1, 100));
    pacing.add('a', 0, touches(&["campaigns/1"]), JobState::Waiting);
    pacing.add('a', 1, touches(&["campaigns/1"]), JobState::Waiting);
    // Job 1 (say, already uploaded by an earlier process) asks first: it must not take the
    // only slot while job 0, which it waits for, has none (the resumed stream's deadlock).
    assert_eq!(pacing.take_slot('a', 1), Answer::Wait(None));
    assert_eq!(pacing.take_slot('a', 0), Answer::Go);
    assert_eq!(pacing.take_slot('a', 1), Answer::Wait(None), "one slot");
    let now = Instant::now();
    assert_eq!(pacing.take_turn('a', 0, now), Answer::Go);
    pacing.end('a', 0, true);
    assert_eq!(pacing.take_slot('a', 1), Answer::Go);
    assert_eq!(
        pacing.take_turn('a', 1, now + Duration::from_secs(2)),
        Answer::Go
    );
    assert_eq!(pacing.holding(), 1);
}

#[test]
fn limits_across_customers_and_per_customer() {
    let mut pacing = Pacing::new(limits(3, 2));
    for n in 0..3 {
        pacing.add(
            'a',
            n,
            touches(&[&format!("campaigns/{n}")]),
            JobState::Waiting,
        );
        pacing.add(
            'b',
            n,
            touches(&[&format!("campaigns/{n}")]),
            JobState::Waiting,
        );
    }
    assert_eq!(pacing.take_slot('a', 0), Answer::Go);
    assert_eq!(pacing.take_slot('a', 1), Answer::Go);
    assert_eq!(
        pacing.take_slot('a', 2),
        Answer::Wait(None),
        "two per customer"
    );
    assert_eq!(pacing.take_slot('b', 0), Answer::Go);
    assert_eq!(pacing.take_slot('b', 1), Answer::Wait(None), "three in all");
    pacing.end('a', 0, true);
    assert_eq!(pacing.take_slot('b', 1), Answer::Go);
    assert_eq!(pacing.holding(), 3);
}

#[test]
fn runs_of_one_customer_are_spaced_and_overlaps_wait() {
    let mut pacing = Pacing::new(limits(10, 10));
    pacing.add('a', 0, touches(&["campaigns/1"]), JobState::Waiting);
    pacing.add('a', 1, touches(&["campaigns/2"]), JobState::Waiting);
    pacing.add(
        'a',
        2,
        touches(&["campaigns/1", "adGroups/7"]),
        JobState::Waiting,
    );
    pacing.add('b', 0, touches(&["campaigns/1"]), JobState::Waiting);
    for (c, n) in [('a', 0), ('a', 1), ('a', 2), ('b', 0)] {
        assert_eq!(pacing.take_slot(c, n), Answer::Go);
    }
    let t0 = Instant::now();
    assert_eq!(pacing.take_turn('a', 0, t0), Answer::Go);
    // Another customer is not spaced from this one, and touches nothing of it.
    assert_eq!(pacing.take_turn('b', 0, t0), Answer::Go);
    // Job 0's RunBatchJob is under way (its retries too): the next waits for it to settle.
    assert_eq!(
        pacing.take_turn('a', 1, t0 + Duration::from_secs(5)),
        Answer::Wait(None)
    );
    // It settled 1 s in, after a retry: the next turn is 2 s after that, not after t0.
    let settled = t0 + Duration::from_secs(1);
    pacing.submitted('a', 0, settled);
    let spaced = settled + Duration::from_secs(2);
    assert_eq!(
        pacing.take_turn('a', 1, t0 + Duration::from_secs(2)),
        Answer::Wait(Some(spaced))
    );
    assert_eq!(pacing.take_turn('a', 1, spaced), Answer::Go);
    pacing.submitted('a', 1, spaced);
    // Job 2 touches campaign 1, which job 0 (earlier, running) touches.
    let later = t0 + Duration::from_secs(60);
    assert_eq!(pacing.take_turn('a', 2, later), Answer::Wait(None));
    pacing.end('a', 0, true);
    assert_eq!(pacing.take_turn('a', 2, later), Answer::Go);
}

#[test]
fn a_failed_job_refuses_its_overlapping_successors_only() {
    let mut pacing = Pacing::new(limits(10, 10));
    pacing.add('a', 0, touches(&["campaigns/1"]), JobState::Waiting);
    pacing.add('a', 1, touches(&["campaigns/1"]), JobState::Waiting);
    pacing.add('a', 2, touches(&["campaigns/2"]), JobState::Waiting);
    pacing.add('b', 0, touches(&["campaigns/1"]), JobState::Waiting);
    for (c, n) in [('a', 0), ('a', 1), ('a', 2)] {
        assert_eq!(pacing.take_slot(c, n), Answer::Go);
    }
    pacing.end('a', 0, false);
    let now = Instant::now();
    assert_eq!(pacing.take_turn('a', 1, now), Answer::Refused { by: 0 });
    assert_eq!(pacing.take_turn('a', 2, now), Answer::Go);
    assert_eq!(
        pacing.take_slot('b', 0),
        Answer::Go,
        "another customer goes on"
    );
    // A refused job ends too, freeing its slot.
    pacing.end('a', 1, false);
    assert_eq!(pacing.holding(), 2);
}

/// A tiny seeded generator (the tests must replay exactly).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Random fleets (customers, jobs touching random campaigns, some already run or done by an
/// earlier process, some failing) driven by a scheduler that asks in random order: the limits
/// hold at every step, no two overlapping jobs of a customer run at once, and every job ends
/// (a step where nothing can move while jobs remain is a deadlock).
#[test]
fn random_fleets_never_deadlock_and_keep_the_limits() {
    for seed in 0..300u64 {
        let mut rng = Lcg(seed);
        let max_running = 1 + rng.below(4) as usize;
        let per_customer = 1 + rng.below(3) as usize;
        let mut pacing = Pacing::new(limits(max_running, per_customer));
        let mut jobs = Vec::new();
        for customer in 0..(1 + rng.below(4) as u8) {
            for number in 0..(1 + rng.below(5) as usize) {
                let campaigns: Vec<String> = (0..1 + rng.below(2))
                    .map(|_| format!("campaigns/{}", rng.below(3)))
                    .collect();
                let names: Vec<&str> = campaigns.iter().map(String::as_str).collect();
                let state = if rng.below(6) == 0 {
                    JobState::Done
                } else {
                    JobState::Waiting
                };
                pacing.add(customer, number, touches(&names), state);
                if state == JobState::Waiting {
                    jobs.push((customer, number, campaigns, rng.below(8) == 0));
                }
            }
        }
        let mut now = Instant::now();
        let mut ended = BTreeSet::new();
        let mut stalled = 0;
        while ended.len() < jobs.len() {
            assert!(stalled < 1_000, "seed {seed}: deadlock with {jobs:?}");
            now += Duration::from_millis(500);
            let pick = rng.below(jobs.len() as u64) as usize;
            let (customer, number, _, fails) = &jobs[pick];
            let (customer, number) = (*customer, *number);
            if ended.contains(&(customer, number)) {
                stalled += 1;
                continue;
            }
            // A running job ends; any other asks for its next step.
            let answer = match pacing.state(customer, number) {
                Some(JobState::Waiting) => pacing.take_slot(customer, number),
                Some(JobState::Holding) => {
                    let answer = pacing.take_turn(customer, number, now);
                    if answer == Answer::Go {
                        pacing.submitted(customer, number, now);
                    }
                    answer
                }
                Some(JobState::Running) => {
                    pacing.end(customer, number, !fails);
                    ended.insert((customer, number));
                    Answer::Go
                }
                _ => Answer::Wait(None),
            };
            if let Answer::Refused { .. } = answer {
                pacing.end(customer, number, false);
                ended.insert((customer, number));
            }
            let moved = !matches!(answer, Answer::Wait(_));
            stalled = if moved { 0 } else { stalled + 1 };
            assert!(pacing.holding() <= max_running, "seed {seed}");
            // No two overlapping jobs of a customer running at once.
            for (i, (c1, n1, t1, _)) in jobs.iter().enumerate() {
                for (c2, n2, t2, _) in &jobs[i + 1..] {
                    let running = |c, n| pacing.state(c, n) == Some(JobState::Running);
                    if c1 == c2 && running(*c1, *n1) && running(*c2, *n2) {
                        assert!(
                            t1.iter().all(|t| !t2.contains(t)),
                            "seed {seed}: jobs {n1} and {n2} of {c1} overlap and both run"
                        );
                    }
                }
            }
        }
    }
}
