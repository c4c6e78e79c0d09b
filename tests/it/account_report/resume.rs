//! A report killed at random points and resumed, seeded: the output is the uninterrupted
//! run's (compared sorted), each account's rows contiguous, none twice; and the state's rules.

use crate::rng::Rng;
use std::path::Path;
use std::time::Duration;

use google_ads::account_report::{AccountReport, Format, ReportSummary};
use google_ads::accounts::AccountTree;
use google_ads::fake::{FakeAccount, FakeServer};

use super::{TYPED_QUERY, assert_contiguous, rows_of, runs_of};

const MANAGER: &str = "8000000000";
/// Not a customer of the fake: every run fails it.
const DENIED: &str = "8000000099";

/// A manager with `clients` client accounts of random sizes and one denied account; every
/// call answered after `latency`.
async fn fleet(rng: &mut Rng, clients: usize, latency: Duration) -> FakeServer {
    let ids: Vec<String> = (1..=clients).map(|i| format!("80000000{i:02}")).collect();
    let mut builder = FakeServer::builder()
        .call_latency(latency)
        .customer(MANAGER);
    for id in &ids {
        builder = builder.customer(id);
    }
    let fake = builder.start().await.unwrap();
    let mut accounts = vec![FakeAccount::manager(MANAGER, "Agency")];
    let mut links = Vec::new();
    for id in ids.iter().map(String::as_str).chain([DENIED]) {
        accounts.push(FakeAccount::client(id, "Client"));
        links.push((MANAGER, id));
    }
    fake.account_tree(&accounts, &links).unwrap();
    for id in &ids {
        fake.synthetic_campaigns(id, rng.below(40) as usize);
    }
    fake
}

fn formats() -> Vec<Format> {
    #[allow(unused_mut)]
    let mut formats = vec![Format::Csv, Format::JsonLines];
    #[cfg(feature = "parquet")]
    formats.push(Format::Parquet);
    formats
}

/// The files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// One seed: an uninterrupted run, then the same report killed (dropped) at random points and
/// resumed until it completes, sometimes with the bytes of an account appended after the
/// state's last save left in the output (a crash between the two).
async fn kill_and_resume(seed: u64) {
    let mut rng = Rng(seed);
    let latency = Duration::from_millis(10 + rng.below(200));
    let clients = 6 + rng.below(10) as usize;
    let fake = fleet(&mut rng, clients, latency).await;
    let client = crate::client_in_memory(&fake);
    let tree = AccountTree::walk(&client, &[MANAGER.parse().unwrap()])
        .await
        .unwrap();
    let formats = formats();
    let format = formats[rng.below(formats.len() as u64) as usize];
    let in_flight = 1 + rng.below(4) as usize;
    // Parquet parts closed every few accounts, or only at the end.
    let rows_per_part = [1, 50, 200, u64::MAX][rng.below(4) as usize];
    let dir = tempfile::tempdir().unwrap();
    let name = |what: &str| dir.path().join(format!("{what}.{}", format.name()));
    let report = || {
        AccountReport::new(&client, TYPED_QUERY)
            .unwrap()
            .accounts(tree.clients())
            .accounts_in_flight(in_flight)
            .rows_per_part(rows_per_part)
    };

    let whole = name("whole");
    report().write(format, &whole).await.unwrap();
    let (header, expected) = rows_of(format, &whole);

    let output = name("resumed");
    let state = dir.path().join("state.json");
    let mut kills = 0;
    let summary: ReportSummary = loop {
        let run = report().state(&state).resume(kills > 0);
        // Longer after each kill: with one Parquet part for everything, a run must get to
        // its end once to keep anything.
        let deadline =
            Duration::from_millis(rng.below(latency.as_millis() as u64 * (6 + 2 * kills)));
        match tokio::time::timeout(deadline, run.write(format, &output)).await {
            Ok(summary) => break summary.unwrap(),
            Err(_) => kills += 1,
        }
        let partial = dir
            .path()
            .join(format!("resumed.{}.partial", format.name()));
        if rng.below(2) == 0 && partial.exists() {
            // An account appended after the last save: cut off on resume.
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&partial)
                .unwrap();
            file.write_all(b"8000000001,appended but not counted\n")
                .unwrap();
        }
        if rng.below(2) == 0 && format.name() == "parquet" && output.exists() {
            // An unfinished part, and a part closed after the last save.
            std::fs::write(output.join(".part-00007.parquet.partial"), b"PAR1 cut").unwrap();
            std::fs::write(output.join("part-99999.parquet"), b"PAR1 not counted").unwrap();
        }
        assert!(kills < 100, "seed {seed}: no end after 100 runs");
    };
    let (resumed_header, rows) = rows_of(format, &output);
    assert_eq!(resumed_header, header, "seed {seed}");
    assert_eq!(rows, expected, "seed {seed}: {kills} kills, {format:?}");
    if format == Format::JsonLines {
        // JSON lines: contiguity checked on the customer_id key.
        let text = std::fs::read_to_string(&output).unwrap();
        let ids: Vec<(String, usize)> = text.lines().map(|l| (l[16..26].to_owned(), 1)).fold(
            Vec::new(),
            |mut runs: Vec<(String, usize)>, (id, _)| {
                match runs.last_mut() {
                    Some((last, n)) if *last == id => *n += 1,
                    _ => runs.push((id, 1)),
                }
                runs
            },
        );
        assert_contiguous(&ids);
    } else if format == Format::Csv {
        assert_contiguous(&runs_of(&output));
    } else {
        #[cfg(feature = "parquet")]
        assert_contiguous(&super::parquet::account_runs(&output));
    }
    // Every account in the summary once, the denied one failed, rows as in the file.
    let mut ids: Vec<String> = summary
        .outcomes
        .iter()
        .map(|o| o.customer_id.to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), summary.outcomes.len(), "seed {seed}");
    assert_eq!(summary.rows(), expected.len() as u64, "seed {seed}");
    let failed: Vec<_> = summary
        .failed()
        .map(|o| o.customer_id.to_string())
        .collect();
    assert_eq!(failed, [DENIED], "seed {seed}");
    // Nothing left but the outputs and the state (and its lock).
    let mut left = files_in(dir.path());
    left.retain(|n| !n.starts_with("whole."));
    let out = format!("resumed.{}", format.name());
    assert_eq!(
        left,
        [out.as_str(), "state.json", "state.json.lock"],
        "seed {seed}"
    );
    if format.name() == "parquet" {
        assert!(files_in(&output).iter().all(|n| n.starts_with("part-")));
    }
    // Resuming a complete run changes nothing and sends nothing; so does resuming one that
    // stopped after its output was renamed into place but before the state said so.
    if format.name() != "parquet" && rng.below(2) == 0 {
        let mut saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        saved["account_report"]["complete"] = false.into();
        std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();
    }
    let sent = fake.calls().len();
    let again = report()
        .state(&state)
        .resume(true)
        .write(format, &output)
        .await
        .unwrap();
    assert_eq!(again.rows(), summary.rows(), "seed {seed}");
    assert!(again.outcomes.iter().all(|o| o.earlier));
    let failed_again: Vec<String> = again
        .failed()
        .map(|o| o.error.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(failed_again.len(), 1, "seed {seed}");
    assert!(
        failed_again[0].contains("failed in the run resumed")
            && failed_again[0].contains("USER_PERMISSION_DENIED"),
        "{failed_again:?}"
    );
    assert_eq!(rows_of(format, &output).1, expected);
    assert_eq!(fake.calls().len(), sent);
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["account_report"]["complete"], true, "seed {seed}");
}

