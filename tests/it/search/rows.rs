//! Rows: search_stream and paged search against the raw stub, paging, counting, summary rows,
//! the synthetic source.

use std::collections::HashSet;

use google_ads::latest::services::{
    GoogleAdsRow, SearchGoogleAdsRequest, SearchGoogleAdsStreamRequest,
};
use google_ads::search::{Row, StreamExt as _, TryStreamExt as _};
use tonic::Code;

use super::*;
use crate::fake::{codes, failure};

/// The rows of `query` through the raw generated stub over the same channel.
async fn raw_rows(client: &GoogleAdsClient, query: &str) -> Vec<GoogleAdsRow> {
    let request = SearchGoogleAdsStreamRequest {
        customer_id: CID.into(),
        query: query.into(),
        ..Default::default()
    };
    let mut stream = client
        .google_ads()
        .raw()
        .search_stream(request)
        .await
        .unwrap()
        .into_inner();
    let mut rows = Vec::new();
    while let Some(batch) = stream.message().await.unwrap() {
        rows.extend(batch.results);
    }
    rows
}

#[tokio::test]
async fn search_stream_and_paged_search_give_the_raw_stubs_rows_for_a_set_of_queries() {
    let (fake, client) = default_fake_and_client().await;
    seed(&client).await;
    fake.synthetic_campaigns(CID, 12_345);
    for (query, expected) in [
        (
            "SELECT campaign.id, campaign.name, campaign.status FROM campaign",
            3 + 12_345,
        ),
        (
            "SELECT campaign.name, campaign.id FROM campaign WHERE campaign.status = PAUSED \
             ORDER BY campaign.name DESC LIMIT 3",
            3,
        ),
        ("SELECT ad_group.name, campaign.name FROM ad_group", 1),
        (
            "SELECT ad_group_criterion.keyword.text, ad_group_criterion.final_urls \
             FROM ad_group_criterion",
            1,
        ),
        (
            "SELECT campaign.id, metrics.clicks, metrics.cost_micros, segments.date \
             FROM campaign LIMIT 10001",
            10_001,
        ),
        (
            "SELECT campaign.id FROM campaign WHERE campaign.name = 'nothing'",
            0,
        ),
    ] {
        let raw = raw_rows(&client, query).await;
        assert_eq!(raw.len(), expected, "{query}");
        let streamed = client
            .search_stream(CID, query)
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap();
        assert!(
            streamed == raw,
            "search_stream differs from the raw stub: {query}"
        );
        let paged: Vec<GoogleAdsRow> = client
            .search(CID, query)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert!(paged == raw, "search differs from the raw stub: {query}");
    }
    // The PAUSED query went through the engine: every fifth synthetic row is PAUSED.
    let paused = raw_rows(
        &client,
        "SELECT campaign.name FROM campaign WHERE campaign.status = PAUSED ORDER BY campaign.name DESC LIMIT 3",
    )
    .await;
    let names: Vec<_> = paused
        .iter()
        .map(|r| r.campaign.as_ref().unwrap().name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Synthetic campaign #000012344",
            "Synthetic campaign #000012339",
            "Synthetic campaign #000012334"
        ]
    );
}

#[tokio::test]
async fn paged_search_counts_before_limit_follows_tokens_and_never_sets_page_size() {
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 25_000);
    let mut rows = client
        .search(CID, "SELECT campaign.id FROM campaign LIMIT 15000")
        .with_total_results_count(true)
        .await
        .unwrap()
        .lazy();
    assert_eq!(rows.info().total_results_count(), Some(25_000));
    assert!(rows.info().request_id().is_some(), "from the page's call");
    let mut ids = HashSet::new();
    while let Some(row) = rows.next().await {
        ids.insert(row.unwrap().get("campaign.id").unwrap().as_i64().unwrap());
    }
    assert_eq!(ids.len(), 15_000);
    assert_eq!(rows.rows_delivered(), 15_000);
    let pages: Vec<SearchGoogleAdsRequest> = fake
        .calls()
        .iter()
        .filter(|c| c.method.ends_with("GoogleAdsService/Search"))
        .map(|c| c.decode().unwrap())
        .collect();
    assert_eq!(pages.len(), 2, "10,000 rows a page");
    assert!(pages.iter().all(|p| p.page_size == 0));
    assert_eq!(pages[0].page_token, "");
    assert!(!pages[1].page_token.is_empty());

    // The fake refuses page_size as the API does.
    let status = client
        .google_ads()
        .raw()
        .search(SearchGoogleAdsRequest {
            customer_id: CID.into(),
            query: "SELECT campaign.id FROM campaign".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        codes(&failure(&status)),
        ["request_error: PAGE_SIZE_NOT_SUPPORTED @ page_size"]
    );

    // SearchStream cannot count: refused before anything is sent.
    let before = fake.calls().len();
    let error = client
        .search_stream(CID, "SELECT campaign.id FROM campaign")
        .with_total_results_count(true)
        .await
        .unwrap_err();
    assert_eq!(error.invalid_field(), Some("total_results_count"));
    assert_eq!(fake.calls().len(), before);
}

