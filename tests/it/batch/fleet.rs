//! The fleet: work of many customers split into jobs, paced, watched together, resumed.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use google_ads::CustomerId;
use google_ads::batch::{CustomerWork, Event, FleetEvent, FleetRunner};
use google_ads::fake::Fault;
use google_ads::latest::services::{AddBatchJobOperationsRequest, SearchGoogleAdsRequest};
use tonic::Code;

use super::*;

pub(super) const CUSTOMERS: [&str; 5] = [
    "1234567890",
    "1000000001",
    "1000000002",
    "1000000003",
    "1000000004",
];

pub(super) fn fleet_fake() -> FakeServerBuilder {
    CUSTOMERS
        .iter()
        .fold(fast_fake(), |builder, customer| builder.customer(*customer))
}

/// `trees` trees of 16 operations (budget, campaign, ad group, 13 keywords) for `customer`,
/// linked by temporary names: a cut every 5,000 operations would fall inside a tree.
pub(super) fn customer_operations(customer: &str, trees: usize, tag: &str) -> Vec<MutateOperation> {
    let mut operations = Operations::new(customer).unwrap();
    for t in 0..trees {
        super::campaign_tree(&mut operations, &format!("{tag} {t}"), 10_000_000, 13);
    }
    operations.into_operations()
}

pub(super) fn work(operations: &HashMap<&str, Vec<MutateOperation>>) -> Vec<CustomerWork> {
    CUSTOMERS
        .iter()
        .filter_map(|c| {
            let ops = operations.get(c)?.clone();
            Some(CustomerWork::new(*c, OperationSource::from_vec(ops)).unwrap())
        })
        .collect()
}

/// The jobs each customer's work was split into, from the fake's own record: the jobs it
/// ran (a job given up after its first upload went unanswered never runs).
fn uploaded_jobs(fake: &FakeServer) -> BTreeMap<String, Vec<String>> {
    let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for run in fake.batch_job_runs() {
        jobs.entry(run.customer_id).or_default().push(run.job);
    }
    jobs
}

/// `n` keyword creates for one new ad group of `customer`: every job cut from them touches
/// the same ad group, so no two may run at once.
pub(super) async fn shared_ad_group_keywords(
    client: &GoogleAdsClient,
    customer: &str,
    n: usize,
) -> Vec<MutateOperation> {
    let mut setup = Operations::new(customer).unwrap();
    let budget = setup
        .create(CampaignBudget {
            name: Some("Shared".into()),
            amount_micros: Some(10_000_000),
            ..Default::default()
        })
        .unwrap();
    let campaign = setup
        .create(Campaign {
            name: Some("Shared".into()),
            advertising_channel_type: AdvertisingChannelType::Search as i32,
            campaign_budget: Some(budget.to_string()),
            ..Default::default()
        })
        .unwrap();
    setup
        .create(AdGroup {
            name: Some("Shared".into()),
            campaign: Some(campaign.to_string()),
            ..Default::default()
        })
        .unwrap();
    let group = client.mutate(setup).send().await.unwrap().resource_names()[2]
        .unwrap()
        .to_owned();
    (0..n)
        .map(|k| {
            AdGroupCriterion {
                ad_group: Some(group.clone()),
                criterion: Some(Criterion::Keyword(KeywordInfo {
                    text: Some(format!("shared {k}")),
                    match_type: KeywordMatchType::Exact as i32,
                })),
                ..Default::default()
            }
            .create_operation()
            .into()
        })
        .collect()
}

