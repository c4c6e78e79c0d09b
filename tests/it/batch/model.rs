//! The fake's model of many jobs: a capacity shared by the running jobs, a limit of jobs per
//! customer, jobs of one customer on the same ad group slowed while they overlap.

use std::time::Duration;

use google_ads::latest::services::{BatchJobOperation, MutateBatchJobRequest, batch_job_operation};
use tokio::time::Instant;

use super::*;

/// `n` keywords of the ad group `group`.
fn keywords(group: &str, n: usize, tag: &str) -> Vec<MutateOperation> {
    (0..n)
        .map(|k| {
            AdGroupCriterion {
                ad_group: Some(group.to_owned()),
                criterion: Some(Criterion::Keyword(KeywordInfo {
                    text: Some(format!("{tag} {k}")),
                    match_type: KeywordMatchType::Exact as i32,
                })),
                ..Default::default()
            }
            .create_operation()
            .into()
        })
        .collect()
}

/// A real ad group of the fake's customer.
async fn ad_group(client: &GoogleAdsClient, tag: &str) -> String {
    let mut setup = Operations::new(CID).unwrap();
    super::campaign_tree(&mut setup, tag, 10_000_000, 0);
    client.mutate(setup).send().await.unwrap().resource_names()[2]
        .unwrap()
        .to_owned()
}

/// Runs jobs side by side, each over `operations`, and returns how long each took (tokio's
/// clock) from the start to its last result.
async fn run_together(client: &GoogleAdsClient, jobs: Vec<Vec<MutateOperation>>) -> Vec<Duration> {
    let started = Instant::now();
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|operations| {
            let client = client.clone();
            tokio::spawn(async move {
                let driver =
                    BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations))
                        .unwrap()
                        .with_poll_schedule(PollSchedule::default().with_backoff(
                            Duration::from_millis(100),
                            1.0,
                            Duration::from_millis(100),
                        ));
                run_to_end(driver).await;
                started.elapsed()
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn running_jobs_share_the_servers_capacity() {
    let (_fake, client) = fake_and_client(
        FakeServer::builder()
            .batch_capacity(100)
            .batch_page_cap(1000),
    )
    .await;
    let (a, b) = (ad_group(&client, "a").await, ad_group(&client, "b").await);
    let alone = run_together(&client, vec![keywords(&a, 1000, "alone")]).await;
    let together = run_together(
        &client,
        vec![keywords(&a, 1000, "x"), keywords(&b, 1000, "y")],
    )
    .await;
    // 1,000 operations at 100 a second: about 10 s alone, about 20 s sharing.
    assert!((10..13).contains(&alone[0].as_secs()), "{alone:?}");
    for took in &together {
        assert!((19..24).contains(&took.as_secs()), "{together:?}");
    }
}

/// Under a capacity, a job alone still runs at no more than the per-job rate.
#[tokio::test(start_paused = true)]
async fn a_job_alone_runs_at_its_own_rate_under_a_larger_capacity() {
    let (_fake, client) = fake_and_client(
        FakeServer::builder()
            .batch_capacity(1000)
            .batch_ops_per_second(100)
            .batch_page_cap(1000),
    )
    .await;
    let a = ad_group(&client, "a").await;
    let alone = run_together(&client, vec![keywords(&a, 500, "alone")]).await;
    // 500 operations at 100 a second (not 1000): about 5 s.
    assert!((5..8).contains(&alone[0].as_secs()), "{alone:?}");
}

#[tokio::test(start_paused = true)]
async fn jobs_of_one_customer_on_the_same_ad_group_slow_down() {
    let (_fake, client) = fake_and_client(
        FakeServer::builder()
            .batch_ops_per_second(100)
            .batch_page_cap(1000),
    )
    .await;
    let (a, b) = (ad_group(&client, "a").await, ad_group(&client, "b").await);
    let apart = run_together(
        &client,
        vec![keywords(&a, 300, "p"), keywords(&b, 300, "q")],
    )
    .await;
    let same = run_together(
        &client,
        vec![keywords(&a, 300, "r"), keywords(&a, 300, "s")],
    )
    .await;
    // 300 operations at 100 a second: about 3 s each on their own ad groups; on the same
    // one, a tenth of that speed while both run.
    for took in &apart {
        assert!(took.as_secs() < 6, "{apart:?}");
    }
    for took in &same {
        assert!(took.as_secs() > 20, "{same:?}");
    }
}

#[tokio::test]
async fn a_customer_has_at_most_its_limit_of_pending_jobs() {
    let (_fake, client) = fake_and_client(FakeServer::builder().batch_jobs_per_customer(2)).await;
    let create = || MutateBatchJobRequest {
        customer_id: CID.into(),
        operation: Some(BatchJobOperation {
            operation: Some(batch_job_operation::Operation::Create(Default::default())),
        }),
    };
    client.batch_job().mutate_batch_job(create()).await.unwrap();
    client.batch_job().mutate_batch_job(create()).await.unwrap();
    let error = client
        .batch_job()
        .mutate_batch_job(create())
        .await
        .unwrap_err();
    assert!(
        error.has_code("resource_count_limit_exceeded_error", "ACCOUNT_LIMIT"),
        "{error}"
    );
}
