//! Streams that break, stall, or are not read: clear errors, nothing restarted, nothing
//! buffered beyond a message or two.

use std::time::Duration;

use google_ads::fake::Fault;
use google_ads::search::StreamExt as _;
use tonic::Code;

use super::*;

fn stream_calls(fake: &FakeServer) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.method.ends_with("GoogleAdsService/SearchStream"))
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_stream_cut_mid_way_ends_with_the_rows_delivered_and_is_not_restarted() {
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 40_000);
    fake.inject(
        "GoogleAdsService/SearchStream",
        Fault::ResetAfterRows(15_000),
    );
    let mut rows = client
        .search_stream(CID, "SELECT campaign.id FROM campaign")
        .await
        .unwrap()
        .lazy();
    let mut delivered = 0u64;
    let error = loop {
        match rows.next().await {
            Some(Ok(_)) => delivered += 1,
            Some(Err(error)) => break error,
            None => panic!("the stream ended cleanly after {delivered} rows"),
        }
    };
    assert_eq!(delivered, 15_000);
    assert_eq!(error.rows_delivered(), Some(15_000));
    // The connection's failure: UNAVAILABLE, as a failure before the first frame is.
    assert_eq!(error.code(), Some(Code::Unavailable), "{error}");
    assert!(error.to_string().contains("connection broken"), "{error}");
    assert!(
        error
            .to_string()
            .contains("the stream broke after delivering 15000 rows; it was not restarted"),
        "{error}"
    );
    assert!(rows.next().await.is_none(), "over after the error");
    assert_eq!(stream_calls(&fake), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_stream_ends_after_the_idle_timeout() {
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 40_000);
    fake.inject(
        "GoogleAdsService/SearchStream",
        Fault::StallAfterRows(10_000),
    );
    let mut rows = client
        .search_stream(CID, "SELECT campaign.id FROM campaign")
        .with_idle_timeout(Duration::from_secs(30))
        .await
        .unwrap();
    let mut delivered = 0u64;
    let error = loop {
        match rows.next().await {
            Some(Ok(_)) => delivered += 1,
            Some(Err(error)) => break error,
            None => panic!("the stream ended cleanly after {delivered} rows"),
        }
    };
    assert_eq!(delivered, 10_000);
    assert_eq!(error.code(), Some(Code::DeadlineExceeded));
    assert_eq!(error.rows_delivered(), Some(10_000));
    let text = error.to_string();
    assert!(
        text.contains("no message from the server for 30s"),
        "{text}"
    );
    assert!(text.contains("idle timeout"), "{text}");
    assert!(text.contains("not restarted"), "{text}");
    assert!(rows.next().await.is_none());
    assert_eq!(stream_calls(&fake), 1);
}

#[tokio::test(start_paused = true)]
async fn a_search_whose_first_message_never_comes_ends_after_the_idle_timeout() {
    let (fake, client) = default_fake_and_client().await;
    fake.inject(
        "GoogleAdsService/SearchStream",
        Fault::Latency(Duration::from_secs(3600)),
    );
    let error = client
        .search_stream(CID, "SELECT campaign.id FROM campaign")
        .with_idle_timeout(Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(Code::DeadlineExceeded));
    assert!(
        error
            .to_string()
            .contains("no message from the server for 60s"),
        "{error}"
    );
    // The default is five minutes.
    assert_eq!(
        google_ads::search::DEFAULT_IDLE_TIMEOUT,
        Duration::from_secs(300)
    );
    fake.inject(
        "GoogleAdsService/Search",
        Fault::Latency(Duration::from_secs(3600)),
    );
    let error = client
        .search(CID, "SELECT campaign.id FROM campaign")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("for 300s"), "{error}");
}

#[tokio::test]
async fn an_idle_timeout_of_any_length_is_accepted_and_zero_is_refused() {
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 3);
    let rows = client
        .search_stream(CID, "SELECT campaign.id FROM campaign")
        .with_idle_timeout(Duration::MAX)
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let error = client
        .search(CID, "SELECT campaign.id FROM campaign")
        .with_idle_timeout(Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(error.invalid_field(), Some("idle_timeout"));
}

#[tokio::test(start_paused = true)]
async fn time_spent_between_rows_is_not_idle_time() {
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 25_000);
    let mut rows = client
        .search_stream(CID, "SELECT campaign.id FROM campaign")
        .with_idle_timeout(Duration::from_secs(10))
        .await
        .unwrap()
        .lazy();
    let mut delivered = 0;
    while let Some(row) = rows.next().await {
        row.unwrap();
        delivered += 1;
        if delivered % 5_000 == 0 {
            // A slow consumer: far longer than the idle timeout, between two rows.
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
    assert_eq!(delivered, 25_000);
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_stops_pulling_holds_the_server_back() {
    let (fake, client) = default_fake_and_client().await;
    const ROWS: usize = 500_000;
    fake.synthetic_campaigns(CID, ROWS);
    let mut rows = client
        .search_stream(CID, "SELECT campaign.id, campaign.name FROM campaign")
        .await
        .unwrap()
        .lazy();
    let first = rows.next().await.unwrap().unwrap();
    let batch_bytes = first.as_bytes().len() * 10_000;
    // Stop pulling: let every task run until nothing moves (the paused clock advances only
    // when all are idle), three times in a row.
    let mut last = 0;
    let mut still = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = fake.streamed_bytes();
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still == 3 {
            break;
        }
    }
    assert_eq!(still, 3, "the server kept sending");
    let report_bytes = batch_bytes as u64 * (ROWS / 10_000) as u64;
    eprintln!("streamed {last} bytes of a {report_bytes}-byte report while not pulling");
    // What left the server: a few messages (HTTP/2 windows, one message in each of the
    // server's and the client's decoders), not the report.
    assert!(
        last < report_bytes / 5 && last < 8 * batch_bytes as u64,
        "{last} bytes sent of a {report_bytes}-byte report"
    );
    // What the client holds for the caller: the rest of one message.
    assert!(
        rows.buffered_bytes() < batch_bytes,
        "{}",
        rows.buffered_bytes()
    );

    // Pulling again gets every row.
    let mut delivered = 1;
    while let Some(row) = rows.next().await {
        row.unwrap();
        delivered += 1;
    }
    assert_eq!(delivered, ROWS);
    assert!(fake.streamed_bytes() >= report_bytes * 9 / 10);
}