/// 5 customers x 12,000 operations in jobs of 5,000: trees of 16 straddle every naive cut
/// point, so each job ends at a tree's end; one outcome per operation, tagged with its
/// customer and its index in that customer's work.
#[tokio::test(start_paused = true)]
async fn five_customers_in_jobs_of_5000_cut_only_between_trees() {
    let (fake, client) = fake_and_client(fleet_fake()).await;
    let operations: HashMap<&str, Vec<MutateOperation>> = CUSTOMERS
        .iter()
        .map(|c| (*c, customer_operations(c, 750, "a")))
        .collect();
    let mut runner = FleetRunner::new(&client, work(&operations))
        .with_job_size(5_000)
        .with_poll_schedule(quick_polls());
    let mut plans = BTreeMap::new();
    let mut names = BTreeMap::new();
    let mut outcomes: BTreeMap<CustomerId, Vec<BatchOutcome>> = BTreeMap::new();
    let summaries = loop {
        match runner.poll().await.unwrap() {
            FleetEvent::Planned { customer, jobs } => {
                plans.insert(customer, jobs);
            }
            FleetEvent::Job {
                customer,
                job,
                event: Event::Created { job: name },
            } => {
                names.insert((customer, job), name);
            }
            FleetEvent::Results { customer, page, .. } => {
                outcomes.entry(customer).or_default().extend(page.outcomes);
            }
            FleetEvent::Done(report) => break report.summaries(),
            _ => {}
        }
    };
    for customer in CUSTOMERS {
        let id: CustomerId = customer.parse().unwrap();
        // 12,000 operations in trees of 16: cuts at 4,992 and 9,984, never inside a tree.
        assert_eq!(
            plans[&id],
            [(0, 4_992), (4_992, 9_984), (9_984, 12_000)],
            "{customer}"
        );
        let mut mine = outcomes.remove(&id).unwrap();
        mine.sort_by_key(|o| o.index);
        assert_eq!(mine.len(), 12_000, "{customer}");
        assert!(mine.iter().enumerate().all(|(i, o)| o.index == i as u64));
        assert!(mine.iter().all(|o| o.outcome.is_ok()), "{customer}");
        assert_eq!(summaries[&id].succeeded, 12_000);
        // The jobs hold exactly the parts, each once.
        assert_eq!(uploaded_jobs(&fake)[customer].len(), 3);
        let all = &operations[customer];
        for (number, (start, end)) in plans[&id].iter().enumerate() {
            let job = &names[&(id, number)];
            holds_exactly(&fake, job, &all[*start as usize..*end as usize]).unwrap();
        }
    }
}

/// A group larger than a job is refused, naming it.
#[tokio::test(start_paused = true)]
async fn a_group_larger_than_a_job_is_refused() {
    let (_fake, client) = fake_and_client(fleet_fake()).await;
    let operations: HashMap<&str, Vec<MutateOperation>> =
        [("1234567890", customer_operations("1234567890", 2, "g"))].into();
    let mut runner = FleetRunner::new(&client, work(&operations)).with_job_size(10);
    let error = runner.poll().await.unwrap_err();
    assert!(
        error.to_string().contains("16 linked operations")
            && error
                .to_string()
                .contains("one job, which holds at most 10"),
        "{error}"
    );
}

