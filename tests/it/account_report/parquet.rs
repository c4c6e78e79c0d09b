//! Parquet output: typed columns, one part file per account, equal to the CSV of the same
//! report.

use std::path::Path;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use google_ads::account_report::{AccountReport, Format};
use google_ads::accounts::AccountTree;
use google_ads::search::{ParquetWriter, Row};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{SEPARATOR, TYPED_QUERY, rows_of};
use crate::accounts::{DENIED, DIRECT, ROOT, SHARED, UNDER_A, UNDER_B, id, tree};

/// Every batch of the Parquet file at `path`.
fn batches(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A cell as the CSV writer writes the value: integers and doubles as Rust prints them,
/// enums by name, dates as yyyy-MM-dd, lists as JSON arrays, nulls empty.
fn cell(column: &ArrayRef, row: usize) -> String {
    if column.is_null(row) {
        return String::new();
    }
    use arrow_schema::DataType;
    match column.data_type() {
        DataType::Int64 => column.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float64 => column.as_primitive::<Float64Type>().value(row).to_string(),
        DataType::Boolean => column.as_boolean().value(row).to_string(),
        DataType::Utf8 => column.as_string::<i32>().value(row).to_owned(),
        DataType::Date32 => column
            .as_primitive::<Date32Type>()
            .value_as_date(row)
            .unwrap()
            .to_string(),
        DataType::Dictionary(..) => {
            let names = column.as_dictionary::<Int32Type>();
            let key = names.keys().value(row) as usize;
            names.values().as_string::<i32>().value(key).to_owned()
        }
        DataType::List(_) => {
            let items = column.as_list::<i32>().value(row);
            let items: Vec<String> = (0..items.len())
                .map(|i| serde_json::Value::String(cell(&items, i)).to_string())
                .collect();
            format!("[{}]", items.join(","))
        }
        other => panic!("a column type the reports do not write: {other}"),
    }
}

/// The accounts of each run of rows (the `customer_id` column) over the parts of `folder` in
/// name order: an account in two runs was split.
pub(crate) fn account_runs(folder: &Path) -> Vec<(String, usize)> {
    let mut parts: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    let mut runs: Vec<(String, usize)> = Vec::new();
    for part in parts {
        for batch in batches(&part) {
            for id in batch.column(0).as_primitive::<Int64Type>().iter() {
                let id = id.unwrap().to_string();
                match runs.last_mut() {
                    Some((last, n)) if *last == id => *n += 1,
                    _ => runs.push((id, 1)),
                }
            }
        }
    }
    runs
}

/// The rows of every part file in `folder`, as [`super::rows_of`] gives them.
pub(crate) fn rows_as_csv(folder: &Path) -> (String, Vec<String>) {
    let mut header = String::new();
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        for batch in batches(&path) {
            let schema = batch.schema();
            header = schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(",");
            for row in 0..batch.num_rows() {
                let cells: Vec<String> = batch.columns().iter().map(|c| cell(c, row)).collect();
                rows.push(cells.join(SEPARATOR));
            }
        }
    }
    (header, rows)
}

