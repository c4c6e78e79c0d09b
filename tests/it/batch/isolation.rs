//! Failure isolation: one account's refusal, a removed job, a dropped fleet, a job past its
//! max wait, sources that change between readings, late uploads, bogus results, long quota
//! delays and broken connections. Every assertion reads the fake's own record.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use google_ads::CustomerId;
use google_ads::batch::{
    CustomerWork, Event, FleetEvent, FleetReport, FleetRunner, FleetState, JobResult, Stage,
};
use google_ads::fake::Fault;
use google_ads::latest::services::{RunBatchJobRequest, SearchGoogleAdsRequest};
use tonic::Code;

use super::fleet::{CUSTOMERS, customer_operations, fleet_fake, shared_ad_group_keywords, work};
use super::*;

/// A day of paused time: a run that hangs fails the test instead of sticking.
const DAY: Duration = Duration::from_secs(24 * 3600);

const RUN: &str = "BatchJobService/RunBatchJob";
const UPLOAD: &str = "BatchJobService/AddBatchJobOperations";
const RESULTS: &str = "BatchJobService/ListBatchJobResults";
const CREATE: &str = "BatchJobService/MutateBatchJob";
const SEARCH: &str = "GoogleAdsService/Search";

/// `trees` trees of 10 operations (budget, campaign, ad group, 7 keywords) for [`CID`], all
/// succeeding.
fn small_job(trees: usize) -> Vec<MutateOperation> {
    let mut operations = Operations::new(CID).unwrap();
    for t in 0..trees {
        campaign_tree(&mut operations, &format!("small {t}"), 10_000_000, 7);
    }
    operations.into_operations()
}

/// The resource names RunBatchJob was called on, in order, from the fake's log.
fn runs(fake: &FakeServer) -> Vec<String> {
    fake.calls()
        .iter()
        .filter(|c| c.method.ends_with(RUN))
        .map(|c| c.decode::<RunBatchJobRequest>().unwrap().resource_name)
        .collect()
}

fn customer_of(resource: &str) -> &str {
    resource.split('/').nth(1).unwrap_or_default()
}

/// One customer refuses RunBatchJob: its first job fails with the refusal, its later jobs on
/// the same ad group fail naming it, and the other four customers' jobs all run once each.
#[tokio::test(start_paused = true)]
async fn one_account_refusing_run_batch_job_fails_alone() {
    let (fake, client) = fake_and_client(fleet_fake()).await;
    let refusing = CUSTOMERS[2];
    let keywords = shared_ad_group_keywords(&client, refusing, 96).await;
    let mut operations: HashMap<&str, Vec<MutateOperation>> = CUSTOMERS
        .iter()
        .filter(|c| **c != refusing)
        .map(|c| (*c, customer_operations(c, 6, "iso")))
        .collect();
    operations.insert(refusing, keywords);
    fake.inject_for(refusing, RUN, Fault::user_permission_denied(), None);
    let kept = Kept::default();
    let runner = FleetRunner::new(&client, work(&operations))
        .with_job_size(32)
        .with_poll_schedule(quick_polls())
        .with_state_sink(kept.clone());
    let report: FleetReport = tokio::time::timeout(DAY, runner.until_done(|_, _| {}))
        .await
        .expect("the fleet hung")
        .expect("one account's refusal must not end the fleet");

    let run = runs(&fake);
    for customer in CUSTOMERS {
        let id: CustomerId = customer.parse().unwrap();
        let jobs = &report.customers[&id].jobs;
        assert_eq!(jobs.len(), 3, "{customer}: {jobs:?}");
        if customer == refusing {
            continue;
        }
        let all = &operations[customer];
        for (number, job) in jobs.iter().enumerate() {
            assert!(
                matches!(job.result, JobResult::Done(_)),
                "{customer} job {number}: {:?}",
                job.result
            );
            let name = kept.job(customer, number).unwrap();
            holds_exactly(&fake, &name, &all[job.start as usize..job.end as usize])
                .unwrap_or_else(|e| panic!("{customer} job {number}: {e}"));
            let count = run.iter().filter(|r| **r == name).count();
            assert_eq!(
                count, 1,
                "{customer} job {number}: RunBatchJob {count} times"
            );
        }
    }

    let id: CustomerId = refusing.parse().unwrap();
    let jobs = &report.customers[&id].jobs;
    let JobResult::Failed(first) = &jobs[0].result else {
        panic!("the refused job: {:?}", jobs[0].result);
    };
    let text = first.to_string();
    assert!(
        text.contains("USER_PERMISSION_DENIED") || text.contains("PERMISSION_DENIED"),
        "{text}"
    );
    for (number, job) in jobs.iter().enumerate().skip(1) {
        let JobResult::Failed(error) = &job.result else {
            panic!("job {number} of the refusing customer: {:?}", job.result);
        };
        assert!(error.to_string().contains("job 0"), "job {number}: {error}");
    }
    // No RunBatchJob of that customer but the refused attempts on its first job.
    let first_job = kept.job(refusing, 0).unwrap();
    let theirs: Vec<&String> = run.iter().filter(|r| customer_of(r) == refusing).collect();
    assert!(!theirs.is_empty(), "job 0 was tried");
    assert!(
        theirs.iter().all(|r| **r == first_job),
        "RunBatchJob of a later job: {theirs:?}"
    );
    assert_eq!(
        theirs.len(),
        1,
        "a permanent refusal is tried once: {theirs:?}"
    );
}

