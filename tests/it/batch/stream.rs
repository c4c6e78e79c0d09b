//! The fleet over one merged stream of (customer, operation): read once through a bounded
//! buffer per customer, cut online between linked stretches, stalled when a buffer is full,
//! resumed from the stream read again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt as _;
use futures_util::stream;
use google_ads::CustomerId;
use google_ads::batch::{Event, FleetEvent, FleetRunner, FleetState, Stage};

use super::*;

const CUSTOMERS: [&str; 3] = ["1234567890", "1000000001", "1000000002"];

fn stream_fake() -> FakeServerBuilder {
    CUSTOMERS
        .iter()
        .fold(fast_fake(), |builder, customer| builder.customer(*customer))
}

/// `trees` trees for `customer`, named after `tag`, tree `t` with `keywords(t)` keywords (3 + that many
/// operations, linked by temporary names); returns the operations and where each tree starts.
fn trees(
    customer: &str,
    tag: &str,
    trees: usize,
    keywords: impl Fn(usize) -> usize,
) -> (Vec<MutateOperation>, Vec<usize>) {
    let mut operations = Operations::new(customer).unwrap();
    let mut starts = Vec::new();
    for t in 0..trees {
        starts.push(operations.len());
        super::campaign_tree(
            &mut operations,
            &format!("{tag} {t}"),
            10_000_000,
            keywords(t),
        );
    }
    (operations.into_operations(), starts)
}

/// Budgets with no temporary names: no operation linked to another.
fn budgets(count: usize, tag: &str) -> Vec<MutateOperation> {
    (0..count)
        .map(|b| {
            CampaignBudget {
                name: Some(format!("Budget {tag} {b}")),
                amount_micros: Some(10_000_000),
                ..Default::default()
            }
            .create_operation()
            .into()
        })
        .collect()
}

/// Each customer's operations interleaved one by one (customers in turn, `rotate`d).
fn interleave(
    work: &BTreeMap<&'static str, Vec<MutateOperation>>,
    rotate: usize,
) -> Vec<(String, MutateOperation)> {
    let mut order: Vec<&str> = work.keys().copied().collect();
    let turn = rotate % order.len().max(1);
    order.rotate_left(turn);
    let longest = work.values().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::new();
    for i in 0..longest {
        for customer in &order {
            if let Some(operation) = work[customer].get(i) {
                out.push(((*customer).to_owned(), operation.clone()));
            }
        }
    }
    out
}

/// What one run of a fleet showed.
#[derive(Default)]
struct Run {
    /// Each customer's cut jobs: (start, end) by job number.
    cuts: BTreeMap<CustomerId, BTreeMap<usize, (u64, u64)>>,
    /// Each job's resource name.
    names: BTreeMap<(CustomerId, usize), String>,
    /// Every outcome's (customer, index), OK or not.
    outcomes: Vec<(CustomerId, u64, bool)>,
}

impl Run {
    fn see(&mut self, event: &FleetEvent) {
        match event {
            FleetEvent::Cut {
                customer,
                job,
                start,
                end,
            } => {
                self.cuts
                    .entry(*customer)
                    .or_default()
                    .insert(*job, (*start, *end));
            }
            FleetEvent::Job {
                customer,
                job,
                event: Event::Created { job: name },
            } => {
                self.names.insert((*customer, *job), name.clone());
            }
            FleetEvent::Results { customer, page, .. } => self.outcomes.extend(
                page.outcomes
                    .iter()
                    .map(|o| (*customer, o.index, o.outcome.is_ok())),
            ),
            _ => {}
        }
    }

    /// Each customer's outcome indices, sorted.
    fn indices(&self) -> BTreeMap<CustomerId, Vec<u64>> {
        let mut out: BTreeMap<CustomerId, Vec<u64>> = BTreeMap::new();
        for (customer, index, _) in &self.outcomes {
            out.entry(*customer).or_default().push(*index);
        }
        for list in out.values_mut() {
            list.sort_unstable();
        }
        out
    }
}

