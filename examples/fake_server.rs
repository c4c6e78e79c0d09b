//! Starts the in-memory fake Google Ads API and serves until Ctrl-C.
//!
//! Run with: cargo run --example fake_server --features fake [-- ADDR] [--tls]
//!   [--synthetic-rows N] [--cert-out FILE] [--customers N] [--batch-ops-per-second N]
//!   [--batch-page-cap N] [--batch-capacity N] [--refuse-run-batch-job CUSTOMER_ID,...]
//!   [--developer-rate CALLS_PER_SECOND] [--account-rate CALLS_PER_SECOND] [--daily-operations N]
//!   [--account-tree] [--call-latency MILLISECONDS]
//!
//! Point any client at the printed address. Accessible customer: 1234567890 (and with
//! `--customers N`, N in all: 1234567890, 1000000001, 1000000002...). Any bearer token and
//! developer token are accepted. `--synthetic-rows N` makes `FROM campaign` queries of
//! customer 1234567890 also return N generated report rows (campaign fields, metrics,
//! segments.date); `--cert-out FILE` writes the TLS certificate to trust to FILE;
//! `--batch-ops-per-second` and `--batch-page-cap` set how fast a batch job runs and how many
//! results a page holds; `--batch-capacity` the operations per second all running jobs share;
//! `--refuse-run-batch-job` makes every RunBatchJob of those customers fail with
//! PERMISSION_DENIED (`authorization_error: USER_PERMISSION_DENIED`), as for an account whose
//! access was revoked: how a fleet isolates one account's failure. The quota model:
//! `--developer-rate` and `--account-rate` refuse calls over that many per second (for the
//! developer token, for each account) with RESOURCE_EXHAUSTED, QuotaError
//! RESOURCE_TEMPORARILY_EXHAUSTED and the wait in `retry_delay`, as the API does;
//! `--daily-operations N` refuses every call after N in a day with QuotaError
//! RESOURCE_EXHAUSTED and the time left in the day. `--account-tree` puts the examples' demo
//! manager tree under 1234567890 (what `get_account_hierarchy` prints: two sub-managers, an
//! account both manage, a suspended account, one the credentials cannot reach), with generated
//! campaign rows for its client accounts. `--call-latency` makes every call wait that long
//! before it is answered (a round trip to a distant server).

use google_ads::fake::{FakeServer, Fault};

mod common;

const CUSTOMER: &str = "1234567890";

/// Serves the in-memory fake Google Ads API until Ctrl-C.
#[derive(clap::Parser)]
struct Args {
    /// The address to listen on (port 0: a free one).
    #[arg(value_name = "ADDR", default_value = "127.0.0.1:0")]
    addr: std::net::SocketAddr,
    /// Serve TLS with a self-signed certificate (printed, or written to --cert-out).
    #[arg(long)]
    tls: bool,
    /// Generated report rows for `FROM campaign` queries of customer 1234567890.
    #[arg(long, value_name = "N", value_parser = number, default_value = "0")]
    synthetic_rows: usize,
    /// Where to write the TLS certificate to trust.
    #[arg(long, value_name = "FILE")]
    cert_out: Option<String>,
    /// Accessible customers: 1234567890, then 1000000001, 1000000002...
    #[arg(long, value_name = "N", value_parser = number)]
    customers: Option<usize>,
    /// How many batch-job operations the fake runs per second.
    #[arg(long, value_name = "N", value_parser = number)]
    batch_ops_per_second: Option<usize>,
    /// How many batch-job operations run at once over all jobs.
    #[arg(long, value_name = "N", value_parser = number)]
    batch_capacity: Option<usize>,
    /// The largest page of batch-job results.
    #[arg(long, value_name = "N", value_parser = number)]
    batch_page_cap: Option<usize>,
    /// Customers whose every RunBatchJob is refused with PERMISSION_DENIED (comma-separated).
    #[arg(long, value_name = "CUSTOMER_ID,...", value_delimiter = ',', value_parser = customer_id)]
    refuse_run_batch_job: Vec<String>,
    /// Calls per second the developer token may make (a second's worth at once).
    #[arg(long, value_name = "CALLS_PER_SECOND", value_parser = rate)]
    developer_rate: Option<f64>,
    /// Calls per second each account may take (a second's worth at once).
    #[arg(long, value_name = "CALLS_PER_SECOND", value_parser = rate)]
    account_rate: Option<f64>,
    /// Calls a day (each counts one operation) before the daily quota is used up.
    #[arg(long, value_name = "N", value_parser = number)]
    daily_operations: Option<usize>,
    /// The examples' demo manager tree under 1234567890.
    #[arg(long)]
    account_tree: bool,
    /// Every call waits this long before it is answered.
    #[arg(long, value_name = "MILLISECONDS", value_parser = number)]
    call_latency: Option<usize>,
}

