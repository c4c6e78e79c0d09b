//! Crashes and resumes: a future dropped mid-call (paused clock) and a process killed after
//! each stage (real clock) end with the same outcome per operation as a run left alone; a
//! different source is refused.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::time::Duration;

use google_ads::batch::{BatchState, Event, Stage, StateFile};

use super::*;

const TREES: usize = 60;

fn operations() -> Vec<MutateOperation> {
    job_operations(TREES, 4, true).0
}

/// The outcomes of a run left alone, on a fake of its own.
async fn uninterrupted() -> Vec<String> {
    let (_fake, client) = fake_and_client(fast_fake()).await;
    let driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations()))
        .unwrap()
        .with_chunk_size(40)
        .with_results_page_size(50)
        .with_poll_schedule(quick_polls());
    codes(&run_to_end(driver).await.0)
}

/// Outcomes by index: a page delivered again after a resume is the same page.
fn collect(into: &mut BTreeMap<u64, BatchOutcome>, event: &Event) {
    if let Event::Results(page) = event {
        for outcome in &page.outcomes {
            into.entry(outcome.index).or_insert_with(|| outcome.clone());
        }
    }
}

/// Runs a job until `stop` says so, then cancels the next step mid-call and drops the
/// driver; resumes from the saved state and runs to the end.
async fn interrupted(stop: impl Fn(&BatchState) -> bool) -> (Vec<String>, FakeServer) {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    let mut outcomes = BTreeMap::new();
    let mut driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations()))
        .unwrap()
        .with_chunk_size(40)
        .with_results_page_size(50)
        .with_poll_schedule(quick_polls())
        .with_state_sink(StateFile::open(&path).unwrap());
    while !stop(driver.state()) {
        let event = driver.poll().await.unwrap();
        collect(&mut outcomes, &event);
    }
    // The next step, cut mid-flight (the paused clock runs the timeout out while the call
    // is on the wire), then the driver dropped: its state is saved.
    let _ = tokio::time::timeout(Duration::from_micros(1), driver.poll()).await;
    drop(driver);

    let file = StateFile::open(&path).unwrap();
    let state = file.load().unwrap().expect("a saved state");
    let driver = BatchJobDriver::resume(&client, state, OperationSource::from_vec(operations()))
        .with_chunk_size(40)
        .with_results_page_size(50)
        .with_poll_schedule(quick_polls())
        .with_state_sink(file);
    let mut stream = driver.into_stream();
    use futures_util::StreamExt as _;
    while let Some(event) = stream.next().await {
        collect(&mut outcomes, &event.unwrap());
    }
    let outcomes: Vec<BatchOutcome> = outcomes.into_values().collect();
    assert!(
        outcomes
            .iter()
            .enumerate()
            .all(|(i, o)| o.index == i as u64)
    );
    (codes(&outcomes), fake)
}

/// Where a run is cut.
type Stop = fn(&BatchState) -> bool;

#[tokio::test(start_paused = true)]
async fn a_dropped_driver_resumes_at_every_stage_with_the_same_outcomes() {
    let expected = uninterrupted().await;
    let ops = operations();
    assert_eq!(expected.len(), ops.len());
    let stops: [(&str, Stop); 5] = [
        ("created", |s| s.stage == Stage::Uploading),
        ("mid upload", |s| s.acknowledged >= 120),
        ("uploaded", |s| s.stage == Stage::Starting),
        ("running", |s| s.stage == Stage::Running),
        ("mid results", |s| s.results_delivered >= 100),
    ];
    for (name, stop) in stops {
        let (codes, fake) = interrupted(stop).await;
        assert_eq!(codes, expected, "stopped {name}");
        holds_exactly(&fake, &job_name(&fake), &ops).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The process died after RunBatchJob landed and before the state said so: the resumed
/// driver's RunBatchJob is refused (the job runs already), and it takes the job's operation
/// from the job itself instead of failing.
#[tokio::test(start_paused = true)]
async fn a_run_that_landed_before_the_crash_is_found_on_resume() {
    let expected = uninterrupted().await;
    let (fake, client) = fake_and_client(fast_fake()).await;
    let mut driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations()))
        .unwrap()
        .with_chunk_size(40)
        .with_results_page_size(50)
        .with_poll_schedule(quick_polls());
    while driver.state().stage != Stage::Starting {
        driver.poll().await.unwrap();
    }
    let state = driver.state().clone();
    drop(driver);
    let job = state.job.clone().unwrap();
    client
        .batch_job()
        .run_batch_job(google_ads::latest::services::RunBatchJobRequest {
            resource_name: job.clone(),
        })
        .await
        .unwrap();
    let resumed = BatchJobDriver::resume(&client, state, OperationSource::from_vec(operations()))
        .with_results_page_size(50)
        .with_poll_schedule(quick_polls());
    let (outcomes, _) = run_to_end(resumed).await;
    assert_eq!(codes(&outcomes), expected);
    let runs = fake
        .calls()
        .iter()
        .filter(|c| c.method.ends_with("RunBatchJob"))
        .count();
    // The job is read before RunBatchJob is sent again: the landed run is found there.
    assert_eq!(runs, 1, "the landed run only");
}

