//! The synthetic report source: [`super::FakeServer::synthetic_campaigns`] makes `FROM
//! campaign` queries of a customer also return N generated rows (campaign fields, metrics,
//! `segments.date`: every kind of column a report writes, a double, a bool, an enum, a
//! repeated field and a date among them), never stored, so reports of any size can be read.
//!
//! Row i is the same whichever way it is read. SearchStream serves rows from a batch of
//! 10,000 encoded once per customer and SELECT list ([`Template`]), copied into the
//! transport's buffer per batch with only each row's id, resource name and name written in
//! (fixed-width digits, a fixed-width varint): so the fake costs one copy per batch, not an
//! encode per row, and outruns any client.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;

use crate::latest::common::{Metrics, Segments};
use crate::latest::enums::advertising_channel_type_enum::AdvertisingChannelType;
use crate::latest::enums::campaign_status_enum::CampaignStatus;
use crate::latest::resources::Campaign;
use crate::latest::resources::campaign::NetworkSettings;
use crate::latest::services::GoogleAdsRow;

/// Rows per SearchStream message, as the real service batches them.
pub(crate) const BATCH: usize = 10_000;

/// The most rows the source serves: ids stay 10 digits and 5 varint bytes, names 9 digits.
pub(crate) const MAX_ROWS: usize = 1_000_000_000;

const ID_BASE: i64 = 9_000_000_000;
// The last id is 9 and nine 9s: ids keep 10 digits, the first of them 9.
const _: () =
    assert!(ID_BASE as usize + (MAX_ROWS - 1) == 9_999_999_999 && NAME_DIGITS + 1 == ID_DIGITS);
const NAME_PREFIX: &str = "Synthetic campaign #";
const NAME_DIGITS: usize = 9;
const ID_DIGITS: usize = 10;

/// Metrics of row i: they vary within a batch and repeat across batches (ids keep rows
/// distinct).
fn metrics(i: usize) -> (i64, i64, i64) {
    let r = (i % BATCH) as i64;
    let clicks = (r * 7) % 1000;
    let impressions = clicks * 20 + r % 13;
    // Micros that no float holds exactly once summed over many rows.
    let cost_micros = clicks * 1_234_567 + 1;
    (clicks, impressions, cost_micros)
}

