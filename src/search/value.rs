//! [`Value`]: one field of a row as read by path, borrowed from the row's bytes; and how a
//! value prints (a report cell, a JSON value).

use std::fmt;
use std::io::Write as _;

use std::collections::HashMap;

use crate::schema::{self, FieldKind, MessageInfo, Schema, WireValue};

/// A field read from a row by its GAQL path ([`super::Row::get`]), borrowed from the row.
///
/// Integers of every protobuf width are [`Value::Int`] (or [`Value::Uint`] for unsigned
/// ones), so money in micros stays exact. A field the row does not carry is
/// [`Value::Absent`]; a field without presence (a plain `int64`, an enum) whose message is in
/// the row reads as its default (0, `""`, the enum's first value), as protobuf defines it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Not in the row.
    Absent,
    /// A signed integer (`int64`, `int32`, `sint*`, `sfixed*`).
    Int(i64),
    /// An unsigned integer (`uint*`, `fixed*`).
    Uint(u64),
    /// A `double` or `float`.
    Float(f64),
    /// A `bool`.
    Bool(bool),
    /// A `string`.
    String(&'a str),
    /// A `bytes` field (or a string that is not UTF-8).
    Bytes(&'a [u8]),
    /// An enum value: its name, and its number.
    Enum(EnumValue),
    /// A message (e.g. `ad_group_criterion.keyword`), readable further.
    Message(MessageValue<'a>),
    /// A repeated field, in order.
    List(Vec<Value<'a>>),
}

impl<'a> Value<'a> {
    /// Whether the row does not carry the field.
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }

    /// An integer, signed or unsigned, when it fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Uint(n) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// A number as `f64` (integers converted).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(n) => Some(*n),
            Value::Int(n) => Some(*n as f64),
            Value::Uint(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// A string.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// An enum value's name (`ENABLED`), when the API version knows the number.
    pub fn as_enum_name(&self) -> Option<&'static str> {
        match self {
            Value::Enum(e) => e.name,
            _ => None,
        }
    }

    /// A repeated field's values.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::List(list) => Some(list),
            _ => None,
        }
    }

    /// The value as JSON: integers as numbers written exactly, enums by name, messages as
    /// objects by field name, lists as arrays, absent as `null`, bytes as base64 (as
    /// protobuf's JSON form writes them).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_json_within(out, MAX_DEPTH);
    }

    /// [`Self::write_json`], messages nested deeper than `depth` written as `null` (a server's
    /// bytes cannot make the writer recurse without end).
    fn write_json_within(&self, out: &mut Vec<u8>, depth: usize) {
        match self {
            Value::Absent => out.extend_from_slice(b"null"),
            Value::Int(n) => write_display(out, n),
            Value::Uint(n) => write_display(out, n),
            // serde_json writes the shortest exact form, and `null` for NaN and infinities.
            Value::Float(n) => {
                let _ = serde_json::to_writer(&mut *out, n);
            }
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::String(s) => write_json_str(out, s),
            Value::Bytes(b) => write_json_str(out, &base64_of(b)),
            Value::Enum(e) => match e.name {
                Some(name) => write_json_str(out, name),
                None => write_display(out, &e.number),
            },
            Value::Message(_) if depth == 0 => out.extend_from_slice(b"null"),
            Value::Message(m) => {
                out.push(b'{');
                for (i, (name, value)) in m.fields().iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, name);
                    out.push(b':');
                    value.write_json_within(out, depth - 1);
                }
                out.push(b'}');
            }
            Value::List(list) => {
                out.push(b'[');
                for (i, value) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    value.write_json_within(out, depth);
                }
                out.push(b']');
            }
        }
    }

    /// The value as a report cell: plain text for scalars (absent is empty, enums by name,
    /// bytes as base64), JSON for messages and lists.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        match self {
            Value::Absent => {}
            Value::String(s) => out.extend_from_slice(s.as_bytes()),
            Value::Float(n) => write_display(out, n),
            Value::Bytes(b) => out.extend_from_slice(base64_of(b).as_bytes()),
            Value::Enum(EnumValue {
                name: Some(name), ..
            }) => out.extend_from_slice(name.as_bytes()),
            _ => self.write_json(out),
        }
    }
}