async fn run_to_end(mut runner: FleetRunner) -> Run {
    let mut run = Run::default();
    loop {
        let event = runner.poll().await.unwrap();
        run.see(&event);
        if let FleetEvent::Done(_) = event {
            return run;
        }
    }
}

fn id(customer: &str) -> CustomerId {
    customer.parse().unwrap()
}

/// 3 customers' work, interleaved one operation at a time, in jobs of at most 100: every
/// operation comes back exactly once, succeeded, tagged with its customer and its index in
/// that customer's part of the stream; each job holds exactly its stretch, in order.
#[tokio::test(start_paused = true)]
async fn an_interleaved_stream_of_three_customers_gives_every_operation_once() {
    let (fake, client) = fake_and_client(stream_fake()).await;
    let work: BTreeMap<&'static str, Vec<MutateOperation>> = CUSTOMERS
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, trees(c, "i", 20 + 3 * i, |t| 9 + t % 5).0))
        .collect();
    let runner = FleetRunner::from_stream(&client, stream::iter(interleave(&work, 0)))
        .with_job_size(100)
        .with_poll_schedule(quick_polls());
    let run = run_to_end(runner).await;
    assert!(run.outcomes.iter().all(|(_, _, ok)| *ok));
    let indices = run.indices();
    for customer in CUSTOMERS {
        let all = &work[customer];
        let expected: Vec<u64> = (0..all.len() as u64).collect();
        assert_eq!(indices[&id(customer)], expected, "{customer}");
        // The jobs follow one another, each at most 100, and hold exactly their part.
        let cuts = &run.cuts[&id(customer)];
        let mut next = 0;
        for (number, (start, end)) in cuts {
            assert_eq!(*start, next, "{customer}: {cuts:?}");
            assert!(end - start <= 100, "{customer}: {cuts:?}");
            next = *end;
            let name = &run.names[&(id(customer), *number)];
            holds_exactly(&fake, name, &all[*start as usize..*end as usize])
                .unwrap_or_else(|e| panic!("{customer} job {number}: {e}"));
        }
        assert_eq!(next, all.len() as u64, "{customer}");
        assert!(cuts.len() > all.len() / 100, "{customer}: {cuts:?}");
    }
}

/// With a buffer of 20 and jobs of 10, one customer's job slot busy: the stream is read
/// 20 ahead of the job running, no further (its other customer not read either), until
/// that job is done.
#[tokio::test(start_paused = true)]
async fn a_full_buffer_stalls_the_stream_until_its_job_may_start() {
    let (_fake, client) = fake_and_client(stream_fake()).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let items: Vec<(String, MutateOperation)> = budgets(100, "a")
        .into_iter()
        .map(|o| (CUSTOMERS[0].to_owned(), o))
        .chain(
            budgets(100, "b")
                .into_iter()
                .map(|o| (CUSTOMERS[1].to_owned(), o)),
        )
        .collect();
    let counter = pulled.clone();
    let counted = stream::iter(items).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut runner = FleetRunner::from_stream(&client, counted)
        .with_job_size(10)
        .with_buffer(20)
        .with_jobs_per_customer(1)
        .with_max_running(10)
        .with_poll_schedule(quick_polls());
    let mut run = Run::default();
    let mut checked = false;
    loop {
        let event = runner.poll().await.unwrap();
        run.see(&event);
        match event {
            // Job 0 of the first customer holds its slot until its results are delivered.
            FleetEvent::Results { customer, job, .. }
                if customer == id(CUSTOMERS[0]) && job == 0 && !checked =>
            {
                // Its 10 operations, and a full buffer of 20 behind them: the job cut from
                // that buffer waits for the slot, and nothing more is read.
                assert_eq!(pulled.load(Ordering::SeqCst), 30);
                assert_eq!(run.cuts.len(), 1, "{:?}", run.cuts);
                assert_eq!(run.cuts[&id(CUSTOMERS[0])].len(), 1);
                checked = true;
            }
            FleetEvent::Done(report) => {
                let summaries = report.summaries();
                assert_eq!(summaries[&id(CUSTOMERS[0])].succeeded, 100);
                assert_eq!(summaries[&id(CUSTOMERS[1])].succeeded, 100);
                break;
            }
            _ => {}
        }
    }
    assert!(checked);
    assert_eq!(pulled.load(Ordering::SeqCst), 200);
    for customer in &CUSTOMERS[..2] {
        let cuts: Vec<(u64, u64)> = run.cuts[&id(customer)].values().copied().collect();
        let expected: Vec<(u64, u64)> = (0..10).map(|j| (j * 10, j * 10 + 10)).collect();
        assert_eq!(cuts, expected, "{customer}");
    }
}

