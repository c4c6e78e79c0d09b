//! The state on disk: broken, foreign and half-written files are errors naming the file with
//! nothing sent; a state is locked against a second run (in this process or another); a
//! save that fails stops the run before the next page, and the next process delivers it.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::path::Path;
use std::time::Duration;

use google_ads::batch::{BatchState, Event, FleetRunner, Stage, StateFile, StateFolder};

use super::fleet::{CUSTOMERS, customer_operations, fleet_fake, work};
use super::*;

fn operations() -> Vec<MutateOperation> {
    job_operations(20, 4, true).0
}

/// A driver on `path` run until `stop`, then dropped (its state saved).
async fn saved_at(client: &GoogleAdsClient, path: &Path, stop: Stage) {
    let mut driver = BatchJobDriver::new(client, CID, OperationSource::from_vec(operations()))
        .unwrap()
        .with_chunk_size(20)
        .with_results_page_size(20)
        .with_poll_schedule(quick_polls())
        .with_state_sink(StateFile::open(path).unwrap());
    while driver.state().stage < stop {
        driver.poll().await.unwrap();
    }
}

/// The error of loading `path` after `spoil` changed its text; asserts nothing reached the
/// fake since.
async fn load_error(fake: &FakeServer, path: &Path, spoil: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, spoil(&text)).unwrap();
    let calls = fake.calls().len();
    let error = StateFile::open(path)
        .unwrap()
        .load()
        .unwrap_err()
        .to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert_eq!(fake.calls().len(), calls, "sent something: {error}");
    std::fs::write(path, text).unwrap();
    error
}

/// A state file cut in half (what a crash leaves when a save is not durable), of another
/// version, with no version, with a field missing, a field unknown or `null` where a value
/// belongs: each an error naming the file and what is wrong, nothing sent.
#[tokio::test(start_paused = true)]
async fn broken_or_foreign_state_files_are_errors_naming_the_file() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    saved_at(&client, &path, Stage::Running).await;
    let whole = StateFile::open(&path).unwrap().load().unwrap().unwrap();
    assert_eq!(whole.stage, Stage::Running);

    let half = load_error(&fake, &path, |t| t[..t.len() / 2].to_owned()).await;
    assert!(half.contains("not a whole state"), "{half}");
    let empty = load_error(&fake, &path, |_| String::new()).await;
    assert!(empty.contains("not a whole state"), "{empty}");
    let version = load_error(&fake, &path, |t| {
        t.replace("\"version\": 1", "\"version\": 7")
    })
    .await;
    assert!(
        version.contains("version 7: this crate reads version 1 only"),
        "{version}"
    );
    let none = load_error(&fake, &path, |t| t.replace("\"version\": 1,", "")).await;
    assert!(none.contains("no \"version\" field"), "{none}");
    // Lines of the pretty-printed file: `    "total": 80,`.
    let without = |key: &'static str| {
        move |t: &str| {
            t.lines()
                .filter(|l| !l.trim_start().starts_with(&format!("\"{key}\"")))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    let missing = load_error(&fake, &path, without("total")).await;
    assert!(missing.contains("missing field `total`"), "{missing}");
    // An option missing is not taken for `None`.
    let missing = load_error(&fake, &path, without("results_page_token")).await;
    assert!(
        missing.contains("missing field `results_page_token`"),
        "{missing}"
    );
    let unknown = load_error(&fake, &path, |t| {
        t.replacen("\"stage\"", "\"colour\": \"red\",\n    \"stage\"", 1)
    })
    .await;
    assert!(unknown.contains("unknown field `colour`"), "{unknown}");
    let null = load_error(&fake, &path, |t| {
        t.lines()
            .map(|l| {
                if l.trim_start().starts_with("\"acknowledged\":") {
                    "    \"acknowledged\": null,"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
    .await;
    assert!(null.contains("invalid type: null, expected u64"), "{null}");
    // Untouched again, it loads as saved.
    assert_eq!(
        StateFile::open(&path).unwrap().load().unwrap().unwrap(),
        whole
    );
}

/// A fleet's folder with a job file cut in half: the error names that file.
#[tokio::test(start_paused = true)]
async fn a_fleet_folder_with_a_broken_job_file_names_it() {
    let (_fake, client) = fake_and_client(fleet_fake()).await;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("fleet");
    let operations: HashMap<&str, Vec<MutateOperation>> = CUSTOMERS[..2]
        .iter()
        .map(|c| (*c, customer_operations(c, 4, "files")))
        .collect();
    FleetRunner::new(&client, work(&operations))
        .with_job_size(32)
        .with_poll_schedule(quick_polls())
        .with_state_sink(StateFolder::open(&folder).unwrap())
        .until_done(|_, _| {})
        .await
        .unwrap();
    let loaded = StateFolder::open(&folder).unwrap().load().unwrap().unwrap();
    assert_eq!(loaded.customers.len(), 2);
    assert!(
        loaded
            .customers
            .values()
            .flatten()
            .all(|job| job.state.as_ref().is_some_and(|s| s.stage == Stage::Done))
    );
    let job = folder.join("jobs").join(format!("{}-1.json", CUSTOMERS[1]));
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(&job, &text[..text.len() / 2]).unwrap();
    let error = StateFolder::open(&folder)
        .unwrap()
        .load()
        .unwrap_err()
        .to_string();
    assert!(error.contains(&job.display().to_string()), "{error}");
    assert!(error.contains("not a whole state"), "{error}");
    // No temporary file is left behind by the saves.
    for dir in [folder.clone(), folder.join("jobs")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(!name.ends_with(".tmp"), "{name}");
        }
    }
}

/// Two runs on one state in one process: the second `open` is refused (the lock is per open
/// file, so even this process cannot take it twice), naming the state; once the first is
/// dropped, it opens.
#[tokio::test]
async fn a_second_run_in_this_process_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    let first = StateFile::open(&path).unwrap();
    let error = StateFile::open(&path).unwrap_err().to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(error.contains("in use by another run"), "{error}");
    drop(first);
    StateFile::open(&path).unwrap();

    let folder = dir.path().join("fleet");
    let first = StateFolder::open(&folder).unwrap();
    let error = StateFolder::open(&folder).unwrap_err().to_string();
    assert!(error.contains("in use by another run"), "{error}");
    drop(first);
    StateFolder::open(&folder).unwrap();
}

/// A state held by another process: refused while that process lives; the lock goes with
/// the process (killed, no clean-up), and the state opens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_held_by_another_process_is_refused() {
    if let Ok(path) = std::env::var("ADS_LOCK_CHILD_STATE") {
        let _held = StateFile::open(&path).unwrap();
        // libtest has printed `test NAME ... ` without a newline: this line ends it.
        println!("LOCKED");
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "batch::files::a_state_held_by_another_process_is_refused",
            "--exact",
            "--no-capture",
            "--test-threads=1",
        ])
        .env("ADS_LOCK_CHILD_STATE", &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let locked = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("LOCKED"))
    })
    .await
    .unwrap();
    assert!(locked, "the child did not take the lock");
    let error = StateFile::open(&path).unwrap_err().to_string();
    assert!(error.contains("in use by another run"), "{error}");
    child.kill().unwrap();
    child.wait().unwrap();
    StateFile::open(&path).unwrap();
}

