//! One report over thousands of accounts (`AccountReport`), real clock, over loopback:
//!
//! 1. Scale: 2,000 accounts x 100 rows, every call answered after 50 ms, 32 accounts in
//!    flight, CSV: the wall time against the ideal schedule (2,000 / 32 rounds of 50 ms:
//!    3.15 s), and the peak RSS (VmHWM) of the reporting process at 100 and at 2,000
//!    accounts. The fake serves from a process of its own, so the figure is the client's
//!    memory alone; each size reports from a fresh process. The fake encodes an account's
//!    rows the first time a query asks for them (about 1 ms of its CPU per account), so
//!    one unmeasured run of the same report warms it first: the figure is the client's
//!    schedule, not the fake's set-up.
//! 2. Rows per second written, no latency: the same 2,000 x 100 report to CSV and to Parquet
//!    (the default part size: one part of 200,000 rows),
//!    against one account's SearchStream of the same 200,000 rows written by `CsvWriter`
//!    (the single-account stream's rate; the one-account Parquet rate beside it). Fake in
//!    this process.
//!
//! Run with: cargo bench --bench account_report --features fake,parquet

mod common;
use common::peak_rss_kib;

use std::io::BufRead as _;
use std::time::{Duration, Instant};

use google_ads::account_report::{AccountReport, Format};
use google_ads::accounts::AccountTree;
use google_ads::fake::{FakeAccount, FakeServer};
use google_ads::search::{CsvWriter, ParquetWriter, StreamExt as _};
use google_ads::{Config, GoogleAdsClient};

const MANAGER: &str = "6000000000";
const ROWS: usize = 100;
const IN_FLIGHT: usize = 32;
const LATENCY: Duration = Duration::from_millis(50);
const QUERY: &str = "SELECT campaign.id, campaign.name, campaign.status, metrics.clicks, \
    metrics.ctr, metrics.cost_micros, segments.date FROM campaign";
const ROUNDS: usize = 3;
/// Set in the fake's process: its accounts.
const FAKE: &str = "ACCOUNT_REPORT_BENCH_FAKE";
/// Set in a reporting process: the fake's address.
const REPORT: &str = "ACCOUNT_REPORT_BENCH_REPORT";

fn account(i: usize) -> String {
    format!("{}", 6_000_000_001 + i)
}

/// A manager over `accounts` clients of `ROWS` rows each.
async fn fake(accounts: usize, latency: Duration) -> FakeServer {
    let mut builder = FakeServer::builder()
        .call_latency(latency)
        .customer(MANAGER);
    for i in 0..accounts {
        builder = builder.customer(account(i));
    }
    let fake = builder.start().await.unwrap();
    let ids: Vec<String> = (0..accounts).map(account).collect();
    let mut tree = vec![FakeAccount::manager(MANAGER, "Agency")];
    tree.extend(ids.iter().map(|id| FakeAccount::client(id, "Client")));
    let links: Vec<(&str, &str)> = ids.iter().map(|id| (MANAGER, id.as_str())).collect();
    fake.account_tree(&tree, &links).unwrap();
    for id in &ids {
        fake.synthetic_campaigns(id, ROWS);
    }
    fake
}

fn client(uri: String) -> GoogleAdsClient {
    let config = Config::builder()
        .with_developer_token("bench-dev-token")
        .with("access_token", "bench-token")
        .with_endpoint(uri)
        .build()
        .unwrap();
    GoogleAdsClient::builder(config).build().unwrap()
}

/// The report over every account under the manager into `format`: wall time and rows.
async fn report(client: &GoogleAdsClient, format: Format) -> (Duration, u64) {
    let tree = AccountTree::walk(client, &[MANAGER.parse().unwrap()])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let summary = AccountReport::new(client, QUERY)
        .unwrap()
        .accounts(tree.clients())
        .accounts_in_flight(IN_FLIGHT)
        .write(format, &dir.path().join("report"))
        .await
        .unwrap();
    let wall = started.elapsed();
    assert_eq!(summary.failed().count(), 0);
    (wall, summary.rows())
}