/// Trees of irregular sizes (3 to 26 operations, linked by temporary names), jobs of at
/// most 60, at several buffer sizes: every cut falls between two trees, and every
/// operation succeeds (a temporary name used in another job than its create fails).
#[tokio::test(start_paused = true)]
async fn linked_stretches_are_never_split_across_jobs() {
    let (fake, client) = fake_and_client(stream_fake()).await;
    for (round, buffer) in [61usize, 75, 200].into_iter().enumerate() {
        // Names of their own in each round: the fake refuses a name twice.
        let tag = format!("round {round}");
        let (ops_a, starts_a) = trees(CUSTOMERS[0], &tag, 30, |t| (t * 7) % 24);
        let (ops_b, starts_b) = trees(CUSTOMERS[1], &tag, 30, |t| (t * 11 + 3) % 24);
        let starts: BTreeMap<CustomerId, BTreeSet<u64>> =
            [(id(CUSTOMERS[0]), &starts_a), (id(CUSTOMERS[1]), &starts_b)]
                .into_iter()
                .map(|(c, s)| (c, s.iter().map(|s| *s as u64).collect()))
                .collect();
        let work: BTreeMap<&'static str, Vec<MutateOperation>> =
            [(CUSTOMERS[0], ops_a), (CUSTOMERS[1], ops_b)].into();
        let runner = FleetRunner::from_stream(&client, stream::iter(interleave(&work, round)))
            .with_job_size(60)
            .with_buffer(buffer)
            .with_poll_schedule(quick_polls());
        let run = run_to_end(runner).await;
        assert!(run.outcomes.iter().all(|(_, _, ok)| *ok), "buffer {buffer}");
        for (customer, cuts) in &run.cuts {
            let all = &work[customer.as_str()];
            assert!(cuts.len() > 1, "buffer {buffer}: {cuts:?}");
            for (number, (start, end)) in cuts {
                assert!(end - start <= 60, "buffer {buffer}: {cuts:?}");
                assert!(
                    starts[customer].contains(start),
                    "{customer}, buffer {buffer}: job {number} starts inside a tree: {cuts:?}"
                );
                let name = &run.names[&(*customer, *number)];
                holds_exactly(&fake, name, &all[*start as usize..*end as usize]).unwrap();
            }
            let expected: Vec<u64> = (0..all.len() as u64).collect();
            assert_eq!(run.indices()[customer], expected, "buffer {buffer}");
        }
    }
}