/// A fleet dropped once a job has started sends nothing more, however long one waits.
#[tokio::test(start_paused = true)]
async fn a_dropped_fleet_sends_nothing_more() {
    let (fake, client) = fake_and_client(fleet_fake().batch_ops_per_second(10)).await;
    let operations: HashMap<&str, Vec<MutateOperation>> = CUSTOMERS[..3]
        .iter()
        .map(|c| (*c, customer_operations(c, 8, "drop")))
        .collect();
    let mut runner = FleetRunner::new(&client, work(&operations))
        .with_job_size(32)
        .with_poll_schedule(quick_polls());
    tokio::time::timeout(DAY, async {
        loop {
            match runner.poll().await.unwrap() {
                FleetEvent::Job {
                    event: Event::Started { .. },
                    ..
                } => break,
                FleetEvent::Done(_) => panic!("done before any job started"),
                _ => {}
            }
        }
    })
    .await
    .expect("no job started");
    drop(runner);
    let before = fake.calls().len();
    let runs_before = runs(&fake).len();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let calls = fake.calls();
    let after: Vec<&str> = calls[before..].iter().map(|c| c.method.as_str()).collect();
    assert_eq!(runs(&fake).len(), runs_before, "RunBatchJob after the drop");
    assert!(after.is_empty(), "calls after the drop: {after:?}");
}

/// A job that never finishes ends as JobFailed with a timeout once the schedule's max wait
/// has passed, not after a day; the fleet itself ends Ok.
#[tokio::test(start_paused = true)]
async fn the_fleet_gives_up_on_a_job_past_its_max_wait() {
    let builder = FakeServer::builder()
        .customer(CUSTOMERS[0])
        .batch_ops_per_second(1)
        .batch_page_cap(1000);
    let (fake, client) = fake_and_client(builder).await;
    // 320 operations at 1 a second: 5 minutes of execution.
    let operations = customer_operations(CUSTOMERS[0], 20, "slow");
    let mut runner = FleetRunner::new(
        &client,
        vec![CustomerWork::new(CUSTOMERS[0], OperationSource::from_vec(operations)).unwrap()],
    )
    .with_poll_schedule(quick_polls().with_max_wait(Duration::from_secs(60)));
    let started = tokio::time::Instant::now();
    let mut failed = Vec::new();
    let report = tokio::time::timeout(DAY, async {
        loop {
            match runner.poll().await.unwrap() {
                FleetEvent::JobFailed { job, error, .. } => failed.push((job, error)),
                FleetEvent::Done(report) => break report,
                _ => {}
            }
        }
    })
    .await
    .expect("the fleet hung");
    let elapsed = started.elapsed();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].1.is_timeout(), "{}", failed[0].1);
    let id: CustomerId = CUSTOMERS[0].parse().unwrap();
    assert!(
        matches!(&report.customers[&id].jobs[0].result, JobResult::Failed(e) if e.is_timeout()),
        "{report:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(60) && elapsed < Duration::from_secs(120),
        "the fleet gave up after {elapsed:?}"
    );
    assert_eq!(runs(&fake).len(), 1);
}

