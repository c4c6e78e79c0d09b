//! The client's quota budget against the fake's quota model, on tokio's paused clock over
//! in-memory pipes: held scopes, the daily quota's stop, order, open streams, the rate.

mod sim;

use std::time::Duration;

use google_ads::fake::{Call, FakeServer, Fault, QuotaRefusal};
use google_ads::latest::services::{ListAccessibleCustomersRequest, SearchGoogleAdsRequest};
use google_ads::search::{RowStream, StreamExt as _};
use google_ads::{Config, Error, GoogleAdsClient, QuotaBudget};
use tokio::time::Instant;

const A: &str = "1111111111";
const B: &str = "2222222222";

/// Runs a test's body, failing it when it has not ended after an hour of tokio's clock: on a
/// paused clock a call that waits forever would otherwise stall the test for real.
async fn within_an_hour(body: impl std::future::Future<Output = ()>) {
    within(Duration::from_secs(3600), body).await;
}

async fn within(limit: Duration, body: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(limit, body)
        .await
        .expect("still waiting at the test's limit of tokio time: a hang");
}

fn client(fake: &FakeServer, budget: QuotaBudget) -> GoogleAdsClient {
    let config = Config::builder()
        .with_access_token("t")
        .with_developer_token("d")
        .build()
        .unwrap();
    GoogleAdsClient::builder(config)
        .with_channel(fake.in_memory_channel())
        .with_quota_budget(budget)
        .build()
        .unwrap()
}

async fn search(client: GoogleAdsClient, customer: &'static str) -> Result<(), Error> {
    client
        .google_ads()
        .search(SearchGoogleAdsRequest {
            customer_id: customer.into(),
            query: "SELECT campaign.id FROM campaign".into(),
            ..Default::default()
        })
        .await
        .map(drop)
}

/// When each Search call for `customer` reached the fake.
fn arrivals(fake: &FakeServer, customer: &str) -> Vec<Duration> {
    fake.calls()
        .iter()
        .filter(|c| c.method.ends_with("GoogleAdsService/Search"))
        .filter(|c| customer_of(c).as_deref() == Some(customer))
        .map(|c| c.at)
        .collect()
}

fn customer_of(call: &Call) -> Option<String> {
    call.decode::<SearchGoogleAdsRequest>()
        .ok()
        .map(|r| r.customer_id)
}

/// Calls of the refused scope that reached the fake while the refusal's delay ran: a call
/// sent at the same instant as the refused one was already on its way, so only later ones
/// count.
fn calls_inside_holds(fake: &FakeServer, refusals: &[QuotaRefusal]) -> Vec<(Duration, String)> {
    let mut inside = Vec::new();
    for call in fake.calls() {
        let customer = customer_of(&call).unwrap_or_default();
        for r in refusals {
            let in_scope = r.developer || r.customer_id.as_deref() == Some(customer.as_str());
            if in_scope && call.at > r.at && call.at < r.at + r.retry_delay {
                inside.push((call.at, customer.clone()));
            }
        }
    }
    inside
}

