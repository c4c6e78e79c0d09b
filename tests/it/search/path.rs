//! Reading rows by GAQL field path: scalars, enums, nested messages, repeated and absent
//! fields, and paths that are not fields.

use google_ads::latest::common::KeywordInfo;
use google_ads::latest::resources::Campaign;
use google_ads::latest::services::GoogleAdsRow;
use google_ads::search::{Column, EnumValue, Row, StreamExt as _, Value};

use super::*;

async fn one_row(client: &GoogleAdsClient, query: &str) -> Row {
    let mut rows = client.search_stream(CID, query).await.unwrap().lazy();
    let row = rows.next().await.unwrap().unwrap();
    assert!(rows.next().await.is_none(), "one row expected: {query}");
    row
}

#[tokio::test]
async fn field_paths_read_scalars_enums_messages_lists_and_absent_fields() {
    let (_fake, client) = default_fake_and_client().await;
    seed(&client).await;

    let row = one_row(
        &client,
        "SELECT ad_group_criterion.keyword.text, ad_group_criterion.keyword.match_type, \
         ad_group_criterion.final_urls, ad_group_criterion.keyword, campaign.name \
         FROM ad_group_criterion",
    )
    .await;
    // Nested scalar and enum.
    assert_eq!(
        row.get("ad_group_criterion.keyword.text").unwrap(),
        Value::String("running shoes")
    );
    assert_eq!(
        row.get("ad_group_criterion.keyword.match_type").unwrap(),
        Value::Enum(EnumValue {
            number: 2,
            name: Some("EXACT")
        })
    );
    // Repeated.
    assert_eq!(
        row.get("ad_group_criterion.final_urls").unwrap(),
        Value::List(vec![
            Value::String("https://example.com/a"),
            Value::String("https://example.com/b")
        ])
    );
    // A message, readable further and decodable.
    let Value::Message(keyword) = row.get("ad_group_criterion.keyword").unwrap() else {
        panic!("a message");
    };
    assert!(keyword.type_name().ends_with("common.KeywordInfo"));
    assert_eq!(
        keyword.decode::<KeywordInfo>().unwrap(),
        KeywordInfo {
            text: Some("running shoes".into()),
            match_type: 2
        }
    );
    let fields = keyword.fields();
    assert!(fields.contains(&("text", Value::String("running shoes"))));
    let mut json = Vec::new();
    row.get("ad_group_criterion.keyword")
        .unwrap()
        .write_json(&mut json);
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"text": "running shoes", "match_type": "EXACT"})
    );
    // Absent: a field not selected, a field of a message the row does not carry, and a
    // field joined from a resource the criterion does not reference.
    assert_eq!(
        row.get("ad_group_criterion.cpc_bid_micros").unwrap(),
        Value::Absent
    );
    assert!(row.get("metrics.clicks").unwrap().is_absent());
    assert!(row.get("campaign.name").unwrap().is_absent());

    // Enums by name; a packed repeated enum; an enum without presence in a present message
    // reads as its default, as protobuf defines it.
    let mut rows = client
        .search_stream(
            CID,
            "SELECT campaign.name, campaign.status, campaign.excluded_parent_asset_field_types \
             FROM campaign ORDER BY campaign.name",
        )
        .await
        .unwrap()
        .lazy();
    let mut seen = Vec::new();
    while let Some(row) = rows.next().await {
        let row = row.unwrap();
        let types: Vec<_> = row
            .get("campaign.excluded_parent_asset_field_types")
            .unwrap()
            .as_list()
            .unwrap()
            .iter()
            .map(|v| v.as_enum_name().unwrap())
            .collect();
        seen.push((
            row.get("campaign.name")
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned(),
            row.get("campaign.status").unwrap().as_enum_name().unwrap(),
            types,
        ));
    }
    assert_eq!(
        seen,
        [
            ("Alpha".to_owned(), "UNSPECIFIED", vec![]),
            (
                TRICKY_NAMES[1].to_owned(),
                "PAUSED",
                vec!["SITELINK", "CALLOUT"]
            ),
            (TRICKY_NAMES[2].to_owned(), "UNSPECIFIED", vec![]),
        ]
    );
}

#[tokio::test]
async fn paths_that_are_not_fields_are_refused_by_name() {
    let row = Row::from(&GoogleAdsRow::default());
    for (path, says) in [
        ("campaign.nope", "Campaign has no field `nope`"),
        ("nothing.id", "GoogleAdsRow has no field `nothing`"),
        ("campaign.id.more", "`id` is not a message"),
        (
            "campaign.frequency_caps.level",
            "`frequency_caps` is a repeated field",
        ),
        ("campaign..id", "joined by dots"),
        ("", "joined by dots"),
    ] {
        let error = row.get(path).unwrap_err();
        assert!(error.to_string().contains(says), "{path}: {error}");
        assert_eq!(
            error.invalid_field(),
            Some(format!("field path {path:?}").as_str())
        );
    }
}

#[test]
fn values_of_every_kind_read_from_local_rows() {
    let row = Row::from(&GoogleAdsRow {
        campaign: Some(Box::new(Campaign {
            id: Some(-1),
            optimization_score: Some(0.25),
            status: 999,
            ..Default::default()
        })),
        ..Default::default()
    });
    assert_eq!(row.get("campaign.id").unwrap(), Value::Int(-1));
    assert_eq!(
        row.get("campaign.optimization_score").unwrap(),
        Value::Float(0.25)
    );
    assert_eq!(
        row.get("campaign.status").unwrap(),
        Value::Enum(EnumValue {
            number: 999,
            name: None
        }),
        "a number this version does not know keeps its number"
    );
    assert_eq!(row.get("campaign.name").unwrap(), Value::Absent);
    assert_eq!(row.get("ad_group.id").unwrap(), Value::Absent);
    // A column made once reads any number of rows.
    let column = Column::new("campaign.id").unwrap();
    assert_eq!(column.path(), "campaign.id");
    assert_eq!(row.read(&column).to_string(), "-1");
}

#[tokio::test]
async fn every_path_reads_what_decoding_the_row_gives() {
    let (fake, client) = default_fake_and_client().await;
    fake.synthetic_campaigns(CID, 10_000);
    let query = "SELECT campaign.id, campaign.name, campaign.status, metrics.clicks, \
                 metrics.cost_micros, segments.date FROM campaign";
    let mut rows = client.search_stream(CID, query).await.unwrap().lazy();
    let columns: Vec<Column> = google_ads::search::select_fields(query)
        .unwrap()
        .iter()
        .map(|f| Column::new(f).unwrap())
        .collect();
    let mut n = 0;
    while let Some(row) = rows.next().await {
        let row = row.unwrap();
        let decoded = row.decode().unwrap();
        let campaign = decoded.campaign.as_ref().unwrap();
        let metrics = decoded.metrics.as_ref().unwrap();
        let values: Vec<Value> = columns.iter().map(|c| row.read(c)).collect();
        assert_eq!(values[0], Value::Int(campaign.id.unwrap()));
        assert_eq!(values[1], Value::String(campaign.name.as_deref().unwrap()));
        assert_eq!(
            values[2].as_enum_name(),
            Some(campaign.status().as_str_name())
        );
        assert_eq!(values[3], Value::Int(metrics.clicks.unwrap()));
        assert_eq!(values[4], Value::Int(metrics.cost_micros.unwrap()));
        assert_eq!(
            values[5].as_str(),
            decoded.segments.as_ref().unwrap().date.as_deref()
        );
        n += 1;
    }
    assert_eq!(n, 10_000);
}