/// Someone else removes a running job: that job fails (not found), the other customer's job
/// is done, and the fleet ends Ok.
#[tokio::test(start_paused = true)]
async fn a_job_removed_by_someone_else_fails_not_the_fleet() {
    let (fake, client) = fake_and_client(fleet_fake().batch_ops_per_second(100)).await;
    let (a, b) = (CUSTOMERS[0], CUSTOMERS[1]);
    let operations: HashMap<&str, Vec<MutateOperation>> = [
        (a, customer_operations(a, 10, "rm")),
        (b, customer_operations(b, 10, "keep")),
    ]
    .into();
    let a_id: CustomerId = a.parse().unwrap();
    let b_id: CustomerId = b.parse().unwrap();
    let mut runner = FleetRunner::new(&client, work(&operations)).with_poll_schedule(quick_polls());
    let mut names = BTreeMap::new();
    let mut removed = None;
    let report = tokio::time::timeout(DAY, async {
        loop {
            match runner.poll().await.unwrap() {
                FleetEvent::Job {
                    customer,
                    job,
                    event: Event::Created { job: name },
                } => {
                    names.insert((customer, job), name);
                }
                FleetEvent::Job {
                    customer,
                    job,
                    event: Event::Started { .. },
                } if customer == a_id && removed.is_none() => {
                    let name = names[&(customer, job)].clone();
                    assert!(fake.remove_batch_job(&name), "{name} exists");
                    removed = Some(name);
                }
                FleetEvent::Done(report) => break report,
                _ => {}
            }
        }
    })
    .await
    .expect("the fleet hung");
    assert!(removed.is_some());
    let JobResult::Failed(error) = &report.customers[&a_id].jobs[0].result else {
        panic!("the removed job: {report:?}");
    };
    assert!(
        error.to_string().to_lowercase().contains("not found"),
        "{error}"
    );
    assert!(
        matches!(
            &report.customers[&b_id].jobs[0].result,
            JobResult::Done(s) if s.succeeded == 160
        ),
        "{report:?}"
    );
    holds_exactly(&fake, &names[&(b_id, 0)], &operations[b]).unwrap();
}

/// A re-openable source that gives 5 fewer operations on its second reading: the job is not
/// run, and the error names both counts.
#[tokio::test(start_paused = true)]
async fn a_source_short_on_its_second_reading_is_not_run() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let all = small_job(5);
    let n = all.len();
    let openings = Arc::new(AtomicUsize::new(0));
    let source = {
        let openings = openings.clone();
        OperationSource::reopenable(move || {
            let take = if openings.fetch_add(1, Ordering::SeqCst) == 0 {
                n
            } else {
                n - 5
            };
            all[..take].to_vec()
        })
    };
    let driver = BatchJobDriver::new(&client, CID, source)
        .unwrap()
        .with_poll_schedule(quick_polls());
    let error = tokio::time::timeout(DAY, driver.until_done(|_| {}))
        .await
        .expect("the driver hung")
        .expect_err("a shorter second reading must not run");
    let text = error.to_string();
    assert!(
        text.contains(&n.to_string()) && text.contains(&(n - 5).to_string()),
        "{text}"
    );
    assert!(openings.load(Ordering::SeqCst) >= 2);
    assert!(runs(&fake).is_empty(), "RunBatchJob: {:?}", runs(&fake));
}

/// A source that fails on its second opening: an error naming the failure, not a shorter
/// job; nothing uploaded, nothing run.
#[tokio::test(start_paused = true)]
async fn a_failing_source_is_an_error_not_an_end() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let all = Arc::new(small_job(5));
    let openings = Arc::new(AtomicUsize::new(0));
    let source = {
        let openings = openings.clone();
        OperationSource::try_reopenable_stream(move || {
            let second = openings.fetch_add(1, Ordering::SeqCst) > 0;
            let all = all.clone();
            futures_util::stream::iter((0..all.len()).map(move |i| {
                if second && i == 10 {
                    Err("disk gone".to_owned())
                } else {
                    Ok(all[i].clone())
                }
            }))
        })
    };
    let driver = BatchJobDriver::new(&client, CID, source)
        .unwrap()
        .with_poll_schedule(quick_polls());
    let error = tokio::time::timeout(DAY, driver.until_done(|_| {}))
        .await
        .expect("the driver hung")
        .expect_err("a failing source must not end the job");
    let text = error.to_string();
    assert!(text.contains("disk gone") && text.contains("10"), "{text}");
    assert!(runs(&fake).is_empty(), "RunBatchJob: {:?}", runs(&fake));
    let uploads = fake
        .calls()
        .iter()
        .filter(|c| c.method.ends_with(UPLOAD))
        .count();
    assert_eq!(uploads, 0, "the failing chunk was never sent");
}