#[tokio::test(start_paused = true)]
async fn a_different_source_is_refused_on_resume() {
    let (_fake, client) = fake_and_client(fast_fake()).await;
    let mut driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations()))
        .unwrap()
        .with_chunk_size(40);
    while driver.state().acknowledged < 80 {
        driver.poll().await.unwrap();
    }
    let state = driver.state().clone();
    drop(driver);
    let (mut other, _) = job_operations(TREES, 4, true);
    other.swap(0, 1);
    let mut resumed = BatchJobDriver::resume(&client, state, OperationSource::from_vec(other));
    let error = resumed.poll().await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("its first 80 operations differ from those uploaded"),
        "{error}"
    );
}

/// The stages the child stops at, by name: the child prints `STOPPED <name>` once its saved
/// state reaches it, then waits to be killed.
fn reached(stage: &str, state: &BatchState) -> bool {
    match stage {
        "uploading" => state.acknowledged >= 80,
        "running" => state.stage == Stage::Running,
        "results" => state.results_delivered >= 100,
        _ => false,
    }
}

/// A process killed (SIGKILL) after each stage, resumed by another from its state file,
/// ends like a run left alone. Real clock, millisecond polls. The child's part is the
/// branch at the top: this test run again in a process of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_resumes_at_every_stage_with_the_same_outcomes() {
    if let (Ok(uri), Ok(path), Ok(stage)) = (
        std::env::var("ADS_BATCH_CHILD_FAKE"),
        std::env::var("ADS_BATCH_CHILD_STATE"),
        std::env::var("ADS_BATCH_CHILD_STOP"),
    ) {
        let client = crate::client_at(uri);
        let mut driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations()))
            .unwrap()
            .with_chunk_size(40)
            .with_results_page_size(50)
            .with_poll_schedule(quick_polls())
            .with_state_sink(StateFile::open(&path).unwrap());
        while !reached(&stage, driver.state()) {
            driver.poll().await.unwrap();
        }
        // libtest has printed `test NAME ... ` without a newline: this line ends it.
        println!("STOPPED {stage}");
        // Killed here: nothing more is saved (the kill skips Drop).
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    let expected = uninterrupted().await;
    for stage in ["uploading", "running", "results"] {
        let (fake, client) = fake_and_client(fast_fake()).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.json");
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "batch::resume::a_killed_process_resumes_at_every_stage_with_the_same_outcomes",
                "--exact",
                "--no-capture",
                "--test-threads=1",
            ])
            .env("ADS_BATCH_CHILD_FAKE", fake.uri())
            .env("ADS_BATCH_CHILD_STATE", &path)
            .env("ADS_BATCH_CHILD_STOP", stage)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (stopped, child) = tokio::task::spawn_blocking(move || {
            let stopped = std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|line| line.contains("STOPPED "));
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            (stopped, child)
        })
        .await
        .unwrap();
        drop(child);
        assert!(stopped, "the child reached {stage}");

        let state = StateFile::open(&path)
            .unwrap()
            .load()
            .unwrap()
            .expect("the child saved its state");
        let delivered = state.results_delivered;
        let driver =
            BatchJobDriver::resume(&client, state, OperationSource::from_vec(operations()))
                .with_results_page_size(50)
                .with_poll_schedule(quick_polls());
        let (outcomes, _) = run_to_end(driver).await;
        // The results the child delivered are the child's; the rest come now.
        let codes = codes(&outcomes);
        assert_eq!(codes, expected[delivered as usize..], "killed at {stage}");
        holds_exactly(&fake, &job_name(&fake), &operations()).unwrap();
    }
}
