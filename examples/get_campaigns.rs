//! Lists a customer's campaigns with their metrics, as a table, JSON lines or CSV.
//!
//! Run with: cargo run --example get_campaigns --features fake [-- --format table|jsonl|csv]
//!   [--customer-id 1234567890]
//!
//! With credentials configured (google-ads.yaml, GOOGLE_ADS_CONFIGURATION_FILE_PATH or
//! GOOGLE_ADS_* variables) it asks that API (`--customer-id` required); with none, the
//! embedded fake server, which serves five synthetic campaigns. Its first line (on stderr, so
//! the report on stdout stays clean) says which.

use std::io::Write as _;

use google_ads::fake::FakeServer;

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::search::{Column, CsvWriter, JsonLinesWriter, StreamExt as _, select_fields};

const QUERY: &str = "SELECT campaign.id, campaign.name, campaign.status, metrics.clicks, \
                     metrics.impressions, metrics.cost_micros FROM campaign ORDER BY campaign.id";

#[derive(clap::ValueEnum, Clone, Copy)]
enum Format {
    Table,
    Jsonl,
    Csv,
}

/// Lists a customer's campaigns with their metrics, as a table, JSON lines or CSV.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    customer: CustomerArg,
    /// How to print the campaigns.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let connected =
        Connected::or_fake_stderr(FakeServer::builder(), args.customer.customer_id.as_deref())
            .await?;
    let customer_id = connected.customer_id(args.customer.customer_id.as_deref())?;
    if let Some(fake) = &connected.fake {
        fake.synthetic_campaigns(customer_id.as_str(), 5);
    }
    let client = &connected.client;
    let mut rows = client.search_stream(customer_id, QUERY).await?.lazy();
    let stdout = std::io::stdout().lock();
    match args.format {
        Format::Csv => {
            let mut out = CsvWriter::new(stdout, QUERY)?;
            while let Some(row) = rows.next().await {
                out.write_row(&row?)?;
            }
            out.finish()?.flush()?;
        }
        Format::Jsonl => {
            let mut out = JsonLinesWriter::new(stdout, QUERY)?;
            while let Some(row) = rows.next().await {
                out.write_row(&row?)?;
            }
            out.finish()?.flush()?;
        }
        Format::Table => {
            // A table needs every width before its first line: the rows are kept (a few).
            let columns = select_fields(QUERY)?
                .iter()
                .map(|f| Column::new(f))
                .collect::<Result<Vec<_>, _>>()?;
            let mut lines = vec![columns.iter().map(|c| c.path().to_owned()).collect()];
            while let Some(row) = rows.next().await {
                let row = row?;
                lines.push(columns.iter().map(|c| row.read(c).to_string()).collect());
            }
            print_table(&lines);
        }
    }
    Ok(())
}

fn print_table(lines: &[Vec<String>]) {
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}
