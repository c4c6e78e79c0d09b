//! Runs one report over every account under a manager into one file (a folder of part files
//! for Parquet), then says how each account went; exits with status 1 when any account
//! failed. On a terminal a progress bar (accounts done of all, rows, failures) runs
//! meanwhile; otherwise a line per finished account.
//!
//! Run with: cargo run --example report_all_accounts --features fake,parquet [-- --manager-id 1234567890[,MANAGER...]
//!   --query GAQL --format csv|jsonl|parquet --output report.csv --accounts-in-flight 8
//!   --rows-per-part N --state S [--resume]]
//!
//! `--manager-id` (also spelt `--customer-id`) names the manager(s) whose tree is walked
//! (sub-managers included, each account once); the report runs on the enabled client accounts,
//! at most `--accounts-in-flight` at once, each account's rows together in the output, a
//! `customer_id` column first when the query does not select `customer.id`. With credentials
//! configured (google-ads.yaml, GOOGLE_ADS_CONFIGURATION_FILE_PATH or GOOGLE_ADS_* variables)
//! it asks that API (`--manager-id` required). With none, the embedded fake and its demo tree
//! (the one `get_account_hierarchy` prints): four reachable client accounts with generated
//! campaign rows, a suspended one (skipped), and one the credentials cannot reach, which fails
//! and is reported with its error.
//!
//! With `--state S` the run can be stopped at any point (Ctrl-C, a kill, a crash) and carried
//! on with the same command and `--resume`: the accounts already written are kept, the others
//! run, no account's rows twice. Without the `parquet` feature `--format parquet` is not
//! offered.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use google_ads::account_report::{AccountReport, Format};
use google_ads::accounts::AccountTree;
use indicatif::{ProgressBar, ProgressStyle};

mod common;

use clap::Parser as _;

/// Runs one report over every account under a manager into one file.
#[derive(clap::Parser)]
struct Args {
    /// The manager account(s) whose tree is walked (10 digits each, comma-separated).
    /// Required against the real API; against the embedded fake, the root of its demo tree
    /// (default 1234567890).
    #[arg(
        long = "manager-id",
        alias = "customer-id",
        value_name = "ID[,ID...]",
        value_delimiter = ','
    )]
    manager_ids: Vec<String>,
    /// The GAQL query run on every account.
    #[arg(
        long,
        default_value = "SELECT campaign.id, campaign.name, metrics.clicks, metrics.cost_micros FROM campaign"
    )]
    query: String,
    /// The output's format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Csv)]
    format: OutputFormat,
    /// Where to write the report (written as OUTPUT.partial, then renamed); a folder for
    /// Parquet.
    #[arg(long, value_name = "PATH", default_value = "report.csv")]
    output: PathBuf,
    /// At most this many accounts queried at once.
    #[arg(long, value_name = "N", default_value_t = google_ads::account_report::DEFAULT_ACCOUNTS_IN_FLIGHT)]
    accounts_in_flight: usize,
    /// Parquet: a part file is closed once it holds this many rows (whole accounts each).
    #[arg(long, value_name = "N", default_value_t = google_ads::account_report::DEFAULT_ROWS_PER_PART)]
    rows_per_part: u64,
    /// Keep the run's state in this file, to resume it if it is stopped.
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Carry on the stopped run whose --state is given.
    #[arg(long, requires = "state")]
    resume: bool,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum OutputFormat {
    Csv,
    Jsonl,
    #[cfg(feature = "parquet")]
    Parquet,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether every account's rows were written.
async fn run(args: Args) -> Result<bool, google_ads::Error> {
    let (connected, managers) =
        common::managers_or_demo_tree(&args.manager_ids, "--manager-id").await?;
    let client = &connected.client;
    let tree = AccountTree::walk(client, &managers).await?;
    for (manager, error) in tree.problems() {
        println!("manager {manager}: its accounts could not be listed: {error}");
    }
    let format = match args.format {
        OutputFormat::Csv => Format::Csv,
        OutputFormat::Jsonl => Format::JsonLines,
        #[cfg(feature = "parquet")]
        OutputFormat::Parquet => Format::Parquet,
    };
    // A bar on a terminal (accounts done of all, rows, failures); otherwise a plain line per
    // finished account.
    let total = tree.clients().count() as u64;
    let bar = if std::io::stdout().is_terminal() {
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template("[{bar:40}] {pos}/{len} accounts {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        )
    } else {
        ProgressBar::hidden()
    };
    let shown = bar.clone();
    let mut report = AccountReport::new(client, &args.query)?
        .accounts(tree.clients())
        .accounts_in_flight(args.accounts_in_flight)
        .rows_per_part(args.rows_per_part)
        .resume(args.resume);
    if let Some(state) = &args.state {
        report = report.state(state);
    }
    let summary = report
        .on_progress(move |p| {
            let line = format!("{} rows, {} failed", p.rows, p.failed);
            if shown.is_hidden() {
                println!(
                    "progress: {}/{} accounts, {line}",
                    p.accounts_done, p.accounts_total
                );
            } else {
                shown.set_position(p.accounts_done as u64);
                shown.set_message(line);
            }
        })
        .write(format, &args.output)
        .await?;
    bar.finish_and_clear();
    println!(
        "{} rows from {} accounts written to {}",
        summary.rows(),
        summary.outcomes.len() - summary.failed().count(),
        args.output.display()
    );
    for outcome in &summary.outcomes {
        let ms = outcome.duration.as_millis();
        match &outcome.error {
            None if outcome.earlier => println!(
                "  {}: {} rows, written by the run resumed",
                outcome.customer_id, outcome.rows
            ),
            None => println!(
                "  {}: {} rows in {ms} ms, {} attempt(s)",
                outcome.customer_id, outcome.rows, outcome.attempts
            ),
            Some(error) => println!(
                "  {}: failed after {ms} ms, {} attempt(s): {}",
                outcome.customer_id,
                outcome.attempts,
                error.to_string().lines().next().unwrap_or_default()
            ),
        }
    }
    let failed = summary.failed().count();
    if failed > 0 {
        println!("{failed} account(s) failed");
    }
    Ok(failed == 0)
}