/// The first, token-less upload lands late (nothing in it can be checked by the server): the
/// driver, seeing its job still empty, gives that job up (removed, so the late landing finds
/// none) and uploads to a new one, which runs holding the operations once. Before, it sent
/// the same token-less upload again into the same job, which then held them twice.
#[tokio::test(start_paused = true)]
async fn a_late_first_upload_gives_up_its_job_and_never_doubles() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let operations = small_job(5);
    assert_eq!(operations.len(), 50);
    fake.inject_times(UPLOAD, Fault::LandLate(Duration::from_secs(20)), 1);
    let driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations.clone()))
        .unwrap()
        .with_chunk_size(1000)
        .with_poll_schedule(quick_polls());
    let mut created = Vec::new();
    let summary = tokio::time::timeout(DAY, async {
        let mut stream = driver.into_stream();
        use futures_util::StreamExt as _;
        while let Some(event) = stream.next().await {
            match event.unwrap() {
                Event::Created { job } => created.push(job),
                Event::Done(summary) => return summary,
                _ => {}
            }
        }
        panic!("no end")
    })
    .await
    .expect("the driver hung");
    // Past the late landing.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(created.len(), 2, "{created:?}");
    assert_eq!(summary.succeeded, 50);
    assert!(
        fake.batch_job_operations(&created[0]).is_none(),
        "the first job was removed"
    );
    holds_exactly(&fake, &created[1], &operations).unwrap();
    assert_eq!(runs(&fake), vec![created[1].clone()]);
}

/// A job that holds more than the driver uploaded (another writer added to it while the
/// driver was stopped before RunBatchJob) is never run: the job is read first, and the
/// error gives both counts.
#[tokio::test(start_paused = true)]
async fn a_job_holding_more_than_uploaded_is_not_run() {
    use google_ads::latest::services::AddBatchJobOperationsRequest;
    let (fake, client) = fake_and_client(fast_fake()).await;
    let operations = small_job(5);
    let mut driver =
        BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations.clone()))
            .unwrap()
            .with_poll_schedule(quick_polls());
    while driver.state().stage != Stage::Starting {
        driver.poll().await.unwrap();
    }
    let saved = driver.state().clone();
    drop(driver);
    let job = saved.job.clone().unwrap();
    client
        .batch_job()
        .add_batch_job_operations(AddBatchJobOperationsRequest {
            resource_name: job.clone(),
            sequence_token: saved.sequence_token.clone().unwrap(),
            mutate_operations: small_job(1),
        })
        .await
        .unwrap();
    let mut driver = BatchJobDriver::resume(&client, saved, OperationSource::from_vec(operations))
        .with_poll_schedule(quick_polls());
    let error = loop {
        match driver.poll().await {
            Err(error) => break error,
            Ok(Event::Started { .. }) => panic!("a job holding more was run"),
            Ok(_) => {}
        }
    };
    let text = error.to_string();
    assert!(text.contains("60") && text.contains("50"), "{text}");
    assert!(runs(&fake).is_empty(), "RunBatchJob: {:?}", runs(&fake));
}

/// A result far past the job's operations is an error naming it and the total (no 10^12
/// placeholders).
#[tokio::test(start_paused = true)]
async fn results_past_the_total_or_going_back_are_errors() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    fake.inject(RESULTS, Fault::BogusResultIndex(1_000_000_000_000));
    let driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(small_job(3)))
        .unwrap()
        .with_results_page_size(10)
        .with_poll_schedule(quick_polls());
    let mut delivered = 0;
    let error = tokio::time::timeout(
        DAY,
        driver.until_done(|page| delivered += page.outcomes.len()),
    )
    .await
    .expect("the driver hung")
    .expect_err("a bogus index is an error");
    let text = error.to_string();
    assert!(
        text.contains("1000000000000") && text.contains("30"),
        "{text}"
    );
    assert_eq!(delivered, 0);
    assert_eq!(runs(&fake).len(), 1);
}

