//! p50/p99 latency of a unary call through `GoogleAdsClient`'s service handle (token cache,
//! header layer, retry loop, tracing span, the `Error` surface) against the raw generated stub on the same channel, 64 concurrent callers,
//! the fake server on loopback, rounds alternating between the two. A third side, the client
//! with its quota budget off ([`QuotaBudget::off`]), measures what the budget (on by default)
//! costs a call.
//!
//! Run with: cargo bench --bench unary_latency --features fake,raw-clients

use std::time::{Duration, Instant};

use google_ads::fake::FakeServer;
use google_ads::latest::services::ListAccessibleCustomersRequest;
use google_ads::latest::services::customer_service_client::CustomerServiceClient;
use google_ads::{Config, GoogleAdsClient, QuotaBudget};
use tonic::transport::{Channel, Endpoint};

const CALLERS: usize = 64;
const CALLS_PER_CALLER: usize = 50;
const ROUNDS: usize = 10;

async fn raw_round(channel: &Channel) -> Vec<Duration> {
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let mut client = CustomerServiceClient::new(channel.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(CALLS_PER_CALLER);
                for _ in 0..CALLS_PER_CALLER {
                    let started = Instant::now();
                    // What a user of the raw stub must do by hand on every call.
                    let mut request = tonic::Request::new(ListAccessibleCustomersRequest {});
                    request
                        .metadata_mut()
                        .insert("authorization", "Bearer bench-token".parse().unwrap());
                    request
                        .metadata_mut()
                        .insert("developer-token", "bench-dev-token".parse().unwrap());
                    client
                        .list_accessible_customers(request)
                        .await
                        .expect("raw call");
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

async fn client_round(client: &GoogleAdsClient) -> Vec<Duration> {
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let customer = client.customer();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(CALLS_PER_CALLER);
                for _ in 0..CALLS_PER_CALLER {
                    let started = Instant::now();
                    customer
                        .list_accessible_customers(ListAccessibleCustomersRequest {})
                        .await
                        .expect("client call");
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let fake = FakeServer::start().await.unwrap();
    let channel = Endpoint::from_shared(fake.uri())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let config = Config::builder()
        .with_developer_token("bench-dev-token")
        .with("access_token", "bench-token")
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    let client = GoogleAdsClient::builder(config.clone())
        .with_channel(channel.clone())
        .build()
        .unwrap();
    let unbudgeted = GoogleAdsClient::builder(config)
        .with_channel(channel.clone())
        .with_quota_budget(QuotaBudget::off())
        .build()
        .unwrap();

    // Warm up every path.
    raw_round(&channel).await;
    client_round(&client).await;
    client_round(&unbudgeted).await;
    let (mut raw, mut layered, mut alone) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Each side goes first, second and third in turn.
        for side in 0..3 {
            match (round + side) % 3 {
                0 => raw.extend(raw_round(&channel).await),
                1 => layered.extend(client_round(&client).await),
                _ => alone.extend(client_round(&unbudgeted).await),
            }
        }
    }
    raw.sort();
    layered.sort();
    alone.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let (raw50, raw99) = (percentile(&raw, 0.50), percentile(&raw, 0.99));
    let (lay50, lay99) = (percentile(&layered, 0.50), percentile(&layered, 0.99));
    println!(
        "calls per side: {} ({ROUNDS} rounds x {CALLERS} callers x {CALLS_PER_CALLER})",
        raw.len()
    );
    println!("| path | p50 (us) | p99 (us) |");
    println!("|---|---|---|");
    println!(
        "| raw generated stub, headers set by hand | {:.0} | {:.0} |",
        micros(raw50),
        micros(raw99)
    );
    println!(
        "| GoogleAdsClient (token cache, header layer, span) | {:.0} | {:.0} |",
        micros(lay50),
        micros(lay99)
    );
    let (alone50, alone99) = (percentile(&alone, 0.50), percentile(&alone, 0.99));
    println!(
        "| GoogleAdsClient, quota budget off | {:.0} | {:.0} |",
        micros(alone50),
        micros(alone99)
    );
    println!(
        "ratio p50: {:.3}, p99: {:.3}",
        micros(lay50) / micros(raw50),
        micros(lay99) / micros(raw99)
    );
    println!(
        "quota budget on / off: p50 {:.3}, p99 {:.3}",
        micros(lay50) / micros(alone50),
        micros(lay99) / micros(alone99)
    );

    // What the DEBUG bodies log adds to a call when DEBUG is off: the check the handles run
    // for the request and for the response (nothing is rendered), timed here in the same
    // process, against the client's p50 above.
    const CHECKS: u32 = 20_000_000;
    let started = std::time::Instant::now();
    let mut enabled = 0u32;
    for _ in 0..CHECKS {
        if tracing::enabled!(target: "google_ads::bodies", tracing::Level::DEBUG) {
            enabled += 1;
        }
        std::hint::black_box(&enabled);
    }
    let per_check = started.elapsed().as_secs_f64() / f64::from(CHECKS);
    println!(
        "bodies log, DEBUG off: {:.2} ns per check, 2 per unary call: {:.1e} of the client's p50 ({} of {CHECKS} checks enabled)",
        per_check * 1e9,
        2.0 * per_check / lay50.as_secs_f64(),
        enabled
    );
}