/// Row i with every field the source carries.
pub(crate) fn full_row(customer_id: &str, i: usize) -> GoogleAdsRow {
    let id = ID_BASE + i as i64;
    let r = i % BATCH;
    let (clicks, impressions, cost_micros) = metrics(i);
    let status = if r % 5 == 4 {
        CampaignStatus::Paused
    } else {
        CampaignStatus::Enabled
    };
    GoogleAdsRow {
        campaign: Some(Box::new(Campaign {
            resource_name: format!("customers/{customer_id}/campaigns/{id}"),
            id: Some(id),
            name: Some(format!("{NAME_PREFIX}{i:0NAME_DIGITS$}")),
            status: status as i32,
            advertising_channel_type: AdvertisingChannelType::Search as i32,
            network_settings: Some(NetworkSettings {
                target_google_search: Some(!r.is_multiple_of(3)),
                ..Default::default()
            }),
            // None, one or two labels.
            labels: (1..=r % 3)
                .map(|label| format!("customers/{customer_id}/labels/{label}"))
                .collect(),
            ..Default::default()
        })),
        metrics: Some(Box::new(Metrics {
            clicks: Some(clicks),
            impressions: Some(impressions),
            cost_micros: Some(cost_micros),
            ctr: (impressions > 0).then(|| clicks as f64 / impressions as f64),
            ..Default::default()
        })),
        segments: Some(Box::new(Segments {
            date: Some(format!("2026-01-{:02}", r % 28 + 1)),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Row i with only the fields `select` names (and the campaign's resource name, which the
/// API always returns for the FROM resource).
pub(crate) fn row(customer_id: &str, i: usize, select: &[String]) -> GoogleAdsRow {
    let want = |path: &str| select.iter().any(|s| s == path);
    let full = full_row(customer_id, i);
    let campaign = full.campaign.map(|c| {
        Box::new(Campaign {
            resource_name: c.resource_name,
            id: c.id.filter(|_| want("campaign.id")),
            name: c.name.filter(|_| want("campaign.name")),
            status: if want("campaign.status") { c.status } else { 0 },
            advertising_channel_type: if want("campaign.advertising_channel_type") {
                c.advertising_channel_type
            } else {
                0
            },
            network_settings: c
                .network_settings
                .filter(|_| want("campaign.network_settings.target_google_search")),
            labels: if want("campaign.labels") {
                c.labels
            } else {
                Vec::new()
            },
            ..Default::default()
        })
    });
    let metrics = full.metrics.and_then(|m| {
        let metrics = Metrics {
            clicks: m.clicks.filter(|_| want("metrics.clicks")),
            impressions: m.impressions.filter(|_| want("metrics.impressions")),
            cost_micros: m.cost_micros.filter(|_| want("metrics.cost_micros")),
            ctr: m.ctr.filter(|_| want("metrics.ctr")),
            ..Default::default()
        };
        (metrics != Metrics::default()).then(|| Box::new(metrics))
    });
    let segments = full
        .segments
        .and_then(|s| s.date)
        .filter(|_| want("segments.date"))
        .map(|date| {
            Box::new(Segments {
                date: Some(date),
                ..Default::default()
            })
        });
    GoogleAdsRow {
        campaign,
        metrics,
        segments,
        ..Default::default()
    }
}

/// The summary row of `rows` rows of the source: the selected metrics summed.
pub(crate) fn summary(rows: usize, select: &[String]) -> Metrics {
    let mut sums = (0i64, 0i64, 0i64);
    // Metrics repeat every batch: one pass over a batch, weighted.
    for r in 0..BATCH.min(rows) {
        let times = (rows / BATCH + usize::from(r < rows % BATCH)) as i64;
        let (c, i, m) = metrics(r);
        sums.0 += c * times;
        sums.1 += i * times;
        sums.2 += m * times;
    }
    summed(sums, select)
}

/// Metrics holding `sums` (clicks, impressions, cost) where `select` names them.
pub(crate) fn summed(sums: (i64, i64, i64), select: &[String]) -> Metrics {
    let want = |path: &str| select.iter().any(|s| s == path);
    Metrics {
        clicks: want("metrics.clicks").then_some(sums.0),
        impressions: want("metrics.impressions").then_some(sums.1),
        cost_micros: want("metrics.cost_micros").then_some(sums.2),
        ..Default::default()
    }
}

/// The templates made so far, by customer and SELECT list.
pub(crate) type Templates =
    std::collections::HashMap<(String, Vec<String>), std::sync::Arc<Template>>;

/// Where row r's changing parts are in a template, each optional (not selected).
#[derive(Clone, Copy, Debug, Default)]
struct Patch {
    id: Option<usize>,
    resource_name_digits: Option<usize>,
    name_digits: Option<usize>,
}

/// What goes at one place of a row: the id as a varint, or the row's index in digits.
#[derive(Clone, Copy, Debug)]
enum Fill {
    IdVarint,
    IdDigits,
    NameDigits,
}

impl Fill {
    fn len(self) -> usize {
        match self {
            Fill::IdVarint => 5,
            Fill::IdDigits => ID_DIGITS,
            Fill::NameDigits => NAME_DIGITS,
        }
    }
}

/// A batch of the source encoded once: 10,000 rows as the `results` fields of a
/// SearchGoogleAdsStreamResponse (tag, length, row), and where each row's changing parts are.
pub(crate) struct Template {
    bytes: Bytes,
    /// The end of each row's field in `bytes`.
    ends: Vec<usize>,
    /// Each row's changing parts in order: (offset in `bytes`, what goes there).
    fills: Vec<Vec<(usize, Fill)>>,
}

impl Template {
    /// The template of `customer_id`'s rows with the fields `select` names, for batches of
    /// up to `rows` rows (at most [`BATCH`]: a small report costs a small template).
    pub(crate) fn new(customer_id: &str, select: &[String], rows: usize) -> Self {
        let rows = rows.min(BATCH);
        let mut bytes = BytesMut::new();
        let mut ends = Vec::with_capacity(rows);
        let mut fills = Vec::with_capacity(rows);
        for r in 0..rows {
            let row = row(customer_id, r, select).encode_to_vec();
            // results = 1, length-delimited.
            bytes.put_u8(0x0a);
            prost::encoding::encode_varint(row.len() as u64, &mut bytes);
            let start = bytes.len();
            bytes.put_slice(&row);
            ends.push(bytes.len());
            let patch = find_patch(&row, start);
            let mut row_fills: Vec<(usize, Fill)> = [
                patch.id.map(|at| (at, Fill::IdVarint)),
                patch.resource_name_digits.map(|at| (at, Fill::IdDigits)),
                patch.name_digits.map(|at| (at, Fill::NameDigits)),
            ]
            .into_iter()
            .flatten()
            .collect();
            row_fills.sort_by_key(|(at, _)| *at);
            fills.push(row_fills);
        }
        Self {
            bytes: bytes.freeze(),
            ends,
            fills,
        }
    }

    /// The rows of the longest batch it writes.
    pub(crate) fn rows(&self) -> usize {
        self.ends.len()
    }

    /// The encoded length of a batch of `rows` rows.
    pub(crate) fn len(&self, rows: usize) -> usize {
        rows.min(BATCH)
            .checked_sub(1)
            .map_or(0, |last| self.ends[last])
    }

    /// Writes batch `k` of the source, `rows` rows long (at most [`BATCH`]): the template's
    /// bytes with rows k * BATCH + r written in, straight into `out` (the transport's
    /// buffer: one copy, no buffer of its own).
    pub(crate) fn write(&self, k: usize, rows: usize, out: &mut impl BufMut) {
        let rows = rows.min(BATCH);
        // The id's digits are 9 and then the index's 9 digits (ID_BASE, MAX_ROWS): counted up
        // row by row, not divided out.
        let mut id_digits = [b'9'; ID_DIGITS];
        write_digits(&mut id_digits[1..], (k * BATCH) as u64);
        // Each row is patched in a scratch copy and handed over in one piece.
        let mut scratch = [0u8; 1024];
        let mut at = 0;
        for (r, fills) in self.fills[..rows].iter().enumerate() {
            if r > 0 {
                increment(&mut id_digits[1..]);
            }
            let end = self.ends[r];
            let row = &self.bytes[at..end];
            let mut long = Vec::new();
            let copy = match scratch.get_mut(..row.len()) {
                Some(copy) => copy,
                // Rows of the source are short; a longer one gets a buffer of its own.
                None => {
                    long.resize(row.len(), 0);
                    &mut long[..]
                }
            };
            copy.copy_from_slice(row);
            for &(start, fill) in fills {
                let place = &mut copy[start - at..start - at + fill.len()];
                match fill {
                    Fill::IdVarint => write_varint5(place, ID_BASE as u64 + (k * BATCH + r) as u64),
                    Fill::IdDigits => place.copy_from_slice(&id_digits),
                    Fill::NameDigits => place.copy_from_slice(&id_digits[1..]),
                }
            }
            out.put_slice(copy);
            at = end;
        }
    }
}

/// Adds one to a number written in ASCII digits.
fn increment(digits: &mut [u8]) {
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return;
        }
    }
}

/// Where the id, the resource name's id digits and the name's digits of an encoded row are,
/// offset by `base`.
fn find_patch(row: &[u8], base: usize) -> Patch {
    // GoogleAdsRow.campaign = 2; Campaign: resource_name = 1, name = 58, id = 59 (the same
    // in every version the protos here have had; a change shows as a failing test).
    let mut patch = Patch::default();
    let Some((_, campaign)) = spans(row).into_iter().find(|(n, _)| *n == 2) else {
        return patch;
    };
    for (number, range) in spans(&row[campaign.clone()]) {
        let at = base + campaign.start + range.start;
        match number {
            59 if range.len() == 5 => patch.id = Some(at),
            1 if range.len() >= ID_DIGITS => {
                patch.resource_name_digits = Some(at + range.len() - ID_DIGITS)
            }
            58 if range.len() >= NAME_DIGITS => {
                patch.name_digits = Some(at + range.len() - NAME_DIGITS)
            }
            _ => {}
        }
    }
    patch
}

/// Each field of an encoded message: its number and the range of its value (a varint's
/// bytes, or a length-delimited payload).
fn spans(bytes: &[u8]) -> Vec<(u32, Range<usize>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let at = |rest: &[u8]| bytes.len() - rest.len();
    while !rest.is_empty() {
        let Some(key) = crate::schema::read_varint(&mut rest) else {
            break;
        };
        let number = (key >> 3) as u32;
        let start = at(rest);
        let ok = match key & 7 {
            0 => crate::schema::read_varint(&mut rest).is_some(),
            1 => rest.get(8..).map(|r| rest = r).is_some(),
            5 => rest.get(4..).map(|r| rest = r).is_some(),
            2 => {
                let Some(len) = crate::schema::read_varint(&mut rest) else {
                    break;
                };
                let start = at(rest);
                match rest.get(len as usize..) {
                    Some(r) => {
                        rest = r;
                        out.push((number, start..at(rest)));
                        continue;
                    }
                    None => false,
                }
            }
            _ => false,
        };
        if !ok {
            break;
        }
        out.push((number, start..at(rest)));
    }
    out
}

/// `value` as a varint of exactly 5 bytes (ids below 2^35).
fn write_varint5(out: &mut [u8], mut value: u64) {
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = (value & 0x7f) as u8 | if i < 4 { 0x80 } else { 0 };
        value >>= 7;
    }
}

/// `value` in decimal, zero-padded to `out`'s width.
fn write_digits(out: &mut [u8], mut value: u64) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}
