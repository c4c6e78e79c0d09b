//! A seeded simulation of the quota budget: random limits on both sides, calls over a few
//! accounts arriving at random times, some cancelled by their caller, every call answered
//! after 100 ms (tokio's paused clock), the fake's rates refusing what exceeds them. What must
//! hold is read from the fake's own records:
//! - no call of a scope reaches the fake while the client holds that scope (after a refusal
//!   of the scope, until its retry delay has passed);
//! - never more calls at the fake at once than `max_in_flight`, never two starts closer than
//!   the rate allows;
//! - every call ends (a run that does not end within an hour of tokio time is a hang, and
//!   fails with its seed), with success or a quota error;
//! - nothing stays taken: once the holds are over, a call goes at once.

use crate::rng::Rng;
use std::time::Duration;

use google_ads::fake::{FakeServer, Fault};
use google_ads::latest::services::SearchGoogleAdsRequest;
use google_ads::{Error, GoogleAdsClient};

use super::{calls_inside_holds, client, customer_of, search};
use google_ads::QuotaBudget;

const SEEDS: u64 = 100;
const LATENCY: Duration = Duration::from_millis(100);
const IMPATIENT: &str = "SELECT campaign.name FROM campaign";
const IDS: [&str; 4] = ["4000000001", "4000000002", "4000000003", "4000000004"];

/// What one seed's run broke, if anything.
#[derive(Debug, Default)]
struct Broken {
    inside_holds: usize,
    too_many_at_once: usize,
    too_close: usize,
    other_errors: Vec<String>,
}

impl Broken {
    fn any(&self) -> bool {
        self.inside_holds + self.too_many_at_once + self.too_close > 0
            || !self.other_errors.is_empty()
    }
}

async fn run(seed: u64, budget_on: bool) -> Broken {
    let mut rng = Rng(seed);
    let mut builder = FakeServer::builder().account_rate([0.5, 1.0, 2.0][rng.below(3) as usize]);
    if rng.below(2) == 0 {
        builder = builder.developer_rate([3.0, 5.0, 10.0][rng.below(3) as usize]);
    }
    for id in IDS {
        builder = builder.customer(id);
    }
    let fake = builder.start().await.unwrap();
    fake.inject_always("GoogleAdsService/Search", Fault::Latency(LATENCY));
    let max_in_flight = 1 + rng.below(6) as usize;
    let rate = (rng.below(2) == 0).then(|| [2.0, 4.0, 8.0][rng.below(3) as usize]);
    let mut budget = QuotaBudget::new().max_in_flight(max_in_flight);
    if let Some(rate) = rate {
        budget = budget.starts_per_second(rate);
    }
    let client = client(
        &fake,
        if budget_on {
            budget
        } else {
            QuotaBudget::off()
        },
    );

    let mut tasks = Vec::new();
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        let customer = IDS[rng.below(IDS.len() as u64) as usize];
        // A fifth of the callers give up after a while: their call is dropped mid-wait or
        // mid-call (its slot is free again while the fake may still be answering it, so
        // their calls, marked by their query, do not count in the fake's load).
        let patience = (rng.below(5) == 0).then(|| Duration::from_millis(rng.below(3000)));
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            match patience {
                Some(limit) => {
                    let call = query(&client, customer, IMPATIENT);
                    tokio::time::timeout(limit, call).await.unwrap_or(Ok(()))
                }
                None => search(client, customer).await,
            }
        }));
    }
    let mut broken = Broken::default();
    let all = async {
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    };
    let results = tokio::time::timeout(Duration::from_secs(3600), all)
        .await
        .unwrap_or_else(|_| panic!("seed {seed}: calls still waiting after an hour: a hang"));
    for result in results {
        if let Err(error) = result
            && !error.is_quota()
        {
            broken.other_errors.push(error.to_string());
        }
    }

    let calls: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| customer_of(c).is_some())
        .collect();
    broken.inside_holds = calls_inside_holds(&fake, &fake.quota_refusals()).len();
    // Every call is at the fake for LATENCY from its arrival.
    let patient: Vec<_> = calls
        .iter()
        .filter(|c| {
            c.decode::<SearchGoogleAdsRequest>()
                .is_ok_and(|r| r.query != IMPATIENT)
        })
        .collect();
    for call in &patient {
        let at_once = patient
            .iter()
            .filter(|c| c.at <= call.at && c.at + LATENCY > call.at)
            .count();
        if at_once > max_in_flight {
            broken.too_many_at_once += 1;
        }
    }
    if let Some(rate) = rate {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut times: Vec<Duration> = calls.iter().map(|c| c.at).collect();
        times.sort();
        broken.too_close = times
            .windows(2)
            .filter(|w| w[1] - w[0] + Duration::from_micros(1) < interval)
            .count();
    }

    if budget_on && !broken.any() {
        // Nothing left taken: with every hold over, a call goes at once.
        tokio::time::sleep(Duration::from_secs(200)).await;
        let t0 = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(60), search(client.clone(), IDS[0]))
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: a turn was never given back"))
            .unwrap();
        assert_eq!(t0.elapsed(), LATENCY, "seed {seed}: the last call waited");
    }
    broken
}

async fn query(client: &GoogleAdsClient, customer: &str, query: &str) -> Result<(), Error> {
    client
        .google_ads()
        .search(SearchGoogleAdsRequest {
            customer_id: customer.into(),
            query: query.into(),
            ..Default::default()
        })
        .await
        .map(drop)
}

#[tokio::test(start_paused = true)]
async fn seeded_runs_keep_the_budgets_rules() {
    for seed in 0..SEEDS {
        let broken = run(seed, true).await;
        assert!(!broken.any(), "seed {seed}: {broken:?}");
    }
}

/// The checks can fail: the same runs with each call alone break them.
#[tokio::test(start_paused = true)]
async fn the_same_runs_without_a_budget_break_the_rules() {
    let mut inside = 0;
    for seed in 0..SEEDS {
        inside += run(seed, false).await.inside_holds;
    }
    assert!(
        inside > 0,
        "calls alone never hit a held scope: the check sees nothing"
    );
}