#[tokio::test(start_paused = true)]
async fn a_report_killed_at_random_points_and_resumed_has_every_row_once() {
    for seed in 0..100 {
        // A hang fails its seed rather than stalling the test.
        tokio::time::timeout(Duration::from_secs(3600), kill_and_resume(seed))
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: still running after an hour"));
    }
}

#[tokio::test(start_paused = true)]
async fn the_state_refuses_another_report_a_second_run_and_a_missing_state() {
    let mut rng = Rng(7);
    let fake = fleet(&mut rng, 3, Duration::from_millis(50)).await;
    let client = crate::client_in_memory(&fake);
    let tree = AccountTree::walk(&client, &[MANAGER.parse().unwrap()])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("r.csv");
    let state = dir.path().join("state.json");
    let report = |query: &str| {
        AccountReport::new(&client, query)
            .unwrap()
            .accounts(tree.clients())
            .accounts_in_flight(1)
    };
    let sent = fake.calls().len();
    refused(
        report(TYPED_QUERY).state(&state).resume(true),
        &output,
        "does not exist: there is nothing to resume",
    )
    .await;
    refused(
        report(TYPED_QUERY).resume(true),
        &output,
        "resume: needs the state",
    )
    .await;
    assert_eq!(fake.calls().len(), sent, "nothing sent");

    // A run stopped halfway; its state is then refused by a new run, by another query, and
    // while the first run holds it.
    let first = report(TYPED_QUERY)
        .state(&state)
        .write(Format::Csv, &output);
    let _ = tokio::time::timeout(Duration::from_millis(120), first).await;
    refused(
        report(TYPED_QUERY).state(&state),
        &output,
        "exists, from an earlier run: resume it",
    )
    .await;
    refused(
        report("SELECT campaign.id FROM campaign")
            .state(&state)
            .resume(true),
        &output,
        "was written for the query",
    )
    .await;
    let holding = report(TYPED_QUERY)
        .state(&state)
        .resume(true)
        .write(Format::Csv, &output);
    let mut holding = Box::pin(holding);
    assert!(futures_poll_once(holding.as_mut()).await.is_none());
    refused(
        report(TYPED_QUERY).state(&state).resume(true),
        &output,
        "in use by another run",
    )
    .await;
    drop(holding);
}

/// `report` written as CSV to `output` is refused with an error saying `says`.
async fn refused(report: AccountReport<'_>, output: &Path, says: &str) {
    let error = report.write(Format::Csv, output).await.unwrap_err();
    assert!(error.to_string().contains(says), "{error}");
}

/// Polls `future` once: its output if it is ready at once.
async fn futures_poll_once<F: std::future::Future + Unpin>(mut future: F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}