/// A rate: a number above 0.
fn rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err("not a number above 0".to_owned()),
    }
}

/// A count, `_` allowed between digits (`1_000_000`).
fn number(text: &str) -> Result<usize, String> {
    text.replace('_', "").parse().map_err(|e| format!("{e}"))
}

fn customer_id(text: &str) -> Result<String, String> {
    if text.len() == 10 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err("not 10 digits".to_owned())
    }
}

// One thread: the fake's tasks (the stream producer, the connection) hand messages to each
// other without cross-thread wakeups, which lets it serve report streams 1.3-1.5x faster
// (BENCHMARKS.md); a test-sized server needs no more.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = <Args as clap::Parser>::parse();
    let mut builder = FakeServer::builder().with_addr(args.addr).tls(args.tls);
    if let Some(n) = args.customers {
        builder = builder.customer(CUSTOMER);
        for i in 1..n {
            builder = builder.customer(format!("{}", 1_000_000_000 + i));
        }
    }
    if args.account_tree {
        builder = common::with_demo_tree_customers(builder.customer(CUSTOMER));
    }
    if let Some(n) = args.batch_ops_per_second {
        builder = builder.batch_ops_per_second(n);
    }
    if let Some(n) = args.batch_capacity {
        builder = builder.batch_capacity(n);
    }
    if let Some(n) = args.batch_page_cap {
        builder = builder.batch_page_cap(n);
    }
    if let Some(ms) = args.call_latency {
        builder = builder.call_latency(std::time::Duration::from_millis(ms as u64));
        println!("every call answered after {ms} ms");
    }
    if let Some(rate) = args.developer_rate {
        builder = builder.developer_rate(rate);
        println!("developer token: at most {rate} calls per second");
    }
    if let Some(rate) = args.account_rate {
        builder = builder.account_rate(rate);
        println!("each account: at most {rate} calls per second");
    }
    if let Some(n) = args.daily_operations {
        builder = builder.daily_operations(n as u64);
        println!("daily operations quota: {n}");
    }
    let (synthetic_rows, cert_out, refused) = (
        args.synthetic_rows,
        args.cert_out,
        args.refuse_run_batch_job,
    );
    let fake = builder.start().await?;
    if args.account_tree {
        common::demo_account_tree(&fake, CUSTOMER)?;
        println!("manager tree under {CUSTOMER} (see get_account_hierarchy)");
    }
    if synthetic_rows > 0 {
        fake.synthetic_campaigns(CUSTOMER, synthetic_rows);
        println!("customer {CUSTOMER}: {synthetic_rows} synthetic campaign rows");
    }
    for customer in &refused {
        fake.inject_for(
            customer,
            "BatchJobService/RunBatchJob",
            Fault::user_permission_denied(),
            None,
        );
        println!("customer {customer}: every RunBatchJob refused with PERMISSION_DENIED");
    }
    if let Some(ca) = fake.ca_pem() {
        match &cert_out {
            Some(path) => {
                std::fs::write(path, ca)?;
                println!("certificate to trust written to {path}");
            }
            None => println!("trust this certificate:\n{ca}"),
        }
    }
    println!(
        "fake Google Ads API {} listening on {}",
        google_ads::API_VERSION,
        fake.uri()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
