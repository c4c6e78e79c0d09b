//! GoogleAdsService.Search and SearchStream over the store, with a GAQL subset.

use google_ads::latest::services::google_ads_service_client::GoogleAdsServiceClient;
use google_ads::latest::services::{
    GoogleAdsRow, MutateGoogleAdsRequest, SearchGoogleAdsRequest, SearchGoogleAdsStreamRequest,
    SearchSettings,
};
use tonic::Code;

use super::*;

async fn seed(ctx: &Ctx) {
    let ops = vec![
        budget(-1, "B", 10_000_000),
        campaign(-2, "Alpha", &temp_budget(-1)),
        campaign(-3, "Beta", &temp_budget(-1)),
        campaign(-4, "Gamma", &temp_budget(-1)),
        ad_group(-5, "G1", &temp_campaign(-3)),
    ];
    GoogleAdsServiceClient::new(ctx.channel.clone())
        .mutate(req(MutateGoogleAdsRequest {
            customer_id: CID.into(),
            mutate_operations: ops,
            ..Default::default()
        }))
        .await
        .unwrap();
}

async fn search(ctx: &Ctx, query: &str) -> Result<Vec<GoogleAdsRow>, tonic::Status> {
    let request = SearchGoogleAdsRequest {
        customer_id: CID.into(),
        query: query.into(),
        ..Default::default()
    };
    GoogleAdsServiceClient::new(ctx.channel.clone())
        .search(req(request))
        .await
        .map(|r| r.into_inner().results)
}

fn campaign_names(rows: &[GoogleAdsRow]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r.campaign
                .as_ref()
                .and_then(|c| c.name.clone())
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn where_order_by_and_limit() {
    let ctx = start_default().await;
    seed(&ctx).await;
    let q = |s: &str| format!("SELECT campaign.name, campaign.id FROM campaign {s}");
    assert_eq!(
        campaign_names(
            &search(&ctx, &q("ORDER BY campaign.name DESC"))
                .await
                .unwrap()
        ),
        ["Gamma", "Beta", "Alpha"]
    );
    assert_eq!(
        campaign_names(
            &search(
                &ctx,
                &q("WHERE campaign.name IN ('Alpha', 'Gamma') ORDER BY campaign.name")
            )
            .await
            .unwrap()
        ),
        ["Alpha", "Gamma"]
    );
    assert_eq!(
        campaign_names(
            &search(&ctx, &q("WHERE campaign.name LIKE '%et%'"))
                .await
                .unwrap()
        ),
        ["Beta"]
    );
    assert_eq!(
        campaign_names(
            &search(
                &ctx,
                &q("WHERE campaign.name NOT LIKE 'A%' ORDER BY campaign.name LIMIT 1")
            )
            .await
            .unwrap()
        ),
        ["Beta"]
    );
    assert_eq!(
        search(&ctx, &q("WHERE campaign.status = 'ENABLED'"))
            .await
            .unwrap()
            .len(),
        0,
        "status unset on create"
    );
    assert_eq!(
        search(
            &ctx,
            &q("WHERE campaign.advertising_channel_type = SEARCH AND campaign.name != 'Beta'")
        )
        .await
        .unwrap()
        .len(),
        2
    );
    let rows = search(&ctx, &q("WHERE campaign.name = 'Alpha'"))
        .await
        .unwrap();
    let alpha = rows[0].campaign.as_ref().unwrap();
    assert!(
        alpha.id.is_some() && !alpha.resource_name.is_empty(),
        "selected fields and the resource name"
    );
    assert_eq!(
        alpha.campaign_budget, None,
        "unselected fields are left out"
    );
}

#[tokio::test]
async fn fields_of_referenced_resources_are_joined() {
    let ctx = start_default().await;
    seed(&ctx).await;
    let rows = search(&ctx, "SELECT ad_group.name, campaign.name FROM ad_group")
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].ad_group.as_ref().unwrap().name.as_deref(),
        Some("G1")
    );
    assert_eq!(campaign_names(&rows), ["Beta"]);
}

#[tokio::test]
async fn malformed_queries_get_query_errors() {
    let ctx = start_default().await;
    for (query, expected) in [
        (
            "campaign.name FROM campaign",
            "query_error: EXPECTED_SELECT",
        ),
        (
            "SELECT campaign.name campaign",
            "query_error: EXPECTED_FROM",
        ),
        (
            "SELECT campaign.name FROM nothing_here",
            "query_error: BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
        ),
        (
            "SELECT campaign.nope FROM campaign",
            "query_error: UNRECOGNIZED_FIELD",
        ),
        (
            "SELECT campaign.name FROM campaign WHERE campaign.name = 'open",
            "query_error: STRING_NOT_TERMINATED",
        ),
        (
            "SELECT campaign.name FROM campaign LIMIT 0",
            "query_error: BAD_LIMIT_VALUE",
        ),
        (
            "SELECT campaign.name FROM campaign WHERE campaign.name ~ 'x'",
            "query_error: BAD_SYMBOL",
        ),
        (
            "SELECT campaign.name FROM campaign WHERE segments.date DURING NEXT_DECADE",
            "query_error: INVALID_VALUE_WITH_DURING_OPERATOR",
        ),
        (
            "SELECT campaign.name FROM campaign WHERE segments.date DURING 'x'",
            "query_error: INVALID_VALUE_WITH_DURING_OPERATOR",
        ),
    ] {
        let status = search(&ctx, query).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{query}");
        assert_eq!(codes(&failure(&status)), [expected], "{query}");
    }
}

#[tokio::test]
async fn search_pages_and_counts_and_stream_batches_a_synthetic_source() {
    let ctx = start_default().await;
    ctx.fake.synthetic_campaigns(CID, 25_000);
    let mut client = GoogleAdsServiceClient::new(ctx.channel.clone());
    let query = "SELECT campaign.id, campaign.name FROM campaign";
    let mut token = String::new();
    let mut rows = 0;
    let mut pages = 0;
    loop {
        let request = SearchGoogleAdsRequest {
            customer_id: CID.into(),
            query: query.into(),
            page_token: token.clone(),
            search_settings: Some(SearchSettings {
                return_total_results_count: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        let page = client.search(req(request)).await.unwrap().into_inner();
        assert_eq!(page.total_results_count, 25_000);
        rows += page.results.len();
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((rows, pages), (25_000, 3));

    let request = SearchGoogleAdsStreamRequest {
        customer_id: CID.into(),
        query: query.into(),
        ..Default::default()
    };
    let mut stream = client
        .search_stream(req(request))
        .await
        .unwrap()
        .into_inner();
    let mut batches = Vec::new();
    while let Some(batch) = stream.message().await.unwrap() {
        assert!(!batch.request_id.is_empty());
        batches.push(batch.results.len());
    }
    assert_eq!(batches, [10_000, 10_000, 5_000]);
}