/// As a report cell ([`Value::write_text`]).
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_text(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// How deep messages inside messages are written out (protobuf decoders stop at 100 too).
const MAX_DEPTH: usize = 100;

fn write_display(out: &mut Vec<u8>, value: &impl fmt::Display) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{value}");
}

/// A JSON string, escaped by serde_json.
fn write_json_str(out: &mut Vec<u8>, value: &str) {
    // A string always serializes; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(out, value);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An enum value as read from a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// Its number on the wire.
    pub number: i32,
    /// Its name (`ENABLED`), or `None` for a number this API version does not know.
    pub name: Option<&'static str>,
}

/// A message inside a row, borrowed from the row's bytes.
#[derive(Clone, Copy)]
pub struct MessageValue<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) info: &'static MessageInfo,
    /// The version's schema the message is read in (for the kinds of its fields).
    pub(super) schema: &'static Schema,
}

impl<'a> MessageValue<'a> {
    /// Its full protobuf name (`google.ads.googleads.v26.common.KeywordInfo`).
    pub fn type_name(&self) -> &'static str {
        &self.info.full_name
    }

    /// Its encoded bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Decodes it as `M` (the generated type of [`Self::type_name`]).
    pub fn decode<M: prost::Message + Default>(&self) -> Result<M, prost::DecodeError> {
        M::decode(self.bytes)
    }

    /// The fields it carries, by name, in the order first seen (repeated fields as lists,
    /// fields unknown to this API version left out).
    pub fn fields(&self) -> Vec<(&'static str, Value<'a>)> {
        let mut out: Vec<(&'static str, Value<'a>)> = Vec::new();
        for field in schema::wire_fields(self.bytes) {
            let Ok((number, wire)) = field else { break };
            let Some(info) = self.info.field(number) else {
                continue;
            };
            let kind = Kind::of(&info.kind, self.schema);
            let at = match out.iter().position(|(name, _)| *name == info.name) {
                Some(i) => i,
                None => {
                    let empty = if info.repeated {
                        Value::List(Vec::new())
                    } else {
                        Value::Absent
                    };
                    out.push((&info.name, empty));
                    out.len() - 1
                }
            };
            match &mut out[at].1 {
                Value::List(list) if info.repeated => kind.push_values(wire, list),
                // The last occurrence wins, as protobuf merges.
                slot => *slot = kind.value(wire),
            }
        }
        out
    }
}

impl PartialEq for MessageValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes && self.info.full_name == other.info.full_name
    }
}

impl fmt::Debug for MessageValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageValue")
            .field("type", &self.info.full_name)
            .field("fields", &self.fields())
            .finish()
    }
}

/// How a field's wire value reads as a [`Value`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Kind {
    /// int32 and int64: a varint, two's complement.
    Int,
    Uint,
    /// sint32, sint64: zigzag.
    Sint,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Float,
    Double,
    Bool,
    String,
    Bytes,
    Enum(Option<&'static HashMap<i32, String>>),
    Message(Option<&'static MessageInfo>, &'static Schema),
}

impl Kind {
    pub(super) fn of(kind: &FieldKind, schema: &'static Schema) -> Self {
        match kind {
            FieldKind::Int32 | FieldKind::Int64 => Kind::Int,
            FieldKind::Uint32 | FieldKind::Uint64 => Kind::Uint,
            FieldKind::Sint32 | FieldKind::Sint64 => Kind::Sint,
            FieldKind::Fixed32 => Kind::Fixed32,
            FieldKind::Fixed64 => Kind::Fixed64,
            FieldKind::Sfixed32 => Kind::Sfixed32,
            FieldKind::Sfixed64 => Kind::Sfixed64,
            FieldKind::Float => Kind::Float,
            FieldKind::Double => Kind::Double,
            FieldKind::Bool => Kind::Bool,
            FieldKind::String => Kind::String,
            FieldKind::Bytes => Kind::Bytes,
            FieldKind::Enum(name) => Kind::Enum(schema.enum_values(name)),
            FieldKind::Message(name) => Kind::Message(schema.message(name), schema),
        }
    }