/// Pacing, read from the fake's stamped call log: a customer's RunBatchJob calls at least
/// 2 s apart; its jobs on one ad group never running at once; never more than 2 of its jobs
/// pending or running (the limit set); one batch_job query per customer per poll.
#[tokio::test(start_paused = true)]
async fn pacing_follows_the_guide() {
    let (fake, client) = fake_and_client(fleet_fake().batch_ops_per_second(100)).await;
    // Customer A: keywords of one existing ad group in every job (all its jobs conflict).
    // Customers B and C: independent trees (their jobs may overlap in time).
    let keywords = shared_ad_group_keywords(&client, CUSTOMERS[0], 1_200).await;
    let operations: HashMap<&str, Vec<MutateOperation>> = [
        (CUSTOMERS[0], keywords),
        (CUSTOMERS[1], customer_operations(CUSTOMERS[1], 75, "b")),
        (CUSTOMERS[2], customer_operations(CUSTOMERS[2], 75, "c")),
    ]
    .into();
    let runner = FleetRunner::new(&client, work(&operations))
        .with_job_size(300)
        .with_jobs_per_customer(2)
        .with_poll_schedule(quick_polls());
    runner.until_done(|_, _| {}).await.unwrap();

    let calls = fake.calls();
    let customer_of = |resource: &str| resource.split('/').nth(1).unwrap_or_default().to_owned();
    // When each job was created, run, and last read from (results).
    let mut created: BTreeMap<String, Duration> = BTreeMap::new();
    let mut run: BTreeMap<String, Duration> = BTreeMap::new();
    let mut last: BTreeMap<String, Duration> = BTreeMap::new();
    for call in &calls {
        if call.method.ends_with("AddBatchJobOperations") {
            let r: AddBatchJobOperationsRequest = call.decode().unwrap();
            created.entry(r.resource_name).or_insert(call.at);
        } else if call.method.ends_with("RunBatchJob") {
            let r: google_ads::latest::services::RunBatchJobRequest = call.decode().unwrap();
            run.insert(r.resource_name, call.at);
        } else if call.method.ends_with("ListBatchJobResults") {
            let r: google_ads::latest::services::ListBatchJobResultsRequest =
                call.decode().unwrap();
            last.insert(r.resource_name, call.at);
        }
    }
    for customer in &CUSTOMERS[..3] {
        let mut runs: Vec<Duration> = run
            .iter()
            .filter(|(job, _)| customer_of(job) == *customer)
            .map(|(_, at)| *at)
            .collect();
        runs.sort();
        // 1,200 operations in jobs of 300: 4 jobs of keywords, 5 of trees (cut at 288).
        let jobs = if *customer == CUSTOMERS[0] { 4 } else { 5 };
        assert_eq!(runs.len(), jobs, "{customer}");
        for pair in runs.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_secs(2),
                "{customer}: {runs:?}"
            );
        }
        // Never more than 2 jobs between their first upload and their last results page (a
        // job's slot is free again once its last page is read: on the paused clock the next
        // may start at that same instant).
        let spans: Vec<(Duration, Duration)> = created
            .iter()
            .filter(|(job, _)| customer_of(job) == *customer)
            .map(|(job, at)| (*at, last[job]))
            .collect();
        for (start, _) in &spans {
            let open = spans
                .iter()
                .filter(|(a, b)| a <= start && start < b)
                .count();
            assert!(open <= 2, "{customer}: {open} jobs at once");
        }
    }
    // Customer A's jobs all touch one ad group: from run to last result, never overlapping.
    let mut a: Vec<(Duration, Duration)> = run
        .iter()
        .filter(|(job, _)| customer_of(job) == CUSTOMERS[0])
        .map(|(job, at)| (*at, last[job]))
        .collect();
    a.sort();
    for pair in a.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "customer A's jobs overlap: {a:?}");
    }
    // One batch_job query per customer per poll: every query of a customer names all its
    // jobs running then, and some name more than one.
    let queries: Vec<(String, usize, Duration)> = status_polls(&fake)
        .iter()
        .filter_map(|c| {
            let r: SearchGoogleAdsRequest = c.decode().ok()?;
            r.query
                .contains("FROM batch_job")
                .then(|| (r.customer_id, r.query.matches("/batchJobs/").count(), c.at))
        })
        .collect();
    assert!(
        queries.iter().any(|(_, jobs, _)| *jobs > 1),
        "jobs are read together"
    );
    for (customer, _, at) in &queries {
        let same = queries
            .iter()
            .filter(|(c, _, t)| c == customer && t == at)
            .count();
        assert_eq!(same, 1, "one query per customer per poll");
    }
}

/// Found by the simulation (seeds 1, 2, 7, 8, 9): one job's RunBatchJob went unanswered and
/// was sent again after a backoff, and the next job of the account, whose turn counted from
/// the first attempt, was run less than 2 s before that retry landed. Now a turn waits for
/// the account's RunBatchJob under way to settle, and spacing counts from when it did: on
/// the fake's record, every job of the account starts at least 2 s after the one before.
#[tokio::test(start_paused = true)]
async fn a_retried_run_batch_job_keeps_the_next_job_of_its_account_2_s_away() {
    let (fake, client) = fake_and_client(fleet_fake()).await;
    fake.inject_times("BatchJobService/RunBatchJob", Fault::ResetBeforeHandling, 2);
    let operations: HashMap<&str, Vec<MutateOperation>> =
        [(CUSTOMERS[0], customer_operations(CUSTOMERS[0], 8, "retry"))].into();
    let report = FleetRunner::new(&client, work(&operations))
        .with_job_size(32)
        .with_poll_schedule(quick_polls())
        .until_done(|_, _| {})
        .await
        .unwrap();
    assert!(report.all_done());
    let runs = fake.batch_job_runs();
    assert_eq!(runs.len(), 4);
    for pair in runs.windows(2) {
        let gap = pair[1].started - pair[0].started;
        assert!(
            gap >= Duration::from_secs(2),
            "{} started {gap:?} after {}",
            pair[1].job,
            pair[0].job
        );
    }
}