/// One account's `rows` rows, streamed and written by one writer.
async fn single_account(rows: usize, parquet: bool) -> Duration {
    let fake = FakeServer::builder()
        .customer(MANAGER)
        .start()
        .await
        .unwrap();
    fake.synthetic_campaigns(MANAGER, rows);
    let client = client(fake.uri());
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("one")).unwrap();
    let started = Instant::now();
    let mut stream = client.search_stream(MANAGER, QUERY).await.unwrap().lazy();
    let mut written = 0;
    if parquet {
        let mut writer = ParquetWriter::new(file, QUERY).unwrap();
        while let Some(row) = stream.next().await {
            writer.write_row(&row.unwrap()).unwrap();
            written += 1;
        }
        writer.finish().unwrap();
    } else {
        let mut writer = CsvWriter::new(file, QUERY).unwrap();
        while let Some(row) = stream.next().await {
            writer.write_row(&row.unwrap()).unwrap();
            written += 1;
        }
        writer.finish().unwrap();
    }
    assert_eq!(written, rows);
    started.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One scale run at `accounts` accounts: the fake in a process of its own, the report in
/// another; (wall, rows, the reporting process's peak RSS in KiB).
fn scale_run(accounts: usize) -> (Duration, u64, u64) {
    let exe = std::env::current_exe().unwrap();
    let mut fake = std::process::Command::new(&exe)
        .env(FAKE, accounts.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(fake.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let output = std::process::Command::new(&exe)
        .env(REPORT, line.trim())
        .output()
        .unwrap();
    let _ = fake.kill();
    let _ = fake.wait();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    (Duration::from_millis(fields[0]), fields[1], fields[2])
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(accounts) = std::env::var(FAKE) {
        // The fake's process: serves until killed.
        runtime.block_on(async {
            let fake = fake(accounts.parse().unwrap(), LATENCY).await;
            println!("{}", fake.uri());
            std::future::pending::<()>().await
        });
        return;
    }
    if let Ok(uri) = std::env::var(REPORT) {
        // A reporting process: a warm-up run, then the measured one.
        runtime.block_on(async {
            let client = client(uri);
            report(&client, Format::Csv).await;
            let (wall, rows) = report(&client, Format::Csv).await;
            println!("{} {rows} {}", wall.as_millis(), peak_rss_kib());
        });
        return;
    }
    println!(
        "scale: {IN_FLIGHT} accounts in flight, {ROWS} rows each, every call answered after {} ms, CSV",
        LATENCY.as_millis()
    );
    for accounts in [100usize, 2000] {
        let ideal = LATENCY * accounts.div_ceil(IN_FLIGHT) as u32;
        let mut walls = Vec::new();
        let mut peaks = Vec::new();
        for _ in 0..ROUNDS {
            let (wall, rows, peak) = scale_run(accounts);
            assert_eq!(rows, (accounts * ROWS) as u64);
            walls.push(wall.as_secs_f64());
            peaks.push(peak as f64);
        }
        let wall = median(walls);
        println!(
            "  {accounts:>5} accounts: wall {wall:.2} s (median of {ROUNDS}), ideal {:.2} s, {:.3}x; peak RSS {:.1} MiB (median)",
            ideal.as_secs_f64(),
            wall / ideal.as_secs_f64(),
            median(peaks) / 1024.0
        );
    }

    let accounts = 2000;
    let rows = accounts * ROWS;
    println!(
        "rows per second written, no latency, {accounts} accounts x {ROWS} rows = {rows} rows"
    );
    let (mut one_csv, mut one_parquet, mut many_csv, mut many_parquet) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        let fake = fake(accounts, Duration::ZERO).await;
        let client = client(fake.uri());
        // Warms the fake (see the module doc).
        report(&client, Format::Csv).await;
        for _ in 0..ROUNDS {
            let rate = |d: Duration| rows as f64 / d.as_secs_f64();
            one_csv.push(rate(single_account(rows, false).await));
            one_parquet.push(rate(single_account(rows, true).await));
            let (wall, written) = report(&client, Format::Csv).await;
            assert_eq!(written, rows as u64);
            many_csv.push(rate(wall));
            let (wall, written) = report(&client, Format::Parquet).await;
            assert_eq!(written, rows as u64);
            many_parquet.push(rate(wall));
        }
    });
    let baseline = median(one_csv.clone());
    for (name, rates) in [
        ("one account's stream, CsvWriter (baseline)", one_csv),
        ("one account's stream, ParquetWriter", one_parquet),
        ("AccountReport, CSV", many_csv),
        ("AccountReport, Parquet", many_parquet),
    ] {
        let rate = median(rates);
        println!("  {name:<44} {:>9.0} rows/s  {:.2}x", rate, rate / baseline);
    }
}