/// A results page that starts again with the last result of the previous one is an error
/// naming both indices.
#[tokio::test(start_paused = true)]
async fn results_going_back_are_errors() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let mut driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(small_job(3)))
        .unwrap()
        .with_results_page_size(10)
        .with_poll_schedule(quick_polls());
    let mut pages = Vec::new();
    let error = tokio::time::timeout(DAY, async {
        loop {
            match driver.poll().await {
                Ok(Event::Results(page)) => {
                    if pages.is_empty() {
                        // The second page repeats the first's last result.
                        fake.inject(RESULTS, Fault::RepeatResults);
                    }
                    pages.push((page.first, page.outcomes.len()));
                }
                Ok(Event::Done(_)) => panic!("done despite a repeated result: {pages:?}"),
                Ok(_) => {}
                Err(error) => break error,
            }
        }
    })
    .await
    .expect("the driver hung");
    assert_eq!(pages, [(0, 10)]);
    let text = error.to_string();
    assert!(
        text.contains("operation_index 9") && text.contains("index 9 was already placed"),
        "{text}"
    );
}

/// A quota error asking to wait 3 hours is not slept: the driver stops within minutes, the
/// error naming the delay and the 120 s cap.
#[tokio::test(start_paused = true)]
async fn an_hours_long_quota_delay_is_not_slept() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    fake.inject_always(
        UPLOAD,
        Fault::Quota {
            retry_delay: Duration::from_secs(3 * 3600),
            developer: false,
        },
    );
    let driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(small_job(3)))
        .unwrap()
        .with_poll_schedule(quick_polls());
    let started = tokio::time::Instant::now();
    let error = tokio::time::timeout(DAY, driver.until_done(|_| {}))
        .await
        .expect("the driver hung")
        .expect_err("a 3 h quota delay stops the driver");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5 * 60), "waited {elapsed:?}");
    let text = error.to_string();
    assert!(text.contains("10800s") && text.contains("120s"), "{text}");
    assert!(runs(&fake).is_empty());
}

/// Status reads failing more often than the layer retries while the job runs: one more poll
/// each, and the job finishes with every outcome.
#[tokio::test(start_paused = true)]
async fn a_failing_status_read_is_one_more_poll() {
    let (fake, client) = fake_and_client(fast_fake().batch_ops_per_second(10)).await;
    let operations = small_job(3);
    let mut driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations))
        .unwrap()
        .with_poll_schedule(quick_polls());
    let mut outcomes = Vec::new();
    let mut searches_at_start = None;
    let summary = tokio::time::timeout(DAY, async {
        loop {
            match driver.poll().await.unwrap() {
                Event::Started { .. } => {
                    searches_at_start = Some(
                        fake.calls()
                            .iter()
                            .filter(|c| c.method.ends_with(SEARCH))
                            .count(),
                    );
                    fake.inject_times(SEARCH, Fault::Status(Code::Unavailable), 6);
                }
                Event::Results(page) => outcomes.extend(page.outcomes),
                Event::Done(summary) => break summary,
                _ => {}
            }
        }
    })
    .await
    .expect("the driver hung");
    assert_eq!(outcomes.len(), 30);
    assert!(
        outcomes
            .iter()
            .enumerate()
            .all(|(i, o)| o.index == i as u64)
    );
    assert_eq!(summary.succeeded, 30);
    // The 6 failed reads and at least one that succeeded, all after the run.
    let reads = fake
        .calls()
        .iter()
        .filter(|c| c.method.ends_with(SEARCH))
        .filter(|c| {
            c.decode::<SearchGoogleAdsRequest>()
                .is_ok_and(|r| r.query.contains("FROM batch_job"))
        })
        .count();
    assert!(
        reads >= searches_at_start.unwrap() + 7,
        "{reads} batch_job reads"
    );
}

/// Calls of each batch method in the fake's log.
fn batch_calls(fake: &FakeServer) -> BTreeMap<&'static str, usize> {
    [CREATE, UPLOAD, RUN, RESULTS, SEARCH]
        .into_iter()
        .map(|m| {
            let n = fake
                .calls()
                .iter()
                .filter(|c| c.method.ends_with(m))
                .count();
            (m, n)
        })
        .collect()
}