/// The driver's faults on a fleet of 20 jobs: nothing lost, nothing doubled.
#[tokio::test(start_paused = true)]
async fn faults_across_a_fleet_of_20_jobs_lose_and_double_nothing() {
    let (fake, client) = fake_and_client(fleet_fake()).await;
    let upload = "BatchJobService/AddBatchJobOperations";
    fake.inject_sometimes(upload, Fault::ResetAfterHandling, 0.10, 11);
    fake.inject_times(upload, Fault::Status(Code::Unavailable), 3);
    fake.inject_times(
        "BatchJobService/ListBatchJobResults",
        Fault::ResetBeforeHandling,
        3,
    );
    let operations: HashMap<&str, Vec<MutateOperation>> = CUSTOMERS[..4]
        .iter()
        .map(|c| (*c, customer_operations(c, 100, "f")))
        .collect();
    let runner = FleetRunner::new(&client, work(&operations))
        .with_job_size(320)
        .with_chunk_size(100)
        .with_poll_schedule(quick_polls());
    let state_before = runner.state();
    assert!(state_before.customers.is_empty());
    let summaries = runner.until_done(|_, _| {}).await.unwrap().summaries();
    let jobs = uploaded_jobs(&fake);
    let count: usize = jobs.values().map(Vec::len).sum();
    assert_eq!(count, 20);
    for customer in &CUSTOMERS[..4] {
        let all = &operations[customer];
        // Jobs in the order of their work (a job whose first upload failed may have been
        // uploaded after the next one), each holding one stretch of it in order.
        let mut stretches: Vec<Vec<MutateOperation>> = jobs[*customer]
            .iter()
            .map(|job| fake.batch_job_operations(job).unwrap())
            .collect();
        stretches.sort_by_key(|held| all.iter().position(|o| Some(o) == held.first()));
        let held: Vec<MutateOperation> = stretches.concat();
        assert_eq!(held.len(), all.len(), "{customer}");
        assert!(held.iter().zip(all).all(|(h, o)| h == o), "{customer}");
        let id: CustomerId = customer.parse().unwrap();
        assert_eq!(summaries[&id].succeeded as usize, all.len());
    }
}

/// The fleet in a child process: runs from `ADS_FLEET_CHILD_STATE` (or anew), and after
/// `ADS_FLEET_CHILD_STOP` events prints `STOPPED` and waits to be killed.
async fn fleet_child(uri: String, path: String, stop: usize) {
    let client = crate::client_at(uri);
    let folder = google_ads::batch::StateFolder::open(&path).unwrap();
    let state = folder.load().unwrap().unwrap_or_default();
    let mut runner = FleetRunner::resume(&client, state, work(&kill_operations()))
        .with_job_size(320)
        .with_chunk_size(100)
        .with_poll_schedule(quick_polls())
        .with_state_sink(folder);
    for _ in 0..stop {
        if let FleetEvent::Done(_) = runner.poll().await.unwrap() {
            break;
        }
    }
    // libtest has printed `test NAME ... ` without a newline: this line ends it.
    println!("STOPPED");
    std::thread::sleep(Duration::from_secs(600));
}

fn kill_operations() -> HashMap<&'static str, Vec<MutateOperation>> {
    CUSTOMERS[..4]
        .iter()
        .map(|c| (*c, customer_operations(c, 100, "k")))
        .collect()
}

