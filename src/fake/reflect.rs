//! Descriptor-driven access to the API's messages.
//!
//! The fake handles every resource the same way (names, references, ids, enum checks, GAQL
//! field paths) by reading the descriptors instead of hand-writing code per resource: one
//! engine serves the ~190 resources, and per-resource rules stay a short table.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage, Value,
};

pub(crate) struct Api {
    pub pool: DescriptorPool,
    /// Resource type (`googleads.googleapis.com/Campaign`) -> message and pattern.
    pub by_type: HashMap<String, Resource>,
    /// Resource message full name -> resource type.
    pub type_of_message: HashMap<String, String>,
    /// Field of `GoogleAdsRow` (e.g. `campaign`) per resource message full name.
    pub row_field: HashMap<String, String>,
}

#[derive(Clone)]
pub(crate) struct Resource {
    pub message: MessageDescriptor,
    pub pattern: String,
    pub vars: Vec<String>,
    /// Top-level string fields that reference another resource, with that resource's type.
    pub references: Vec<(FieldDescriptor, String)>,
}

/// `google.ads.googleads.vNN.<name>`.
pub(crate) fn full(name: &str) -> String {
    format!("{}.{name}", crate::latest::PACKAGE)
}

pub(crate) fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let pool = DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET)
            .expect("the embedded descriptor set decodes (written by the generator)");
        let resource_ext = pool
            .get_extension_by_name("google.api.resource")
            .expect("google.api.resource");
        let reference_ext = pool
            .get_extension_by_name("google.api.resource_reference")
            .expect("google.api.resource_reference");
        let mut by_type = HashMap::new();
        let mut type_of_message = HashMap::new();
        for message in pool.all_messages() {
            let options = message.options();
            if !options.has_extension(&resource_ext) {
                continue;
            }
            let value = options.get_extension(&resource_ext);
            let Value::Message(descriptor) = value.as_ref() else {
                continue;
            };
            let kind = string_field(descriptor, "type");
            let pattern = match descriptor.get_field_by_name("pattern").as_deref() {
                Some(Value::List(list)) => list
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                _ => continue,
            };
            let vars = pattern
                .split(['/', '~'])
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_owned)
                .collect();
            let references = message
                .fields()
                .filter(|f| matches!(f.kind(), Kind::String) && !f.is_list())
                .filter_map(|f| {
                    let options = f.options();
                    if !options.has_extension(&reference_ext) {
                        return None;
                    }
                    let value = options.get_extension(&reference_ext);
                    let Value::Message(reference) = value.as_ref() else {
                        return None;
                    };
                    let target = string_field(reference, "type");
                    (!target.is_empty() && f.name() != "resource_name").then_some((f, target))
                })
                .collect();
            type_of_message.insert(message.full_name().to_owned(), kind.clone());
            by_type.insert(
                kind,
                Resource {
                    message,
                    pattern,
                    vars,
                    references,
                },
            );
        }
        let row = pool
            .get_message_by_name(&full("services.GoogleAdsRow"))
            .expect("GoogleAdsRow");
        let row_field = row
            .fields()
            .filter_map(|f| match f.kind() {
                Kind::Message(m) if type_of_message.contains_key(m.full_name()) => {
                    Some((m.full_name().to_owned(), f.name().to_owned()))
                }
                _ => None,
            })
            .collect();
        Api {
            pool,
            by_type,
            type_of_message,
            row_field,
        }
    })
}

fn string_field(message: &DynamicMessage, name: &str) -> String {
    message
        .get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) fn message(name: &str) -> MessageDescriptor {
    api()
        .pool
        .get_message_by_name(name)
        .unwrap_or_else(|| panic!("no message {name} in the descriptors"))
}

/// A typed message as a dynamic one (through its encoding: the two share the wire format).
pub(crate) fn to_dynamic<T: Message>(typed: &T, descriptor: MessageDescriptor) -> DynamicMessage {
    DynamicMessage::decode(descriptor, typed.encode_to_vec().as_slice())
        .expect("a typed message decodes as its own descriptor")
}

/// A dynamic message as a typed one.
pub(crate) fn to_typed<T: Message + Default>(dynamic: &DynamicMessage) -> T {
    T::decode(dynamic.encode_to_vec().as_slice())
        .expect("a dynamic message decodes as its own type")
}

/// The single field set in a oneof-only wrapper (e.g. `MutateOperation.operation`).
pub(crate) fn set_oneof_field(
    message: &DynamicMessage,
    oneof: &str,
) -> Option<(FieldDescriptor, Value)> {
    let oneof = message.descriptor().oneofs().find(|o| o.name() == oneof)?;
    oneof.fields().find(|f| message.has_field(f)).map(|f| {
        let value = message.get_field(&f).into_owned();
        (f, value)
    })
}

/// The number of the value `name` in the enum of `field` of `message`.
pub(crate) fn enum_number(message: &MessageDescriptor, field: &str, name: &str) -> Option<i32> {
    match message.get_field_by_name(field)?.kind() {
        Kind::Enum(e) => e.get_value_by_name(name).map(|v| v.number()),
        _ => None,
    }
}