/// 4 customers x 2 jobs (uploads of 8, results pages of 8), with `fault` on the first call
/// of every batch RPC and about `fraction` of the later ones: the fleet ends Ok, every job done, each holding its
/// operations exactly once. Returns the calls of each method.
async fn fleet_through_resets(
    fault: Option<Fault>,
    fraction: f64,
    seed: u64,
) -> BTreeMap<&'static str, usize> {
    let mut faults = Vec::new();
    for method in [CREATE, UPLOAD, RUN, RESULTS, SEARCH] {
        faults.extend(fault.clone().map(|f| (method, f)));
    }
    fleet_faulted(faults, fraction, seed).await
}

/// The fleet of [`fleet_through_resets`] with each (method, fault) on the first call of that
/// method and about `fraction` of the later ones.
async fn fleet_faulted<'a>(
    faults: impl IntoIterator<Item = (&'a str, Fault)>,
    fraction: f64,
    seed: u64,
) -> BTreeMap<&'static str, usize> {
    let (fake, client) = fake_and_client(fleet_fake()).await;
    let operations: HashMap<&str, Vec<MutateOperation>> = CUSTOMERS[..4]
        .iter()
        .map(|c| (*c, customer_operations(c, 4, "reset")))
        .collect();
    let faults: Vec<(&str, Fault)> = faults.into_iter().collect();
    for (method, fault) in &faults {
        // The first call surely, then about `fraction` of them.
        fake.inject(method, fault.clone());
        if fraction > 0.0 {
            fake.inject_sometimes(method, fault.clone(), fraction, seed);
        }
    }
    let fault = faults.first().map(|(m, f)| format!("{m} {f:?}"));
    let kept = Kept::default();
    let runner = FleetRunner::new(&client, work(&operations))
        .with_job_size(32)
        .with_chunk_size(8)
        .with_results_page_size(8)
        .with_poll_schedule(quick_polls())
        .with_state_sink(kept.clone());
    let report = tokio::time::timeout(DAY, runner.until_done(|_, _| {}))
        .await
        .unwrap_or_else(|_| panic!("{fault:?}: the fleet hung"))
        .unwrap_or_else(|e| panic!("{fault:?}: the fleet failed: {e}"));
    for customer in &CUSTOMERS[..4] {
        let id: CustomerId = customer.parse().unwrap();
        let jobs = &report.customers[&id].jobs;
        assert_eq!(jobs.len(), 2, "{fault:?} {customer}");
        let all = &operations[customer];
        for (number, job) in jobs.iter().enumerate() {
            assert!(
                matches!(&job.result, JobResult::Done(s) if s.succeeded == 32),
                "{fault:?} {customer} job {number}: {:?}",
                job.result
            );
            let name = kept.job(customer, number).unwrap();
            holds_exactly(&fake, &name, &all[job.start as usize..job.end as usize])
                .unwrap_or_else(|e| panic!("{fault:?} {customer} job {number}: {e}"));
        }
    }
    batch_calls(&fake)
}

/// Connections broken in every batch RPC (MutateBatchJob, AddBatchJobOperations,
/// RunBatchJob, ListBatchJobResults, GoogleAdsService/Search), before or after handling:
/// the fleet ends Ok, every job done, each holding its operations exactly once. The fake
/// draws one `sometimes` fault per method, so resets after handling and before handling are
/// two runs; the call log shows the faults fired: requests lost before handling are sent
/// again, and so are idempotent creates and results pages whose answer was lost (a lost
/// upload or RunBatchJob answer is settled by reading the job, which the log cannot tell
/// from the watcher's reads).
#[tokio::test(start_paused = true)]
async fn broken_connections_in_batch_rpcs_never_end_the_fleet() {
    let clean = fleet_through_resets(None, 0.0, 0).await;
    let before = fleet_through_resets(Some(Fault::ResetBeforeHandling), 0.1, 1009).await;
    for method in [CREATE, UPLOAD, RUN, RESULTS] {
        assert!(
            before[method] > clean[method],
            "{method}: no request lost before handling ({before:?} vs {clean:?})"
        );
    }
    let after = fleet_through_resets(Some(Fault::ResetAfterHandling), 0.1, 2003).await;
    for method in [CREATE, RESULTS] {
        assert!(
            after[method] > clean[method],
            "{method}: no answer lost after handling ({after:?} vs {clean:?})"
        );
    }
}

