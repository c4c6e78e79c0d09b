//! CSV and JSON lines against golden files, an empty report, exact micros, and quoting user
//! values into queries.

use google_ads::latest::common::Metrics;
use google_ads::latest::services::GoogleAdsRow;
use google_ads::search::{CsvWriter, JsonLinesWriter, Row, StreamExt as _, quote, select_fields};

use super::*;

/// `query`'s report written both ways.
async fn report(client: &GoogleAdsClient, query: &str) -> (String, String) {
    let mut rows = client.search_stream(CID, query).await.unwrap().lazy();
    let mut csv = CsvWriter::new(Vec::new(), query).unwrap();
    let mut jsonl = JsonLinesWriter::new(Vec::new(), query).unwrap();
    while let Some(row) = rows.next().await {
        let row = row.unwrap();
        csv.write_row(&row).unwrap();
        jsonl.write_row(&row).unwrap();
    }
    (
        String::from_utf8(csv.finish().unwrap()).unwrap(),
        String::from_utf8(jsonl.finish().unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn reports_match_the_golden_files() {
    let (fake, client) = default_fake_and_client().await;
    seed(&client).await;
    let (csv, jsonl) = report(
        &client,
        "SELECT campaign.name, campaign.status, campaign.excluded_parent_asset_field_types, \
         metrics.clicks FROM campaign ORDER BY campaign.name",
    )
    .await;
    assert_eq!(csv, include_str!("../data/search/store.csv"));
    assert_eq!(jsonl, include_str!("../data/search/store.jsonl"));
    // Every line is JSON with the keys in SELECT order.
    for line in jsonl.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 4);
    }

    fake.synthetic_campaigns(CID, 3);
    let (csv, jsonl) = report(
        &client,
        "SELECT campaign.id, campaign.name, campaign.status, metrics.clicks, \
         metrics.cost_micros, segments.date FROM campaign WHERE campaign.name LIKE 'Synthetic%'",
    )
    .await;
    assert_eq!(csv, include_str!("../data/search/synthetic.csv"));
    assert_eq!(jsonl, include_str!("../data/search/synthetic.jsonl"));
}

#[tokio::test]
async fn an_empty_report_still_has_its_header() {
    let (_fake, client) = default_fake_and_client().await;
    let (csv, jsonl) = report(
        &client,
        "SELECT campaign.id, campaign.name FROM campaign WHERE campaign.name = 'none'",
    )
    .await;
    assert_eq!(csv, include_str!("../data/search/empty.csv"));
    assert_eq!(jsonl, include_str!("../data/search/empty.jsonl"));
}

#[test]
fn micros_stay_exact_beyond_what_a_float_holds() {
    let query = "SELECT metrics.cost_micros, metrics.average_cpc FROM campaign";
    let mut csv = CsvWriter::new(Vec::new(), query).unwrap();
    let mut jsonl = JsonLinesWriter::new(Vec::new(), query).unwrap();
    for cost in [(1i64 << 53) + 1, i64::MAX] {
        let row = Row::from(&GoogleAdsRow {
            metrics: Some(Box::new(Metrics {
                cost_micros: Some(cost),
                average_cpc: Some(0.1),
                ..Default::default()
            })),
            ..Default::default()
        });
        csv.write_row(&row).unwrap();
        jsonl.write_row(&row).unwrap();
    }
    assert_eq!(
        String::from_utf8(csv.finish().unwrap()).unwrap(),
        "metrics.cost_micros,metrics.average_cpc\n9007199254740993,0.1\n9223372036854775807,0.1\n"
    );
    assert_eq!(
        String::from_utf8(jsonl.finish().unwrap()).unwrap(),
        "{\"metrics.cost_micros\":9007199254740993,\"metrics.average_cpc\":0.1}\n\
         {\"metrics.cost_micros\":9223372036854775807,\"metrics.average_cpc\":0.1}\n"
    );
}

#[test]
fn writers_refuse_a_select_list_they_cannot_read() {
    for (query, says) in [
        ("campaign.id FROM campaign", "must start with SELECT"),
        ("SELECT campaign.id campaign", "no FROM"),
        ("SELECT campaign.id, FROM campaign", "is not a field name"),
        (
            "SELECT campaign.nope FROM campaign",
            "Campaign has no field `nope`",
        ),
    ] {
        let error = CsvWriter::new(Vec::new(), query).err().unwrap();
        assert!(error.to_string().contains(says), "{query}: {error}");
    }
    assert_eq!(
        select_fields("SELECT\tcampaign.id ,\n metrics.clicks  from campaign").unwrap(),
        ["campaign.id", "metrics.clicks"]
    );
}

#[tokio::test]
async fn a_quoted_value_never_changes_the_query() {
    let (fake, client) = default_fake_and_client().await;
    seed(&client).await;
    let names_where = |value: String| {
        let client = client.clone();
        async move {
            let query = format!("SELECT campaign.name FROM campaign WHERE campaign.name = {value}");
            let mut rows = client.search_stream(CID, &query).await.unwrap().lazy();
            let mut names = Vec::new();
            while let Some(row) = rows.next().await {
                let row = row.unwrap();
                names.push(
                    row.get("campaign.name")
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            names
        }
    };
    // Quotes, backslashes and unicode find exactly their campaign.
    for name in TRICKY_NAMES {
        assert_eq!(names_where(quote(name).unwrap()).await, [name], "{name}");
    }
    // Values that would break out of an unquoted literal match nothing and change nothing.
    for value in [
        "x' OR campaign.name LIKE '%",
        "x\" OR campaign.name LIKE \"%",
        "\\' OR campaign.name != '",
        "\\",
        "'",
    ] {
        assert_eq!(
            names_where(quote(value).unwrap()).await,
            Vec::<String>::new(),
            "{value}"
        );
    }
    // A line break has no GAQL form: refused, nothing sent.
    let calls = fake.calls().len();
    for value in ["two\nlines", "carriage\rreturn"] {
        let error = quote(value).unwrap_err();
        assert_eq!(error.invalid_field(), Some("value"));
        assert!(error.to_string().contains("line break"), "{error}");
    }
    assert_eq!(fake.calls().len(), calls);
}