/// A temporary name used after its stretch was cut off (unrelated operations came in
/// between and the buffer filled) is an error naming the customer and the operation's
/// index in its work; a stretch larger than a job is one too.
#[tokio::test(start_paused = true)]
async fn a_late_use_of_a_cut_temporary_name_is_an_error_naming_customer_and_index() {
    let (_fake, client) = fake_and_client(stream_fake()).await;
    // Customer B: a tree (16 operations), 30 unlinked budgets, then one more keyword of the
    // tree's ad group, at index 46.
    let mut b = Operations::new(CUSTOMERS[1]).unwrap();
    let (_, group) = super::campaign_tree(&mut b, "late", 10_000_000, 13);
    let mut ops_b = b.into_operations();
    ops_b.extend(budgets(30, "late"));
    ops_b.push(
        AdGroupCriterion {
            ad_group: Some(group.clone()),
            criterion: Some(Criterion::Keyword(KeywordInfo {
                text: Some("late keyword".into()),
                match_type: KeywordMatchType::Exact as i32,
            })),
            ..Default::default()
        }
        .create_operation()
        .into(),
    );
    assert_eq!(ops_b.len(), 47);
    let work: BTreeMap<&'static str, Vec<MutateOperation>> = [
        (CUSTOMERS[0], budgets(60, "a")),
        (CUSTOMERS[1], ops_b),
        (CUSTOMERS[2], trees(CUSTOMERS[2], "late", 3, |_| 13).0),
    ]
    .into();
    let mut runner = FleetRunner::from_stream(&client, stream::iter(interleave(&work, 0)))
        .with_job_size(20)
        .with_poll_schedule(quick_polls());
    let error = loop {
        match runner.poll().await {
            Ok(FleetEvent::Done(_)) => panic!("the late use was not noticed"),
            Ok(_) => {}
            Err(error) => break error,
        }
    };
    let text = error.to_string();
    assert!(
        text.contains("customer 1000000001")
            && text.contains("mutate_operations[46]")
            && text.contains(&group)
            && text.contains("job already cut (operations 0..20)"),
        "{text}"
    );

    // A tree of 16 linked operations does not fit jobs of 10: an error naming the customer
    // and the stretch seen so far.
    let (tree, _) = trees(CUSTOMERS[2], "big", 1, |_| 13);
    let items = tree.into_iter().map(|o| (CUSTOMERS[2], o));
    let mut runner = FleetRunner::from_stream(&client, stream::iter(items)).with_job_size(10);
    let error = runner.poll().await.unwrap_err().to_string();
    assert!(
        error.contains("customer 1000000002: mutate_operations[0..=10]")
            && error.contains("at least 11 linked operations"),
        "{error}"
    );
}

/// A customer id that does not parse is an error naming the stream item, not a panic.
#[tokio::test(start_paused = true)]
async fn a_bad_customer_id_in_the_stream_is_an_error() {
    let (_fake, client) = fake_and_client(stream_fake()).await;
    let items = vec![
        (CUSTOMERS[0].to_owned(), budgets(1, "x").remove(0)),
        ("12-34".to_owned(), budgets(1, "y").remove(0)),
    ];
    let mut runner = FleetRunner::from_stream(&client, stream::iter(items));
    let error = loop {
        match runner.poll().await {
            Ok(FleetEvent::Done(_)) => panic!("the bad id was not noticed"),
            Ok(_) => {}
            Err(error) => break error,
        }
    };
    assert!(error.to_string().contains("stream item 1"), "{error}");
}