/// A fleet of 20 jobs with the driver's faults, its process killed twice (SIGKILL) and
/// resumed each time from the saved fleet state: every job holds its operations exactly
/// once, and every operation ends in the summaries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_killed_twice_resumes_losing_and_doubling_nothing() {
    if let (Ok(uri), Ok(path), Ok(stop)) = (
        std::env::var("ADS_FLEET_CHILD_FAKE"),
        std::env::var("ADS_FLEET_CHILD_STATE"),
        std::env::var("ADS_FLEET_CHILD_STOP"),
    ) {
        fleet_child(uri, path, stop.parse().unwrap()).await;
        return;
    }
    let (fake, client) = fake_and_client(fleet_fake()).await;
    let upload = "BatchJobService/AddBatchJobOperations";
    fake.inject_sometimes(upload, Fault::ResetAfterHandling, 0.10, 5);
    fake.inject_times(
        "BatchJobService/ListBatchJobResults",
        Fault::ResetBeforeHandling,
        2,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet-state");
    for stop in [30, 120] {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "batch::fleet::a_fleet_killed_twice_resumes_losing_and_doubling_nothing",
                "--exact",
                "--no-capture",
                "--test-threads=1",
            ])
            .env("ADS_FLEET_CHILD_FAKE", fake.uri())
            .env("ADS_FLEET_CHILD_STATE", &path)
            .env("ADS_FLEET_CHILD_STOP", stop.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stopped = tokio::task::spawn_blocking(move || {
            use std::io::BufRead as _;
            let stopped = std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|line| line.contains("STOPPED"));
            let _ = child.kill();
            let _ = child.wait();
            stopped
        })
        .await
        .unwrap();
        assert!(stopped, "the child ran {stop} events");
    }
    let folder = google_ads::batch::StateFolder::open(&path).unwrap();
    let state = folder.load().unwrap().unwrap();
    let operations = kill_operations();
    let summaries = FleetRunner::resume(&client, state, work(&operations))
        .with_job_size(320)
        .with_chunk_size(100)
        .with_poll_schedule(quick_polls())
        .with_state_sink(folder)
        .until_done(|_, _| {})
        .await
        .unwrap()
        .summaries();
    let state = google_ads::batch::StateFolder::open(&path)
        .unwrap()
        .load()
        .unwrap()
        .unwrap();
    let mut jobs = 0;
    for (customer, planned) in &state.customers {
        let all = &operations[customer.as_str()];
        for job in planned {
            let name = job.state.as_ref().and_then(|s| s.job.clone()).unwrap();
            holds_exactly(&fake, &name, &all[job.start as usize..job.end as usize])
                .unwrap_or_else(|e| panic!("{customer} {name}: {e}"));
            jobs += 1;
        }
        let summary = &summaries[customer];
        assert_eq!(
            (summary.succeeded + summary.failed_total() + summary.missing) as usize,
            all.len(),
            "{customer}: {summary:?}"
        );
    }
    assert_eq!(jobs, 20);
}

/// On the fake's model clock, a fleet of one job ends when the job's driver alone would: at
/// the first poll of the API's schedule after the job finished, the fleet adding no wait.
#[tokio::test(start_paused = true)]
async fn a_fleet_of_one_job_finishes_when_its_driver_alone_would() {
    let builder = FakeServer::builder()
        .customer(CUSTOMERS[0])
        .batch_ops_per_second(1_000)
        .batch_page_cap(1000);
    let (_fake, client) = fake_and_client(builder).await;
    // 20 s of execution: the default schedule reads the job at 30 s and sees it done.
    let started = tokio::time::Instant::now();
    let operations = customer_operations(CUSTOMERS[0], 1250, "alone");
    let summary = BatchJobDriver::new(&client, CUSTOMERS[0], OperationSource::from_vec(operations))
        .unwrap()
        .until_done(|_| {})
        .await
        .unwrap();
    assert_eq!(summary.succeeded, 20_000);
    let alone = started.elapsed();
    let started = tokio::time::Instant::now();
    let operations = customer_operations(CUSTOMERS[0], 1250, "fleet");
    let summaries = FleetRunner::new(
        &client,
        vec![CustomerWork::new(CUSTOMERS[0], OperationSource::from_vec(operations)).unwrap()],
    )
    .until_done(|_, _| {})
    .await
    .unwrap()
    .summaries();
    let fleet = started.elapsed();
    assert_eq!(summaries.values().map(|s| s.succeeded).sum::<u64>(), 20_000);
    assert!(
        alone < Duration::from_secs(31),
        "the driver alone: {alone:?}"
    );
    assert!(
        fleet <= alone + Duration::from_secs(1),
        "the fleet took {fleet:?}, its job's driver alone {alone:?}"
    );
}

