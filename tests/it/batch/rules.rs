//! Refused before anything is sent; the polling schedule; the longest wait.

use std::time::Duration;

use google_ads::batch::{Event, Stage};
use google_ads::latest::services::{CustomerOperation, mutate_operation::Operation};

use super::*;

async fn refused(operations: Vec<MutateOperation>) -> google_ads::Error {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let mut driver =
        BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations)).unwrap();
    let error = driver.poll().await.unwrap_err();
    assert!(
        fake.calls().is_empty(),
        "nothing was sent: {:?}",
        fake.calls()
    );
    assert_eq!(driver.state().stage, Stage::Validating);
    error
}

#[tokio::test]
async fn operations_a_job_cannot_hold_are_refused_by_index() {
    let (mut operations, _) = job_operations(2, 1, false);
    operations.insert(
        3,
        MutateOperation {
            operation: Some(Operation::CustomerOperation(Box::default())),
        },
    );
    operations.push(MutateOperation {
        operation: Some(Operation::BookCampaignsOperation(Box::default())),
    });
    let _ = CustomerOperation::default();
    let error = refused(operations).await;
    let fields: Vec<&str> = error.violations().iter().map(|v| v.field()).collect();
    assert!(
        fields.contains(&"mutate_operations[3].customer_operation"),
        "{error}"
    );
    assert!(
        fields.contains(&"mutate_operations[9].book_campaigns_operation"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("a batch job cannot hold this operation"),
        "{error}"
    );
}

#[tokio::test]
async fn bad_temporary_names_across_the_job_are_refused() {
    let (mut operations, _) = job_operations(3, 1, false);
    // The second tree's campaign (index 6) moved to the end is fine; its ad group (7) now
    // comes before it: used before created.
    let campaign = operations.remove(6);
    operations.push(campaign);
    let error = refused(operations).await;
    let violation = &error.violations()[0];
    assert_eq!(violation.operation(), Some(6));
    assert!(
        violation
            .rule()
            .contains("used before the operation that creates it"),
        "{error}"
    );
}

#[tokio::test]
async fn a_split_sub_batch_is_refused() {
    let (mut operations, planted) = job_operations(2, 1, true);
    // Put an unrelated operation between the asset group and its links.
    let start = planted.transaction[0];
    let keyword = operations.remove(3);
    operations.insert(start, keyword);
    let error = refused(operations).await;
    assert!(
        error
            .violations()
            .iter()
            .any(|v| v.rule().contains("keep a asset group sub-batch together")),
        "{error}"
    );
}

/// The driver polls on the configured schedule (checked on the fake's clock stamps), and
/// gives up at the longest wait with an error saying how long, how often and how far.
#[tokio::test(start_paused = true)]
async fn polls_follow_the_schedule_and_the_longest_wait_is_an_error() {
    // 2,000 operations at 10 a second: 200 s of running.
    let (fake, client) = fake_and_client(FakeServer::builder().batch_ops_per_second(10)).await;
    let (operations, _) = job_operations(400, 1, false);
    let mut driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations))
        .unwrap()
        .with_poll_schedule(PollSchedule::default().with_max_wait(Duration::from_secs(150)));
    let error = loop {
        match driver.poll().await {
            Ok(Event::Done(_)) => panic!("the job should outlast the wait"),
            Ok(_) => {}
            Err(error) => break error,
        }
    };
    assert!(error.is_timeout(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("is still running after") && text.contains("3 polls"),
        "{text}"
    );
    assert!(text.contains("operations executed"), "{text}");
    // The polls: 30 s, then 40 s, then 53.2 s after the one before.
    let polls: Vec<Duration> = status_polls(&fake).iter().map(|c| c.at).collect();
    let started = fake
        .calls()
        .iter()
        .find(|c| c.method.ends_with("RunBatchJob"))
        .unwrap()
        .at;
    let gaps: Vec<u128> = std::iter::once(started)
        .chain(polls.iter().copied())
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    // On the paused clock, time can also jump to one of the fake's own timers (once a
    // second) while a call is on the wire: each gap is its delay, give or take that.
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    for (gap, expected) in gaps.iter().zip([30_000u128, 39_900, 53_067]) {
        assert!((expected..expected + 1_500).contains(gap), "{gaps:?}");
    }
}

/// A one-pass stream is checked as it uploads: a temporary name never created, found at the
/// end, leaves the job unrun, and removed.
#[tokio::test(start_paused = true)]
async fn a_one_pass_source_with_a_late_problem_leaves_no_job() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let (mut operations, _) = job_operations(50, 2, false);
    let mut orphan = Operations::new(CID).unwrap();
    orphan
        .create(AdGroup {
            name: Some("Orphan".into()),
            campaign: Some("customers/1234567890/campaigns/-9999".into()),
            ..Default::default()
        })
        .unwrap();
    operations.extend(orphan.into_operations());
    let mut driver = BatchJobDriver::new(
        &client,
        CID,
        OperationSource::one_pass(futures_util::stream::iter(operations)),
    )
    .unwrap()
    .with_chunk_size(50);
    let error = loop {
        match driver.poll().await {
            Ok(_) => {}
            Err(error) => break error,
        }
    };
    assert!(error.to_string().contains("never created"), "{error}");
    let job = driver.state().job.clone().unwrap();
    assert!(
        fake.batch_job_operations(&job).is_none(),
        "the job was removed"
    );
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.method.ends_with("RunBatchJob"))
    );
}
