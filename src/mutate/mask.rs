//! Field masks for updates that keep what the caller set: a field with presence that is set
//! goes in the mask even when its value is `false`, `0` or empty; a field named to clear goes
//! in with no value (how the API clears); a set sub-message gives its set leaves unless it is
//! replaced whole; a repeated field is replaced whole; a oneof member follows the same rules.
//!
//! Read from the encoded resource: prost writes exactly the fields that are set (a set
//! `optional` zero included, a proto3 default without presence left out), so the encoding is
//! the set of fields, and [`crate::schema`] names them. No generated code per message.

use std::collections::BTreeMap;

use prost_types::FieldMask;

use super::MutateResource;
use crate::Error;
use crate::schema::{self, FieldKind, MessageInfo, WireValue};

/// Builds the update mask of one resource: [`FieldMaskBuilder::of`] its set fields, then
/// fields to clear and messages to replace whole.
///
/// ```
/// use google_ads::mutate::FieldMaskBuilder;
/// use google_ads::latest::resources::{Campaign, campaign::NetworkSettings};
///
/// let campaign = Campaign {
///     resource_name: "customers/1234567890/campaigns/1".into(),
///     network_settings: Some(NetworkSettings {
///         target_search_network: Some(false),
///         ..Default::default()
///     }),
///     ..Default::default()
/// };
/// let mask = FieldMaskBuilder::of(&campaign).clear("end_date_time").build()?;
/// assert_eq!(mask.paths, ["network_settings.target_search_network", "end_date_time"]);
/// # Ok::<(), google_ads::Error>(())
/// ```
#[derive(Debug)]
pub struct FieldMaskBuilder {
    message: &'static str,
    paths: Vec<String>,
    problems: Vec<(String, String)>,
}

impl FieldMaskBuilder {
    /// Every field `resource` sets (its `resource_name` aside).
    pub fn of<R: MutateResource>(resource: &R) -> Self {
        let encoded = resource.encode_to_vec();
        let mut paths = Vec::new();
        if let Some(message) = schema::schema().message(R::MESSAGE) {
            set_paths(&encoded, message, "", true, &mut paths);
        }
        Self {
            message: R::MESSAGE,
            paths,
            problems: Vec::new(),
        }
    }

    /// Clears `path` (e.g. `end_date_time`, `network_settings.target_content_network`): the
    /// path goes in the mask, and the resource must leave the field unset.
    pub fn clear(mut self, path: &str) -> Self {
        match lookup(self.message, path) {
            Err(rule) => self.problems.push((path.to_owned(), rule)),
            Ok(_) if self.is_set(path) => self.problems.push((
                path.to_owned(),
                "is set in the resource: a cleared field must be left unset".to_owned(),
            )),
            Ok(_) => self.push(path),
        }
        self
    }

    /// Replaces the message at `path` whole (e.g. `network_settings`): its unset fields are
    /// reset too, instead of the mask naming only the leaves set.
    pub fn replace(mut self, path: &str) -> Self {
        match lookup(self.message, path) {
            Err(rule) => self.problems.push((path.to_owned(), rule)),
            Ok(field) if !matches!(field.kind, FieldKind::Message(_)) || field.repeated => {
                self.problems.push((
                    path.to_owned(),
                    "is not a message field: only a message is replaced whole".to_owned(),
                ));
            }
            Ok(_) => {
                let prefix = format!("{path}.");
                self.paths.retain(|p| !p.starts_with(&prefix));
                self.push(path);
            }
        }
        self
    }

    /// The mask; an error names each path that does not exist or breaks a rule.
    pub fn build(self) -> Result<FieldMask, Error> {
        if !self.problems.is_empty() {
            return Err(Error::violated(
                self.problems
                    .into_iter()
                    .map(|(path, rule)| {
                        crate::error::Violation::new(None, format!("update_mask: {path}"), rule)
                    })
                    .collect(),
            ));
        }
        Ok(FieldMask { paths: self.paths })
    }

    fn push(&mut self, path: &str) {
        if !self.paths.iter().any(|p| p == path) {
            self.paths.push(path.to_owned());
        }
    }

    /// Whether the resource sets `path` (or something under it).
    fn is_set(&self, path: &str) -> bool {
        let prefix = format!("{path}.");
        self.paths
            .iter()
            .any(|p| p == path || p.starts_with(&prefix))
    }
}

/// The mask of every field `resource` sets, its `resource_name` aside.
pub fn field_mask<R: MutateResource>(resource: &R) -> FieldMask {
    FieldMask {
        paths: FieldMaskBuilder::of(resource).paths,
    }
}

