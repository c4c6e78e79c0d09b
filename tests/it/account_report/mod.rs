//! Reports across account trees: Parquet output read back, and runs killed at random points
//! and resumed.

#[cfg(feature = "parquet")]
mod parquet;
mod resume;

use std::collections::BTreeMap;
use std::path::Path;

use google_ads::account_report::Format;

/// Every field kind a report column can have: integers, a double, a bool, a string, an enum,
/// a repeated field, a date.
pub(crate) const TYPED_QUERY: &str = "SELECT campaign.id, campaign.name, campaign.status, \
    campaign.labels, campaign.network_settings.target_google_search, metrics.clicks, \
    metrics.ctr, metrics.cost_micros, segments.date FROM campaign";

/// Fields of a record joined by this (no report cell has it).
pub(crate) const SEPARATOR: &str = "\u{1f}";

/// The report's rows, each its cells as the CSV writer writes them joined by [`SEPARATOR`]
/// (Parquet values converted so), sorted; and the header.
pub(crate) fn rows_of(format: Format, output: &Path) -> (String, Vec<String>) {
    let (header, mut rows) = match format {
        Format::Csv => {
            let mut reader = csv::Reader::from_path(output).unwrap();
            let header = reader
                .headers()
                .unwrap()
                .iter()
                .collect::<Vec<_>>()
                .join(",");
            let rows: Vec<String> = reader
                .records()
                .map(|r| r.unwrap().iter().collect::<Vec<_>>().join(SEPARATOR))
                .collect();
            (header, rows)
        }
        Format::JsonLines => {
            let text = std::fs::read_to_string(output).unwrap();
            let mut header = String::new();
            let rows = text
                .lines()
                .map(|line| {
                    let object: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(line).unwrap();
                    header = object.keys().cloned().collect::<Vec<_>>().join(",");
                    object
                        .values()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(SEPARATOR)
                })
                .collect();
            (header, rows)
        }
        #[cfg(feature = "parquet")]
        Format::Parquet => parquet::rows_as_csv(output),
        _ => unreachable!("a format this test does not know"),
    };
    rows.sort();
    (header, rows)
}

/// The accounts of each run of rows (the first column), in file order: an account that
/// appears in two runs was not written contiguously.
pub(crate) fn runs_of(output: &Path) -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(output).unwrap();
    let mut runs: Vec<(String, usize)> = Vec::new();
    for line in text.lines().skip(1) {
        let id = line.split(',').next().unwrap().to_owned();
        match runs.last_mut() {
            Some((last, n)) if *last == id => *n += 1,
            _ => runs.push((id, 1)),
        }
    }
    runs
}

/// Each account once: no account's rows in two places.
pub(crate) fn assert_contiguous(runs: &[(String, usize)]) {
    let mut seen = BTreeMap::new();
    for (id, n) in runs {
        assert!(
            seen.insert(id.clone(), *n).is_none(),
            "{id}'s rows are in two places: {runs:?}"
        );
    }
}
