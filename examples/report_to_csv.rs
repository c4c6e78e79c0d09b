//! Writes a large report to CSV at constant memory, with a progress line (rows, rows/s).
//!
//! Run with: cargo run --release --example report_to_csv --features fake [-- --rows N]
//!   [--customer-id 1234567890] [--output report.csv]
//!
//! With credentials configured (google-ads.yaml, GOOGLE_ADS_CONFIGURATION_FILE_PATH or
//! GOOGLE_ADS_* variables) it asks that API for the last 30 days by day (`--customer-id`
//! required); with none, the embedded fake server, which serves N synthetic rows (default
//! 1,000,000). Its first line (on stderr) says which.

use std::io::Write as _;
use std::time::Instant;

use google_ads::fake::FakeServer;

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::search::{CsvWriter, StreamExt as _};

const FIELDS: &str = "campaign.id, campaign.name, campaign.status, metrics.clicks, \
                      metrics.impressions, metrics.cost_micros, segments.date";

/// Writes a large report to CSV at constant memory, with a progress line.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    customer: CustomerArg,
    /// With the embedded fake: how many synthetic rows it serves.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// The CSV file to write.
    #[arg(long, value_name = "FILE", default_value = "report.csv")]
    output: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nerror: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let rows_wanted = args.rows;
    let output = args.output;
    let connected =
        Connected::or_fake_stderr(FakeServer::builder(), args.customer.customer_id.as_deref())
            .await?;
    let customer_id = connected.customer_id(args.customer.customer_id.as_deref())?;
    let query = match &connected.fake {
        Some(fake) => {
            fake.synthetic_campaigns(customer_id.as_str(), rows_wanted);
            eprintln!("the fake serves {rows_wanted} synthetic rows");
            format!("SELECT {FIELDS} FROM campaign")
        }
        None => format!("SELECT {FIELDS} FROM campaign WHERE segments.date DURING LAST_30_DAYS"),
    };
    let client = &connected.client;
    let started = Instant::now();
    let mut rows = client.search_stream(customer_id, &query).await?.lazy();
    let mut csv = CsvWriter::new(std::fs::File::create(&output)?, &query)?;
    let mut written: u64 = 0;
    let mut last_report = Instant::now();
    while let Some(row) = rows.next().await {
        csv.write_row(&row?)?;
        written += 1;
        if last_report.elapsed().as_millis() >= 500 {
            last_report = Instant::now();
            progress(written, started);
        }
    }
    csv.finish()?.sync_all()?;
    progress(written, started);
    eprintln!("\nwrote {written} rows to {output}");
    Ok(())
}

fn progress(rows: u64, started: Instant) {
    let rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
    eprint!("\r{rows} rows, {rate:.0} rows/s   ");
    let _ = std::io::stderr().flush();
}