/// The mask that turns `old` into `new`: every field whose value differs, and every field
/// `old` sets that `new` leaves unset (cleared). Messages set on both sides are compared field
/// by field; a repeated field that differs is replaced whole.
pub fn diff<R: MutateResource>(old: &R, new: &R) -> FieldMask {
    let mut paths = Vec::new();
    if let Some(message) = schema::schema().message(R::MESSAGE) {
        diff_paths(
            &old.encode_to_vec(),
            &new.encode_to_vec(),
            message,
            "",
            &mut paths,
        );
    }
    FieldMask { paths }
}

/// The field at `path` under message `message`, or why there is none.
fn lookup(message: &str, path: &str) -> Result<&'static schema::FieldInfo, String> {
    let schema = schema::schema();
    let mut current = schema
        .message(message)
        .ok_or_else(|| format!("{message} is not in this API version"))?;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current
            .field_by_name(part)
            .ok_or_else(|| format!("{} has no field {part:?}", short(&current.full_name)))?;
        if parts.peek().is_none() {
            return Ok(field);
        }
        match &field.kind {
            FieldKind::Message(child) if !field.repeated => {
                current = schema
                    .message(child)
                    .ok_or_else(|| format!("{child} is not in this API version"))?;
            }
            _ => return Err(format!("{part} has no fields under it")),
        }
    }
    Err("is empty".to_owned())
}

fn short(full_name: &str) -> &str {
    full_name.rsplit('.').next().unwrap_or(full_name)
}

/// Occurrences of each field in an encoded message, by field number (repeated fields occur
/// several times; a singular message's last occurrence wins, as in decoding).
fn occurrences(bytes: &[u8]) -> BTreeMap<u32, Vec<WireValue<'_>>> {
    let mut out: BTreeMap<u32, Vec<WireValue<'_>>> = BTreeMap::new();
    for (number, value) in schema::wire_fields(bytes).map_while(Result::ok) {
        out.entry(number).or_default().push(value);
    }
    out
}

fn child<'a>(kind: &FieldKind) -> Option<&'a MessageInfo> {
    match kind {
        FieldKind::Message(name) => schema::schema().message(name),
        _ => None,
    }
}

/// The paths of the fields set in `bytes` (a message of type `message`), under `prefix`.
fn set_paths(bytes: &[u8], message: &MessageInfo, prefix: &str, top: bool, out: &mut Vec<String>) {
    for (number, values) in occurrences(bytes) {
        let Some(field) = message.field(number) else {
            continue;
        };
        if top && field.name == "resource_name" {
            continue;
        }
        let path = format!("{prefix}{}", field.name);
        match (child(&field.kind), values.last()) {
            (Some(sub), Some(WireValue::Bytes(inner))) if !field.repeated => {
                let before = out.len();
                set_paths(inner, sub, &format!("{path}."), false, out);
                if out.len() == before {
                    // Set but empty: the message itself (how a oneof message member such as a
                    // bidding scheme is chosen).
                    out.push(path);
                }
            }
            _ => out.push(path),
        }
    }
}

/// The paths that differ between `old` and `new` (messages of type `message`).
fn diff_paths(old: &[u8], new: &[u8], message: &MessageInfo, prefix: &str, out: &mut Vec<String>) {
    let (old, new) = (occurrences(old), occurrences(new));
    let mut numbers: Vec<u32> = old.keys().chain(new.keys()).copied().collect();
    numbers.sort_unstable();
    numbers.dedup();
    for number in numbers {
        let Some(field) = message.field(number) else {
            continue;
        };
        if prefix.is_empty() && field.name == "resource_name" {
            continue;
        }
        let path = format!("{prefix}{}", field.name);
        let (before, after) = (old.get(&number), new.get(&number));
        match (
            child(&field.kind),
            before.and_then(|v| v.last()),
            after.and_then(|v| v.last()),
        ) {
            (Some(sub), Some(WireValue::Bytes(a)), Some(WireValue::Bytes(b)))
                if !field.repeated =>
            {
                let start = out.len();
                diff_paths(a, b, sub, &format!("{path}."), out);
                if out.len() == start && a != b {
                    out.push(path);
                }
            }
            (Some(sub), None, Some(WireValue::Bytes(b))) if !field.repeated => {
                let start = out.len();
                set_paths(b, sub, &format!("{path}."), false, out);
                if out.len() == start {
                    out.push(path);
                }
            }
            _ => {
                if before != after {
                    out.push(path);
                }
            }
        }
    }
}