/// Each job is read on the schedule counted from its own start: a job run 25 s after
/// another of its customer is read 30 s after its run, not at the older job's next poll
/// (69.9 s); both in one query per customer when they are due together.
#[tokio::test(start_paused = true)]
async fn a_job_started_later_is_read_on_its_own_schedule() {
    let builder = FakeServer::builder()
        .customer(CUSTOMERS[0])
        .batch_ops_per_second(1_000)
        .batch_page_cap(1000);
    let (fake, client) = fake_and_client(builder).await;
    // Two jobs of 20,000 (20 s of execution each), run 25 s apart.
    let operations = customer_operations(CUSTOMERS[0], 2500, "late");
    let started = tokio::time::Instant::now();
    let mut runner = FleetRunner::new(
        &client,
        vec![CustomerWork::new(CUSTOMERS[0], OperationSource::from_vec(operations)).unwrap()],
    )
    .with_job_size(20_000)
    .with_run_spacing(Duration::from_secs(25))
    // The guide's schedule, which the fake would otherwise be spared.
    .with_poll_schedule(PollSchedule::default());
    let mut done_at = Vec::new();
    loop {
        match runner.poll().await.unwrap() {
            FleetEvent::JobDone { job, summary, .. } => {
                assert_eq!(summary.succeeded, 20_000);
                done_at.push((job, started.elapsed().as_secs_f64()));
            }
            FleetEvent::Done(_) => break,
            _ => {}
        }
    }
    let finished = started.elapsed().as_secs_f64();
    assert_eq!(done_at.len(), 2);
    assert!((30.0..31.0).contains(&done_at[0].1), "{done_at:?}");
    assert!((55.0..56.0).contains(&done_at[1].1), "{done_at:?}");
    assert!(finished < 56.0, "the fleet ended at {finished} s");
    // Reads: one query per customer at 30 s (both jobs) and one at 55 s.
    let reads = status_polls(&fake)
        .iter()
        .map(|c| c.at.as_secs())
        .collect::<Vec<_>>();
    assert_eq!(reads, [30, 55], "{reads:?}");
}

/// Jobs that may not run together get their slots in job order: with one slot, or one per
/// customer, a later job never holds the slot while waiting on an earlier one.
#[tokio::test(start_paused = true)]
async fn jobs_on_one_ad_group_finish_with_a_single_slot() {
    for (max_running, per_customer) in [(1, 100), (2, 1), (1, 1)] {
        let (_fake, client) = fake_and_client(fleet_fake()).await;
        let keywords = shared_ad_group_keywords(&client, CUSTOMERS[0], 1_000).await;
        let operations: HashMap<&str, Vec<MutateOperation>> = [
            (CUSTOMERS[0], keywords),
            (CUSTOMERS[1], customer_operations(CUSTOMERS[1], 40, "s")),
        ]
        .into();
        let runner = FleetRunner::new(&client, work(&operations))
            .with_job_size(200)
            .with_max_running(max_running)
            .with_jobs_per_customer(per_customer)
            .with_poll_schedule(quick_polls());
        let summaries =
            tokio::time::timeout(Duration::from_secs(3600), runner.until_done(|_, _| {}))
                .await
                .unwrap_or_else(|_| {
                    panic!("stuck with {max_running} slots, {per_customer} per customer")
                })
                .unwrap()
                .summaries();
        let succeeded: u64 = summaries.values().map(|s| s.succeeded).sum();
        assert_eq!(
            succeeded, 1_640,
            "{max_running} slots, {per_customer} per customer"
        );
    }
}