#[tokio::test(start_paused = true)]
async fn parquet_parts_are_typed_hold_whole_accounts_and_equal_the_csv() {
    let fake = tree().await;
    for (customer, rows) in [(DIRECT, 30), (UNDER_A, 50), (SHARED, 70), (UNDER_B, 0)] {
        fake.synthetic_campaigns(customer, rows);
    }
    let client = crate::client_in_memory(&fake);
    let tree = AccountTree::walk(&client, &[id(ROOT)]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("report");
    let summary = AccountReport::new(&client, TYPED_QUERY)
        .unwrap()
        .accounts(tree.clients())
        .accounts_in_flight(3)
        .rows_per_part(60)
        .write(Format::Parquet, &folder)
        .await
        .unwrap();
    assert_eq!(summary.rows(), 150);
    assert_eq!(summary.failed().next().unwrap().customer_id, id(DENIED));

    // Parts numbered from 0, nothing unfinished; each closed once it held 60 rows (the last
    // at the end), each holding whole accounts.
    let mut parts: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    parts.sort();
    let numbered: Vec<String> = (0..parts.len())
        .map(|n| format!("part-{n:05}.parquet"))
        .collect();
    assert_eq!(parts, numbered);
    assert!(parts.len() >= 2, "{parts:?}");
    for part in &parts[..parts.len() - 1] {
        let rows: usize = batches(&folder.join(part))
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert!(rows >= 60, "{part}: {rows} rows");
    }
    let mut runs = account_runs(&folder);
    super::assert_contiguous(&runs);
    runs.sort();
    let mut expected = vec![
        (DIRECT.to_owned(), 30),
        (UNDER_A.to_owned(), 50),
        (SHARED.to_owned(), 70),
    ];
    expected.sort();
    assert_eq!(runs, expected);

    // Typed columns, named by path.
    let first = batches(&folder.join(&parts[0]));
    let schema = first[0].schema();
    let types: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    assert_eq!(
        types,
        [
            "customer_id Int64",
            "campaign.id Int64",
            "campaign.name Utf8",
            "campaign.status Dictionary(Int32, Utf8)",
            "campaign.labels List(Utf8)",
            "campaign.network_settings.target_google_search Boolean",
            "metrics.clicks Int64",
            "metrics.ctr Float64",
            "metrics.cost_micros Int64",
            "segments.date Date32",
        ],
    );

    // The same report as CSV: the same cells.
    let csv = dir.path().join("report.csv");
    AccountReport::new(&client, TYPED_QUERY)
        .unwrap()
        .accounts(tree.clients())
        .write(Format::Csv, &csv)
        .await
        .unwrap();
    let (parquet_header, parquet_rows) = rows_of(Format::Parquet, &folder);
    let (csv_header, csv_rows) = rows_of(Format::Csv, &csv);
    assert_eq!(parquet_header, csv_header);
    assert_eq!(parquet_rows.len(), 150);
    assert_eq!(parquet_rows, csv_rows);

    // By default one part holds everything; an account without rows adds none.
    let single = dir.path().join("single");
    AccountReport::new(&client, TYPED_QUERY)
        .unwrap()
        .account(id(UNDER_B), Some(id(ROOT)))
        .write(Format::Parquet, &single)
        .await
        .unwrap();
    let only = single.join("part-00000.parquet");
    assert_eq!(
        batches(&only)
            .iter()
            .map(RecordBatch::num_rows)
            .sum::<usize>(),
        0
    );
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&only).unwrap());
    assert_eq!(
        reader.unwrap().schema().fields().len(),
        10,
        "the columns, without rows"
    );
}

#[test]
fn a_long_report_is_written_in_several_batches_and_read_back_whole() {
    use google_ads::latest::resources::Campaign;
    use google_ads::latest::services::GoogleAdsRow;
    let query = "SELECT campaign.id, campaign.status FROM campaign";
    let mut writer = ParquetWriter::new(Vec::new(), query).unwrap();
    for i in 0..20_000i64 {
        writer
            .write_row(&Row::from(&GoogleAdsRow {
                // Every 7th row without the campaign: nulls.
                campaign: (i % 7 != 0).then(|| {
                    Box::new(Campaign {
                        id: Some(i),
                        status: 2 + (i % 2) as i32,
                        ..Default::default()
                    })
                }),
                ..Default::default()
            }))
            .unwrap();
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), writer.finish().unwrap()).unwrap();
    let batches = batches(file.path());
    let mut read = 0;
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let i = (read + row) as i64;
            let (id, status) = (cell(batch.column(0), row), cell(batch.column(1), row));
            if i % 7 == 0 {
                assert_eq!((id.as_str(), status.as_str()), ("", ""));
            } else {
                let name = if i % 2 == 0 { "ENABLED" } else { "PAUSED" };
                assert_eq!((id, status.as_str()), (i.to_string(), name));
            }
        }
        read += batch.num_rows();
    }
    assert_eq!(read, 20_000);
}

#[test]
fn a_date_that_is_not_a_date_is_an_error_naming_the_field() {
    use google_ads::latest::common::Segments;
    use google_ads::latest::services::GoogleAdsRow;
    let mut writer = ParquetWriter::new(Vec::new(), "SELECT segments.date FROM campaign").unwrap();
    let error = writer
        .write_row(&Row::from(&GoogleAdsRow {
            segments: Some(Box::new(Segments {
                date: Some("2026-13-01".into()),
                ..Default::default()
            })),
            ..Default::default()
        }))
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        error
            .to_string()
            .contains("segments.date: \"2026-13-01\" is not a yyyy-MM-dd date"),
        "{error}"
    );
}