    /// One value; a wire type that does not fit the field reads as absent.
    pub(super) fn value(self, wire: WireValue<'_>) -> Value<'_> {
        use WireValue as W;
        match (self, wire) {
            // int32 is sign-extended to 64 bits on the wire: the cast keeps it.
            (Kind::Int, W::Varint(v)) => Value::Int(v as i64),
            (Kind::Uint, W::Varint(v)) => Value::Uint(v),
            (Kind::Sint, W::Varint(v)) => Value::Int((v >> 1) as i64 ^ -((v & 1) as i64)),
            (Kind::Bool, W::Varint(v)) => Value::Bool(v != 0),
            (Kind::Enum(values), W::Varint(v)) => {
                let number = v as i32;
                let name = values.and_then(|values| values.get(&number).map(String::as_str));
                Value::Enum(EnumValue { number, name })
            }
            (Kind::Fixed32, W::Fixed32(v)) => Value::Uint(u64::from(v)),
            (Kind::Sfixed32, W::Fixed32(v)) => Value::Int(i64::from(v as i32)),
            (Kind::Float, W::Fixed32(v)) => Value::Float(f64::from(f32::from_bits(v))),
            (Kind::Fixed64, W::Fixed64(v)) => Value::Uint(v),
            (Kind::Sfixed64, W::Fixed64(v)) => Value::Int(v as i64),
            (Kind::Double, W::Fixed64(v)) => Value::Float(f64::from_bits(v)),
            (Kind::String, W::Bytes(b)) => match std::str::from_utf8(b) {
                Ok(s) => Value::String(s),
                Err(_) => Value::Bytes(b),
            },
            (Kind::Bytes, W::Bytes(b)) => Value::Bytes(b),
            (Kind::Message(Some(info), schema), W::Bytes(bytes)) => Value::Message(MessageValue {
                bytes,
                info,
                schema,
            }),
            _ => Value::Absent,
        }
    }

    /// The values of one occurrence of a repeated field: one, or many when packed.
    pub(super) fn push_values<'a>(self, wire: WireValue<'a>, out: &mut Vec<Value<'a>>) {
        let WireValue::Bytes(mut packed) = wire else {
            out.push(self.value(wire));
            return;
        };
        let width = match self {
            Kind::String | Kind::Bytes | Kind::Message(..) => {
                out.push(self.value(wire));
                return;
            }
            Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => 4,
            Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => 8,
            _ => 0,
        };
        while !packed.is_empty() {
            let wire = match width {
                4 => match packed.split_first_chunk::<4>() {
                    Some((head, rest)) => {
                        packed = rest;
                        WireValue::Fixed32(u32::from_le_bytes(*head))
                    }
                    None => return,
                },
                8 => match packed.split_first_chunk::<8>() {
                    Some((head, rest)) => {
                        packed = rest;
                        WireValue::Fixed64(u64::from_le_bytes(*head))
                    }
                    None => return,
                },
                _ => match schema::read_varint(&mut packed) {
                    Some(v) => WireValue::Varint(v),
                    None => return,
                },
            };
            out.push(self.value(wire));
        }
    }

    /// What an unset field without presence holds.
    pub(super) fn default_value(self) -> Value<'static> {
        match self {
            Kind::Int | Kind::Sint | Kind::Sfixed32 | Kind::Sfixed64 => Value::Int(0),
            Kind::Uint | Kind::Fixed32 | Kind::Fixed64 => Value::Uint(0),
            Kind::Float | Kind::Double => Value::Float(0.0),
            Kind::Bool => Value::Bool(false),
            Kind::String => Value::String(""),
            Kind::Bytes => Value::Bytes(b""),
            Kind::Enum(_) => self.value(WireValue::Varint(0)),
            Kind::Message(..) => Value::Absent,
        }
    }
}