/// A connection gone silent after handling a batch RPC (the path forgot the flow; nobody
/// closes it), one method at a time: the client's keep-alive finds it dead 40 s later, every
/// call made on it meanwhile fails as broken and is sent again or reconciled, and the fleet
/// ends Ok with every job done, each holding its operations exactly once. One silence per run:
/// each takes down every call of every account for 40 s, so a few in a row (each retry landing
/// on the next silent connection) would exhaust a call's attempts, as they would in life.
#[tokio::test(start_paused = true)]
async fn a_connection_gone_silent_in_any_batch_rpc_never_ends_the_fleet() {
    let clean = fleet_through_silence(None).await;
    for method in [CREATE, UPLOAD, RUN, RESULTS, SEARCH] {
        let silenced = fleet_through_silence(Some(method)).await;
        assert!(
            silenced.1 >= clean.1 + Duration::from_secs(40),
            "{method}: the fleet took {:?}, {:?} without the silence",
            silenced.1,
            clean.1
        );
        if [CREATE, RESULTS, SEARCH].contains(&method) {
            assert!(
                silenced.0[method] > clean.0[method],
                "{method}: the lost answer was not asked again ({:?} vs {:?})",
                silenced.0,
                clean.0
            );
        }
    }
}

/// [`fleet_through_resets`] with the first call of `method` answered on a connection that then
/// goes silent: the calls of each method, and how long the fleet took on the paused clock.
async fn fleet_through_silence(method: Option<&str>) -> (BTreeMap<&'static str, usize>, Duration) {
    let start = tokio::time::Instant::now();
    let calls = fleet_faulted(method.map(|m| (m, Fault::SilenceAfterHandling)), 0.0, 0).await;
    (calls, start.elapsed())
}

/// The ad group's touch (`adGroups/ID`) of keyword creates made by `shared_ad_group_keywords`.
fn ad_group_touch(keyword: &MutateOperation) -> String {
    use google_ads::latest::services::{ad_group_criterion_operation, mutate_operation};
    let Some(mutate_operation::Operation::AdGroupCriterionOperation(op)) = &keyword.operation
    else {
        panic!("not a keyword create: {keyword:?}");
    };
    let Some(ad_group_criterion_operation::Operation::Create(criterion)) = &op.operation else {
        panic!("not a create: {op:?}");
    };
    let group = criterion.ad_group.as_deref().unwrap_or_default();
    format!("adGroups/{}", group.rsplit('/').next().unwrap_or_default())
}

/// A merged stream resumed with one slot on a state saved by a run with more: job 1 (uploaded,
/// waiting for its turn) touches what job 0 (never uploaded, re-fed from the stream) touches.
/// Job 1 must not take the only slot and wait there for job 0, which needs it (it did: a
/// deadlock).
#[tokio::test(start_paused = true)]
async fn a_resumed_stream_with_one_slot_does_not_deadlock() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let keywords = shared_ad_group_keywords(&client, CID, 40).await;
    // Job 1, uploaded by the earlier process, which stopped before running it.
    let mut driver = BatchJobDriver::new(
        &client,
        CID,
        OperationSource::from_vec(keywords[20..].to_vec()),
    )
    .unwrap();
    while driver.state().stage != Stage::Starting {
        driver.poll().await.unwrap();
    }
    let uploaded = driver.state().clone();
    drop(driver);
    let customer: CustomerId = CID.parse().unwrap();
    let touches: std::collections::BTreeSet<String> =
        [ad_group_touch(&keywords[0])].into_iter().collect();
    let mut state = FleetState::default();
    state.customers.insert(
        customer,
        vec![
            google_ads::batch::FleetJob::new(0, 20, touches.clone(), None),
            google_ads::batch::FleetJob::new(20, 40, touches, Some(uploaded)),
        ],
    );
    state.consumed.insert(customer, 40);
    let stream = futures_util::stream::iter(keywords.clone().into_iter().map(|k| (CID, k)));
    let report = tokio::time::timeout(
        DAY,
        FleetRunner::resume_stream(&client, state, stream)
            .with_max_running(1)
            .with_job_size(20)
            .with_poll_schedule(quick_polls())
            .until_done(|_, _| {}),
    )
    .await
    .expect("deadlocked: the resumed fleet never ended")
    .unwrap();
    let jobs = &report.customers[&customer].jobs;
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        match &job.result {
            JobResult::Done(summary) => assert_eq!(summary.succeeded, 20),
            other => panic!("job {}..{}: {other:?}", job.start, job.end),
        }
    }
    assert_eq!(fake.count(CID, "AdGroupCriterion"), 40);
    // Job 0 ran first: job 1 touches what it touches.
    let order: Vec<String> = fake
        .calls()
        .iter()
        .filter(|c| c.method.ends_with("RunBatchJob"))
        .filter_map(|c| c.decode::<RunBatchJobRequest>().ok())
        .map(|r| r.resource_name)
        .collect();
    assert_eq!(order.len(), 2, "{order:?}");
    let second = report_job_name(&fake, &order[1]);
    assert_eq!(
        second, 20,
        "job 1 (operations 20..40) runs second: {order:?}"
    );
}