#[test]
fn the_streams_can_move_to_other_tasks() {
    fn send<T: Send + 'static>() {}
    send::<google_ads::search::RowStream>();
    send::<google_ads::search::LazyRows>();
    send::<google_ads::search::Batches>();
    send::<google_ads::search::SearchCall>();
}

#[tokio::test]
async fn summary_rows_come_last_with_the_selected_metrics_summed() {
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 25_000);
    let query = "SELECT campaign.id, metrics.clicks, metrics.cost_micros FROM campaign";
    let mut batches = client
        .search_stream(CID, query)
        .with_summary_row(true)
        .await
        .unwrap()
        .batches();
    let (mut sizes, mut clicks, mut cost) = (Vec::new(), 0, 0);
    let mut last = None;
    while let Some(batch) = batches.next().await {
        let batch = batch.unwrap();
        sizes.push(batch.len());
        assert_eq!(
            batch.field_mask().unwrap().paths,
            ["campaign.id", "metrics.clicks", "metrics.cost_micros"]
        );
        assert!(batch.request_id().is_some());
        for row in batch.rows() {
            clicks += row.get("metrics.clicks").unwrap().as_i64().unwrap();
            cost += row.get("metrics.cost_micros").unwrap().as_i64().unwrap();
        }
        last = Some(batch);
    }
    assert_eq!(
        sizes,
        [10_000, 10_000, 5_000, 0],
        "the summary row alone, last"
    );
    let last = last.unwrap();
    let summary = last.summary_row().unwrap();
    assert_eq!(
        summary.get("metrics.clicks").unwrap().as_i64(),
        Some(clicks)
    );
    assert_eq!(
        summary.get("metrics.cost_micros").unwrap().as_i64(),
        Some(cost)
    );
    assert_eq!(
        summary.get("metrics.impressions").unwrap(),
        google_ads::search::Value::Absent
    );
    assert!(batches.info().query_resource_consumption() > 1);
    assert_eq!(batches.info().summary_row(), Some(&summary));

    // The decoded stream keeps it aside; so does paged search.
    let mut rows = client
        .search_stream(CID, query)
        .with_summary_row(true)
        .await
        .unwrap();
    let mut count = 0;
    while let Some(row) = rows.next().await {
        row.unwrap();
        count += 1;
    }
    assert_eq!(count, 25_000);
    assert_eq!(rows.info().summary_row(), Some(&summary));
    let mut pages = client
        .search(CID, query)
        .with_summary_row(true)
        .await
        .unwrap();
    assert_eq!(pages.by_ref().count().await, 25_000);
    assert_eq!(pages.info().summary_row(), Some(&summary));
}

#[tokio::test]
async fn synthetic_rows_are_distinct_and_the_same_through_stream_and_pages() {
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 20_001);
    let query = "SELECT campaign.id, campaign.name, campaign.status, metrics.impressions, \
                 segments.date FROM campaign";
    // SearchStream copies an encoded batch and patches it; Search builds every row.
    let streamed = client
        .search_stream(CID, query)
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    let paged: Vec<GoogleAdsRow> = client
        .search(CID, query)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(streamed == paged);
    let ids: HashSet<i64> = streamed
        .iter()
        .map(|r| r.campaign.as_ref().unwrap().id.unwrap())
        .collect();
    assert_eq!(ids.len(), 20_001);
    let last = Row::from(&streamed[20_000]);
    assert_eq!(
        last.get("campaign.name").unwrap().as_str(),
        Some("Synthetic campaign #000020000")
    );
    assert_eq!(
        last.get("campaign.resource_name").unwrap().as_str(),
        Some("customers/1234567890/campaigns/9000020000")
    );
    assert_eq!(
        last.get("segments.date").unwrap().as_str(),
        Some("2026-01-01")
    );
}

/// A report of a million rows, end to end through CSV; slow in a debug build, so run in
/// release: `cargo nextest run --release --all-features --run-ignored only million`.
#[tokio::test]
#[ignore = "large: run in release"]
async fn a_million_rows_go_through_csv_holding_one_message_at_most() {
    use google_ads::search::CsvWriter;
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 1_000_000);
    let query =
        "SELECT campaign.id, campaign.name, metrics.cost_micros, segments.date FROM campaign";
    let mut rows = client.search_stream(CID, query).await.unwrap().lazy();
    let mut csv = CsvWriter::new(std::io::sink(), query).unwrap();
    let (mut n, mut held, mut last_id) = (0u64, 0, 0);
    while let Some(row) = rows.next().await {
        let row = row.unwrap();
        held = held.max(rows.buffered_bytes() + row.as_bytes().len());
        last_id = row.get("campaign.id").unwrap().as_i64().unwrap();
        csv.write_row(&row).unwrap();
        n += 1;
    }
    csv.finish().unwrap();
    assert_eq!(n, 1_000_000);
    assert_eq!(last_id, 9_000_999_999);
    assert!(held < 2 << 20, "held {held} bytes for the caller");
}