/// A fleet over a merged stream stopped part way (the runner dropped, its last saved state
/// kept, through JSON) and resumed with the stream re-supplied from its beginning (another
/// interleaving): the consumed operations are skipped or given back to their unfinished
/// jobs, the rest cut on; every operation delivered exactly once across the two runs, and
/// every job holds exactly its part.
#[tokio::test(start_paused = true)]
async fn a_stopped_stream_fleet_resumes_from_the_stream_read_again() {
    let (fake, client) = fake_and_client(stream_fake()).await;
    let work: BTreeMap<&'static str, Vec<MutateOperation>> = CUSTOMERS
        .iter()
        .map(|c| (*c, trees(c, "r", 20, |t| 6 + t % 9).0))
        .collect();
    let memory = Kept::default();
    let mut runner = FleetRunner::from_stream(&client, stream::iter(interleave(&work, 0)))
        .with_job_size(50)
        .with_max_running(2)
        .with_jobs_per_customer(1)
        .with_chunk_size(20)
        .with_poll_schedule(quick_polls())
        .with_state_sink(memory.clone());
    let mut first = Run::default();
    let mut done = 0;
    while done < 3 {
        let event = runner.poll().await.unwrap();
        first.see(&event);
        if let FleetEvent::JobDone { .. } = event {
            done += 1;
        }
    }
    drop(runner);
    // The tasks left notice the fleet is gone at their next step.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let saved = memory.state();
    let state: FleetState = serde_json::from_str(&serde_json::to_string(&saved).unwrap()).unwrap();
    assert_eq!(state, saved);
    let totals: BTreeMap<CustomerId, u64> =
        work.iter().map(|(c, o)| (id(c), o.len() as u64)).collect();
    assert!(
        totals
            .iter()
            .any(|(c, total)| state.consumed.get(c).copied().unwrap_or(0) < *total),
        "stopped before the end: {:?}",
        state.consumed
    );
    for (customer, jobs) in &state.customers {
        assert_eq!(state.consumed[customer], jobs.last().unwrap().end);
    }
    // Stopped with jobs done (their operations skipped on resume), jobs whose operations
    // are on the server (not read again) and jobs that need theirs again.
    let stages: Vec<Option<Stage>> = state
        .customers
        .values()
        .flatten()
        .map(|j| j.state.as_ref().map(|s| s.stage))
        .collect();
    assert!(stages.contains(&Some(Stage::Done)), "{stages:?}");
    assert!(stages.contains(&Some(Stage::Running)), "{stages:?}");
    assert!(
        stages.iter().any(|s| s.is_none_or(|s| s < Stage::Starting)),
        "{stages:?}"
    );

    // A sink of its own: nothing of the stopped fleet writes into it.
    let memory = Kept::default();
    let runner =
        FleetRunner::resume_stream(&client, state.clone(), stream::iter(interleave(&work, 1)))
            .with_job_size(50)
            .with_max_running(2)
            .with_jobs_per_customer(1)
            .with_chunk_size(20)
            .with_poll_schedule(quick_polls())
            .with_state_sink(memory.clone());
    let second = run_to_end(runner).await;
    // Only what was not consumed is cut again, where the stopped run left off.
    for (customer, cuts) in &second.cuts {
        let consumed = state.consumed.get(customer).copied().unwrap_or(0);
        assert!(cuts.values().all(|(start, _)| *start >= consumed));
        let first_new = state.customers.get(customer).map_or(0, Vec::len);
        assert_eq!(cuts.keys().next(), Some(&first_new), "{customer}");
    }
    // Every operation delivered once across the two runs.
    let mut all = first.outcomes.clone();
    all.extend(second.outcomes.iter().copied());
    assert!(all.iter().all(|(_, _, ok)| *ok));
    let merged = Run {
        outcomes: all,
        ..Run::default()
    };
    for (customer, total) in &totals {
        let expected: Vec<u64> = (0..*total).collect();
        assert_eq!(merged.indices()[customer], expected, "{customer}");
    }
    // The final state: every job done, each holding exactly its part on the fake.
    let last = memory.state();
    for (customer, jobs) in &last.customers {
        let ops = &work[customer.as_str()];
        assert_eq!(last.consumed[customer], ops.len() as u64);
        for job in jobs {
            let state = job.state.as_ref().unwrap();
            let name = state.job.as_ref().unwrap();
            holds_exactly(&fake, name, &ops[job.start as usize..job.end as usize])
                .unwrap_or_else(|e| panic!("{customer} {name}: {e}"));
        }
    }
}

/// A stream re-supplied for a resume that ends before an unfinished job has its operations
/// back is an error naming the customer and the job, not a job run short.
#[tokio::test(start_paused = true)]
async fn a_resume_stream_that_ends_before_an_unfinished_job_is_an_error() {
    let (fake, client) = fake_and_client(stream_fake()).await;
    let customer = id(CUSTOMERS[1]);
    let mut state = FleetState::default();
    state.customers = [(
        customer,
        vec![google_ads::batch::FleetJob::new(
            0,
            5,
            BTreeSet::new(),
            None,
        )],
    )]
    .into();
    state.consumed = [(customer, 5)].into();
    let items = budgets(3, "short").into_iter().map(|o| (CUSTOMERS[1], o));
    let mut runner = FleetRunner::resume_stream(&client, state, stream::iter(items));
    let error = loop {
        match runner.poll().await {
            Ok(FleetEvent::Done(_)) => panic!("the short stream was not noticed"),
            Ok(_) => {}
            Err(error) => break error,
        }
    };
    let text = error.to_string();
    assert!(
        text.contains("customer 1000000001")
            && text.contains("ended at operation 3")
            && text.contains("job 0..5")
            && text.contains("from its beginning"),
        "{text}"
    );
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.method.ends_with("AddBatchJobOperations")),
        "no job was given part of its operations"
    );
}