/// A save that fails (the state's path made a folder, so the rename over it fails; a
/// read-only folder would not stop root, which CI runs as) stops the driver when it
/// acknowledges a page, before the next is delivered; a new process resumes from the last
/// good state and delivers that page again, then the rest: every outcome once at least, in
/// order, none lost.
#[tokio::test(start_paused = true)]
async fn a_failed_save_stops_before_the_next_page_and_the_next_process_delivers_it() {
    let (_fake, client) = fake_and_client(fast_fake()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    let mut driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations()))
        .unwrap()
        .with_chunk_size(20)
        .with_results_page_size(20)
        .with_poll_schedule(quick_polls())
        .with_state_sink(StateFile::open(&path).unwrap());
    let first = loop {
        if let Event::Results(page) = driver.poll().await.unwrap() {
            break page;
        }
    };
    assert_eq!(first.first, 0);
    // The last good state, read beside the driver's lock.
    let good_bytes = std::fs::read(&path).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&good_bytes).unwrap();
    let good: BatchState = serde_json::from_value(saved["batch_job"].clone()).unwrap();
    assert_eq!(good.results_delivered, 0);
    // The next step acknowledges the page: its save must fail, and nothing more come out.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir_all(path.join("in-the-way")).unwrap();
    let error = driver.poll().await.unwrap_err();
    assert!(
        error.to_string().contains("state could not be saved"),
        "{error}"
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    drop(driver);

    // The next process: the last good state back where it was.
    std::fs::remove_dir_all(&path).unwrap();
    std::fs::write(&path, &good_bytes).unwrap();
    let file = StateFile::open(&path).unwrap();
    let state = file.load().unwrap().unwrap();
    assert_eq!(state, good);
    let mut driver =
        BatchJobDriver::resume(&client, state, OperationSource::from_vec(operations()))
            .with_results_page_size(20)
            .with_poll_schedule(quick_polls())
            .with_state_sink(file);
    let mut next = Vec::new();
    loop {
        match driver.poll().await.unwrap() {
            Event::Results(page) => next.push(page.first),
            Event::Done(_) => break,
            _ => {}
        }
    }
    let total = operations().len() as u64;
    let expected: Vec<u64> = (0..total).step_by(20).collect();
    assert!(expected.len() > 2, "{total}");
    assert_eq!(
        next, expected,
        "the page not acknowledged comes again, then the rest"
    );
}
