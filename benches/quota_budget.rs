//! 500 report calls at once (one SearchStream per account, 500 accounts) against the fake's
//! developer-token rate of 50 calls per second, through one client, three ways side by side:
//! each call alone (the quota budget off: every call backs off by its own retry policy), the
//! default budget (100 in flight, a quota error holds the developer token for its delay) and
//! the budget with the rate set to the token's (`starts_per_second(50.0)`). For each: the wall
//! time against the ideal (500 calls at 50 per second: 10 s), the RESOURCE_EXHAUSTED answers
//! the fake sent, and the calls that failed for the caller. Real clock, fake in the same
//! process over loopback, a fresh fake (its rate bucket full) per run, rounds alternating.
//!
//! Run with: cargo bench --bench quota_budget --features fake

use std::time::{Duration, Instant};

use google_ads::fake::FakeServer;
use google_ads::search::StreamExt as _;
use google_ads::{Config, GoogleAdsClient, QuotaBudget};

const ACCOUNTS: usize = 500;
const RATE: f64 = 50.0;
const ROWS: usize = 20;
const ROUNDS: usize = 3;

struct Run {
    wall: Duration,
    refused: usize,
    failed: usize,
    rows: usize,
}

async fn run(budget: QuotaBudget) -> Run {
    let ids: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("{}", 5_000_000_000 + i))
        .collect();
    let mut builder = FakeServer::builder().developer_rate(RATE);
    for id in &ids {
        builder = builder.customer(id.clone());
    }
    let fake = builder.start().await.unwrap();
    for id in &ids {
        fake.synthetic_campaigns(id, ROWS);
    }
    let config = Config::builder()
        .with_developer_token("bench-dev-token")
        .with("access_token", "bench-token")
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    let client = GoogleAdsClient::builder(config)
        .with_quota_budget(budget)
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (client, id) = (client.clone(), id.clone());
            tokio::spawn(async move {
                let mut rows = client
                    .search_stream(id.as_str(), "SELECT campaign.id FROM campaign")
                    .await?;
                let mut count = 0;
                while let Some(row) = rows.next().await {
                    row?;
                    count += 1;
                }
                Ok::<usize, google_ads::Error>(count)
            })
        })
        .collect();
    let (mut failed, mut rows) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(count) => rows += count,
            Err(error) => {
                assert!(error.is_quota(), "only quota errors are expected: {error}");
                failed += 1;
            }
        }
    }
    Run {
        wall: started.elapsed(),
        refused: fake.quota_refusals().len(),
        failed,
        rows,
    }
}

/// A side's budget, made fresh for each run.
type MakeBudget = fn() -> QuotaBudget;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let sides: [(&str, MakeBudget); 3] = [
        ("each call alone (budget off)", QuotaBudget::off),
        ("default budget (holds only)", QuotaBudget::new),
        ("budget, starts_per_second(50)", || {
            QuotaBudget::new().starts_per_second(RATE)
        }),
    ];
    let ideal = ACCOUNTS as f64 / RATE;
    let mut results: Vec<Vec<Run>> = sides.iter().map(|_| Vec::new()).collect();
    for round in 0..ROUNDS {
        for turn in 0..sides.len() {
            let side = (round + turn) % sides.len();
            let outcome = run((sides[side].1)()).await;
            eprintln!(
                "round {round} {}: {:.2} s, {} refused, {} failed, {} rows",
                sides[side].0,
                outcome.wall.as_secs_f64(),
                outcome.refused,
                outcome.failed,
                outcome.rows
            );
            results[side].push(outcome);
        }
    }
    println!(
        "{ACCOUNTS} SearchStream calls at once, one per account, fake developer rate {RATE}/s \
         (ideal {ideal:.1} s), {ROUNDS} runs per side, medians:"
    );
    println!(
        "| side | wall (s) | wall / ideal | RESOURCE_EXHAUSTED sent by the fake | calls failed for the caller |"
    );
    println!("|---|---|---|---|---|");
    for ((name, _), runs) in sides.iter().zip(&results) {
        let wall = median(runs.iter().map(|r| r.wall.as_secs_f64()).collect());
        let refused = median(runs.iter().map(|r| r.refused as f64).collect());
        let failed = median(runs.iter().map(|r| r.failed as f64).collect());
        println!(
            "| {name} | {wall:.2} | {:.2} | {refused:.0} | {failed:.0} |",
            wall / ideal
        );
    }
}
