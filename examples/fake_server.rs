//! Starts the in-memory fake Google Ads API and serves until Ctrl-C.
//!
//! Run with: cargo run --example fake_server --features fake [-- ADDR] [--tls]
//!   [--synthetic-rows N] [--cert-out FILE] [--customers N] [--batch-ops-per-second N]
//!   [--batch-page-cap N] [--batch-capacity N] [--refuse-run-batch-job CUSTOMER_ID,...]
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
//! access was revoked: how a fleet isolates one account's failure.

use google_ads::fake::{FakeServer, Fault};

const CUSTOMER: &str = "1234567890";

// One thread: the fake's tasks (the stream producer, the connection) hand messages to each
// other without cross-thread wakeups, which lets it serve report streams 1.3-1.5x faster
// (BENCHMARKS.md); a test-sized server needs no more.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = FakeServer::builder();
    let mut synthetic_rows = 0;
    let mut cert_out = None;
    let mut refused: Vec<String> = Vec::new();
    let number = |flag: &str, n: String| {
        n.replace('_', "")
            .parse::<usize>()
            .map_err(|e| format!("{flag} {n:?}: {e}"))
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--tls" => builder = builder.tls(true),
            "--synthetic-rows" => {
                let n = value("--synthetic-rows")?;
                synthetic_rows = n
                    .replace('_', "")
                    .parse()
                    .map_err(|e| format!("--synthetic-rows {n:?}: {e}"))?;
            }
            "--cert-out" => cert_out = Some(value("--cert-out")?),
            "--refuse-run-batch-job" => {
                for id in value("--refuse-run-batch-job")?.split(',') {
                    if id.len() != 10 || !id.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!("--refuse-run-batch-job {id:?}: not 10 digits").into());
                    }
                    refused.push(id.to_owned());
                }
            }
            "--customers" => {
                let n = number("--customers", value("--customers")?)?;
                builder = builder.customer(CUSTOMER);
                for i in 1..n {
                    builder = builder.customer(format!("{}", 1_000_000_000 + i));
                }
            }
            "--batch-ops-per-second" => {
                builder = builder.batch_ops_per_second(number(
                    "--batch-ops-per-second",
                    value("--batch-ops-per-second")?,
                )?)
            }
            "--batch-capacity" => {
                builder =
                    builder.batch_capacity(number("--batch-capacity", value("--batch-capacity")?)?)
            }
            "--batch-page-cap" => {
                builder =
                    builder.batch_page_cap(number("--batch-page-cap", value("--batch-page-cap")?)?)
            }
            addr => {
                builder =
                    builder.with_addr(addr.parse().map_err(|e| format!("ADDR {addr:?}: {e}"))?)
            }
        }
    }
    let fake = builder.start().await?;
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