/// The first operation index, in the customer's work, of the job named `job`: its uploads'
/// first keyword text (`shared K`) gives it.
fn report_job_name(fake: &FakeServer, job: &str) -> usize {
    use google_ads::latest::services::AddBatchJobOperationsRequest;
    let upload = fake
        .calls()
        .iter()
        .filter(|c| c.method.ends_with("AddBatchJobOperations"))
        .filter_map(|c| c.decode::<AddBatchJobOperationsRequest>().ok())
        .find(|r| r.resource_name == job)
        .expect("the job was uploaded");
    let text = format!("{:?}", upload.mutate_operations[0]);
    let at = text.find("shared ").expect("a shared keyword") + "shared ".len();
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Calls as the fake logged them: method, arrival on tokio's clock, request bytes.
type CallLog = Vec<(String, Duration, Vec<u8>)>;

/// One faulted fleet run (connections broken before and after handling, UNAVAILABLE and a
/// quota delay, each on a seeded share of the batch RPCs) with the client's jitter seeded.
async fn seeded_fleet_run(seed: u64) -> CallLog {
    google_ads::fake::seed_jitter(Some(seed));
    let (fake, client) = fake_and_client(fleet_fake()).await;
    let operations: HashMap<&str, Vec<MutateOperation>> = CUSTOMERS
        .iter()
        .map(|c| (*c, customer_operations(c, 3, "replay")))
        .collect();
    let faults = [
        Fault::ResetBeforeHandling,
        Fault::ResetAfterHandling,
        Fault::Status(Code::Unavailable),
    ];
    for (i, method) in [CREATE, UPLOAD, RUN, RESULTS, SEARCH].iter().enumerate() {
        fake.inject_sometimes(
            method,
            faults[i % faults.len()].clone(),
            0.15,
            seed + i as u64,
        );
    }
    let report = tokio::time::timeout(
        DAY,
        FleetRunner::new(&client, work(&operations))
            .with_job_size(16)
            .with_chunk_size(8)
            .with_results_page_size(8)
            .with_poll_schedule(quick_polls())
            .until_done(|_, _| {}),
    )
    .await
    .expect("the fleet hung")
    .expect("the fleet failed");
    assert!(report.all_done(), "{report:?}");
    google_ads::fake::seed_jitter(None);
    fake.calls()
        .into_iter()
        .map(|c| (c.method, c.at, c.request))
        .collect()
}

/// The ground of the seeded simulation: over the fake's in-memory pipes with the client's
/// jitter seeded, the same faulted fleet replays call for call (without the seed it parts at
/// the first retried create). Over loopback the paused clock jumps to the next timer while a
/// task waits on a socket, so a run could depend on the kernel's timing; pipes rule that out
/// by construction (this run happened to replay over loopback too).
#[tokio::test(start_paused = true)]
async fn a_faulted_fleet_over_pipes_replays_call_for_call() {
    let first = seeded_fleet_run(41).await;
    let second = seeded_fleet_run(41).await;
    assert!(first.len() > 100, "{}", first.len());
    let differs = first
        .iter()
        .zip(&second)
        .position(|(a, b)| a != b)
        .map(|i| (i, &first[i].0, first[i].1, &second[i].0, second[i].1));
    assert_eq!(differs, None, "the runs part at this call");
    assert_eq!(first.len(), second.len());
    let other = seeded_fleet_run(42).await;
    assert_ne!(first, other, "another seed, another run");
}
