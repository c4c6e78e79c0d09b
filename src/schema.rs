//! The API's message structure at run time: every message's fields by name and number, with
//! their kinds, and every enum's value names, read once from the embedded descriptor set
//! ([`crate::FILE_DESCRIPTOR_SET`]); and a reader of the protobuf wire format.
//!
//! Owns: walking encoded messages by field name (field masks, reading report rows by path)
//! without a reflection crate in the default build: prost-types already decodes descriptors,
//! and the wire format is five cases. Does not own: the typed messages (generated) or what
//! the engines do with the fields.

// Used by the mutate and search engines as they land.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};

/// A field's kind: a scalar, or a message or enum by full name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FieldKind {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
    /// An enum, by full name.
    Enum(String),
    /// A message, by full name.
    Message(String),
}

/// One field of a message.
#[derive(Clone, Debug)]
pub(crate) struct FieldInfo {
    pub name: String,
    pub number: u32,
    pub kind: FieldKind,
    pub repeated: bool,
    /// A map field (a repeated entry message).
    pub map: bool,
    /// Set-or-not is known (messages, `optional` scalars, oneof members), so a set zero counts.
    pub presence: bool,
}

/// One message: its fields, sorted by number.
#[derive(Clone, Debug)]
pub(crate) struct MessageInfo {
    pub full_name: String,
    pub fields: Vec<FieldInfo>,
}

impl MessageInfo {
    /// The field numbered `number`.
    pub fn field(&self, number: u32) -> Option<&FieldInfo> {
        self.fields
            .binary_search_by_key(&number, |f| f.number)
            .ok()
            .map(|i| &self.fields[i])
    }

    /// The field named `name` (the proto name: `campaign_budget`).
    pub fn field_by_name(&self, name: &str) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Every message and enum of the API, by full name (`google.ads.googleads.v26.resources.Campaign`).
#[derive(Debug, Default)]
pub(crate) struct Schema {
    messages: HashMap<String, MessageInfo>,
    enums: HashMap<String, HashMap<i32, String>>,
    /// The version's `...services.GoogleAdsRow`.
    row: String,
}

impl Schema {
    /// The version's `GoogleAdsRow`, where field paths start.
    pub fn row(&self) -> Option<&MessageInfo> {
        self.message(&self.row)
    }

    /// The message named `full_name`.
    pub fn message(&self, full_name: &str) -> Option<&MessageInfo> {
        self.messages.get(full_name)
    }

    /// The name of value `number` of enum `full_name` (`ENABLED`), if the enum has one.
    pub fn enum_value_name(&self, full_name: &str, number: i32) -> Option<&str> {
        self.enums.get(full_name)?.get(&number).map(String::as_str)
    }

    /// The values of enum `full_name` by number, for readers that look up many values.
    pub fn enum_values(&self, full_name: &str) -> Option<&HashMap<i32, String>> {
        self.enums.get(full_name)
    }

