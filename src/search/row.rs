//! [`Row`]: one report row as the server encoded it, read by GAQL field path without decoding
//! the rest; [`Column`]: a path checked against the API's schema once, then read from any
//! number of rows by walking the wire format (src/schema.rs) down its field numbers.

use std::fmt;

use bytes::Bytes;
use prost::Message as _;

use super::value::{Kind, Value};
use crate::Error;
use crate::latest::services::GoogleAdsRow;
use crate::schema::{self, FieldKind, WireValue};

/// One row of a report (an encoded `GoogleAdsRow`), read by path with [`Row::get`] or a
/// [`Column`], or decoded whole with [`Row::decode`].
///
/// Cheap to clone: it shares the buffer of the message it came in, so a row kept for long
/// keeps that batch's buffer alive (decode it to keep it alone).
///
/// ```
/// use google_ads::latest::resources::Campaign;
/// use google_ads::latest::services::GoogleAdsRow;
/// use google_ads::search::{Row, Value};
///
/// let row = Row::from(&GoogleAdsRow {
///     campaign: Some(Box::new(Campaign { id: Some(42), ..Default::default() })),
///     ..Default::default()
/// });
/// assert_eq!(row.get("campaign.id")?, Value::Int(42));
/// assert_eq!(row.get("campaign.name")?, Value::Absent);
/// assert_eq!(row.get("campaign.status")?.as_enum_name(), Some("UNSPECIFIED"));
/// assert!(row.get("campaign.nope").is_err());
/// # Ok::<(), google_ads::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Row {
    bytes: Bytes,
}

impl Row {
    /// A row from its encoding (a `GoogleAdsRow` as the server sent it).
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self { bytes }
    }

    /// Its encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The field at `path` (`metrics.cost_micros`); an error names a path that is not a field
    /// of the API's `GoogleAdsRow`. For many rows, make the [`Column`] once and use
    /// [`Row::read`].
    pub fn get(&self, path: &str) -> Result<Value<'_>, Error> {
        Ok(Column::new(path)?.read(self))
    }

    /// The field `column` names.
    pub fn read<'a>(&'a self, column: &Column) -> Value<'a> {
        column.read_bytes(&self.bytes)
    }

    /// The whole row as the generated message.
    pub fn decode(&self) -> Result<GoogleAdsRow, Error> {
        GoogleAdsRow::decode(self.as_bytes()).map_err(|e| {
            Error::from(tonic::Status::internal(format!(
                "a row from the server does not decode as GoogleAdsRow: {e}"
            )))
        })
    }
}

impl From<&GoogleAdsRow> for Row {
    fn from(row: &GoogleAdsRow) -> Self {
        Self::from_bytes(row.encode_to_vec().into())
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Row({} bytes)", self.bytes.len())
    }
}

/// A GAQL field path (`campaign.id`, `ad_group_criterion.keyword.text`) checked against the
/// API's schema and resolved to field numbers once, for reading from many rows.
#[derive(Clone, Debug)]
pub struct Column {
    path: String,
    /// Field numbers from the row down to the field read, that one included.
    numbers: Vec<u32>,
    kind: Kind,
    repeated: bool,
    /// Whether the field tells set from unset (else a missing value is its default).
    presence: bool,
}

impl Column {
    /// Resolves `path` in the newest enabled API version's `GoogleAdsRow`; the error names
    /// the part that is not a field, or a path through a repeated or scalar field.
    pub fn new(path: &str) -> Result<Self, Error> {
        Self::in_version(path, crate::API_VERSION)
    }

    /// Resolves `path` in an enabled API version's `GoogleAdsRow` (`"v25"`), for rows of a
    /// search sent on that version ([`SearchCall::with_api_version`](super::SearchCall::with_api_version)):
    /// a field that version has and the newest dropped reads only so.
    pub fn in_version(path: &str, version: &str) -> Result<Self, Error> {
        let invalid = |rule: String| Error::invalid(format!("field path {path:?}"), rule);
        let Some(schema) = schema::schema_of(version) else {
            return Err(super::not_enabled(version));
        };
        let Some(mut message) = schema.row() else {
            return Err(invalid("the API's schema could not be read".into()));
        };
        let parts: Vec<&str> = path.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(invalid(
                "must be field names joined by dots, as campaign.id".into(),
            ));
        }
        let mut numbers = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let Some(field) = message.field_by_name(part) else {
                return Err(invalid(format!(
                    "{} has no field `{part}`",
                    short_name(&message.full_name)
                )));
            };
            numbers.push(field.number);
            if i + 1 == parts.len() {
                return Ok(Self {
                    path: path.to_owned(),
                    numbers,
                    kind: Kind::of(&field.kind, schema),
                    repeated: field.repeated,
                    presence: field.presence,
                });
            }
            message = match &field.kind {
                _ if field.repeated => {
                    return Err(invalid(format!(
                        "`{part}` is a repeated field: read it whole"
                    )));
                }
                FieldKind::Message(name) => match schema.message(name) {
                    Some(next) => next,
                    None => return Err(invalid(format!("no schema for {name}"))),
                },
                _ => return Err(invalid(format!("`{part}` is not a message"))),
            };
        }
        Err(invalid("is empty".into()))
    }

    /// The path as given.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The field's kind, for a writer that types its columns.
    #[cfg(feature = "parquet")]
    pub(super) fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether the field is repeated (read as a [`Value::List`]).
    pub fn is_repeated(&self) -> bool {
        self.repeated
    }

    /// The field in `row`.
    pub fn read<'a>(&self, row: &'a Row) -> Value<'a> {
        self.read_bytes(&row.bytes)
    }

    fn read_bytes<'a>(&self, row: &'a [u8]) -> Value<'a> {
        if self.repeated {
            let mut list = Vec::new();
            each(row, &self.numbers, &mut |wire| {
                self.kind.push_values(wire, &mut list)
            });
            if list.is_empty() && !self.parent_present(row) {
                return Value::Absent;
            }
            return Value::List(list);
        }
        match last(row, &self.numbers) {
            Some(wire) => self.kind.value(wire),
            None if !self.presence && self.parent_present(row) => self.kind.default_value(),
            None => Value::Absent,
        }
    }

    /// Whether the message holding the field is in the row.
    fn parent_present(&self, row: &[u8]) -> bool {
        match self.numbers.split_last() {
            Some((_, [])) | None => true,
            Some((_, parent)) => last(row, parent).is_some(),
        }
    }
}

fn short_name(full_name: &str) -> &str {
    full_name.rsplit('.').next().unwrap_or(full_name)
}

/// The last occurrence of the field at `path` in `bytes` (the value protobuf's merge keeps).
fn last<'a>(bytes: &'a [u8], path: &[u32]) -> Option<WireValue<'a>> {
    let (first, rest) = path.split_first()?;
    let mut found = None;
    for field in schema::wire_fields(bytes) {
        let Ok((number, wire)) = field else { break };
        if number != *first {
            continue;
        }
        if rest.is_empty() {
            found = Some(wire);
        } else if let WireValue::Bytes(inner) = wire
            && let Some(value) = last(inner, rest)
        {
            found = Some(value);
        }
    }
    found
}

/// Every occurrence of the field at `path` in `bytes`, in order.
fn each<'a>(bytes: &'a [u8], path: &[u32], f: &mut impl FnMut(WireValue<'a>)) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    for field in schema::wire_fields(bytes) {
        let Ok((number, wire)) = field else { break };
        if number != *first {
            continue;
        }
        if rest.is_empty() {
            f(wire);
        } else if let WireValue::Bytes(inner) = wire {
            each(inner, rest, f);
        }
    }
}