#[tokio::test(start_paused = true)]
async fn an_account_quota_error_holds_only_that_accounts_calls() {
    within_an_hour(async {
        for budget in [QuotaBudget::new(), QuotaBudget::off()] {
            let on = budget != QuotaBudget::off();
            let fake = FakeServer::builder()
                .customer(A)
                .customer(B)
                .account_rate(0.1)
                .start()
                .await
                .unwrap();
            let client = client(&fake, budget);
            let t0 = Instant::now();
            // A's one call per 10 s.
            search(client.clone(), A).await.unwrap();
            // Refused (retry_delay 10 s): with the budget, A is held for 10 s.
            let refused = tokio::spawn(search(client.clone(), A));
            tokio::time::sleep(Duration::from_millis(1)).await;
            let second = tokio::spawn(search(client.clone(), A));
            let other = tokio::spawn(search(client.clone(), B));
            other.await.unwrap().unwrap();
            assert!(t0.elapsed() < Duration::from_secs(1), "B is not held");
            let (first, second) = (refused.await.unwrap(), second.await.unwrap());
            let refusals = fake.quota_refusals();
            assert!(
                refusals
                    .iter()
                    .all(|r| !r.developer && r.customer_id.as_deref() == Some(A))
            );
            let inside = calls_inside_holds(&fake, &refusals);
            if on {
                first.unwrap();
                second.unwrap();
                assert_eq!(inside, vec![], "no call of A during its hold: {refusals:?}");
                assert!(arrivals(&fake, B)[0] < Duration::from_secs(1));
            } else {
                // Each call alone: the second call of A goes at once into A's exhausted quota.
                assert!(!inside.is_empty(), "{refusals:?}");
                drop((first, second));
            }
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_developer_quota_error_holds_every_call() {
    within_an_hour(async {
        for budget in [QuotaBudget::new(), QuotaBudget::off()] {
            let on = budget != QuotaBudget::off();
            let fake = FakeServer::builder()
                .customer(A)
                .customer(B)
                .start()
                .await
                .unwrap();
            fake.inject_for(
                A,
                "GoogleAdsService/Search",
                Fault::Quota {
                    retry_delay: Duration::from_secs(20),
                    developer: true,
                },
                Some(1),
            );
            let client = client(&fake, budget);
            let refused = tokio::spawn(search(client.clone(), A));
            tokio::time::sleep(Duration::from_millis(1)).await;
            let other = tokio::spawn(search(client.clone(), B));
            let unscoped = tokio::spawn({
                let client = client.clone();
                async move {
                    client
                        .customer()
                        .list_accessible_customers(ListAccessibleCustomersRequest {})
                        .await
                        .map(drop)
                }
            });
            other.await.unwrap().unwrap();
            unscoped.await.unwrap().unwrap();
            refused.await.unwrap().unwrap();
            let b = arrivals(&fake, B)[0];
            let list = fake
                .calls()
                .iter()
                .find(|c| c.method.ends_with("ListAccessibleCustomers"))
                .map(|c| c.at)
                .unwrap();
            if on {
                assert!(b >= Duration::from_secs(20), "B held with the token: {b:?}");
                assert!(list >= Duration::from_secs(20), "{list:?}");
            } else {
                assert!(b < Duration::from_secs(1), "{b:?}");
            }
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_daily_quota_stops_new_work_with_one_clear_error_and_nothing_sleeps() {
    within(Duration::from_secs(2 * 86_400), async {
        let fake = FakeServer::builder()
            .customer(A)
            .customer(B)
            .daily_operations(3)
            .start()
            .await
            .unwrap();
        let client = client(&fake, QuotaBudget::new());
        for _ in 0..3 {
            search(client.clone(), A).await.unwrap();
        }
        let t0 = Instant::now();
        let error = search(client.clone(), A).await.unwrap_err();
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "no wait: {:?}",
            t0.elapsed()
        );
        assert!(error.is_quota());
        let resets = error.quota_resets_at().expect("when the quota resets");
        let left = resets.duration_since(std::time::SystemTime::now()).unwrap();
        assert!(left > Duration::from_secs(23 * 3600), "{left:?}");
        let text = error.to_string();
        assert!(
            text.contains(
                "quota \"Number of operations for basic access\" (developer token) is used up until"
            ),
            "{text}"
        );
        assert!(text.contains("each call in it fails at once"), "{text}");

        // Every later call fails at once, unsent, whatever its account.
        let sent = fake.calls().len();
        let other = search(client.clone(), B).await.unwrap_err();
        assert_eq!(other.quota_resets_at(), Some(resets));
        let unscoped = client
            .customer()
            .list_accessible_customers(ListAccessibleCustomersRequest {})
            .await
            .unwrap_err();
        assert!(unscoped.is_quota(), "{unscoped}");
        assert_eq!(
            fake.calls().len(),
            sent,
            "nothing sent while the quota is used up"
        );
        assert_eq!(fake.quota_refusals().len(), 1);
        assert!(t0.elapsed() < Duration::from_secs(1));

        // A day later (tokio's clock) the quota is back, on the fake and in the client.
        tokio::time::advance(Duration::from_secs(86_400)).await;
        search(client.clone(), B).await.unwrap();
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn calls_waiting_on_a_held_scope_keep_their_order() {
    within_an_hour(async {
        const IDS: [&str; 6] = [
            "3000000001",
            "3000000002",
            "3000000003",
            "3000000004",
            "3000000005",
            "3000000006",
        ];
        let mut builder = FakeServer::builder().customer(A);
        for id in IDS {
            builder = builder.customer(id);
        }
        let fake = builder.start().await.unwrap();
        fake.inject_for(
            A,
            "GoogleAdsService/Search",
            Fault::Quota {
                retry_delay: Duration::from_secs(5),
                developer: true,
            },
            Some(1),
        );
        let client = client(&fake, QuotaBudget::new().starts_per_second(50.0));
        let first = tokio::spawn(search(client.clone(), A));
        let mut waiting = Vec::new();
        for id in IDS {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waiting.push(tokio::spawn(search(client.clone(), id)));
        }
        for task in waiting {
            task.await.unwrap().unwrap();
        }
        first.await.unwrap().unwrap();
        let order: Vec<String> = fake
            .calls()
            .iter()
            .filter_map(customer_of)
            .filter(|c| c != A)
            .collect();
        assert_eq!(order, IDS.map(String::from).to_vec());
        let times: Vec<Duration> = IDS.iter().map(|id| arrivals(&fake, id)[0]).collect();
        assert!(times[0] >= Duration::from_secs(5), "{times:?}");
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(19),
                "50 per second: {times:?}"
            );
        }
    })
    .await;
}

/// A fake with accounts A and B, a client allowing one call in flight, and a stream of A's
/// that has delivered a row and stays open (the fake stalls it).
async fn one_slot_taken_by_an_open_stream() -> (FakeServer, GoogleAdsClient, RowStream) {
    let fake = FakeServer::builder()
        .customer(A)
        .customer(B)
        .start()
        .await
        .unwrap();
    fake.synthetic_campaigns(A, 100);
    fake.inject("GoogleAdsService/SearchStream", Fault::StallAfterRows(1));
    let client = client(&fake, QuotaBudget::new().max_in_flight(1));
    let mut rows = client
        .search_stream(A, "SELECT campaign.id FROM campaign")
        .await
        .unwrap();
    rows.next().await.unwrap().unwrap();
    (fake, client, rows)
}

#[tokio::test(start_paused = true)]
async fn an_open_stream_holds_its_slot_until_it_ends() {
    within_an_hour(async {
        let (fake, client, rows) = one_slot_taken_by_an_open_stream().await;
        // The stream is open: the one slot is taken.
        let waiting = tokio::spawn(search(client.clone(), B));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            !waiting.is_finished(),
            "a second call while the stream is open"
        );
        assert!(arrivals(&fake, B).is_empty(), "not sent either");
        drop(rows);
        waiting.await.unwrap().unwrap();
        assert_eq!(arrivals(&fake, B), vec![Duration::from_secs(60)]);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiting_call_gives_its_place_and_slot_back() {
    within_an_hour(async {
        let (fake, client, rows) = one_slot_taken_by_an_open_stream().await;
        // Waits, then gives up (a caller's timeout): its place is gone.
        let gave_up = tokio::time::timeout(Duration::from_secs(5), search(client.clone(), B)).await;
        assert!(gave_up.is_err());
        let next = tokio::spawn(search(client.clone(), B));
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(rows);
        next.await.unwrap().unwrap();
        // Nothing left taken: a call now goes at once.
        let t0 = Instant::now();
        search(client.clone(), A).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::ZERO);
        assert_eq!(
            arrivals(&fake, B).len(),
            1,
            "the cancelled call was never sent"
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn starts_per_second_spaces_the_calls() {
    within_an_hour(async {
        let fake = FakeServer::builder().customer(A).start().await.unwrap();
        let client = client(&fake, QuotaBudget::new().starts_per_second(4.0));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..8)
            .map(|_| tokio::spawn(search(client.clone(), A)))
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let times = arrivals(&fake, A);
        assert_eq!(times.len(), 8);
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(250), "{times:?}");
        }
        assert_eq!(t0.elapsed(), Duration::from_millis(7 * 250));
    })
    .await;
}

#[test]
fn bad_budget_settings_are_refused_naming_the_setting() {
    let build = |budget: QuotaBudget| {
        let config = Config::builder()
            .with_access_token("t")
            .with_developer_token("d")
            .build()
            .unwrap();
        GoogleAdsClient::builder(config)
            .with_quota_budget(budget)
            .build()
            .unwrap_err()
            .to_string()
    };
    let zero = build(QuotaBudget::new().max_in_flight(0));
    assert!(
        zero.contains("quota_budget.max_in_flight") && zero.contains("at least 1"),
        "{zero}"
    );
    for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let text = build(QuotaBudget::new().starts_per_second(rate));
        assert!(
            text.contains("quota_budget.starts_per_second"),
            "{rate}: {text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_rate_errors_long_delay_holds_its_scope_for_the_cap_only() {
    within_an_hour(async {
        let fake = FakeServer::builder().customer(A).start().await.unwrap();
        fake.inject_for(
            A,
            "GoogleAdsService/Search",
            Fault::Quota {
                retry_delay: Duration::from_secs(3 * 3600),
                developer: false,
            },
            Some(1),
        );
        let client = client(&fake, QuotaBudget::new());
        let error = search(client.clone(), A).await.unwrap_err();
        // Longer than the policy waits out: surfaced, and not a stop (a rate, not the daily
        // quota), so the next call waits the cap and goes.
        assert!(
            error.is_quota() && error.quota_resets_at().is_none(),
            "{error}"
        );
        search(client.clone(), A).await.unwrap();
        assert_eq!(
            arrivals(&fake, A),
            vec![Duration::ZERO, google_ads::retry::SERVER_DELAY_CAP]
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn holding_and_releasing_a_scope_are_logged() {
    within_an_hour(async {
        let (log, _guard) = crate::client::bodies::capture(tracing::Level::INFO);
        let fake = FakeServer::builder()
            .customer(A)
            .account_rate(0.1)
            .start()
            .await
            .unwrap();
        let client = client(&fake, QuotaBudget::new());
        search(client.clone(), A).await.unwrap();
        // Refused, held 10 s, then let through.
        search(client.clone(), A).await.unwrap();
        let text = log.text();
        let held = text
            .lines()
            .find(|l| l.contains("quota: scope held"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            held.contains("scope=account 1111111111")
                && held.contains("rate_name=\"Requests per account\"")
                && held.contains("hold_ms=10000"),
            "{held}"
        );
        assert!(text.contains("quota: scope released"), "{text}");
    })
    .await;
}