    fn from_descriptor_set(bytes: &[u8], package: &str) -> Self {
        let mut schema = Schema {
            row: format!("{package}.services.GoogleAdsRow"),
            ..Schema::default()
        };
        // The set is built into this crate by its build script; a decode failure would be a
        // build bug, and an empty schema then only makes the engines say "unknown field".
        let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
            return schema;
        };
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                schema.add_message(package, message);
            }
            for en in &file.enum_type {
                schema.add_enum(package, en);
            }
        }
        schema
    }

    fn add_message(&mut self, scope: &str, message: &prost_types::DescriptorProto) {
        let full_name = format!("{scope}.{}", message.name());
        for nested in &message.nested_type {
            self.add_message(&full_name, nested);
        }
        for en in &message.enum_type {
            self.add_enum(&full_name, en);
        }
        let map_entries: Vec<String> = message
            .nested_type
            .iter()
            .filter(|n| n.options.as_ref().is_some_and(|o| o.map_entry()))
            .map(|n| format!("{full_name}.{}", n.name()))
            .collect();
        let mut fields: Vec<FieldInfo> = message
            .field
            .iter()
            .map(|field| {
                let type_name = field.type_name().trim_start_matches('.').to_owned();
                let kind = match field.r#type() {
                    Type::Double => FieldKind::Double,
                    Type::Float => FieldKind::Float,
                    Type::Int64 => FieldKind::Int64,
                    Type::Uint64 => FieldKind::Uint64,
                    Type::Int32 => FieldKind::Int32,
                    Type::Fixed64 => FieldKind::Fixed64,
                    Type::Fixed32 => FieldKind::Fixed32,
                    Type::Bool => FieldKind::Bool,
                    Type::String => FieldKind::String,
                    Type::Bytes => FieldKind::Bytes,
                    Type::Uint32 => FieldKind::Uint32,
                    Type::Sfixed32 => FieldKind::Sfixed32,
                    Type::Sfixed64 => FieldKind::Sfixed64,
                    Type::Sint32 => FieldKind::Sint32,
                    Type::Sint64 => FieldKind::Sint64,
                    Type::Enum => FieldKind::Enum(type_name.clone()),
                    Type::Message | Type::Group => FieldKind::Message(type_name.clone()),
                };
                let repeated = field.label() == Label::Repeated;
                let message = matches!(kind, FieldKind::Message(_));
                FieldInfo {
                    name: field.name().to_owned(),
                    number: u32::try_from(field.number()).unwrap_or_default(),
                    map: repeated && map_entries.contains(&type_name),
                    presence: !repeated
                        && (message || field.proto3_optional() || field.oneof_index.is_some()),
                    kind,
                    repeated,
                }
            })
            .collect();
        fields.sort_by_key(|f| f.number);
        self.messages
            .insert(full_name.clone(), MessageInfo { full_name, fields });
    }

    fn add_enum(&mut self, scope: &str, en: &prost_types::EnumDescriptorProto) {
        let values = en
            .value
            .iter()
            .map(|v| (v.number(), v.name().to_owned()))
            .collect();
        self.enums.insert(format!("{scope}.{}", en.name()), values);
    }
}

/// The schema of every message of the newest enabled API version, read on first use.
pub(crate) fn schema() -> &'static Schema {
    schema_of(crate::API_VERSION).unwrap_or_else(|| {
        // The newest enabled version is always in the table; an empty schema would only make
        // the engines say "unknown field".
        static EMPTY: OnceLock<Schema> = OnceLock::new();
        EMPTY.get_or_init(Schema::default)
    })
}

/// `schema_of(version)`: each enabled version's schema, read on its first use.
macro_rules! version_schemas {
    (latest $latest:ident; $($version:ident $table:ident $errors:ident;)*) => {
        /// The schema of an enabled API version (`"v25"`), read on first use; `None` for a
        /// version this build does not have.
        pub(crate) fn schema_of(version: &str) -> Option<&'static Schema> {
            $(
                if version == stringify!($version) {
                    static SCHEMA: OnceLock<Schema> = OnceLock::new();
                    return Some(SCHEMA.get_or_init(|| {
                        Schema::from_descriptor_set(
                            crate::$version::FILE_DESCRIPTOR_SET,
                            crate::$version::PACKAGE,
                        )
                    }));
                }
            )*
            None
        }
    };
}
crate::generated::version_table!(version_schemas);

/// One field occurrence in an encoded message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    /// Length-delimited: a string, bytes, a message, or a packed repeated scalar.
    Bytes(&'a [u8]),
}

/// The fields of an encoded message, in order; `Err` on bytes that are not a message (the
/// walk stops there).
pub(crate) fn wire_fields(
    mut bytes: &[u8],
) -> impl Iterator<Item = Result<(u32, WireValue<'_>), ()>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let next = (|| {
            let key = read_varint(&mut bytes)?;
            let number = u32::try_from(key >> 3).ok().filter(|n| *n > 0)?;
            let value = match key & 7 {
                0 => WireValue::Varint(read_varint(&mut bytes)?),
                1 => {
                    let (head, rest) = bytes.split_first_chunk::<8>()?;
                    bytes = rest;
                    WireValue::Fixed64(u64::from_le_bytes(*head))
                }
                2 => {
                    let len = usize::try_from(read_varint(&mut bytes)?).ok()?;
                    let (head, rest) = (bytes.get(..len)?, bytes.get(len..)?);
                    bytes = rest;
                    WireValue::Bytes(head)
                }
                5 => {
                    let (head, rest) = bytes.split_first_chunk::<4>()?;
                    bytes = rest;
                    WireValue::Fixed32(u32::from_le_bytes(*head))
                }
                _ => return None,
            };
            Some((number, value))
        })();
        match next {
            Some(field) => Some(Ok(field)),
            None => {
                bytes = &[];
                Some(Err(()))
            }
        }
    })
}

pub(crate) fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}
